/*
 * delivery.h - the delivery thread: sends built notification requests with
 * libcurl's multi interface, retries, and reports every end back.
 *
 * Every job handed over is already a row in the SQLite outbox (the engine
 * wrote it in the transaction that made it), so nothing here is the only copy:
 * a crash loses only progress, and the engine hands undelivered rows over again
 * at start-up.
 *
 * States of one item, every transition through delivery_set_state() which logs
 * old -> new:
 *
 *   pending ──start──▶ sending ──2xx──────────────────────▶ delivered
 *      ▲                  │  ──4xx (not 429), build error ─▶ failed
 *      └── retry-wait ◀───┘  5xx, 429, connection error, timeout
 *
 * plus "superseded" -> failed: a newer job for the same group, receiver and
 * integration (job->supersedes) drops an older one that is not being sent; an
 * older one in flight is not retried.
 *
 * Retries: exponential backoff with jitter, the n-th wait uniformly drawn in
 * [b/2, b] with b = min(1 s * 2^(n-1), 5 min); a 429's Retry-After (seconds or
 * HTTP date) is honoured (at most 1 h). Retries go on until delivered,
 * superseded or failed; the router makes a newer job at the next group_interval
 * flush, which supersedes the retrying one, so a dead endpoint does not pile up
 * work. Due times are wall-clock ms because they are persisted.
 *
 * Threading: delivery_submit() may be called from any thread (the engine);
 * callbacks run on the delivery thread and must not block for long (the engine
 * only enqueues them).
 */
#ifndef AMR_DELIVERY_H
#define AMR_DELIVERY_H

#include "notifiers/notifier.h"

#include <stdbool.h>
#include <stdint.h>

struct error;
struct delivery;

enum delivery_state {
    DELIVERY_PENDING,
    DELIVERY_SENDING,
    DELIVERY_RETRY_WAIT,
    DELIVERY_DELIVERED,
    DELIVERY_FAILED,
};

const char *delivery_state_name(enum delivery_state st);

/* One notification to send. */
struct delivery_item {
    uint64_t job_id;
    uint64_t supersedes;
    char *receiver; /* for logs */
    char *integration;
    char *group_key;
    struct notifier_request req; /* owned */
    char *build_error;           /* non-NULL: fail at once with this message */
    int attempts;                /* made before (from the outbox) */
    int64_t next_attempt_at;     /* wall ms; 0 = at once */

    /* private to delivery.c */
    enum delivery_state state;
    bool superseded;
    void *easy;  /* CURL * while sending */
    void *slist; /* struct curl_slist * of the headers */
    char *resp;  /* response body (capped) */
    size_t resp_len;
    int64_t retry_after_ms;
    char errbuf[256];
    char reply[256]; /* the server's last reply line of an SMTP transfer ("535 5.7.8 ...") */
};

struct delivery_callbacks {
    /* A job is over: ok = delivered. */
    void (*result)(void *ctx, uint64_t job_id, bool ok);
    /* A retry is scheduled (for the outbox row). */
    void (*progress)(void *ctx, uint64_t job_id, const char *state, int attempts,
                     int64_t next_attempt_at, const char *last_error);
};

struct delivery_opts {
    int max_in_flight;       /* 0 = 64 */
    int64_t backoff_base_ms; /* 0 = 1000 (tests may shorten it) */
    int64_t backoff_max_ms;  /* 0 = 300000 */
};

struct delivery *delivery_new(const struct delivery_opts *opts, const struct delivery_callbacks *cb,
                              void *ctx, struct error *err);
int delivery_start(struct delivery *d, struct error *err);
/* Takes ownership of item (even after stop, when it is just freed). */
void delivery_submit(struct delivery *d, struct delivery_item *item);
/* Stops starting attempts, waits up to timeout_ms for transfers in flight (their
 * results are reported), aborts the rest (they stay in the outbox) and joins the
 * thread. Safe to call twice. */
void delivery_stop(struct delivery *d, int64_t timeout_ms);
void delivery_free(struct delivery *d);

void delivery_item_free(struct delivery_item *it);

/* Counts since start, for metrics and tests. */
struct delivery_stats {
    uint64_t attempts, delivered, failed, retried, superseded;
    uint64_t throttled; /* times an item was held by a rate limit (SMS throttle) */
};
void delivery_get_stats(struct delivery *d, struct delivery_stats *out);

#ifdef UNIT_TEST
/* The wait before retry n (1-based) for a random value r in [0, 1). */
int64_t delivery_backoff(int n, double r, int64_t base, int64_t max);
/* Retry-After header value -> ms (now = wall ms), -1 when unparsable. */
int64_t delivery_parse_retry_after(const char *v, int64_t now);
/* True when an SMTP transfer that ended with CURLcode res after the server's reply
 * code status (0 = none) failed for good: 5xx, or a refused login that is not 4xx. */
bool delivery_smtp_permanent(int res, long status);
#endif

#endif
