/*
 * test_metrics.c - core/metrics.h: counters, gauges and histograms render in
 * Prometheus text format (HELP/TYPE, escaped labels, cumulative buckets),
 * integration names lose their "[n]" index, and concurrent increments from
 * several threads are all counted.
 */
#include "core/buf.h"
#include "core/metrics.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static char *render(void)
{
    struct buf b;
    char *s;

    buf_init(&b, 1 << 22);
    metrics_render(&b);
    s = strdup(buf_str(&b));
    buf_release(&b);
    return s;
}

static void test_counter_and_labels(void **state)
{
    char *out;

    (void)state;
    metrics_add(MET_NOTIFY_SENT, "webhook[0]", "team \"a\"\\b", 2);
    metrics_add(MET_NOTIFY_SENT, "webhook[1]", "team \"a\"\\b", 1);
    assert_int_equal(metrics_get(MET_NOTIFY_SENT, "webhook", "team \"a\"\\b"), 3);
    out = render();
    assert_non_null(strstr(out, "# TYPE amrouter_notifications_total counter\n"));
    assert_non_null(strstr(out, "amrouter_notifications_total{integration=\"webhook\",receiver="
                                "\"team \\\"a\\\"\\\\b\"} 3\n"));
    assert_non_null(strstr(out, "amrouter_engine_queue_depth 0\n"));
    free(out);
}

static void test_histogram(void **state)
{
    char *out;

    (void)state;
    metrics_observe(MET_NOTIFY_LATENCY, "slack[0]", NULL, 0.003);
    metrics_observe(MET_NOTIFY_LATENCY, "slack[0]", NULL, 0.2);
    metrics_observe(MET_NOTIFY_LATENCY, "slack[0]", NULL, 100);
    out = render();
    assert_non_null(strstr(out, "# TYPE amrouter_notification_latency_seconds histogram\n"));
    assert_non_null(strstr(
        out,
        "amrouter_notification_latency_seconds_bucket{integration=\"slack\",le=\"0.0025\"} 0\n"));
    assert_non_null(strstr(
        out,
        "amrouter_notification_latency_seconds_bucket{integration=\"slack\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(
        out,
        "amrouter_notification_latency_seconds_bucket{integration=\"slack\",le=\"0.25\"} 2\n"));
    assert_non_null(strstr(
        out, "amrouter_notification_latency_seconds_bucket{integration=\"slack\",le=\"10\"} 2\n"));
    assert_non_null(strstr(
        out,
        "amrouter_notification_latency_seconds_bucket{integration=\"slack\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(
        out, "amrouter_notification_latency_seconds_sum{integration=\"slack\"} 100.203000\n"));
    assert_non_null(
        strstr(out, "amrouter_notification_latency_seconds_count{integration=\"slack\"} 3\n"));
    free(out);
}

static void *bump(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++)
        metrics_add(MET_HTTP_REQUESTS, (i & 1) ? "200" : "404", NULL, 1);
    return NULL;
}

static void test_concurrent(void **state)
{
    pthread_t t[4];

    (void)state;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, bump, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(metrics_get(MET_HTTP_REQUESTS, "200", NULL), 20000);
    assert_int_equal(metrics_get(MET_HTTP_REQUESTS, "404", NULL), 20000);
    metrics_set(MET_ENGINE_QUEUE, NULL, NULL, 7);
    assert_int_equal(metrics_get(MET_ENGINE_QUEUE, NULL, NULL), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_labels),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
