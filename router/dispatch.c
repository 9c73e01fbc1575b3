/*
 * dispatch.c - aggregation groups, their timers, flushes, the notification log
 * and notify jobs: Alertmanager's dispatcher, aggrGroup and notify pipeline
 * (MuteStage, DedupStage, RetryStage's send_resolved filter, SetNotifiesStage)
 * without goroutines, driven by `now`.
 *
 * Invariants: every group is in r->groups and in the heap (heap_idx valid);
 * a group never stays empty after a flush; every pending job is in r->jobs and
 * counted in its flush record's n_pending; r->latest maps an nflog key to the
 * newest outstanding job for it.
 */
#include "router/router_int.h"

#include "config/config.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/timefmt.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ heap */

static bool heap_less(const struct rgroup *a, const struct rgroup *b)
{
    if (a->next_flush != b->next_flush)
        return a->next_flush < b->next_flush;
    return strcmp(a->key, b->key) < 0; /* deterministic order for equal times */
}

static void heap_swap(struct router *r, size_t i, size_t j)
{
    struct rgroup *t = r->heap[i];

    r->heap[i] = r->heap[j];
    r->heap[j] = t;
    r->heap[i]->heap_idx = i;
    r->heap[j]->heap_idx = j;
}

static void heap_up(struct router *r, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(r->heap[i], r->heap[p]))
            break;
        heap_swap(r, i, p);
        i = p;
    }
}

static void heap_down(struct router *r, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, rr = l + 1, m = i;
        if (l < r->heap_n && heap_less(r->heap[l], r->heap[m]))
            m = l;
        if (rr < r->heap_n && heap_less(r->heap[rr], r->heap[m]))
            m = rr;
        if (m == i)
            break;
        heap_swap(r, i, m);
        i = m;
    }
}

int heap_push(struct router *r, struct rgroup *g)
{
    if (r->heap_n == r->heap_cap) {
        size_t cap = r->heap_cap == 0 ? 64 : r->heap_cap * 2;
        struct rgroup **v = realloc(r->heap, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        r->heap = v;
        r->heap_cap = cap;
    }
    g->heap_idx = r->heap_n;
    r->heap[r->heap_n++] = g;
    heap_up(r, g->heap_idx);
    return 0;
}

void heap_remove(struct router *r, struct rgroup *g)
{
    size_t i = g->heap_idx;

    if (i >= r->heap_n || r->heap[i] != g)
        return;
    r->heap_n--;
    if (i != r->heap_n) {
        r->heap[i] = r->heap[r->heap_n];
        r->heap[i]->heap_idx = i;
        heap_down(r, i);
        heap_up(r, i);
    }
    g->heap_idx = (size_t)-1;
}

void heap_fix(struct router *r, struct rgroup *g)
{
    heap_down(r, g->heap_idx);
    heap_up(r, g->heap_idx);
}

/* ------------------------------------------------------------------ groups */

struct rgroup *group_new(struct router *r, const struct route *rt, struct labels *labels,
                         const char *key)
{
    struct rgroup *g = calloc(1, sizeof(*g));

    (void)r;
    if (g == NULL)
        return NULL;
    g->key = strdup(key);
    {
        struct buf gk;

        buf_init(&gk, (size_t)1 << 30);
        if (route_group_key(rt, labels, &gk) == 0)
            g->group_key = buf_detach(&gk);
        buf_release(&gk);
    }
    g->route_id = strdup(rt->id != NULL ? rt->id : (rt->key != NULL ? rt->key : "{}"));
    g->route = rt;
    g->labels = *labels; /* takes ownership */
    labels_init(labels);
    emap_init(&g->alerts, RENTRY_KEY_OFF);
    g->heap_idx = (size_t)-1;
    if (g->key == NULL || g->group_key == NULL || g->route_id == NULL) {
        labels_release(&g->labels);
        free(g->key);
        free(g->group_key);
        free(g->route_id);
        free(g);
        return NULL;
    }
    return g;
}

/* Frees a group that is already out of r->groups and the heap; releases its holds. */
void group_free(struct router *r, struct rgroup *g)
{
    void *ev;
    size_t it;

    (void)r;
    if (g == NULL)
        return;
    for (ev = emap_first(&g->alerts, &it); ev != NULL; ev = emap_next(&g->alerts, &it)) {
        struct rentry *e = ev;
        e->n_groups--;
    }
    emap_release(&g->alerts);
    labels_release(&g->labels);
    free(g->key);
    free(g->group_key);
    free(g->route_id);
    free(g);
}

int group_add(struct rgroup *g, struct rentry *e)
{
    if (emap_get(&g->alerts, e->a.fingerprint) != NULL)
        return 0;
    if (emap_put(&g->alerts, e) < 0)
        return -1;
    e->n_groups++;
    return 1;
}

/* Lists g's members in the change log as leaving (see router_changes). */
static void touch_all_members(struct router *r, const struct rgroup *g)
{
    void *ev;
    size_t it;

    for (ev = emap_first(&g->alerts, &it); ev != NULL; ev = emap_next(&g->alerts, &it))
        router_touch_member(r, g->key, ((const struct rentry *)ev)->a.fingerprint);
}

static void group_delete(struct router *r, struct rgroup *g, int64_t now)
{
    touch_all_members(r, g);
    esc_group_deleted(r, g, now);
    heap_remove(r, g);
    smap_del(&r->groups, g->key);
    router_touch_group(r, g->key);
    group_free(r, g);
}

void dispatch_drop_groups(struct router *r)
{
    struct smap_entry *se;
    size_t it;

    for (se = smap_first(&r->groups, &it); se != NULL; se = smap_next(&r->groups, se, &it)) {
        router_touch_group(r, se->key);
        touch_all_members(r, se->val);
        group_free(r, se->val);
    }
    smap_release(&r->groups);
    r->heap_n = 0;
}

/* AM's processAlert for one route: find or make the group, insert the alert. */
static int insert_route(struct router *r, const struct route *rt, struct rentry *e, int64_t now)
{
    struct labels gl = LABELS_INIT;
    struct buf key;
    struct rgroup *g;
    int rc = -1, added;

    buf_init(&key, (size_t)1 << 30);
    if (route_group_labels(rt, &e->a.labels, &gl) < 0 || route_group_file_key(rt, &gl, &key) < 0)
        goto out;
    g = smap_get(&r->groups, buf_str(&key));
    if (g == NULL) {
        router_touch_group(r, buf_str(&key));
        g = group_new(r, rt, &gl, buf_str(&key));
        if (g == NULL)
            goto out;
        g->next_flush = now + rt->group_wait;
        if (smap_put(&r->groups, g->key, g) < 0) {
            group_free(r, g);
            goto out;
        }
        if (heap_push(r, g) < 0) {
            smap_del(&r->groups, g->key);
            group_free(r, g);
            goto out;
        }
        esc_group_created(r, g);
    }
    added = group_add(g, e);
    if (added < 0)
        goto out;
    if (added) {
        router_touch_group(r, g->key);
        router_touch_member(r, g->key, e->a.fingerprint);
    }
    if (esc_alert_in_group(r, g, e, added == 1, now) < 0)
        goto out;
    /* An alert that is already older than group_wait flushes the group at once,
     * but only before its first flush. */
    if (!g->has_flushed && e->a.starts_at + rt->group_wait < now && g->next_flush > now) {
        g->next_flush = now;
        heap_fix(r, g);
        router_touch_group(r, g->key);
    }
    rc = 0;
out:
    labels_release(&gl);
    buf_release(&key);
    return rc;
}

int dispatch_insert(struct router *r, struct rentry *e, int64_t now)
{
    r->scratch.n = 0;
    if (route_match(r->cfg->root, &e->a.labels, &r->scratch) < 0)
        return -1;
    for (size_t i = 0; i < r->scratch.n; i++) {
        if (insert_route(r, r->scratch.v[i], e, now) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ nflog */

char *nflog_key_make(const char *group_key, const char *receiver, size_t integration)
{
    struct buf b;

    buf_init(&b, (size_t)1 << 30);
    if (buf_printf(&b, "%s\x1f%s\x1f%zu", group_key, receiver, integration) < 0) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b);
}

static bool fp_in(const uint64_t *v, size_t n, uint64_t fp)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == fp)
            return true;
        if (v[mid] < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* True when every element of sub (sorted) is in set (sorted). */
static bool fp_subset(const uint64_t *sub, size_t n_sub, const uint64_t *set, size_t n_set)
{
    for (size_t i = 0; i < n_sub; i++) {
        if (!fp_in(set, n_set, sub[i]))
            return false;
    }
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

/* AM's DedupStage.needsUpdate. */
static bool needs_update(const struct nflog_entry *e, const uint64_t *firing, size_t n_firing,
                         const uint64_t *resolved, size_t n_resolved, bool send_resolved,
                         int64_t repeat, int64_t now)
{
    if (e == NULL)
        return n_firing > 0;
    if (!fp_subset(firing, n_firing, e->firing, e->n_firing))
        return true;
    if (n_firing == 0)
        return e->n_firing > 0;
    if (send_resolved && !fp_subset(resolved, n_resolved, e->resolved, e->n_resolved))
        return true;
    return e->timestamp < now - repeat;
}

static uint64_t *fps_dup(const uint64_t *v, size_t n)
{
    uint64_t *d = malloc((n > 0 ? n : 1) * sizeof(*d));

    if (d != NULL && n > 0)
        memcpy(d, v, n * sizeof(*d));
    return d;
}

/* Writes (replaces) the nflog entry for key. */
static int nflog_write(struct router *r, const char *key, const char *group_key,
                       const char *receiver, size_t integration, const uint64_t *firing,
                       size_t n_firing, const uint64_t *resolved, size_t n_resolved, int64_t now,
                       int64_t flushed_at)
{
    struct nflog_entry *e = calloc(1, sizeof(*e));
    struct nflog_entry *old;

    if (e == NULL)
        return -1;
    e->key = strdup(key);
    e->group_key = strdup(group_key);
    e->receiver_name = strdup(receiver);
    e->integration = integration;
    e->firing = fps_dup(firing, n_firing);
    e->n_firing = n_firing;
    e->resolved = fps_dup(resolved, n_resolved);
    e->n_resolved = n_resolved;
    e->timestamp = now;
    e->flushed_at = flushed_at;
    e->expires_at = now + router_alert_retention(r);
    if (e->key == NULL || e->group_key == NULL || e->receiver_name == NULL || e->firing == NULL ||
        e->resolved == NULL)
        goto fail;
    old = smap_get(&r->nflog, key);
    if (smap_put(&r->nflog, e->key, e) < 0)
        goto fail;
    if (old != NULL) {
        nflog_entry_release(old);
        free(old);
    }
    router_touch_nflog(r, key);
    router_gc_due(r, e->expires_at);
    return 0;
fail:
    nflog_entry_release(e);
    free(e);
    return -1;
}

void dispatch_gc_nflog(struct router *r, int64_t now)
{
    struct smap_entry *se;
    size_t it, n = 0;
    struct nflog_entry **dead;

    if (r->nflog.n == 0)
        return;
    dead = malloc(r->nflog.n * sizeof(*dead));
    if (dead == NULL)
        return;
    for (se = smap_first(&r->nflog, &it); se != NULL; se = smap_next(&r->nflog, se, &it)) {
        struct nflog_entry *e = se->val;
        if (e->expires_at <= now)
            dead[n++] = e;
        else
            router_gc_due(r, e->expires_at);
    }
    for (size_t i = 0; i < n; i++) {
        router_touch_nflog(r, dead[i]->key);
        smap_del(&r->nflog, dead[i]->key);
        nflog_entry_release(dead[i]);
        free(dead[i]);
    }
    free(dead);
}

/* ------------------------------------------------------------------ jobs */

void pending_job_free(struct pending_job *pj)
{
    if (pj == NULL)
        return;
    free(pj->nflog_key);
    free(pj->group_key);
    free(pj->receiver_name);
    free(pj->firing);
    free(pj->resolved);
    free(pj);
}

void flush_rec_free(struct flush_rec *f)
{
    if (f == NULL)
        return;
    free(f->group_key);
    free(f->resolved);
    free(f);
}

void notify_job_free(struct notify_job *job)
{
    if (job == NULL)
        return;
    free(job->group_key);
    free(job->route_id);
    free(job->receiver_name);
    labels_release(&job->group_labels);
    for (size_t i = 0; i < job->n_alerts; i++)
        alert_release(&job->alerts[i]);
    free(job->alerts);
    free(job->firing);
    free(job->resolved);
    free(job->acked_by);
    free(job->ack_via);
    free(job->ack_comment);
    free(job);
}

struct notify_job *notify_job_copy(const struct notify_job *src)
{
    struct notify_job *j = calloc(1, sizeof(*j));

    if (j == NULL)
        return NULL;
    *j = *src;
    j->group_key = NULL;
    j->route_id = NULL;
    j->receiver_name = NULL;
    labels_init(&j->group_labels);
    j->alerts = NULL;
    j->n_alerts = 0;
    j->firing = NULL;
    j->resolved = NULL;
    j->acked_by = NULL;
    j->ack_via = NULL;
    j->ack_comment = NULL;
    if ((src->acked_by != NULL && (j->acked_by = strdup(src->acked_by)) == NULL) ||
        (src->ack_via != NULL && (j->ack_via = strdup(src->ack_via)) == NULL) ||
        (src->ack_comment != NULL && (j->ack_comment = strdup(src->ack_comment)) == NULL))
        goto fail;
    j->group_key = strdup(src->group_key != NULL ? src->group_key : "");
    j->route_id = strdup(src->route_id != NULL ? src->route_id : "");
    j->receiver_name = strdup(src->receiver_name != NULL ? src->receiver_name : "");
    j->firing = fps_dup(src->firing, src->n_firing);
    j->resolved = fps_dup(src->resolved, src->n_resolved);
    if (j->group_key == NULL || j->route_id == NULL || j->receiver_name == NULL ||
        j->firing == NULL || j->resolved == NULL ||
        labels_copy(&j->group_labels, &src->group_labels) < 0)
        goto fail;
    if (src->n_alerts > 0) {
        j->alerts = calloc(src->n_alerts, sizeof(*j->alerts));
        if (j->alerts == NULL)
            goto fail;
        for (size_t i = 0; i < src->n_alerts; i++) {
            alert_init(&j->alerts[i]);
            j->n_alerts = i + 1;
            if (alert_copy(&j->alerts[i], &src->alerts[i]) < 0)
                goto fail;
        }
    }
    return j;
fail:
    notify_job_free(j);
    return NULL;
}

void job_list_release(struct job_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        notify_job_free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
    l->cap = 0;
}

static int job_list_push(struct job_list *l, struct notify_job *j)
{
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 8 : l->cap * 2;
        struct notify_job **v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = j;
    return 0;
}

static uint64_t next_job_id(struct router *r, int64_t now)
{
    uint64_t by_time = now > 0 ? (uint64_t)now * 1024 : 0;

    r->last_job_id = r->last_job_id + 1 > by_time ? r->last_job_id + 1 : by_time;
    return r->last_job_id;
}

/* ------------------------------------------------------------------ flush */

/* AM's AlertSlice order (core's alert_compare_notify). */
int alert_slice_cmp(const struct alert *a, const struct alert *b)
{
    return alert_compare_notify(a, b);
}

/* AM's TimeActiveStage + TimeMuteStage for a route at now: true when the route is
 * outside all its active_time_intervals (if it has any) or inside one of its
 * mute_time_intervals. Unknown names (the loader rejects them) never match. */
static bool route_time_muted(const struct config *cfg, const struct route *rt, int64_t now)
{
    bool active = rt->n_active_time_intervals == 0;

    for (size_t i = 0; i < rt->n_active_time_intervals && !active; i++) {
        const struct time_interval *ti =
            config_find_time_interval(cfg, rt->active_time_intervals[i]);
        if (ti != NULL && time_interval_active(ti, now))
            active = true;
    }
    if (!active)
        return true;
    for (size_t i = 0; i < rt->n_mute_time_intervals; i++) {
        const struct time_interval *ti = config_find_time_interval(cfg, rt->mute_time_intervals[i]);
        if (ti != NULL && time_interval_active(ti, now))
            return true;
    }
    return false;
}

static int cmp_entry_ptr(const void *pa, const void *pb)
{
    const struct rentry *a = *(const struct rentry *const *)pa;
    const struct rentry *b = *(const struct rentry *const *)pb;
    int c = alert_slice_cmp(&a->a, &b->a);

    if (c != 0)
        return c;
    return a->a.fingerprint < b->a.fingerprint ? -1 : a->a.fingerprint > b->a.fingerprint;
}

/* The group's entries in AM's order; caller frees. NULL only when memory runs out
 * (or the group is empty, with *n = 0). */
static struct rentry **group_sorted(const struct rgroup *g, size_t *n)
{
    struct rentry **v;
    void *ev;
    size_t it, k = 0;

    *n = 0;
    if (g->alerts.n == 0)
        return NULL;
    v = malloc(g->alerts.n * sizeof(*v));
    if (v == NULL)
        return NULL;
    for (ev = emap_first(&g->alerts, &it); ev != NULL; ev = emap_next(&g->alerts, &it))
        v[k++] = ev;
    qsort(v, k, sizeof(*v), cmp_entry_ptr);
    *n = k;
    return v;
}

/* Removes, after a successful flush, the resolved alerts it saw that were not
 * updated since; deletes the group when it is empty. */
static void flush_succeeded(struct router *r, const char *group_key, const struct fp_stamp *res,
                            size_t n_res, int64_t now)
{
    struct rgroup *g = smap_get(&r->groups, group_key);

    if (g == NULL)
        return;
    for (size_t i = 0; i < n_res; i++) {
        struct rentry *e = emap_get(&g->alerts, res[i].fp);
        if (e == NULL || e->a.updated_at != res[i].updated_at)
            continue;
        emap_del(&g->alerts, res[i].fp);
        e->n_groups--;
        router_touch_group(r, g->key);
        router_touch_member(r, g->key, res[i].fp);
    }
    if (g->alerts.n == 0)
        group_delete(r, g, now);
}

struct flush_ctx {
    struct rentry **all; /* the group's alerts, AM's order */
    size_t n_all;
    bool *firing; /* per alert: firing at flush time */
    bool *muted;
    uint64_t *fire_fps; /* unmuted, sorted */
    size_t n_fire;
    uint64_t *res_fps;
    size_t n_res;
};

static void flush_ctx_release(struct flush_ctx *c)
{
    free(c->all);
    free(c->firing);
    free(c->muted);
    free(c->fire_fps);
    free(c->res_fps);
}

static int job_set_incident(struct notify_job *j, const struct incident *inc,
                            enum incident_notice notice)
{
    if (inc == NULL)
        return 0;
    j->incident_id = inc->id;
    j->incident_generation = inc->generation;
    j->incident_state = (int)inc->state;
    j->incident_notice = (int)notice;
    j->incident_step = inc->last_step;
    j->incident_opened_at = inc->opened_at;
    j->acked_at = inc->acked_at;
    if (inc->state != INCIDENT_ACKNOWLEDGED)
        return 0;
    if (inc->acked_by != NULL && (j->acked_by = strdup(inc->acked_by)) == NULL)
        return -1;
    if (inc->ack_via != NULL && (j->ack_via = strdup(inc->ack_via)) == NULL)
        return -1;
    if (inc->ack_comment != NULL && (j->ack_comment = strdup(inc->ack_comment)) == NULL)
        return -1;
    return 0;
}

static struct notify_job *make_job(struct router *r, struct rgroup *g, const struct receiver *rcv,
                                   const struct flush_ctx *c, size_t integ, bool send_resolved,
                                   int64_t now, uint64_t flush_id, const struct incident *inc,
                                   enum incident_notice notice)
{
    struct notify_job *j = calloc(1, sizeof(*j));
    size_t n = 0;

    if (j == NULL)
        return NULL;
    labels_init(&j->group_labels);
    j->flush_id = flush_id;
    j->group_key = strdup(g->group_key);
    j->route_id = strdup(g->route_id);
    j->receiver_name = strdup(rcv->name);
    j->integration = integ;
    j->route = g->route;
    j->receiver = rcv;
    j->created_at = now;
    j->group_interval = g->route->group_interval;
    j->repeat_interval = g->route->repeat_interval;
    j->incident_id = g->incident_id;
    j->firing = fps_dup(c->fire_fps, c->n_fire);
    j->n_firing = c->n_fire;
    j->resolved = fps_dup(c->res_fps, c->n_res);
    j->n_resolved = c->n_res;
    j->alerts = calloc(c->n_all > 0 ? c->n_all : 1, sizeof(*j->alerts));
    if (j->group_key == NULL || j->route_id == NULL || j->receiver_name == NULL ||
        j->firing == NULL || j->resolved == NULL || j->alerts == NULL ||
        labels_copy(&j->group_labels, &g->labels) < 0 || job_set_incident(j, inc, notice) < 0)
        goto fail;
    for (size_t i = 0; i < c->n_all; i++) {
        if (c->muted[i] || (!c->firing[i] && !send_resolved))
            continue;
        alert_init(&j->alerts[n]);
        j->n_alerts = ++n;
        if (alert_copy(&j->alerts[n - 1], &c->all[i]->a) < 0)
            goto fail;
        if (c->firing[i])
            j->alerts[n - 1].ends_at = TIME_UNSET;
    }
    j->id = next_job_id(r, now);
    return j;
fail:
    notify_job_free(j);
    return NULL;
}

static struct pending_job *pending_from_job(const struct notify_job *j, const char *nflog_key)
{
    struct pending_job *pj = calloc(1, sizeof(*pj));

    if (pj == NULL)
        return NULL;
    pj->id = j->id;
    pj->flush_id = j->flush_id;
    pj->nflog_key = strdup(nflog_key);
    pj->group_key = strdup(j->group_key);
    pj->receiver_name = strdup(j->receiver_name);
    pj->integration = j->integration;
    pj->firing = fps_dup(j->firing, j->n_firing);
    pj->n_firing = j->n_firing;
    pj->resolved = fps_dup(j->resolved, j->n_resolved);
    pj->n_resolved = j->n_resolved;
    pj->created_at = j->created_at;
    pj->repeat_interval = j->repeat_interval;
    if (pj->nflog_key == NULL || pj->group_key == NULL || pj->receiver_name == NULL ||
        pj->firing == NULL || pj->resolved == NULL) {
        pending_job_free(pj);
        return NULL;
    }
    return pj;
}

/* Registers an outstanding job (also used by router_load_job). */
int dispatch_track_job(struct router *r, const struct notify_job *j, struct flush_rec *f)
{
    char *key = nflog_key_make(j->group_key, j->receiver_name, j->integration);
    struct pending_job *pj, *prev;

    if (key == NULL)
        return -1;
    pj = pending_from_job(j, key);
    free(key);
    if (pj == NULL)
        return -1;
    if (umap_put(&r->jobs, pj->id, pj) < 0) {
        pending_job_free(pj);
        return -1;
    }
    prev = smap_get(&r->latest, pj->nflog_key);
    if ((prev == NULL || prev->id < pj->id) && smap_put(&r->latest, pj->nflog_key, pj) < 0) {
        umap_del(&r->jobs, pj->id);
        pending_job_free(pj);
        return -1;
    }
    if (f != NULL)
        f->n_pending++;
    if (pj->id > r->last_job_id)
        r->last_job_id = pj->id;
    return 0;
}

/* Snapshots g at now into c (AM's flush steps 1-2); f, when not NULL, records the
 * resolved alerts the flush saw. *any_firing says whether an alert fires at all
 * (muted or not). -1 on OOM. */
static int ctx_build(struct router *r, struct rgroup *g, int64_t now, struct flush_ctx *c,
                     struct flush_rec *f, bool *any_firing)
{
    bool time_muted;

    memset(c, 0, sizeof(*c));
    *any_firing = false;
    c->all = group_sorted(g, &c->n_all);
    c->firing = calloc(c->n_all + 1, sizeof(*c->firing));
    c->muted = calloc(c->n_all + 1, sizeof(*c->muted));
    c->fire_fps = malloc((c->n_all + 1) * sizeof(*c->fire_fps));
    c->res_fps = malloc((c->n_all + 1) * sizeof(*c->res_fps));
    if ((c->all == NULL && g->alerts.n > 0) || c->firing == NULL || c->muted == NULL ||
        c->fire_fps == NULL || c->res_fps == NULL)
        return -1;
    if (f != NULL) {
        f->resolved = malloc((c->n_all + 1) * sizeof(*f->resolved));
        f->group_key = strdup(g->key);
        if (f->resolved == NULL || f->group_key == NULL)
            return -1;
    }
    time_muted = route_time_muted(r->cfg, g->route, now);
    for (size_t i = 0; i < c->n_all; i++) {
        const struct alert *a = &c->all[i]->a;
        c->firing[i] = !alert_resolved_at(a, now);
        if (c->firing[i])
            *any_firing = true;
        if (!c->firing[i] && f != NULL) {
            f->resolved[f->n_resolved].fp = a->fingerprint;
            f->resolved[f->n_resolved++].updated_at = a->updated_at;
        }
        /* MuteStage(inhibitor), time intervals (all or nothing), MuteStage(silencer). */
        c->muted[i] = inhibit_mutes(r, &a->labels, now, NULL) || time_muted ||
                      silences_mutes(r->silences, &a->labels, now);
        if (c->muted[i])
            continue;
        if (c->firing[i])
            c->fire_fps[c->n_fire++] = a->fingerprint;
        else
            c->res_fps[c->n_res++] = a->fingerprint;
    }
    qsort(c->fire_fps, c->n_fire, sizeof(uint64_t), cmp_u64);
    qsort(c->res_fps, c->n_res, sizeof(uint64_t), cmp_u64);
    return 0;
}

/* AM's flush step 3 for each target receiver (see enum emit_mode). */
static int emit(struct router *r, struct rgroup *g, const struct flush_ctx *c, struct flush_rec *f,
                int64_t now, struct job_list *out, const struct receiver *const *targets,
                size_t n_targets, enum emit_mode mode, const struct incident *inc,
                enum incident_notice notice, size_t *n_sent)
{
    /* An acknowledged incident gets no repeat_interval reminders, only changes. */
    int64_t repeat = inc != NULL && inc->state == INCIDENT_ACKNOWLEDGED ? INT64_MAX / 4
                                                                        : g->route->repeat_interval;

    for (size_t t = 0; t < n_targets; t++) {
        const struct receiver *rcv = targets[t];
        bool sent = false;

        /* Everything muted: the pipeline stops without error. */
        for (size_t integ = 0; rcv != NULL && c->n_fire + c->n_res > 0 && integ < rcv->n_configs;
             integ++) {
            bool send_resolved = rcv->configs[integ].send_resolved;
            char *key = nflog_key_make(g->group_key, rcv->name, integ);
            struct notify_job *j;
            struct pending_job *prev;

            if (key == NULL)
                return -1;
            if (mode == EMIT_FLUSH) {
                const struct nflog_entry *e = smap_get(&r->nflog, key);
                if (!needs_update(e, c->fire_fps, c->n_fire, c->res_fps, c->n_res, send_resolved,
                                  repeat, now)) {
                    free(key);
                    continue;
                }
                if (!send_resolved && c->n_fire == 0) {
                    /* RetryStage reports only-resolved as notified; SetNotifiesStage logs it. */
                    int w = nflog_write(r, key, g->group_key, rcv->name, integ, c->fire_fps,
                                        c->n_fire, c->res_fps, c->n_res, now, now);
                    free(key);
                    if (w < 0)
                        return -1;
                    continue;
                }
            } else if (c->n_fire == 0) {
                free(key);
                continue;
            }
            j = make_job(r, g, rcv, c, integ, send_resolved, now, f != NULL ? f->id : 0, inc,
                         notice);
            if (j == NULL) {
                free(key);
                return -1;
            }
            /* A notice replaces a job still waiting for this integration too:
             * after an ack, a step or update queued before it is stale. */
            prev = smap_get(&r->latest, key);
            j->supersedes = prev != NULL ? prev->id : 0;
            free(key);
            if ((mode != EMIT_NOTICE && dispatch_track_job(r, j, f) < 0) ||
                job_list_push(out, j) < 0) {
                notify_job_free(j);
                return -1;
            }
            sent = true;
        }
        if (sent && n_sent != NULL)
            (*n_sent)++;
    }
    return 0;
}

int dispatch_emit(struct router *r, struct rgroup *g, int64_t now, struct job_list *out,
                  const struct receiver *const *targets, size_t n_targets, enum emit_mode mode,
                  const struct incident *inc, enum incident_notice notice, size_t *n_sent)
{
    struct flush_ctx c;
    struct flush_rec *f = NULL;
    bool any_firing;
    int rc = -1;

    if (mode == EMIT_STEP) {
        f = calloc(1, sizeof(*f));
        if (f == NULL)
            return -1;
        f->id = ++r->last_flush_id;
    }
    if (ctx_build(r, g, now, &c, f, &any_firing) < 0 ||
        emit(r, g, &c, f, now, out, targets, n_targets, mode, inc, notice, n_sent) < 0)
        goto out;
    /* A step flush with nothing sent removes nothing: the regular flushes do that. */
    if (f != NULL && f->n_pending > 0) {
        if (umap_put(&r->flushes, f->id, f) < 0)
            goto out;
        f = NULL;
    }
    rc = 0;
out:
    flush_rec_free(f);
    flush_ctx_release(&c);
    return rc;
}

static int flush_group(struct router *r, struct rgroup *g, int64_t now, struct job_list *out)
{
    struct flush_ctx c;
    struct flush_rec *f = NULL;
    const struct receiver **targets = NULL;
    size_t n_targets = 0;
    struct incident *inc;
    bool any_firing;
    int rc = -1, erc = 0;

    memset(&c, 0, sizeof(c));
    g->has_flushed = true;
    g->next_flush = now + (g->route->group_interval > 0 ? g->route->group_interval : 1);
    heap_fix(r, g);
    router_touch_group(r, g->key);
    if (g->alerts.n == 0) {
        group_delete(r, g, now);
        return 0;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL || ctx_build(r, g, now, &c, f, &any_firing) < 0)
        goto out;
    f->id = ++r->last_flush_id;
    inc = esc_before_flush(r, g, any_firing, now, &erc);
    if (erc < 0 || esc_flush_targets(r, g, inc, &targets, &n_targets) < 0)
        goto out;
    if (emit(r, g, &c, f, now, out, targets, n_targets, EMIT_FLUSH, inc, NOTICE_UPDATE, NULL) < 0)
        goto out;
    if (f->n_pending == 0) {
        flush_succeeded(r, f->group_key, f->resolved, f->n_resolved, now);
        flush_rec_free(f);
    } else if (umap_put(&r->flushes, f->id, f) < 0) {
        goto out;
    }
    f = NULL;
    rc = 0;
out:
    free(targets);
    flush_rec_free(f);
    flush_ctx_release(&c);
    return rc;
}

int dispatch_flush_due(struct router *r, int64_t now, struct job_list *out)
{
    while (r->heap_n > 0 && r->heap[0]->next_flush <= now) {
        if (flush_group(r, r->heap[0], now, out) < 0)
            return -1;
    }
    return 0;
}

int router_notify_result(struct router *r, uint64_t job_id, bool ok, int64_t now, struct error *err)
{
    struct pending_job *pj = umap_del(&r->jobs, job_id);
    struct flush_rec *f;
    int rc = 0;

    if (pj == NULL)
        return 0;
    if (smap_get(&r->latest, pj->nflog_key) == pj)
        smap_del(&r->latest, pj->nflog_key);
    f = umap_get(&r->flushes, pj->flush_id);
    if (ok) {
        const struct nflog_entry *e = smap_get(&r->nflog, pj->nflog_key);
        /* A newer flush's success already logged: keep it. */
        if (e == NULL || e->flushed_at <= pj->created_at) {
            if (nflog_write(r, pj->nflog_key, pj->group_key, pj->receiver_name, pj->integration,
                            pj->firing, pj->n_firing, pj->resolved, pj->n_resolved, now,
                            pj->created_at) < 0)
                rc = error_set(err, "out of memory");
        }
    }
    if (f != NULL) {
        if (!ok)
            f->failed = true;
        if (--f->n_pending == 0) {
            umap_del(&r->flushes, f->id);
            if (!f->failed)
                flush_succeeded(r, f->group_key, f->resolved, f->n_resolved, now);
            flush_rec_free(f);
        }
    }
    pending_job_free(pj);
    return rc;
}
