/*
 * delivery.c - the delivery thread (see delivery.h for states and retries),
 * plus the small notifier helpers every integration shares.
 *
 * One thread owns a CURLM handle and every item it was given. Other threads
 * only append to `incoming` under the mutex and wake the thread with
 * curl_multi_wakeup(). Items in a final state are reaped after each loop
 * iteration, never inside a curl callback.
 */
#include "notifiers/delivery.h"

#include "core/clock.h"
#include "core/error.h"
#include "core/metrics.h"
#include "core/log.h"
#include "core/testable.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define RESP_MAX            (64 * 1024)
#define RETRY_AFTER_MAX_MS  ((int64_t)3600 * 1000)
#define DEFAULT_CONNECT_MS  5000
#define DEFAULT_TIMEOUT_MS  30000
#define DEFAULT_IN_FLIGHT   64
#define DEFAULT_BACKOFF_MS  1000
#define DEFAULT_BACKOFF_MAX ((int64_t)300 * 1000)

/* ------------------------------------------------------------------ notifier helpers */

const struct notifier_ops *notifier_for(enum notifier_kind kind)
{
    static const struct notifier_ops *const all[] = {
        &webhook_notifier, &slack_notifier, &email_notifier, &pagerduty_notifier, &sms_notifier};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (all[i]->kind == kind)
            return all[i];
    }
    return NULL;
}

const char *notifier_user_agent(void)
{
    return "Alertmanager/0.25.0 amrouter/" AMR_VERSION;
}

void notifier_request_release(struct notifier_request *rq)
{
    if (rq == NULL)
        return;
    free(rq->method);
    free(rq->url);
    for (size_t i = 0; i < rq->n_headers; i++)
        free(rq->headers[i]);
    free(rq->headers);
    free(rq->body);
    free(rq->username);
    if (rq->password != NULL)
        explicit_bzero(rq->password, strlen(rq->password));
    free(rq->password);
    free(rq->ca_file);
    free(rq->cert_file);
    free(rq->key_file);
    free(rq->proxy_url);
    if (rq->ext_free != NULL)
        rq->ext_free(rq->ext);
    memset(rq, 0, sizeof(*rq));
}

int notifier_request_add_header(struct notifier_request *rq, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 3;
    char **v = realloc(rq->headers, (rq->n_headers + 1) * sizeof(*v));
    char *h;

    if (v == NULL)
        return -1;
    rq->headers = v;
    h = malloc(len);
    if (h == NULL)
        return -1;
    snprintf(h, len, "%s: %s", name, value);
    rq->headers[rq->n_headers++] = h;
    return 0;
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL || src[0] == '\0')
        return 0;
    *dst = strdup(src);
    return *dst == NULL ? -1 : 0;
}

int notifier_request_apply_http(struct notifier_request *rq, const struct http_config *http,
                                struct error *err)
{
    rq->connect_timeout_ms = DEFAULT_CONNECT_MS;
    rq->timeout_ms = DEFAULT_TIMEOUT_MS;
    rq->follow_redirects = true;
    if (http == NULL)
        return 0;
    if (http->connect_timeout > 0)
        rq->connect_timeout_ms = http->connect_timeout;
    if (http->timeout > 0)
        rq->timeout_ms = http->timeout;
    rq->follow_redirects = http->follow_redirects;
    rq->insecure_skip_verify = http->tls_insecure_skip_verify;
    if (dup_opt(&rq->ca_file, http->tls_ca_file) < 0 ||
        dup_opt(&rq->cert_file, http->tls_cert_file) < 0 ||
        dup_opt(&rq->key_file, http->tls_key_file) < 0 ||
        dup_opt(&rq->proxy_url, http->proxy_url) < 0)
        return error_set(err, "out of memory");
    if (http->bearer_token.value != NULL) {
        const char *type = http->authorization_type != NULL && http->authorization_type[0]
                               ? http->authorization_type
                               : "Bearer";
        size_t len = strlen(type) + strlen(http->bearer_token.value) + 2;
        char *v = malloc(len);

        if (v == NULL)
            return error_set(err, "out of memory");
        snprintf(v, len, "%s %s", type, http->bearer_token.value);
        if (notifier_request_add_header(rq, "Authorization", v) < 0) {
            free(v);
            return error_set(err, "out of memory");
        }
        explicit_bzero(v, len);
        free(v);
    }
    if (http->basic_auth_username != NULL) {
        if (dup_opt(&rq->username, http->basic_auth_username) < 0)
            return error_set(err, "out of memory");
        rq->password =
            strdup(http->basic_auth_password.value != NULL ? http->basic_auth_password.value : "");
        if (rq->password == NULL)
            return error_set(err, "out of memory");
    }
    return 0;
}

/* ------------------------------------------------------------------ the thread */

struct delivery {
    pthread_mutex_t mu;
    pthread_t thread;
    bool started;
    bool stop;
    bool joined;
    int64_t stop_deadline; /* monotonic */
    struct delivery_item **incoming;
    size_t n_incoming, cap_incoming;

    /* delivery thread only */
    CURLM *multi;
    struct delivery_item **items;
    size_t n_items, cap_items;
    int in_flight;
    uint64_t rng;

    struct delivery_opts opts;
    struct delivery_callbacks cb;
    void *ctx;
    struct delivery_stats stats; /* under mu */
};

const char *delivery_state_name(enum delivery_state st)
{
    switch (st) {
    case DELIVERY_PENDING:
        return "pending";
    case DELIVERY_SENDING:
        return "sending";
    case DELIVERY_RETRY_WAIT:
        return "retry-wait";
    case DELIVERY_DELIVERED:
        return "delivered";
    case DELIVERY_FAILED:
        return "failed";
    }
    return "unknown";
}

static void delivery_set_state(struct delivery_item *it, enum delivery_state st, const char *why)
{
    char id[24];

    snprintf(id, sizeof(id), "%" PRIu64, it->job_id);
    log_debug("delivery state", "job", id, "receiver", it->receiver, "integration", it->integration,
              "from", delivery_state_name(it->state), "to", delivery_state_name(st), "why", why,
              NULL);
    it->state = st;
}

void delivery_item_free(struct delivery_item *it)
{
    if (it == NULL)
        return;
    free(it->receiver);
    free(it->integration);
    free(it->group_key);
    notifier_request_release(&it->req);
    free(it->build_error);
    free(it->resp);
    free(it);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct delivery *delivery_new(const struct delivery_opts *opts, const struct delivery_callbacks *cb,
                              void *ctx, struct error *err)
{
    struct delivery *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        error_set(err, "delivery: out of memory");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    pthread_mutex_init(&d->mu, NULL);
    if (opts != NULL)
        d->opts = *opts;
    if (d->opts.max_in_flight <= 0)
        d->opts.max_in_flight = DEFAULT_IN_FLIGHT;
    if (d->opts.backoff_base_ms <= 0)
        d->opts.backoff_base_ms = DEFAULT_BACKOFF_MS;
    if (d->opts.backoff_max_ms <= 0)
        d->opts.backoff_max_ms = DEFAULT_BACKOFF_MAX;
    d->cb = *cb;
    d->ctx = ctx;
    if (getrandom(&d->rng, sizeof(d->rng), 0) != (ssize_t)sizeof(d->rng))
        d->rng = (uint64_t)clock_mono_ms() * 2654435761u;
    d->rng |= 1;
    d->multi = curl_multi_init();
    if (d->multi == NULL) {
        error_set(err, "delivery: curl_multi_init failed");
        delivery_free(d);
        return NULL;
    }
    return d;
}

static double rnd(struct delivery *d)
{
    /* xorshift64* */
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return (double)((d->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

TESTABLE int64_t delivery_backoff(int n, double r, int64_t base, int64_t max)
{
    int64_t b = base;

    for (int i = 1; i < n && b < max; i++)
        b *= 2;
    if (b > max)
        b = max;
    return b / 2 + (int64_t)(r * (double)(b - b / 2));
}

TESTABLE int64_t delivery_parse_retry_after(const char *v, int64_t now)
{
    struct tm tm;
    const char *end;
    int64_t secs = 0;

    while (*v == ' ' || *v == '\t')
        v++;
    if (*v >= '0' && *v <= '9') {
        for (; *v >= '0' && *v <= '9'; v++) {
            secs = secs * 10 + (*v - '0');
            if (secs > RETRY_AFTER_MAX_MS / 1000)
                return RETRY_AFTER_MAX_MS;
        }
        while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
            v++;
        return *v == '\0' ? secs * 1000 : -1;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL)
        return -1;
    secs = (int64_t)timegm(&tm) * 1000 - now;
    if (secs < 0)
        return 0;
    return secs > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : secs;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct delivery_item *it = userdata;
    size_t n = size * nmemb;
    size_t keep = it->resp_len < RESP_MAX ? RESP_MAX - it->resp_len : 0;
    char *p;

    if (keep > n)
        keep = n;
    if (keep > 0) {
        p = realloc(it->resp, it->resp_len + keep + 1);
        if (p == NULL)
            return n; /* drop the body, keep the transfer */
        memcpy(p + it->resp_len, ptr, keep);
        it->resp_len += keep;
        p[it->resp_len] = '\0';
        it->resp = p;
    }
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct delivery_item *it = userdata;
    size_t n = size * nitems;
    char line[128];

    if (n > 12 && n < sizeof(line) && strncasecmp(buf, "Retry-After:", 12) == 0) {
        memcpy(line, buf + 12, n - 12);
        line[n - 12] = '\0';
        it->retry_after_ms = delivery_parse_retry_after(line, clock_now_ms());
    }
    /* SMTP (a pingpong protocol): libcurl hands every server reply line to the header
     * callback. Keep the last one ("535 5.7.8 Authentication credentials invalid") for
     * the error a refused email fails with. */
    if (n >= 4 && buf[0] >= '2' && buf[0] <= '5' && buf[1] >= '0' && buf[1] <= '9' &&
        buf[2] >= '0' && buf[2] <= '9' && (buf[3] == ' ' || buf[3] == '-' || buf[3] == '\r')) {
        size_t k = n < sizeof(it->reply) ? n : sizeof(it->reply) - 1;

        memcpy(it->reply, buf, k);
        while (k > 0 && (it->reply[k - 1] == '\n' || it->reply[k - 1] == '\r'))
            k--;
        it->reply[k] = '\0';
        for (size_t i = 0; i < k; i++) {
            if ((unsigned char)it->reply[i] < 0x20 || (unsigned char)it->reply[i] > 0x7e)
                it->reply[i] = '?';
        }
    }
    return n;
}

static void stats_add(struct delivery *d, uint64_t *field)
{
    pthread_mutex_lock(&d->mu);
    (*field)++;
    pthread_mutex_unlock(&d->mu);
}

static void finish(struct delivery *d, struct delivery_item *it, bool ok, const char *why)
{
    char id[24];
    char att[16];

    snprintf(id, sizeof(id), "%" PRIu64, it->job_id);
    snprintf(att, sizeof(att), "%d", it->attempts);
    delivery_set_state(it, ok ? DELIVERY_DELIVERED : DELIVERY_FAILED, why);
    if (ok) {
        log_info("notification delivered", "receiver", it->receiver, "integration", it->integration,
                 "job", id, "attempts", att, NULL);
        stats_add(d, &d->stats.delivered);
        metrics_add(MET_NOTIFY_SENT, it->integration, it->receiver, 1); /* ops */
    } else {
        log_warn("notification failed", "receiver", it->receiver, "integration", it->integration,
                 "job", id, "attempts", att, "err", why, NULL);
        stats_add(d, &d->stats.failed);
        metrics_add(MET_NOTIFY_FAILED, it->integration, it->receiver, 1); /* ops */
    }
    d->cb.result(d->ctx, it->job_id, ok);
}

static void schedule_retry(struct delivery *d, struct delivery_item *it, const char *why)
{
    int64_t wait =
        delivery_backoff(it->attempts, rnd(d), d->opts.backoff_base_ms, d->opts.backoff_max_ms);
    char id[24];
    char ms[24];

    if (it->retry_after_ms >= 0)
        wait = it->retry_after_ms;
    it->next_attempt_at = clock_now_ms() + wait;
    delivery_set_state(it, DELIVERY_RETRY_WAIT, why);
    snprintf(id, sizeof(id), "%" PRIu64, it->job_id);
    snprintf(ms, sizeof(ms), "%" PRId64, wait);
    log_info("notification will be retried", "receiver", it->receiver, "integration",
             it->integration, "job", id, "in_ms", ms, "err", why, NULL);
    stats_add(d, &d->stats.retried);
    metrics_add(MET_NOTIFY_RETRIED, it->integration, it->receiver, 1); /* ops */
    if (d->cb.progress != NULL)
        d->cb.progress(d->ctx, it->job_id, "retry-wait", it->attempts, it->next_attempt_at, why);
}

static void start(struct delivery *d, struct delivery_item *it)
{
    const struct notifier_request *rq = &it->req;
    struct curl_slist *sl = NULL;
    CURL *h;

    it->attempts++;
    stats_add(d, &d->stats.attempts);
    if (it->build_error != NULL) {
        finish(d, it, false, it->build_error);
        return;
    }
    h = curl_easy_init();
    if (h == NULL) {
        schedule_retry(d, it, "curl_easy_init failed");
        return;
    }
    for (size_t i = 0; i < rq->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(sl, rq->headers[i]);

        if (n == NULL) {
            curl_slist_free_all(sl);
            curl_easy_cleanup(h);
            schedule_retry(d, it, "out of memory");
            return;
        }
        sl = n;
    }
    /* curl adds "Expect: 100-continue" to large POSTs; receivers need not support it. */
    sl = curl_slist_append(sl, "Expect:");
    free(it->resp);
    it->resp = NULL;
    it->resp_len = 0;
    it->retry_after_ms = -1;
    it->errbuf[0] = '\0';
    it->reply[0] = '\0';
    if (rq->setup != NULL) {
        /* An integration's own transfer (SMTP, one SMS per number): notifier.h. */
        struct error err = {{0}};
        int rc = it->req.setup(&it->req, h, &err);

        curl_slist_free_all(sl);
        sl = NULL;
        if (rc == 2) {
            /* Held by a rate limit (SMS throttle): not an attempt, not a failure. */
            curl_easy_cleanup(h);
            it->attempts--;
            it->next_attempt_at = rq->defer_until;
            delivery_set_state(it, DELIVERY_RETRY_WAIT, "throttled");
            stats_add(d, &d->stats.throttled);
            metrics_add(MET_NOTIFY_THROTTLED, it->integration, it->receiver, 1); /* ops */
            return;
        }
        if (rc != 0) {
            curl_easy_cleanup(h);
            finish(d, it, rc > 0, rc > 0 ? "nothing to send" : err.msg);
            return;
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, it);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, it);
        curl_easy_setopt(h, CURLOPT_PRIVATE, it);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, it->errbuf);
        goto add;
    }
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
                     rq->method != NULL && strcmp(rq->method, "POST") != 0 ? rq->method : NULL);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body != NULL ? rq->body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, sl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)rq->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, rq->follow_redirects ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, it);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, it);
    curl_easy_setopt(h, CURLOPT_PRIVATE, it);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, it->errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (rq->username != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, rq->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, rq->password != NULL ? rq->password : "");
    }
    if (rq->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, rq->ca_file);
    if (rq->cert_file != NULL)
        curl_easy_setopt(h, CURLOPT_SSLCERT, rq->cert_file);
    if (rq->key_file != NULL)
        curl_easy_setopt(h, CURLOPT_SSLKEY, rq->key_file);
    if (rq->proxy_url != NULL)
        curl_easy_setopt(h, CURLOPT_PROXY, rq->proxy_url);
    if (rq->insecure_skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
add:
    if (curl_multi_add_handle(d->multi, h) != CURLM_OK) {
        curl_slist_free_all(sl);
        curl_easy_cleanup(h);
        schedule_retry(d, it, "curl_multi_add_handle failed");
        return;
    }
    it->easy = h;
    it->slist = sl;
    d->in_flight++;
    delivery_set_state(it, DELIVERY_SENDING, "due");
}

static void end_transfer(struct delivery *d, struct delivery_item *it)
{
    curl_multi_remove_handle(d->multi, it->easy);
    curl_easy_cleanup(it->easy);
    curl_slist_free_all(it->slist);
    it->easy = NULL;
    it->slist = NULL;
    d->in_flight--;
}

/* ops: amrouter_notification_latency_seconds from curl's timing of the transfer. */
static void observe_latency(struct delivery_item *it)
{
    curl_off_t us = 0;

    if (curl_easy_getinfo(it->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK)
        metrics_observe(MET_NOTIFY_LATENCY, it->integration, NULL, (double)us / 1e6);
}

/* An SMTP failure that retrying cannot fix: a 5xx reply (authentication
 * credentials refused, sender or recipient rejected, message refused), or an
 * authentication libcurl could not even try (no mechanism in common). A 4xx
 * reply (454 temporary authentication failure, 421, 451) and connection errors
 * (status 0) are retried; libcurl reports a refused AUTH as CURLE_LOGIN_DENIED
 * whatever the code, hence the status check. */
TESTABLE bool delivery_smtp_permanent(int res, long status)
{
    if (status >= 500 && status < 600)
        return true;
    return res == (int)CURLE_LOGIN_DENIED && !(status >= 400 && status < 500);
}

/* Classifies a finished transfer. */
static void done(struct delivery *d, struct delivery_item *it, CURLcode res)
{
    long status = 0;
    char why[512];
    const char *scheme = NULL;
    bool smtp;

    curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(it->easy, CURLINFO_SCHEME, &scheme);
    observe_latency(it); /* ops */
    smtp = scheme != NULL && strncasecmp(scheme, "smtp", 4) == 0;
    end_transfer(d, it);
    if (res != CURLE_OK) {
        snprintf(why, sizeof(why), "%s", it->errbuf[0] ? it->errbuf : curl_easy_strerror(res));
        if (it->superseded) {
            finish(d, it, false, "superseded by a newer notification");
        } else if (smtp && delivery_smtp_permanent((int)res, status)) {
            snprintf(why, sizeof(why),
                     "receiver %.100s: the SMTP server refused the email permanently, not "
                     "retried (%.120s; server replied: %.200s)",
                     it->receiver != NULL ? it->receiver : "?",
                     it->errbuf[0] ? it->errbuf : curl_easy_strerror(res),
                     it->reply[0] ? it->reply : "nothing");
            finish(d, it, false, why);
        } else {
            schedule_retry(d, it, why);
        }
        return;
    }
    if ((status >= 200 && status < 300) || smtp) {
        if (it->req.advance != NULL && !it->superseded && it->req.advance(&it->req)) {
            /* The next part of the same notification (the next SMS number). */
            delivery_set_state(it, DELIVERY_PENDING, "next part");
            start(d, it);
            return;
        }
        finish(d, it, true, smtp ? "sent" : "2xx");
        return;
    }
    snprintf(why, sizeof(why), "unexpected status code %ld: %.300s", status,
             it->resp != NULL ? it->resp : "");
    if (it->superseded) {
        finish(d, it, false, "superseded by a newer notification");
        return;
    }
    if (status >= 500 || status == 429) {
        if (status != 429 && status != 503)
            it->retry_after_ms = -1;
        schedule_retry(d, it, why);
        return;
    }
    finish(d, it, false, why); /* other 4xx: the request itself is wrong; retrying won't help */
}

static int push_item(struct delivery_item ***v, size_t *n, size_t *cap, struct delivery_item *it)
{
    if (*n == *cap) {
        size_t nc = *cap == 0 ? 16 : *cap * 2;
        struct delivery_item **p = realloc(*v, nc * sizeof(*p));

        if (p == NULL)
            return -1;
        *v = p;
        *cap = nc;
    }
    (*v)[(*n)++] = it;
    return 0;
}

/* Takes a new item into the thread's list, dropping what it supersedes. */
static void intake(struct delivery *d, struct delivery_item *it)
{
    if (it->supersedes != 0) {
        for (size_t i = 0; i < d->n_items; i++) {
            struct delivery_item *old = d->items[i];

            if (old->job_id != it->supersedes)
                continue;
            if (old->state == DELIVERY_PENDING || old->state == DELIVERY_RETRY_WAIT) {
                stats_add(d, &d->stats.superseded);
                finish(d, old, false, "superseded by a newer notification");
            } else if (old->state == DELIVERY_SENDING) {
                old->superseded = true;
                stats_add(d, &d->stats.superseded);
            }
        }
    }
    it->state = DELIVERY_PENDING;
    if (push_item(&d->items, &d->n_items, &d->cap_items, it) < 0) {
        /* The row stays in the outbox: it is sent after the next restart. */
        log_error("delivery: out of memory, notification left in the outbox", "receiver",
                  it->receiver, NULL);
        delivery_item_free(it);
    }
}

static void reap(struct delivery *d)
{
    size_t k = 0;

    for (size_t i = 0; i < d->n_items; i++) {
        struct delivery_item *it = d->items[i];

        if (it->state == DELIVERY_DELIVERED || it->state == DELIVERY_FAILED)
            delivery_item_free(it);
        else
            d->items[k++] = it;
    }
    d->n_items = k;
}

static void *run(void *arg)
{
    struct delivery *d = arg;

    for (;;) {
        struct delivery_item **in;
        size_t n_in;
        bool stopping;
        int64_t deadline, now, next_due = INT64_MAX;
        int running = 0;
        int timeout;
        CURLMsg *msg;
        int left;

        pthread_mutex_lock(&d->mu);
        in = d->incoming;
        n_in = d->n_incoming;
        d->incoming = NULL;
        d->n_incoming = d->cap_incoming = 0;
        stopping = d->stop;
        deadline = d->stop_deadline;
        pthread_mutex_unlock(&d->mu);
        for (size_t i = 0; i < n_in; i++)
            intake(d, in[i]);
        free(in);

        now = clock_now_ms();
        for (size_t i = 0; i < d->n_items && !stopping; i++) {
            struct delivery_item *it = d->items[i];

            if (it->state != DELIVERY_PENDING && it->state != DELIVERY_RETRY_WAIT)
                continue;
            if (it->next_attempt_at <= now && d->in_flight < d->opts.max_in_flight)
                start(d, it);
            else if (it->next_attempt_at < next_due)
                next_due = it->next_attempt_at;
        }
        curl_multi_perform(d->multi, &running);
        while ((msg = curl_multi_info_read(d->multi, &left)) != NULL) {
            struct delivery_item *it = NULL;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&it);
            if (it != NULL)
                done(d, it, msg->data.result);
        }
        reap(d);
        if (stopping && (d->in_flight == 0 || clock_mono_ms() >= deadline))
            break;
        if (stopping) {
            timeout = 50;
        } else {
            int64_t t = next_due == INT64_MAX ? 1000 : next_due - clock_now_ms();

            timeout = t < 0 ? 0 : t > 1000 ? 1000 : (int)t;
            /* Items waiting only for an in-flight slot are retried once one frees. */
        }
        curl_multi_poll(d->multi, NULL, 0, timeout, NULL);
    }
    /* Transfers still in flight are abandoned: their rows stay in the outbox. */
    for (size_t i = 0; i < d->n_items; i++) {
        struct delivery_item *it = d->items[i];

        if (it->easy != NULL) {
            char id[24];

            snprintf(id, sizeof(id), "%" PRIu64, it->job_id);
            log_warn("delivery stopped with a notification in flight; it is retried at the next "
                     "start",
                     "receiver", it->receiver, "job", id, NULL);
            end_transfer(d, it);
        }
        delivery_item_free(it);
    }
    d->n_items = 0;
    return NULL;
}

int delivery_start(struct delivery *d, struct error *err)
{
    if (d->started)
        return 0;
    if (pthread_create(&d->thread, NULL, run, d) != 0)
        return error_set(err, "delivery: cannot start the thread");
    d->started = true;
    return 0;
}

void delivery_submit(struct delivery *d, struct delivery_item *it)
{
    bool ok;

    pthread_mutex_lock(&d->mu);
    ok = !d->stop && push_item(&d->incoming, &d->n_incoming, &d->cap_incoming, it) == 0;
    pthread_mutex_unlock(&d->mu);
    if (!ok) {
        delivery_item_free(it);
        return;
    }
    curl_multi_wakeup(d->multi);
}

void delivery_stop(struct delivery *d, int64_t timeout_ms)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->mu);
    if (!d->stop) {
        d->stop = true;
        d->stop_deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    }
    pthread_mutex_unlock(&d->mu);
    if (d->started && !d->joined) {
        curl_multi_wakeup(d->multi);
        pthread_join(d->thread, NULL);
        d->joined = true;
    }
}

void delivery_free(struct delivery *d)
{
    if (d == NULL)
        return;
    delivery_stop(d, 0);
    for (size_t i = 0; i < d->n_incoming; i++)
        delivery_item_free(d->incoming[i]);
    free(d->incoming);
    for (size_t i = 0; i < d->n_items; i++)
        delivery_item_free(d->items[i]);
    free(d->items);
    if (d->multi != NULL)
        curl_multi_cleanup(d->multi);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void delivery_get_stats(struct delivery *d, struct delivery_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->stats;
    pthread_mutex_unlock(&d->mu);
}
