/*
 * inhibit.c - Alertmanager's inhibition rules over the router's alert store.
 *
 * For each rule the router keeps a source cache: the stored alerts whose
 * labels match the rule's source matchers (labels never change for a
 * fingerprint, so membership is decided once when an alert is first stored).
 * An alert is muted by a rule when the rule's target matchers match it and a
 * cached source alert is firing at `now` with the same value (missing = "")
 * for every `equal` label. When the alert matches the source side too, source
 * alerts that also match the target side are skipped, so an alert never
 * inhibits itself (AM's hasEqual with excludeTwoSidedMatch).
 */
#include "router/router_int.h"

#include "config/config.h"

#include <stdlib.h>
#include <string.h>

void inhibit_release(struct router *r)
{
    for (size_t i = 0; i < r->n_inhibit_src; i++)
        umap_release(&r->inhibit_src[i]);
    free(r->inhibit_src);
    r->inhibit_src = NULL;
    r->n_inhibit_src = 0;
}

int inhibit_add(struct router *r, struct rentry *e)
{
    const struct config *cfg = r->cfg;

    for (size_t i = 0; i < r->n_inhibit_src; i++) {
        if (matchers_match(&cfg->inhibit_rules[i].source, &e->a.labels) &&
            umap_put(&r->inhibit_src[i], e->a.fingerprint, e) < 0)
            return -1;
    }
    return 0;
}

void inhibit_remove(struct router *r, struct rentry *e)
{
    for (size_t i = 0; i < r->n_inhibit_src; i++)
        umap_del(&r->inhibit_src[i], e->a.fingerprint);
}

int inhibit_rebuild(struct router *r)
{
    struct umap_entry *ue;
    size_t it, n = r->cfg->n_inhibit_rules;

    inhibit_release(r);
    if (n == 0)
        return 0;
    r->inhibit_src = calloc(n, sizeof(*r->inhibit_src));
    if (r->inhibit_src == NULL)
        return -1;
    r->n_inhibit_src = n;
    for (ue = umap_first(&r->alerts, &it); ue != NULL; ue = umap_next(&r->alerts, ue, &it)) {
        if (inhibit_add(r, ue->val) < 0)
            return -1;
    }
    return 0;
}

static const char *val_or_empty(const struct labels *ls, const char *name)
{
    const char *v = labels_get(ls, name);

    return v != NULL ? v : "";
}

bool inhibit_mutes(const struct router *r, const struct labels *ls, int64_t now, uint64_t *by)
{
    const struct config *cfg = r->cfg;

    for (size_t i = 0; i < r->n_inhibit_src; i++) {
        const struct inhibit_rule *rule = &cfg->inhibit_rules[i];
        struct umap_entry *ue;
        bool two_sided;
        size_t it;

        if (!matchers_match(&rule->target, ls))
            continue;
        two_sided = matchers_match(&rule->source, ls);
        for (ue = umap_first(&r->inhibit_src[i], &it); ue != NULL;
             ue = umap_next(&r->inhibit_src[i], ue, &it)) {
            const struct rentry *src = ue->val;
            size_t k;

            if (alert_resolved_at(&src->a, now))
                continue;
            for (k = 0; k < rule->n_equal; k++) {
                if (strcmp(val_or_empty(&src->a.labels, rule->equal[k]),
                           val_or_empty(ls, rule->equal[k])) != 0)
                    break;
            }
            if (k < rule->n_equal)
                continue;
            if (two_sided && matchers_match(&rule->target, &src->a.labels))
                continue;
            if (by != NULL)
                *by = src->a.fingerprint;
            return true;
        }
    }
    return false;
}
