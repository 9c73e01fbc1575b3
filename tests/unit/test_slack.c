/*
 * test_slack.c - the Slack incoming-webhook request: URL, headers and the
 * exact JSON body for the defaults, for every configurable field, for each
 * status colour, the ack button rules, and that the webhook URL (the secret)
 * appears only where it must.
 */
#include "test_notifiers_fixture.h"

#define HOOK "https://hooks.slack.com/services/T000/B000/SECRETxyz"

static void test_defaults(void **state)
{
    struct nfix f;
    json_t *b, *att;
    const struct notify_request *r;

    (void)state;
    nfix_load(&f, "  slack_configs:\n  - api_url: " HOOK "\n    channel: '#db'\n");
    assert_int_equal(slack_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_int_equal(f.out.n, 1);
    r = &f.out.v[0];
    assert_int_equal(r->proto, NOTIFY_PROTO_HTTP);
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, HOOK);
    assert_string_equal(r->redacted_url, "https://hooks.slack.com/<redacted>");
    assert_string_equal(notify_request_header(r, "content-type"), "application/json");
    assert_int_equal(r->ok_status, 200);
    assert_null(strstr(buf_str(&r->body), "SECRET"));

    b = nfix_json(&f, 0);
    assert_string_equal(json_string_value(json_object_get(b, "channel")), "#db");
    assert_null(json_object_get(b, "username"));
    assert_int_equal(json_array_size(json_object_get(b, "attachments")), 1);
    att = json_array_get(json_object_get(b, "attachments"), 0);
    assert_string_equal(json_string_value(json_object_get(att, "title")),
                        "[FIRING:2] PostgresDown prod-eu (incident #42)");
    assert_string_equal(json_string_value(json_object_get(att, "fallback")),
                        "[FIRING:2] PostgresDown prod-eu (incident #42)");
    assert_string_equal(json_string_value(json_object_get(att, "title_link")),
                        "http://amrouter.example.com:9093/incidents/42");
    assert_string_equal(json_string_value(json_object_get(att, "color")), "danger");
    assert_non_null(strstr(json_string_value(json_object_get(att, "text")), "db-1.prod:9187"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(att, "mrkdwn_in"), 2)),
                        "text");
    assert_null(json_object_get(att, "fields"));
    assert_null(json_object_get(att, "pretext"));
    {
        json_t *btn = json_array_get(json_object_get(att, "actions"), 0);

        assert_int_equal(json_array_size(json_object_get(att, "actions")), 1);
        assert_string_equal(json_string_value(json_object_get(btn, "type")), "button");
        assert_string_equal(json_string_value(json_object_get(btn, "text")), "Acknowledge");
        assert_string_equal(
            json_string_value(json_object_get(btn, "url")),
            "http://amrouter.example.com:9093/ack/42.1796040000.3q2-7Ld9fT0yWb1kVxNcRg");
    }
    json_decref(b);
    nfix_release(&f);
}

/* Every field set: the exact body bytes. */
static void test_exact_body(void **state)
{
    struct nfix f;

    (void)state;
    nfix_load(&f, "  slack_configs:\n"
                  "  - api_url: " HOOK "\n"
                  "    channel: '#ops'\n"
                  "    username: amrouter\n"
                  "    icon_emoji: ':fire:'\n"
                  "    icon_url: https://example.com/i.png\n"
                  "    title: 'T {{receiver}}'\n"
                  "    title_link: 'https://x/{{incident.id}}'\n"
                  "    text: 'a <b> & {{commonLabels.job}}'\n"
                  "    pretext: pre\n"
                  "    footer: foot\n"
                  "    fallback: fb\n"
                  "    color: '{{#firing}}#ff0000{{/firing}}'\n"
                  "    ack_button: false\n"
                  "    fields:\n"
                  "    - {title: Cluster, value: '{{commonLabels.cluster}}', short: true}\n"
                  "    - {title: Job, value: '{{commonLabels.job}}'}\n");
    assert_int_equal(slack_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_string_equal(buf_str(&f.out.v[0].body),
                        "{\"channel\":\"#ops\",\"username\":\"amrouter\",\"icon_emoji\":\":fire:\","
                        "\"attachments\":[{\"title\":\"T team-db\",\"title_link\":\"https://x/42\","
                        "\"pretext\":\"pre\",\"text\":\"a <b> & postgres\",\"fallback\":\"fb\","
                        "\"footer\":\"foot\",\"color\":\"#ff0000\","
                        "\"mrkdwn_in\":[\"fallback\",\"pretext\",\"text\"],"
                        "\"fields\":[{\"title\":\"Cluster\",\"value\":\"prod-eu\",\"short\":true},"
                        "{\"title\":\"Job\",\"value\":\"postgres\",\"short\":false}]}]}");
    nfix_release(&f);
}

static void test_colors_and_button(void **state)
{
    struct nfix f;
    json_t *b, *att;

    (void)state;
    /* Acknowledged: warning, no button. */
    nfix_load(&f, "  slack_configs:\n  - api_url: " HOOK "\n    icon_url: https://e/i.png\n");
    nfix_ack(&f);
    assert_int_equal(slack_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    b = nfix_json(&f, 0);
    assert_string_equal(json_string_value(json_object_get(b, "icon_url")), "https://e/i.png");
    att = json_array_get(json_object_get(b, "attachments"), 0);
    assert_string_equal(json_string_value(json_object_get(att, "color")), "warning");
    assert_null(json_object_get(att, "actions"));
    assert_non_null(strstr(json_string_value(json_object_get(att, "title")), "acknowledged"));
    json_decref(b);
    notify_requests_release(&f.out);

    /* Resolved: good, no button. */
    nfix_resolve(&f);
    assert_int_equal(slack_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    b = nfix_json(&f, 0);
    att = json_array_get(json_object_get(b, "attachments"), 0);
    assert_string_equal(json_string_value(json_object_get(att, "color")), "good");
    assert_null(json_object_get(att, "actions"));
    assert_int_equal(strncmp(json_string_value(json_object_get(att, "title")), "[RESOLVED]", 10),
                     0);
    json_decref(b);
    notify_requests_release(&f.out);

    /* No incident: title_link falls back to the external URL, no button. */
    json_object_del(f.ctx, "incident");
    json_object_set_new(f.ctx, "status", json_string("firing"));
    assert_int_equal(slack_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    b = nfix_json(&f, 0);
    att = json_array_get(json_object_get(b, "attachments"), 0);
    assert_string_equal(json_string_value(json_object_get(att, "title_link")),
                        "http://amrouter.example.com:9093");
    assert_null(json_object_get(att, "actions"));
    json_decref(b);
    nfix_release(&f);
}

/* A template that fails at render (output cap) reports the field, not the URL. */
static void test_error_names_field(void **state)
{
    struct nfix f;
    char big[200];

    (void)state;
    snprintf(big, sizeof(big),
             "  slack_configs:\n  - api_url: " HOOK "\n    text: '{{>nosuch}}'\n");
    memset(&f, 0, sizeof(f));
    {
        char yaml[1024];

        snprintf(yaml, sizeof(yaml), "route: {receiver: r}\nreceivers:\n- name: r\n%s", big);
        f.cfg = config_load_string(yaml, "test.yml", NULL, &f.err);
    }
    /* The loader itself refuses a missing partial; the error names the field. */
    assert_null(f.cfg);
    assert_non_null(strstr(f.err.msg, "text"));
    assert_null(strstr(f.err.msg, "SECRET"));
}

static void test_redact_url(void **state)
{
    char *s;

    (void)state;
    s = notify_redact_url("https://user:pw@hooks.slack.com/services/A/B/C?x=1");
    assert_string_equal(s, "https://hooks.slack.com/<redacted>");
    free(s);
    s = notify_redact_url("http://127.0.0.1:8080/");
    assert_string_equal(s, "http://127.0.0.1:8080");
    free(s);
    s = notify_redact_url("not a url");
    assert_string_equal(s, "<redacted>");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),          cmocka_unit_test(test_exact_body),
        cmocka_unit_test(test_colors_and_button), cmocka_unit_test(test_error_names_field),
        cmocka_unit_test(test_redact_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
