/*
 * router.h - the brain of amrouter: a pure state machine with Alertmanager 0.25's
 * dispatch semantics.
 *
 *   (state, event, now) -> (state', notify jobs, change log, next wake-up)
 *
 * Nothing in router/ reads a clock, sleeps, does I/O or starts threads. Time
 * is always the `now` argument (ms since the epoch). Randomness (silence ids)
 * is an argument too. One thread (the engine) owns a struct router and calls
 * everything; nothing here locks.
 *
 * What it holds:
 *  - the alert store: fingerprint -> alert, merged on re-post as AM's provider
 *    does (merge only when the activity ranges overlap, else replace);
 *    resolve_timeout fills a missing endsAt; resolved alerts are deleted
 *    `retention.alerts` after their endsAt once no group holds them;
 *  - aggregation groups: route x group labels, with group_wait, group_interval
 *    and the flush rules of AM's aggrGroup (flush at once when an alert's
 *    startsAt + group_wait is already past before the first flush);
 *  - the notification log per (group key, receiver, integration) with AM's
 *    DedupStage.needsUpdate rules, repeat_interval and send_resolved;
 *  - inhibition (evaluated at flush time and for queries) and silences.
 *
 * A flush of a group at `now`, as AM's aggrGroup.flush + notify pipeline:
 *  1. snapshot every alert of the group; alerts still firing at `now` get
 *     ends_at = TIME_UNSET in the snapshot (AM zeroes EndsAt so that alerts do
 *     not resolve while the notification travels; the webhook payload therefore
 *     carries "0001-01-01T00:00:00Z" for firing alerts); sort as AM's AlertSlice
 *     (job, then instance, then label sets);
 *  2. drop alerts that are inhibited; drop everything when the route is outside
 *     its active_time_intervals or inside a mute_time_interval (AM's
 *     TimeActiveStage/TimeMuteStage, evaluated at the flush time); drop alerts
 *     that are silenced; nothing left = nothing to do (success);
 *  3. for each integration (notifier_config) of the route's receiver, dedup
 *     against its notification log entry (needsUpdate). When a notification is
 *     needed: with send_resolved false and no firing alert nothing is sent but
 *     the log is written at once; otherwise a notify job is emitted whose alerts
 *     are the remaining ones (minus resolved ones without send_resolved);
 *  4. when every job of the flush reported success (or there was none), resolved
 *     alerts of the snapshot whose stored updated_at is unchanged are removed
 *     from the group; an empty group is deleted.
 * The notification log entry of a job is written when its success is reported,
 * with the report's `now` as timestamp (AM logs after the send). AM's group
 * waits for its notification before the next flush; here the next flush does
 * not wait: if a job is still outstanding then, the new job for the same
 * integration names it in `supersedes` (delivery drops the old one), and a late
 * success of an older job never overwrites a newer log entry.
 *
 * Reload (router_set_config) keeps alerts, silences and the notification log,
 * drops all groups and re-inserts the alerts into the new tree with fresh
 * timers, as AM's new dispatcher does; an alert whose startsAt + group_wait is
 * past flushes at once and the notification log prevents duplicates. Unlike AM
 * (whose store drops resolved alerts within 30 minutes) only firing alerts and
 * resolved ones that were still in a group (not yet notified) are re-inserted.
 *
 * Persistence: every call records what it changed in a change log (keys only;
 * read the current values with the getters, a NULL getter result means
 * "deleted"). router_load_* restore the state at start-up.
 *
 * Incidents (issue 6, router/escalation.c): every aggregation group's life from
 * its first firing alert until a flush finds none firing is an incident with a
 * never-reused numeric id (router/incident.h). On a route with an escalation
 * policy the policy's steps decide who hears about it: each step is reached at
 * its deadline (absolute, persisted) and notifies its receivers once, the
 * group's later flushes go to the receivers reached so far; a receiver set on
 * the same route is an extra step at 0 s; an inherited receiver is not used.
 * No step is reached before the group's first flush (group_wait). On a plain
 * route the route's receiver is notified exactly as Alertmanager would.
 * Acknowledging stops the steps, suppresses repeat_interval reminders and sends
 * an ack notice (a job with incident_notice NOTICE_ACK) to every integration of
 * every receiver reached; unack or a lapsed ack_timeout sends NOTICE_UNACK
 * notices and restarts from the step after the last one reached, keeping the
 * gap between them; a new firing alert joining an acknowledged incident
 * re-opens it when the policy says reopen_on_new_alert (default). Repeat runs
 * of the steps start `period` after the previous run, period = the last step's
 * after plus the gap before it (at least 1 s).
 *
 * Delivery contract: every job handed out must eventually be reported once with
 * router_notify_result (ok or not; a dropped superseded job counts as failed),
 * or the flush it belongs to never removes its resolved alerts.
 */
#ifndef AMR_ROUTER_H
#define AMR_ROUTER_H

#include "core/alert.h"
#include "core/labels.h"
#include "router/incident.h"
#include "router/silence.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct error;
struct receiver;
struct route;

struct router;

/* ------------------------------------------------------------------ lifecycle */

/* Makes an empty router on cfg (not owned; must outlive the router or be replaced
 * with router_set_config first). NULL when memory runs out. */
struct router *router_new(const struct config *cfg);
void router_free(struct router *r);

/* Switches to a new config (reload): see the header comment. Alerts, silences and
 * the notification log stay; groups are rebuilt. Outstanding jobs keep their ids;
 * their results are still accepted. The old config may be freed after this returns.
 * -1 only when memory runs out (the router is then still usable on the new config,
 * with some alerts possibly missing from groups until re-posted). */
int router_set_config(struct router *r, const struct config *cfg, int64_t now, struct error *err);

const struct config *router_config(const struct router *r);

/* ------------------------------------------------------------------ alerts */

/* AM's API defaults, applied by router_put_alerts (idempotent; exposed so the API
 * can validate after them as AM does): updated_at = now; missing (TIME_UNSET)
 * starts_at = ends_at if set, else now; missing ends_at = now + resolve_timeout
 * with timeout = true; fingerprint computed from the labels. */
void router_alert_defaults(struct alert *a, int64_t now, int64_t resolve_timeout);

/* Stores n alerts (already validated) and dispatches them into their groups.
 * Takes ownership of each alert's contents (each alerts[i] is left released;
 * the array itself stays the caller's). Defaults are applied with the config's
 * resolve_timeout. A re-post is merged with the stored alert when their activity
 * ranges overlap (AM's provider) and replaces it otherwise. -1 only when memory
 * runs out (alerts before the failing one are stored). */
int router_put_alerts(struct router *r, struct alert *alerts, size_t n, int64_t now,
                      struct error *err);

/* The stored alert, or NULL. Valid until the next call that changes the router. */
const struct alert *router_get_alert(const struct router *r, uint64_t fingerprint);
size_t router_alert_count(const struct router *r);

/* ------------------------------------------------------------------ silences */

/* Creates or updates a silence (see silences_put in router/silence.h for AM's
 * rules and messages). Takes ownership of in's contents. On success the id
 * (new or kept) is in id_out. Returns the HTTP status AM answers: 200, 400, 404
 * or 500, with err filled for non-200. */
enum silence_status router_put_silence(struct router *r, struct silence *in, int64_t now,
                                       const uint8_t random16[16], char id_out[SILENCE_ID_LEN],
                                       struct error *err);
/* DELETE /api/v2/silence/{id}: 200 (also for an already expired one), or 500
 * "silence not found" for an unknown id, as Alertmanager 0.25 answers. */
enum silence_status router_expire_silence(struct router *r, const char *id, int64_t now,
                                          struct error *err);
const struct silence *router_get_silence(const struct router *r, const char *id);
/* Silences in the API's order with their state at now (see silences_foreach). */
int router_foreach_silence(const struct router *r, int64_t now,
                           int (*fn)(void *ctx, const struct silence *s, enum silence_state st),
                           void *ctx);

/* ------------------------------------------------------------------ notify jobs */

/*
 * A notification to send: one integration (receiver->configs[integration]) of one
 * group's receiver. Self-contained (deep copies) so it can be persisted in the
 * outbox and outlive the router's state; free with notify_job_free().
 */
struct notify_job {
    uint64_t id;         /* unique and increasing, also across restarts:
                            max(last id + 1, created_at * 1024) */
    uint64_t flush_id;   /* the jobs of one flush share it */
    uint64_t supersedes; /* id of the older job for the same group+receiver+integration
                            still outstanding when this one was made (0 = none): the
                            delivery may drop that one; report it as failed */
    char *group_key;     /* AM's groupKey */
    char *route_id;      /* route->id of the group's route */
    char *receiver_name;
    size_t integration;              /* index into receiver->configs */
    const struct route *route;       /* in the config current at creation (NULL after load) */
    const struct receiver *receiver; /* idem; resolve by receiver_name after a reload */
    struct labels group_labels;
    struct alert *alerts; /* the payload, AM's order; firing ones have ends_at TIME_UNSET */
    size_t n_alerts;
    uint64_t *firing; /* sorted fingerprints the notification log records on success */
    size_t n_firing;
    uint64_t *resolved;
    size_t n_resolved;
    int64_t created_at;     /* the flush time */
    int64_t group_interval; /* retry budget: AM gives a flush until the next one */
    int64_t repeat_interval;
    /* issue 6: the incident as it was when the job was made (all 0/NULL when none) */
    uint64_t incident_id;
    uint64_t incident_generation; /* stale when it differs (router_job_stale) */
    int incident_state;           /* enum incident_state */
    int incident_notice;          /* enum incident_notice: why the job exists */
    int incident_step;            /* last step reached, 1-based; 0 = none */
    int64_t incident_opened_at;
    char *acked_by; /* set while acknowledged */
    char *ack_via;
    char *ack_comment;
    int64_t acked_at;
};

void notify_job_free(struct notify_job *job);
/* Deep copy; NULL when memory runs out. */
struct notify_job *notify_job_copy(const struct notify_job *job);

/* Jobs handed to the caller, who owns them. */
struct job_list {
    struct notify_job **v;
    size_t n;
    size_t cap;
};

#define JOB_LIST_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Frees the jobs still in the list and the list. */
void job_list_release(struct job_list *l);

/* Runs every timer due at now: group flushes (appending new jobs to out) and,
 * at most once a minute, garbage collection (resolved alerts after
 * retention.alerts, silences after retention.silences, notification log entries
 * after retention.alerts). -1 only when memory runs out. */
int router_tick(struct router *r, int64_t now, struct job_list *out, struct error *err);

/* The earliest time router_tick has something to do, INT64_MAX when nothing. */
int64_t router_next_wakeup(const struct router *r);

/* Reports the end of a job: ok = delivered (2xx). On success writes the
 * notification log entry (unless a newer job's success was already logged) and,
 * when all jobs of its flush succeeded, removes the resolved alerts that flush
 * saw and that were not updated since. Unknown ids (already reported) are
 * ignored. -1 only when memory runs out. */
int router_notify_result(struct router *r, uint64_t job_id, bool ok, int64_t now,
                         struct error *err);

/* ------------------------------------------------------------------ queries */

enum alert_state { ALERT_STATE_UNPROCESSED, ALERT_STATE_ACTIVE, ALERT_STATE_SUPPRESSED };

/* "unprocessed", "active", "suppressed" */
const char *alert_state_name(enum alert_state st);

/* AM's alert status at a time: state, silencedBy (sorted ids of active matching
 * silences), inhibitedBy (fingerprint of the first firing source found, as AM). */
struct alert_status {
    enum alert_state state;
    char (*silenced_by)[SILENCE_ID_LEN];
    size_t n_silenced_by;
    uint64_t *inhibited_by;
    size_t n_inhibited_by;
};

void alert_status_release(struct alert_status *st);

/* Computes the status of a label set at now (AM's setAlertStatus: inhibitor then
 * silencer). st is filled (release it). -1 when memory runs out. */
int router_alert_status(const struct router *r, const struct labels *ls, int64_t now,
                        struct alert_status *st);

/* Adds to counts[state] one for every alert not resolved at now, by the state
 * router_alert_status() would give it (GET /metrics: the alerts GET /api/v2/alerts
 * lists), without building ids, routes or JSON. counts has one slot per enum
 * alert_state; it is not zeroed here. */
void router_count_alerts(const struct router *r, int64_t now,
                         size_t counts[ALERT_STATE_SUPPRESSED + 1]);

/* One alert as GET /api/v2/alerts needs it. `routes` are the matched routes (their
 * receivers are the alert's receivers, in order, duplicates kept as AM does). */
struct alert_view {
    const struct alert *alert; /* stored alert (ends_at as stored) */
    bool resolved;             /* at now: the API skips these */
    const struct alert_status *status;
    const struct route *const *routes;
    size_t n_routes;
};

/* Calls fn for every stored alert, sorted by fingerprint. fn returning non-zero
 * stops the walk and is returned. -1 when memory runs out. */
int router_foreach_alert(const struct router *r, int64_t now,
                         int (*fn)(void *ctx, const struct alert_view *v), void *ctx);

/* One aggregation group as GET /api/v2/alerts/groups and the storage need it. */
struct group_view {
    const char *key;
    const struct route *route;
    const struct receiver *receiver;
    const struct labels *labels;
    int64_t next_flush;
    bool has_flushed;
    uint64_t incident_id;
    size_t n_alerts;
    const struct alert *const *alerts;   /* stored alerts, AM's AlertSlice order */
    const struct alert_status *statuses; /* per alert at now; NULL from router_get_group */
};

/* Calls fn for every group in AM's order (labels, then receiver name), with the
 * group's alerts and their statuses at now. Resolved alerts are included (the API
 * filters them). Stops on fn's non-zero return, which it returns. */
int router_foreach_group(const struct router *r, int64_t now,
                         int (*fn)(void *ctx, const struct group_view *g), void *ctx);

/* The group with that key, without statuses, filled into *out (release it with
 * group_view_release, which is also safe after a 0 or -1 answer). Returns 1 when
 * found, 0 when there is no such group, -1 when memory runs out. */
int router_get_group(const struct router *r, const char *key, struct group_view *out);
/* The same without the alerts (n_alerts 0, alerts NULL), in constant time: for
 * persisting a group, whose members come from the change log's `members`. */
int router_get_group_head(const struct router *r, const char *key, struct group_view *out);
/* Sets the incident id a group carries (issue 6); copied into its later jobs and
 * recorded in the change log. Returns 0, or -1 when there is no such group. */
int router_group_set_incident(struct router *r, const char *key, uint64_t incident_id);
void group_view_release(struct group_view *g);
size_t router_group_count(const struct router *r);

/* ------------------------------------------------------------------ notification log */

/* One notification log entry: the last successful notification of a group to one
 * integration of a receiver. */
struct nflog_entry {
    char *key; /* router's key: group_key "\x1f" receiver "\x1f" integration index */
    char *group_key;
    char *receiver_name;
    size_t integration;
    uint64_t *firing; /* sorted */
    size_t n_firing;
    uint64_t *resolved; /* sorted */
    size_t n_resolved;
    int64_t timestamp;  /* when the notification succeeded */
    int64_t flushed_at; /* created_at of the job that wrote it (newer results win) */
    int64_t expires_at;
};

void nflog_entry_release(struct nflog_entry *e);

const struct nflog_entry *router_get_nflog(const struct router *r, const char *key);

/* ------------------------------------------------------------------ change log */

/*
 * Keys touched since the last router_changes_clear(), each once. For each key read
 * the current value with the getter: a NULL (or 0) answer means it was deleted.
 *   alerts:   fingerprints      -> router_get_alert
 *   silences: ids               -> router_get_silence
 *   groups:   group keys        -> router_get_group (timer, flags, incident or
 *             membership changed; a re-post of a member does not touch its group)
 *   members:  (group key, fp)   -> router_group_has_alert: which memberships
 *             changed, for a backend that keeps one row per member (a deleted
 *             group takes its members; they are listed too, so that a group
 *             deleted and made again in one batch, as a reload does, leaves
 *             no stale member)
 *   nflog:    nflog entry keys  -> router_get_nflog
 * The arrays are owned by the router and valid until the next change or clear.
 * The engine persists them in one transaction per batch, then clears.
 */
struct router_member_change {
    const char *group_key;
    uint64_t fingerprint;
};

struct router_changes {
    uint64_t *incidents; /* ids -> router_get_incident (NULL = deleted) */
    size_t n_incidents;
    bool incident_seq; /* router_last_incident_id changed: persist it */
    uint64_t *alerts;
    size_t n_alerts;
    char **silences;
    size_t n_silences;
    char **groups;
    size_t n_groups;
    struct router_member_change *members;
    size_t n_members;
    char **nflog;
    size_t n_nflog;
};

/* True when the group with that key holds the alert. */
bool router_group_has_alert(const struct router *r, const char *key, uint64_t fingerprint);

const struct router_changes *router_changes(const struct router *r);
void router_changes_clear(struct router *r);

/* ------------------------------------------------------------------ incidents (issue 6) */

/* Who acknowledges (or unacknowledges), how and why. Strings are copied. */
struct ack_in {
    const char *by;      /* NULL = "unknown" */
    const char *via;     /* "api", "amctl", "web", "sms"; NULL = "api" */
    const char *comment; /* may be NULL */
};

enum ack_result {
    ACK_DONE = 0,      /* the state changed */
    ACK_UNCHANGED = 1, /* already acknowledged (ack) / not acknowledged (unack) */
    ACK_NOT_FOUND = 2,
    ACK_RESOLVED = 3, /* a resolved incident cannot be acknowledged or unacknowledged */
};

/* Acknowledges incident id at now: stops its escalation, records who/how/why,
 * starts ack_timeout, and appends NOTICE_ACK jobs for every receiver reached to
 * out. Returns an enum ack_result, or -1 with err when memory runs out. */
int router_ack_incident(struct router *r, uint64_t id, const struct ack_in *in, int64_t now,
                        struct job_list *out, struct error *err);
/* Takes an acknowledgement back: the incident fires again, NOTICE_UNACK jobs go to
 * every receiver reached and escalation restarts from the step after the last one
 * reached. Returns an enum ack_result, or -1 on OOM. */
int router_unack_incident(struct router *r, uint64_t id, const struct ack_in *in, int64_t now,
                          struct job_list *out, struct error *err);
/* Acknowledges every open incident with a current alert matching all of m. The ids
 * acknowledged now and those already acknowledged are appended to the malloc'd
 * arrays *acked / *already (the caller frees them, also on failure). -1 on OOM. */
int router_ack_matching(struct router *r, const struct matchers *m, const struct ack_in *in,
                        int64_t now, struct job_list *out, uint64_t **acked, size_t *n_acked,
                        uint64_t **already, size_t *n_already, struct error *err);

/* The incident, or NULL. Valid until the next call that changes the router. */
const struct incident *router_get_incident(const struct router *r, uint64_t id);
/* Calls fn for every incident kept, newest (highest id) first; stops on fn's
 * non-zero return, which it returns. -1 on OOM. */
int router_foreach_incident(const struct router *r,
                            int (*fn)(void *ctx, const struct incident *inc), void *ctx);
size_t router_incident_count(const struct router *r);
/* True when one of the incident's current alerts (or, once its group is gone, its
 * group labels) matches all of m. An empty m matches. */
bool router_incident_matches(const struct router *r, const struct incident *inc,
                             const struct matchers *m);
/* How many steps the incident's route runs per pass (a route receiver counts as one;
 * 1 on a plain route); 0 when its route is gone. */
size_t router_incident_steps(const struct router *r, const struct incident *inc);
/* The group's current alerts when the group still belongs to the incident
 * (release with group_view_release): 1 found, 0 none, -1 OOM. */
int router_incident_group(const struct router *r, const struct incident *inc,
                          struct group_view *out);
/* True when phone (E.164, as written in sms_configs `to`) was paged for the
 * incident: an SMS integration of a receiver it reached sends to it. */
bool router_incident_paged(const struct router *r, uint64_t id, const char *phone);
/* True when the job was made for an escalation generation that an ack or unack
 * has since replaced (a step or update made before an ack): the delivery should
 * drop it (report it as failed) rather than page someone after the ack. */
bool router_job_stale(const struct router *r, const struct notify_job *job);
/* The highest incident id ever given out (persist it when ch.incident_seq). */
uint64_t router_last_incident_id(const struct router *r);

/* ------------------------------------------------------------------ restore at start-up */

/* Call these on a fresh router (after router_new on the current config), in this
 * order: incident sequence and incidents, alerts, silences, nflog, groups, jobs,
 * then router_load_done. They do not record changes. */

/* Restores the counter ids are given from (ids never repeat, also after resolved
 * incidents were deleted). */
void router_load_incident_seq(struct router *r, uint64_t last_id);
/* Takes ownership of inc (also on failure). Open incidents re-attach to their group
 * by group key; a step that fell due while down is sent once at the next tick after
 * the group's restore. An open incident whose group is gone after router_load_done
 * is resolved then. */
int router_load_incident(struct router *r, struct incident *inc, struct error *err);

/* Takes ownership of *a's contents (stored as it is, no defaults, no dispatch). */
int router_load_alert(struct router *r, struct alert *a, struct error *err);
/* Takes ownership of *s's contents. */
int router_load_silence(struct router *r, struct silence *s, struct error *err);
/* Takes ownership of *e's contents (e->key may be NULL: rebuilt). */
int router_load_nflog(struct router *r, struct nflog_entry *e, struct error *err);
/* Restores a group with its timer: the fingerprints name loaded alerts (unknown
 * ones are skipped). A group whose route id no longer exists in the config, or
 * whose key differs from what the config gives, is dropped (its alerts are
 * re-dispatched by router_load_done). */
int router_load_group(struct router *r, const char *route_id, const struct labels *labels,
                      int64_t next_flush, bool has_flushed, uint64_t incident_id,
                      const uint64_t *fps, size_t n_fps, struct error *err);
/* Restores an outstanding job (from the outbox), so that its result still writes
 * the notification log and completes its flush. Copies what it needs. */
int router_load_job(struct router *r, const struct notify_job *job, struct error *err);
/* Finishes the restore: every firing alert missing from one of its routes' groups is
 * dispatched now (as a reload would). */
int router_load_done(struct router *r, int64_t now, struct error *err);

#endif
