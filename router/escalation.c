/*
 * escalation.c - the incident state machine inside the router: opening an
 * incident when a group gets its first firing alert, reaching escalation
 * steps at their deadlines, acknowledgements (ack, unack, ack_timeout,
 * re-open on a new alert), resolution, and the incident timers. See router.h
 * ("Incidents") for the rules and router/incident.h for the record.
 *
 * Invariants: r->open_incidents maps a group key to its one open (firing or
 * acknowledged) incident; a group's incident_id names the open incident of its
 * key, or the last resolved one; an incident is in the timer heap exactly when
 * its `due` is non-zero (a step pending on a group that has flushed once, or an
 * ack that lapses); every change of an incident goes through
 * router_touch_incident so the change log is complete. Every state transition
 * goes through set_state(), which records the history event. Nothing here
 * reads a clock.
 */
#include "router/router_int.h"

#include "config/config.h"
#include "core/error.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_INCIDENT_RETENTION ((int64_t)30 * 24 * 3600 * 1000)
#define MIN_REPEAT_GAP             ((int64_t)1000)

/* ------------------------------------------------------------------ change log */

void router_touch_incident(struct router *r, uint64_t id)
{
    if (r->loading || umap_get(&r->ch_incidents, id) != NULL)
        return;
    if (r->ch.n_incidents == r->cap_incidents) {
        size_t cap = r->cap_incidents == 0 ? 32 : r->cap_incidents * 2;
        uint64_t *v = realloc(r->ch.incidents, cap * sizeof(*v));
        if (v == NULL)
            return;
        r->ch.incidents = v;
        r->cap_incidents = cap;
    }
    if (umap_put(&r->ch_incidents, id, r) < 0)
        return;
    r->ch.incidents[r->ch.n_incidents++] = id;
}

/* ------------------------------------------------------------------ the steps of a route */

/* The effective steps of a route: its policy's, after an extra step at 0 s for a
 * receiver set on the route itself; a plain route has one step, its receiver. */
struct steps {
    const struct route *rt;
    const struct escalation_policy *pol;
    bool extra;
    size_t n;     /* steps per run, >= 1 */
    size_t total; /* n * runs */
    int64_t period;
};

static int64_t step_after(const struct steps *s, size_t i)
{
    if (s->pol == NULL || (s->extra && i == 0))
        return 0;
    return s->pol->steps[i - (s->extra ? 1 : 0)].after;
}

static void steps_of(const struct route *rt, struct steps *s)
{
    int64_t last, gap;

    memset(s, 0, sizeof(*s));
    s->rt = rt;
    s->pol = rt != NULL ? rt->escalation : NULL;
    if (s->pol != NULL && s->pol->n_steps == 0)
        s->pol = NULL;
    s->extra = s->pol != NULL && rt->receiver_explicit && rt->receiver != NULL;
    s->n = s->pol != NULL ? s->pol->n_steps + (s->extra ? 1 : 0) : 1;
    s->total = s->n * (size_t)(1 + (s->pol != NULL && s->pol->repeat > 0 ? s->pol->repeat : 0));
    last = step_after(s, s->n - 1);
    gap = s->n >= 2 ? last - step_after(s, s->n - 2) : last;
    s->period = last + (gap > MIN_REPEAT_GAP ? gap : MIN_REPEAT_GAP);
}

/* Offset of global step k from base_at. */
static int64_t step_offset(const struct steps *s, size_t k)
{
    return (int64_t)(k / s->n) * s->period + step_after(s, k % s->n);
}

static void step_receivers(const struct steps *s, size_t i, const struct receiver *const **v,
                           size_t *n)
{
    if (s->pol == NULL || (s->extra && i == 0)) {
        *v = (const struct receiver *const *)&s->rt->receiver;
        *n = s->rt->receiver != NULL ? 1 : 0;
        return;
    }
    *v = s->pol->steps[i - (s->extra ? 1 : 0)].receivers;
    *n = s->pol->steps[i - (s->extra ? 1 : 0)].n_receivers;
}

/* ------------------------------------------------------------------ timer heap */

static bool iless(const struct incident *a, const struct incident *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    return a->id < b->id;
}

static void iswap(struct router *r, size_t i, size_t j)
{
    struct incident *t = r->iheap[i];

    r->iheap[i] = r->iheap[j];
    r->iheap[j] = t;
    r->iheap[i]->heap_idx = i;
    r->iheap[j]->heap_idx = j;
}

static void iup(struct router *r, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!iless(r->iheap[i], r->iheap[p]))
            break;
        iswap(r, i, p);
        i = p;
    }
}

static void idown(struct router *r, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, rr = l + 1, m = i;
        if (l < r->iheap_n && iless(r->iheap[l], r->iheap[m]))
            m = l;
        if (rr < r->iheap_n && iless(r->iheap[rr], r->iheap[m]))
            m = rr;
        if (m == i)
            break;
        iswap(r, i, m);
        i = m;
    }
}

static void iheap_remove(struct router *r, struct incident *inc)
{
    size_t i = inc->heap_idx;

    if (i >= r->iheap_n || r->iheap[i] != inc)
        return;
    r->iheap_n--;
    if (i != r->iheap_n) {
        r->iheap[i] = r->iheap[r->iheap_n];
        r->iheap[i]->heap_idx = i;
        idown(r, i);
        iup(r, i);
    }
    inc->heap_idx = (size_t)-1;
}

/* Puts inc in the heap at its `due` (out of it when due is 0). -1 on OOM. */
static int iheap_set(struct router *r, struct incident *inc, int64_t due)
{
    bool in = inc->heap_idx < r->iheap_n && r->iheap[inc->heap_idx] == inc;

    inc->due = due;
    if (due == 0) {
        iheap_remove(r, inc);
        return 0;
    }
    if (in) {
        idown(r, inc->heap_idx);
        iup(r, inc->heap_idx);
        return 0;
    }
    if (r->iheap_n == r->iheap_cap) {
        size_t cap = r->iheap_cap == 0 ? 64 : r->iheap_cap * 2;
        struct incident **v = realloc(r->iheap, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        r->iheap = v;
        r->iheap_cap = cap;
    }
    inc->heap_idx = r->iheap_n;
    r->iheap[r->iheap_n++] = inc;
    iup(r, inc->heap_idx);
    return 0;
}

/* The group that carries inc now, or NULL. */
static struct rgroup *inc_group(const struct router *r, const struct incident *inc)
{
    struct rgroup *g = smap_get(&r->groups, inc->group_key);

    return g != NULL && g->incident_id == inc->id ? g : NULL;
}

/* Recomputes when inc's timer fires: a pending step once its group has flushed
 * (before that the first flush reaches due steps), or the ack's lapse. */
static int schedule(struct router *r, struct incident *inc)
{
    int64_t due = 0;

    if (inc->state == INCIDENT_FIRING && inc->step_due != 0) {
        const struct rgroup *g = inc_group(r, inc);
        if (g != NULL && g->has_flushed)
            due = inc->step_due;
    } else if (inc->state == INCIDENT_ACKNOWLEDGED) {
        due = inc->ack_expires_at;
    }
    return iheap_set(r, inc, due);
}

/* ------------------------------------------------------------------ transitions */

static int64_t incident_retention(const struct router *r)
{
    return r->cfg->retention.incidents > 0 ? r->cfg->retention.incidents
                                           : DEFAULT_INCIDENT_RETENTION;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static void clear_ack(struct incident *inc)
{
    free(inc->acked_by);
    free(inc->ack_via);
    free(inc->ack_comment);
    inc->acked_by = inc->ack_via = inc->ack_comment = NULL;
    inc->acked_at = 0;
    inc->ack_expires_at = 0;
}

/* Every state change: logs old -> new, bumps the generation, records ev. */
static int set_state(struct router *r, struct incident *inc, enum incident_state st,
                     struct incident_event *ev)
{
    char id[24];

    snprintf(id, sizeof(id), "%llu", (unsigned long long)inc->id);
    log_debug("incident state", "incident", id, "from", incident_state_name(inc->state), "to",
              incident_state_name(st), "event", incident_event_name(ev->kind), NULL);
    inc->state = st;
    inc->generation++;
    router_touch_incident(r, inc->id);
    return incident_add_event(inc, ev);
}

static void resolve(struct router *r, struct incident *inc, int64_t now, const char *why)
{
    struct incident_event ev = {.at = now, .kind = IEV_RESOLVED};

    if (inc->state == INCIDENT_RESOLVED)
        return;
    ev.comment = dup_or_null(why);
    clear_ack(inc);
    inc->resolved_at = now;
    inc->step_due = 0;
    if (smap_get(&r->open_incidents, inc->group_key) == inc)
        smap_del(&r->open_incidents, inc->group_key);
    iheap_remove(r, inc);
    (void)set_state(r, inc, INCIDENT_RESOLVED, &ev);
    router_gc_due(r, now + incident_retention(r));
}

/* Sets step_due for next_step (0 when the ladder is finished). */
static void set_step_due(struct incident *inc, const struct steps *s)
{
    inc->step_due = inc->next_step < s->total ? inc->base_at + step_offset(s, inc->next_step) : 0;
}

/* Reaches every step due at now. The receivers of the steps reached are appended
 * to *v (unique; malloc'd, may be NULL when none). -1 on OOM. */
static int reach_due(struct router *r, struct incident *inc, const struct steps *s, int64_t now,
                     const struct receiver ***v, size_t *n)
{
    size_t before = inc->next_step;
    int64_t due_before = inc->step_due;

    while (inc->state == INCIDENT_FIRING && inc->next_step < s->total &&
           inc->base_at + step_offset(s, inc->next_step) <= now) {
        size_t k = inc->next_step, i = k % s->n;
        const struct receiver *const *rv;
        size_t nr;
        struct incident_event ev = {.at = now, .kind = IEV_NOTIFIED};

        step_receivers(s, i, &rv, &nr);
        ev.step = (int)i + 1;
        ev.run = (int)(k / s->n);
        ev.receivers = calloc(nr + 1, sizeof(char *));
        if (ev.receivers == NULL)
            return -1;
        for (size_t j = 0; j < nr; j++) {
            bool dup = false;
            if (rv[j] == NULL || rv[j]->name == NULL)
                continue;
            ev.receivers[ev.n_receivers] = strdup(rv[j]->name);
            if (ev.receivers[ev.n_receivers] == NULL) {
                incident_event_release(&ev);
                return -1;
            }
            ev.n_receivers++;
            if (incident_add_reached(inc, rv[j]->name) < 0) {
                incident_event_release(&ev);
                return -1;
            }
            for (size_t m = 0; m < *n; m++)
                dup = dup || (*v)[m] == rv[j];
            if (!dup && v != NULL) {
                const struct receiver **nv = realloc(*v, (*n + 1) * sizeof(*nv));
                if (nv == NULL) {
                    incident_event_release(&ev);
                    return -1;
                }
                *v = nv;
                nv[(*n)++] = rv[j];
            }
        }
        inc->last_step = ev.step;
        inc->last_run = ev.run;
        inc->next_step++;
        if (incident_add_event(inc, &ev) < 0)
            return -1;
    }
    set_step_due(inc, s);
    /* Most flushes reach nothing: only a change is written. */
    if (inc->next_step != before || inc->step_due != due_before)
        router_touch_incident(r, inc->id);
    return 0;
}

static struct incident *open_incident(struct router *r, struct rgroup *g, int64_t now)
{
    struct incident *inc = incident_new();
    struct incident_event ev = {.at = now, .kind = IEV_OPENED};
    struct steps s;

    if (inc == NULL)
        return NULL;
    steps_of(g->route, &s);
    inc->id = ++r->last_incident_id;
    r->ch.incident_seq = true;
    inc->group_key = strdup(g->key);
    inc->route_id = strdup(g->route_id);
    inc->team = dup_or_null(g->route->team);
    inc->policy = s.pol != NULL ? dup_or_null(s.pol->name) : NULL;
    inc->receiver =
        s.pol == NULL && g->route->receiver != NULL ? dup_or_null(g->route->receiver->name) : NULL;
    inc->opened_at = now;
    inc->base_at = now;
    inc->state = INCIDENT_FIRING;
    set_step_due(inc, &s);
    if (inc->group_key == NULL || inc->route_id == NULL ||
        labels_copy(&inc->group_labels, &g->labels) < 0 || incident_add_event(inc, &ev) < 0)
        goto fail;
    if (umap_put(&r->incidents, inc->id, inc) < 0)
        goto fail;
    if (smap_put(&r->open_incidents, inc->group_key, inc) < 0) {
        umap_del(&r->incidents, inc->id);
        goto fail;
    }
    g->incident_id = inc->id;
    router_touch_group(r, g->key);
    router_touch_incident(r, inc->id);
    return inc;
fail:
    incident_free(inc);
    return NULL;
}

/* Restarts the ladder after an ack ended (unack, lapse, re-open): from the step
 * after the last one reached, keeping the gap between the two. */
static void restart(struct incident *inc, const struct steps *s, int64_t now)
{
    if (inc->next_step >= s->total) {
        inc->step_due = 0;
        return;
    }
    inc->base_at = inc->next_step > 0 ? now - step_offset(s, inc->next_step - 1) : now;
    set_step_due(inc, s);
}

/* The receivers inc reached, resolved in the current config (unknown names, from
 * before a reload, are skipped). *v malloc'd. */
static int reached_receivers(const struct router *r, const struct incident *inc,
                             const struct receiver ***v, size_t *n)
{
    *n = 0;
    *v = calloc(inc->n_reached + 1, sizeof(**v));
    if (*v == NULL)
        return -1;
    for (size_t i = 0; i < inc->n_reached; i++) {
        const struct receiver *rcv = config_find_receiver(r->cfg, inc->reached[i]);
        if (rcv != NULL)
            (*v)[(*n)++] = rcv;
    }
    return 0;
}

static int notify_reached(struct router *r, struct incident *inc, int64_t now, struct job_list *out,
                          enum incident_notice notice)
{
    struct rgroup *g = inc_group(r, inc);
    const struct receiver **v = NULL;
    size_t n = 0;
    int rc;

    if (g == NULL || out == NULL)
        return 0;
    if (reached_receivers(r, inc, &v, &n) < 0)
        return -1;
    rc = dispatch_emit(r, g, now, out, v, n, EMIT_NOTICE, inc, notice, NULL);
    free(v);
    return rc;
}

static const struct escalation_policy *
inc_policy(const struct router *r, const struct incident *inc, const struct rgroup *g)
{
    if (g != NULL)
        return g->route->escalation;
    return inc->policy != NULL ? config_find_policy(r->cfg, inc->policy) : NULL;
}

/* acknowledged -> firing (unack, lapse, or a new alert). */
static int refire(struct router *r, struct incident *inc, int64_t now, struct incident_event *ev,
                  struct job_list *out, bool notice)
{
    struct rgroup *g = inc_group(r, inc);
    struct steps s;

    clear_ack(inc);
    if (set_state(r, inc, INCIDENT_FIRING, ev) < 0)
        return -1;
    if (g != NULL) {
        steps_of(g->route, &s);
        restart(inc, &s, now);
    } else {
        inc->step_due = 0;
    }
    if (schedule(r, inc) < 0)
        return -1;
    return notice ? notify_reached(r, inc, now, out, NOTICE_UNACK) : 0;
}

/* ------------------------------------------------------------------ hooks from dispatch.c */

void esc_group_created(struct router *r, struct rgroup *g)
{
    struct incident *inc = smap_get(&r->open_incidents, g->key);

    if (inc != NULL && g->incident_id != inc->id) {
        g->incident_id = inc->id;
        router_touch_group(r, g->key);
    }
    if (inc != NULL)
        (void)schedule(r, inc);
}

int esc_alert_in_group(struct router *r, struct rgroup *g, const struct rentry *e, bool joined,
                       int64_t now)
{
    struct incident *inc;

    if (alert_resolved_at(&e->a, now))
        return 0;
    inc = smap_get(&r->open_incidents, g->key);
    if (inc == NULL) {
        inc = open_incident(r, g, now);
        if (inc == NULL)
            return -1;
        return schedule(r, inc);
    }
    if (g->incident_id != inc->id) {
        g->incident_id = inc->id;
        router_touch_group(r, g->key);
    }
    if (joined && !r->reinserting && inc->state == INCIDENT_ACKNOWLEDGED) {
        const struct escalation_policy *pol = g->route->escalation;
        if (pol == NULL || pol->reopen_on_new_alert) {
            struct incident_event ev = {.at = now, .kind = IEV_REOPENED};
            ev.fingerprint = e->a.fingerprint;
            /* The group's next flush tells the receivers reached about the new alert. */
            return refire(r, inc, now, &ev, NULL, false);
        }
    }
    return 0;
}

struct incident *esc_before_flush(struct router *r, struct rgroup *g, bool any_firing, int64_t now,
                                  int *rc)
{
    struct incident *inc = smap_get(&r->open_incidents, g->key);
    struct steps s;

    *rc = 0;
    if (inc == NULL || inc->id != g->incident_id)
        return g->incident_id != 0 ? umap_get(&r->incidents, g->incident_id) : NULL;
    if (!any_firing) {
        resolve(r, inc, now, NULL);
        return inc;
    }
    if (inc->state == INCIDENT_FIRING) {
        steps_of(g->route, &s);
        if (reach_due(r, inc, &s, now, NULL, &(size_t){0}) < 0)
            *rc = -1;
    }
    if (schedule(r, inc) < 0)
        *rc = -1;
    return inc;
}

int esc_flush_targets(struct router *r, const struct rgroup *g, const struct incident *inc,
                      const struct receiver ***v, size_t *n)
{
    if (g->route->escalation == NULL || g->route->escalation->n_steps == 0 || inc == NULL) {
        /* A plain route: Alertmanager's behaviour, the route's receiver. */
        *v = calloc(1, sizeof(**v));
        if (*v == NULL)
            return -1;
        (*v)[0] = g->route->receiver;
        *n = g->route->escalation == NULL || g->route->escalation->n_steps == 0 ? 1 : 0;
        return 0;
    }
    return reached_receivers(r, inc, v, n);
}

void esc_group_deleted(struct router *r, struct rgroup *g, int64_t now)
{
    struct incident *inc = smap_get(&r->open_incidents, g->key);

    if (inc != NULL && inc->id == g->incident_id)
        resolve(r, inc, now, NULL);
}

/* A step timer: reach the due steps and notify their receivers. */
static int step_due_now(struct router *r, struct incident *inc, int64_t now, struct job_list *out)
{
    struct rgroup *g = inc_group(r, inc);
    const struct receiver **v = NULL;
    size_t n = 0, before;
    struct steps s;
    int rc = -1;

    if (g == NULL) {
        resolve(r, inc, now, "its aggregation group no longer exists");
        return 0;
    }
    if (!g->has_flushed)
        return schedule(r, inc);
    steps_of(g->route, &s);
    before = inc->next_step;
    if (reach_due(r, inc, &s, now, &v, &n) < 0)
        goto out;
    if (inc->next_step == before && inc->step_due <= now) {
        /* Nothing left to reach (the config changed under it): stop the timer. */
        inc->step_due = inc->next_step < s.total ? inc->step_due : 0;
        if (inc->step_due <= now)
            inc->step_due = 0;
    }
    if (n > 0 && dispatch_emit(r, g, now, out, v, n, EMIT_STEP, inc, NOTICE_STEP, NULL) < 0)
        goto out;
    rc = schedule(r, inc);
out:
    free(v);
    return rc;
}

int esc_tick(struct router *r, int64_t now, struct job_list *out)
{
    while (r->iheap_n > 0 && r->iheap[0]->due <= now) {
        struct incident *inc = r->iheap[0];

        iheap_remove(r, inc);
        inc->due = 0;
        if (inc->state == INCIDENT_ACKNOWLEDGED && inc->ack_expires_at != 0 &&
            inc->ack_expires_at <= now) {
            struct incident_event ev = {.at = now, .kind = IEV_ACK_EXPIRED};
            if (refire(r, inc, now, &ev, out, true) < 0)
                return -1;
        } else if (inc->state == INCIDENT_FIRING && inc->step_due != 0 && inc->step_due <= now) {
            if (step_due_now(r, inc, now, out) < 0)
                return -1;
        } else if (schedule(r, inc) < 0) {
            return -1;
        }
    }
    return 0;
}

int64_t esc_next_wakeup(const struct router *r)
{
    return r->iheap_n > 0 ? r->iheap[0]->due : INT64_MAX;
}

void esc_resolve_orphans(struct router *r, int64_t now, const char *why)
{
    struct smap_entry *se;
    size_t it, n = 0;
    struct incident **dead;

    if (r->open_incidents.n == 0)
        return;
    dead = malloc(r->open_incidents.n * sizeof(*dead));
    if (dead == NULL)
        return;
    for (se = smap_first(&r->open_incidents, &it); se != NULL;
         se = smap_next(&r->open_incidents, se, &it)) {
        if (inc_group(r, se->val) == NULL)
            dead[n++] = se->val;
    }
    for (size_t i = 0; i < n; i++)
        resolve(r, dead[i], now, why);
    free(dead);
}

void esc_gc(struct router *r, int64_t now)
{
    struct umap_entry *ue;
    size_t it, n = 0;
    struct incident **dead;
    int64_t ret = incident_retention(r);

    if (r->incidents.n == 0)
        return;
    dead = malloc(r->incidents.n * sizeof(*dead));
    if (dead == NULL)
        return;
    for (ue = umap_first(&r->incidents, &it); ue != NULL; ue = umap_next(&r->incidents, ue, &it)) {
        struct incident *inc = ue->val;
        if (inc->state != INCIDENT_RESOLVED)
            continue;
        if (inc->resolved_at + ret <= now)
            dead[n++] = inc;
        else
            router_gc_due(r, inc->resolved_at + ret);
    }
    for (size_t i = 0; i < n; i++) {
        umap_del(&r->incidents, dead[i]->id);
        router_touch_incident(r, dead[i]->id);
        incident_free(dead[i]);
    }
    free(dead);
}

void esc_release(struct router *r)
{
    struct umap_entry *ue;
    size_t it;

    for (ue = umap_first(&r->incidents, &it); ue != NULL; ue = umap_next(&r->incidents, ue, &it))
        incident_free(ue->val);
    umap_release(&r->incidents);
    smap_release(&r->open_incidents);
    free(r->iheap);
    r->iheap = NULL;
    r->iheap_n = r->iheap_cap = 0;
    umap_release(&r->ch_incidents);
    free(r->ch.incidents);
    r->ch.incidents = NULL;
}

/* ------------------------------------------------------------------ public API */

static int do_ack(struct router *r, struct incident *inc, const struct ack_in *in, int64_t now,
                  struct job_list *out)
{
    const struct escalation_policy *pol = inc_policy(r, inc, inc_group(r, inc));
    struct incident_event ev = {.at = now, .kind = IEV_ACKNOWLEDGED};

    clear_ack(inc);
    inc->acked_by = strdup(in != NULL && in->by != NULL ? in->by : "unknown");
    inc->ack_via = strdup(in != NULL && in->via != NULL ? in->via : "api");
    inc->ack_comment = in != NULL ? dup_or_null(in->comment) : NULL;
    inc->acked_at = now;
    inc->ack_expires_at = pol != NULL && pol->ack_timeout > 0 ? now + pol->ack_timeout : 0;
    inc->step_due = 0;
    ev.by = dup_or_null(inc->acked_by);
    ev.via = dup_or_null(inc->ack_via);
    ev.comment = dup_or_null(inc->ack_comment);
    if (inc->acked_by == NULL || inc->ack_via == NULL ||
        set_state(r, inc, INCIDENT_ACKNOWLEDGED, &ev) < 0)
        return -1;
    if (schedule(r, inc) < 0)
        return -1;
    return notify_reached(r, inc, now, out, NOTICE_ACK);
}

int router_ack_incident(struct router *r, uint64_t id, const struct ack_in *in, int64_t now,
                        struct job_list *out, struct error *err)
{
    struct incident *inc = umap_get(&r->incidents, id);

    if (inc == NULL)
        return ACK_NOT_FOUND;
    if (inc->state == INCIDENT_RESOLVED)
        return ACK_RESOLVED;
    if (inc->state == INCIDENT_ACKNOWLEDGED)
        return ACK_UNCHANGED;
    if (do_ack(r, inc, in, now, out) < 0)
        return error_set(err, "out of memory");
    return ACK_DONE;
}

int router_unack_incident(struct router *r, uint64_t id, const struct ack_in *in, int64_t now,
                          struct job_list *out, struct error *err)
{
    struct incident *inc = umap_get(&r->incidents, id);
    struct incident_event ev = {.at = now, .kind = IEV_UNACKNOWLEDGED};

    if (inc == NULL)
        return ACK_NOT_FOUND;
    if (inc->state == INCIDENT_RESOLVED)
        return ACK_RESOLVED;
    if (inc->state != INCIDENT_ACKNOWLEDGED)
        return ACK_UNCHANGED;
    ev.by = strdup(in != NULL && in->by != NULL ? in->by : "unknown");
    ev.via = strdup(in != NULL && in->via != NULL ? in->via : "api");
    ev.comment = in != NULL ? dup_or_null(in->comment) : NULL;
    if (refire(r, inc, now, &ev, out, true) < 0)
        return error_set(err, "out of memory");
    return ACK_DONE;
}

static int push_id(uint64_t **v, size_t *n, uint64_t id)
{
    uint64_t *nv = realloc(*v, (*n + 1) * sizeof(*nv));

    if (nv == NULL)
        return -1;
    *v = nv;
    nv[(*n)++] = id;
    return 0;
}

static int cmp_inc_desc(const void *pa, const void *pb)
{
    const struct incident *a = *(const struct incident *const *)pa;
    const struct incident *b = *(const struct incident *const *)pb;

    return a->id < b->id ? 1 : a->id > b->id ? -1 : 0;
}

/* The open incidents, newest first (malloc'd; NULL with *n 0 when none). */
static struct incident **open_sorted(const struct router *r, size_t *n, int *rc)
{
    struct incident **v;
    struct smap_entry *se;
    size_t it;

    *n = 0;
    *rc = 0;
    if (r->open_incidents.n == 0)
        return NULL;
    v = malloc(r->open_incidents.n * sizeof(*v));
    if (v == NULL) {
        *rc = -1;
        return NULL;
    }
    for (se = smap_first(&r->open_incidents, &it); se != NULL;
         se = smap_next(&r->open_incidents, se, &it))
        v[(*n)++] = se->val;
    qsort(v, *n, sizeof(*v), cmp_inc_desc);
    return v;
}

int router_ack_matching(struct router *r, const struct matchers *m, const struct ack_in *in,
                        int64_t now, struct job_list *out, uint64_t **acked, size_t *n_acked,
                        uint64_t **already, size_t *n_already, struct error *err)
{
    size_t n;
    int rc;
    struct incident **v = open_sorted(r, &n, &rc);

    if (rc < 0)
        return error_set(err, "out of memory");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!router_incident_matches(r, v[i], m))
            continue;
        if (v[i]->state == INCIDENT_ACKNOWLEDGED)
            rc = push_id(already, n_already, v[i]->id);
        else if (do_ack(r, v[i], in, now, out) < 0 || push_id(acked, n_acked, v[i]->id) < 0)
            rc = -1;
    }
    free(v);
    return rc < 0 ? error_set(err, "out of memory") : 0;
}

const struct incident *router_get_incident(const struct router *r, uint64_t id)
{
    return umap_get(&r->incidents, id);
}

size_t router_incident_count(const struct router *r)
{
    return r->incidents.n;
}

int router_foreach_incident(const struct router *r,
                            int (*fn)(void *ctx, const struct incident *inc), void *ctx)
{
    struct incident **v;
    struct umap_entry *ue;
    size_t it, n = 0;
    int rc = 0;

    if (r->incidents.n == 0)
        return 0;
    v = malloc(r->incidents.n * sizeof(*v));
    if (v == NULL)
        return -1;
    for (ue = umap_first(&r->incidents, &it); ue != NULL; ue = umap_next(&r->incidents, ue, &it))
        v[n++] = ue->val;
    qsort(v, n, sizeof(*v), cmp_inc_desc);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fn(ctx, v[i]);
    free(v);
    return rc;
}

bool router_incident_matches(const struct router *r, const struct incident *inc,
                             const struct matchers *m)
{
    const struct rgroup *g;
    void *ev;
    size_t it;

    if (m == NULL || m->n == 0)
        return true;
    g = inc_group(r, inc);
    if (g == NULL)
        return matchers_match(m, &inc->group_labels);
    for (ev = emap_first(&g->alerts, &it); ev != NULL; ev = emap_next(&g->alerts, &it)) {
        const struct rentry *e = ev;
        if (matchers_match(m, &e->a.labels))
            return true;
    }
    return false;
}

size_t router_incident_steps(const struct router *r, const struct incident *inc)
{
    const struct rgroup *g = inc_group(r, inc);
    const struct route *rt = g != NULL ? g->route : route_find_id(r->cfg->root, inc->route_id);
    struct steps s;

    if (rt == NULL)
        return 0;
    steps_of(rt, &s);
    return s.n;
}

int router_incident_group(const struct router *r, const struct incident *inc,
                          struct group_view *out)
{
    memset(out, 0, sizeof(*out));
    if (inc_group(r, inc) == NULL)
        return 0;
    return router_get_group(r, inc->group_key, out);
}

bool router_incident_paged(const struct router *r, uint64_t id, const char *phone)
{
    const struct incident *inc = umap_get(&r->incidents, id);

    if (inc == NULL || phone == NULL || phone[0] == '\0')
        return false;
    for (size_t i = 0; i < inc->n_reached; i++) {
        const struct receiver *rcv = config_find_receiver(r->cfg, inc->reached[i]);
        for (size_t k = 0; rcv != NULL && k < rcv->n_configs; k++) {
            const struct notifier_config *nc = &rcv->configs[k];
            if (nc->kind != NOTIFIER_SMS)
                continue;
            for (size_t t = 0; t < nc->n_sms_to; t++) {
                if (nc->sms_to[t] != NULL && strcmp(nc->sms_to[t], phone) == 0)
                    return true;
            }
        }
    }
    return false;
}

bool router_job_stale(const struct router *r, const struct notify_job *job)
{
    const struct incident *inc;

    if (job->incident_id == 0 ||
        (job->incident_notice != NOTICE_STEP && job->incident_notice != NOTICE_UPDATE))
        return false;
    inc = umap_get(&r->incidents, job->incident_id);
    return inc != NULL && inc->state == INCIDENT_ACKNOWLEDGED &&
           inc->generation != job->incident_generation;
}

uint64_t router_last_incident_id(const struct router *r)
{
    return r->last_incident_id;
}

void router_load_incident_seq(struct router *r, uint64_t last_id)
{
    if (last_id > r->last_incident_id)
        r->last_incident_id = last_id;
}

int router_load_incident(struct router *r, struct incident *inc, struct error *err)
{
    if (inc == NULL)
        return error_set(err, "incident: NULL");
    if (umap_get(&r->incidents, inc->id) != NULL) {
        error_set(err, "incident %llu loaded twice", (unsigned long long)inc->id);
        incident_free(inc);
        return -1;
    }
    inc->heap_idx = (size_t)-1;
    inc->due = 0;
    if (umap_put(&r->incidents, inc->id, inc) < 0) {
        incident_free(inc);
        return error_set(err, "out of memory");
    }
    if (inc->id > r->last_incident_id)
        r->last_incident_id = inc->id;
    if (inc->state != INCIDENT_RESOLVED) {
        struct incident *old = smap_get(&r->open_incidents, inc->group_key);
        /* Two open incidents of one group cannot happen; keep the newer. */
        if ((old == NULL || old->id < inc->id) &&
            smap_put(&r->open_incidents, inc->group_key, inc) < 0)
            return error_set(err, "out of memory");
    } else {
        router_gc_due(r, inc->resolved_at + incident_retention(r));
    }
    return 0;
}
