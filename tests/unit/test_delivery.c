/*
 * test_delivery.c - the delivery thread against a tiny HTTP server on
 * 127.0.0.1 run by the test: 500, 500, 200 is exactly three attempts and one
 * success; a 400 fails at once; a connection refused is retried; a newer job
 * supersedes an older one waiting to retry. Also the backoff bounds, the
 * Retry-After parser and the webhook request builder.
 */
#include "config/config.h"
#include "core/alert.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/labels.h"
#include "notifiers/delivery.h"
#include "notifiers/notifier.h"
#include "router/router.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

/* ------------------------------------------------------------------ a tiny server */

struct srv {
    int fd;
    int port;
    pthread_t th;
    pthread_mutex_t mu;
    int statuses[8];
    int n_statuses;
    int n_requests;
    char last_body[4096];
    bool stop;
};

static void *srv_main(void *arg)
{
    struct srv *s = arg;

    for (;;) {
        char buf[8192];
        size_t len = 0;
        int c = accept(s->fd, NULL, NULL);
        int status;
        char resp[128];
        char *body;
        int n;

        if (c < 0)
            return NULL;
        pthread_mutex_lock(&s->mu);
        if (s->stop) {
            pthread_mutex_unlock(&s->mu);
            close(c);
            return NULL;
        }
        pthread_mutex_unlock(&s->mu);
        /* Reads headers and a Content-Length body (bounded by buf). */
        for (;;) {
            ssize_t r = read(c, buf + len, sizeof(buf) - 1 - len);
            const char *cl;

            if (r <= 0)
                break;
            len += (size_t)r;
            buf[len] = '\0';
            body = strstr(buf, "\r\n\r\n");
            cl = strcasestr(buf, "Content-Length:");
            if (body != NULL &&
                (cl == NULL || (size_t)(body + 4 - buf) + strtoul(cl + 15, NULL, 10) <= len))
                break;
            if (len >= sizeof(buf) - 1)
                break;
        }
        pthread_mutex_lock(&s->mu);
        status = s->n_requests < s->n_statuses ? s->statuses[s->n_requests] : 200;
        s->n_requests++;
        body = strstr(buf, "\r\n\r\n");
        snprintf(s->last_body, sizeof(s->last_body), "%s", body != NULL ? body + 4 : "");
        pthread_mutex_unlock(&s->mu);
        n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 %d X\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope", status);
        if (write(c, resp, (size_t)n) < 0)
            perror("write");
        close(c);
    }
}

static struct srv *srv_start(const int *statuses, int n)
{
    struct srv *s = calloc(1, sizeof(*s));
    struct sockaddr_in a;
    socklen_t al = sizeof(a);

    pthread_mutex_init(&s->mu, NULL);
    if (n > 0)
        memcpy(s->statuses, statuses, (size_t)n * sizeof(int));
    s->n_statuses = n;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
    return s;
}

static int srv_requests(struct srv *s)
{
    int n;

    pthread_mutex_lock(&s->mu);
    n = s->n_requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void srv_stop(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_mutex_unlock(&s->mu);
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->th, NULL);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ------------------------------------------------------------------ results */

struct results {
    pthread_mutex_t mu;
    uint64_t ids[16];
    bool ok[16];
    int n;
    int progress;
};

static void on_result(void *ctx, uint64_t id, bool ok)
{
    struct results *r = ctx;

    pthread_mutex_lock(&r->mu);
    r->ids[r->n] = id;
    r->ok[r->n++] = ok;
    pthread_mutex_unlock(&r->mu);
}

static void on_progress(void *ctx, uint64_t id, const char *state, int attempts, int64_t next,
                        const char *err)
{
    struct results *r = ctx;

    (void)id;
    (void)attempts;
    (void)next;
    (void)err;
    assert_string_equal(state, "retry-wait");
    pthread_mutex_lock(&r->mu);
    r->progress++;
    pthread_mutex_unlock(&r->mu);
}

static int n_results(struct results *r)
{
    int n;

    pthread_mutex_lock(&r->mu);
    n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Polls until cond holds or 10 s pass. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        int64_t until_ = clock_mono_ms() + 10000;                                                  \
        while (!(cond) && clock_mono_ms() < until_)                                                \
            usleep(10000);                                                                         \
        assert_true(cond);                                                                         \
    } while (0)

static struct delivery_item *item(uint64_t id, uint64_t supersedes, int port)
{
    struct delivery_item *it = calloc(1, sizeof(*it));
    char url[64];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
    it->job_id = id;
    it->supersedes = supersedes;
    it->receiver = strdup("r");
    it->integration = strdup("webhook[0]");
    it->group_key = strdup("{}:{}");
    it->req.method = strdup("POST");
    it->req.url = strdup(url);
    it->req.body = strdup("{\"x\":1}");
    it->req.body_len = 7;
    it->req.connect_timeout_ms = 1000;
    it->req.timeout_ms = 2000;
    assert_int_equal(notifier_request_add_header(&it->req, "Content-Type", "application/json"), 0);
    return it;
}

static struct delivery *start(struct results *r)
{
    static const struct delivery_callbacks cb = {on_result, on_progress};
    struct delivery_opts o = {0, 20, 200};
    struct error err = {{0}};
    struct delivery *d;

    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    d = delivery_new(&o, &cb, r, &err);
    assert_non_null(d);
    assert_int_equal(delivery_start(d, &err), 0);
    return d;
}

static void test_500_500_200(void **state)
{
    static const int st[] = {500, 500, 200};
    struct srv *s = srv_start(st, 3);
    struct results r;
    struct delivery *d = start(&r);
    struct delivery_stats ds;

    (void)state;
    delivery_submit(d, item(7, 0, s->port));
    WAIT_FOR(n_results(&r) == 1);
    assert_true(r.ids[0] == 7);
    assert_true(r.ok[0]);
    assert_int_equal(srv_requests(s), 3);
    assert_int_equal(r.progress, 2);
    assert_string_equal(s->last_body, "{\"x\":1}");
    delivery_get_stats(d, &ds);
    assert_int_equal(ds.attempts, 3);
    assert_int_equal(ds.delivered, 1);
    assert_int_equal(ds.retried, 2);
    usleep(100000);
    assert_int_equal(srv_requests(s), 3);
    delivery_free(d);
    srv_stop(s);
    pthread_mutex_destroy(&r.mu);
}

static void test_400_fails_at_once(void **state)
{
    static const int st[] = {400};
    struct srv *s = srv_start(st, 1);
    struct results r;
    struct delivery *d = start(&r);

    (void)state;
    delivery_submit(d, item(8, 0, s->port));
    WAIT_FOR(n_results(&r) == 1);
    assert_false(r.ok[0]);
    usleep(100000);
    assert_int_equal(srv_requests(s), 1);
    assert_int_equal(r.progress, 0);
    delivery_free(d);
    srv_stop(s);
    pthread_mutex_destroy(&r.mu);
}

static void test_refused_is_retried_and_superseded(void **state)
{
    struct srv *s = srv_start(NULL, 0);
    int dead_port;
    struct results r;
    struct delivery *d;
    struct delivery_stats ds;

    (void)state;
    /* A port with nothing listening: take one and close it. */
    {
        struct srv *tmp = srv_start(NULL, 0);

        dead_port = tmp->port;
        srv_stop(tmp);
    }
    d = start(&r);
    delivery_submit(d, item(10, 0, dead_port));
    WAIT_FOR(r.progress >= 2);
    assert_int_equal(n_results(&r), 0);
    /* A newer job for the same group drops the retrying one. */
    delivery_submit(d, item(11, 10, s->port));
    WAIT_FOR(n_results(&r) == 2);
    assert_true(r.ids[0] == 10);
    assert_false(r.ok[0]);
    assert_true(r.ids[1] == 11);
    assert_true(r.ok[1]);
    delivery_get_stats(d, &ds);
    assert_int_equal(ds.superseded, 1);
    delivery_free(d);
    srv_stop(s);
    pthread_mutex_destroy(&r.mu);
}

static void test_build_error_fails(void **state)
{
    struct results r;
    struct delivery *d = start(&r);
    struct delivery_item *it = item(12, 0, 9);

    (void)state;
    it->build_error = strdup("slack notifications are not implemented yet");
    delivery_submit(d, it);
    WAIT_FOR(n_results(&r) == 1);
    assert_false(r.ok[0]);
    delivery_free(d);
    pthread_mutex_destroy(&r.mu);
}

static void test_backoff_and_retry_after(void **state)
{
    (void)state;
    assert_int_equal(delivery_backoff(1, 0.0, 1000, 300000), 500);
    assert_int_equal(delivery_backoff(1, 0.999999, 1000, 300000), 999);
    assert_int_equal(delivery_backoff(2, 0.0, 1000, 300000), 1000);
    assert_int_equal(delivery_backoff(3, 0.5, 1000, 300000), 3000);
    assert_int_equal(delivery_backoff(40, 0.0, 1000, 300000), 150000);
    assert_true(delivery_backoff(40, 0.99, 1000, 300000) <= 300000);
    assert_int_equal(delivery_parse_retry_after(" 7\r\n", 0), 7000);
    assert_int_equal(delivery_parse_retry_after("999999999", 0), 3600 * 1000);
    assert_int_equal(delivery_parse_retry_after("soon", 0), -1);
    /* HTTP date 10 s after now. */
    assert_int_equal(delivery_parse_retry_after("Thu, 01 Jan 1970 00:00:20 GMT", 10000), 10000);
    assert_int_equal(delivery_parse_retry_after("Thu, 01 Jan 1970 00:00:20 GMT", 30000), 0);
}

/* SMTP: 5xx replies and refused logins fail for good; 4xx and no reply are retried. */
static void test_smtp_permanent(void **state)
{
    (void)state;
    assert_true(delivery_smtp_permanent(CURLE_LOGIN_DENIED, 535)); /* credentials invalid */
    assert_true(delivery_smtp_permanent(CURLE_LOGIN_DENIED, 0));   /* no mechanism in common */
    assert_true(delivery_smtp_permanent(CURLE_SEND_ERROR, 550));   /* recipient rejected */
    assert_true(delivery_smtp_permanent(CURLE_SEND_ERROR, 554));
    assert_false(delivery_smtp_permanent(CURLE_LOGIN_DENIED, 454)); /* temporary auth failure */
    assert_false(delivery_smtp_permanent(CURLE_SEND_ERROR, 421));
    assert_false(delivery_smtp_permanent(CURLE_SEND_ERROR, 451));
    assert_false(delivery_smtp_permanent(CURLE_COULDNT_CONNECT, 0));
    assert_false(delivery_smtp_permanent(CURLE_OPERATION_TIMEDOUT, 0));
    assert_false(delivery_smtp_permanent(CURLE_RECV_ERROR, 250));
}

static void test_webhook_build(void **state)
{
    struct error err = {{0}};
    struct config *cfg = config_load_string("route: {receiver: hook}\n"
                                            "receivers:\n"
                                            "  - name: hook\n"
                                            "    webhook_configs:\n"
                                            "      - url: http://127.0.0.1:1/x\n"
                                            "        max_alerts: 1\n"
                                            "        http_config: {bearer_token: tok}\n",
                                            "t.yml", NULL, &err);
    const struct receiver *rcv;
    struct notifier_env env;
    struct notify_job job;
    struct alert al[2];
    struct notifier_request rq;
    json_t *p;
    bool auth = false;

    (void)state;
    assert_non_null(cfg);
    rcv = config_find_receiver(cfg, "hook");
    memset(&job, 0, sizeof(job));
    labels_init(&job.group_labels);
    for (int i = 0; i < 2; i++) {
        alert_init(&al[i]);
        assert_int_equal(labels_set(&al[i].labels, "alertname", i ? "B" : "A"), 0);
        al[i].starts_at = 1700000000000LL;
        al[i].ends_at = i ? 1700000001000LL : 0;
        alert_update_fingerprint(&al[i]);
    }
    job.group_key = (char *)"{}:{}";
    job.receiver_name = (char *)"hook";
    job.alerts = al;
    job.n_alerts = 2;
    job.created_at = 1700000005000LL;
    env.cfg = cfg;
    env.external_url = "http://amr:9093";
    memset(&rq, 0, sizeof(rq));
    assert_non_null(notifier_for(NOTIFIER_WEBHOOK));
    assert_int_equal(
        notifier_for(NOTIFIER_WEBHOOK)->build(&env, rcv, &rcv->configs[0], &job, &rq, &err), 0);
    assert_string_equal(rq.url, "http://127.0.0.1:1/x");
    for (size_t i = 0; i < rq.n_headers; i++)
        auth |= strcmp(rq.headers[i], "Authorization: Bearer tok") == 0;
    assert_true(auth);
    assert_int_equal(rq.connect_timeout_ms, 5000);
    assert_int_equal(rq.timeout_ms, 30000);
    p = json_loads(rq.body, 0, NULL);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "status")), "firing");
    assert_int_equal(json_array_size(json_object_get(p, "alerts")), 1);
    assert_int_equal(json_integer_value(json_object_get(p, "truncatedAlerts")), 1);
    assert_string_equal(json_string_value(json_object_get(p, "externalURL")), "http://amr:9093");
    json_decref(p);
    notifier_request_release(&rq);
    for (int i = 0; i < 2; i++)
        alert_release(&al[i]);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_500_500_200),
        cmocka_unit_test(test_400_fails_at_once),
        cmocka_unit_test(test_refused_is_retried_and_superseded),
        cmocka_unit_test(test_build_error_fails),
        cmocka_unit_test(test_backoff_and_retry_after),
        cmocka_unit_test(test_smtp_permanent),
        cmocka_unit_test(test_webhook_build),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
