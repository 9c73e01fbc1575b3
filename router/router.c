/*
 * router.c - struct router: the alert store, silences, ticks, queries, the
 * change log and the restore at start-up (see router.h for the semantics and
 * router_int.h for the inside). Groups, flushes and jobs live in dispatch.c,
 * inhibition in inhibit.c.
 *
 * Invariants: an entry in r->alerts is freed only when no group holds it
 * (n_groups == 0); every touch of persisted state goes through router_touch_*
 * so the change log is complete; nothing here reads a clock.
 */
#include "router/router_int.h"

#include "config/config.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/timefmt.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_RETENTION       ((int64_t)120 * 3600 * 1000)
#define DEFAULT_RESOLVE_TIMEOUT ((int64_t)5 * 60 * 1000)

/* ------------------------------------------------------------------ change log */

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap == 0 ? 32 : *cap * 2;
    void *nv = realloc(*v, ncap * elem);
    if (nv == NULL)
        return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

void router_touch_alert(struct router *r, uint64_t fp)
{
    if (r->loading || umap_get(&r->ch_alerts, fp) != NULL)
        return;
    if (grow((void **)&r->ch.alerts, &r->cap_alerts, r->ch.n_alerts, sizeof(uint64_t)) < 0 ||
        umap_put(&r->ch_alerts, fp, r) < 0)
        return;
    r->ch.alerts[r->ch.n_alerts++] = fp;
}

static void touch_str(struct router *r, struct smap *set, char ***arr, size_t *n, size_t *cap,
                      const char *key)
{
    if (r->loading || smap_get(set, key) != NULL)
        return;
    if (grow((void **)arr, cap, *n, sizeof(char *)) < 0 || smap_put(set, key, r) < 0)
        return;
    (*arr)[(*n)++] = (char *)smap_key(set, key);
}

void router_touch_silence(struct router *r, const char *id)
{
    touch_str(r, &r->ch_silences, &r->ch.silences, &r->ch.n_silences, &r->cap_silences, id);
}

void router_touch_group(struct router *r, const char *key)
{
    touch_str(r, &r->ch_groups, &r->ch.groups, &r->ch.n_groups, &r->cap_groups, key);
}

void router_touch_nflog(struct router *r, const char *key)
{
    touch_str(r, &r->ch_nflog, &r->ch.nflog, &r->ch.n_nflog, &r->cap_nflog, key);
}

void router_touch_member(struct router *r, const char *group_key, uint64_t fp)
{
    char k[FINGERPRINT_STRLEN];
    struct buf b;
    const char *gk;

    if (r->loading)
        return;
    /* The member set is keyed "fp" 0x1f "group key"; the array points at the
     * group key inside that map key. */
    fingerprint_format(fp, k);
    buf_init(&b, (size_t)1 << 30);
    if (buf_appends(&b, k) < 0 || buf_appendc(&b, '\x1f') < 0 || buf_appends(&b, group_key) < 0)
        goto out;
    if (smap_get(&r->ch_members, buf_str(&b)) != NULL)
        goto out;
    if (grow((void **)&r->ch.members, &r->cap_members, r->ch.n_members,
             sizeof(struct router_member_change)) < 0 ||
        smap_put(&r->ch_members, buf_str(&b), r) < 0)
        goto out;
    gk = smap_key(&r->ch_members, buf_str(&b)) + FINGERPRINT_STRLEN;
    r->ch.members[r->ch.n_members].group_key = gk;
    r->ch.members[r->ch.n_members++].fingerprint = fp;
out:
    buf_release(&b);
}

const struct router_changes *router_changes(const struct router *r)
{
    return &r->ch;
}

void router_changes_clear(struct router *r)
{
    r->ch.n_alerts = 0;
    r->ch.n_silences = 0;
    r->ch.n_groups = 0;
    r->ch.n_nflog = 0;
    r->ch.n_members = 0;
    r->ch.n_incidents = 0;
    r->ch.incident_seq = false;
    umap_release(&r->ch_incidents);
    smap_release(&r->ch_members);
    umap_release(&r->ch_alerts);
    smap_release(&r->ch_silences);
    smap_release(&r->ch_groups);
    smap_release(&r->ch_nflog);
}

int64_t router_alert_retention(const struct router *r)
{
    return r->cfg->retention.alerts > 0 ? r->cfg->retention.alerts : DEFAULT_RETENTION;
}

static int64_t silence_retention(const struct router *r)
{
    return r->cfg->retention.silences > 0 ? r->cfg->retention.silences : DEFAULT_RETENTION;
}

/* ------------------------------------------------------------------ lifecycle */

struct router *router_new(const struct config *cfg)
{
    struct router *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->cfg = cfg;
    r->next_gc = INT64_MAX;
    emap_init(&r->alerts, RENTRY_KEY_OFF);
    r->silences = silences_new();
    if (r->silences == NULL || inhibit_rebuild(r) < 0) {
        router_free(r);
        return NULL;
    }
    return r;
}

static void entry_free(struct rentry *e)
{
    alert_release(&e->a);
    free(e);
}

void router_free(struct router *r)
{
    struct umap_entry *ue;
    void *ev;
    struct smap_entry *se;
    size_t it;

    if (r == NULL)
        return;
    dispatch_drop_groups(r);
    esc_release(r);
    free(r->heap);
    inhibit_release(r);
    for (ev = emap_first(&r->alerts, &it); ev != NULL; ev = emap_next(&r->alerts, &it))
        entry_free(ev);
    emap_release(&r->alerts);
    silences_free(r->silences);
    for (se = smap_first(&r->nflog, &it); se != NULL; se = smap_next(&r->nflog, se, &it)) {
        nflog_entry_release(se->val);
        free(se->val);
    }
    smap_release(&r->nflog);
    for (ue = umap_first(&r->jobs, &it); ue != NULL; ue = umap_next(&r->jobs, ue, &it))
        pending_job_free(ue->val);
    umap_release(&r->jobs);
    smap_release(&r->latest);
    for (ue = umap_first(&r->flushes, &it); ue != NULL; ue = umap_next(&r->flushes, ue, &it))
        flush_rec_free(ue->val);
    umap_release(&r->flushes);
    route_list_release(&r->scratch);
    router_changes_clear(r);
    free(r->ch.alerts);
    free(r->ch.silences);
    free(r->ch.groups);
    free(r->ch.nflog);
    free(r->ch.members);
    free(r);
}

const struct config *router_config(const struct router *r)
{
    return r->cfg;
}

int router_set_config(struct router *r, const struct config *cfg, int64_t now, struct error *err)
{
    void *ev;
    size_t it;
    int rc = 0;

    for (ev = emap_first(&r->alerts, &it); ev != NULL; ev = emap_next(&r->alerts, &it)) {
        struct rentry *e = ev;
        e->in_group_before = e->n_groups > 0;
    }
    dispatch_drop_groups(r);
    r->cfg = cfg;
    if (inhibit_rebuild(r) < 0)
        rc = error_set(err, "out of memory");
    r->reinserting = true;
    for (ev = emap_first(&r->alerts, &it); ev != NULL; ev = emap_next(&r->alerts, &it)) {
        struct rentry *e = ev;
        if ((e->in_group_before || !alert_resolved_at(&e->a, now)) &&
            dispatch_insert(r, e, now) < 0)
            rc = error_set(err, "out of memory");
        e->in_group_before = false;
    }
    r->reinserting = false;
    esc_resolve_orphans(r, now, "its aggregation group went away in a config reload");
    return rc;
}

/* ------------------------------------------------------------------ alerts */

void router_alert_defaults(struct alert *a, int64_t now, int64_t resolve_timeout)
{
    alert_normalize(a, now, resolve_timeout);
}

int router_put_alerts(struct router *r, struct alert *alerts, size_t n, int64_t now,
                      struct error *err)
{
    int64_t rt = r->cfg->global.resolve_timeout > 0 ? r->cfg->global.resolve_timeout
                                                    : DEFAULT_RESOLVE_TIMEOUT;

    for (size_t i = 0; i < n; i++) {
        struct alert *in = &alerts[i];
        struct rentry *e;

        router_alert_defaults(in, now, rt);
        e = emap_get(&r->alerts, in->fingerprint);
        if (e != NULL) {
            /* AM's provider merges only when the activity ranges overlap. */
            if (alert_overlaps(&e->a, in)) {
                if (alert_merge(&e->a, in, now) < 0)
                    goto nomem;
                alert_release(in);
                alert_compact(&e->a);
            } else {
                alert_release(&e->a);
                alert_compact(in);
                e->a = *in;
                alert_init(in);
            }
        } else {
            e = calloc(1, sizeof(*e));
            if (e == NULL)
                goto nomem;
            /* Kept for the alert's life: exact-fit blocks, allocated here on
             * the engine thread (the request thread's copy is freed). */
            alert_compact(in);
            e->a = *in;
            alert_init(in);
            if (emap_put(&r->alerts, e) < 0) {
                *in = e->a;
                free(e);
                goto nomem;
            }
            if (inhibit_add(r, e) < 0)
                goto nomem;
        }
        router_touch_alert(r, e->a.fingerprint);
        router_gc_due(r, e->a.ends_at + router_alert_retention(r));
        if (dispatch_insert(r, e, now) < 0)
            goto nomem;
    }
    return 0;
nomem:
    return error_set(err, "out of memory");
}

const struct alert *router_get_alert(const struct router *r, uint64_t fingerprint)
{
    const struct rentry *e = emap_get(&r->alerts, fingerprint);

    return e != NULL ? &e->a : NULL;
}

size_t router_alert_count(const struct router *r)
{
    return r->alerts.n;
}

void router_gc_due(struct router *r, int64_t due)
{
    if (due < r->next_gc)
        r->next_gc = due;
}

static void gc_alerts(struct router *r, int64_t now)
{
    void *ev;
    size_t it, n = 0;
    struct rentry **dead;
    int64_t retention = router_alert_retention(r);

    if (r->alerts.n == 0)
        return;
    dead = malloc(r->alerts.n * sizeof(*dead));
    if (dead == NULL) {
        router_gc_due(r, now + ROUTER_GC_INTERVAL);
        return;
    }
    for (ev = emap_first(&r->alerts, &it); ev != NULL; ev = emap_next(&r->alerts, &it)) {
        struct rentry *e = ev;
        int64_t due = e->a.ends_at + retention;
        if (due > now)
            router_gc_due(r, due);
        else if (e->n_groups > 0)
            router_gc_due(r, now + ROUTER_GC_INTERVAL); /* look again once it left */
        else
            dead[n++] = e;
    }
    for (size_t i = 0; i < n; i++) {
        inhibit_remove(r, dead[i]);
        emap_del(&r->alerts, dead[i]->a.fingerprint);
        router_touch_alert(r, dead[i]->a.fingerprint);
        entry_free(dead[i]);
    }
    free(dead);
}

static int silence_due_cb(void *ctx, const struct silence *s, enum silence_state st)
{
    struct router *r = ctx;

    (void)st;
    router_gc_due(r, s->ends_at + silence_retention(r));
    return 0;
}

/* ------------------------------------------------------------------ silences */

static void touch_silence_cb(void *ctx, const char *id)
{
    struct router *r = ctx;
    const struct silence *s = silences_get(r->silences, id);

    router_touch_silence(r, id);
    if (s != NULL)
        router_gc_due(r, s->ends_at + silence_retention(r));
}

enum silence_status router_put_silence(struct router *r, struct silence *in, int64_t now,
                                       const uint8_t random16[16], char id_out[SILENCE_ID_LEN],
                                       struct error *err)
{
    return silences_put(r->silences, in, now, random16, id_out, touch_silence_cb, r, err);
}

enum silence_status router_expire_silence(struct router *r, const char *id, int64_t now,
                                          struct error *err)
{
    enum silence_status st = silences_expire(r->silences, id, now, err);

    if (st == SILENCE_OK)
        touch_silence_cb(r, id);
    return st;
}

const struct silence *router_get_silence(const struct router *r, const char *id)
{
    return silences_get(r->silences, id);
}

int router_foreach_silence(const struct router *r, int64_t now,
                           int (*fn)(void *ctx, const struct silence *s, enum silence_state st),
                           void *ctx)
{
    return silences_foreach(r->silences, now, fn, ctx);
}

/* ------------------------------------------------------------------ ticks */

int router_tick(struct router *r, int64_t now, struct job_list *out, struct error *err)
{
    if (dispatch_flush_due(r, now, out) < 0 || esc_tick(r, now, out) < 0)
        return error_set(err, "out of memory");
    if (now >= r->next_gc) {
        /* Each pass recomputes the earliest time something becomes collectable. */
        r->next_gc = INT64_MAX;
        gc_alerts(r, now);
        silences_gc(r->silences, now, silence_retention(r), touch_silence_cb, r);
        if (silences_foreach(r->silences, now, silence_due_cb, r) < 0)
            router_gc_due(r, now + ROUTER_GC_INTERVAL);
        dispatch_gc_nflog(r, now);
        esc_gc(r, now);
    }
    return 0;
}

int64_t router_next_wakeup(const struct router *r)
{
    int64_t t = INT64_MAX;

    if (r->heap_n > 0)
        t = r->heap[0]->next_flush;
    if (r->next_gc < t)
        t = r->next_gc;
    if (esc_next_wakeup(r) < t)
        t = esc_next_wakeup(r);
    return t;
}

/* ------------------------------------------------------------------ queries */

const char *alert_state_name(enum alert_state st)
{
    switch (st) {
    case ALERT_STATE_UNPROCESSED:
        return "unprocessed";
    case ALERT_STATE_ACTIVE:
        return "active";
    case ALERT_STATE_SUPPRESSED:
        return "suppressed";
    }
    return "unprocessed";
}

void alert_status_release(struct alert_status *st)
{
    if (st == NULL)
        return;
    free(st->silenced_by);
    free(st->inhibited_by);
    memset(st, 0, sizeof(*st));
}

int router_alert_status(const struct router *r, const struct labels *ls, int64_t now,
                        struct alert_status *st)
{
    uint64_t by;
    size_t n;

    memset(st, 0, sizeof(*st));
    if (inhibit_mutes(r, ls, now, &by)) {
        st->inhibited_by = malloc(sizeof(uint64_t));
        if (st->inhibited_by == NULL)
            return -1;
        st->inhibited_by[0] = by;
        st->n_inhibited_by = 1;
    }
    n = silences_active_matching(r->silences, ls, now, &st->silenced_by);
    if (n == (size_t)-1) {
        alert_status_release(st);
        return -1;
    }
    st->n_silenced_by = n;
    st->state = st->n_silenced_by > 0 || st->n_inhibited_by > 0 ? ALERT_STATE_SUPPRESSED
                                                                : ALERT_STATE_ACTIVE;
    return 0;
}

static int cmp_entry_fp(const void *pa, const void *pb)
{
    const struct rentry *a = *(const struct rentry *const *)pa;
    const struct rentry *b = *(const struct rentry *const *)pb;

    return a->a.fingerprint < b->a.fingerprint ? -1 : a->a.fingerprint > b->a.fingerprint;
}

int router_foreach_alert(const struct router *r, int64_t now,
                         int (*fn)(void *ctx, const struct alert_view *v), void *ctx)
{
    struct route_list routes = ROUTE_LIST_INIT;
    struct rentry **v;
    void *ev;
    size_t it, n = 0;
    int rc = 0;

    if (r->alerts.n == 0)
        return 0;
    v = malloc(r->alerts.n * sizeof(*v));
    if (v == NULL)
        return -1;
    for (ev = emap_first(&r->alerts, &it); ev != NULL; ev = emap_next(&r->alerts, &it))
        v[n++] = ev;
    qsort(v, n, sizeof(*v), cmp_entry_fp);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct alert_status st;
        struct alert_view av;

        routes.n = 0;
        if (route_match(r->cfg->root, &v[i]->a.labels, &routes) < 0 ||
            router_alert_status(r, &v[i]->a.labels, now, &st) < 0) {
            rc = -1;
            break;
        }
        av.alert = &v[i]->a;
        av.resolved = alert_resolved_at(&v[i]->a, now);
        av.status = &st;
        av.routes = routes.v;
        av.n_routes = routes.n;
        rc = fn(ctx, &av);
        alert_status_release(&st);
    }
    route_list_release(&routes);
    free(v);
    return rc;
}

void router_count_alerts(const struct router *r, int64_t now,
                         size_t counts[ALERT_STATE_SUPPRESSED + 1])
{
    void *ev;
    size_t it;

    for (ev = emap_first(&r->alerts, &it); ev != NULL; ev = emap_next(&r->alerts, &it)) {
        const struct rentry *re = ev;
        bool muted;

        if (alert_resolved_at(&re->a, now))
            continue;
        muted = inhibit_mutes(r, &re->a.labels, now, NULL) ||
                silences_mutes(r->silences, &re->a.labels, now);
        counts[muted ? ALERT_STATE_SUPPRESSED : ALERT_STATE_ACTIVE]++;
    }
}

static const char *group_receiver_name(const struct rgroup *g)
{
    return g->route->receiver != NULL && g->route->receiver->name != NULL ? g->route->receiver->name
                                                                          : "";
}

static int cmp_group(const void *pa, const void *pb)
{
    const struct rgroup *a = *(const struct rgroup *const *)pa;
    const struct rgroup *b = *(const struct rgroup *const *)pb;
    int c = labels_compare(&a->labels, &b->labels);

    if (c != 0)
        return c;
    c = strcmp(group_receiver_name(a), group_receiver_name(b));
    return c != 0 ? c : strcmp(a->key, b->key);
}

static int cmp_alert_ptr(const void *pa, const void *pb)
{
    const struct alert *a = *(const struct alert *const *)pa;
    const struct alert *b = *(const struct alert *const *)pb;
    int c = alert_slice_cmp(a, b);

    if (c != 0)
        return c;
    return a->fingerprint < b->fingerprint ? -1 : a->fingerprint > b->fingerprint;
}

/* Fills *out from g; with_alerts false leaves alerts NULL and n_alerts 0
 * (no allocation, no sort: what storage needs on every commit). */
static int fill_view(const struct rgroup *g, bool with_alerts, struct group_view *out)
{
    const struct alert **al = NULL;
    void *ev;
    size_t it, n = 0;

    memset(out, 0, sizeof(*out));
    if (with_alerts && g->alerts.n > 0) {
        al = malloc(g->alerts.n * sizeof(*al));
        if (al == NULL)
            return -1;
        for (ev = emap_first(&g->alerts, &it); ev != NULL; ev = emap_next(&g->alerts, &it))
            al[n++] = &((const struct rentry *)ev)->a;
        qsort(al, n, sizeof(*al), cmp_alert_ptr);
    }
    out->key = g->key;
    out->route = g->route;
    out->receiver = g->route->receiver;
    out->labels = &g->labels;
    out->next_flush = g->next_flush;
    out->has_flushed = g->has_flushed;
    out->incident_id = g->incident_id;
    out->n_alerts = n;
    out->alerts = al;
    return 0;
}

void group_view_release(struct group_view *g)
{
    if (g == NULL)
        return;
    free((void *)g->alerts);
    free((void *)g->statuses);
    memset(g, 0, sizeof(*g));
}

int router_get_group(const struct router *r, const char *key, struct group_view *out)
{
    const struct rgroup *g = smap_get(&r->groups, key);

    memset(out, 0, sizeof(*out));
    if (g == NULL)
        return 0;
    return fill_view(g, true, out) < 0 ? -1 : 1;
}

int router_get_group_head(const struct router *r, const char *key, struct group_view *out)
{
    const struct rgroup *g = smap_get(&r->groups, key);

    memset(out, 0, sizeof(*out));
    if (g == NULL)
        return 0;
    return fill_view(g, false, out) < 0 ? -1 : 1;
}

int router_group_set_incident(struct router *r, const char *key, uint64_t incident_id)
{
    struct rgroup *g = smap_get(&r->groups, key);

    if (g == NULL)
        return -1;
    if (g->incident_id != incident_id) {
        g->incident_id = incident_id;
        router_touch_group(r, g->key);
    }
    return 0;
}

bool router_group_has_alert(const struct router *r, const char *key, uint64_t fingerprint)
{
    const struct rgroup *g = smap_get(&r->groups, key);

    return g != NULL && emap_get(&g->alerts, fingerprint) != NULL;
}

size_t router_group_count(const struct router *r)
{
    return r->groups.n;
}

int router_foreach_group(const struct router *r, int64_t now,
                         int (*fn)(void *ctx, const struct group_view *g), void *ctx)
{
    struct rgroup **v;
    struct smap_entry *se;
    size_t it, n = 0;
    int rc = 0;

    if (r->groups.n == 0)
        return 0;
    v = malloc(r->groups.n * sizeof(*v));
    if (v == NULL)
        return -1;
    for (se = smap_first(&r->groups, &it); se != NULL; se = smap_next(&r->groups, se, &it))
        v[n++] = se->val;
    qsort(v, n, sizeof(*v), cmp_group);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct group_view gv;
        struct alert_status *sts;

        if (fill_view(v[i], true, &gv) < 0) {
            rc = -1;
            break;
        }
        sts = calloc(gv.n_alerts > 0 ? gv.n_alerts : 1, sizeof(*sts));
        if (sts == NULL) {
            group_view_release(&gv);
            rc = -1;
            break;
        }
        for (size_t k = 0; k < gv.n_alerts; k++) {
            if (router_alert_status(r, &gv.alerts[k]->labels, now, &sts[k]) < 0)
                rc = -1;
        }
        gv.statuses = sts;
        if (rc == 0)
            rc = fn(ctx, &gv);
        for (size_t k = 0; k < gv.n_alerts; k++)
            alert_status_release(&sts[k]);
        group_view_release(&gv);
    }
    free(v);
    return rc;
}

/* ------------------------------------------------------------------ nflog */

void nflog_entry_release(struct nflog_entry *e)
{
    if (e == NULL)
        return;
    free(e->key);
    free(e->group_key);
    free(e->receiver_name);
    free(e->firing);
    free(e->resolved);
    memset(e, 0, sizeof(*e));
}

const struct nflog_entry *router_get_nflog(const struct router *r, const char *key)
{
    return smap_get(&r->nflog, key);
}

/* ------------------------------------------------------------------ restore */

int router_load_alert(struct router *r, struct alert *a, struct error *err)
{
    struct rentry *e = emap_get(&r->alerts, a->fingerprint);

    if (a->fingerprint == 0)
        alert_update_fingerprint(a);
    if (e == NULL)
        e = emap_get(&r->alerts, a->fingerprint);
    router_gc_due(r, a->ends_at + router_alert_retention(r));
    alert_compact(a);
    if (e != NULL) {
        alert_release(&e->a);
        e->a = *a;
        alert_init(a);
        return 0;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        goto nomem;
    e->a = *a;
    if (emap_put(&r->alerts, e) < 0) {
        free(e);
        goto nomem;
    }
    alert_init(a);
    if (inhibit_add(r, e) < 0)
        return error_set(err, "out of memory");
    return 0;
nomem:
    alert_release(a);
    return error_set(err, "out of memory");
}

int router_load_silence(struct router *r, struct silence *s, struct error *err)
{
    router_gc_due(r, s->ends_at + silence_retention(r));
    return silences_load(r->silences, s, err);
}

static int cmp_u64_load(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

int router_load_nflog(struct router *r, struct nflog_entry *in, struct error *err)
{
    struct nflog_entry *e = NULL, *old;

    if (in->group_key == NULL || in->receiver_name == NULL) {
        nflog_entry_release(in);
        return error_set(err, "notification log entry without group key or receiver");
    }
    if (in->key == NULL) {
        in->key = nflog_key_make(in->group_key, in->receiver_name, in->integration);
        if (in->key == NULL)
            goto nomem;
    }
    if (in->firing == NULL) {
        in->firing = malloc(sizeof(uint64_t));
        in->n_firing = 0;
    }
    if (in->resolved == NULL) {
        in->resolved = malloc(sizeof(uint64_t));
        in->n_resolved = 0;
    }
    if (in->firing == NULL || in->resolved == NULL)
        goto nomem;
    qsort(in->firing, in->n_firing, sizeof(uint64_t), cmp_u64_load);
    qsort(in->resolved, in->n_resolved, sizeof(uint64_t), cmp_u64_load);
    e = malloc(sizeof(*e));
    if (e == NULL)
        goto nomem;
    *e = *in;
    old = smap_get(&r->nflog, e->key);
    if (smap_put(&r->nflog, e->key, e) < 0) {
        free(e);
        goto nomem;
    }
    memset(in, 0, sizeof(*in));
    router_gc_due(r, e->expires_at);
    if (old != NULL) {
        nflog_entry_release(old);
        free(old);
    }
    return 0;
nomem:
    nflog_entry_release(in);
    return error_set(err, "out of memory");
}

int router_load_group(struct router *r, const char *route_id, const struct labels *labels,
                      int64_t next_flush, bool has_flushed, uint64_t incident_id,
                      const uint64_t *fps, size_t n_fps, struct error *err)
{
    const struct route *rt = route_find_id(r->cfg->root, route_id);
    struct labels gl = LABELS_INIT;
    struct buf key;
    struct rgroup *g;
    int rc = 0;

    if (rt == NULL)
        return 0; /* route gone: router_load_done re-dispatches its alerts */
    buf_init(&key, (size_t)1 << 30);
    if (route_group_labels(rt, labels, &gl) < 0)
        goto nomem;
    if (!labels_equal(&gl, labels))
        goto out; /* group_by changed */
    if (route_group_file_key(rt, &gl, &key) < 0)
        goto nomem;
    g = smap_get(&r->groups, buf_str(&key));
    if (g == NULL) {
        g = group_new(r, rt, &gl, buf_str(&key));
        if (g == NULL)
            goto nomem;
        g->next_flush = next_flush;
        g->has_flushed = has_flushed;
        g->incident_id = incident_id;
        if (smap_put(&r->groups, g->key, g) < 0) {
            group_free(r, g);
            goto nomem;
        }
        if (heap_push(r, g) < 0) {
            smap_del(&r->groups, g->key);
            group_free(r, g);
            goto nomem;
        }
    }
    for (size_t i = 0; i < n_fps; i++) {
        struct rentry *e = emap_get(&r->alerts, fps[i]);
        if (e != NULL && group_add(g, e) < 0)
            goto nomem;
    }
    esc_group_created(r, g);
    goto out;
nomem:
    rc = error_set(err, "out of memory");
out:
    labels_release(&gl);
    buf_release(&key);
    return rc;
}

int router_load_job(struct router *r, const struct notify_job *job, struct error *err)
{
    struct flush_rec *f = umap_get(&r->flushes, job->flush_id);
    const struct route *rt;
    struct buf fk;

    if (job->group_key == NULL || job->receiver_name == NULL)
        return error_set(err, "job %llu without group key or receiver",
                         (unsigned long long)job->id);
    if (umap_get(&r->jobs, job->id) != NULL)
        return 0;
    if (f == NULL) {
        f = calloc(1, sizeof(*f));
        if (f == NULL)
            return error_set(err, "out of memory");
        rt = route_find_id(r->cfg->root, job->route_id != NULL ? job->route_id : "");
        /* Flushes are filed under the group's filing key, not the groupKey. */
        buf_init(&fk, (size_t)1 << 30);
        if (rt != NULL && route_group_file_key(rt, &job->group_labels, &fk) == 0)
            f->group_key = buf_detach(&fk);
        else
            f->group_key = strdup(job->group_key);
        buf_release(&fk);
        f->id = job->flush_id;
        if (f->group_key == NULL || umap_put(&r->flushes, f->id, f) < 0) {
            flush_rec_free(f);
            return error_set(err, "out of memory");
        }
    }
    if (job->flush_id > r->last_flush_id)
        r->last_flush_id = job->flush_id;
    if (dispatch_track_job(r, job, f) < 0)
        return error_set(err, "out of memory");
    return 0;
}

/* True when e is in the group route rt gives it. */
static int in_its_group(struct router *r, const struct route *rt, const struct rentry *e)
{
    struct labels gl = LABELS_INIT;
    struct buf key;
    const struct rgroup *g;
    int rc = -1;

    buf_init(&key, (size_t)1 << 30);
    if (route_group_labels(rt, &e->a.labels, &gl) < 0 || route_group_file_key(rt, &gl, &key) < 0)
        goto out;
    g = smap_get(&r->groups, buf_str(&key));
    rc = g != NULL && emap_get(&g->alerts, e->a.fingerprint) != NULL;
out:
    labels_release(&gl);
    buf_release(&key);
    return rc;
}

int router_load_done(struct router *r, int64_t now, struct error *err)
{
    struct route_list routes = ROUTE_LIST_INIT;
    void *ev;
    size_t it;
    int rc = 0;

    for (ev = emap_first(&r->alerts, &it); ev != NULL && rc == 0; ev = emap_next(&r->alerts, &it)) {
        struct rentry *e = ev;
        bool missing = false;

        if (alert_resolved_at(&e->a, now))
            continue;
        routes.n = 0;
        if (route_match(r->cfg->root, &e->a.labels, &routes) < 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < routes.n; i++) {
            int in = in_its_group(r, routes.v[i], e);
            if (in < 0)
                rc = -1;
            else if (!in)
                missing = true;
        }
        r->reinserting = true;
        if (missing && rc == 0 && dispatch_insert(r, e, now) < 0)
            rc = -1;
        r->reinserting = false;
    }
    route_list_release(&routes);
    esc_resolve_orphans(r, now, "its aggregation group did not survive the restart");
    if (rc < 0)
        return error_set(err, "out of memory");
    return 0;
}
