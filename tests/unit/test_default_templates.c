/*
 * test_default_templates.c - the default templates render the example
 * notification to exactly the text in tests/unit/expected/NAME.txt (golden
 * files, reviewed by hand; regenerate with AMR_UPDATE_EXPECTED=1 and review
 * the diff), and keep their promises: one-line fields have no newline, the SMS
 * fits one segment with its ack link, hostile label values are escaped, the
 * ack page has its form and CSRF field, and an acknowledged incident shows who.
 */
#include "core/buf.h"
#include "core/error.h"
#include "templates/context.h"
#include "templates/defaults.h"
#include "templates/mustache.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define EXPECTED_DIR "tests/unit/expected"

static char *render_default(const char *name, const json_t *ctx)
{
    const struct mustache *m = default_template(name);
    struct buf out;
    struct error err;

    assert_non_null(m);
    buf_init(&out, 1 << 20);
    if (mustache_render(m, ctx, default_template_escape(name), &out, &err) < 0)
        fail_msg("%s: %s", name, err.msg);
    return buf_detach(&out);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char chunk[4096];
    size_t n;

    if (f == NULL)
        return NULL;
    buf_init(&b, 1 << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), 0);
    fclose(f);
    return buf_detach(&b);
}

/* Counts UTF-8 characters. */
static size_t chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static json_t *example_with_csrf(void)
{
    json_t *ctx = context_example(3);

    assert_non_null(ctx);
    json_object_set_new(ctx, "csrf", json_string("c5rf-t0ken"));
    return ctx;
}

static void test_all_compile(void **state)
{
    struct error err;
    static const char *const names[] = {"slack_title",       "slack_text", "email_subject",
                                        "email_html",        "email_text", "sms_text",
                                        "pagerduty_summary", "ack_page",   "web_index"};

    (void)state;
    if (default_templates_check(&err) < 0)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_non_null(default_template_source(names[i]));
        assert_non_null(default_template(names[i]));
    }
    assert_int_equal(default_templates_count, sizeof(names) / sizeof(names[0]));
    assert_null(default_template_source("nope"));
    assert_null(default_template("nope"));
    assert_int_equal(default_template_escape("email_html"), MUSTACHE_ESCAPE_HTML);
    assert_int_equal(default_template_escape("slack_text"), MUSTACHE_ESCAPE_SLACK);
    assert_int_equal(default_template_escape("sms_text"), MUSTACHE_ESCAPE_NONE);
}

/* Renders every golden template against ctx and compares with EXPECTED_DIR/NAME<suffix>.txt. */
static void check_golden(const json_t *ctx, const char *suffix)
{
    static const char *const names[] = {"slack_title",       "slack_text", "email_subject",
                                        "email_html",        "email_text", "sms_text",
                                        "pagerduty_summary", "ack_page"};
    const char *update = getenv("AMR_UPDATE_EXPECTED");

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[256];
        char *got = render_default(names[i], ctx);
        char *want;

        snprintf(path, sizeof(path), "%s/%s%s.txt", EXPECTED_DIR, names[i], suffix);
        if (update != NULL && strcmp(update, "1") == 0) {
            FILE *f = fopen(path, "wb");

            assert_non_null(f);
            fputs(got, f);
            fclose(f);
        }
        want = read_all(path);
        if (want == NULL)
            fail_msg("%s: missing (run from the repository root)", path);
        if (strcmp(got, want) != 0) {
            printf("%s differs from the rendering:\n---\n%s\n---\n", path, got);
            fail_msg("%s%s does not match", names[i], suffix);
        }
        free(got);
        free(want);
    }
}

static json_t *example_notice(enum context_example_notice notice)
{
    json_t *ctx = context_example_notice(3, notice);

    assert_non_null(ctx);
    json_object_set_new(ctx, "csrf", json_string("c5rf-t0ken"));
    return ctx;
}

static void test_golden(void **state)
{
    json_t *ctx = example_with_csrf();

    (void)state;
    check_golden(ctx, "");
    json_decref(ctx);
}

/* An acknowledgement notice and a resolved notice, each field against its golden file. */
static void test_golden_ack_and_resolved(void **state)
{
    json_t *ctx = example_notice(EXAMPLE_ACKNOWLEDGED);

    (void)state;
    check_golden(ctx, ".acknowledged");
    json_decref(ctx);
    ctx = example_notice(EXAMPLE_RESOLVED);
    check_golden(ctx, ".resolved");
    json_decref(ctx);
}

/* Every default says the same thing on an acknowledgement notice: acknowledged, by
 * whom, and no ack link or button; on a resolved notice: resolved, no ack link. */
static void test_notices_consistent(void **state)
{
    static const char *const with_ack_link[] = {"slack_text", "email_html", "email_text",
                                                "sms_text", "ack_page"};
    static const char *const one_line[] = {"slack_title", "email_subject", "sms_text",
                                           "pagerduty_summary"};
    json_t *acked = example_notice(EXAMPLE_ACKNOWLEDGED);
    json_t *resolved = example_notice(EXAMPLE_RESOLVED);
    json_t *firing = example_notice(EXAMPLE_FIRING);
    char *got;

    (void)state;
    for (size_t i = 0; i < sizeof(with_ack_link) / sizeof(with_ack_link[0]); i++) {
        got = render_default(with_ack_link[i], firing);
        assert_non_null(strstr(got, "/ack/42.1796040000."));
        free(got);
        got = render_default(with_ack_link[i], acked);
        if (strstr(got, "/ack/") != NULL)
            fail_msg("%s shows the ack link on an acknowledgement notice:\n%s", with_ack_link[i],
                     got);
        assert_non_null(strcasestr(got, "acknowledged"));
        assert_non_null(strstr(got, "alice"));
        free(got);
        got = render_default(with_ack_link[i], resolved);
        if (strstr(got, "/ack/") != NULL)
            fail_msg("%s shows the ack link on a resolved notice:\n%s", with_ack_link[i], got);
        free(got);
    }
    for (size_t i = 0; i < sizeof(one_line) / sizeof(one_line[0]); i++) {
        got = render_default(one_line[i], acked);
        assert_null(strchr(got, '\n'));
        if (strstr(got, "acknowledged by alice") == NULL &&
            strstr(got, "ACKNOWLEDGED #42 by alice") == NULL)
            fail_msg("%s does not say who acknowledged: %s", one_line[i], got);
        free(got);
        got = render_default(one_line[i], resolved);
        assert_null(strchr(got, '\n'));
        assert_true(strncmp(got, "[RESOLVED]", 10) == 0 || strncmp(got, "RESOLVED #42", 12) == 0);
        assert_null(strstr(got, "acknowledged"));
        free(got);
    }
    json_decref(acked);
    json_decref(resolved);
    json_decref(firing);
}

/* The SMS of an acknowledgement notice says so and who, and fits one segment even
 * with a long name; without a name it still says acknowledged. */
static void test_sms_ack_notice(void **state)
{
    json_t *ctx = example_notice(EXAMPLE_ACKNOWLEDGED);
    json_t *inc = json_object_get(ctx, "incident");
    char *got;

    (void)state;
    got = render_default("sms_text", ctx);
    assert_string_equal(got, "ACKNOWLEDGED #42 by alice: PostgresDown prod-eu (2 firing)");
    free(got);
    json_object_set_new(inc, "acked_by", json_string("alice.longname@example.com"));
    json_object_set_new(
        ctx, "commonAnnotations",
        json_pack("{s:s}", "summary", "PostgreSQL on db-1.prod:9187 is down for 5 minutes"));
    got = render_default("sms_text", ctx);
    assert_string_equal(got, "ACKNOWLEDGED #42 by alice.longname@example.com: PostgreSQL on "
                             "db-1.prod:9187 is down for 5 minutes");
    assert_true(chars(got) <= 160);
    free(got);
    json_object_set_new(inc, "acked_by", json_string(""));
    got = render_default("sms_text", ctx);
    assert_string_equal(got,
                        "ACKNOWLEDGED #42: PostgreSQL on db-1.prod:9187 is down for 5 minutes");
    free(got);
    json_decref(ctx);
}

static void test_one_line_fields(void **state)
{
    static const char *const names[] = {"slack_title", "email_subject", "sms_text",
                                        "pagerduty_summary"};
    json_t *ctx = example_with_csrf();

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *got = render_default(names[i], ctx);

        assert_null(strchr(got, '\n'));
        assert_true(strlen(got) > 10);
        free(got);
    }
    json_decref(ctx);
}

static void test_sms_fits_one_segment(void **state)
{
    json_t *ctx = context_example(3);
    json_t *alerts = json_object_get(ctx, "alerts");
    char *got;

    (void)state;
    got = render_default("sms_text", ctx);
    assert_true(chars(got) <= 160);
    assert_non_null(strstr(got, "Ack: http://amrouter.example.com:9093/ack/"));
    free(got);
    /* A single alert: its summary becomes the common one and is shown. */
    json_array_remove(alerts, 2);
    json_array_remove(alerts, 1);
    json_object_set(ctx, "commonAnnotations",
                    json_object_get(json_array_get(alerts, 0), "annotations"));
    json_object_set_new(ctx, "firingCount", json_integer(1));
    got = render_default("sms_text", ctx);
    assert_string_equal(got, "FIRING #42: PostgreSQL on db-1.prod:9187 is down Ack: "
                             "http://amrouter.example.com:9093/ack/"
                             "42.1796040000.3q2-7Ld9fT0yWb1kVxNcRg");
    assert_true(chars(got) <= 160);
    free(got);
    json_decref(ctx);
}

static void test_hostile_values_escaped(void **state)
{
    json_t *ctx = example_with_csrf();
    json_t *a0 = json_array_get(json_object_get(ctx, "alerts"), 0);
    json_t *labels = json_object_get(a0, "labels");
    json_t *list = json_object_get(a0, "labelsList");
    json_t *item = json_object();
    char *html, *page, *slack;

    (void)state;
    json_object_set_new(labels, "alertname", json_string("<script>alert(1)</script>"));
    json_object_set_new(item, "name", json_string("x\"><img src=x onerror=alert(1)>"));
    json_object_set_new(item, "value", json_string("v&<>"));
    json_array_append_new(list, item);
    json_object_set_new(ctx, "csrf", json_string("\"><script>"));
    html = render_default("email_html", ctx);
    page = render_default("ack_page", ctx);
    slack = render_default("slack_text", ctx);
    assert_null(strstr(html, "<script>"));
    assert_null(strstr(page, "<script>"));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(page, "<img"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(page, "value=\"&quot;&gt;&lt;script&gt;\""));
    /* Slack: & < > escaped so a value cannot make a link or mention. */
    assert_non_null(strstr(slack, "*&lt;script&gt;alert(1)&lt;/script&gt;*"));
    assert_non_null(strstr(slack, "v&amp;&lt;&gt;"));
    free(html);
    free(page);
    free(slack);
    json_decref(ctx);
}

static void test_ack_page(void **state)
{
    json_t *ctx = example_with_csrf();
    json_t *inc = json_object_get(ctx, "incident");
    char *page;

    (void)state;
    page = render_default("ack_page", ctx);
    assert_non_null(strstr(page, "<form method=\"post\" action=\"http://amrouter.example.com:9093"
                                 "/ack/42.1796040000.3q2-7Ld9fT0yWb1kVxNcRg\">"));
    assert_non_null(strstr(page, "<input type=\"hidden\" name=\"csrf\" value=\"c5rf-t0ken\">"));
    assert_non_null(strstr(page, "name=\"name\""));
    assert_non_null(strstr(page, "name=\"comment\""));
    assert_non_null(strstr(page, "name=\"viewport\""));
    assert_null(strstr(page, "<script"));
    free(page);
    /* An explicit action and a message; then the acknowledged state: no form. */
    json_object_set_new(ctx, "action", json_string("/ack/tok"));
    json_object_set_new(ctx, "message", json_string("Already acknowledged."));
    json_object_set_new(inc, "acked", json_true());
    json_object_set_new(inc, "acked_by", json_string("alice"));
    json_object_set_new(inc, "acked_at_text", json_string("2026-11-23 12:03:00 UTC"));
    json_object_set_new(inc, "comment", json_string("on it"));
    json_object_set_new(inc, "status", json_string("acknowledged"));
    page = render_default("ack_page", ctx);
    assert_non_null(strstr(page, "Acknowledged by <b>alice</b> at 2026-11-23 12:03:00 UTC. "
                                 "Comment: on it"));
    assert_non_null(strstr(page, "<p class=\"notice\" role=\"status\">Already acknowledged.</p>"));
    assert_non_null(strstr(page, "<span class=\"state\">acknowledged</span>"));
    assert_null(strstr(page, "<form"));
    free(page);
    /* The action override is used while unacknowledged. */
    json_object_set_new(inc, "acked", json_false());
    page = render_default("ack_page", ctx);
    assert_non_null(strstr(page, "<form method=\"post\" action=\"/ack/tok\">"));
    free(page);
    json_decref(ctx);
}

static void test_resolved_and_no_incident(void **state)
{
    json_t *ctx = context_example(3);
    char *title, *text;

    (void)state;
    json_object_del(ctx, "incident");
    json_object_set_new(ctx, "firing", json_false());
    json_object_set_new(ctx, "alertsFiring", json_array());
    title = render_default("slack_title", ctx);
    assert_string_equal(title, "[RESOLVED] PostgresDown prod-eu");
    text = render_default("sms_text", ctx);
    assert_string_equal(text, "RESOLVED: PostgresDown prod-eu");
    free(title);
    free(text);
    json_decref(ctx);
}

static void test_user_template_uses_defaults(void **state)
{
    static const struct mustache_partial mine[] = {
        {"prefix", "Subject:"},
        {"email_subject", "shadowed by the user's own"},
        {NULL, NULL},
    };
    struct mustache_loader_chain chain = {mustache_loader_table(mine), default_templates_loader()};
    struct mustache_loader l = mustache_loader_chained(&chain);
    struct mustache_options opts = {&l, 0, 0, 0};
    struct error err;
    struct mustache *m = mustache_compile("{{>prefix}} {{>slack_title}}", "mine", &opts, &err);
    json_t *ctx = context_example(3);
    struct buf out;

    (void)state;
    assert_non_null(m);
    buf_init(&out, 4096);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_NONE, &out, &err), 0);
    assert_string_equal(buf_str(&out), "Subject: [FIRING:2] PostgresDown prod-eu (incident #42)");
    mustache_free(m);
    /* The first loader wins for names both have. */
    m = mustache_compile("{{>email_subject}}", "mine", &opts, &err);
    assert_non_null(m);
    buf_reset(&out);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_NONE, &out, &err), 0);
    assert_string_equal(buf_str(&out), "shadowed by the user's own");
    mustache_free(m);
    /* Dynamic names see both lists. */
    json_object_set_new(ctx, "pick", json_string("pagerduty_summary"));
    m = mustache_compile("{{>*pick}}", "mine", &opts, &err);
    assert_non_null(m);
    buf_reset(&out);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_NONE, &out, &err), 0);
    assert_string_equal(buf_str(&out), "[FIRING:2] PostgresDown prod-eu (incident #42)");
    buf_release(&out);
    mustache_free(m);
    json_decref(ctx);
}

static int teardown(void **state)
{
    (void)state;
    default_templates_release();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_compile),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_golden_ack_and_resolved),
        cmocka_unit_test(test_notices_consistent),
        cmocka_unit_test(test_sms_ack_notice),
        cmocka_unit_test(test_one_line_fields),
        cmocka_unit_test(test_sms_fits_one_segment),
        cmocka_unit_test(test_hostile_values_escaped),
        cmocka_unit_test(test_ack_page),
        cmocka_unit_test(test_resolved_and_no_incident),
        cmocka_unit_test(test_user_template_uses_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
