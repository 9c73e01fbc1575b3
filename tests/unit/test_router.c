/*
 * test_router.c - the router as the engine drives it: alert merge on re-post
 * (AM's provider: merge only on overlap), queries (order, receivers, status),
 * the change log, retention, reload, and restore after a restart from what the
 * change log persisted (a fake store kept by the test).
 */
#include "router/router_int.h"

#include "test_router_fixture.h"

#define FAR (T0 + 1000 * HOUR)

/* ------------------------------------------------------------------ fake store */

#define DB_MAX 64

struct db {
    struct alert alerts[DB_MAX];
    bool has_alert[DB_MAX];
    struct silence sil[DB_MAX];
    bool has_sil[DB_MAX];
    struct {
        char *route_id;
        struct labels labels;
        int64_t next_flush;
        bool has_flushed;
        uint64_t fps[DB_MAX];
        size_t n;
        char *key;
    } groups[DB_MAX];
    bool has_group[DB_MAX];
    struct nflog_entry nflog[DB_MAX];
    bool has_nflog[DB_MAX];
    struct notify_job *jobs[DB_MAX]; /* the outbox */
};

static void db_group_clear(struct db *db, size_t i)
{
    free(db->groups[i].route_id);
    free(db->groups[i].key);
    labels_release(&db->groups[i].labels);
    db->has_group[i] = false;
}

/* What the engine does after each call: persist every change, then clear. */
static void db_sync(struct db *db, struct router *r)
{
    const struct router_changes *ch = router_changes(r);

    for (size_t i = 0; i < ch->n_alerts; i++) {
        const struct alert *a = router_get_alert(r, ch->alerts[i]);
        size_t k, free_slot = DB_MAX;
        for (k = 0; k < DB_MAX; k++) {
            if (db->has_alert[k] && db->alerts[k].fingerprint == ch->alerts[i])
                break;
            if (!db->has_alert[k] && free_slot == DB_MAX)
                free_slot = k;
        }
        if (k < DB_MAX) {
            alert_release(&db->alerts[k]);
            db->has_alert[k] = false;
        } else {
            k = free_slot;
        }
        if (a != NULL) {
            alert_init(&db->alerts[k]);
            assert_int_equal(alert_copy(&db->alerts[k], a), 0);
            db->has_alert[k] = true;
        }
    }
    for (size_t i = 0; i < ch->n_silences; i++) {
        const struct silence *s = router_get_silence(r, ch->silences[i]);
        size_t k, free_slot = DB_MAX;
        for (k = 0; k < DB_MAX; k++) {
            if (db->has_sil[k] && strcmp(db->sil[k].id, ch->silences[i]) == 0)
                break;
            if (!db->has_sil[k] && free_slot == DB_MAX)
                free_slot = k;
        }
        if (k < DB_MAX) {
            silence_release(&db->sil[k]);
            db->has_sil[k] = false;
        } else {
            k = free_slot;
        }
        if (s != NULL) {
            assert_int_equal(silence_copy(&db->sil[k], s), 0);
            db->has_sil[k] = true;
        }
    }
    for (size_t i = 0; i < ch->n_groups; i++) {
        struct group_view gv;
        int got = router_get_group(r, ch->groups[i], &gv);
        size_t k, free_slot = DB_MAX;
        assert_true(got >= 0);
        for (k = 0; k < DB_MAX; k++) {
            if (db->has_group[k] && strcmp(db->groups[k].key, ch->groups[i]) == 0)
                break;
            if (!db->has_group[k] && free_slot == DB_MAX)
                free_slot = k;
        }
        if (got == 1) {
            if (k == DB_MAX) {
                k = free_slot;
                db->groups[k].key = strdup(gv.key);
                labels_init(&db->groups[k].labels);
                db->groups[k].n = 0;
                db->has_group[k] = true;
            } else {
                free(db->groups[k].route_id);
                labels_release(&db->groups[k].labels);
            }
            db->groups[k].route_id = strdup(gv.route->id);
            assert_int_equal(labels_copy(&db->groups[k].labels, gv.labels), 0);
            db->groups[k].next_flush = gv.next_flush;
            db->groups[k].has_flushed = gv.has_flushed;
        } else if (k < DB_MAX) {
            db_group_clear(db, k); /* with its members */
        }
        group_view_release(&gv);
    }
    for (size_t i = 0; i < ch->n_members; i++) {
        const char *gk = ch->members[i].group_key;
        uint64_t fp = ch->members[i].fingerprint;
        bool in = router_group_has_alert(r, gk, fp);
        size_t k, j;
        for (k = 0; k < DB_MAX; k++) {
            if (db->has_group[k] && strcmp(db->groups[k].key, gk) == 0)
                break;
        }
        if (k == DB_MAX) {
            assert_false(in); /* a deleted group */
            continue;
        }
        for (j = 0; j < db->groups[k].n && db->groups[k].fps[j] != fp; j++)
            ;
        if (in && j == db->groups[k].n)
            db->groups[k].fps[db->groups[k].n++] = fp;
        else if (!in && j < db->groups[k].n)
            db->groups[k].fps[j] = db->groups[k].fps[--db->groups[k].n];
    }
    for (size_t i = 0; i < ch->n_nflog; i++) {
        const struct nflog_entry *e = router_get_nflog(r, ch->nflog[i]);
        size_t k, free_slot = DB_MAX;
        for (k = 0; k < DB_MAX; k++) {
            if (db->has_nflog[k] && strcmp(db->nflog[k].key, ch->nflog[i]) == 0)
                break;
            if (!db->has_nflog[k] && free_slot == DB_MAX)
                free_slot = k;
        }
        if (k < DB_MAX) {
            nflog_entry_release(&db->nflog[k]);
            db->has_nflog[k] = false;
        } else {
            k = free_slot;
        }
        if (e != NULL) {
            /* Persist without the router's key: load rebuilds it. */
            db->nflog[k] = *e;
            db->nflog[k].key = NULL;
            db->nflog[k].group_key = strdup(e->group_key);
            db->nflog[k].receiver_name = strdup(e->receiver_name);
            db->nflog[k].firing = malloc((e->n_firing + 1) * sizeof(uint64_t));
            db->nflog[k].resolved = malloc((e->n_resolved + 1) * sizeof(uint64_t));
            memcpy(db->nflog[k].firing, e->firing, e->n_firing * sizeof(uint64_t));
            memcpy(db->nflog[k].resolved, e->resolved, e->n_resolved * sizeof(uint64_t));
            db->nflog[k].key = strdup(ch->nflog[i]); /* the db's own key column */
            db->has_nflog[k] = true;
        }
    }
    router_changes_clear(r);
}

static void db_outbox_add(struct db *db, struct job_list *jl)
{
    for (size_t i = 0; i < jl->n; i++) {
        size_t k = 0;
        while (db->jobs[k] != NULL)
            k++;
        db->jobs[k] = notify_job_copy(jl->v[i]);
    }
}

static void db_outbox_done(struct db *db, uint64_t id)
{
    for (size_t k = 0; k < DB_MAX; k++) {
        if (db->jobs[k] != NULL && db->jobs[k]->id == id) {
            notify_job_free(db->jobs[k]);
            db->jobs[k] = NULL;
        }
    }
}

/* A fresh router restored from db (copies: db keeps its rows). */
static struct router *db_restore(struct db *db, const struct config *cfg, int64_t now)
{
    struct router *r = router_new(cfg);
    struct error err;

    assert_non_null(r);
    for (size_t k = 0; k < DB_MAX; k++) {
        if (db->has_alert[k]) {
            struct alert a;
            alert_init(&a);
            assert_int_equal(alert_copy(&a, &db->alerts[k]), 0);
            assert_int_equal(router_load_alert(r, &a, &err), 0);
        }
    }
    for (size_t k = 0; k < DB_MAX; k++) {
        if (db->has_sil[k]) {
            struct silence s;
            assert_int_equal(silence_copy(&s, &db->sil[k]), 0);
            assert_int_equal(router_load_silence(r, &s, &err), 0);
        }
    }
    for (size_t k = 0; k < DB_MAX; k++) {
        if (db->has_nflog[k]) {
            struct nflog_entry e = db->nflog[k];
            e.key = NULL;
            e.group_key = strdup(e.group_key);
            e.receiver_name = strdup(e.receiver_name);
            e.firing = malloc((e.n_firing + 1) * sizeof(uint64_t));
            e.resolved = malloc((e.n_resolved + 1) * sizeof(uint64_t));
            memcpy(e.firing, db->nflog[k].firing, e.n_firing * sizeof(uint64_t));
            memcpy(e.resolved, db->nflog[k].resolved, e.n_resolved * sizeof(uint64_t));
            assert_int_equal(router_load_nflog(r, &e, &err), 0);
        }
    }
    for (size_t k = 0; k < DB_MAX; k++) {
        if (db->has_group[k])
            assert_int_equal(router_load_group(r, db->groups[k].route_id, &db->groups[k].labels,
                                               db->groups[k].next_flush, db->groups[k].has_flushed,
                                               0, db->groups[k].fps, db->groups[k].n, &err),
                             0);
    }
    for (size_t k = 0; k < DB_MAX; k++) {
        if (db->jobs[k] != NULL)
            assert_int_equal(router_load_job(r, db->jobs[k], &err), 0);
    }
    assert_int_equal(router_load_done(r, now, &err), 0);
    return r;
}

static void db_free(struct db *db)
{
    for (size_t k = 0; k < DB_MAX; k++) {
        if (db->has_alert[k])
            alert_release(&db->alerts[k]);
        if (db->has_sil[k])
            silence_release(&db->sil[k]);
        if (db->has_group[k])
            db_group_clear(db, k);
        if (db->has_nflog[k])
            nflog_entry_release(&db->nflog[k]);
        notify_job_free(db->jobs[k]);
    }
    free(db);
}

/* ------------------------------------------------------------------ tests */

static void test_merge_on_overlap_else_replace(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = router_new(&fx->cfg);
    const struct alert *a;
    uint64_t fp = fx_fp("alertname=A");

    (void)state;
    fx_put(r, "alertname=A", T0, T0 + HOUR, T0);
    /* Overlapping re-post with a later start: the earliest start wins. */
    fx_put(r, "alertname=A", T0 + 10 * MIN, T0 + 2 * HOUR, T0 + 10 * MIN);
    a = router_get_alert(r, fp);
    assert_int_equal(a->starts_at, T0);
    assert_int_equal(a->ends_at, T0 + 2 * HOUR);
    assert_int_equal(a->updated_at, T0 + 10 * MIN);
    /* A timeout end never beats an explicit later end. */
    fx_put(r, "alertname=A", T0 + 20 * MIN, TIME_UNSET, T0 + 20 * MIN);
    a = router_get_alert(r, fp);
    assert_int_equal(a->ends_at, T0 + 2 * HOUR);
    assert_int_equal(a->starts_at, T0);
    /* No overlap (starts after the old end): replaced, start not merged. */
    fx_put(r, "alertname=A", T0 + 3 * HOUR, T0 + 4 * HOUR, T0 + 3 * HOUR);
    a = router_get_alert(r, fp);
    assert_int_equal(a->starts_at, T0 + 3 * HOUR);
    assert_int_equal(a->ends_at, T0 + 4 * HOUR);
    assert_int_equal(router_alert_count(r), 1);
    /* Missing start with an end: start = end (AM's API). */
    fx_put(r, "alertname=B", TIME_UNSET, T0 + HOUR, T0);
    assert_int_equal(router_get_alert(r, fx_fp("alertname=B"))->starts_at, T0 + HOUR);
    router_free(r);
    fx_free(fx);
}

struct seen {
    char buf[512];
    int n;
};

static int on_alert(void *ctx, const struct alert_view *v)
{
    struct seen *s = ctx;
    size_t o = strlen(s->buf);

    o += (size_t)snprintf(s->buf + o, sizeof(s->buf) - o, "%s%s:%s:%s", s->n++ ? ";" : "",
                          labels_get(&v->alert->labels, "alertname"),
                          alert_state_name(v->status->state), v->resolved ? "res" : "fir");
    for (size_t i = 0; i < v->n_routes; i++)
        o += (size_t)snprintf(s->buf + o, sizeof(s->buf) - o, ":%s", v->routes[i]->receiver->name);
    return 0;
}

static int on_group(void *ctx, const struct group_view *g)
{
    struct seen *s = ctx;
    size_t o = strlen(s->buf);

    o += (size_t)snprintf(s->buf + o, sizeof(s->buf) - o, "%s%s/%s[", s->n++ ? ";" : "", g->key,
                          g->receiver->name);
    for (size_t i = 0; i < g->n_alerts; i++)
        o += (size_t)snprintf(s->buf + o, sizeof(s->buf) - o, "%s%s%s", i ? "," : "",
                              labels_get(&g->alerts[i]->labels, "instance"),
                              g->statuses[i].n_silenced_by ? "(s)" : "");
    snprintf(s->buf + o, sizeof(s->buf) - o, "]");
    return 0;
}

static void test_queries(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r;
    struct route *c;
    struct seen s;
    struct silence sil;
    struct error err;
    char id[SILENCE_ID_LEN];
    uint8_t rnd[16] = {9};

    (void)state;
    fx_receiver(fx, "db", 1, true);
    c = fx_children(fx->cfg.root, 1);
    fx_route(&c[0], "team=\"db\"", "db", true, fx);
    fx_set_group_by(fx->cfg.root, "alertname");
    fx_set_group_by(&c[0], "alertname");
    r = router_new(&fx->cfg);
    fx_put(r, "alertname=Z,instance=b,team=db", T0, FAR, T0);
    fx_put(r, "alertname=Z,instance=a,team=db", T0, FAR, T0);
    fx_put(r, "alertname=Y,instance=c", T0, T0 + MIN, T0);
    silence_init(&sil);
    assert_int_equal(matchers_parse(&sil.matchers, "instance=\"b\"", &err), 0);
    sil.starts_at = T0;
    sil.ends_at = T0 + HOUR;
    assert_int_equal(router_put_silence(r, &sil, T0, rnd, id, &err), SILENCE_OK);

    memset(&s, 0, sizeof(s));
    assert_int_equal(router_foreach_alert(r, T0 + 2 * MIN, on_alert, &s), 0);
    /* Sorted by fingerprint; with receivers of every matched route. */
    {
        char expect[512] = "";
        uint64_t fa = fx_fp("alertname=Z,instance=a,team=db");
        uint64_t fb = fx_fp("alertname=Z,instance=b,team=db");
        uint64_t fc = fx_fp("alertname=Y,instance=c");
        const char *na = "Z:active:fir:db", *nb = "Z:suppressed:fir:db",
                   *nc = "Y:active:res:default";
        const char *names[3] = {na, nb, nc};
        uint64_t fps[3] = {fa, fb, fc};
        for (int i = 0; i < 3; i++) {
            for (int j = i + 1; j < 3; j++) {
                if (fps[j] < fps[i]) {
                    uint64_t t = fps[i];
                    const char *tn = names[i];
                    fps[i] = fps[j];
                    names[i] = names[j];
                    fps[j] = t;
                    names[j] = tn;
                }
            }
        }
        snprintf(expect, sizeof(expect), "%s;%s;%s", names[0], names[1], names[2]);
        assert_string_equal(s.buf, expect);
    }
    /* Groups sorted by labels then receiver; alerts in AM's order (instance). */
    memset(&s, 0, sizeof(s));
    assert_int_equal(router_foreach_group(r, T0 + 2 * MIN, on_group, &s), 0);
    assert_string_equal(s.buf, "{}:{alertname=\"Y\"}/default[c];"
                               "{}/{team=\"db\"}:{alertname=\"Z\"}/db[a,b(s)]");
    router_free(r);
    fx_free(fx);
}

static void test_change_log(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = router_new(&fx->cfg);
    const struct router_changes *ch;
    struct job_list jl = JOB_LIST_INIT;

    (void)state;
    fx_put(r, "alertname=A", T0, T0 + 10 * SEC, T0);
    fx_put(r, "alertname=A", T0, T0 + 10 * SEC, T0 + 1);
    fx_put(r, "alertname=B", T0, FAR, T0);
    ch = router_changes(r);
    assert_int_equal(ch->n_alerts, 2); /* each key once */
    assert_int_equal(ch->n_groups, 1);
    assert_string_equal(ch->groups[0], "{}:{}");
    assert_int_equal(ch->n_members, 2);
    assert_string_equal(ch->members[0].group_key, "{}:{}");
    assert_int_equal(ch->members[0].fingerprint, fx_fp("alertname=A"));
    assert_true(router_group_has_alert(r, "{}:{}", fx_fp("alertname=B")));
    assert_int_equal(ch->n_nflog, 0);
    router_changes_clear(r);
    /* A re-post of a member changes the alert only. */
    fx_put(r, "alertname=B", T0, FAR, T0 + 2);
    assert_int_equal(router_changes(r)->n_alerts, 1);
    assert_int_equal(router_changes(r)->n_groups, 0);
    assert_int_equal(router_changes(r)->n_members, 0);
    router_changes_clear(r);
    assert_int_equal(router_changes(r)->n_alerts, 0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    ch = router_changes(r);
    assert_int_equal(ch->n_groups, 1); /* timer moved */
    assert_int_equal(ch->n_nflog, 0);  /* not before the result */
    router_changes_clear(r);
    fx_ack_all(r, &jl, true, T0 + 31 * SEC);
    ch = router_changes(r);
    assert_int_equal(ch->n_nflog, 1);
    assert_non_null(router_get_nflog(r, ch->nflog[0]));
    assert_int_equal(ch->n_groups, 1);
    assert_int_equal(ch->n_members, 1); /* resolved A left the group */
    assert_false(router_group_has_alert(r, ch->members[0].group_key, ch->members[0].fingerprint));
    router_changes_clear(r);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_retention_gc(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = router_new(&fx->cfg);
    struct job_list jl = JOB_LIST_INIT;
    const struct router_changes *ch;
    int64_t end = T0 + MIN;

    (void)state;
    fx_put(r, "alertname=A", T0, end, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC + 5 * MIN, &jl), 1); /* resolved */
    fx_ack_all(r, &jl, true, T0 + 30 * SEC + 5 * MIN);
    assert_int_equal(router_group_count(r), 0);
    assert_int_equal(router_alert_count(r), 1);
    router_changes_clear(r);
    /* The next wake-up is no later than the alert's retention. */
    assert_true(router_next_wakeup(r) <= end + 120 * HOUR);
    assert_true(router_next_wakeup(r) > end + 119 * HOUR);
    assert_int_equal(fx_tick(r, end + 120 * HOUR - 1, &jl), 0);
    assert_int_equal(router_alert_count(r), 1);
    assert_int_equal(fx_tick(r, end + 120 * HOUR, &jl), 0);
    assert_int_equal(router_alert_count(r), 0);
    ch = router_changes(r);
    assert_int_equal(ch->n_alerts, 1);
    assert_null(router_get_alert(r, ch->alerts[0]));
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_reload(void **state)
{
    struct fx *fx = fx_new("default");
    struct fx *fx2 = fx_new("default");
    struct fx *fx3 = fx_new("default");
    struct router *r = router_new(&fx->cfg);
    struct job_list jl = JOB_LIST_INIT;
    struct error err;
    struct route *c;
    int64_t t1 = T0 + 30 * SEC;

    (void)state;
    fx_put(r, "alertname=A,team=db", T0, FAR, T0);
    assert_int_equal(fx_tick(r, t1, &jl), 1);
    fx_ack_all(r, &jl, true, t1);
    /* Same config again: groups rebuilt, an old alert flushes at once, the log
     * dedups it. */
    assert_int_equal(router_set_config(r, &fx2->cfg, t1 + MIN, &err), 0);
    fx_free(fx);
    assert_int_equal(router_group_count(r), 1);
    assert_int_equal(router_next_wakeup(r), t1 + MIN);
    assert_int_equal(fx_tick(r, t1 + MIN, &jl), 0);
    /* A new route for team=db: a new group key, so a notification. */
    fx_receiver(fx3, "db", 1, true);
    c = fx_children(fx3->cfg.root, 1);
    fx_route(&c[0], "team=\"db\"", "db", false, fx3);
    assert_int_equal(router_set_config(r, &fx3->cfg, t1 + 2 * MIN, &err), 0);
    fx_free(fx2);
    assert_int_equal(fx_tick(r, t1 + 2 * MIN, &jl), 1);
    assert_string_equal(jl.v[0]->group_key, "{}/{team=\"db\"}:{}");
    assert_string_equal(jl.v[0]->receiver_name, "db");
    assert_ptr_equal(jl.v[0]->receiver, &fx3->recv[1]);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx3);
}

static void test_restore_after_restart(void **state)
{
    struct fx *fx = fx_new("default");
    struct db *db = calloc(1, sizeof(*db));
    struct router *r;
    struct job_list jl = JOB_LIST_INIT;
    struct route *c;
    struct silence sil;
    struct error err;
    char id[SILENCE_ID_LEN];
    uint8_t rnd[16] = {3};
    int64_t t1 = T0 + 30 * SEC;
    uint64_t outstanding;

    (void)state;
    fx_receiver(fx, "db", 1, true);
    c = fx_children(fx->cfg.root, 1);
    fx_route(&c[0], "team=\"db\"", "db", false, fx);
    c[0].group_wait = 2 * MIN;
    r = router_new(&fx->cfg);

    /* Group 1 notified and logged. */
    fx_put(r, "alertname=A", T0, FAR, T0);
    db_sync(db, r);
    assert_int_equal(fx_tick(r, t1, &jl), 1);
    db_outbox_add(db, &jl);
    db_sync(db, r);
    fx_ack_all(r, &jl, true, t1);
    db_outbox_done(db, jl.v[0]->id);
    db_sync(db, r);
    /* Group 2 in its group_wait (flush due at t1 + 2min). */
    fx_put(r, "alertname=B,team=db", t1, FAR, t1);
    /* Group 1 gets a new alert, notified, but the result never came back. */
    fx_put(r, "alertname=C", t1 + MIN, FAR, t1 + MIN);
    silence_init(&sil);
    assert_int_equal(matchers_parse(&sil.matchers, "alertname=\"Q\"", &err), 0);
    sil.starts_at = T0;
    sil.ends_at = FAR;
    assert_int_equal(router_put_silence(r, &sil, t1, rnd, id, &err), SILENCE_OK);
    db_sync(db, r);
    /* ... the group_interval tick of group 1 at t1+5min makes a job: */
    assert_int_equal(fx_tick(r, t1 + 5 * MIN, &jl), 2); /* group 2 was due first */
    for (size_t i = 0; i < jl.n; i++) {
        if (strcmp(jl.v[i]->group_key, "{}:{}") == 0)
            outstanding = jl.v[i]->id;
    }
    (void)outstanding;
    job_list_release(&jl);
    router_free(r);
    /* "Crash" before that tick was committed: the db has the state of t1 + 1min. */
    r = db_restore(db, &fx->cfg, t1 + 90 * SEC);
    assert_int_equal(router_alert_count(r), 3);
    assert_non_null(router_get_silence(r, id));
    assert_int_equal(router_group_count(r), 2);
    /* Group 2's group_wait runs out on time, not earlier, not later. */
    assert_int_equal(router_next_wakeup(r), t1 + 2 * MIN);
    assert_int_equal(fx_tick(r, t1 + 2 * MIN - 1, &jl), 0);
    assert_int_equal(fx_tick(r, t1 + 2 * MIN, &jl), 1);
    assert_string_equal(jl.v[0]->group_key, "{}/{team=\"db\"}:{}");
    fx_ack_all(r, &jl, true, t1 + 2 * MIN);
    /* Group 1 flushes on its own tick and only because C is new. */
    assert_int_equal(fx_tick(r, t1 + 5 * MIN, &jl), 1);
    assert_string_equal(jl.v[0]->group_key, "{}:{}");
    assert_int_equal(jl.v[0]->n_alerts, 2);
    fx_ack_all(r, &jl, true, t1 + 5 * MIN);
    db_sync(db, r);
    router_free(r);

    /* Restart again: nothing changed, so nothing is sent before repeat_interval. */
    r = db_restore(db, &fx->cfg, t1 + 6 * MIN);
    for (int k = 2; k < 49; k++)
        assert_int_equal(fx_tick(r, t1 + k * 5 * MIN, &jl), 0);
    /* Repeats come on the first tick strictly more than 4h after the last
     * notification: group 2 (t1 + 2min) at t1 + 245min, group 1 (t1 + 5min)
     * at t1 + 250min. */
    assert_int_equal(fx_tick(r, t1 + 49 * 5 * MIN, &jl), 1);
    assert_string_equal(jl.v[0]->group_key, "{}/{team=\"db\"}:{}");
    fx_ack_all(r, &jl, true, t1 + 49 * 5 * MIN);
    assert_int_equal(fx_tick(r, t1 + 50 * 5 * MIN, &jl), 1);
    assert_string_equal(jl.v[0]->group_key, "{}:{}");
    job_list_release(&jl);
    router_free(r);
    db_free(db);
    fx_free(fx);
}

static void test_restore_outstanding_job(void **state)
{
    struct fx *fx = fx_new("default");
    struct db *db = calloc(1, sizeof(*db));
    struct router *r = router_new(&fx->cfg);
    struct job_list jl = JOB_LIST_INIT;
    struct error err;
    uint64_t id;
    int64_t t1 = T0 + 30 * SEC;

    (void)state;
    fx_put(r, "alertname=A", T0, FAR, T0);
    assert_int_equal(fx_tick(r, t1, &jl), 1);
    db_outbox_add(db, &jl);
    id = jl.v[0]->id;
    db_sync(db, r);
    job_list_release(&jl);
    router_free(r);
    /* Restarted with the job in the outbox; the delivery retries and succeeds. */
    r = db_restore(db, &fx->cfg, t1 + MIN);
    assert_int_equal(router_notify_result(r, id, true, t1 + MIN, &err), 0);
    assert_non_null(router_get_nflog(r, "{}:{}\x1f"
                                        "default\x1f"
                                        "0"));
    /* So the next tick does not send it again, and new job ids stay larger. */
    assert_int_equal(fx_tick(r, t1 + 5 * MIN, &jl), 0);
    fx_put(r, "alertname=B", T0, FAR, t1 + 6 * MIN);
    assert_int_equal(fx_tick(r, t1 + 10 * MIN, &jl), 1);
    assert_true(jl.v[0]->id > id);
    job_list_release(&jl);
    router_free(r);
    db_free(db);
    fx_free(fx);
}

static void test_restore_with_changed_routes(void **state)
{
    struct fx *fx = fx_new("default");
    struct fx *fx2 = fx_new("default");
    struct db *db = calloc(1, sizeof(*db));
    struct router *r = router_new(&fx->cfg);
    struct job_list jl = JOB_LIST_INIT;
    struct route *c;

    (void)state;
    fx_put(r, "alertname=A,team=db", T0, FAR, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    db_sync(db, r);
    router_free(r);
    /* The config changed while down: team=db now has its own route. The old
     * group's route still exists (root) but the alert belongs elsewhere now. */
    fx_receiver(fx2, "db", 1, true);
    c = fx_children(fx2->cfg.root, 1);
    fx_route(&c[0], "team=\"db\"", "db", false, fx2);
    r = db_restore(db, &fx2->cfg, T0 + 10 * MIN);
    assert_int_equal(fx_tick(r, T0 + 10 * MIN, &jl), 1);
    assert_string_equal(jl.v[0]->receiver_name, "db");
    job_list_release(&jl);
    router_free(r);
    db_free(db);
    fx_free(fx);
    fx_free(fx2);
}

static const char LOADED_YML[] = "global:\n"
                                 "  resolve_timeout: 1m\n"
                                 "route:\n"
                                 "  receiver: default\n"
                                 "  group_by: [alertname]\n"
                                 "  group_wait: 1s\n"
                                 "  group_interval: 2s\n"
                                 "  repeat_interval: 1h\n"
                                 "  routes:\n"
                                 "  - matchers: ['team=\"db\"']\n"
                                 "    receiver: db\n"
                                 "    continue: true\n"
                                 "  - match_re:\n"
                                 "      service: api|web\n"
                                 "    receiver: web\n"
                                 "    group_by: ['...']\n"
                                 "    mute_time_intervals: [weekends]\n"
                                 "time_intervals:\n"
                                 "- name: weekends\n"
                                 "  time_intervals:\n"
                                 "  - weekdays: ['saturday', 'sunday']\n"
                                 "receivers:\n"
                                 "- name: default\n"
                                 "- name: db\n"
                                 "  webhook_configs:\n"
                                 "  - url: http://127.0.0.1:9/db\n"
                                 "- name: web\n"
                                 "  webhook_configs:\n"
                                 "  - url: http://127.0.0.1:9/web\n"
                                 "    send_resolved: false\n";

/* A config from the real loader: continue, match_re, group_by '...', a receiver
 * without integrations, mute_time_intervals. T0 is a Tuesday (2023-11-14 UTC). */
static void test_with_loaded_config(void **state)
{
    struct error err;
    struct config *cfg = config_load_string(LOADED_YML, "test.yml", NULL, &err);
    struct router *r;
    struct job_list jl = JOB_LIST_INIT;
    const int64_t sat = T0 + 4 * 24 * HOUR;

    (void)state;
    if (cfg == NULL)
        fail_msg("config: %s", err.msg);
    r = router_new(cfg);
    fx_put(r, "alertname=X,team=db,service=api", T0, FAR, T0);
    fx_put(r, "alertname=Y", T0, FAR, T0);
    assert_int_equal(router_group_count(r), 3);
    assert_int_equal(fx_tick(r, T0 + SEC, &jl), 2); /* default has no integrations */
    for (size_t i = 0; i < jl.n; i++) {
        if (strcmp(jl.v[i]->receiver_name, "db") == 0) {
            assert_string_equal(jl.v[i]->group_key, "{}/{team=\"db\"}:{alertname=\"X\"}");
        } else {
            assert_string_equal(jl.v[i]->receiver_name, "web");
            assert_string_equal(
                jl.v[i]->group_key,
                "{}/{service=~\"^(?:api|web)$\"}:{alertname=\"X\", service=\"api\", "
                "team=\"db\"}");
        }
    }
    fx_ack_all(r, &jl, true, T0 + SEC);
    /* resolve_timeout from the config: 1m. */
    fx_put(r, "alertname=Z", TIME_UNSET, TIME_UNSET, T0);
    assert_int_equal(router_get_alert(r, fx_fp("alertname=Z"))->ends_at, T0 + MIN);
    /* On a Saturday the web route is muted (neither W nor X's repeat), db is
     * not (W new, X repeated after 1h). */
    fx_put(r, "alertname=W,team=db,service=web", sat, FAR, sat);
    assert_int_equal(fx_tick(r, sat + SEC, &jl), 2);
    assert_string_equal(jl.v[0]->receiver_name, "db");
    assert_string_equal(jl.v[1]->receiver_name, "db");
    job_list_release(&jl);
    router_free(r);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_on_overlap_else_replace),
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_change_log),
        cmocka_unit_test(test_retention_gc),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_restore_after_restart),
        cmocka_unit_test(test_restore_outstanding_job),
        cmocka_unit_test(test_restore_with_changed_routes),
        cmocka_unit_test(test_with_loaded_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
