/*
 * request.h - a fully built outgoing notification request, independent of how
 * it is sent, and the helpers the integrations share to build one.
 *
 * Each integration (slack.c, email.c, pagerduty.c, sms.c) is a pure builder:
 * (notifier config, template context, options) -> one or more struct
 * notify_request. A request says everything the transport needs: for HTTP the
 * method, URL, headers, body and basic-auth credentials; for SMTP the server
 * URL, envelope sender and recipients and the whole RFC 5322 message. Building
 * never does I/O and never reads a clock (time comes in struct notify_opts),
 * so unit tests compare exact bytes.
 *
 * notify_request_setup_curl() then configures a libcurl easy handle from a
 * request; the delivery thread (or the test driver) performs it.
 *
 * Secrets: url, password and body may hold secrets (a Slack webhook URL is
 * itself the secret, a PagerDuty routing key sits in the body). Only
 * `redacted_url` may be logged or shown. Error messages from the builders
 * never contain a secret.
 *
 * Ownership: a request owns every string and buffer in it, except `http`,
 * which borrows the notifier config's http_config: the config must outlive
 * the request (the engine keeps a config alive while deliveries use it).
 */
#ifndef AMR_NOTIFIERS_REQUEST_H
#define AMR_NOTIFIERS_REQUEST_H

#include "core/buf.h"
#include "templates/mustache.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;
struct http_config;
struct notifier_config;
struct tmpl_field;
struct curl_slist;
struct notify_job;
struct notify_incident;
struct notifier_env;
struct notifier_request;
struct receiver;

/* Largest request body or mail message built, and largest single rendered field. */
#define NOTIFY_BODY_MAX  (4u << 20)
#define NOTIFY_FIELD_MAX (1u << 20)

enum notify_proto {
    NOTIFY_PROTO_HTTP,
    NOTIFY_PROTO_SMTP,
};

/* SMTP transport security. */
enum notify_tls {
    NOTIFY_TLS_TRY,      /* STARTTLS when the server offers it (require_tls: false) */
    NOTIFY_TLS_REQUIRED, /* STARTTLS or fail (require_tls: true) */
    NOTIFY_TLS_IMPLICIT, /* smtps://, port 465 */
};

struct notify_request {
    enum notify_proto proto;
    char *method;       /* "POST" (HTTP only) */
    char *url;          /* full URL; may hold a secret (Slack) */
    char *redacted_url; /* what logs and errors show instead of url */
    char **headers;     /* "Name: value" lines, HTTP headers only */
    size_t n_headers;
    struct buf body;     /* HTTP body, or the whole RFC 5322 message for SMTP */
    char *username;      /* HTTP basic auth / SMTP AUTH user; NULL = none */
    char *password;      /* secret */
    char *login_options; /* SMTP: e.g. "AUTH=CRAM-MD5"; NULL = let libcurl choose */
    char *authzid;       /* SMTP: SASL authorisation identity (auth_identity) */
    char *mail_from;     /* SMTP envelope sender (the bare address) */
    char **rcpt;         /* SMTP envelope recipients (bare addresses) */
    size_t n_rcpt;
    enum notify_tls tls; /* SMTP only */
    char *dest;          /* throttle/metrics key, e.g. "sms:+15550001111"; never a secret */
    char *idem_key;      /* idempotency key when the service has one (PagerDuty dedup_key) */
    int ok_status;       /* the service's documented success code (200, 201, 202); 0 = SMTP */

    /* SMS only: the text before it was cut and the form fields, so the throttle can
     * rebuild the body with " (+N more)" (sms_throttle_gate()). */
    char *sms_text;
    char *sms_to;
    char *sms_from;
    int max_segments;
    size_t merged;                  /* messages merged into this one so far */
    bool queued;                    /* waiting in the SMS throttle */
    bool absorbed;                  /* merged into another message: nothing left to send */
    const struct http_config *http; /* borrowed: TLS files, proxy, timeouts, bearer */

    /* Transport state owned by notify_request_setup_curl(); freed by release. */
    struct curl_slist *curl_headers;
    struct curl_slist *curl_rcpt;
    size_t upload_off;
};

/* What a builder needs besides the config and the context. */
struct notify_opts {
    int64_t now;   /* ms since the epoch: email Date, PagerDuty timestamp */
    size_t merged; /* messages merged into this one by the throttle (SMS "+N more") */
};

/* A list of requests built for one notification (SMS: one per number). */
struct notify_requests {
    struct notify_request *v;
    size_t n;
};

void notify_request_init(struct notify_request *r);
/* Frees everything r owns and leaves it initialised. */
void notify_request_release(struct notify_request *r);

/* Appends a new initialised request to rs and returns it, or NULL on out of memory. */
struct notify_request *notify_requests_add(struct notify_requests *rs);
/* Releases every request and the array; rs is empty afterwards. Accepts NULL. */
void notify_requests_release(struct notify_requests *rs);

/* Adds a "name: value" header line. Values with CR or LF are refused (-1). */
int notify_request_add_header(struct notify_request *r, const char *name, const char *value);
/* Returns the value of the first header called name (case-insensitive), or NULL. */
const char *notify_request_header(const struct notify_request *r, const char *name);

/* Configures easy handle h to perform r: URL, method, headers, body (HTTP) or
 * envelope and upload (SMTP), authentication, TLS, proxy and timeouts from
 * r->http. The handle reads from r (which must stay alive and unmoved until the
 * transfer ends). Returns 0, or -1 with err (naming r->redacted_url). */
int notify_request_setup_curl(struct notify_request *r, void *curl_easy, struct error *err);

/* "scheme://host[:port]/<redacted>": a URL with its path, query, and user info
 * removed, for logs. Never fails except out of memory (NULL). */
char *notify_redact_url(const char *url);

/* Renders a template field. When f has a compiled template it is used, else the
 * default template `default_name` (NULL = none: the result is ""). esc is the
 * escape mode; pass default_template_escape(default_name) for fields with a
 * default. The result (malloc'ed, caller frees) is at most NOTIFY_FIELD_MAX bytes.
 * `what` names the field in errors ("slack_configs.title"). */
int notify_render_field(const struct tmpl_field *f, const char *default_name,
                        enum mustache_escape esc, const json_t *ctx, const char *what, char **out,
                        struct error *err);

/* Renders template source text (config fields kept as plain strings: Slack color,
 * PagerDuty client, severity, ...). src NULL gives NULL in *out and 0. Partials
 * resolve against the default templates. */
int notify_render_source(const char *src, enum mustache_escape esc, const json_t *ctx,
                         const char *what, char **out, struct error *err);

/* The template context (templates/context.h) of a router job: its group, alerts and
 * flush time, for receiver `receiver`, with the incident when inc is not NULL.
 * Returns a new reference, or NULL when memory runs out. */
json_t *notify_job_context(const struct notify_job *job, const char *receiver,
                           const char *external_url, const struct notify_incident *inc);

/* Appends s percent-encoded as application/x-www-form-urlencoded wants it. */
int notify_form_escape(struct buf *out, const char *s);

/* SHA-256 of s as 64 lowercase hex digits plus NUL. Returns 0, -1 on failure. */
int notify_sha256_hex(const char *s, char out[65]);

/* Trims leading and trailing ASCII whitespace in place; returns s. */
char *notify_trim(char *s);

/* Context helpers: the string at key of obj, or "" / false / 0 when absent. */
const char *notify_ctx_str(const json_t *obj, const char *key);
bool notify_ctx_bool(const json_t *obj, const char *key);
json_int_t notify_ctx_int(const json_t *obj, const char *key);

/* True when the notification is about a firing group (context "status"). */
bool notify_ctx_firing(const json_t *ctx);
/* The incident object of the context, or NULL. */
const json_t *notify_ctx_incident(const json_t *ctx);
/* The ack URL when the incident is open, firing and not yet acknowledged; else NULL. */
const char *notify_ctx_ack_url(const json_t *ctx);

/* The number of SMS segments text takes (GSM-7 160/153 septets, else UCS-2 70/67
 * units, as sms.c counts them); -1 when memory runs out. */
int sms_segments(const char *text);

/* The SMS throttle, shared by every SMS request of the process (defaults 1/min and
 * 10/h per number; AMR_SMS_THROTTLE="1/1m,10/1h" overrides, read once). Called by
 * the delivery thread before sending SMS request r at wall time now:
 *   0  send now; r's body was rebuilt to mention messages merged into it;
 *   1  r was merged into another message to the same number: skip it;
 *   2  wait: try again at *until.
 * -1 on out of memory. */
int sms_throttle_gate(struct notify_request *r, int64_t now, int64_t *until);
/* Takes r out of the throttle's queue (r is being freed). Safe for any r. */
void sms_throttle_forget(struct notify_request *r);

/* Drops requests from index n on (to undo a builder's partial output). */
void notify_requests_truncate(struct notify_requests *rs, size_t n);

/* The integrations' builders (slack.c, email.c, pagerduty.c, sms.c). Each appends
 * the requests for one notification to out (SMS: one per number; none when the
 * notifier has nothing to say about this notification, e.g. an SMS about an ack
 * with notify_acks off) and returns 0, or returns -1 with err naming the config
 * (file:line) and field; out then holds what it held before. ctx is the
 * template context (templates/context.h). Pure: no I/O, no clock. */
int slack_build(const struct notifier_config *nc, const json_t *ctx, const struct notify_opts *o,
                struct notify_requests *out, struct error *err);
int email_build(const struct notifier_config *nc, const json_t *ctx, const struct notify_opts *o,
                struct notify_requests *out, struct error *err);
int pagerduty_build(const struct notifier_config *nc, const json_t *ctx,
                    const struct notify_opts *o, struct notify_requests *out, struct error *err);
int sms_build(const struct notifier_config *nc, const json_t *ctx, const struct notify_opts *o,
              struct notify_requests *out, struct error *err);

/* The delivery path's side (notifiers/notifier.h). notify_export() moves the requests
 * built for one notification into out, which the delivery thread sends: one HTTP
 * request becomes notifier.h's plain fields; SMTP, several requests (one SMS per
 * number) or none (nothing to say) go through out->setup/advance with rs kept in
 * out->ext. Transport settings (TLS files, proxy, timeouts, bearer / basic auth)
 * are copied from nc->http, so out never points into the config. rs is empty
 * afterwards. Returns 0, or -1 with err (out then holds partial data the caller
 * releases with notifier_request_release()). */
int notify_export(struct notify_requests *rs, const struct notifier_config *nc,
                  struct notifier_request *out, struct error *err);

/* A notifier_ops build() for one of the builders above: makes the template context of
 * job (notify_job_context(), the incident number when the job has one), runs build
 * and exports the result into out. */
int notify_ops_build(int (*build)(const struct notifier_config *, const json_t *,
                                  const struct notify_opts *, struct notify_requests *,
                                  struct error *),
                     const struct notifier_env *env, const struct receiver *rcv,
                     const struct notifier_config *nc, const struct notify_job *job,
                     struct notifier_request *out, struct error *err);

#ifdef UNIT_TEST
/* Internals exposed to the unit tests (core/testable.h). */
int email_qp_encode(struct buf *b, const char *s);
int email_encode_header(struct buf *b, const char *value);
int email_encode_addresses(struct buf *b, const char *value);
int email_date(int64_t ms, char *out, size_t outsz);
char *email_bare_address(const char *s);
char *sms_fit(const char *text, const char *suffix, int max_segments);
#endif

#endif
