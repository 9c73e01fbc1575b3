/*
 * context.h - the data a notification template sees, and the webhook payload.
 *
 * Both are built from one plain struct notify_data describing a notification:
 * who receives it, the group, its alerts (as the engine hands them over, in
 * that order), the time the notification is made, and the incident when
 * there is one. Nothing here reads a clock or keeps a pointer into the input.
 *
 * context_webhook() gives exactly Alertmanager's webhook payload, version 4:
 *   {receiver, status, alerts: [{status, labels, annotations, startsAt, endsAt,
 *    generatorURL, fingerprint}], groupLabels, commonLabels, commonAnnotations,
 *    externalURL, version: "4", groupKey, truncatedAlerts}
 * A firing alert's endsAt is "0001-01-01T00:00:00Z" as Alertmanager sends it;
 * times are Go's RFC3339Nano. status is "firing" when any alert fires at now.
 * commonLabels / commonAnnotations are the pairs shared by every alert, and
 * like status they are computed over all alerts before max_alerts truncates
 * alerts[] (truncatedAlerts counts the ones left out), as Alertmanager does.
 *
 * context_template() gives the same object plus, for templates:
 *   each label/annotation map also as a list of {name, value, last}, sorted by
 *     name, last being true on the final pair (for separators):
 *     groupLabelsList, commonLabelsList, commonAnnotationsList, and per alert
 *     labelsList, annotationsList;
 *   per alert: firing / resolved (booleans), startsAtText / endsAtText
 *     ("2026-11-23 12:00:00 UTC", endsAtText "" while firing);
 *   firing / resolved (booleans for the whole group), alertsCount, firingCount,
 *     resolvedCount (over all alerts), alertsFiring[] / alertsResolved[] (from
 *     alerts[] after truncation);
 *   incident: {id, url, ack_url, status, acked (boolean), acked_by, acked_at,
 *     acked_at_text, comment, step} when d->incident is set; absent otherwise,
 *     so {{#incident}}...{{/incident}} renders only for incidents.
 * docs/templates.md shows a full example.
 */
#ifndef AMR_CONTEXT_H
#define AMR_CONTEXT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct alert;
struct labels;

/* The incident a notification belongs to (filled by the escalation code). */
struct notify_incident {
    int64_t id;           /* the short number humans type: amctl ack 42 */
    const char *url;      /* the incident's page; may be NULL */
    const char *ack_url;  /* <external_url>/ack/<token>; may be NULL */
    const char *status;   /* "open", "acknowledged", "resolved"; may be NULL */
    const char *acked_by; /* who acknowledged; NULL when not acknowledged */
    int64_t acked_at;     /* ms since the epoch; TIME_UNSET (0) when not acknowledged */
    const char *comment;  /* the ack comment; may be NULL */
    int step;             /* escalation step being notified, 1-based; 0 = none */
};

struct notify_data {
    const char *receiver;              /* receiver name */
    const char *group_key;             /* Alertmanager's groupKey */
    const struct labels *group_labels; /* may be NULL (no group labels) */
    const struct alert *const *alerts; /* in the order to show them */
    size_t n_alerts;
    int64_t now;                            /* decides firing vs resolved per alert */
    const char *external_url;               /* may be NULL ("") */
    size_t max_alerts;                      /* 0 = all; else alerts[] is cut to this many */
    const struct notify_incident *incident; /* NULL = no incident */
};

/* Alertmanager's webhook payload (version 4) for d. Returns a new reference the
 * caller json_decref()s, or NULL when memory runs out. */
json_t *context_webhook(const struct notify_data *d);

/* The template context for d: the webhook payload plus the extras listed above.
 * Returns a new reference, or NULL when memory runs out. Values the alerts share
 * (label pairs and values, times) are one json_t referenced from each place, so
 * the result is a DAG: a caller may add or replace keys of the returned root
 * object, but must not modify anything below it in place. The same holds for
 * context_webhook(). */
json_t *context_template(const struct notify_data *d);

/* context_template(d) together with its prepared data (mustache_data_new), shared
 * by the callers with the same inputs: the jobs of one notification, one per
 * integration, find what the first one built (a few recent contexts are kept,
 * keyed by every input byte for byte). Render with mustache_render_data(), or with
 * mustache_data_use(context_shared_data(s)) around code that calls
 * mustache_render() on context_shared_json(s). The context must not be modified.
 * Returns a held reference for context_shared_release(), or NULL when memory runs
 * out. Thread-safe. */
struct context_shared;
struct mustache_data;
struct context_shared *context_shared_get(const struct notify_data *d);
/* Borrowed: valid until the caller's context_shared_release(). */
json_t *context_shared_json(const struct context_shared *s);
const struct mustache_data *context_shared_data(const struct context_shared *s);
void context_shared_release(struct context_shared *s); /* accepts NULL */
/* Forgets the kept contexts (tests; at exit). Held ones live until released. */
void context_shared_flush(void);

/* A made-up but realistic notification context (receiver "team-db", two firing
 * alerts and one resolved, an open incident at escalation step 2), for previews
 * (amctl template render without --data), tests and the benchmark. n_alerts
 * alerts are generated when n_alerts > 3. Returns a new reference or NULL. */
json_t *context_example(size_t n_alerts);

/* Which notice context_example_notice() makes. */
enum context_example_notice {
    EXAMPLE_FIRING,       /* as context_example(): open incident at step 2 */
    EXAMPLE_ACKNOWLEDGED, /* still firing; incident acknowledged by "alice" at 11:58
                             with the comment "on it" (an acknowledgement notice) */
    EXAMPLE_RESOLVED,     /* every alert resolved, incident "resolved" */
};

/* context_example() for the given notice, so previews and tests can show what each
 * default template says when an incident is acknowledged or resolved. Returns a new
 * reference or NULL. */
json_t *context_example_notice(size_t n_alerts, enum context_example_notice notice);

/* The inputs behind context_example_notice(), for measuring context_template() alone
 * (the benchmark): a struct notify_data and everything it points to, owned by the
 * returned object. NULL when memory runs out. _free accepts NULL. */
struct context_example_data;
struct context_example_data *context_example_data_new(size_t n_alerts,
                                                      enum context_example_notice notice);
const struct notify_data *context_example_data_get(const struct context_example_data *x);
void context_example_data_free(struct context_example_data *x);

#ifdef UNIT_TEST
/* The fast time formatting (context.c), compared in tests with the general code. */
const char *context_time_text(int64_t ms, char *out);
const char *context_time_nano(int64_t ms, char *out);
#endif

#endif
