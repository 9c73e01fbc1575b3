/*
 * sqlite.c - the SQLite backend of storage.h.
 *
 * One file <dir>/amrouter.db, journal_mode=WAL, synchronous=NORMAL (FULL on
 * request), a busy timeout, foreign keys off (rows are independent).
 *
 * WAL checkpoints run on a thread of their own (struct checkpointer), not in
 * the engine's commits: SQLite's autocheckpoint is off on the engine's
 * connection (wal_autocheckpoint=0, and a wal hook replaces it) because it
 * copied the WAL into the database and fsynced it inside whichever commit
 * crossed the mark, on the engine thread (about 7% of its ingest CPU, and the
 * p99 latency spikes). The hook, called after every commit with the WAL's
 * length, wakes the thread once CKPT_PAGES new frames (16 MiB) have piled up
 * since its last checkpoint; the thread runs a PASSIVE checkpoint on its own
 * connection (it never blocks the engine; a commit that later finds the WAL
 * fully copied starts it over from the beginning). Should the WAL still reach
 * CKPT_TRUNCATE_PAGES (the engine committed during every checkpoint, so no
 * commit ever found it fully copied) the thread follows the PASSIVE with a
 * TRUNCATE checkpoint, which holds the write lock only for the few frames
 * left and resets the WAL to empty, so it cannot grow without bound. A
 * checkpoint changes nothing about what a committed transaction promises: a
 * kill -9 at any moment, also mid-checkpoint, leaves a WAL that SQLite
 * recovers at the next open. storage_close stops and joins the thread and
 * closes its connection before the engine's (the last close checkpoints the
 * rest and deletes the WAL). The thread's connection is not the directory
 * lock: the flock on <dir>/lock is untouched by it.
 *
 * The page cache is SQLite's default 2 MiB again since schema 6: it was
 * 8 MiB while a batch of 800 alerts dirtied random pages of the fingerprint
 * index (a smaller cache spilled them mid-transaction); with appends only,
 * 2 MiB ingests 100k alerts at the same CPU (also re-sent ones, which update
 * rows in place) for 6 MiB less RSS. Values
 * are JSON text made by storage/codec.c; a few columns (times, state) are
 * copied out of the JSON so retention can delete with plain SQL and people can
 * query the file with the sqlite3 shell.
 *
 * Schema versions: PRAGMA user_version is the number of migration steps
 * applied. Each step in `migrations` runs in its own transaction together with
 * the user_version bump, so a crash in the middle leaves the previous version.
 * Steps are never edited once released: a change is a new step.
 *
 * Ownership of the directory: an exclusive, non-blocking flock on <dir>/lock,
 * held for the life of the struct storage; the file holds the owner's pid so
 * the refusal can name it. flock is released by the kernel when the process
 * dies, so a kill -9 never leaves a stale lock.
 *
 * Alert rows are named by id, not by fingerprint (schema 6 has no index on
 * fp): struct storage owns a map fingerprint -> id (st->ids, a umap of
 * router/hmap.h, 16 bytes a slot, about 32 bytes per stored alert), filled by
 * the first storage_load as it reads the alerts (or, before any load, by the
 * first statement that needs it) and changed after every successful INSERT
 * (sqlite3_last_insert_rowid) and DELETE. Invariant: while ids_ready, the map
 * holds exactly the (fp, id) pairs of the table as this connection sees it,
 * so a put of a stored fingerprint is an UPDATE of its row and a fingerprint
 * never gets a second row. Inside a transaction each map change is recorded
 * (st->undo) and storage_rollback undoes them newest first; whatever cannot
 * be undone exactly (a change not recorded for want of memory, SQLite ending
 * the transaction by itself) clears ids_ready, and the next use reads the
 * map again from the table.
 *
 * Every statement is prepared once at open (stmt_sql / enum stmt) and reset
 * after each use.
 */
#include "storage/storage.h"

#include "config/config.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/log.h"
#include "core/jsonutil.h"
#include "core/testable.h"
#include "router/hmap.h"
#include "storage/codec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Forward migrations: step i brings the schema from version i to i + 1. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE alerts ("
    "  fingerprint TEXT PRIMARY KEY,"
    "  ends_at INTEGER NOT NULL,"
    "  data TEXT NOT NULL);"
    "CREATE TABLE silences ("
    "  id TEXT PRIMARY KEY,"
    "  ends_at INTEGER NOT NULL,"
    "  data TEXT NOT NULL);"
    "CREATE TABLE aggr_groups ("
    "  key TEXT PRIMARY KEY,"
    "  route_id TEXT NOT NULL,"
    "  labels TEXT NOT NULL,"
    "  next_flush INTEGER NOT NULL,"
    "  has_flushed INTEGER NOT NULL,"
    "  incident_id INTEGER NOT NULL DEFAULT 0,"
    "  alerts TEXT NOT NULL);"
    "CREATE TABLE nflog ("
    "  key TEXT PRIMARY KEY,"
    "  expires_at INTEGER NOT NULL,"
    "  data TEXT NOT NULL);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  receiver TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  job TEXT NOT NULL);"
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value BLOB NOT NULL);",
    /* 1 -> 2: incidents (issue 6); data is incident_to_json(inc, true). */
    "CREATE TABLE incidents ("
    "  id INTEGER PRIMARY KEY,"
    "  state TEXT NOT NULL,"
    "  group_key TEXT NOT NULL,"
    "  resolved_at INTEGER NOT NULL DEFAULT 0,"
    "  data TEXT NOT NULL);",
    /* 2 -> 3: one row per group member instead of the group row's JSON list,
     * so a batch writes the memberships it changed, not every group's whole
     * list (that made ingest quadratic in the group size). The old lists move
     * into the new table; the column stays (always '[]') and is still read. */
    "CREATE TABLE group_alerts ("
    "  group_key TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  PRIMARY KEY (group_key, fingerprint)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO group_alerts(group_key, fingerprint)"
    "  SELECT g.key, j.value FROM aggr_groups AS g, json_each(g.alerts) AS j"
    "  WHERE json_valid(g.alerts) AND j.type = 'text';"
    "UPDATE aggr_groups SET alerts = '[]' WHERE json_valid(alerts);",
    /* 3 -> 4: the audit log (issue 7; storage/audit.c writes it on its own connection). */
    "CREATE TABLE IF NOT EXISTS audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  who TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL DEFAULT '',"
    "  details TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS audit_at ON audit(at);",
    /* 4 -> 5: alerts stored in insertion order (rowid id) with the 64-bit
     * fingerprint as an INTEGER under a unique index, and the alert's group
     * memberships as a JSON list of group keys in its own row instead of one
     * group_alerts row each. A batch of new alerts then appends rows to the
     * end of the table and adds one small integer to one index, instead of
     * inserting at random places in two text-keyed B-trees (which dirtied a
     * page per alert and wrote about 4 KiB of WAL for each). amr_fp() is the
     * hex parser storage_open registers; the temporary index makes the
     * membership lookup linear. */
    "CREATE TABLE alerts5 ("
    "  id INTEGER PRIMARY KEY,"
    "  fp INTEGER NOT NULL UNIQUE,"
    "  ends_at INTEGER NOT NULL,"
    "  groups TEXT NOT NULL DEFAULT '[]',"
    "  data TEXT NOT NULL);"
    "CREATE INDEX group_alerts_by_fp ON group_alerts(fingerprint);"
    "INSERT OR REPLACE INTO alerts5(fp, ends_at, groups, data)"
    "  SELECT amr_fp(a.fingerprint), a.ends_at,"
    "    (SELECT json_group_array(m.group_key) FROM group_alerts AS m"
    "      WHERE m.fingerprint = a.fingerprint),"
    "    a.data FROM alerts AS a WHERE amr_fp(a.fingerprint) IS NOT NULL ORDER BY a.rowid;"
    "DROP TABLE group_alerts;"
    "DROP TABLE alerts;"
    "ALTER TABLE alerts5 RENAME TO alerts;",
    /* 5 -> 6: no index on the fingerprint. The storage keeps fingerprint ->
     * id in memory (struct storage's ids) and every statement names the row
     * by id, so a batch of new alerts only appends rows: the UNIQUE index had
     * them land on random leaf pages (about 400 dirty pages, 1.6 MiB of WAL,
     * per 800 new alerts at 100k stored, against 0.4 MiB of row data). Rows
     * keep their ids, so the table stays in insertion order. */
    "CREATE TABLE alerts6 ("
    "  id INTEGER PRIMARY KEY,"
    "  fp INTEGER NOT NULL,"
    "  ends_at INTEGER NOT NULL,"
    "  groups TEXT NOT NULL DEFAULT '[]',"
    "  data TEXT NOT NULL);"
    "INSERT INTO alerts6(id, fp, ends_at, groups, data)"
    "  SELECT id, fp, ends_at, groups, data FROM alerts ORDER BY id;"
    "DROP TABLE alerts;"
    "ALTER TABLE alerts6 RENAME TO alerts;",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INS_ALERT,
    ST_UPD_ALERT,
    ST_DEL_ALERT,
    ST_PUT_SILENCE,
    ST_DEL_SILENCE,
    ST_PUT_GROUP,
    ST_DEL_GROUP,
    ST_PUT_NFLOG,
    ST_DEL_NFLOG,
    ST_PUT_JOB,
    ST_UPD_JOB,
    ST_DEL_JOB,
    ST_META_GET,
    ST_META_PUT,
    ST_GC_NFLOG,
    ST_GC_SILENCES,
    ST_LOAD_ALERTS,
    ST_LOAD_SILENCES,
    ST_LOAD_NFLOG,
    ST_LOAD_GROUPS,
    ST_LOAD_JOBS,
    ST_PUT_INCIDENT,
    ST_DEL_INCIDENT,
    ST_LOAD_INCIDENTS,
    ST_PUT_MEMBER,
    ST_DEL_MEMBER,
    ST_DEL_MEMBERS,
    ST_LOAD_MEMBERS,
    ST_NEW_ALERT_IN,
    ST_LOAD_IDS,
    ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* Rows are named by id (schema 6): the storage knows each stored
     * fingerprint's id (st->ids). A stored alert is updated in place, so the
     * row keeps its place and its memberships (the groups column belongs to
     * the member statements); a new one is appended. */
    [ST_INS_ALERT] = "INSERT INTO alerts(fp, ends_at, data) VALUES (?1, ?2, ?3)",
    [ST_UPD_ALERT] = "UPDATE alerts SET ends_at = ?2, data = ?3 WHERE id = ?1",
    [ST_DEL_ALERT] = "DELETE FROM alerts WHERE id = ?1",
    /* A new alert with its one membership in one statement. */
    [ST_NEW_ALERT_IN] = "INSERT INTO alerts(fp, ends_at, groups, data) "
                        "VALUES (?1, ?2, json_array(?3), ?4)",
    [ST_LOAD_IDS] = "SELECT id, fp FROM alerts",
    [ST_PUT_SILENCE] = "INSERT OR REPLACE INTO silences(id, ends_at, data) VALUES (?1, ?2, ?3)",
    [ST_DEL_SILENCE] = "DELETE FROM silences WHERE id = ?1",
    [ST_PUT_GROUP] = "INSERT OR REPLACE INTO aggr_groups(key, route_id, labels, next_flush, "
                     "has_flushed, incident_id, alerts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, '[]')",
    [ST_DEL_GROUP] = "DELETE FROM aggr_groups WHERE key = ?1",
    [ST_PUT_NFLOG] = "INSERT OR REPLACE INTO nflog(key, expires_at, data) VALUES (?1, ?2, ?3)",
    [ST_DEL_NFLOG] = "DELETE FROM nflog WHERE key = ?1",
    [ST_PUT_JOB] = "INSERT OR REPLACE INTO outbox(id, receiver, state, attempts, next_attempt_at, "
                   "created_at, job) VALUES (?1, ?2, 'pending', 0, 0, ?3, ?4)",
    [ST_UPD_JOB] = "UPDATE outbox SET state = ?2, attempts = ?3, next_attempt_at = ?4, "
                   "last_error = ?5 WHERE id = ?1",
    [ST_DEL_JOB] = "DELETE FROM outbox WHERE id = ?1",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
    [ST_GC_NFLOG] = "DELETE FROM nflog WHERE expires_at > 0 AND expires_at <= ?1",
    [ST_GC_SILENCES] = "DELETE FROM silences WHERE ends_at + ?2 <= ?1",
    [ST_LOAD_ALERTS] = "SELECT fp, data, id FROM alerts",
    [ST_LOAD_SILENCES] = "SELECT id, data FROM silences",
    [ST_LOAD_NFLOG] = "SELECT key, data FROM nflog",
    [ST_LOAD_GROUPS] = "SELECT key, route_id, labels, next_flush, has_flushed, incident_id, alerts "
                       "FROM aggr_groups ORDER BY key",
    [ST_LOAD_JOBS] = "SELECT id, state, attempts, next_attempt_at, job FROM outbox ORDER BY id",
    [ST_PUT_INCIDENT] = "INSERT OR REPLACE INTO incidents(id, state, group_key, resolved_at, data) "
                        "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_DEL_INCIDENT] = "DELETE FROM incidents WHERE id = ?1",
    [ST_LOAD_INCIDENTS] = "SELECT id, data FROM incidents ORDER BY id",
    /* Memberships live in the alert's row (schema 5): a JSON list of group
     * keys, each at most once. The row of a new alert is still hot in the page
     * cache when its membership is added, so this costs no extra page. */
    [ST_PUT_MEMBER] = "UPDATE alerts SET groups = CASE WHEN groups = '[]' THEN json_array(?1) "
                      "ELSE json_insert(groups, '$[#]', ?1) END "
                      "WHERE id = ?2 AND (groups = '[]' OR (json_valid(groups) AND NOT EXISTS "
                      "(SELECT 1 FROM json_each(alerts.groups) WHERE value = ?1)))",
    [ST_DEL_MEMBER] = "UPDATE alerts SET groups = (SELECT json_group_array(value) FROM "
                      "json_each(alerts.groups) WHERE value <> ?1) "
                      "WHERE id = ?2 AND json_valid(groups) AND EXISTS "
                      "(SELECT 1 FROM json_each(alerts.groups) WHERE value = ?1)",
    /* Every member of one group: a scan of the table (instr() skips the
     * parsing of rows that cannot hold the key); the engine does not need it,
     * the router lists a dropped group's members one by one. */
    [ST_DEL_MEMBERS] = "UPDATE alerts SET groups = (SELECT json_group_array(value) FROM "
                       "json_each(alerts.groups) WHERE value <> ?1) "
                       "WHERE instr(groups, json_quote(?1)) > 0 AND json_valid(groups) AND EXISTS "
                       "(SELECT 1 FROM json_each(alerts.groups) WHERE value = ?1)",
    /* All memberships sorted by group key, merged with the groups (also sorted
     * by key) at load. */
    [ST_LOAD_MEMBERS] = "SELECT j.value, a.fp FROM alerts AS a, json_each(a.groups) AS j "
                        "WHERE a.groups <> '[]' AND json_valid(a.groups) AND j.type = 'text' "
                        "ORDER BY 1",
};

/* The background checkpointer (see the file comment). Fields under mu. */
struct checkpointer {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* wakes the thread */
    pthread_cond_t idle; /* broadcast after each checkpoint (tests wait on it) */
    pthread_t thread;
    bool running;  /* the thread was started (join it) */
    bool stop;     /* storage_close asks the thread to end */
    int wal_pages; /* WAL size in frames after the last commit (wal hook) */
    int done;      /* frames of the current WAL known checkpointed */
    bool wanted;   /* the hook asked for a checkpoint */
    bool working;  /* a checkpoint is running */
    int pages;     /* thresholds: CKPT_PAGES, CKPT_TRUNCATE_PAGES (tests lower them) */
    int trunc_pages;
    sqlite3 *db;                  /* the thread's own connection */
    char *dir;                    /* for log messages */
    long passive, truncate, busy; /* counts, for tests and logs */
};

struct storage {
    sqlite3 *db;
    char *dir;
    int lock_fd;
    bool in_txn;
    int members_state; /* the member cursor during a load: see load_members */
    sqlite3_stmt *stmt[ST__COUNT];
    struct checkpointer ck;
    /* fingerprint -> id of its alerts row (the value is the id as a pointer;
     * ids are > 0). Exact when ids_ready: filled by the first storage_load
     * (or the first statement that needs it) and changed with every insert
     * and delete; a change of doubtful outcome clears ids_ready, and the next
     * use reads it again from the table. */
    struct umap ids;
    bool ids_ready;
    bool loading_ids; /* storage_load fills the map as it reads the alerts */
    /* The map's changes in the open transaction, for storage_rollback to undo
     * (newest last); undo_lost when one could not be recorded. */
    struct id_undo *undo;
    size_t n_undo, cap_undo;
    bool undo_lost;
};

/* A map change to undo: fp had id (0 = was absent) before it. */
struct id_undo {
    uint64_t fp;
    int64_t id;
};

_Static_assert(sizeof(void *) >= sizeof(int64_t), "ids are stored as pointers in a umap");

int storage_schema_version(void)
{
    return N_MIGRATIONS;
}

static int db_error(struct storage *st, struct error *err, const char *what)
{
    return error_set(err, "storage %s: %s: %s", st->dir, what, sqlite3_errmsg(st->db));
}

/* Takes the directory lock; the refusal names the holder's pid. */
static int take_lock(struct storage *st, struct error *err)
{
    char path[PATH_MAX];
    char pid[32];
    ssize_t n;
    int len;

    snprintf(path, sizeof(path), "%s/%s", st->dir, STORAGE_LOCK_NAME);
    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (st->lock_fd < 0)
        return error_set(err, "storage %s: cannot open %s: %s", st->dir, path, strerror(errno));
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;

        n = pread(st->lock_fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(st->lock_fd);
        st->lock_fd = -1;
        if (e == EWOULDBLOCK)
            return error_set(err,
                             "storage %s: in use by another amrouter (pid %s); "
                             "only one process may use a storage path",
                             st->dir, pid[0] != '\0' ? pid : "unknown");
        return error_set(err, "storage %s: cannot lock %s: %s", st->dir, path, strerror(e));
    }
    len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(st->lock_fd, 0) < 0 || pwrite(st->lock_fd, pid, (size_t)len, 0) != len)
        log_warn("cannot write pid to lock file", "path", path, "err", strerror(errno), NULL);
    return 0;
}

static int exec_sql(struct storage *st, const char *sql, struct error *err)
{
    char *msg = NULL;

    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        error_set(err, "storage %s: %s", st->dir, msg != NULL ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int user_version(struct storage *st)
{
    sqlite3_stmt *s = NULL;
    int v = -1;

    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* amr_fp(text): the fingerprint a 16-digit hex string names, as the signed
 * 64-bit integer schema 5 stores; NULL for anything else. Used by the 4 -> 5
 * migration. */
static void sql_amr_fp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *t = sqlite3_value_text(argv[0]);
    uint64_t fp;

    (void)argc;
    if (t == NULL || fingerprint_parse((const char *)t, &fp) < 0) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_int64(ctx, (int64_t)fp);
}

/* Applies every step after the file's version, each in its own transaction. */
static int migrate(struct storage *st, struct error *err)
{
    int v = user_version(st);

    if (v < 0)
        return db_error(st, err, "reading the schema version");
    if (v > N_MIGRATIONS)
        return error_set(err,
                         "storage %s: database schema version %d is newer than this amrouter "
                         "knows (%d); use a newer amrouter",
                         st->dir, v, N_MIGRATIONS);
    for (; v < N_MIGRATIONS; v++) {
        char bump[64];

        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
        if (exec_sql(st, "BEGIN IMMEDIATE", err) < 0)
            return -1;
        if (exec_sql(st, migrations[v], err) < 0 || exec_sql(st, bump, err) < 0) {
            exec_sql(st, "ROLLBACK", NULL);
            return error_prefix(err, "migration to schema version %d", v + 1);
        }
        if (exec_sql(st, "COMMIT", err) < 0) {
            exec_sql(st, "ROLLBACK", NULL);
            return -1;
        }
        snprintf(bump, sizeof(bump), "%d", v + 1);
        log_info("storage schema migrated", "path", st->dir, "version", bump, NULL);
    }
    return 0;
}

/* ------------------------------------------------------------ checkpointer */

/* A PASSIVE checkpoint once this many frames (4 KiB pages) were appended to
 * the WAL since the last one (16 MiB). */
#define CKPT_PAGES 4096
/* A WAL this long was never reset by a writer (the engine kept committing
 * while the passive checkpoints ran, so no writer found it fully copied):
 * the checkpointer then takes the write lock briefly for a TRUNCATE
 * checkpoint, which resets it to empty (and gives the disk space back). */
#define CKPT_TRUNCATE_PAGES (8 * CKPT_PAGES)

static int ckpt_pages = CKPT_PAGES, ckpt_trunc_pages = CKPT_TRUNCATE_PAGES;

/* sqlite3_wal_hook on the engine's connection: runs after every commit with
 * the WAL's length in frames; wakes the checkpointer when enough new frames
 * have piled up. Cheap: one uncontended lock. */
static int ckpt_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct checkpointer *ck = arg;

    (void)db;
    (void)name;
    pthread_mutex_lock(&ck->mu);
    if (pages < ck->done)
        ck->done = 0; /* a writer restarted the WAL from its beginning */
    ck->wal_pages = pages;
    if (pages - ck->done >= ck->pages && !ck->wanted) {
        ck->wanted = true;
        pthread_cond_signal(&ck->cv);
    }
    pthread_mutex_unlock(&ck->mu);
    return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
    struct checkpointer *ck = arg;

    pthread_mutex_lock(&ck->mu);
    for (;;) {
        int pages, log = 0, copied = 0, rc, mode;

        while (!ck->wanted && !ck->stop)
            pthread_cond_wait(&ck->cv, &ck->mu);
        if (ck->stop)
            break;
        ck->wanted = false;
        ck->working = true;
        pages = ck->wal_pages;
        pthread_mutex_unlock(&ck->mu);

        /* Copies what it can without blocking anyone; the engine keeps
         * committing meanwhile. */
        rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        mode = SQLITE_CHECKPOINT_PASSIVE;
        if (rc == SQLITE_OK && log >= ck->trunc_pages) {
            /* Most frames are copied now, so the write lock is held only for
             * the rest and the truncation. */
            mode = SQLITE_CHECKPOINT_TRUNCATE;
            rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied);
        }
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("storage: WAL checkpoint failed", "path", ck->dir, "err",
                     sqlite3_errmsg(ck->db), NULL);

        pthread_mutex_lock(&ck->mu);
        if (rc == SQLITE_BUSY)
            ck->busy++;
        else if (mode == SQLITE_CHECKPOINT_TRUNCATE)
            ck->truncate++;
        else
            ck->passive++;
        /* copied is -1 after a TRUNCATE reset the log: nothing is pending. */
        if (rc == SQLITE_OK && copied >= 0 && ck->wal_pages >= pages)
            ck->done = copied;
        else if (rc == SQLITE_OK)
            ck->done = 0;
        ck->working = false;
        pthread_cond_broadcast(&ck->idle);
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

/* Opens the checkpointer's connection, turns SQLite's own checkpoints off on
 * the engine's connection and starts the thread. */
static int ckpt_start(struct storage *st, const char *path, struct error *err)
{
    struct checkpointer *ck = &st->ck;

    if (sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        return error_set(err, "storage %s: cannot open %s for checkpoints: %s", st->dir, path,
                         ck->db != NULL ? sqlite3_errmsg(ck->db) : "out of memory");
    /* Waits for the engine's commit before a TRUNCATE; gives up (retried at
     * the next wake-up) rather than stall. */
    sqlite3_busy_timeout(ck->db, 1000);
    /* A connection attaches to the WAL at its first read; until then a
     * checkpoint on it does nothing (it reports -1 frames). */
    if (sqlite3_exec(ck->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK)
        return error_set(err, "storage %s: checkpoint connection: %s", st->dir,
                         sqlite3_errmsg(ck->db));
    ck->dir = st->dir;
    ck->pages = ckpt_pages;
    ck->trunc_pages = ckpt_trunc_pages;
    if (pthread_create(&ck->thread, NULL, ckpt_main, ck) != 0)
        return error_set(err, "storage %s: cannot start the checkpoint thread", st->dir);
    ck->running = true;
    (void)pthread_setname_np(ck->thread, "amr-checkpoint");
    /* Replaces SQLite's autocheckpoint (which is itself a wal hook). */
    sqlite3_wal_hook(st->db, ckpt_wal_hook, ck);
    return 0;
}

/* Stops and joins the thread, closes its connection. Safe when never started. */
static void ckpt_stop(struct storage *st)
{
    struct checkpointer *ck = &st->ck;

    if (st->db != NULL)
        sqlite3_wal_hook(st->db, NULL, NULL);
    if (ck->running) {
        pthread_mutex_lock(&ck->mu);
        ck->stop = true;
        pthread_cond_signal(&ck->cv);
        pthread_mutex_unlock(&ck->mu);
        pthread_join(ck->thread, NULL);
        ck->running = false;
    }
    if (ck->db != NULL)
        sqlite3_close(ck->db);
    ck->db = NULL;
}

struct storage *storage_open(const char *dir, const struct storage_opts *opts, struct error *err)
{
    struct storage *st = calloc(1, sizeof(*st));
    char path[PATH_MAX];
    char pragmas[256];
    int busy = opts != NULL && opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000;

    if (st == NULL) {
        error_set(err, "storage: out of memory");
        return NULL;
    }
    st->lock_fd = -1;
    pthread_mutex_init(&st->ck.mu, NULL);
    pthread_cond_init(&st->ck.cv, NULL);
    pthread_cond_init(&st->ck.idle, NULL);
    st->dir = strdup(dir != NULL && dir[0] != '\0' ? dir : ".");
    if (st->dir == NULL) {
        error_set(err, "storage: out of memory");
        goto fail;
    }
    if (mkdir(st->dir, 0755) < 0 && errno != EEXIST) {
        error_set(err, "storage %s: cannot create the directory: %s", st->dir, strerror(errno));
        goto fail;
    }
    if (take_lock(st, err) < 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/%s", st->dir, STORAGE_DB_NAME);
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        error_set(err, "storage %s: cannot open %s: %s", st->dir, path,
                  st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(st->db, busy);
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF; "
             "PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=-2048;",
             opts != NULL && opts->sync_full ? "FULL" : "NORMAL");
    if (exec_sql(st, pragmas, err) < 0)
        goto fail;
    if (sqlite3_create_function(st->db, "amr_fp", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                sql_amr_fp, NULL, NULL) != SQLITE_OK) {
        db_error(st, err, "registering amr_fp");
        goto fail;
    }
    if (migrate(st, err) < 0)
        goto fail;
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK) {
            db_error(st, err, stmt_sql[i]);
            goto fail;
        }
    }
    if (ckpt_start(st, path, err) < 0)
        goto fail;
    return st;
fail:
    storage_close(st);
    return NULL;
}

void storage_close(struct storage *st)
{
    if (st == NULL)
        return;
    if (st->in_txn)
        storage_rollback(st);
    /* Before the engine's connection closes: that close, the last one,
     * checkpoints the whole WAL and deletes it. */
    ckpt_stop(st);
    pthread_mutex_destroy(&st->ck.mu);
    pthread_cond_destroy(&st->ck.cv);
    pthread_cond_destroy(&st->ck.idle);
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    umap_release(&st->ids);
    free(st->undo);
    if (st->db != NULL)
        sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    free(st->dir);
    free(st);
}

/* ------------------------------------------------------------ the id map */

static int64_t id_get(const struct storage *st, uint64_t fp)
{
    return (int64_t)(uintptr_t)umap_get(&st->ids, fp);
}

/* Sets fp's id (0 = removes it) after the statement that made it so
 * succeeded; records the old value while a transaction is open. */
static void id_set(struct storage *st, uint64_t fp, int64_t id)
{
    if (!st->ids_ready) {
        /* Read again from the table at the next use, with this change in it:
         * a rollback after that cannot undo it from the record. */
        if (st->in_txn)
            st->undo_lost = true;
        return;
    }
    if (st->in_txn && !st->undo_lost) {
        if (st->n_undo == st->cap_undo) {
            size_t nc = st->cap_undo > 0 ? st->cap_undo * 2 : 256;
            struct id_undo *v = realloc(st->undo, nc * sizeof(*v));

            if (v == NULL) {
                st->undo_lost = true;
            } else {
                st->undo = v;
                st->cap_undo = nc;
            }
        }
        if (!st->undo_lost)
            st->undo[st->n_undo++] = (struct id_undo){fp, id_get(st, fp)};
    }
    if (id > 0 ? umap_put(&st->ids, fp, (void *)(uintptr_t)id) < 0 : (umap_del(&st->ids, fp), 0))
        st->ids_ready = false; /* out of memory: read it again */
}

/* After a commit: the recorded changes are final. */
static void ids_forget_undo(struct storage *st)
{
    st->n_undo = 0;
    st->undo_lost = false;
    if (st->cap_undo > 65536) {
        free(st->undo);
        st->undo = NULL;
        st->cap_undo = 0;
    }
}

/* After a rollback: the map's changes of the transaction undone, newest
 * first; when that is not possible the map is read again at the next use. */
static void ids_undo(struct storage *st)
{
    if (st->undo_lost)
        st->ids_ready = false;
    for (size_t i = st->n_undo; st->ids_ready && i-- > 0;) {
        const struct id_undo *u = &st->undo[i];

        if (u->id > 0 ? umap_put(&st->ids, u->fp, (void *)(uintptr_t)u->id) < 0
                      : (umap_del(&st->ids, u->fp), 0))
            st->ids_ready = false;
    }
    ids_forget_undo(st);
}

/* Makes the map exact: reads every (id, fp) of the table unless it is. */
static int ids_ensure(struct storage *st, struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_LOAD_IDS];
    int rc;

    if (st->ids_ready)
        return 0;
    umap_release(&st->ids);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);

        /* Later rows win should a file hold a fingerprint twice (only an edit
         * by hand can do that since the fp column lost its UNIQUE). */
        if (id > 0 &&
            umap_put(&st->ids, (uint64_t)sqlite3_column_int64(s, 1), (void *)(uintptr_t)id) < 0) {
            sqlite3_reset(s);
            umap_release(&st->ids);
            return error_set(err, "storage %s: out of memory reading alert ids", st->dir);
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        umap_release(&st->ids);
        return db_error(st, err, stmt_sql[ST_LOAD_IDS]);
    }
    st->ids_ready = true;
    return 0;
}

/* Runs a prepared statement that returns no rows and resets it. */
static int run(struct storage *st, enum stmt which, struct error *err)
{
    sqlite3_stmt *s = st->stmt[which];
    int rc = sqlite3_step(s);

    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        db_error(st, err, stmt_sql[which]);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return -1;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return 0;
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
}

/* Binds and takes ownership of a malloc'd string (NULL = out of memory). */
static int bind_owned(sqlite3_stmt *s, int i, char *v)
{
    if (v == NULL)
        return -1;
    return sqlite3_bind_text(s, i, v, -1, free) == SQLITE_OK ? 0 : -1;
}

static int bind_fail(struct storage *st, enum stmt which, struct error *err)
{
    sqlite3_reset(st->stmt[which]);
    sqlite3_clear_bindings(st->stmt[which]);
    return error_set(err, "storage %s: out of memory binding a value", st->dir);
}

int storage_begin(struct storage *st, struct error *err)
{
    if (st->in_txn)
        return error_set(err, "storage %s: transaction already open", st->dir);
    if (run(st, ST_BEGIN, err) < 0)
        return -1;
    st->in_txn = true;
    return 0;
}

int storage_commit(struct storage *st, struct error *err)
{
    if (!st->in_txn)
        return 0;
    if (run(st, ST_COMMIT, err) < 0) {
        storage_rollback(st);
        return -1;
    }
    st->in_txn = false;
    ids_forget_undo(st);
    return 0;
}

void storage_rollback(struct storage *st)
{
    if (!st->in_txn)
        return;
    /* A failed COMMIT may already have rolled back; ROLLBACK then fails
     * harmlessly. SQLite ending the transaction on its own (an I/O error)
     * leaves it unclear which statements' changes stayed: the id map is then
     * read again from the table. */
    if (sqlite3_get_autocommit(st->db) == 0)
        run(st, ST_ROLLBACK, NULL);
    else
        st->ids_ready = false;
    st->in_txn = false;
    ids_undo(st);
}

/* Binds text the caller keeps alive until the statement is reset (run()). */
static int bind_static(sqlite3_stmt *s, int i, const char *v)
{
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

/* Appends alert fp's row, its value already encoded (text, borrowed), with
 * its one membership when group_key is not NULL, and records its id. */
static int insert_alert(struct storage *st, uint64_t fp, int64_t ends_at, const char *text,
                        const char *group_key, struct error *err)
{
    enum stmt which = group_key != NULL ? ST_NEW_ALERT_IN : ST_INS_ALERT;
    sqlite3_stmt *s = st->stmt[which];
    int data = group_key != NULL ? 4 : 3;

    if (sqlite3_bind_int64(s, 1, (int64_t)fp) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, ends_at) != SQLITE_OK ||
        (group_key != NULL && bind_text(s, 3, group_key) < 0) || bind_static(s, data, text) < 0)
        return bind_fail(st, which, err);
    if (run(st, which, err) < 0)
        return -1;
    id_set(st, fp, sqlite3_last_insert_rowid(st->db));
    return 0;
}

/* The alert row (upsert) with its value already encoded. */
static int put_alert_text(struct storage *st, uint64_t fp, int64_t ends_at, const char *text,
                          struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_UPD_ALERT];
    int64_t id;

    if (ids_ensure(st, err) < 0)
        return -1;
    id = id_get(st, fp);
    if (id > 0) {
        if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK ||
            sqlite3_bind_int64(s, 2, ends_at) != SQLITE_OK || bind_static(s, 3, text) < 0)
            return bind_fail(st, ST_UPD_ALERT, err);
        if (run(st, ST_UPD_ALERT, err) < 0)
            return -1;
        if (sqlite3_changes(st->db) == 1)
            return 0;
        /* The map named a row that is gone: it is wrong, read it again. */
        st->ids_ready = false;
        if (ids_ensure(st, err) < 0)
            return -1;
        if (id_get(st, fp) > 0)
            return put_alert_text(st, fp, ends_at, text, err);
    }
    return insert_alert(st, fp, ends_at, text, NULL, err);
}

int storage_put_alert(struct storage *st, const struct alert *a, struct error *err)
{
    char *text = codec_encode_alert(a);
    int rc;

    if (text == NULL)
        return error_set(err, "storage %s: out of memory encoding an alert", st->dir);
    rc = put_alert_text(st, a->fingerprint, a->ends_at, text, err);
    free(text);
    return rc;
}

int storage_put_alert_text_in(struct storage *st, uint64_t fp, int64_t ends_at, const char *text,
                              const char *const *group_keys, size_t n, struct error *err)
{
    if (ids_ensure(st, err) < 0)
        return -1;
    if (n == 1 && id_get(st, fp) == 0)
        return insert_alert(st, fp, ends_at, text, group_keys[0], err);
    /* Stored already, or not exactly one group: the alert, then each membership. */
    if (put_alert_text(st, fp, ends_at, text, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (storage_put_member(st, group_keys[i], fp, err) < 0)
            return -1;
    }
    return 0;
}

int storage_put_alert_in(struct storage *st, const struct alert *a, const char *const *group_keys,
                         size_t n, struct error *err)
{
    char *text = codec_encode_alert(a);
    int rc;

    if (text == NULL)
        return error_set(err, "storage %s: out of memory encoding an alert", st->dir);
    rc = storage_put_alert_text_in(st, a->fingerprint, a->ends_at, text, group_keys, n, err);
    free(text);
    return rc;
}

int storage_delete_alert(struct storage *st, uint64_t fingerprint, struct error *err)
{
    int64_t id;

    if (ids_ensure(st, err) < 0)
        return -1;
    id = id_get(st, fingerprint);
    if (id == 0)
        return 0; /* not stored */
    if (sqlite3_bind_int64(st->stmt[ST_DEL_ALERT], 1, id) != SQLITE_OK)
        return bind_fail(st, ST_DEL_ALERT, err);
    if (run(st, ST_DEL_ALERT, err) < 0)
        return -1;
    id_set(st, fingerprint, 0);
    return 0;
}

int storage_put_silence(struct storage *st, const struct silence *si, struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_PUT_SILENCE];

    if (bind_text(s, 1, si->id) < 0 || sqlite3_bind_int64(s, 2, si->ends_at) != SQLITE_OK ||
        bind_owned(s, 3, codec_encode_silence(si)) < 0)
        return bind_fail(st, ST_PUT_SILENCE, err);
    return run(st, ST_PUT_SILENCE, err);
}

int storage_delete_silence(struct storage *st, const char *id, struct error *err)
{
    if (bind_text(st->stmt[ST_DEL_SILENCE], 1, id) < 0)
        return bind_fail(st, ST_DEL_SILENCE, err);
    return run(st, ST_DEL_SILENCE, err);
}

int storage_put_group_head(struct storage *st, const struct group_view *g, struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_PUT_GROUP];
    json_t *lab = labels_to_json(g->labels);
    int rc;

    if (lab == NULL || bind_text(s, 1, g->key) < 0 ||
        bind_text(s, 2, g->route != NULL && g->route->id != NULL ? g->route->id : "") < 0 ||
        bind_owned(s, 3, json_dumps(lab, JSON_COMPACT)) < 0 ||
        sqlite3_bind_int64(s, 4, g->next_flush) != SQLITE_OK ||
        sqlite3_bind_int(s, 5, g->has_flushed) != SQLITE_OK ||
        sqlite3_bind_int64(s, 6, (int64_t)g->incident_id) != SQLITE_OK) {
        json_decref(lab);
        return bind_fail(st, ST_PUT_GROUP, err);
    }
    json_decref(lab);
    rc = run(st, ST_PUT_GROUP, err);
    return rc;
}

static int member_stmt(struct storage *st, enum stmt which, const char *key, uint64_t fp,
                       struct error *err)
{
    int64_t id;

    if (ids_ensure(st, err) < 0)
        return -1;
    id = id_get(st, fp);
    if (id == 0)
        return 0; /* the alert is not stored: neither is a membership of it */
    if (bind_text(st->stmt[which], 1, key) < 0 ||
        sqlite3_bind_int64(st->stmt[which], 2, id) != SQLITE_OK)
        return bind_fail(st, which, err);
    return run(st, which, err);
}

int storage_put_member(struct storage *st, const char *group_key, uint64_t fp, struct error *err)
{
    return member_stmt(st, ST_PUT_MEMBER, group_key, fp, err);
}

int storage_delete_member(struct storage *st, const char *group_key, uint64_t fp, struct error *err)
{
    return member_stmt(st, ST_DEL_MEMBER, group_key, fp, err);
}

static int delete_members(struct storage *st, const char *key, struct error *err)
{
    if (bind_text(st->stmt[ST_DEL_MEMBERS], 1, key) < 0)
        return bind_fail(st, ST_DEL_MEMBERS, err);
    return run(st, ST_DEL_MEMBERS, err);
}

int storage_put_group(struct storage *st, const struct group_view *g, struct error *err)
{
    if (storage_put_group_head(st, g, err) < 0 || delete_members(st, g->key, err) < 0)
        return -1;
    for (size_t i = 0; i < g->n_alerts; i++) {
        if (storage_put_member(st, g->key, g->alerts[i]->fingerprint, err) < 0)
            return -1;
    }
    return 0;
}

int storage_delete_group_head(struct storage *st, const char *key, struct error *err)
{
    if (bind_text(st->stmt[ST_DEL_GROUP], 1, key) < 0)
        return bind_fail(st, ST_DEL_GROUP, err);
    return run(st, ST_DEL_GROUP, err);
}

int storage_delete_group(struct storage *st, const char *key, struct error *err)
{
    if (storage_delete_group_head(st, key, err) < 0)
        return -1;
    return delete_members(st, key, err);
}

int storage_put_nflog(struct storage *st, const struct nflog_entry *e, struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_PUT_NFLOG];

    if (bind_text(s, 1, e->key) < 0 || sqlite3_bind_int64(s, 2, e->expires_at) != SQLITE_OK ||
        bind_owned(s, 3, codec_encode_nflog(e)) < 0)
        return bind_fail(st, ST_PUT_NFLOG, err);
    return run(st, ST_PUT_NFLOG, err);
}

int storage_delete_nflog(struct storage *st, const char *key, struct error *err)
{
    if (bind_text(st->stmt[ST_DEL_NFLOG], 1, key) < 0)
        return bind_fail(st, ST_DEL_NFLOG, err);
    return run(st, ST_DEL_NFLOG, err);
}

int storage_put_incident(struct storage *st, const struct incident *inc, struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_PUT_INCIDENT];
    json_t *o = incident_to_json(inc, true);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    if (sqlite3_bind_int64(s, 1, (int64_t)inc->id) != SQLITE_OK ||
        bind_text(s, 2, incident_state_name(inc->state)) < 0 ||
        bind_text(s, 3, inc->group_key != NULL ? inc->group_key : "") < 0 ||
        sqlite3_bind_int64(s, 4, inc->resolved_at) != SQLITE_OK || bind_owned(s, 5, text) < 0)
        return bind_fail(st, ST_PUT_INCIDENT, err);
    return run(st, ST_PUT_INCIDENT, err);
}

int storage_delete_incident(struct storage *st, uint64_t id, struct error *err)
{
    if (sqlite3_bind_int64(st->stmt[ST_DEL_INCIDENT], 1, (int64_t)id) != SQLITE_OK)
        return bind_fail(st, ST_DEL_INCIDENT, err);
    return run(st, ST_DEL_INCIDENT, err);
}

int storage_put_job(struct storage *st, const struct notify_job *job, struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_PUT_JOB];

    if (sqlite3_bind_int64(s, 1, (int64_t)job->id) != SQLITE_OK ||
        bind_text(s, 2, job->receiver_name != NULL ? job->receiver_name : "") < 0 ||
        sqlite3_bind_int64(s, 3, job->created_at) != SQLITE_OK ||
        bind_owned(s, 4, codec_encode_job(job)) < 0)
        return bind_fail(st, ST_PUT_JOB, err);
    return run(st, ST_PUT_JOB, err);
}

int storage_update_job(struct storage *st, uint64_t id, const char *state, int attempts,
                       int64_t next_attempt_at, const char *last_error, struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_UPD_JOB];

    if (sqlite3_bind_int64(s, 1, (int64_t)id) != SQLITE_OK || bind_text(s, 2, state) < 0 ||
        sqlite3_bind_int(s, 3, attempts) != SQLITE_OK ||
        sqlite3_bind_int64(s, 4, next_attempt_at) != SQLITE_OK ||
        (last_error != NULL ? bind_text(s, 5, last_error)
                            : (sqlite3_bind_null(s, 5) == SQLITE_OK ? 0 : -1)) < 0)
        return bind_fail(st, ST_UPD_JOB, err);
    return run(st, ST_UPD_JOB, err);
}

int storage_delete_job(struct storage *st, uint64_t id, struct error *err)
{
    if (sqlite3_bind_int64(st->stmt[ST_DEL_JOB], 1, (int64_t)id) != SQLITE_OK)
        return bind_fail(st, ST_DEL_JOB, err);
    return run(st, ST_DEL_JOB, err);
}

int storage_meta_get(struct storage *st, const char *key, void **out, size_t *len,
                     struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_META_GET];
    int rc;

    *out = NULL;
    *len = 0;
    if (bind_text(s, 1, key) < 0)
        return bind_fail(st, ST_META_GET, err);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(s, 0);
        const void *p = sqlite3_column_blob(s, 0);

        *out = malloc(n > 0 ? (size_t)n : 1);
        if (*out == NULL) {
            sqlite3_reset(s);
            return bind_fail(st, ST_META_GET, err);
        }
        if (n > 0)
            memcpy(*out, p, (size_t)n);
        *len = (size_t)n;
    } else if (rc != SQLITE_DONE) {
        db_error(st, err, "reading meta");
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return -1;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return 0;
}

int storage_meta_put(struct storage *st, const char *key, const void *val, size_t len,
                     struct error *err)
{
    sqlite3_stmt *s = st->stmt[ST_META_PUT];

    if (bind_text(s, 1, key) < 0 ||
        sqlite3_bind_blob(s, 2, len > 0 ? val : "", (int)len, SQLITE_TRANSIENT) != SQLITE_OK)
        return bind_fail(st, ST_META_PUT, err);
    return run(st, ST_META_PUT, err);
}

struct sqlite3 *storage_db(struct storage *st)
{
    return st->db;
}

int storage_gc(struct storage *st, int64_t now, int64_t silence_retention, struct error *err)
{
    int n = 0;

    if (sqlite3_bind_int64(st->stmt[ST_GC_NFLOG], 1, now) != SQLITE_OK)
        return bind_fail(st, ST_GC_NFLOG, err);
    if (run(st, ST_GC_NFLOG, err) < 0)
        return -1;
    n += sqlite3_changes(st->db);
    if (sqlite3_bind_int64(st->stmt[ST_GC_SILENCES], 1, now) != SQLITE_OK ||
        sqlite3_bind_int64(st->stmt[ST_GC_SILENCES], 2, silence_retention) != SQLITE_OK)
        return bind_fail(st, ST_GC_SILENCES, err);
    if (run(st, ST_GC_SILENCES, err) < 0)
        return -1;
    n += sqlite3_changes(st->db);
    return n;
}

/* ------------------------------------------------------------------ load */

static const char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t != NULL ? (const char *)t : "";
}

static void skip_row(const char *table, const char *key, const struct error *why)
{
    log_warn("storage: skipping a row that does not decode", "table", table, "key", key, "err",
             why->msg, NULL);
}

/* Steps a load statement; fn is called per row and returns 0, -1 (stop), or 1 (skip). */
static int load_rows(struct storage *st, enum stmt which,
                     int (*fn)(struct storage *st, sqlite3_stmt *s, const struct storage_loader *ld,
                               void *ctx, struct error *err),
                     const struct storage_loader *ld, void *ctx, struct error *err)
{
    sqlite3_stmt *s = st->stmt[which];
    int rc;

    for (;;) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            db_error(st, err, stmt_sql[which]);
            sqlite3_reset(s);
            return -1;
        }
        if (fn(st, s, ld, ctx, err) < 0) {
            sqlite3_reset(s);
            return -1;
        }
    }
    sqlite3_reset(s);
    return 0;
}

static int load_alert(struct storage *st, sqlite3_stmt *s, const struct storage_loader *ld,
                      void *ctx, struct error *err)
{
    struct alert a;
    struct error why = {{0}};
    int64_t id = sqlite3_column_int64(s, 2);

    /* Every row is in the map, also one that does not decode (a put of its
     * fingerprint then replaces it instead of adding a second row). */
    if (st->loading_ids && id > 0 &&
        umap_put(&st->ids, (uint64_t)sqlite3_column_int64(s, 0), (void *)(uintptr_t)id) < 0)
        return error_set(err, "storage %s: out of memory reading alert ids", st->dir);
    alert_init(&a);
    if (codec_decode_alert(col_text(s, 1), &a, &why) < 0) {
        char hex[FINGERPRINT_STRLEN];

        fingerprint_format((uint64_t)sqlite3_column_int64(s, 0), hex);
        skip_row("alerts", hex, &why);
        return 0;
    }
    if (ld->alert == NULL) {
        alert_release(&a);
        return 0;
    }
    return ld->alert(ctx, &a, err) != 0 ? -1 : 0;
}

static int load_silence(struct storage *st, sqlite3_stmt *s, const struct storage_loader *ld,
                        void *ctx, struct error *err)
{
    struct silence si;
    struct error why = {{0}};

    (void)st;
    silence_init(&si);
    if (codec_decode_silence(col_text(s, 1), &si, &why) < 0) {
        skip_row("silences", col_text(s, 0), &why);
        return 0;
    }
    if (ld->silence == NULL) {
        silence_release(&si);
        return 0;
    }
    return ld->silence(ctx, &si, err) != 0 ? -1 : 0;
}

static int load_nflog(struct storage *st, sqlite3_stmt *s, const struct storage_loader *ld,
                      void *ctx, struct error *err)
{
    struct nflog_entry e;
    struct error why = {{0}};

    (void)st;
    if (codec_decode_nflog(col_text(s, 1), &e, &why) < 0) {
        skip_row("nflog", col_text(s, 0), &why);
        return 0;
    }
    e.key = strdup(col_text(s, 0));
    if (e.key == NULL || ld->nflog == NULL) {
        nflog_entry_release(&e);
        return 0;
    }
    return ld->nflog(ctx, &e, err) != 0 ? -1 : 0;
}

/* Appends to *fps (which holds the legacy JSON list, empty since schema
 * version 3) the memberships of group `key`. The member cursor
 * (ST_LOAD_MEMBERS, sorted by group key) is shared by all the groups, which
 * come in the same order: rows of keys before `key` belong to no stored group
 * and are passed over. st->members_state: 0 = not started, 1 = on a row,
 * 2 = done. */
static int load_members(struct storage *st, const char *key, uint64_t **fps, size_t *n,
                        struct error *err)
{
    sqlite3_stmt *m = st->stmt[ST_LOAD_MEMBERS];
    size_t cap = *n;

    for (;;) {
        int c;

        if (st->members_state == 0 || st->members_state == 3) {
            int step = sqlite3_step(m);

            if (step == SQLITE_DONE) {
                st->members_state = 2;
            } else if (step != SQLITE_ROW) {
                st->members_state = 2;
                return db_error(st, err, stmt_sql[ST_LOAD_MEMBERS]);
            } else {
                st->members_state = 1;
            }
        }
        if (st->members_state == 2)
            return 0;
        c = strcmp(col_text(m, 0), key);
        if (c > 0)
            return 0;
        st->members_state = 3; /* this row is used up: step on the next call */
        if (c < 0)
            continue;
        if (*n == cap) {
            size_t nc = cap > 0 ? cap * 2 : 16;
            uint64_t *v = realloc(*fps, nc * sizeof(*v));

            if (v == NULL)
                return error_set(err, "out of memory");
            *fps = v;
            cap = nc;
        }
        (*fps)[(*n)++] = (uint64_t)sqlite3_column_int64(m, 1);
    }
}

static int load_group(struct storage *st, sqlite3_stmt *s, const struct storage_loader *ld,
                      void *ctx, struct error *err)
{
    struct labels ls = LABELS_INIT;
    struct error why = {{0}};
    json_error_t je;
    json_t *jl = json_loads(col_text(s, 2), 0, &je);
    json_t *jf = json_loads(col_text(s, 6), 0, &je);
    uint64_t *fps = NULL;
    size_t n = 0;
    int rc = 0;

    if (jl == NULL || jf == NULL || labels_from_json(&ls, jl, "labels", &why) < 0 ||
        codec_fps_from_json(jf, &fps, &n, &why) < 0) {
        if (why.msg[0] == '\0')
            error_set(&why, "not JSON: %s", je.text);
        skip_row("aggr_groups", col_text(s, 0), &why);
        goto out;
    }
    if (load_members(st, col_text(s, 0), &fps, &n, err) < 0) {
        rc = -1;
        goto out;
    }
    if (ld->group != NULL)
        rc = ld->group(ctx, col_text(s, 0), col_text(s, 1), &ls, sqlite3_column_int64(s, 3),
                       sqlite3_column_int(s, 4) != 0, (uint64_t)sqlite3_column_int64(s, 5), fps, n,
                       err) != 0
                 ? -1
                 : 0;
out:
    json_decref(jl);
    json_decref(jf);
    labels_release(&ls);
    free(fps);
    return rc;
}

static int load_job(struct storage *st, sqlite3_stmt *s, const struct storage_loader *ld, void *ctx,
                    struct error *err)
{
    struct outbox_row row;
    struct error why = {{0}};
    char key[32];

    (void)st;
    memset(&row, 0, sizeof(row));
    snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(s, 0));
    if (codec_decode_job(col_text(s, 4), &row.job, &why) < 0) {
        skip_row("outbox", key, &why);
        return 0;
    }
    row.state = col_text(s, 1);
    row.attempts = sqlite3_column_int(s, 2);
    row.next_attempt_at = sqlite3_column_int64(s, 3);
    if (ld->job == NULL) {
        notify_job_free(row.job);
        return 0;
    }
    return ld->job(ctx, &row, err) != 0 ? -1 : 0;
}

static int load_incident(struct storage *st, sqlite3_stmt *s, const struct storage_loader *ld,
                         void *ctx, struct error *err)
{
    struct incident *inc = NULL;
    struct error why = {{0}};
    json_error_t je;
    json_t *o = json_loads(col_text(s, 1), 0, &je);

    (void)st;
    if (o == NULL || incident_from_json(o, &inc, &why) < 0) {
        if (why.msg[0] == '\0')
            error_set(&why, "not JSON: %s", je.text);
        skip_row("incidents", col_text(s, 0), &why);
        json_decref(o);
        return 0;
    }
    json_decref(o);
    if (ld->incident == NULL) {
        incident_free(inc);
        return 0;
    }
    return ld->incident(ctx, inc, err) != 0 ? -1 : 0;
}

/* The groups with their members: two cursors in group key order, merged. */
static int load_groups(struct storage *st, const struct storage_loader *ld, void *ctx,
                       struct error *err)
{
    int rc;

    st->members_state = 0;
    rc = load_rows(st, ST_LOAD_GROUPS, load_group, ld, ctx, err);
    sqlite3_reset(st->stmt[ST_LOAD_MEMBERS]);
    st->members_state = 0;
    return rc;
}

/* The alerts; fills the id map on the way when it is not exact yet (one scan
 * of the table at start-up instead of two). */
static int load_alerts(struct storage *st, const struct storage_loader *ld, void *ctx,
                       struct error *err)
{
    int rc;

    st->loading_ids = !st->ids_ready;
    if (st->loading_ids)
        umap_release(&st->ids);
    rc = load_rows(st, ST_LOAD_ALERTS, load_alert, ld, ctx, err);
    if (st->loading_ids) {
        st->ids_ready = rc == 0;
        if (rc < 0)
            umap_release(&st->ids);
    }
    st->loading_ids = false;
    return rc;
}

int storage_load(struct storage *st, const struct storage_loader *ld, void *ctx, struct error *err)
{
    if (load_rows(st, ST_LOAD_INCIDENTS, load_incident, ld, ctx, err) < 0 ||
        load_alerts(st, ld, ctx, err) < 0 ||
        load_rows(st, ST_LOAD_SILENCES, load_silence, ld, ctx, err) < 0 ||
        load_rows(st, ST_LOAD_NFLOG, load_nflog, ld, ctx, err) < 0 ||
        load_groups(st, ld, ctx, err) < 0 ||
        load_rows(st, ST_LOAD_JOBS, load_job, ld, ctx, err) < 0)
        return -1;
    return 0;
}

static int count_table(struct storage *st, const char *table, size_t *out, struct error *err)
{
    char sql[96];
    sqlite3_stmt *s = NULL;
    int rc = -1;

    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        *out = (size_t)sqlite3_column_int64(s, 0);
        rc = 0;
    } else {
        db_error(st, err, sql);
    }
    sqlite3_finalize(s);
    return rc;
}

int storage_count(struct storage *st, struct storage_counts *out, struct error *err)
{
    memset(out, 0, sizeof(*out));
    if (count_table(st, "alerts", &out->alerts, err) < 0 ||
        count_table(st, "silences", &out->silences, err) < 0 ||
        count_table(st, "aggr_groups", &out->groups, err) < 0 ||
        count_table(st, "nflog", &out->nflog, err) < 0 ||
        count_table(st, "outbox", &out->outbox, err) < 0 ||
        count_table(st, "incidents", &out->incidents, err) < 0)
        return -1;
    return 0;
}

#ifdef UNIT_TEST
int storage_test_exec(const char *dir, const char *sql, struct error *err)
{
    char path[PATH_MAX];
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = 0;

    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/%s", dir, STORAGE_DB_NAME);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        rc = error_set(err, "%s", msg != NULL ? msg : "cannot open");
        sqlite3_free(msg);
    }
    sqlite3_close(db);
    return rc;
}

int storage_test_user_version(struct storage *st)
{
    return user_version(st);
}

void storage_test_checkpoint_pages(int passive, int truncate)
{
    ckpt_pages = passive > 0 ? passive : CKPT_PAGES;
    ckpt_trunc_pages = truncate > 0 ? truncate : CKPT_TRUNCATE_PAGES;
}

int storage_test_checkpoint_idle(struct storage *st, int timeout_ms, long *passive, long *truncate)
{
    struct checkpointer *ck = &st->ck;
    struct timespec until;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ck->mu);
    while (rc == 0 && (ck->wanted || ck->working))
        rc = pthread_cond_timedwait(&ck->idle, &ck->mu, &until);
    *passive = ck->passive;
    *truncate = ck->truncate;
    pthread_mutex_unlock(&ck->mu);
    return rc == 0 ? 0 : -1;
}
#endif
