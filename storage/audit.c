/*
 * audit.c - the audit table and online backups on a connection of our own.
 *
 * Invariant: st->db is only used with st->mu held. The table is created by
 * storage's migrations; this file never changes the schema. Retention
 * (audit_gc, retention.audit in the config) deletes old records on the engine's
 * connection from the engine's hourly GC, so it commits with the other GC.
 */
#include "storage/audit.h"

#include "core/error.h"
#include "core/timefmt.h"
#include "storage/storage.h"

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct audit {
    pthread_mutex_t mu;
    sqlite3 *db;
    char path[PATH_MAX];
};

struct audit *audit_open(const char *dir, struct error *err)
{
    struct audit *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        error_set(err, "audit: out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    snprintf(a->path, sizeof(a->path), "%s/%s", dir != NULL && dir[0] ? dir : ".", STORAGE_DB_NAME);
    if (sqlite3_open_v2(a->path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        error_set(err, "audit: cannot open %s: %s", a->path,
                  a->db != NULL ? sqlite3_errmsg(a->db) : "out of memory");
        audit_close(a);
        return NULL;
    }
    sqlite3_busy_timeout(a->db, 10000);
    /* As the engine's connection: WAL with NORMAL sync (no fsync per audit row). */
    sqlite3_exec(a->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    return a;
}

void audit_close(struct audit *a)
{
    if (a == NULL)
        return;
    sqlite3_close(a->db);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

int audit_record(struct audit *a, int64_t at, const char *who, const char *action,
                 const char *target, const char *details, struct error *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;

    pthread_mutex_lock(&a->mu);
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO audit(at, who, action, target, details) "
                           "VALUES (?, ?, ?, ?, ?)",
                           -1, &s, NULL) != SQLITE_OK) {
        error_set(err, "audit %s: %s", a->path, sqlite3_errmsg(a->db));
        goto out;
    }
    sqlite3_bind_int64(s, 1, at);
    sqlite3_bind_text(s, 2, who != NULL ? who : "anonymous", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, action, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, target != NULL ? target : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, details != NULL ? details : "", -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        error_set(err, "audit %s: insert: %s", a->path, sqlite3_errmsg(a->db));
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static const char *col(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t != NULL ? (const char *)t : "";
}

json_t *audit_query(struct audit *a, int64_t since_ms, const char *who, size_t limit,
                    struct error *err)
{
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int rc;

    if (arr == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&a->mu);
    if (sqlite3_prepare_v2(a->db,
                           "SELECT id, at, who, action, target, details FROM audit "
                           "WHERE at >= ? AND (? IS NULL OR who = ?) ORDER BY id DESC LIMIT ?",
                           -1, &s, NULL) != SQLITE_OK) {
        error_set(err, "audit %s: %s", a->path, sqlite3_errmsg(a->db));
        goto fail;
    }
    sqlite3_bind_int64(s, 1, since_ms);
    if (who != NULL) {
        sqlite3_bind_text(s, 2, who, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, who, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(s, 2);
        sqlite3_bind_null(s, 3);
    }
    sqlite3_bind_int64(s, 4, (sqlite3_int64)(limit > 0 ? limit : 100));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char at[64];

        time_format_rfc3339(sqlite3_column_int64(s, 1), at, sizeof(at));
        if (json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id",
                                                 (json_int_t)sqlite3_column_int64(s, 0), "at", at,
                                                 "who", col(s, 2), "action", col(s, 3), "target",
                                                 col(s, 4), "details", col(s, 5))) < 0) {
            error_set(err, "out of memory");
            goto fail;
        }
    }
    if (rc != SQLITE_DONE) {
        error_set(err, "audit %s: query: %s", a->path, sqlite3_errmsg(a->db));
        goto fail;
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->mu);
    return arr;
fail:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&a->mu);
    json_decref(arr);
    return NULL;
}

int audit_backup_to(struct audit *a, const char *path, struct error *err)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    int rc = -1;
    int step;

    pthread_mutex_lock(&a->mu);
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        error_set(err, "backup: cannot create %s: %s", path,
                  dst != NULL ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    b = sqlite3_backup_init(dst, "main", a->db, "main");
    if (b == NULL) {
        error_set(err, "backup to %s: %s", path, sqlite3_errmsg(dst));
        goto out;
    }
    /* All pages in one step: one read transaction, so the copy is one consistent
     * snapshot; a busy source is retried a bounded number of times. */
    for (int tries = 0; tries < 100; tries++) {
        step = sqlite3_backup_step(b, -1);
        if (step != SQLITE_BUSY && step != SQLITE_LOCKED)
            break;
        sqlite3_sleep(50);
    }
    if (step != SQLITE_DONE) {
        error_set(err, "backup to %s: %s", path, sqlite3_errstr(step));
        goto out;
    }
    rc = 0;
out:
    if (b != NULL)
        sqlite3_backup_finish(b);
    /* The copy is a plain rollback-journal database: one self-contained file. */
    if (rc == 0 && sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        error_set(err, "backup to %s: %s", path, sqlite3_errmsg(dst));
        rc = -1;
    }
    sqlite3_close(dst);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int audit_gc(struct storage *st, int64_t now, int64_t retention, struct error *err)
{
    sqlite3 *db = storage_db(st);
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (retention <= 0)
        return 0;
    if (sqlite3_prepare_v2(db, "DELETE FROM audit WHERE at < ?", -1, &s, NULL) != SQLITE_OK) {
        error_set(err, "audit retention: %s", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_int64(s, 1, now > INT64_MIN + retention ? now - retention : INT64_MIN);
    if (sqlite3_step(s) != SQLITE_DONE) {
        error_set(err, "audit retention: delete: %s", sqlite3_errmsg(db));
        goto out;
    }
    rc = sqlite3_changes(db);
out:
    sqlite3_finalize(s);
    return rc;
}
