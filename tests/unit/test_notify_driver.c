/*
 * test_notify_driver.c - the notifier test driver, and the unit tests of
 * notify_request_setup_curl().
 *
 * Run without arguments (as `make test` does) it runs the cmocka tests below.
 * Run as
 *     test_notify_driver --send CONFIG [--receiver NAME] [--state firing|acked|resolved]
 *                        [--merged N] [--now MS]
 * it loads CONFIG with the real loader, builds every notifier of the receiver
 * (default: the root route's) for the example notification context
 * (templates/context.h) bent to the given state, performs each request with
 * libcurl exactly as configured by notify_request_setup_curl(), and prints one
 * line per request:
 *     sent kind=slack dest=slack url=<redacted url> status=200
 *     failed kind=sms dest=sms:+1 url=... status=401 error=...
 * Exit status 0 when every request got its service's success code. The
 * integration tests (tests/integration/test_notifiers.py) drive it against
 * local fake Slack / PagerDuty / Twilio servers and a real SMTP server until
 * the daemon's delivery path sends through these builders.
 */
#include "config/config.h"
#include "core/alert.h"
#include "core/error.h"
#include "core/labels.h"
#include "router/router.h"
#include "notifiers/notifier.h"
#include "notifiers/request.h"
#include "templates/context.h"
#include "templates/defaults.h"

#include <curl/curl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef int (*build_fn)(const struct notifier_config *, const json_t *, const struct notify_opts *,
                        struct notify_requests *, struct error *);

static build_fn builder(enum notifier_kind k)
{
    switch (k) {
    case NOTIFIER_SLACK:
        return slack_build;
    case NOTIFIER_EMAIL:
        return email_build;
    case NOTIFIER_PAGERDUTY:
        return pagerduty_build;
    case NOTIFIER_SMS:
        return sms_build;
    case NOTIFIER_WEBHOOK:
        break;
    }
    return NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *data)
{
    struct buf *b = data;

    (void)buf_append(b, p, size * n < 512 ? size * n : 512);
    return size * n;
}

static void set_state(json_t *ctx, const char *state)
{
    json_t *inc = json_object_get(ctx, "incident");

    if (strcmp(state, "acked") == 0) {
        json_object_set_new(inc, "status", json_string("acknowledged"));
        json_object_set_new(inc, "acked", json_true());
        json_object_set_new(inc, "acked_by", json_string("alice"));
    } else if (strcmp(state, "resolved") == 0) {
        json_object_set_new(ctx, "status", json_string("resolved"));
        json_object_set_new(ctx, "firing", json_false());
        json_object_set_new(ctx, "resolved", json_true());
        json_object_set_new(ctx, "firingCount", json_integer(0));
        json_object_set_new(ctx, "alertsFiring", json_array());
        json_object_set_new(inc, "status", json_string("resolved"));
    }
}

static int perform(const char *kind, struct notify_request *r)
{
    CURL *h = curl_easy_init();
    char eb[CURL_ERROR_SIZE] = "";
    struct buf resp;
    struct error err;
    long status = 0;
    CURLcode cc;
    int ok;

    buf_init(&resp, 4096);
    if (h == NULL || notify_request_setup_curl(r, h, &err) < 0) {
        printf("failed kind=%s dest=%s error=\"%s\"\n", kind, r->dest, err.msg);
        curl_easy_cleanup(h);
        return -1;
    }
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, eb);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    ok = cc == CURLE_OK && (r->proto == NOTIFY_PROTO_SMTP || status == r->ok_status);
    printf("%s kind=%s dest=%s url=%s status=%ld", ok ? "sent" : "failed", kind, r->dest,
           r->redacted_url, status);
    if (cc != CURLE_OK)
        printf(" error=\"%s\"", eb[0] != '\0' ? eb : curl_easy_strerror(cc));
    else if (!ok)
        printf(" response=\"%s\"", buf_str(&resp));
    printf("\n");
    buf_release(&resp);
    curl_easy_cleanup(h);
    return ok ? 0 : -1;
}

static int drive(int argc, char **argv)
{
    const char *path = NULL, *rname = NULL, *state = "firing";
    struct notify_opts o = {.now = 1795435200000LL};
    const struct receiver *rcv;
    struct config *cfg;
    struct error err;
    json_t *ctx;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--send") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--receiver") == 0 && i + 1 < argc)
            rname = argv[++i];
        else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            state = argv[++i];
        else if (strcmp(argv[i], "--merged") == 0 && i + 1 < argc)
            o.merged = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
            o.now = strtoll(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s --send CONFIG [--receiver NAME] [--state S]\n", argv[0]);
            return 2;
        }
    }
    cfg = config_load(path, &err);
    if (cfg == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    rcv = rname != NULL ? config_find_receiver(cfg, rname) : cfg->root->receiver;
    ctx = context_example(0);
    if (rcv == NULL || ctx == NULL) {
        fprintf(stderr, "no receiver %s\n", rname != NULL ? rname : "(root)");
        config_free(cfg);
        return 2;
    }
    set_state(ctx, state);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; i < rcv->n_configs; i++) {
        const struct notifier_config *nc = &rcv->configs[i];
        const char *kind = notifier_kind_name(nc->kind);
        build_fn b = builder(nc->kind);
        struct notify_requests rs = {0};

        if (b == NULL)
            continue;
        if (b(nc, ctx, &o, &rs, &err) < 0) {
            printf("failed kind=%s error=\"%s\"\n", kind, err.msg);
            rc = 1;
            continue;
        }
        if (rs.n == 0)
            printf("skipped kind=%s\n", kind);
        for (size_t k = 0; k < rs.n; k++)
            if (perform(kind, &rs.v[k]) < 0)
                rc = 1;
        notify_requests_release(&rs);
    }
    fflush(stdout);
    json_decref(ctx);
    config_free(cfg);
    default_templates_release();
    curl_global_cleanup();
    return rc;
}

/* --- unit tests of notify_request_setup_curl() --- */

static void test_setup_http_and_smtp(void **state)
{
    struct notify_request r;
    struct error err;
    CURL *h = curl_easy_init();

    (void)state;
    notify_request_init(&r);
    r.proto = NOTIFY_PROTO_HTTP;
    r.method = strdup("POST");
    r.url = strdup("http://127.0.0.1:1/secret/path");
    assert_int_equal(notify_request_add_header(&r, "Content-Type", "application/json"), 0);
    assert_int_equal(notify_request_add_header(&r, "X-Bad", "a\r\nInjected: 1"), -1);
    assert_int_equal(buf_appends(&r.body, "{}"), 0);
    assert_int_equal(notify_request_setup_curl(&r, h, &err), 0);
    assert_string_equal(r.redacted_url, "http://127.0.0.1:1/<redacted>");
    assert_non_null(r.curl_headers);
    /* Nothing listens on port 1: the error is a connection error, not a setup error. */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    assert_int_equal(curl_easy_perform(h), CURLE_COULDNT_CONNECT);
    notify_request_release(&r);
    curl_easy_reset(h);

    notify_request_init(&r);
    r.proto = NOTIFY_PROTO_SMTP;
    r.url = strdup("smtp://127.0.0.1:1/hello");
    r.mail_from = strdup("a@b.c");
    r.rcpt = calloc(1, sizeof(*r.rcpt));
    r.rcpt[0] = strdup("d@e.f");
    r.n_rcpt = 1;
    assert_int_equal(notify_request_setup_curl(&r, h, &err), 0);
    assert_non_null(r.curl_rcpt);
    /* Setting up twice (a retry) replaces the lists instead of leaking them. */
    assert_int_equal(notify_request_setup_curl(&r, h, &err), 0);
    notify_request_release(&r);

    notify_request_init(&r);
    assert_int_equal(notify_request_setup_curl(&r, h, &err), -1);
    assert_non_null(strstr(err.msg, "URL"));
    notify_request_release(&r);
    curl_easy_cleanup(h);
}

static void test_form_escape_and_trim(void **state)
{
    struct buf b;
    char s[] = " \t a b \n";

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(notify_form_escape(&b, "a b+c&d=é/~"), 0);
    assert_string_equal(buf_str(&b), "a+b%2Bc%26d%3D%C3%A9%2F%7E");
    buf_release(&b);
    assert_string_equal(notify_trim(s), "a b");
}

static void test_job_context(void **state)
{
    struct notify_job job;
    struct alert a[2];
    struct notify_incident inc = {.id = 7, .ack_url = "http://x/ack/7.1.t", .status = "open"};
    json_t *ctx;

    (void)state;
    memset(&job, 0, sizeof(job));
    labels_init(&job.group_labels);
    assert_int_equal(labels_set(&job.group_labels, "alertname", "A"), 0);
    for (int i = 0; i < 2; i++) {
        alert_init(&a[i]);
        assert_int_equal(labels_set(&a[i].labels, "alertname", "A"), 0);
        assert_int_equal(labels_set(&a[i].labels, "i", i == 0 ? "0" : "1"), 0);
        a[i].starts_at = 1000;
        a[i].ends_at = i == 0 ? 0 : 1500; /* the second resolved before the flush */
        alert_update_fingerprint(&a[i]);
    }
    job.group_key = (char *)"{}:{alertname=\"A\"}";
    job.alerts = a;
    job.n_alerts = 2;
    job.created_at = 2000;
    ctx = notify_job_context(&job, "team", "http://am:9093", &inc);
    assert_non_null(ctx);
    assert_string_equal(json_string_value(json_object_get(ctx, "receiver")), "team");
    assert_string_equal(json_string_value(json_object_get(ctx, "groupKey")),
                        "{}:{alertname=\"A\"}");
    assert_string_equal(json_string_value(json_object_get(ctx, "status")), "firing");
    assert_int_equal(json_integer_value(json_object_get(ctx, "firingCount")), 1);
    assert_int_equal(json_integer_value(json_object_get(ctx, "resolvedCount")), 1);
    assert_string_equal(notify_ctx_ack_url(ctx), "http://x/ack/7.1.t");
    json_decref(ctx);
    ctx = notify_job_context(&job, "team", NULL, NULL);
    assert_null(notify_ctx_incident(ctx));
    assert_null(notify_ctx_ack_url(ctx));
    json_decref(ctx);
    for (int i = 0; i < 2; i++)
        alert_release(&a[i]);
    labels_release(&job.group_labels);
}

/* notifier_ops from a router job: the incident's state reaches the builders, and the
 * exported request owns everything (the config is freed before the request). */
static void test_ops_from_job(void **state)
{
    struct error err;
    struct config *cfg = config_load_string(
        "route: {receiver: r}\nreceivers:\n- name: r\n"
        "  slack_configs:\n  - api_url: http://127.0.0.1:1/hook/SECRET\n"
        "  sms_configs:\n  - {account_sid: A, auth_token: T, from: '1', to: ['2', '3']}\n"
        "  email_configs:\n  - {to: a@b.c, from: x@y.z, smarthost: 'h:25'}\n",
        "t.yml", NULL, &err);
    struct notifier_env env = {.cfg = NULL, .external_url = "http://am:9093"};
    struct notifier_request out;
    struct notify_job job;
    struct alert a;
    const struct receiver *rcv;
    json_t *body;

    const struct notifier_config *slack = NULL, *sms = NULL;

    (void)state;
    assert_non_null(cfg);
    env.cfg = cfg;
    rcv = config_find_receiver(cfg, "r");
    for (size_t i = 0; i < rcv->n_configs; i++) {
        if (rcv->configs[i].kind == NOTIFIER_SLACK)
            slack = &rcv->configs[i];
        if (rcv->configs[i].kind == NOTIFIER_SMS)
            sms = &rcv->configs[i];
    }
    assert_non_null(slack);
    assert_non_null(sms);
    memset(&job, 0, sizeof(job));
    labels_init(&job.group_labels);
    alert_init(&a);
    assert_int_equal(labels_set(&a.labels, "alertname", "A"), 0);
    a.starts_at = 1000;
    alert_update_fingerprint(&a);
    job.group_key = (char *)"{}:{}";
    job.alerts = &a;
    job.n_alerts = 1;
    job.created_at = 2000;
    job.incident_id = 9;
    job.incident_state = INCIDENT_ACKNOWLEDGED;
    job.acked_by = (char *)"bob";
    job.acked_at = 1500;

    memset(&out, 0, sizeof(out));
    assert_int_equal(slack_notifier.build(&env, rcv, slack, &job, &out, &err), 0);
    assert_null(out.setup);
    assert_string_equal(out.url, "http://127.0.0.1:1/hook/SECRET");
    body = json_loads(out.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(body, "attachments"), 0), "color")),
                        "warning");
    assert_non_null(strstr(out.body, "incident #9, acknowledged"));
    json_decref(body);
    notifier_request_release(&out);

    /* SMS about an ack without notify_acks: nothing to send, through the hook. */
    memset(&out, 0, sizeof(out));
    if (sms_notifier.build(&env, rcv, sms, &job, &out, &err) != 0)
        fail_msg("build: %s", err.msg);
    assert_non_null(out.setup);
    {
        CURL *h = curl_easy_init();

        assert_int_equal(out.setup(&out, h, &err), 1);
        curl_easy_cleanup(h);
    }
    notifier_request_release(&out);

    /* Firing: two numbers, two parts; email: one SMTP part. */
    job.incident_state = INCIDENT_FIRING;
    job.acked_by = NULL;
    job.acked_at = 0;
    memset(&out, 0, sizeof(out));
    assert_int_equal(sms_notifier.build(&env, rcv, sms, &job, &out, &err), 0);
    config_free(cfg); /* the request must not need the config any more */
    cfg = NULL;
    {
        CURL *h = curl_easy_init();

        if (out.setup(&out, h, &err) != 0)
            fail_msg("setup: %s", err.msg);
        assert_true(out.advance(&out));
        assert_int_equal(out.setup(&out, h, &err), 0);
        assert_false(out.advance(&out));
        curl_easy_cleanup(h);
    }
    notifier_request_release(&out);
    alert_release(&a);
    labels_release(&job.group_labels);
    default_templates_release();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_http_and_smtp),
        cmocka_unit_test(test_form_escape_and_trim),
        cmocka_unit_test(test_job_context),
        cmocka_unit_test(test_ops_from_job),
    };

    if (argc > 1)
        return drive(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
