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
#include "core/error.h"
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

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_http_and_smtp),
        cmocka_unit_test(test_form_escape_and_trim),
    };

    if (argc > 1)
        return drive(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
