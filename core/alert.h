/*
 * alert.h - one alert as Alertmanager models it.
 *
 * Identity is the fingerprint of the label set. Times are ms since the epoch;
 * ends_at is always set once an alert is accepted (resolve_timeout fills it
 * when the sender gave none, and `timeout` remembers that, because an explicit
 * endsAt beats a timeout one when alerts are merged).
 *
 * An alert is firing at `now` when ends_at == TIME_UNSET or now < ends_at, and
 * resolved otherwise.
 */
#ifndef AMR_ALERT_H
#define AMR_ALERT_H

#include "core/labels.h"

#include <stdbool.h>
#include <stdint.h>

struct alert {
    struct labels labels;
    struct labels annotations;
    int64_t starts_at;
    int64_t ends_at;
    int64_t updated_at;
    char *generator_url; /* may be NULL */
    uint64_t fingerprint;
    bool timeout; /* ends_at came from resolve_timeout, not from the sender */
};

void alert_init(struct alert *a);
void alert_release(struct alert *a);
int alert_copy(struct alert *dst, const struct alert *src);

bool alert_resolved_at(const struct alert *a, int64_t now);

/* Merges a re-posted alert `in` into the stored `a` (same fingerprint) in place,
 * exactly as Alertmanager's types.Alert.Merge: the younger of the two (by
 * updated_at) gives everything but: the earliest starts_at wins; if the younger
 * is resolved at `now`, the older's ends_at wins when it is also resolved and
 * later; otherwise the older's ends_at wins when it is later and not a timeout.
 * Returns -1 only when memory runs out (a is then unchanged). */
int alert_merge(struct alert *a, const struct alert *in, int64_t now);

#endif
