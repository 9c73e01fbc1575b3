/*
 * defaults.h - the default templates, embedded in the binary at build time
 * from templates/NAME.mustache by scripts/embed-templates.sh.
 *
 * Every message field a receiver does not override is rendered from one of
 * these, against the context of templates/context.h:
 *
 *   name               escape mode             used for
 *   slack_title        MUSTACHE_ESCAPE_SLACK   Slack attachment title (one line)
 *   slack_text         MUSTACHE_ESCAPE_SLACK   Slack attachment text (mrkdwn)
 *   email_subject      MUSTACHE_ESCAPE_NONE    Subject: (one line; the mailer encodes it)
 *   email_html         MUSTACHE_ESCAPE_HTML    text/html part
 *   email_text         MUSTACHE_ESCAPE_NONE    text/plain part
 *   sms_text           MUSTACHE_ESCAPE_NONE    SMS body (one 160-character segment
 *                                              for a typical alert, ack link included)
 *   pagerduty_summary  MUSTACHE_ESCAPE_NONE    PagerDuty payload.summary (one line)
 *   ack_page           MUSTACHE_ESCAPE_HTML    the page at /ack/<token>; its context is
 *                      the notification context plus "csrf" (the form's hidden field),
 *                      optional "action" (form URL; default incident.ack_url) and
 *                      optional "message" (a notice shown above the form, e.g. after
 *                      a POST)
 *
 * The one-line templates have no trailing newline. Default templates can use
 * each other as partials ({{>name}}) and so can users' templates, through
 * default_templates_loader().
 *
 * Compiled defaults are built once, on first use, under a lock, and then shared
 * read-only by every thread until default_templates_release().
 */
#ifndef AMR_TEMPLATES_DEFAULTS_H
#define AMR_TEMPLATES_DEFAULTS_H

#include "templates/mustache.h"

struct default_template {
    const char *name; /* file name without .mustache, e.g. "slack_text" */
    const char *text;
};

/* Ends with a {NULL, NULL} entry. */
extern const struct default_template default_templates[];
extern const unsigned default_templates_count;

/* The source of the default template called name, or NULL when there is none. */
const char *default_template_source(const char *name);

/* The escape mode the default template `name` is meant to be rendered with (the
 * table above); MUSTACHE_ESCAPE_HTML for unknown names. Receivers' overrides of a
 * field are rendered with the same mode as the default they replace. */
enum mustache_escape default_template_escape(const char *name);

/* The compiled default template called name, or NULL when there is none. Compiles
 * all defaults on first call (a default that does not compile is a bug: BUG()).
 * The result stays valid until default_templates_release(). Thread-safe. */
const struct mustache *default_template(const char *name);

/* Compiles every default template, reporting the first error instead of BUG().
 * For tests and `amctl`. Returns 0 or -1 with err set. */
int default_templates_check(struct error *err);

/* A partial loader over the default templates (name = file name without
 * .mustache). Chain it after the user's loader to let templates include or
 * inherit from the defaults. */
struct mustache_loader default_templates_loader(void);

/* Frees the compiled defaults (at exit, or between tests). Not to be called
 * while another thread may still use them. */
void default_templates_release(void);

#endif
