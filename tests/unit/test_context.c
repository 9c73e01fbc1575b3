/*
 * test_context.c - the webhook payload (exactly Alertmanager's version 4) and
 * the template context built from a notify_data.
 */
#include "core/alert.h"
#include "core/labels.h"
#include "core/timefmt.h"
#include "templates/context.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#define NOW 1795435200000LL /* 2026-11-23T12:00:00Z */

struct fixture {
    struct alert a[3];
    const struct alert *p[3];
    struct labels group;
    struct notify_data d;
};

static void make_alert(struct alert *a, const char *name, const char *inst, int64_t starts,
                       int64_t ends)
{
    alert_init(a);
    assert_int_equal(labels_set(&a->labels, "alertname", name), 0);
    assert_int_equal(labels_set(&a->labels, "instance", inst), 0);
    assert_int_equal(labels_set(&a->labels, "severity", "page"), 0);
    assert_int_equal(labels_set(&a->annotations, "summary", "disk full"), 0);
    assert_int_equal(labels_set(&a->annotations, "host", inst), 0);
    a->starts_at = starts;
    a->ends_at = ends;
    alert_update_fingerprint(a);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    make_alert(&f->a[0], "DiskFull", "a", NOW - 60000, NOW + 240000); /* firing */
    make_alert(&f->a[1], "DiskFull", "b", NOW - 61500, TIME_UNSET);   /* firing */
    make_alert(&f->a[2], "DiskFull", "c", NOW - 120000, NOW - 1000);  /* resolved */
    assert_int_equal(alert_set_generator_url(&f->a[0], "http://prom:9090/graph?g0=1&x=<"), 0);
    for (int i = 0; i < 3; i++)
        f->p[i] = &f->a[i];
    labels_init(&f->group);
    assert_int_equal(labels_set(&f->group, "alertname", "DiskFull"), 0);
    f->d.receiver = "ops";
    f->d.group_key = "{}:{alertname=\"DiskFull\"}";
    f->d.group_labels = &f->group;
    f->d.alerts = f->p;
    f->d.n_alerts = 3;
    f->d.now = NOW;
    f->d.external_url = "http://am:9093";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 3; i++)
        alert_release(&f->a[i]);
    labels_release(&f->group);
    free(f);
    return 0;
}

static void assert_json(json_t *got, const char *want_text)
{
    json_error_t jerr;
    json_t *want = json_loads(want_text, 0, &jerr);

    if (want == NULL)
        fail_msg("bad expected JSON: %s", jerr.text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_INDENT(1) | JSON_SORT_KEYS);

        printf("got:\n%s\n", g);
        free(g);
        fail_msg("JSON differs");
    }
    json_decref(want);
}

static void test_webhook_payload(void **state)
{
    struct fixture *f = *state;
    json_t *p = context_webhook(&f->d);
    char fp[3][FINGERPRINT_STRLEN];
    char want[4096];

    for (int i = 0; i < 3; i++)
        fingerprint_format(f->a[i].fingerprint, fp[i]);
    snprintf(
        want, sizeof(want),
        "{\"receiver\": \"ops\", \"status\": \"firing\", \"alerts\": ["
        "{\"status\": \"firing\", \"labels\": {\"alertname\": \"DiskFull\", \"instance\": \"a\","
        " \"severity\": \"page\"}, \"annotations\": {\"host\": \"a\", \"summary\": \"disk full\"},"
        " \"startsAt\": \"2026-11-23T11:59:00Z\", \"endsAt\": \"0001-01-01T00:00:00Z\","
        " \"generatorURL\": \"http://prom:9090/graph?g0=1&x=<\", \"fingerprint\": \"%s\"},"
        "{\"status\": \"firing\", \"labels\": {\"alertname\": \"DiskFull\", \"instance\": \"b\","
        " \"severity\": \"page\"}, \"annotations\": {\"host\": \"b\", \"summary\": \"disk full\"},"
        " \"startsAt\": \"2026-11-23T11:58:58.5Z\", \"endsAt\": \"0001-01-01T00:00:00Z\","
        " \"generatorURL\": \"\", \"fingerprint\": \"%s\"},"
        "{\"status\": \"resolved\", \"labels\": {\"alertname\": \"DiskFull\", \"instance\": \"c\","
        " \"severity\": \"page\"}, \"annotations\": {\"host\": \"c\", \"summary\": \"disk full\"},"
        " \"startsAt\": \"2026-11-23T11:58:00Z\", \"endsAt\": \"2026-11-23T11:59:59Z\","
        " \"generatorURL\": \"\", \"fingerprint\": \"%s\"}],"
        " \"groupLabels\": {\"alertname\": \"DiskFull\"},"
        " \"commonLabels\": {\"alertname\": \"DiskFull\", \"severity\": \"page\"},"
        " \"commonAnnotations\": {\"summary\": \"disk full\"},"
        " \"externalURL\": \"http://am:9093\", \"version\": \"4\","
        " \"groupKey\": \"{}:{alertname=\\\"DiskFull\\\"}\", \"truncatedAlerts\": 0}",
        fp[0], fp[1], fp[2]);
    assert_non_null(p);
    assert_json(p, want);
    /* Fingerprints are Alertmanager's: 16 hex digits of the label set's FNV-1a. */
    assert_int_equal(strlen(fp[0]), 16);
    json_decref(p);
}

static void test_webhook_truncation(void **state)
{
    struct fixture *f = *state;
    json_t *p;

    f->d.max_alerts = 1;
    /* Only the resolved alert differs in instance; put it first and cut to one:
     * commonLabels and status still come from all three. */
    f->p[0] = &f->a[2];
    f->p[2] = &f->a[0];
    p = context_webhook(&f->d);
    assert_non_null(p);
    assert_int_equal(json_array_size(json_object_get(p, "alerts")), 1);
    assert_int_equal(json_integer_value(json_object_get(p, "truncatedAlerts")), 2);
    assert_string_equal(json_string_value(json_object_get(p, "status")), "firing");
    assert_json(json_object_get(p, "commonLabels"),
                "{\"alertname\": \"DiskFull\", \"severity\": \"page\"}");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(p, "alerts"), 0), "status")),
                        "resolved");
    json_decref(p);
}

static void test_all_resolved_and_empty(void **state)
{
    struct fixture *f = *state;
    json_t *p;

    f->d.alerts = &f->p[2];
    f->d.n_alerts = 1;
    f->d.external_url = NULL;
    f->d.group_labels = NULL;
    p = context_webhook(&f->d);
    assert_string_equal(json_string_value(json_object_get(p, "status")), "resolved");
    assert_string_equal(json_string_value(json_object_get(p, "externalURL")), "");
    assert_json(json_object_get(p, "groupLabels"), "{}");
    /* One alert: everything it has is common. */
    assert_json(json_object_get(p, "commonAnnotations"),
                "{\"host\": \"c\", \"summary\": \"disk full\"}");
    json_decref(p);
    f->d.n_alerts = 0;
    p = context_webhook(&f->d);
    assert_json(json_object_get(p, "alerts"), "[]");
    assert_json(json_object_get(p, "commonLabels"), "{}");
    assert_string_equal(json_string_value(json_object_get(p, "status")), "resolved");
    json_decref(p);
}

static void test_template_extras(void **state)
{
    struct fixture *f = *state;
    struct notify_incident inc = {7,
                                  "http://am:9093/incidents/7",
                                  "http://am:9093/ack/t",
                                  "acknowledged",
                                  "bob",
                                  NOW - 30000,
                                  "looking",
                                  3};
    json_t *c;
    json_t *a0;

    c = context_template(&f->d);
    assert_non_null(c);
    assert_null(json_object_get(c, "incident"));
    assert_int_equal(json_integer_value(json_object_get(c, "firingCount")), 2);
    assert_int_equal(json_integer_value(json_object_get(c, "resolvedCount")), 1);
    assert_int_equal(json_integer_value(json_object_get(c, "alertsCount")), 3);
    assert_true(json_is_true(json_object_get(c, "firing")));
    assert_true(json_is_false(json_object_get(c, "resolved")));
    assert_int_equal(json_array_size(json_object_get(c, "alertsFiring")), 2);
    assert_int_equal(json_array_size(json_object_get(c, "alertsResolved")), 1);
    assert_json(json_object_get(c, "groupLabelsList"),
                "[{\"name\": \"alertname\", \"value\": \"DiskFull\", \"last\": true}]");
    assert_json(json_object_get(c, "commonLabelsList"),
                "[{\"name\": \"alertname\", \"value\": \"DiskFull\", \"last\": false},"
                " {\"name\": \"severity\", \"value\": \"page\", \"last\": true}]");
    assert_json(json_object_get(c, "commonAnnotationsList"),
                "[{\"name\": \"summary\", \"value\": \"disk full\", \"last\": true}]");
    a0 = json_array_get(json_object_get(c, "alerts"), 0);
    assert_true(json_is_true(json_object_get(a0, "firing")));
    assert_string_equal(json_string_value(json_object_get(a0, "startsAtText")),
                        "2026-11-23 11:59:00 UTC");
    assert_string_equal(json_string_value(json_object_get(a0, "endsAtText")), "");
    assert_int_equal(json_array_size(json_object_get(a0, "labelsList")), 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(c, "alertsResolved"), 0), "endsAtText")),
                        "2026-11-23 11:59:59 UTC");
    /* The webhook fields are all there too. */
    assert_string_equal(json_string_value(json_object_get(c, "version")), "4");
    json_decref(c);

    f->d.incident = &inc;
    c = context_template(&f->d);
    assert_json(json_object_get(c, "incident"),
                "{\"id\": 7, \"url\": \"http://am:9093/incidents/7\","
                " \"ack_url\": \"http://am:9093/ack/t\", \"status\": \"acknowledged\","
                " \"acked\": true, \"acked_by\": \"bob\", \"acked_at\": \"2026-11-23T11:59:30Z\","
                " \"acked_at_text\": \"2026-11-23 11:59:30 UTC\", \"comment\": \"looking\","
                " \"step\": 3}");
    json_decref(c);
    /* Not acknowledged: empty strings, acked false. */
    inc.acked_by = NULL;
    inc.acked_at = TIME_UNSET;
    inc.comment = NULL;
    c = context_template(&f->d);
    assert_json(json_object_get(c, "incident"),
                "{\"id\": 7, \"url\": \"http://am:9093/incidents/7\","
                " \"ack_url\": \"http://am:9093/ack/t\", \"status\": \"acknowledged\","
                " \"acked\": false, \"acked_by\": \"\", \"acked_at\": \"\","
                " \"acked_at_text\": \"\", \"comment\": \"\", \"step\": 3}");
    json_decref(c);
    /* The webhook payload never carries the extras. */
    c = context_webhook(&f->d);
    assert_null(json_object_get(c, "incident"));
    assert_null(json_object_get(c, "firingCount"));
    assert_null(json_object_get(json_array_get(json_object_get(c, "alerts"), 0), "labelsList"));
    json_decref(c);
}

static void test_example(void **state)
{
    json_t *c = context_example(50);

    (void)state;
    assert_non_null(c);
    assert_int_equal(json_array_size(json_object_get(c, "alerts")), 50);
    assert_int_equal(json_integer_value(json_object_get(c, "resolvedCount")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "incident"), "id")), 42);
    json_decref(c);
}

/* The hand-written time formatting gives what the general code gives. */
static void test_time_formats(void **state)
{
    static const int64_t fixed[] = {
        0,
        1,
        10,
        100,
        999,
        1000,
        86399999,
        86400000,
        951782400000,
        951868799999,
        4107542400000,
        1795435200000,
        1795435200500,
        1795435200120,
        1795435200123,
        253402300799999,
        253402300800000,
        -1,
        -1000,
        -86400001,
    };
    char a[64], b[64];
    uint64_t x = 88172645463325252ULL;

    (void)state;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 20000; i++) {
        int64_t ms;
        time_t t;
        struct tm tm;

        if (i < sizeof(fixed) / sizeof(fixed[0])) {
            ms = fixed[i];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ms = (int64_t)(x % 253402300800000ULL); /* years 1970..9999 */
            if (i % 3 == 0)
                ms -= ms % 1000; /* whole seconds too */
        }
        assert_string_equal(context_time_nano(ms, a), time_format_rfc3339nano(ms, b, sizeof(b)));
        if (ms == TIME_UNSET) /* 0: "" (checked below) */
            continue;
        t = (time_t)(ms / 1000);
        assert_non_null(gmtime_r(&t, &tm));
        strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S UTC", &tm);
        assert_string_equal(context_time_text(ms, a), b);
    }
    assert_string_equal(context_time_text(TIME_UNSET, a), "");
    assert_string_equal(context_time_nano(TIME_UNSET, a), "0001-01-01T00:00:00Z");
}

/* The jobs of one notification share one prepared context; other inputs get their own. */
static void test_shared(void **state)
{
    struct context_example_data *x = context_example_data_new(5, EXAMPLE_FIRING);
    struct context_example_data *y = context_example_data_new(5, EXAMPLE_ACKNOWLEDGED);
    struct context_shared *a, *b, *c;
    json_t *plain;
    char *s1, *s2;

    (void)state;
    assert_non_null(x);
    assert_non_null(y);
    a = context_shared_get(context_example_data_get(x));
    b = context_shared_get(context_example_data_get(x));
    c = context_shared_get(context_example_data_get(y));
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_non_null(context_shared_data(a));
    plain = context_template(context_example_data_get(x));
    s1 = json_dumps(plain, JSON_SORT_KEYS);
    s2 = json_dumps(context_shared_json(a), JSON_SORT_KEYS);
    assert_string_equal(s1, s2);
    free(s1);
    free(s2);
    json_decref(plain);
    /* Held ones outlive a flush. */
    context_shared_flush();
    assert_non_null(json_object_get(context_shared_json(b), "alerts"));
    context_shared_release(a);
    context_shared_release(b);
    context_shared_release(c);
    context_shared_release(NULL);
    /* After the flush the same inputs build a new one. */
    a = context_shared_get(context_example_data_get(x));
    assert_non_null(a);
    context_shared_release(a);
    context_shared_flush();
    context_example_data_free(x);
    context_example_data_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_formats),
        cmocka_unit_test(test_shared),
        cmocka_unit_test_setup_teardown(test_webhook_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_resolved_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_extras, setup, teardown),
        cmocka_unit_test(test_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
