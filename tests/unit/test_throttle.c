/*
 * test_throttle.c - sliding-window limits per destination with a fake clock:
 * defaults (1/min, 10/h), merging of queued messages, fairness between
 * destinations, and an alert storm that loses nothing.
 */
#include "notifiers/throttle.h"

#include "core/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MIN  60000LL
#define HOUR (60 * MIN)

static void test_one_per_minute_and_merge(void **state)
{
    struct throttle *t = throttle_new(NULL, 0);
    struct throttle_batch b;
    int64_t now = 1000000;

    (void)state;
    assert_non_null(t);
    assert_int_equal(throttle_next(t, now), INT64_MAX);
    assert_int_equal(throttle_push(t, "sms:+1", 1, now), 0);
    assert_int_equal(throttle_next(t, now), now);
    assert_int_equal(throttle_pop(t, now, &b), 1);
    assert_string_equal(b.dest, "sms:+1");
    assert_int_equal(b.n, 1);
    assert_int_equal(b.ids[0], 1);
    throttle_batch_release(&b);

    /* Three more within the minute: held, then released together, oldest first. */
    for (int64_t id = 2; id <= 4; id++)
        assert_int_equal(throttle_push(t, "sms:+1", id, now + id * 1000), 0);
    assert_false(throttle_allowed(t, "sms:+1", now + 5000));
    assert_int_equal(throttle_pop(t, now + 5000, &b), 0);
    assert_int_equal(throttle_queued(t), 3);
    assert_int_equal(throttle_next(t, now + 5000), now + MIN);
    assert_int_equal(throttle_pop(t, now + MIN - 1, &b), 0);
    assert_int_equal(throttle_pop(t, now + MIN, &b), 1);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.ids[0], 2);
    assert_int_equal(b.ids[2], 4);
    throttle_batch_release(&b);
    assert_int_equal(throttle_queued(t), 0);
    assert_int_equal(throttle_next(t, now + MIN), INT64_MAX);
    /* Another destination is not affected. */
    assert_true(throttle_allowed(t, "sms:+2", now + MIN));
    throttle_free(t);
}

static void test_hourly_burst(void **state)
{
    struct throttle *t = throttle_new(NULL, 0);
    struct throttle_batch b;
    int64_t now = 0;
    int sent = 0;

    (void)state;
    /* A message every minute for two hours: 10 go out in the first hour, then one
     * every 6 minutes on average; never more than 10 in any hour. */
    int64_t times[200];

    for (int m = 0; m < 120; m++) {
        now = (int64_t)m * MIN;
        assert_int_equal(throttle_push(t, "sms:+1", m, now), 0);
        if (throttle_pop(t, now, &b) == 1) {
            times[sent++] = now;
            throttle_batch_release(&b);
        }
    }
    assert_int_equal(times[9], 9 * MIN);
    assert_int_equal(times[10], HOUR); /* the 11th waits for the hour window to slide */
    for (int i = 10; i < sent; i++)
        assert_true(times[i] - times[i - 10] >= HOUR);
    assert_int_equal(sent, 20);
    throttle_free(t);
}

static void test_custom_limits_and_fairness(void **state)
{
    const struct throttle_limit lim[] = {{1000, 2}};
    struct throttle *t = throttle_new(lim, 1);
    struct throttle_batch b;

    (void)state;
    assert_null(throttle_new((const struct throttle_limit[]){{0, 1}}, 1));
    assert_int_equal(throttle_record(t, "a", 0), 0);
    assert_int_equal(throttle_record(t, "a", 10), 0);
    assert_false(throttle_allowed(t, "a", 500));
    assert_true(throttle_allowed(t, "a", 1000));
    /* Served in order of their oldest queued message. */
    assert_int_equal(throttle_push(t, "b", 1, 20), 0);
    assert_int_equal(throttle_push(t, "c", 2, 10), 0);
    assert_int_equal(throttle_pop(t, 30, &b), 1);
    assert_string_equal(b.dest, "c");
    throttle_batch_release(&b);
    assert_int_equal(throttle_pop(t, 30, &b), 1);
    assert_string_equal(b.dest, "b");
    throttle_batch_release(&b);
    assert_int_equal(throttle_pop(t, 30, &b), 0);
    throttle_free(t);
    throttle_free(NULL);
    throttle_batch_release(NULL);
}

/* 500 alerts in 10 minutes to one number: at most 10 messages go out, none is lost. */
static void test_storm_loses_nothing(void **state)
{
    struct throttle *t = throttle_new(NULL, 0);
    struct throttle_batch b;
    char *seen = calloc(500, 1);
    int messages = 0;

    (void)state;
    for (int i = 0; i < 500; i++) {
        int64_t now = (int64_t)i * 1200; /* every 1.2 s */

        assert_int_equal(throttle_push(t, "sms:+1", i, now), 0);
        while (throttle_pop(t, now, &b) == 1) {
            messages++;
            for (size_t k = 0; k < b.n; k++)
                seen[b.ids[k]]++;
            throttle_batch_release(&b);
        }
    }
    /* Drain: follow throttle_next() like the delivery thread would. */
    for (int guard = 0; guard < 100 && throttle_queued(t) > 0; guard++) {
        int64_t at = throttle_next(t, 600000);

        assert_true(at != INT64_MAX);
        assert_int_equal(throttle_pop(t, at, &b), 1);
        messages++;
        for (size_t k = 0; k < b.n; k++)
            seen[b.ids[k]]++;
        throttle_batch_release(&b);
    }
    assert_int_equal(throttle_queued(t), 0);
    assert_true(messages <= 11);
    for (int i = 0; i < 500; i++)
        assert_int_equal(seen[i], 1);
    free(seen);
    throttle_free(t);
}

static void test_per_destination_api(void **state)
{
    struct throttle *t = throttle_new(NULL, 0);
    struct throttle_batch b;

    (void)state;
    assert_int_equal(throttle_next_dest(t, "x", 5), 5);
    assert_int_equal(throttle_push(t, "x", 1, 0), 0);
    assert_int_equal(throttle_push(t, "y", 2, 0), 0);
    assert_int_equal(throttle_pop_dest(t, "y", 0, &b), 1);
    assert_int_equal(b.ids[0], 2);
    throttle_batch_release(&b);
    assert_int_equal(throttle_pop_dest(t, "y", 10, &b), 0); /* nothing queued */
    assert_int_equal(throttle_push(t, "y", 3, 10), 0);
    assert_int_equal(throttle_pop_dest(t, "y", 10, &b), 0); /* limited */
    assert_int_equal(throttle_next_dest(t, "y", 10), MIN);
    assert_true(throttle_remove(t, "y", 3));
    assert_false(throttle_remove(t, "y", 3));
    assert_false(throttle_remove(t, "nope", 3));
    assert_int_equal(throttle_queued(t), 1); /* x's */
    assert_int_equal(throttle_pop_dest(t, "x", 0, &b), 1);
    throttle_batch_release(&b);
    throttle_free(t);
}

static void test_parse_limits(void **state)
{
    struct throttle_limit l[4];
    struct error err;
    size_t n;

    (void)state;
    assert_int_equal(throttle_parse_limits("1/1m,10/1h", l, 4, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].max, 1);
    assert_int_equal(l[0].window_ms, MIN);
    assert_int_equal(l[1].max, 10);
    assert_int_equal(l[1].window_ms, HOUR);
    assert_int_equal(throttle_parse_limits("3/500ms", l, 4, &n, &err), 0);
    assert_int_equal(l[0].window_ms, 500);
    assert_int_equal(throttle_parse_limits("0/1m", l, 4, &n, &err), -1);
    assert_non_null(strstr(err.msg, "0/1m"));
    assert_int_equal(throttle_parse_limits("1-1m", l, 4, &n, &err), -1);
    assert_int_equal(throttle_parse_limits("1/xx", l, 4, &n, &err), -1);
    assert_int_equal(throttle_parse_limits("", l, 4, &n, &err), -1);
    assert_int_equal(throttle_parse_limits("1/1s,1/1s,1/1s", l, 2, &n, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_per_minute_and_merge),
        cmocka_unit_test(test_hourly_burst),
        cmocka_unit_test(test_custom_limits_and_fairness),
        cmocka_unit_test(test_storm_loses_nothing),
        cmocka_unit_test(test_per_destination_api),
        cmocka_unit_test(test_parse_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
