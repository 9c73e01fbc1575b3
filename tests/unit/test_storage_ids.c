/*
 * test_storage_ids.c - schema 6: the alerts table has no index on the
 * fingerprint and the storage keeps fingerprint -> row id in memory. A
 * fingerprint never gets a second row, whatever the order of puts, deletes,
 * rollbacks and reopenings (also a reopening that fills the map by
 * storage_load); random operations in committed and rolled-back transactions
 * agree with a model; a version-5 file (UNIQUE fingerprint index) migrates
 * forward keeping its rows, ids, order and memberships.
 */
#include "core/alert.h"
#include "core/error.h"
#include "core/labels.h"
#include "storage/codec.h"
#include "storage/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <cmocka.h>

#define T0   1700000000000LL
#define HOUR 3600000LL

/* mk_tmpdir, rm_tmpdir, open_ok */
#include "tests/unit/test_storage_fixture.h"

static void mk_alert(struct alert *a, int i, int64_t ends)
{
    char inst[32];

    alert_init(a);
    snprintf(inst, sizeof(inst), "host-%d", i);
    assert_int_equal(labels_set(&a->labels, "alertname", "A"), 0);
    assert_int_equal(labels_set(&a->labels, "instance", inst), 0);
    a->starts_at = T0;
    a->ends_at = ends;
    a->updated_at = T0;
    alert_update_fingerprint(a);
}

/* One integer from sql with up to two int64 parameters (?1, ?2) and one text (?3). */
static int64_t q_int(struct storage *st, const char *sql, int64_t p1, int64_t p2, const char *p3)
{
    sqlite3_stmt *s = NULL;
    int64_t v;

    if (sqlite3_prepare_v2(storage_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(storage_db(st)));
    if (sqlite3_bind_parameter_count(s) >= 1)
        sqlite3_bind_int64(s, 1, p1);
    if (sqlite3_bind_parameter_count(s) >= 2)
        sqlite3_bind_int64(s, 2, p2);
    if (sqlite3_bind_parameter_count(s) >= 3)
        sqlite3_bind_text(s, 3, p3 != NULL ? p3 : "", -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int64_t rows_of(struct storage *st, uint64_t fp)
{
    return q_int(st, "SELECT count(*) FROM alerts WHERE fp = ?1", (int64_t)fp, 0, NULL);
}

static int64_t id_of(struct storage *st, uint64_t fp)
{
    return q_int(st, "SELECT coalesce(max(id), 0) FROM alerts WHERE fp = ?1", (int64_t)fp, 0, NULL);
}

static int64_t duplicated_fps(struct storage *st)
{
    return q_int(st, "SELECT count(*) FROM (SELECT fp FROM alerts GROUP BY fp HAVING count(*) > 1)",
                 0, 0, NULL);
}

static int drop_alert(void *ctx, struct alert *a, struct error *err)
{
    (void)err;
    (*(size_t *)ctx)++;
    alert_release(a);
    return 0;
}

/* storage_load with only an alert callback; returns the number of alerts. */
static size_t load_count(struct storage *st)
{
    struct storage_loader ld = {drop_alert, NULL, NULL, NULL, NULL, NULL};
    struct error err = {{0}};
    size_t n = 0;

    if (storage_load(st, &ld, &n, &err) < 0)
        fail_msg("storage_load: %s", err.msg);
    return n;
}

static void test_same_fp_never_twice(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct alert a, b;
    const char *g = "{}:{alertname=\"A\"}";
    int64_t id_a;

    (void)state;
    mk_alert(&a, 1, T0 + HOUR);
    mk_alert(&b, 2, T0 + HOUR);
    /* Twice outside a transaction, twice inside one. */
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(storage_put_alert_in(st, &a, &g, 1, &err), 0);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_int_equal(storage_commit(st, &err), 0);
    assert_int_equal(rows_of(st, a.fingerprint), 1);
    id_a = id_of(st, a.fingerprint);

    /* A new alert rolled back, then put again: one row. */
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(storage_put_alert_in(st, &b, &g, 1, &err), 0);
    storage_rollback(st);
    assert_int_equal(rows_of(st, b.fingerprint), 0);
    assert_int_equal(storage_put_alert(st, &b, &err), 0);
    assert_int_equal(rows_of(st, b.fingerprint), 1);

    /* A delete rolled back: the map knows the row again, a put updates it. */
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(storage_delete_alert(st, a.fingerprint, &err), 0);
    assert_int_equal(rows_of(st, a.fingerprint), 0);
    storage_rollback(st);
    a.ends_at = T0 + 2 * HOUR;
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_int_equal(rows_of(st, a.fingerprint), 1);
    assert_int_equal(id_of(st, a.fingerprint), id_a);
    assert_int_equal(q_int(st, "SELECT ends_at FROM alerts WHERE id = ?1", id_a, 0, NULL),
                     T0 + 2 * HOUR);

    /* Delete and re-insert (a new id) in one transaction, rolled back: the
     * original row and id are back. */
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(storage_delete_alert(st, a.fingerprint, &err), 0);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_true(id_of(st, a.fingerprint) != id_a);
    assert_int_equal(storage_delete_alert(st, b.fingerprint, &err), 0);
    storage_rollback(st);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_int_equal(storage_put_alert(st, &b, &err), 0);
    assert_int_equal(rows_of(st, a.fingerprint), 1);
    assert_int_equal(rows_of(st, b.fingerprint), 1);
    assert_int_equal(id_of(st, a.fingerprint), id_a);
    /* Memberships name the row by id too: the rolled-back delete kept a's. */
    assert_int_equal(storage_put_member(st, g, a.fingerprint, &err), 0);
    assert_int_equal(q_int(st,
                           "SELECT count(*) FROM alerts, json_each(alerts.groups) AS j "
                           "WHERE alerts.id = ?1 AND j.value = ?3",
                           id_a, 0, g),
                     1);

    /* Reopen: the map is read from the table (first by a put, then by a load). */
    storage_close(st);
    st = open_ok(dir);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_int_equal(rows_of(st, a.fingerprint), 1);
    storage_close(st);
    st = open_ok(dir);
    assert_int_equal(load_count(st), 2);
    assert_int_equal(storage_put_alert(st, &b, &err), 0);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_int_equal(rows_of(st, a.fingerprint), 1);
    assert_int_equal(rows_of(st, b.fingerprint), 1);
    /* A delete of what is not stored is a no-op. */
    assert_int_equal(storage_delete_alert(st, 12345, &err), 0);
    assert_int_equal(duplicated_fps(st), 0);
    storage_close(st);
    alert_release(&a);
    alert_release(&b);
    rm_tmpdir(dir);
}

#define N_FP     24
#define N_GROUPS 3

static const char *const groups[N_GROUPS] = {"g0", "g1", "g2"};

struct model {
    bool in[N_FP];
    int64_t ends[N_FP];
    unsigned member[N_FP]; /* bit per group */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_model(struct storage *st, const struct alert *al, const struct model *m)
{
    int64_t n = 0;

    for (int i = 0; i < N_FP; i++) {
        uint64_t fp = al[i].fingerprint;

        assert_int_equal(rows_of(st, fp), m->in[i] ? 1 : 0);
        if (!m->in[i])
            continue;
        n++;
        assert_int_equal(
            q_int(st, "SELECT ends_at FROM alerts WHERE fp = ?1", (int64_t)fp, 0, NULL),
            m->ends[i]);
        for (int g = 0; g < N_GROUPS; g++)
            assert_int_equal(q_int(st,
                                   "SELECT count(*) FROM alerts, json_each(alerts.groups) AS j "
                                   "WHERE alerts.fp = ?1 AND j.value = ?3",
                                   (int64_t)fp, 0, groups[g]),
                             (m->member[i] >> g) & 1);
    }
    assert_int_equal(q_int(st, "SELECT count(*) FROM alerts", 0, 0, NULL), n);
}

static void test_random_against_model(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct alert al[N_FP];
    struct model m, saved;

    (void)state;
    memset(&m, 0, sizeof(m));
    for (int i = 0; i < N_FP; i++)
        mk_alert(&al[i], i, T0);
    for (int txn = 0; txn < 300; txn++) {
        bool rollback = rng() % 3 == 0;
        int ops = 1 + (int)(rng() % 12);

        saved = m;
        assert_int_equal(storage_begin(st, &err), 0);
        for (int k = 0; k < ops; k++) {
            int i = (int)(rng() % N_FP), g = (int)(rng() % N_GROUPS);
            uint64_t fp = al[i].fingerprint;

            switch (rng() % 5) {
            case 0:
                al[i].ends_at = T0 + (int64_t)(rng() % 1000);
                assert_int_equal(storage_put_alert(st, &al[i], &err), 0);
                m.in[i] = true;
                m.ends[i] = al[i].ends_at;
                break;
            case 1:
                al[i].ends_at = T0 + (int64_t)(rng() % 1000);
                assert_int_equal(storage_put_alert_in(st, &al[i], &groups[g], 1, &err), 0);
                m.member[i] = (m.in[i] ? m.member[i] : 0) | (1u << g);
                m.in[i] = true;
                m.ends[i] = al[i].ends_at;
                break;
            case 2:
                assert_int_equal(storage_delete_alert(st, fp, &err), 0);
                m.in[i] = false;
                m.member[i] = 0;
                break;
            case 3:
                assert_int_equal(storage_put_member(st, groups[g], fp, &err), 0);
                if (m.in[i])
                    m.member[i] |= 1u << g;
                break;
            default:
                assert_int_equal(storage_delete_member(st, groups[g], fp, &err), 0);
                m.member[i] &= ~(1u << g);
                break;
            }
        }
        if (rollback) {
            storage_rollback(st);
            m = saved;
        } else {
            assert_int_equal(storage_commit(st, &err), 0);
        }
        if (txn % 10 == 0)
            check_model(st, al, &m);
        if (txn % 50 == 49) {
            /* Reopen; every other time the load fills the map. */
            storage_close(st);
            st = open_ok(dir);
            if (txn % 100 == 49)
                (void)load_count(st);
        }
    }
    check_model(st, al, &m);
    assert_int_equal(duplicated_fps(st), 0);
    storage_close(st);
    for (int i = 0; i < N_FP; i++)
        alert_release(&al[i]);
    rm_tmpdir(dir);
}

/* Schema 5 as released: the fingerprint under a UNIQUE index. */
static const char v5_alerts[] = "DROP TABLE alerts;"
                                "CREATE TABLE alerts ("
                                "  id INTEGER PRIMARY KEY,"
                                "  fp INTEGER NOT NULL UNIQUE,"
                                "  ends_at INTEGER NOT NULL,"
                                "  groups TEXT NOT NULL DEFAULT '[]',"
                                "  data TEXT NOT NULL);"
                                "PRAGMA user_version = 5;";

static void test_migration_from_v5(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct alert a[4];
    char *enc[3];
    char sql[4096];
    const char *g = "{}:{alertname=\"A\"}";

    (void)state;
    assert_true(storage_schema_version() >= 6);
    storage_close(st);
    for (int i = 0; i < 4; i++)
        mk_alert(&a[i], i, T0 + i);
    for (int i = 0; i < 3; i++) {
        enc[i] = codec_encode_alert(&a[i]);
        assert_non_null(enc[i]);
        assert_null(strchr(enc[i], '\''));
    }
    if (storage_test_exec(dir, v5_alerts, &err) < 0)
        fail_msg("v5 schema: %s", err.msg);
    /* Ids with gaps, as deletions leave them; a[1] is a member of g. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO alerts(id, fp, ends_at, groups, data) VALUES"
             " (3, %lld, %lld, '[]', '%s'), (7, %lld, %lld, json_array('%s'), '%s'),"
             " (9, %lld, %lld, '[]', '%s');",
             (long long)a[0].fingerprint, (long long)a[0].ends_at, enc[0],
             (long long)a[1].fingerprint, (long long)a[1].ends_at, g, enc[1],
             (long long)a[2].fingerprint, (long long)a[2].ends_at, enc[2]);
    if (storage_test_exec(dir, sql, &err) < 0)
        fail_msg("v5 rows: %s", err.msg);

    st = open_ok(dir);
    assert_int_equal(storage_test_user_version(st), storage_schema_version());
    /* No index left on the table (the UNIQUE one went with the old table). */
    assert_int_equal(q_int(st,
                           "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'alerts' "
                           "AND type = 'index'",
                           0, 0, NULL),
                     0);
    assert_int_equal(q_int(st, "SELECT group_concat(id) = '3,7,9' FROM alerts", 0, 0, NULL), 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(id_of(st, a[i].fingerprint), i == 0 ? 3 : i == 1 ? 7 : 9);
    assert_int_equal(q_int(st,
                           "SELECT count(*) FROM alerts, json_each(alerts.groups) AS j "
                           "WHERE alerts.id = 7 AND j.value = ?3",
                           0, 0, g),
                     1);
    assert_int_equal(load_count(st), 3);
    /* A put of a stored alert updates its row (id, memberships kept); a new
     * one is appended; a delete takes the right row. */
    a[1].ends_at = T0 + HOUR;
    assert_int_equal(storage_put_alert(st, &a[1], &err), 0);
    assert_int_equal(id_of(st, a[1].fingerprint), 7);
    assert_int_equal(q_int(st, "SELECT ends_at FROM alerts WHERE id = 7", 0, 0, NULL), T0 + HOUR);
    assert_int_equal(q_int(st, "SELECT groups <> '[]' FROM alerts WHERE id = 7", 0, 0, NULL), 1);
    assert_int_equal(storage_put_alert(st, &a[3], &err), 0);
    assert_int_equal(id_of(st, a[3].fingerprint), 10);
    assert_int_equal(storage_delete_alert(st, a[0].fingerprint, &err), 0);
    assert_int_equal(q_int(st, "SELECT group_concat(id) = '7,9,10' FROM alerts", 0, 0, NULL), 1);
    assert_int_equal(duplicated_fps(st), 0);
    storage_close(st);
    for (int i = 0; i < 3; i++)
        free(enc[i]);
    for (int i = 0; i < 4; i++)
        alert_release(&a[i]);
    rm_tmpdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_fp_never_twice),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_migration_from_v5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
