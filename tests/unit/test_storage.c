/*
 * test_storage.c - the SQLite storage on real temporary files: round trips of
 * every stored kind, transactions and rollback, schema migration from version
 * 0 and refusal of a newer schema, the exclusive lock, retention, and rows
 * that do not decode.
 */
#include "config/config.h"
#include "core/alert.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/matcher.h"
#include "core/timefmt.h"
#include "router/router.h"
#include "storage/codec.h"
#include "storage/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define T0   1700000000000LL
#define SEC  1000LL
#define HOUR (3600 * SEC)

/* mk_tmpdir, rm_tmpdir, open_ok */
#include "tests/unit/test_storage_fixture.h"

static void mk_alert(struct alert *a, const char *name, const char *inst, int64_t starts,
                     int64_t ends)
{
    alert_init(a);
    assert_int_equal(labels_set(&a->labels, "alertname", name), 0);
    if (inst != NULL)
        assert_int_equal(labels_set(&a->labels, "instance", inst), 0);
    assert_int_equal(labels_set(&a->annotations, "summary", "s \"quoted\" \xc3\xa9"), 0);
    a->starts_at = starts;
    a->ends_at = ends;
    a->updated_at = starts + 5;
    a->timeout = true;
    assert_int_equal(alert_set_generator_url(a, "http://prom/graph?g0.expr=up"), 0);
    alert_update_fingerprint(a);
}

/* ------------------------------------------------------------------ loader that collects */

struct collected {
    struct alert alerts[8];
    size_t n_alerts;
    struct silence silences[4];
    size_t n_silences;
    struct nflog_entry nflog[4];
    size_t n_nflog;
    char group_keys[4][256];
    char group_routes[4][64];
    int64_t group_next[4];
    bool group_flushed[4];
    size_t group_nfps[4];
    uint64_t group_fp0[4];
    size_t n_groups;
    struct outbox_row jobs[4];
    char job_states[4][32];
    size_t n_jobs;
};

static int c_alert(void *ctx, struct alert *a, struct error *err)
{
    struct collected *c = ctx;

    (void)err;
    assert_true(c->n_alerts < 8);
    c->alerts[c->n_alerts++] = *a;
    alert_init(a);
    return 0;
}

static int c_silence(void *ctx, struct silence *s, struct error *err)
{
    struct collected *c = ctx;

    (void)err;
    c->silences[c->n_silences++] = *s;
    silence_init(s);
    return 0;
}

static int c_nflog(void *ctx, struct nflog_entry *e, struct error *err)
{
    struct collected *c = ctx;

    (void)err;
    c->nflog[c->n_nflog++] = *e;
    memset(e, 0, sizeof(*e));
    return 0;
}

static int c_group(void *ctx, const char *key, const char *route_id, const struct labels *labels,
                   int64_t next_flush, bool has_flushed, uint64_t incident_id, const uint64_t *fps,
                   size_t n_fps, struct error *err)
{
    struct collected *c = ctx;
    size_t i = c->n_groups++;

    (void)err;
    (void)labels;
    (void)incident_id;
    snprintf(c->group_keys[i], sizeof(c->group_keys[i]), "%s", key);
    snprintf(c->group_routes[i], sizeof(c->group_routes[i]), "%s", route_id);
    c->group_next[i] = next_flush;
    c->group_flushed[i] = has_flushed;
    c->group_nfps[i] = n_fps;
    c->group_fp0[i] = n_fps > 0 ? fps[0] : 0;
    return 0;
}

static int c_job(void *ctx, struct outbox_row *row, struct error *err)
{
    struct collected *c = ctx;
    size_t i = c->n_jobs++;

    (void)err;
    c->jobs[i] = *row;
    snprintf(c->job_states[i], sizeof(c->job_states[i]), "%s", row->state);
    c->jobs[i].state = c->job_states[i];
    return 0;
}

static const struct storage_loader collect_ops = {c_alert, c_silence, c_nflog,
                                                  c_group, c_job,     NULL};

static void collected_release(struct collected *c)
{
    for (size_t i = 0; i < c->n_alerts; i++)
        alert_release(&c->alerts[i]);
    for (size_t i = 0; i < c->n_silences; i++)
        silence_release(&c->silences[i]);
    for (size_t i = 0; i < c->n_nflog; i++)
        nflog_entry_release(&c->nflog[i]);
    for (size_t i = 0; i < c->n_jobs; i++)
        notify_job_free(c->jobs[i].job);
    memset(c, 0, sizeof(*c));
}

static void load_all(struct storage *st, struct collected *c)
{
    struct error err = {{0}};

    memset(c, 0, sizeof(*c));
    if (storage_load(st, &collect_ops, c, &err) < 0)
        fail_msg("storage_load: %s", err.msg);
}

/* ------------------------------------------------------------------ tests */

static void test_alert_round_trip_and_delete(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct alert a, b;
    struct collected c;

    (void)state;
    mk_alert(&a, "A", "i1", T0, T0 + HOUR);
    mk_alert(&b, "B", NULL, T0, TIME_UNSET);
    b.timeout = false;
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_int_equal(storage_put_alert(st, &b, &err), 0);
    assert_int_equal(storage_commit(st, &err), 0);
    storage_close(st);

    st = open_ok(dir);
    load_all(st, &c);
    assert_int_equal(c.n_alerts, 2);
    for (size_t i = 0; i < 2; i++) {
        const struct alert *want = c.alerts[i].fingerprint == a.fingerprint ? &a : &b;
        const struct alert *got = &c.alerts[i];

        assert_true(labels_equal(&got->labels, &want->labels));
        assert_true(labels_equal(&got->annotations, &want->annotations));
        assert_int_equal(got->starts_at, want->starts_at);
        assert_int_equal(got->ends_at, want->ends_at);
        assert_int_equal(got->updated_at, want->updated_at);
        assert_int_equal(got->timeout, want->timeout);
        assert_string_equal(got->generator_url, want->generator_url);
    }
    collected_release(&c);

    /* A put outside a transaction is its own; a delete removes the row. */
    assert_int_equal(storage_delete_alert(st, a.fingerprint, &err), 0);
    load_all(st, &c);
    assert_int_equal(c.n_alerts, 1);
    assert_true(c.alerts[0].fingerprint == b.fingerprint);
    collected_release(&c);

    alert_release(&a);
    alert_release(&b);
    storage_close(st);
    rm_tmpdir(dir);
}

static void test_rollback_stores_nothing(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct alert a;
    struct storage_counts n;

    (void)state;
    mk_alert(&a, "A", "i1", T0, T0 + HOUR);
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    storage_rollback(st);
    assert_int_equal(storage_count(st, &n, &err), 0);
    assert_int_equal(n.alerts, 0);
    /* A transaction left open at close is rolled back too. */
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    assert_int_equal(storage_begin(st, &err), -1); /* no nesting */
    storage_close(st);
    st = open_ok(dir);
    assert_int_equal(storage_count(st, &n, &err), 0);
    assert_int_equal(n.alerts, 0);
    alert_release(&a);
    storage_close(st);
    rm_tmpdir(dir);
}

static void test_silence_round_trip(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct silence s;
    struct matcher m;
    struct collected c;

    (void)state;
    silence_init(&s);
    snprintf(s.id, sizeof(s.id), "%s", "0b1f0e0c-1b3c-4d7e-8f00-0123456789ab");
    assert_int_equal(matcher_init(&m, MATCH_RE, "instance", "web-.*", &err), 0);
    assert_int_equal(matchers_push(&s.matchers, &m), 0);
    assert_int_equal(matcher_init(&m, MATCH_NE, "env", "dev", &err), 0);
    assert_int_equal(matchers_push(&s.matchers, &m), 0);
    s.starts_at = T0;
    s.ends_at = T0 + HOUR;
    s.updated_at = T0 + 1;
    s.created_by = strdup("alice");
    s.comment = strdup("maintenance \xe2\x9c\x93");
    assert_int_equal(storage_put_silence(st, &s, &err), 0);
    load_all(st, &c);
    assert_int_equal(c.n_silences, 1);
    assert_string_equal(c.silences[0].id, s.id);
    assert_true(matchers_equal(&c.silences[0].matchers, &s.matchers));
    assert_int_equal(c.silences[0].starts_at, T0);
    assert_int_equal(c.silences[0].ends_at, T0 + HOUR);
    assert_int_equal(c.silences[0].updated_at, T0 + 1);
    assert_string_equal(c.silences[0].created_by, "alice");
    assert_string_equal(c.silences[0].comment, s.comment);
    collected_release(&c);

    /* Retention: kept until ends_at + retention, then deleted. */
    assert_int_equal(storage_gc(st, T0 + 2 * HOUR, HOUR + 1, &err), 0);
    assert_int_equal(storage_gc(st, T0 + 2 * HOUR, HOUR, &err), 1);
    load_all(st, &c);
    assert_int_equal(c.n_silences, 0);
    silence_release(&s);
    storage_close(st);
    rm_tmpdir(dir);
}

static const char *cfg_text = "route:\n"
                              "  receiver: hook\n"
                              "  group_by: [alertname]\n"
                              "  group_wait: 1s\n"
                              "receivers:\n"
                              "  - name: hook\n"
                              "    webhook_configs:\n"
                              "      - url: http://127.0.0.1:1/\n";

/* Groups, nflog and outbox jobs as the router makes them, stored and read back. */
static void test_router_state_round_trip(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct config *cfg = config_load_string(cfg_text, "test.yml", NULL, &err);
    struct router *r;
    struct alert a[2];
    struct job_list jl = JOB_LIST_INIT;
    const struct router_changes *ch;
    struct group_view gv;
    struct collected c;
    uint64_t job_id;

    (void)state;
    if (cfg == NULL)
        fail_msg("config: %s", err.msg);
    r = router_new(cfg);
    mk_alert(&a[0], "A", "i1", T0, T0 + HOUR);
    mk_alert(&a[1], "A", "i2", T0, T0 + HOUR);
    assert_int_equal(router_put_alerts(r, a, 2, T0, &err), 0);
    assert_int_equal(router_tick(r, T0 + 2 * SEC, &jl, &err), 0);
    assert_int_equal(jl.n, 1);
    job_id = jl.v[0]->id;
    assert_int_equal(router_notify_result(r, job_id, true, T0 + 3 * SEC, &err), 0);

    ch = router_changes(r);
    assert_int_equal(ch->n_groups, 1);
    assert_int_equal(ch->n_nflog, 1);
    assert_int_equal(storage_begin(st, &err), 0);
    /* Memberships are stored with their alerts (schema 5): the alerts first,
     * as the engine does. */
    assert_int_equal(ch->n_alerts, 2);
    for (size_t i = 0; i < ch->n_alerts; i++)
        assert_int_equal(storage_put_alert(st, router_get_alert(r, ch->alerts[i]), &err), 0);
    assert_int_equal(router_get_group(r, ch->groups[0], &gv), 1);
    assert_int_equal(storage_put_group(st, &gv, &err), 0);
    group_view_release(&gv);
    assert_int_equal(storage_put_nflog(st, router_get_nflog(r, ch->nflog[0]), &err), 0);
    assert_int_equal(storage_put_job(st, jl.v[0], &err), 0);
    assert_int_equal(
        storage_update_job(st, job_id, "retry-wait", 2, T0 + 9 * SEC, "HTTP 500", &err), 0);
    assert_int_equal(storage_commit(st, &err), 0);
    storage_close(st);

    st = open_ok(dir);
    load_all(st, &c);
    assert_int_equal(c.n_groups, 1);
    assert_string_equal(c.group_keys[0], "{}:{alertname=\"A\"}");
    assert_string_equal(c.group_routes[0], cfg->root->id);
    assert_true(c.group_flushed[0]);
    assert_int_equal(c.group_nfps[0], 2);
    assert_int_equal(c.n_nflog, 1);
    assert_string_equal(c.nflog[0].key, ch->nflog[0]);
    assert_string_equal(c.nflog[0].receiver_name, "hook");
    assert_int_equal(c.nflog[0].n_firing, 2);
    assert_int_equal(c.nflog[0].timestamp, T0 + 3 * SEC);
    assert_int_equal(c.n_jobs, 1);
    assert_true(c.jobs[0].job->id == job_id);
    assert_string_equal(c.jobs[0].state, "retry-wait");
    assert_int_equal(c.jobs[0].attempts, 2);
    assert_int_equal(c.jobs[0].next_attempt_at, T0 + 9 * SEC);
    assert_string_equal(c.jobs[0].job->group_key, jl.v[0]->group_key);
    assert_string_equal(c.jobs[0].job->receiver_name, "hook");
    assert_int_equal(c.jobs[0].job->n_alerts, 2);
    assert_int_equal(c.jobs[0].job->alerts[0].ends_at, TIME_UNSET);
    assert_true(labels_equal(&c.jobs[0].job->alerts[1].labels, &jl.v[0]->alerts[1].labels));
    assert_int_equal(c.jobs[0].job->n_firing, 2);
    assert_true(labels_equal(&c.jobs[0].job->group_labels, &jl.v[0]->group_labels));
    assert_int_equal(c.jobs[0].job->created_at, jl.v[0]->created_at);

    /* A restored router accepts the job back. */
    {
        struct router *r2 = router_new(cfg);

        assert_int_equal(router_load_job(r2, c.jobs[0].job, &err), 0);
        router_free(r2);
    }
    collected_release(&c);

    assert_int_equal(storage_delete_job(st, job_id, &err), 0);
    assert_int_equal(storage_delete_group(st, "{}:{alertname=\"A\"}", &err), 0);
    load_all(st, &c);
    assert_int_equal(c.n_jobs, 0);
    assert_int_equal(c.n_groups, 0);
    collected_release(&c);

    job_list_release(&jl);
    router_free(r);
    config_free(cfg);
    storage_close(st);
    rm_tmpdir(dir);
}

static void test_meta(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    void *v;
    size_t len;
    const unsigned char key[4] = {0, 1, 0xff, 7};

    (void)state;
    assert_int_equal(storage_meta_get(st, "ack_key", &v, &len, &err), 0);
    assert_null(v);
    assert_int_equal(storage_meta_put(st, "ack_key", key, sizeof(key), &err), 0);
    assert_int_equal(storage_meta_get(st, "ack_key", &v, &len, &err), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(v, key, 4);
    free(v);
    storage_close(st);
    rm_tmpdir(dir);
}

static void test_exclusive_lock(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct storage *st2 = storage_open(dir, NULL, &err);
    char pid[32];

    (void)state;
    assert_null(st2);
    snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
    assert_non_null(strstr(err.msg, dir));
    assert_non_null(strstr(err.msg, "in use by another amrouter"));
    assert_non_null(strstr(err.msg, pid));
    storage_close(st);
    /* Released on close. */
    st2 = open_ok(dir);
    storage_close(st2);
    rm_tmpdir(dir);
}

static void test_migration_from_zero_and_newer_refused(void **state)
{
    char *dir = mk_tmpdir();
    struct error err = {{0}};
    struct storage *st;

    (void)state;
    /* A version-0 file (as an empty database is) with an unrelated table. */
    assert_int_equal(
        storage_test_exec(dir, "CREATE TABLE junk(x); INSERT INTO junk VALUES (1);", &err), 0);
    st = open_ok(dir);
    assert_int_equal(storage_test_user_version(st), storage_schema_version());
    assert_true(storage_schema_version() >= 1);
    storage_close(st);
    /* Opening again is a no-op migration. */
    st = open_ok(dir);
    assert_int_equal(storage_test_user_version(st), storage_schema_version());
    storage_close(st);

    assert_int_equal(storage_test_exec(dir, "PRAGMA user_version = 999", &err), 0);
    st = storage_open(dir, NULL, &err);
    assert_null(st);
    assert_non_null(strstr(err.msg, "schema version 999 is newer"));
    rm_tmpdir(dir);
}

static void test_bad_rows_skipped(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct alert a;
    struct collected c;

    (void)state;
    mk_alert(&a, "A", NULL, T0, T0 + HOUR);
    assert_int_equal(storage_put_alert(st, &a, &err), 0);
    storage_close(st);
    assert_int_equal(
        storage_test_exec(dir,
                          "INSERT INTO alerts(fp, ends_at, data) VALUES (12345, 0, 'not json');"
                          "INSERT INTO outbox(id, receiver, state, created_at, job) "
                          "VALUES (5, 'r', 'pending', 0, '{\"id\":\"nope\"}');",
                          &err),
        0);
    st = open_ok(dir);
    load_all(st, &c);
    assert_int_equal(c.n_alerts, 1);
    assert_int_equal(c.n_jobs, 0);
    collected_release(&c);
    alert_release(&a);
    storage_close(st);
    rm_tmpdir(dir);
}

static void test_codec_errors_name_fields(void **state)
{
    struct error err = {{0}};
    struct alert a;
    struct notify_job *j;

    (void)state;
    alert_init(&a);
    assert_int_equal(codec_decode_alert("{\"labels\":{\"a\":\"b\"},\"startsAt\":\"x\"}", &a, &err),
                     -1);
    assert_non_null(strstr(err.msg, "startsAt"));
    assert_int_equal(codec_decode_job("[]", &j, &err), -1);
    assert_null(j);
    assert_int_equal(codec_decode_job("{\"id\":1,\"groupKey\":\"k\",\"receiver\":\"r\"}", &j, &err),
                     -1);
    assert_non_null(strstr(err.msg, "alerts"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_round_trip_and_delete),
        cmocka_unit_test(test_rollback_stores_nothing),
        cmocka_unit_test(test_silence_round_trip),
        cmocka_unit_test(test_router_state_round_trip),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_exclusive_lock),
        cmocka_unit_test(test_migration_from_zero_and_newer_refused),
        cmocka_unit_test(test_bad_rows_skipped),
        cmocka_unit_test(test_codec_errors_name_fields),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
