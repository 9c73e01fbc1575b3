/*
 * engine.h - the engine thread: the one owner of mutable state.
 *
 * HTTP threads (api/) parse and validate requests, then hand them to the
 * engine through these calls. Each call enqueues a request and blocks until
 * the engine thread has applied it to the router (router/, pure) and, for a
 * change, the engine's storage thread has committed it to SQLite (storage/) in
 * the batch's one transaction. A 0 return from a change therefore means
 * "durable". Query calls are also answered by the engine thread, so they see
 * a consistent state, and only once every batch applied before them
 * committed, so they never show a change that is then rolled back.
 *
 * The engine also runs the router's timers (group_wait, group_interval,
 * repeat, retention, later escalation) and writes notification jobs to the
 * outbox in the same transaction, then hands them to the delivery thread.
 *
 * Ownership: calls that take ownership of arguments say so. Returned json_t
 * values belong to the caller (json_decref).
 */
#ifndef AMR_ENGINE_H
#define AMR_ENGINE_H

#include "core/alert.h"
#include "core/matcher.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct engine;
struct error;

struct engine_opts {
    const char *storage_path; /* directory; the database is <dir>/amrouter.db */
    const char *external_url; /* e.g. http://host:9093, no trailing slash */
    const char *config_file;  /* for reloads */
};

/* Opens (and locks) the storage, loads all state, takes ownership of cfg.
 * Fails if another amrouter holds the storage. Does not start the threads. */
struct engine *engine_new(const struct engine_opts *opts, struct config *cfg, struct error *err);
/* Starts the engine and delivery threads. */
int engine_start(struct engine *e, struct error *err);
/* Stops accepting, commits what is queued, waits for deliveries in flight up to
 * timeout_ms, stops the threads. Safe to call twice. */
void engine_stop(struct engine *e, int64_t timeout_ms);
void engine_free(struct engine *e);

/* True once state is loaded and the threads run (for /-/ready). */
bool engine_ready(struct engine *e);

/* --- changes (block until durable) --- */

/* Takes ownership of the malloc'd array and the n alerts in it, whatever it
 * returns (already validated, defaults not yet applied: starts_at/ends_at may be
 * TIME_UNSET). Returns -1 with err when the store cannot commit or the engine is
 * stopping (the caller answers 503); nothing of the batch is then stored or kept
 * in memory. */
int engine_post_alerts(struct engine *e, struct alert *alerts, size_t n, struct error *err);

struct silence_in {
    char *id; /* NULL for a new silence */
    struct matchers matchers;
    int64_t starts_at;
    int64_t ends_at;
    char *created_by;
    char *comment;
};

/* Creates or updates a silence with Alertmanager's semantics. Takes ownership
 * of *in's contents. On success writes the (possibly new) id into id_out.
 * Returns 0, or -1 with err and *http_status set (400 invalid, 404 unknown id,
 * 503 storage). */
int engine_put_silence(struct engine *e, struct silence_in *in, char id_out[37], int *http_status,
                       struct error *err);
/* Expires a silence. -1 with *http_status and err on failure: 500 "silence not
 * found" for an unknown id (what Alertmanager 0.25 answers; an already expired one
 * is 200, unchanged), 503 when the store cannot commit. */
int engine_expire_silence(struct engine *e, const char *id, int *http_status, struct error *err);

/* Validates and loads a new config file (on the calling thread), then swaps it in
 * on the engine thread. On error the running config stays and err says why. The
 * replaced config is kept alive until engine_free (pointers into it stay valid). */
int engine_reload(struct engine *e, struct error *err);

/* --- queries (answered on the engine thread) --- */

struct alert_query {
    bool active, silenced, inhibited, unprocessed; /* API defaults: all true */
    struct matchers filter;                        /* ANDed */
    void *receiver_re;                             /* pcre2_code * or NULL */
};

/* GET /api/v2/alerts body: array, sorted by fingerprint. */
json_t *engine_query_alerts(struct engine *e, const struct alert_query *q);
/* GET /api/v2/alerts/groups body. */
json_t *engine_query_groups(struct engine *e, const struct alert_query *q);
/* GET /api/v2/silences body (filter: every matcher must equal one of the silence's). */
json_t *engine_query_silences(struct engine *e, const struct matchers *filter);
/* GET /api/v2/silence/{id}: NULL when unknown. */
json_t *engine_get_silence(struct engine *e, const char *id);
/* GET /api/v2/status body (cluster disabled, config.original, versionInfo, uptime). */
json_t *engine_status(struct engine *e);
/* GET /api/v2/receivers body. */
json_t *engine_receivers(struct engine *e);

/* GET /metrics: alerts not resolved by status.state (the counts GET /api/v2/alerts
 * would show; indexes are enum alert_state) and incidents by state (indexes are
 * enum incident_state; slot 0 unused), counted on the engine thread without
 * building JSON. 0, or -1 when the engine cannot answer (out is then zeroed). */
struct engine_state_counts {
    size_t alerts[3];
    size_t incidents[4];
};
int engine_count_states(struct engine *e, struct engine_state_counts *out);

/* --- incidents, acknowledgements, ack links, SMS (issue 6; docs/escalation.md) --- */

struct ack_in; /* router/router.h */

struct incident_query {
    unsigned states;  /* bits 1 << enum incident_state; 0 = open (firing | acknowledged) */
    const char *team; /* NULL = every team; "" = incidents of no team */
    struct matchers filter;
};

/* GET /api/v2/incidents body: incident objects, newest first. */
json_t *engine_query_incidents(struct engine *e, const struct incident_query *q);
/* GET /api/v2/incidents/{id}: 0 with *out (the object plus alerts and history), or -1
 * with *http_status 404 (unknown) or 503 (engine stopped) and err. */
int engine_get_incident(struct engine *e, uint64_t id, json_t **out, int *http_status,
                        struct error *err);
/* Acknowledges (unack false) or unacknowledges incident id; durable on return. 0 with
 * *out = the incident object after the change (also when nothing changed), or -1 with
 * *http_status 404 / 409 (resolved) / 503 and err. Strings of in are copied. */
int engine_ack_incident(struct engine *e, uint64_t id, bool unack, const struct ack_in *in,
                        json_t **out, int *http_status, struct error *err);
/* POST /api/v2/acks: acks every open incident with an alert matching all of m. 0 with
 * *out = {"acknowledged": [...], "alreadyAcknowledged": [...]}, or -1 (503) with err. */
int engine_ack_matching(struct engine *e, const struct matchers *m, const struct ack_in *in,
                        json_t **out, struct error *err);
/* The ack page's context for incident id (the notification context of its group with
 * the incident; templates/defaults.h "ack_page"), with incident.ack_url = ack_url.
 * 0 with *out, or -1 with *http_status 404/503. */
int engine_ack_page_context(struct engine *e, uint64_t id, const char *ack_url, json_t **out,
                            int *http_status, struct error *err);
/* The HMAC key for ack links (ack.secret / ack.secret_file, else generated once and
 * kept in SQLite) and the links' lifetime in ms. Fixed from engine_new on. */
void engine_ack_secret(struct engine *e, const uint8_t **secret, size_t *len);
int64_t engine_ack_link_expiry(struct engine *e);
/* The Twilio auth token of the sms_configs with that account SID (the first one), as a
 * malloc'd copy, or NULL when none. */
char *engine_twilio_auth_token(struct engine *e, const char *account_sid);
/* An SMS reply acknowledging incident id from number `from`: acknowledged only when
 * `from` was paged for it. Answers through *result: 0 acknowledged now, 1 already
 * acknowledged, 2 unknown or resolved, 3 that number was not paged for it. -1 (503). */
int engine_sms_ack(struct engine *e, uint64_t id, const char *from, int *result, struct error *err);

/* Queries return NULL when the engine is not running (stopped) or memory runs out. */

#ifdef UNIT_TEST
/* The next n commits fail as if the disk were full (then the engine rebuilds).
 * Read and decremented by the storage thread: set it while no batch is in flight. */
extern int engine_fail_next_commits;
/* The storage thread sleeps this long before each commit, with
 * engine_test_committing = 1 meanwhile (read it with __atomic_load_n): lets a
 * test put a second batch in flight while the first commits. */
extern int engine_test_commit_delay_ms;
extern int engine_test_committing;
struct storage;
/* The engine's storage, once the storage thread has written every batch handed
 * to it. For tests that read it while nothing else posts. */
struct storage *engine_test_storage(struct engine *e);
#endif

#endif
