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

struct error;

#include <stdbool.h>
#include <stdint.h>

struct alert {
    struct labels labels;
    struct labels annotations;
    int64_t starts_at;
    int64_t ends_at;
    int64_t updated_at;
    char *generator_url; /* may be NULL; read-only */
    uint64_t fingerprint;
    void *blob;   /* alert_compact(): one block holding labels, annotations and
                     generator_url (which then borrow it); NULL otherwise */
    bool timeout; /* ends_at came from resolve_timeout, not from the sender */
    bool url_in_blob;
};

/* An empty alert: no labels, all times TIME_UNSET, no generator URL. */
void alert_init(struct alert *a);
/* Frees labels, annotations and generator_url; a is re-initialised. Accepts NULL. */
void alert_release(struct alert *a);
/* Deep copy into dst (initialised; its old content is released on success).
 * Returns -1 when memory runs out, leaving dst unchanged. */
int alert_copy(struct alert *dst, const struct alert *src);

/* Packs labels, annotations and generator_url into ONE exact-fit block owned
 * by the alert (a->blob), for alerts that are kept: one malloc per alert
 * instead of three or more. Changing a packed alert later is fine (a changed
 * part moves out to a block of its own; the blob goes at alert_release() or the
 * next alert_compact()). A no-op when a is already packed. Never fails: out of
 * memory leaves a as it was. */
void alert_compact(struct alert *a);

/* Replaces generator_url with a copy of url (NULL or "" clears it). -1 on OOM. */
int alert_set_generator_url(struct alert *a, const char *url);

/* Recomputes a->fingerprint from a->labels (call after changing labels). */
void alert_update_fingerprint(struct alert *a);

/* Resolved at now: ends_at is set and ends_at <= now (Go's ResolvedAt). */
bool alert_resolved_at(const struct alert *a, int64_t now);

/* What Alertmanager's API does to a posted alert before storing it: updated_at =
 * now; a missing starts_at becomes ends_at, or now when ends_at is missing too;
 * a missing ends_at becomes now + resolve_timeout_ms with timeout = true. Also
 * refreshes the fingerprint. */
void alert_normalize(struct alert *a, int64_t now, int64_t resolve_timeout_ms);

/* Alertmanager's model.Alert.Validate(), same messages: "start time missing",
 * "start time must be before end time", "invalid label set: invalid label name
 * \"1x\"", "at least one label pair required", "invalid annotations: ...".
 * Callers prefix the JSON path. */
int alert_validate(const struct alert *a, struct error *err);

/* Alertmanager merges a re-posted alert with the stored one only when their
 * activity ranges overlap: in.ends_at in (old.starts_at, old.ends_at) or
 * in.starts_at in (old.starts_at, old.ends_at), all bounds exclusive. Otherwise
 * the new alert replaces the old one as it is. */
bool alert_overlaps(const struct alert *old, const struct alert *in);

/* Merges a re-posted alert `in` into the stored `a` (same fingerprint) in place,
 * exactly as Alertmanager's types.Alert.Merge: the younger of the two (by
 * updated_at) gives everything but: the earliest starts_at wins; if the younger
 * is resolved at `now`, the older's ends_at wins when it is also resolved and
 * later; otherwise the older's ends_at wins when it is later and not a timeout.
 * On equal updated_at, `in` counts as the younger. Everything else (annotations,
 * generator_url, updated_at, timeout) comes from the younger.
 * Returns -1 only when memory runs out (a is then unchanged). */
int alert_merge(struct alert *a, const struct alert *in, int64_t now);

/* The order of alerts in a notification (Alertmanager's types.AlertSlice, which
 * dispatch sorts each group by before it notifies): alerts with a "job" label
 * first, by job; then likewise by "instance"; then labels_compare(). Returns
 * <0, 0 or >0 for qsort. */
int alert_compare_notify(const struct alert *a, const struct alert *b);

#endif
