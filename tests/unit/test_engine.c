/*
 * test_engine.c - the engine thread on a real temporary SQLite file: posts are
 * durable when the call returns (a new engine on the same directory sees them),
 * concurrent callers are batched without losing anything, a failed commit
 * answers -1 and leaves memory equal to disk (also when the next batch was
 * already applied on top of it in the pipeline), silences round-trip, a second
 * engine on the same storage is refused, and the query shapes.
 */
#include "config/config.h"
#include "core/alert.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/timefmt.h"
#include "engine/engine.h"
#include "storage/storage.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

/* The webhook points at a closed port: deliveries fail and are retried in the
 * background, which these tests do not look at. */
static const char *cfg_text = "route:\n"
                              "  receiver: hook\n"
                              "  group_by: [alertname]\n"
                              "  group_wait: 1h\n"
                              "receivers:\n"
                              "  - name: hook\n"
                              "    webhook_configs:\n"
                              "      - url: http://127.0.0.1:9/\n"
                              "  - name: other\n";

struct tctx {
    char dir[64];
};

static int setup(void **state)
{
    struct tctx *t = calloc(1, sizeof(*t));

    snprintf(t->dir, sizeof(t->dir), "/tmp/amr-test-engine-XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tctx *t = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    if (system(cmd) != 0)
        return -1;
    free(t);
    return 0;
}

static struct engine *start_engine(const char *dir)
{
    struct error err = {{0}};
    struct config *cfg = config_load_string(cfg_text, "test.yml", NULL, &err);
    struct engine_opts o = {dir, "http://amr.test:9093", NULL};
    struct engine *e;

    if (cfg == NULL)
        fail_msg("config: %s", err.msg);
    e = engine_new(&o, cfg, &err);
    if (e == NULL)
        fail_msg("engine_new: %s", err.msg);
    if (engine_start(e, &err) < 0)
        fail_msg("engine_start: %s", err.msg);
    assert_true(engine_ready(e));
    return e;
}

static struct alert *mk_alerts(const char *prefix, size_t n)
{
    struct alert *v = calloc(n, sizeof(*v));
    char name[64];

    for (size_t i = 0; i < n; i++) {
        alert_init(&v[i]);
        snprintf(name, sizeof(name), "%s%zu", prefix, i);
        assert_int_equal(labels_set(&v[i].labels, "alertname", name), 0);
    }
    return v;
}

static int post(struct engine *e, const char *prefix, size_t n, struct error *err)
{
    return engine_post_alerts(e, mk_alerts(prefix, n), n, err);
}

static struct alert_query all_query(void)
{
    struct alert_query q;

    memset(&q, 0, sizeof(q));
    q.active = q.silenced = q.inhibited = q.unprocessed = true;
    return q;
}

static size_t count_alerts(struct engine *e)
{
    struct alert_query q = all_query();
    json_t *a = engine_query_alerts(e, &q);
    size_t n;

    assert_non_null(a);
    n = json_array_size(a);
    json_decref(a);
    return n;
}

static bool has_alert(struct engine *e, const char *name)
{
    struct alert_query q = all_query();
    json_t *a = engine_query_alerts(e, &q), *v;
    size_t i;
    bool found = false;

    assert_non_null(a);
    json_array_foreach(a, i, v)
    {
        const char *n =
            json_string_value(json_object_get(json_object_get(v, "labels"), "alertname"));

        found |= n != NULL && strcmp(n, name) == 0;
    }
    json_decref(a);
    return found;
}

static struct storage_counts stored(const char *dir)
{
    struct error err = {{0}};
    struct storage *st = storage_open(dir, NULL, &err);
    struct storage_counts n;

    if (st == NULL)
        fail_msg("storage_open: %s", err.msg);
    assert_int_equal(storage_count(st, &n, &err), 0);
    storage_close(st);
    return n;
}

static void test_post_is_durable(void **state)
{
    struct tctx *t = *state;
    struct engine *e = start_engine(t->dir);
    struct error err = {{0}};
    struct alert_query q = all_query();
    json_t *a, *first;

    assert_int_equal(post(e, "A", 3, &err), 0);
    a = engine_query_alerts(e, &q);
    assert_int_equal(json_array_size(a), 3);
    first = json_array_get(a, 0);
    /* API v2 shape, in Alertmanager's field order. */
    {
        const char *want[] = {"annotations", "endsAt", "fingerprint", "receivers",
                              "startsAt",    "status", "updatedAt",   "labels"};
        const char *key;
        json_t *v;
        size_t k = 0;

        json_object_foreach(first, key, v)
        {
            assert_true(k < 8);
            assert_string_equal(key, want[k++]);
        }
        assert_int_equal(k, 8);
    }
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(first, "receivers"), 0), "name")),
                        "hook");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(first, "status"), "state")), "active");
    /* Sorted by fingerprint. */
    assert_true(strcmp(json_string_value(json_object_get(json_array_get(a, 0), "fingerprint")),
                       json_string_value(json_object_get(json_array_get(a, 1), "fingerprint"))) <
                0);
    json_decref(a);

    /* A second engine on the same storage is refused while this one lives. */
    {
        struct config *cfg = config_load_string(cfg_text, "test.yml", NULL, &err);
        struct engine_opts o = {t->dir, "", NULL};

        assert_null(engine_new(&o, cfg, &err));
        assert_non_null(strstr(err.msg, "in use by another amrouter"));
    }

    /* No clean shutdown matters for durability, but stop before reading the file. */
    engine_stop(e, 0);
    engine_free(e);
    assert_int_equal(stored(t->dir).alerts, 3);
    assert_int_equal(stored(t->dir).groups, 3);

    e = start_engine(t->dir);
    assert_int_equal(count_alerts(e), 3);
    assert_true(has_alert(e, "A1"));
    engine_free(e);
}

struct poster {
    struct engine *e;
    int id;
    int failures;
    size_t n; /* alerts per post */
};

static void *poster_main(void *arg)
{
    struct poster *p = arg;
    struct error err = {{0}};
    char prefix[16];

    for (int i = 0; i < 20; i++) {
        snprintf(prefix, sizeof(prefix), "T%d_%d_", p->id, i);
        if (post(p->e, prefix, p->n, &err) < 0)
            p->failures++;
    }
    return NULL;
}

static void test_concurrent_posts(void **state)
{
    struct tctx *t = *state;
    struct engine *e = start_engine(t->dir);
    pthread_t th[8];
    struct poster ps[8];

    for (int i = 0; i < 8; i++) {
        ps[i].e = e;
        ps[i].id = i;
        ps[i].failures = 0;
        ps[i].n = 2;
        assert_int_equal(pthread_create(&th[i], NULL, poster_main, &ps[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ps[i].failures, 0);
    }
    assert_int_equal(count_alerts(e), 8 * 20 * 2);
    engine_free(e);
    assert_int_equal(stored(t->dir).alerts, 8 * 20 * 2);
}

static void test_failed_commit_does_not_diverge(void **state)
{
    struct tctx *t = *state;
    struct engine *e = start_engine(t->dir);
    struct error err = {{0}};

    assert_int_equal(post(e, "Kept", 1, &err), 0);
    engine_fail_next_commits = 1;
    assert_int_equal(post(e, "Lost", 2, &err), -1);
    assert_non_null(strstr(err.msg, "storage unavailable"));
    /* Memory was rebuilt from disk: the failed batch is nowhere. */
    assert_int_equal(count_alerts(e), 1);
    assert_false(has_alert(e, "Lost0"));
    assert_true(has_alert(e, "Kept0"));
    /* The engine keeps working once the storage does (after its 1 s pause for timers). */
    assert_int_equal(post(e, "Later", 1, &err), 0);
    assert_true(has_alert(e, "Later0"));
    engine_free(e);
    assert_int_equal(stored(t->dir).alerts, 2);
}

struct bg {
    struct engine *e;
    const char *prefix; /* post this many alerts, or query when NULL */
    size_t n;
    int rc;
    size_t seen; /* the query's alert count */
    struct error err;
};

static void *bg_main(void *arg)
{
    struct bg *b = arg;

    if (b->prefix != NULL)
        b->rc = post(b->e, b->prefix, b->n, &b->err);
    else
        b->seen = count_alerts(b->e);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* A commit fails while the next batch is already applied in memory on top of
 * it (the pipeline): both batches' callers get the error, a query issued
 * meanwhile does not see either, and memory is rebuilt from disk. */
static void test_failure_with_batch_in_flight(void **state)
{
    struct tctx *t = *state;
    struct engine *e = start_engine(t->dir);
    struct error err = {{0}};
    /* 40 alerts: more writes than the engine thread commits inline. */
    struct bg a = {e, "LostA", 40, 0, 0, {{0}}};
    struct bg b = {e, "LostB", 1, 0, 0, {{0}}};
    struct bg c = {e, NULL, 0, 0, 0, {{0}}};
    pthread_t ta, tb, tc;

    assert_int_equal(post(e, "Kept", 1, &err), 0);
    engine_test_commit_delay_ms = 400;
    engine_fail_next_commits = 1;
    assert_int_equal(pthread_create(&ta, NULL, bg_main, &a), 0);
    /* Wait until A's batch is committing, then put B in flight behind it. */
    for (int i = 0; i < 5000 && !__atomic_load_n(&engine_test_committing, __ATOMIC_SEQ_CST); i++)
        sleep_ms(1);
    assert_true(__atomic_load_n(&engine_test_committing, __ATOMIC_SEQ_CST));
    assert_int_equal(pthread_create(&tb, NULL, bg_main, &b), 0);
    sleep_ms(50);
    assert_int_equal(pthread_create(&tc, NULL, bg_main, &c), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tc, NULL);
    engine_test_commit_delay_ms = 0;

    assert_int_equal(a.rc, -1);
    assert_non_null(strstr(a.err.msg, "storage unavailable"));
    assert_non_null(strstr(a.err.msg, "injected commit failure"));
    /* B was applied on top of A in memory, so it fails too, unwritten. */
    assert_int_equal(b.rc, -1);
    assert_non_null(strstr(b.err.msg, "an earlier batch did not commit"));
    /* The query answered after the rebuild: neither failed batch shows. */
    assert_int_equal(c.seen, 1);
    assert_int_equal(count_alerts(e), 1);
    assert_false(has_alert(e, "LostA0"));
    assert_false(has_alert(e, "LostB0"));
    assert_true(has_alert(e, "Kept0"));
    assert_int_equal(storage_count(engine_test_storage(e), &(struct storage_counts){0}, &err), 0);

    /* Later batches commit again. */
    assert_int_equal(post(e, "Later", 1, &err), 0);
    assert_true(has_alert(e, "Later0"));
    engine_free(e);
    assert_int_equal(stored(t->dir).alerts, 2);
}

/* Many concurrent posters with a slow commit keep batches in flight; every
 * answered post is on disk after a restart. */
static void test_pipeline_durable(void **state)
{
    struct tctx *t = *state;
    struct engine *e = start_engine(t->dir);
    pthread_t th[4];
    struct poster ps[4];
    struct storage_counts n;
    struct error err = {{0}};

    engine_test_commit_delay_ms = 5;
    for (int i = 0; i < 4; i++) {
        ps[i].e = e;
        ps[i].id = i;
        ps[i].failures = 0;
        ps[i].n = 40; /* more writes than the engine commits inline */
        assert_int_equal(pthread_create(&th[i], NULL, poster_main, &ps[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ps[i].failures, 0);
    }
    engine_test_commit_delay_ms = 0;
    /* Every answered post is already in the database (drained first). */
    assert_int_equal(storage_count(engine_test_storage(e), &n, &err), 0);
    assert_int_equal(n.alerts, 4 * 20 * 40);
    engine_free(e);
    assert_int_equal(stored(t->dir).alerts, 4 * 20 * 40);
}

static void test_silences(void **state)
{
    struct tctx *t = *state;
    struct engine *e = start_engine(t->dir);
    struct error err = {{0}};
    struct silence_in in;
    struct matcher m;
    char id[37];
    int status = 0;
    json_t *s;

    memset(&in, 0, sizeof(in));
    assert_int_equal(matcher_init(&m, MATCH_EQ, "alertname", "A0", &err), 0);
    assert_int_equal(matchers_push(&in.matchers, &m), 0);
    in.starts_at = clock_now_ms();
    in.ends_at = in.starts_at + 3600 * 1000;
    in.created_by = strdup("me");
    in.comment = strdup("c");
    assert_int_equal(engine_put_silence(e, &in, id, &status, &err), 0);
    assert_int_equal(status, 200);
    assert_int_equal(strlen(id), 36);

    assert_int_equal(post(e, "A", 1, &err), 0);
    {
        struct alert_query q = all_query();
        json_t *a = engine_query_alerts(e, &q);
        json_t *st = json_object_get(json_array_get(a, 0), "status");

        assert_string_equal(json_string_value(json_object_get(st, "state")), "suppressed");
        assert_string_equal(json_string_value(json_array_get(json_object_get(st, "silencedBy"), 0)),
                            id);
        json_decref(a);
        q.silenced = false;
        a = engine_query_alerts(e, &q);
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);
    }

    s = engine_get_silence(e, id);
    assert_non_null(s);
    assert_string_equal(json_string_value(json_object_get(json_object_get(s, "status"), "state")),
                        "active");
    assert_string_equal(json_string_value(json_object_get(s, "createdBy")), "me");
    assert_true(json_is_true(
        json_object_get(json_array_get(json_object_get(s, "matchers"), 0), "isEqual")));
    json_decref(s);

    /* Unknown id on update: 404. */
    memset(&in, 0, sizeof(in));
    in.id = strdup("00000000-0000-4000-8000-000000000000");
    assert_int_equal(matcher_init(&m, MATCH_EQ, "a", "b", &err), 0);
    assert_int_equal(matchers_push(&in.matchers, &m), 0);
    in.starts_at = clock_now_ms();
    in.ends_at = in.starts_at + 1000 * 1000;
    assert_int_equal(engine_put_silence(e, &in, id + 0, &status, &err), -1);
    assert_int_equal(status, 404);
    assert_null(engine_get_silence(e, "00000000-0000-4000-8000-000000000000"));

    engine_free(e);
    e = start_engine(t->dir);
    {
        json_t *all = engine_query_silences(e, NULL);

        assert_int_equal(json_array_size(all), 1);
        json_decref(all);
    }
    engine_free(e);
}

static void test_status_and_receivers(void **state)
{
    struct tctx *t = *state;
    struct engine *e = start_engine(t->dir);
    json_t *st = engine_status(e);
    json_t *rc = engine_receivers(e);

    assert_string_equal(
        json_string_value(json_object_get(json_object_get(st, "cluster"), "status")), "disabled");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(st, "config"), "original")),
               "webhook_configs"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(st, "versionInfo"), "version")),
        "0.25.0");
    assert_int_equal(json_array_size(rc), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rc, 1), "name")), "other");
    json_decref(st);
    json_decref(rc);
    engine_stop(e, 0);
    /* Stopped: queries and changes are refused, not hung. */
    assert_null(engine_status(e));
    {
        struct error err = {{0}};

        assert_int_equal(post(e, "X", 1, &err), -1);
    }
    engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_post_is_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_posts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_does_not_diverge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_with_batch_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_receivers, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
