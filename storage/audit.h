/*
 * audit.h - who did what: the audit table, and online backups of the database.
 *
 * The audit log records changes made through the API or signals (silences
 * created and expired, acks, reloads, backups) with the token name of whoever
 * made them. It lives in the `audit` table of <dir>/amrouter.db (created by
 * storage's migration 2 -> 3) and is written through a connection of its own,
 * so recording never waits for the engine thread; SQLite (WAL, busy timeout)
 * serialises it with the engine's commits.
 *
 * The same connection makes online backups with SQLite's backup API: a
 * consistent copy of the whole database while the engine keeps running.
 *
 * Threads: every function may be called from any thread (a mutex guards the
 * connection). Ownership: the caller owns struct audit (audit_close).
 */
#ifndef AMR_STORAGE_AUDIT_H
#define AMR_STORAGE_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct audit;
struct error;

/* Opens <dir>/amrouter.db, which storage_open() must already have created and
 * migrated. NULL with err naming the path on failure. */
struct audit *audit_open(const char *dir, struct error *err);
void audit_close(struct audit *a);

/* Appends one record at time `at` (ms). who: a token name or "anonymous";
 * action: "silence.create", "silence.expire", "incident.ack", "incident.unack",
 * "acks", "config.reload", "backup", ...; target: an id or ""; details: free text
 * (JSON by convention) or "". Returns 0, or -1 with err. */
int audit_record(struct audit *a, int64_t at, const char *who, const char *action,
                 const char *target, const char *details, struct error *err);

/* The newest records first: an array of {"id","at" (RFC 3339),"who","action",
 * "target","details"}, at most limit (0 = 100), only those at or after since_ms
 * (0 = all) and, when who is not NULL, by that principal. NULL on error (err). */
json_t *audit_query(struct audit *a, int64_t since_ms, const char *who, size_t limit,
                    struct error *err);

/* Retention: deletes the records older than now - retention (ms; <= 0 keeps all)
 * on the engine's own connection, inside the transaction the engine's periodic
 * GC has open (engine thread only; the audit connection is not used). Returns
 * the number of records deleted, or -1 with err. */
struct storage;
int audit_gc(struct storage *st, int64_t now, int64_t retention, struct error *err);

/* Writes a consistent copy of the whole database to the file `path` (created or
 * replaced) with the online backup API. Returns 0, or -1 with err. */
int audit_backup_to(struct audit *a, const char *path, struct error *err);

#endif
