/*
 * throttle.h - per-destination rate limits that merge instead of dropping.
 *
 * An alert storm must not get a sending number blocked by the carrier, nor
 * flood one phone, so each destination (an SMS number, "sms:+15550001111")
 * has send limits: at most `max` sends in any sliding window of `window_ms`.
 * The defaults, in GoAlert's spirit: 1 per minute and 10 per hour.
 *
 * Messages are queued per destination with throttle_push(). throttle_pop()
 * hands out one destination whose limits allow a send now, with ALL its
 * queued messages: the caller sends one message (the newest, saying "+N
 * more") and so nothing is lost, only merged. throttle_next() says when to
 * call throttle_pop() again.
 *
 * Pure: time is an argument (ms, any monotonic or wall clock, consistently),
 * no I/O, no locks; one owner (the delivery thread) uses a struct throttle.
 */
#ifndef AMR_NOTIFIERS_THROTTLE_H
#define AMR_NOTIFIERS_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;

struct throttle_limit {
    int64_t window_ms;
    unsigned max; /* sends allowed in any window_ms; >= 1 */
};

/* The default limits: 1 per 60 s and 10 per hour. */
extern const struct throttle_limit throttle_default_limits[2];

/* Parses limits written "MAX/DURATION[,MAX/DURATION...]", e.g. "1/1m,10/1h", into
 * out (room for max entries). Returns 0 and sets *n, or -1 with err naming the part. */
int throttle_parse_limits(const char *s, struct throttle_limit *out, size_t max, size_t *n,
                          struct error *err);

/* Messages queued for one destination and released together. */
struct throttle_batch {
    char *dest;   /* owned */
    int64_t *ids; /* owned; the queued message ids, oldest first */
    size_t n;     /* >= 1 */
};

struct throttle;

/* A throttle with the given limits (copied), or the defaults when n_limits is 0.
 * NULL when memory runs out or a limit has window_ms <= 0 or max == 0. */
struct throttle *throttle_new(const struct throttle_limit *limits, size_t n_limits);
void throttle_free(struct throttle *t); /* accepts NULL */

/* Queues message `id` for dest at time now. Returns 0, or -1 when memory runs out. */
int throttle_push(struct throttle *t, const char *dest, int64_t id, int64_t now);

/* True when a send to dest at now would be within every limit. */
bool throttle_allowed(const struct throttle *t, const char *dest, int64_t now);

/* When a destination with queued messages may send at now: moves all of them
 * into *out (oldest first, caller releases with throttle_batch_release()), records
 * one send at now, and returns 1. Destinations are served in the order their
 * oldest message was queued. Returns 0 when nothing may go now, -1 when memory
 * runs out (nothing changed). */
int throttle_pop(struct throttle *t, int64_t now, struct throttle_batch *out);

/* Like throttle_pop() for one destination only: when dest has queued messages and
 * may send at now, moves them into *out, records a send and returns 1; 0 when it
 * may not (or has nothing queued); -1 when memory runs out. */
int throttle_pop_dest(struct throttle *t, const char *dest, int64_t now,
                      struct throttle_batch *out);

/* The earliest time >= now at which dest may send (now when it may already). */
int64_t throttle_next_dest(const struct throttle *t, const char *dest, int64_t now);

/* Takes message `id` out of dest's queue (its sender gave up on it). Returns true
 * when it was queued. */
bool throttle_remove(struct throttle *t, const char *dest, int64_t id);

/* Records a send to dest at now that did not go through the queue. 0 / -1 (OOM). */
int throttle_record(struct throttle *t, const char *dest, int64_t now);

/* The earliest time >= now at which throttle_pop() can return a batch, or
 * INT64_MAX when nothing is queued. */
int64_t throttle_next(const struct throttle *t, int64_t now);

/* Messages queued for all destinations. */
size_t throttle_queued(const struct throttle *t);

void throttle_batch_release(struct throttle_batch *b); /* accepts NULL */

#endif
