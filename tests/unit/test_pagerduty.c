/*
 * test_pagerduty.c - the Events API v2 request: URL, headers, the exact JSON
 * for trigger, acknowledge and resolve, the dedup_key (Alertmanager's SHA-256
 * of the group key), severity checks and the 1024-byte summary cut.
 */
#include "test_notifiers_fixture.h"

/* sha256('{}/{team="db"}:{alertname="PostgresDown", cluster="prod-eu"}') */
static char expected_dedup[65];

static void test_trigger_exact(void **state)
{
    struct nfix f;
    const struct notify_request *r;

    (void)state;
    assert_int_equal(
        notify_sha256_hex("{}/{team=\"db\"}:{alertname=\"PostgresDown\", cluster=\"prod-eu\"}",
                          expected_dedup),
        0);
    nfix_load(&f, "  pagerduty_configs:\n"
                  "  - routing_key: R0UTINGKEY\n"
                  "    url: http://127.0.0.1:1/v2/enqueue\n"
                  "    client: amr\n"
                  "    client_url: 'https://am.example.com:9093/x'\n"
                  "    description: 'S {{commonLabels.alertname}}'\n"
                  "    severity: '{{commonLabels.severity}}'\n"
                  "    class: db\n"
                  "    component: postgres\n"
                  "    group: '{{commonLabels.cluster}}'\n"
                  "    details:\n"
                  "      firing: '{{firingCount}}'\n"
                  "    links:\n"
                  "    - {href: 'https://runbooks/x', text: Runbook}\n");
    assert_int_equal(pagerduty_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_int_equal(f.out.n, 1);
    r = &f.out.v[0];
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, "http://127.0.0.1:1/v2/enqueue");
    assert_string_equal(notify_request_header(r, "Content-Type"), "application/json");
    assert_int_equal(r->ok_status, 202);
    assert_string_equal(r->idem_key, expected_dedup);
    {
        char want[2048];

        snprintf(want, sizeof(want),
                 "{\"routing_key\":\"R0UTINGKEY\",\"event_action\":\"trigger\","
                 "\"dedup_key\":\"%s\",\"payload\":{\"summary\":\"S PostgresDown\","
                 "\"source\":\"am.example.com\",\"severity\":\"critical\","
                 "\"timestamp\":\"2026-11-23T12:00:00.000Z\",\"component\":\"postgres\","
                 "\"group\":\"prod-eu\",\"class\":\"db\",\"custom_details\":{\"firing\":\"2\"}},"
                 "\"client\":\"amr\",\"client_url\":\"https://am.example.com:9093/x\","
                 "\"links\":[{\"href\":\"http://amrouter.example.com:9093/ack/"
                 "42.1796040000.3q2-7Ld9fT0yWb1kVxNcRg\",\"text\":\"Acknowledge incident #42\"},"
                 "{\"href\":\"https://runbooks/x\",\"text\":\"Runbook\"}],\"images\":[]}",
                 expected_dedup);
        assert_string_equal(buf_str(&r->body), want);
    }
    nfix_release(&f);
}

static void test_defaults_ack_resolve(void **state)
{
    struct nfix f;
    json_t *b, *p;

    (void)state;
    nfix_load(&f, "  pagerduty_configs:\n  - routing_key: K\n");
    assert_int_equal(pagerduty_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_string_equal(f.out.v[0].url, "https://events.pagerduty.com/v2/enqueue");
    b = nfix_json(&f, 0);
    p = json_object_get(b, "payload");
    assert_string_equal(json_string_value(json_object_get(p, "summary")),
                        "[FIRING:2] PostgresDown prod-eu (incident #42)");
    assert_string_equal(json_string_value(json_object_get(p, "severity")), "error");
    assert_string_equal(json_string_value(json_object_get(p, "source")), "amrouter.example.com");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(p, "custom_details"), "num_firing")), 2);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(p, "custom_details"), "firing")), 2);
    assert_string_equal(json_string_value(json_object_get(b, "client")), "amrouter");
    assert_string_equal(json_string_value(json_object_get(b, "client_url")),
                        "http://amrouter.example.com:9093");
    json_decref(b);
    notify_requests_release(&f.out);

    /* Acknowledged: acknowledge, same dedup_key, no payload, no ack link. */
    nfix_ack(&f);
    assert_int_equal(pagerduty_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    b = nfix_json(&f, 0);
    assert_string_equal(json_string_value(json_object_get(b, "event_action")), "acknowledge");
    assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), expected_dedup);
    assert_null(json_object_get(b, "payload"));
    assert_int_equal(json_array_size(json_object_get(b, "links")), 0);
    json_decref(b);
    notify_requests_release(&f.out);

    nfix_resolve(&f);
    assert_int_equal(pagerduty_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    b = nfix_json(&f, 0);
    assert_string_equal(json_string_value(json_object_get(b, "event_action")), "resolve");
    assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), expected_dedup);
    assert_string_equal(json_string_value(json_object_get(b, "routing_key")), "K");
    json_decref(b);
    nfix_release(&f);
}

static void test_summary_cut_and_service_key(void **state)
{
    struct nfix f;
    json_t *b;
    const char *s;
    char yaml[4096];
    char desc[1400];

    (void)state;
    /* 700 x "é" = 1400 bytes: cut to <= 1024 bytes on a character boundary with "…". */
    for (int i = 0; i < 699; i++)
        memcpy(desc + 2 * i, "\xC3\xA9", 3);
    snprintf(yaml, sizeof(yaml),
             "  pagerduty_configs:\n  - service_key: V1KEY\n    description: '%s'\n"
             "    severity: bogus{{x}}\n",
             desc);
    nfix_load(&f, yaml);
    assert_int_equal(pagerduty_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    b = nfix_json(&f, 0);
    assert_string_equal(json_string_value(json_object_get(b, "routing_key")), "V1KEY");
    s = json_string_value(json_object_get(json_object_get(b, "payload"), "summary"));
    assert_true(strlen(s) <= 1024);
    assert_true(strlen(s) >= 1020);
    assert_string_equal(s + strlen(s) - 3, "\xE2\x80\xA6");
    assert_int_equal(((unsigned char)s[strlen(s) - 4] & 0xC0) == 0x80, 1); /* é's 2nd byte */
    /* A severity that renders to something PagerDuty refuses falls back to error. */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(b, "payload"), "severity")), "error");
    json_decref(b);
    nfix_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trigger_exact),
        cmocka_unit_test(test_defaults_ack_resolve),
        cmocka_unit_test(test_summary_cut_and_service_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
