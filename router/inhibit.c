/*
 * inhibit.c - Alertmanager's inhibition rules over the router's alert store.
 *
 * For each rule the router keeps a source cache: the stored alerts whose
 * labels match the rule's source matchers (labels never change for a
 * fingerprint, so membership is decided once when an alert is first stored),
 * indexed by the values of the rule's `equal` labels (missing = ""), so a
 * target only looks at the sources that can inhibit it. An alert is muted by a
 * rule when the rule's target matchers match it and a source in its bucket is
 * firing at `now`. When the alert matches the source side too, sources that
 * also match the target side are skipped, so an alert never inhibits itself
 * (AM's hasEqual with excludeTwoSidedMatch).
 *
 * Ownership: r->inhibit_src[i] maps an equal-values key to a heap umap of
 * entries (fp -> struct rentry *); the entries belong to the store.
 */
#include "router/router_int.h"

#include "config/config.h"
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

static void free_buckets(struct smap *m)
{
    struct smap_entry *se;
    size_t it;

    for (se = smap_first(m, &it); se != NULL; se = smap_next(m, se, &it)) {
        umap_release(se->val);
        free(se->val);
    }
    smap_release(m);
}

void inhibit_release(struct router *r)
{
    for (size_t i = 0; i < r->n_inhibit_src; i++)
        free_buckets(&r->inhibit_src[i]);
    free(r->inhibit_src);
    r->inhibit_src = NULL;
    r->n_inhibit_src = 0;
}

static const char *val_or_empty(const struct labels *ls, const char *name)
{
    const char *v = labels_get(ls, name);

    return v != NULL ? v : "";
}

/* The bucket key of ls for rule: its equal-label values joined by 0xff. */
static int equal_key(const struct inhibit_rule *rule, const struct labels *ls, struct buf *out)
{
    buf_reset(out);
    if (buf_appendc(out, 'k') < 0)
        return -1;
    for (size_t k = 0; k < rule->n_equal; k++) {
        if (buf_appends(out, val_or_empty(ls, rule->equal[k])) < 0 ||
            buf_appendc(out, (char)0xff) < 0)
            return -1;
    }
    return 0;
}

int inhibit_add(struct router *r, struct rentry *e)
{
    const struct config *cfg = r->cfg;
    struct buf key;
    int rc = 0;

    buf_init(&key, (size_t)1 << 30);
    for (size_t i = 0; i < r->n_inhibit_src && rc == 0; i++) {
        const struct inhibit_rule *rule = &cfg->inhibit_rules[i];
        struct umap *bucket;

        if (!matchers_match(&rule->source, &e->a.labels))
            continue;
        if (equal_key(rule, &e->a.labels, &key) < 0) {
            rc = -1;
            break;
        }
        bucket = smap_get(&r->inhibit_src[i], buf_str(&key));
        if (bucket == NULL) {
            bucket = calloc(1, sizeof(*bucket));
            if (bucket == NULL || smap_put(&r->inhibit_src[i], buf_str(&key), bucket) < 0) {
                free(bucket);
                rc = -1;
                break;
            }
        }
        if (umap_put(bucket, e->a.fingerprint, e) < 0)
            rc = -1;
    }
    buf_release(&key);
    return rc;
}

void inhibit_remove(struct router *r, struct rentry *e)
{
    const struct config *cfg = r->cfg;
    struct buf key;

    buf_init(&key, (size_t)1 << 30);
    for (size_t i = 0; i < r->n_inhibit_src; i++) {
        const struct inhibit_rule *rule = &cfg->inhibit_rules[i];
        struct umap *bucket;

        if (equal_key(rule, &e->a.labels, &key) < 0)
            continue;
        bucket = smap_get(&r->inhibit_src[i], buf_str(&key));
        if (bucket == NULL)
            continue;
        umap_del(bucket, e->a.fingerprint);
        if (bucket->n == 0) {
            smap_del(&r->inhibit_src[i], buf_str(&key));
            umap_release(bucket);
            free(bucket);
        }
    }
    buf_release(&key);
}

int inhibit_rebuild(struct router *r)
{
    void *ev;
    size_t it, n = r->cfg->n_inhibit_rules;

    inhibit_release(r);
    if (n == 0)
        return 0;
    r->inhibit_src = calloc(n, sizeof(*r->inhibit_src));
    if (r->inhibit_src == NULL)
        return -1;
    r->n_inhibit_src = n;
    for (ev = emap_first(&r->alerts, &it); ev != NULL; ev = emap_next(&r->alerts, &it)) {
        if (inhibit_add(r, ev) < 0)
            return -1;
    }
    return 0;
}

bool inhibit_mutes(const struct router *r, const struct labels *ls, int64_t now, uint64_t *by)
{
    const struct config *cfg = r->cfg;
    bool muted = false;
    struct buf key;

    buf_init(&key, (size_t)1 << 30);
    for (size_t i = 0; i < r->n_inhibit_src && !muted; i++) {
        const struct inhibit_rule *rule = &cfg->inhibit_rules[i];
        const struct umap *bucket;
        struct umap_entry *ue;
        bool two_sided;
        size_t it;

        if (!matchers_match(&rule->target, ls))
            continue;
        if (equal_key(rule, ls, &key) < 0)
            break;
        bucket = smap_get(&r->inhibit_src[i], buf_str(&key));
        if (bucket == NULL)
            continue;
        two_sided = matchers_match(&rule->source, ls);
        for (ue = umap_first(bucket, &it); ue != NULL; ue = umap_next(bucket, ue, &it)) {
            const struct rentry *src = ue->val;

            if (alert_resolved_at(&src->a, now))
                continue;
            if (two_sided && matchers_match(&rule->target, &src->a.labels))
                continue;
            if (by != NULL)
                *by = src->a.fingerprint;
            muted = true;
            break;
        }
    }
    buf_release(&key);
    return muted;
}
