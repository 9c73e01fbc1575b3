/*
 * test_alert.c - the alert model: copy, normalisation as Alertmanager's API
 * does it, validation messages, the overlap rule and every branch of
 * types.Alert.Merge.
 */
#include "core/alert.h"
#include "core/error.h"
#include "core/timefmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MIN 60000LL
#define T0  1700000000000LL

static void mk(struct alert *a, int64_t starts, int64_t ends, int64_t updated, bool timeout,
               const char *summary)
{
    alert_init(a);
    assert_int_equal(labels_set(&a->labels, "alertname", "Test"), 0);
    assert_int_equal(labels_set(&a->annotations, "summary", summary), 0);
    a->starts_at = starts;
    a->ends_at = ends;
    a->updated_at = updated;
    a->timeout = timeout;
    alert_update_fingerprint(a);
}

static void test_copy_release(void **state)
{
    struct alert a, b;

    (void)state;
    mk(&a, T0, T0 + MIN, T0, true, "s");
    assert_int_equal(alert_set_generator_url(&a, "http://prom/graph"), 0);
    alert_init(&b);
    assert_int_equal(alert_copy(&b, &a), 0);
    assert_true(labels_equal(&a.labels, &b.labels));
    assert_true(labels_equal(&a.annotations, &b.annotations));
    assert_string_equal(b.generator_url, "http://prom/graph");
    assert_ptr_not_equal(b.generator_url, a.generator_url);
    assert_int_equal(b.fingerprint, a.fingerprint);
    assert_true(b.timeout);
    assert_int_equal(b.ends_at, T0 + MIN);
    alert_release(&a);
    alert_release(&b);
    alert_release(NULL);
    assert_int_equal(alert_set_generator_url(&a, ""), 0);
    assert_null(a.generator_url);
}

static void test_resolved(void **state)
{
    struct alert a;

    (void)state;
    mk(&a, T0, TIME_UNSET, T0, false, "s");
    assert_false(alert_resolved_at(&a, T0 + 1000 * MIN));
    a.ends_at = T0 + MIN;
    assert_false(alert_resolved_at(&a, T0 + MIN - 1));
    assert_true(alert_resolved_at(&a, T0 + MIN));
    alert_release(&a);
}

static void test_normalize_validate(void **state)
{
    struct alert a;
    struct error err;

    (void)state;
    mk(&a, TIME_UNSET, TIME_UNSET, TIME_UNSET, false, "s");
    assert_int_equal(alert_validate(&a, &err), -1);
    assert_string_equal(err.msg, "start time missing");
    alert_normalize(&a, T0, 5 * MIN);
    assert_int_equal(a.starts_at, T0);
    assert_int_equal(a.ends_at, T0 + 5 * MIN);
    assert_int_equal(a.updated_at, T0);
    assert_true(a.timeout);
    assert_int_equal(alert_validate(&a, &err), 0);
    alert_release(&a);

    /* Only endsAt given: startsAt = endsAt, no timeout. */
    mk(&a, TIME_UNSET, T0 - MIN, TIME_UNSET, false, "s");
    alert_normalize(&a, T0, 5 * MIN);
    assert_int_equal(a.starts_at, T0 - MIN);
    assert_int_equal(a.ends_at, T0 - MIN);
    assert_false(a.timeout);
    alert_release(&a);

    mk(&a, T0, T0 - 1, T0, false, "s");
    assert_int_equal(alert_validate(&a, &err), -1);
    assert_string_equal(err.msg, "start time must be before end time");
    a.ends_at = T0;
    assert_int_equal(alert_validate(&a, &err), 0);
    assert_int_equal(labels_set(&a.labels, "1x", "v"), 0);
    assert_int_equal(alert_validate(&a, &err), -1);
    assert_string_equal(err.msg, "invalid label set: invalid label name \"1x\"");
    labels_release(&a.labels);
    assert_int_equal(alert_validate(&a, &err), -1);
    assert_string_equal(err.msg, "at least one label pair required");
    assert_int_equal(labels_set(&a.labels, "a", "b"), 0);
    assert_int_equal(labels_set(&a.annotations, "bad-name", "v"), 0);
    assert_int_equal(alert_validate(&a, &err), -1);
    assert_string_equal(err.msg, "invalid annotations: invalid label name \"bad-name\"");
    alert_release(&a);
}

static void test_overlaps(void **state)
{
    struct alert old, in;

    (void)state;
    mk(&old, T0, T0 + 10 * MIN, T0, false, "s");
    mk(&in, T0 + 5 * MIN, T0 + 20 * MIN, T0, false, "s");
    assert_true(alert_overlaps(&old, &in)); /* starts inside */
    in.starts_at = T0 - MIN;
    in.ends_at = T0 + 5 * MIN;
    assert_true(alert_overlaps(&old, &in)); /* ends inside */
    in.starts_at = T0 + 10 * MIN;
    in.ends_at = T0 + 20 * MIN;
    assert_false(alert_overlaps(&old, &in)); /* bounds are exclusive */
    in.starts_at = T0;
    in.ends_at = T0 + 10 * MIN;
    assert_false(alert_overlaps(&old, &in)); /* identical range: no strict overlap */
    alert_release(&old);
    alert_release(&in);
}

/* Merge of a stored alert with a re-post; returns the result in *stored. */
static void merge(struct alert *stored, struct alert *in, int64_t now)
{
    assert_int_equal(alert_merge(stored, in, now), 0);
    alert_release(in);
}

static void test_merge(void **state)
{
    struct alert a, in;
    int64_t now = T0 + 30 * MIN;

    (void)state;
    /* Younger gives annotations; earliest start wins; younger firing: a later
     * explicit end of the older wins over the younger's end. */
    mk(&a, T0, T0 + 60 * MIN, T0, false, "old");
    mk(&in, T0 + 5 * MIN, T0 + 40 * MIN, T0 + MIN, true, "new");
    merge(&a, &in, now);
    assert_string_equal(labels_get(&a.annotations, "summary"), "new");
    assert_int_equal(a.starts_at, T0);
    assert_int_equal(a.ends_at, T0 + 60 * MIN);
    assert_int_equal(a.updated_at, T0 + MIN);
    assert_true(a.timeout); /* the younger's flag, as in Go */
    alert_release(&a);

    /* Older end is later but a timeout one: the younger's end stays. */
    mk(&a, T0, T0 + 60 * MIN, T0, true, "old");
    mk(&in, T0, T0 + 40 * MIN, T0 + MIN, false, "new");
    merge(&a, &in, now);
    assert_int_equal(a.ends_at, T0 + 40 * MIN);
    assert_false(a.timeout);
    alert_release(&a);

    /* Younger resolved, older firing (not resolved): the younger's end stays even
     * though the older's is later and explicit. */
    mk(&a, T0, T0 + 60 * MIN, T0, false, "old");
    mk(&in, T0, T0 + 20 * MIN, T0 + MIN, false, "new");
    merge(&a, &in, now);
    assert_int_equal(a.ends_at, T0 + 20 * MIN);
    alert_release(&a);

    /* Both resolved: the later end wins, even a timeout one. */
    mk(&a, T0, T0 + 25 * MIN, T0, true, "old");
    mk(&in, T0, T0 + 20 * MIN, T0 + MIN, false, "new");
    merge(&a, &in, now);
    assert_int_equal(a.ends_at, T0 + 25 * MIN);
    alert_release(&a);

    /* The incoming alert is older (smaller updated_at): the stored one is the
     * younger and keeps its annotations. */
    mk(&a, T0 + 2 * MIN, T0 + 60 * MIN, T0 + 5 * MIN, false, "stored");
    mk(&in, T0, T0 + 50 * MIN, T0 + MIN, false, "late");
    merge(&a, &in, now);
    assert_string_equal(labels_get(&a.annotations, "summary"), "stored");
    assert_int_equal(a.starts_at, T0);
    assert_int_equal(a.ends_at, T0 + 60 * MIN);
    assert_int_equal(a.updated_at, T0 + 5 * MIN);
    alert_release(&a);

    /* Equal updated_at: the incoming one counts as younger. */
    mk(&a, T0, T0 + 60 * MIN, T0, false, "stored");
    mk(&in, T0, T0 + 60 * MIN, T0, false, "incoming");
    merge(&a, &in, now);
    assert_string_equal(labels_get(&a.annotations, "summary"), "incoming");
    alert_release(&a);
}

static int cmp_notify(const void *a, const void *b)
{
    return alert_compare_notify(a, b);
}

/* The order Alertmanager 0.25.0 sent these alerts in one webhook notification
 * (all posted at once into a single group): job first, then instance, then
 * fewer labels, then the set lacking the first differing name. */
static void test_notify_order(void **state)
{
    static const char *const want[][7] = {
        {"alertname", "B", "instance", "z", "job", "j1", NULL},
        {"alertname", "B", "job", "j2", NULL},
        {"alertname", "C", "instance", "a", NULL},
        {"alertname", "A", NULL},
        {"alertname", "A", "y", "1", NULL},
        {"alertname", "A", "x", "1", NULL},
        {"alertname", "A", "x", "2", NULL},
        {"alertname", "A", "b", "1", NULL},
        {"alertname", "Z", "b", "1", NULL},
        {"alertname", "A", "b", "1", "c", "1", NULL},
    };
    /* Posted in this order. */
    static const int posted[] = {5, 4, 6, 3, 1, 0, 2, 7, 9, 8};
    enum { N = sizeof(posted) / sizeof(posted[0]) };
    struct alert as[N];

    (void)state;
    for (int i = 0; i < N; i++) {
        alert_init(&as[i]);
        for (const char *const *kv = want[posted[i]]; kv[0] != NULL; kv += 2)
            assert_int_equal(labels_set(&as[i].labels, kv[0], kv[1]), 0);
    }
    qsort(as, N, sizeof(as[0]), cmp_notify);
    for (int i = 0; i < N; i++) {
        struct labels w = LABELS_INIT;

        for (const char *const *kv = want[i]; kv[0] != NULL; kv += 2)
            assert_int_equal(labels_set(&w, kv[0], kv[1]), 0);
        if (!labels_equal(&w, &as[i].labels))
            fail_msg("position %d holds the wrong alert", i);
        labels_release(&w);
    }
    for (int i = 0; i < N; i++)
        alert_release(&as[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_release),
        cmocka_unit_test(test_resolved),
        cmocka_unit_test(test_normalize_validate),
        cmocka_unit_test(test_overlaps),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_notify_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
