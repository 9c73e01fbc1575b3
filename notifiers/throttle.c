/*
 * throttle.c - sliding-window send limits per destination (see throttle.h).
 *
 * Each destination keeps the times of its recent sends (those within the
 * longest window, oldest first) and its queue of message ids. A send at now
 * is allowed when, for every limit, fewer than max sends happened in
 * (now - window, now]. Destinations live in a plain array: there are few of
 * them (the configured numbers), and an entry with no queue and no recent
 * send is removed, so the array never grows without bound.
 */
#include "notifiers/throttle.h"

#include "core/duration.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct throttle_limit throttle_default_limits[2] = {
    {60 * 1000, 1},
    {60 * 60 * 1000, 10},
};

struct dest {
    char *name;
    int64_t *sent; /* send times, ascending */
    size_t n_sent;
    int64_t *ids; /* queued message ids, oldest first */
    size_t n_ids, cap_ids;
    int64_t first_queued; /* when the oldest queued id was pushed */
};

struct throttle {
    struct throttle_limit *limits;
    size_t n_limits;
    int64_t longest;
    size_t max_kept; /* the largest max: no more send times are ever needed */
    struct dest *d;
    size_t n;
};

struct throttle *throttle_new(const struct throttle_limit *limits, size_t n_limits)
{
    struct throttle *t;

    if (n_limits == 0) {
        limits = throttle_default_limits;
        n_limits = sizeof(throttle_default_limits) / sizeof(throttle_default_limits[0]);
    }
    for (size_t i = 0; i < n_limits; i++)
        if (limits[i].window_ms <= 0 || limits[i].max == 0)
            return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->limits = calloc(n_limits, sizeof(*t->limits));
    if (t->limits == NULL) {
        free(t);
        return NULL;
    }
    memcpy(t->limits, limits, n_limits * sizeof(*limits));
    t->n_limits = n_limits;
    for (size_t i = 0; i < n_limits; i++) {
        if (limits[i].window_ms > t->longest)
            t->longest = limits[i].window_ms;
        if (limits[i].max > t->max_kept)
            t->max_kept = limits[i].max;
    }
    return t;
}

static void dest_release(struct dest *d)
{
    free(d->name);
    free(d->sent);
    free(d->ids);
}

void throttle_free(struct throttle *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        dest_release(&t->d[i]);
    free(t->d);
    free(t->limits);
    free(t);
}

static struct dest *find(const struct throttle *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->d[i].name, name) == 0)
            return &t->d[i];
    return NULL;
}

static struct dest *find_or_add(struct throttle *t, const char *name)
{
    struct dest *d = find(t, name), *v;

    if (d != NULL)
        return d;
    v = realloc(t->d, (t->n + 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    t->d = v;
    d = &t->d[t->n];
    memset(d, 0, sizeof(*d));
    d->name = strdup(name);
    if (d->name == NULL)
        return NULL;
    t->n++;
    return d;
}

/* The earliest time >= now at which d may send. */
static int64_t allowed_at(const struct throttle *t, const struct dest *d, int64_t now)
{
    int64_t at = now;

    for (size_t i = 0; i < t->n_limits; i++) {
        const struct throttle_limit *l = &t->limits[i];
        size_t in = 0, first;

        /* Sends in (now - window, now]. */
        for (size_t k = d->n_sent; k > 0 && d->sent[k - 1] > now - l->window_ms; k--)
            in++;
        if (in < l->max)
            continue;
        /* The window must slide past the send that would be the (max)th before ours. */
        first = d->n_sent - in;
        {
            int64_t when = d->sent[first + (in - l->max)] + l->window_ms;

            if (when > at)
                at = when;
        }
    }
    return at;
}

bool throttle_allowed(const struct throttle *t, const char *dest, int64_t now)
{
    const struct dest *d = find(t, dest);

    return d == NULL || allowed_at(t, d, now) <= now;
}

/* Forgets sends older than the longest window (and beyond max_kept) and removes the
 * destination when nothing is left of it. */
static void prune(struct throttle *t, size_t idx, int64_t now)
{
    struct dest *d = &t->d[idx];
    size_t drop = 0;

    while (drop < d->n_sent && d->sent[drop] <= now - t->longest)
        drop++;
    if (d->n_sent - drop > t->max_kept)
        drop = d->n_sent - t->max_kept;
    if (drop > 0) {
        memmove(d->sent, d->sent + drop, (d->n_sent - drop) * sizeof(*d->sent));
        d->n_sent -= drop;
    }
    if (d->n_sent == 0 && d->n_ids == 0) {
        dest_release(d);
        memmove(d, d + 1, (t->n - idx - 1) * sizeof(*d));
        t->n--;
    }
}

static int record(struct dest *d, int64_t now)
{
    int64_t *v = realloc(d->sent, (d->n_sent + 1) * sizeof(*v));
    size_t k;

    if (v == NULL)
        return -1;
    d->sent = v;
    /* Keep ascending order even if a caller's clock steps back a little. */
    for (k = d->n_sent; k > 0 && d->sent[k - 1] > now; k--)
        d->sent[k] = d->sent[k - 1];
    d->sent[k] = now;
    d->n_sent++;
    return 0;
}

int throttle_record(struct throttle *t, const char *dest, int64_t now)
{
    struct dest *d = find_or_add(t, dest);

    if (d == NULL || record(d, now) < 0)
        return -1;
    prune(t, (size_t)(d - t->d), now);
    return 0;
}

int throttle_push(struct throttle *t, const char *dest, int64_t id, int64_t now)
{
    struct dest *d = find_or_add(t, dest);

    if (d == NULL)
        return -1;
    if (d->n_ids == d->cap_ids) {
        size_t cap = d->cap_ids ? 2 * d->cap_ids : 4;
        int64_t *v = realloc(d->ids, cap * sizeof(*v));

        if (v == NULL)
            return -1;
        d->ids = v;
        d->cap_ids = cap;
    }
    if (d->n_ids == 0)
        d->first_queued = now;
    d->ids[d->n_ids++] = id;
    return 0;
}

/* Hands out best's queue as a batch and records the send. */
static int release(struct throttle *t, struct dest *best, int64_t now, struct throttle_batch *out)
{
    out->dest = strdup(best->name);
    if (out->dest == NULL || record(best, now) < 0) {
        free(out->dest);
        out->dest = NULL;
        return -1;
    }
    out->ids = best->ids;
    out->n = best->n_ids;
    best->ids = NULL;
    best->n_ids = 0;
    best->cap_ids = 0;
    prune(t, (size_t)(best - t->d), now);
    return 1;
}

int throttle_pop(struct throttle *t, int64_t now, struct throttle_batch *out)
{
    struct dest *best = NULL;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < t->n; i++) {
        struct dest *d = &t->d[i];

        if (d->n_ids == 0 || allowed_at(t, d, now) > now)
            continue;
        if (best == NULL || d->first_queued < best->first_queued)
            best = d;
    }
    if (best == NULL)
        return 0;
    return release(t, best, now, out);
}

int throttle_pop_dest(struct throttle *t, const char *dest, int64_t now, struct throttle_batch *out)
{
    struct dest *d = find(t, dest);

    memset(out, 0, sizeof(*out));
    if (d == NULL || d->n_ids == 0 || allowed_at(t, d, now) > now)
        return 0;
    return release(t, d, now, out);
}

int64_t throttle_next_dest(const struct throttle *t, const char *dest, int64_t now)
{
    const struct dest *d = find(t, dest);

    return d == NULL ? now : allowed_at(t, d, now);
}

bool throttle_remove(struct throttle *t, const char *dest, int64_t id)
{
    struct dest *d = find(t, dest);

    if (d == NULL)
        return false;
    for (size_t i = 0; i < d->n_ids; i++) {
        if (d->ids[i] != id)
            continue;
        memmove(d->ids + i, d->ids + i + 1, (d->n_ids - i - 1) * sizeof(*d->ids));
        d->n_ids--;
        return true;
    }
    return false;
}

int64_t throttle_next(const struct throttle *t, int64_t now)
{
    int64_t next = INT64_MAX;

    for (size_t i = 0; i < t->n; i++) {
        int64_t at;

        if (t->d[i].n_ids == 0)
            continue;
        at = allowed_at(t, &t->d[i], now);
        if (at < next)
            next = at;
    }
    return next;
}

size_t throttle_queued(const struct throttle *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++)
        n += t->d[i].n_ids;
    return n;
}

void throttle_batch_release(struct throttle_batch *b)
{
    if (b == NULL)
        return;
    free(b->dest);
    free(b->ids);
    memset(b, 0, sizeof(*b));
}

int throttle_parse_limits(const char *s, struct throttle_limit *out, size_t max, size_t *n,
                          struct error *err)
{
    const char *p = s;

    *n = 0;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        char part[64], *slash, *end;
        unsigned long count;
        int64_t ms;

        if (len == 0 || len >= sizeof(part))
            return error_set(err, "throttle limits \"%s\": bad part at offset %zu", s,
                             (size_t)(p - s));
        memcpy(part, p, len);
        part[len] = '\0';
        slash = strchr(part, '/');
        if (slash == NULL)
            return error_set(err, "throttle limit \"%s\": want MAX/DURATION", part);
        *slash = '\0';
        count = strtoul(part, &end, 10);
        if (*end != '\0' || end == part || count == 0 || count > 1000000)
            return error_set(err, "throttle limit \"%s/%s\": bad count", part, slash + 1);
        if (duration_parse(slash + 1, &ms, err) < 0 || ms <= 0)
            return error_set(err, "throttle limit \"%s/%s\": bad duration", part, slash + 1);
        if (*n == max)
            return error_set(err, "throttle limits \"%s\": at most %zu", s, max);
        out[*n].max = (unsigned)count;
        out[*n].window_ms = ms;
        (*n)++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (*n == 0)
        return error_set(err, "throttle limits: empty");
    return 0;
}
