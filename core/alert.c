/*
 * alert.c - the alert model: lifetime, Alertmanager's defaulting, validation
 * and merge rules.
 *
 * Invariant: a->fingerprint == labels_fingerprint(&a->labels) whenever an alert
 * leaves this module's functions (alert_normalize and alert_update_fingerprint
 * restore it after callers change labels). The alert owns its label sets,
 * generator_url and blob. After alert_compact() the label sets borrow their
 * blocks from a->blob (labels_pack_into()) and url_in_blob says the URL lives
 * there too; every part released or replaced on its own never frees the blob,
 * which goes last in alert_release().
 */
#include "core/alert.h"

#include "core/error.h"
#include "core/timefmt.h"

#include <stdlib.h>
#include <string.h>

void alert_init(struct alert *a)
{
    labels_init(&a->labels);
    labels_init(&a->annotations);
    a->starts_at = TIME_UNSET;
    a->ends_at = TIME_UNSET;
    a->updated_at = TIME_UNSET;
    a->generator_url = NULL;
    a->fingerprint = labels_fingerprint(&a->labels);
    a->blob = NULL;
    a->timeout = false;
    a->url_in_blob = false;
}

void alert_release(struct alert *a)
{
    if (a == NULL)
        return;
    labels_release(&a->labels);
    labels_release(&a->annotations);
    if (!a->url_in_blob)
        free(a->generator_url);
    free(a->blob); /* after the parts that borrow it */
    alert_init(a);
}

int alert_copy(struct alert *dst, const struct alert *src)
{
    struct alert tmp;

    if (dst == src)
        return 0;
    alert_init(&tmp);
    if (labels_copy(&tmp.labels, &src->labels) < 0 ||
        labels_copy(&tmp.annotations, &src->annotations) < 0 ||
        alert_set_generator_url(&tmp, src->generator_url) < 0) {
        alert_release(&tmp);
        return -1;
    }
    tmp.starts_at = src->starts_at;
    tmp.ends_at = src->ends_at;
    tmp.updated_at = src->updated_at;
    tmp.fingerprint = src->fingerprint;
    tmp.timeout = src->timeout;
    alert_release(dst);
    *dst = tmp;
    return 0;
}

void alert_compact(struct alert *a)
{
    size_t ls = labels_packed_size(&a->labels);
    size_t as = labels_packed_size(&a->annotations);
    size_t us = a->generator_url != NULL ? strlen(a->generator_url) + 1 : 0;
    char *blob;

    if (ls + as + us == 0)
        return;
    if (a->blob != NULL && labels_within(&a->labels, a->blob, ls + as) &&
        labels_within(&a->annotations, a->blob, ls + as) && (us == 0 || a->url_in_blob))
        return; /* already packed and unchanged */
    blob = malloc(ls + as + us);
    if (blob == NULL)
        return;
    labels_pack_into(&a->labels, blob);
    labels_pack_into(&a->annotations, blob + ls);
    if (us > 0) {
        memcpy(blob + ls + as, a->generator_url, us);
        if (!a->url_in_blob)
            free(a->generator_url);
        a->generator_url = blob + ls + as;
        a->url_in_blob = true;
    }
    free(a->blob); /* nothing borrows the old one any more */
    a->blob = blob;
}

int alert_set_generator_url(struct alert *a, const char *url)
{
    char *u = NULL;

    if (url != NULL && url[0] != '\0') {
        u = strdup(url);
        if (u == NULL)
            return -1;
    }
    if (!a->url_in_blob)
        free(a->generator_url);
    a->generator_url = u;
    a->url_in_blob = false;
    return 0;
}

void alert_update_fingerprint(struct alert *a)
{
    a->fingerprint = labels_fingerprint(&a->labels);
}

bool alert_resolved_at(const struct alert *a, int64_t now)
{
    return a->ends_at != TIME_UNSET && a->ends_at <= now;
}

void alert_normalize(struct alert *a, int64_t now, int64_t resolve_timeout_ms)
{
    a->updated_at = now;
    if (a->starts_at == TIME_UNSET)
        a->starts_at = a->ends_at != TIME_UNSET ? a->ends_at : now;
    if (a->ends_at == TIME_UNSET) {
        a->timeout = true;
        a->ends_at = now + resolve_timeout_ms;
    }
    alert_update_fingerprint(a);
}

int alert_validate(const struct alert *a, struct error *err)
{
    if (a->starts_at == TIME_UNSET)
        return error_set(err, "start time missing");
    if (a->ends_at != TIME_UNSET && a->ends_at < a->starts_at)
        return error_set(err, "start time must be before end time");
    if (labels_validate(&a->labels, err) < 0)
        return error_prefix(err, "invalid label set");
    if (a->labels.n == 0)
        return error_set(err, "at least one label pair required");
    if (labels_validate(&a->annotations, err) < 0)
        return error_prefix(err, "invalid annotations");
    return 0;
}

bool alert_overlaps(const struct alert *old, const struct alert *in)
{
    return (in->ends_at > old->starts_at && in->ends_at < old->ends_at) ||
           (in->starts_at > old->starts_at && in->starts_at < old->ends_at);
}

int alert_merge(struct alert *a, const struct alert *in, int64_t now)
{
    const struct alert *younger = in, *older = a;
    struct alert res;

    /* Go: "Let o always be the younger alert"; on a tie the incoming one wins. */
    if (in->updated_at < a->updated_at) {
        younger = a;
        older = in;
    }
    alert_init(&res);
    if (alert_copy(&res, younger) < 0)
        return -1;
    if (older->starts_at < younger->starts_at)
        res.starts_at = older->starts_at;
    if (alert_resolved_at(younger, now)) {
        /* Both resolved: the latest explicit resolution wins. */
        if (alert_resolved_at(older, now) && older->ends_at > younger->ends_at)
            res.ends_at = older->ends_at;
    } else {
        /* A non-timeout end time rules when it is the latest. */
        if (older->ends_at > younger->ends_at && !older->timeout)
            res.ends_at = older->ends_at;
    }
    alert_release(a);
    *a = res;
    return 0;
}

int alert_compare_notify(const struct alert *a, const struct alert *b)
{
    static const char *const keys[] = {"job", "instance"};

    for (size_t i = 0; i < 2; i++) {
        const char *va = labels_get(&a->labels, keys[i]);
        const char *vb = labels_get(&b->labels, keys[i]);
        int c;

        if (va == NULL && vb == NULL)
            continue;
        if (va == NULL)
            return 1;
        if (vb == NULL)
            return -1;
        c = strcmp(va, vb);
        if (c != 0)
            return c < 0 ? -1 : 1;
    }
    return labels_compare(&a->labels, &b->labels);
}
