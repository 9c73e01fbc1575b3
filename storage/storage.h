/*
 * storage.h - durable state of amrouter, behind a narrow interface.
 *
 * One backend today: SQLite, one file <dir>/amrouter.db in WAL mode with
 * synchronous=NORMAL. What that promises: a committed transaction survives a
 * crash or kill -9 of the amrouter process (the WAL is written before commit
 * returns); after a power loss or OS crash the last transactions before the
 * loss may be rolled back, but the file is never corrupt. storage_open() can be
 * asked for synchronous=FULL (fsync on every commit) to cover power loss too.
 *
 * The schema is versioned with PRAGMA user_version and migrated forward at
 * open by a table of steps (storage_sqlite.c); a database newer than this
 * binary is refused. One amrouter owns a storage directory: storage_open()
 * takes an exclusive flock on <dir>/lock (which holds the owner's pid) and a
 * second process gets an error naming the path and that pid.
 *
 * What is stored (one row each, values encoded by storage/codec.h):
 *   alerts      fingerprint (INTEGER, the 64 bits as signed) -> alert, and the
 *               keys of the groups the alert is a member of (a JSON list);
 *               rows in insertion order (schema 5), so new alerts append; no
 *               index on the fingerprint (schema 6): the storage keeps
 *               fingerprint -> row id in memory (about 32 bytes an alert)
 *   silences    id -> silence
 *   aggr_groups group key -> route id, group labels, timer (its `alerts` column
 *               is '[]' since schema 3 and only read for older files)
 *   nflog       notification log entry key -> entry
 *   outbox      notification job id -> job, delivery state, attempts, next try
 *   meta        key -> value (secrets such as the ack HMAC key, the incident counter)
 *   incidents   incident id -> incident with its history (router/incident.h JSON)
 *
 * Threading: a struct storage is used by one thread at a time (the engine
 * thread at start-up and for rebuilds, the engine's storage thread for batch
 * writes, never both at once); nothing here locks. Inside, storage_open
 * starts a checkpoint thread with its own connection (WAL checkpoints off the
 * writer's commits; storage_close joins it); the caller never sees that
 * connection. Writes happen inside storage_begin() ... storage_commit() (or
 * storage_rollback()); a put outside a transaction is its own transaction.
 * Prepared statements are made once at open.
 *
 * The interface speaks router types (alerts, silences, group views, nflog
 * entries, notify jobs) and nothing SQLite-specific, so another backend
 * (PostgreSQL) can implement the same functions.
 */
#ifndef AMR_STORAGE_H
#define AMR_STORAGE_H

#include "router/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;
struct storage;

#define STORAGE_DB_NAME   "amrouter.db"
#define STORAGE_LOCK_NAME "lock"

struct storage_opts {
    bool sync_full;      /* synchronous=FULL instead of NORMAL */
    int busy_timeout_ms; /* 0 = default 5000 */
};

/* Opens (creating when needed) <dir>/amrouter.db, locks the directory and
 * migrates the schema to the current version. dir is created when missing
 * (one level). opts may be NULL. Errors name the path, e.g.
 * "storage data/: in use by another amrouter (pid 1234)". */
struct storage *storage_open(const char *dir, const struct storage_opts *opts, struct error *err);
/* Rolls back an open transaction, closes the database, releases the lock. NULL ok. */
void storage_close(struct storage *st);

/* The schema version this binary writes (PRAGMA user_version). */
int storage_schema_version(void);

/* --- transactions --- */

int storage_begin(struct storage *st, struct error *err);
/* On failure the transaction is rolled back: nothing of it is stored. */
int storage_commit(struct storage *st, struct error *err);
void storage_rollback(struct storage *st);

/* --- writes (each replaces the row with the same key) --- */

int storage_put_alert(struct storage *st, const struct alert *a, struct error *err);
/* storage_put_alert, then storage_put_member(key, a->fingerprint) for each of the
 * n group keys, in one statement for the common case of a new alert joining one
 * group (the ingest path). */
int storage_put_alert_in(struct storage *st, const struct alert *a, const char *const *group_keys,
                         size_t n, struct error *err);
/* storage_put_alert_in for an alert already encoded (codec_encode_alert(a) as
 * text, borrowed; fp and ends_at are a's): lets another thread do the encoding
 * (storage/wset.c). */
int storage_put_alert_text_in(struct storage *st, uint64_t fp, int64_t ends_at, const char *text,
                              const char *const *group_keys, size_t n, struct error *err);
int storage_delete_alert(struct storage *st, uint64_t fingerprint, struct error *err);
int storage_put_silence(struct storage *st, const struct silence *s, struct error *err);
int storage_delete_silence(struct storage *st, const char *id, struct error *err);
/* Stores the group's key, route id, labels, timer, and replaces its member set
 * by g->alerts (cost: one row per member; the engine uses the two below). */
int storage_put_group(struct storage *st, const struct group_view *g, struct error *err);
/* Stores the group's key, route id, labels and timer; its members (and
 * g->alerts) are left alone. */
int storage_put_group_head(struct storage *st, const struct group_view *g, struct error *err);
/* Records that alert fp is (put) or is no longer (delete) a member of the
 * group; both are no-ops when already so. A membership is stored with its
 * alert's row (schema 5): put the alert first; a membership of an alert that
 * is not stored is not kept (a load would drop it anyway), and deleting the
 * alert deletes its memberships. */
int storage_put_member(struct storage *st, const char *group_key, uint64_t fp, struct error *err);
int storage_delete_member(struct storage *st, const char *group_key, uint64_t fp,
                          struct error *err);
/* Deletes the group's row and all its memberships (a scan of every alert row). */
int storage_delete_group(struct storage *st, const char *key, struct error *err);
/* Deletes the group's row only, in constant time: for a caller that deletes
 * the memberships itself (the engine: the router's change log lists them). */
int storage_delete_group_head(struct storage *st, const char *key, struct error *err);
int storage_put_nflog(struct storage *st, const struct nflog_entry *e, struct error *err);
int storage_delete_nflog(struct storage *st, const char *key, struct error *err);

/* Incidents (issue 6): the row holds incident_to_json(inc, true). */
int storage_put_incident(struct storage *st, const struct incident *inc, struct error *err);
int storage_delete_incident(struct storage *st, uint64_t id, struct error *err);

/* An outbox row: a notification job not yet finished, and its delivery progress. */
struct outbox_row {
    struct notify_job *job; /* owned by the row when loaded */
    const char *state;      /* "pending", "retry-wait", ... (informative) */
    int attempts;
    int64_t next_attempt_at; /* ms since the epoch; 0 = at once */
};

/* Inserts a new job as "pending" with no attempts. */
int storage_put_job(struct storage *st, const struct notify_job *job, struct error *err);
/* Records delivery progress of a job (no-op when the row is gone). last_error may be NULL. */
int storage_update_job(struct storage *st, uint64_t id, const char *state, int attempts,
                       int64_t next_attempt_at, const char *last_error, struct error *err);
/* Removes a finished (delivered, failed or superseded) job. */
int storage_delete_job(struct storage *st, uint64_t id, struct error *err);

/* --- meta (small key/value pairs; values are bytes) --- */

/* *out is malloc'd (caller frees), *len its size; *out = NULL when the key is absent. */
int storage_meta_get(struct storage *st, const char *key, void **out, size_t *len,
                     struct error *err);
int storage_meta_put(struct storage *st, const char *key, const void *val, size_t len,
                     struct error *err);

/* --- retention (a safety net: the router's own GC reports most deletions) --- */

/* Deletes nflog rows expired at now and silences whose ends_at + silence_retention
 * is past. Returns the number of rows deleted, or -1. */
int storage_gc(struct storage *st, int64_t now, int64_t silence_retention, struct error *err);

/* The SQLite connection, borrowed, for retention code of tables kept by other modules
 * (audit_gc in storage/audit.h runs in the engine's GC transaction). Engine thread only. */
struct sqlite3 *storage_db(struct storage *st);

/* --- write sets (a batch recorded on one thread, written on another) ---
 *
 * A struct storage_wset records the same operations as the functions above
 * (each storage_wset_X records what storage_X would do), copying everything it
 * is handed, so the recording thread may change or free its values at once.
 * storage_wset_write() replays them in order on the thread that owns the
 * struct storage. The engine records a batch on its thread and a storage
 * thread writes and commits it (storage/wset.c). The one pointer a write set
 * borrows is a group head's g->route (for its id): the route's config must
 * outlive the write set. Recording returns 0, or -1 with err when memory runs
 * out (the set is then as before the call). */
struct storage_wset;

struct storage_wset *storage_wset_new(void);
/* NULL ok. */
void storage_wset_free(struct storage_wset *ws);
/* The number of recorded operations (0 for NULL). */
size_t storage_wset_size(const struct storage_wset *ws);

int storage_wset_put_alert(struct storage_wset *ws, const struct alert *a, struct error *err);
int storage_wset_put_alert_in(struct storage_wset *ws, const struct alert *a,
                              const char *const *group_keys, size_t n, struct error *err);
int storage_wset_delete_alert(struct storage_wset *ws, uint64_t fingerprint, struct error *err);
int storage_wset_put_member(struct storage_wset *ws, const char *group_key, uint64_t fp,
                            struct error *err);
int storage_wset_delete_member(struct storage_wset *ws, const char *group_key, uint64_t fp,
                               struct error *err);
int storage_wset_put_silence(struct storage_wset *ws, const struct silence *s, struct error *err);
int storage_wset_delete_silence(struct storage_wset *ws, const char *id, struct error *err);
/* The head only (storage_put_group_head): key, route id, labels, timer, incident. */
int storage_wset_put_group_head(struct storage_wset *ws, const struct group_view *g,
                                struct error *err);
int storage_wset_delete_group_head(struct storage_wset *ws, const char *key, struct error *err);
int storage_wset_put_nflog(struct storage_wset *ws, const struct nflog_entry *e, struct error *err);
int storage_wset_delete_nflog(struct storage_wset *ws, const char *key, struct error *err);
int storage_wset_put_incident(struct storage_wset *ws, const struct incident *inc,
                              struct error *err);
int storage_wset_delete_incident(struct storage_wset *ws, uint64_t id, struct error *err);
int storage_wset_put_job(struct storage_wset *ws, const struct notify_job *job, struct error *err);
int storage_wset_update_job(struct storage_wset *ws, uint64_t id, const char *state, int attempts,
                            int64_t next_attempt_at, const char *last_error, struct error *err);
int storage_wset_delete_job(struct storage_wset *ws, uint64_t id, struct error *err);
int storage_wset_meta_put(struct storage_wset *ws, const char *key, const void *val, size_t len,
                          struct error *err);
/* storage_gc(now, silence_retention), then audit_gc(now, audit_retention) (storage/audit.h). */
int storage_wset_gc(struct storage_wset *ws, int64_t now, int64_t silence_retention,
                    int64_t audit_retention, struct error *err);

/* Writes ws's operations in recording order into the open transaction (or each
 * as its own transaction when none is open). NULL ws writes nothing. On -1 the
 * caller rolls back: part of ws may have been written. */
int storage_wset_write(struct storage *st, const struct storage_wset *ws, struct error *err);
/* BEGIN, storage_wset_write, COMMIT; on failure nothing of ws is stored. */
int storage_wset_apply(struct storage *st, const struct storage_wset *ws, struct error *err);

/* --- load at start-up --- */

/*
 * Callbacks called by storage_load in the order the router's restore needs:
 * every incident, then alerts, silences, nflog entries, groups and outbox rows. Each takes
 * ownership of what it is handed (alert, silence, entry contents; the row's job)
 * whatever it returns. A non-zero return stops the load with that error.
 * A row that does not decode is skipped with a warning naming table and key,
 * so one bad row never keeps amrouter from starting.
 */
struct storage_loader {
    int (*alert)(void *ctx, struct alert *a, struct error *err);
    int (*silence)(void *ctx, struct silence *s, struct error *err);
    int (*nflog)(void *ctx, struct nflog_entry *e, struct error *err);
    int (*group)(void *ctx, const char *key, const char *route_id, const struct labels *labels,
                 int64_t next_flush, bool has_flushed, uint64_t incident_id, const uint64_t *fps,
                 size_t n_fps, struct error *err);
    int (*job)(void *ctx, struct outbox_row *row, struct error *err);
    /* Takes ownership of inc (incident_free). Called first. May be NULL. */
    int (*incident)(void *ctx, struct incident *inc, struct error *err);
};

int storage_load(struct storage *st, const struct storage_loader *ld, void *ctx, struct error *err);

/* Row counts, for tests and /metrics. */
struct storage_counts {
    size_t alerts, silences, groups, nflog, outbox, incidents;
};
int storage_count(struct storage *st, struct storage_counts *out, struct error *err);

#ifdef UNIT_TEST
/* Opens dir's database without the lock or migrations and runs sql (tests build old
 * schemas with it). */
int storage_test_exec(const char *dir, const char *sql, struct error *err);
/* PRAGMA user_version of an open storage. */
int storage_test_user_version(struct storage *st);
/* The background checkpointer's thresholds in WAL frames for storages opened
 * after the call (0 = the defaults). */
void storage_test_checkpoint_pages(int passive, int truncate);
/* Waits at most timeout_ms for the checkpointer to have no request pending and
 * no checkpoint running; 0, or -1 on timeout. *passive and *truncate: the
 * checkpoints run so far. */
int storage_test_checkpoint_idle(struct storage *st, int timeout_ms, long *passive, long *truncate);
#endif

#endif
