/*
 * test_escalation.c - incidents and escalation in fake time: steps reached at
 * their deadlines (each once, only after the first flush), updates only to
 * receivers reached, ack (stops steps, notices, no repeat reminders), unack and
 * ack_timeout (restart after the last step reached, keeping the gap), re-open on
 * a new alert (and its opt-out), resolve, repeat runs, a receiver on the route
 * as a step at 0 s, plain routes, ack by matchers, paged numbers, stale jobs,
 * the change log, and a restore from the JSON rows between two steps.
 */
#include "test_router_fixture.h"

#include "router/incident.h"

#define FAR (T0 + 1000 * HOUR)

struct esc_fx {
    struct fx *fx;
    struct escalation_policy pol;
    struct escalation_step steps[4];
    const struct receiver *rv[4][2];
};

/* Root route with group_wait 30s, receiver "inherited" (must never be used),
 * and one child for team=db with policy steps: 0s a, 1m b, 5m c+d. */
static struct esc_fx *efx_new(int repeat, int64_t ack_timeout, bool reopen)
{
    struct esc_fx *e = calloc(1, sizeof(*e));
    struct route *child;

    assert_non_null(e);
    e->fx = fx_new("inherited");
    fx_receiver(e->fx, "a", 1, true);
    fx_receiver(e->fx, "b", 2, true);
    fx_receiver(e->fx, "c", 1, false);
    e->fx->nc[3][0].kind = NOTIFIER_SMS;
    static char num[] = "+15550001";
    static char *to[] = {num};
    e->fx->nc[3][0].sms_to = to;
    e->fx->nc[3][0].n_sms_to = 1;
    fx_receiver(e->fx, "d", 1, true);
    e->rv[0][0] = fx_find_receiver(e->fx, "a");
    e->rv[1][0] = fx_find_receiver(e->fx, "b");
    e->rv[2][0] = fx_find_receiver(e->fx, "c");
    e->rv[2][1] = fx_find_receiver(e->fx, "d");
    e->steps[0] = (struct escalation_step){0, e->rv[0], 1};
    e->steps[1] = (struct escalation_step){1 * MIN, e->rv[1], 1};
    e->steps[2] = (struct escalation_step){5 * MIN, e->rv[2], 2};
    e->pol.name = (char *)"db/oncall";
    e->pol.repeat = repeat;
    e->pol.ack_timeout = ack_timeout;
    e->pol.reopen_on_new_alert = reopen;
    e->pol.steps = e->steps;
    e->pol.n_steps = 3;
    fx_set_group_by(e->fx->cfg.root, "alertname");
    child = fx_children(e->fx->cfg.root, 1);
    fx_route(child, "team=db", NULL, false, e->fx);
    child->escalation = &e->pol;
    child->team = "db";
    return e;
}

static void efx_free(struct esc_fx *e)
{
    fx_free(e->fx);
    free(e);
}

static struct router *mk(struct esc_fx *e)
{
    struct router *r = router_new(&e->fx->cfg);

    assert_non_null(r);
    return r;
}

/* Number of jobs in jl for receiver name. */
static size_t n_for(const struct job_list *jl, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < jl->n; i++)
        n += strcmp(jl->v[i]->receiver_name, name) == 0;
    return n;
}

static bool all_notice(const struct job_list *jl, int notice)
{
    for (size_t i = 0; i < jl->n; i++) {
        if (jl->v[i]->incident_notice != notice)
            return false;
    }
    return true;
}

static const struct ack_in ALICE = {"alice", "amctl", "on it"};

static void test_steps_reached_once_in_order(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT;
    const struct incident *inc;

    (void)state;
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    inc = router_get_incident(r, 1);
    assert_non_null(inc);
    assert_int_equal(inc->state, INCIDENT_FIRING);
    assert_int_equal(inc->opened_at, T0);
    assert_string_equal(inc->policy, "db/oncall");
    assert_string_equal(inc->team, "db");
    assert_null(inc->receiver);
    /* Nothing before group_wait: step 1 waits for the first flush. */
    assert_int_equal(router_next_wakeup(r), T0 + 30 * SEC);
    assert_int_equal(fx_tick(r, T0 + 29 * SEC, &jl), 0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    assert_int_equal(n_for(&jl, "a"), 1);
    assert_int_equal(jl.v[0]->incident_id, 1);
    assert_int_equal(jl.v[0]->incident_step, 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    /* Step 2 at 1m exactly, to b only (both of its integrations). */
    assert_int_equal(router_next_wakeup(r), T0 + 1 * MIN);
    assert_int_equal(fx_tick(r, T0 + 1 * MIN - 1, &jl), 0);
    assert_int_equal(fx_tick(r, T0 + 1 * MIN, &jl), 2);
    assert_int_equal(n_for(&jl, "b"), 2);
    assert_true(all_notice(&jl, NOTICE_STEP));
    assert_int_equal(jl.v[0]->incident_step, 2);
    fx_ack_all(r, &jl, true, T0 + 1 * MIN);
    assert_int_equal(fx_tick(r, T0 + 2 * MIN, &jl), 0);
    /* Step 3 at 5m: c and d. */
    assert_int_equal(fx_tick(r, T0 + 5 * MIN, &jl), 2);
    assert_int_equal(n_for(&jl, "c"), 1);
    assert_int_equal(n_for(&jl, "d"), 1);
    fx_ack_all(r, &jl, true, T0 + 5 * MIN);
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->last_step, 3);
    assert_int_equal(inc->step_due, 0);
    assert_int_equal(inc->n_reached, 4);
    /* opened + 3 notified */
    assert_int_equal(inc->n_history, 4);
    assert_int_equal(inc->history[0].kind, IEV_OPENED);
    assert_int_equal(inc->history[2].kind, IEV_NOTIFIED);
    assert_int_equal(inc->history[2].step, 2);
    assert_string_equal(inc->history[2].receivers[0], "b");
    /* A new alert: the group_interval flush updates every receiver reached
     * (a, b x2, c, d), never the inherited receiver. */
    fx_put(r, "alertname=Disk,team=db,instance=2", T0, FAR, T0 + 6 * MIN);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC + 5 * MIN, &jl), 5);
    assert_int_equal(n_for(&jl, "inherited"), 0);
    assert_true(all_notice(&jl, NOTICE_UPDATE));
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static void test_ack_stops_and_notifies_reached(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT, acks = JOB_LIST_INIT;
    const struct incident *inc;
    struct error err;

    (void)state;
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    assert_int_equal(fx_tick(r, T0 + 1 * MIN, &jl), 2);
    fx_ack_all(r, &jl, true, T0 + 1 * MIN);
    assert_int_equal(router_ack_incident(r, 1, &ALICE, T0 + 90 * SEC, &acks, &err), ACK_DONE);
    /* a (1 integration) and b (2) are told; c and d never heard of it. */
    assert_int_equal(acks.n, 3);
    assert_int_equal(n_for(&acks, "a"), 1);
    assert_int_equal(n_for(&acks, "b"), 2);
    assert_true(all_notice(&acks, NOTICE_ACK));
    assert_int_equal(acks.v[0]->incident_state, INCIDENT_ACKNOWLEDGED);
    assert_string_equal(acks.v[0]->acked_by, "alice");
    assert_string_equal(acks.v[0]->ack_via, "amctl");
    assert_string_equal(acks.v[0]->ack_comment, "on it");
    assert_int_equal(acks.v[0]->acked_at, T0 + 90 * SEC);
    /* Notices are not tracked: their results are ignored. */
    fx_ack_all(r, &acks, true, T0 + 90 * SEC);
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->state, INCIDENT_ACKNOWLEDGED);
    assert_int_equal(inc->ack_expires_at, 0);
    /* Step 3 never comes; no repeat reminders while acknowledged. */
    assert_int_equal(fx_tick(r, T0 + 5 * MIN, &jl), 0);
    assert_int_equal(fx_tick(r, T0 + 10 * HOUR, &jl), 0);
    /* Acking again changes nothing. */
    job_list_release(&acks);
    assert_int_equal(router_ack_incident(r, 1, NULL, T0 + 11 * HOUR, &acks, &err), ACK_UNCHANGED);
    assert_int_equal(acks.n, 0);
    assert_string_equal(router_get_incident(r, 1)->acked_by, "alice");
    assert_int_equal(router_ack_incident(r, 99, NULL, T0, &acks, &err), ACK_NOT_FOUND);
    job_list_release(&acks);
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static void test_unack_restarts_after_last_step(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT;
    const struct incident *inc;
    struct error err;
    struct ack_in bob = {"bob", "api", NULL};

    (void)state;
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    assert_int_equal(fx_tick(r, T0 + 1 * MIN, &jl), 2);
    fx_ack_all(r, &jl, true, T0 + 1 * MIN);
    job_list_release(&jl);
    assert_int_equal(router_ack_incident(r, 1, &ALICE, T0 + 2 * MIN, &jl, &err), ACK_DONE);
    job_list_release(&jl);
    assert_int_equal(router_unack_incident(r, 1, &bob, T0 + 10 * MIN, &jl, &err), ACK_DONE);
    /* Reached receivers hear it fires again. */
    assert_int_equal(jl.n, 3);
    assert_true(all_notice(&jl, NOTICE_UNACK));
    assert_int_equal(jl.v[0]->incident_state, INCIDENT_FIRING);
    assert_null(jl.v[0]->acked_by);
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->state, INCIDENT_FIRING);
    assert_null(inc->acked_by);
    /* Step 3 comes the step-2-to-3 gap (4m) after the unack. */
    assert_int_equal(inc->step_due, T0 + 14 * MIN);
    assert_int_equal(fx_tick(r, T0 + 14 * MIN - 1, &jl), 0);
    assert_int_equal(fx_tick(r, T0 + 14 * MIN, &jl), 2);
    assert_int_equal(n_for(&jl, "c") + n_for(&jl, "d"), 2);
    /* Unack of a firing incident: unchanged. */
    job_list_release(&jl);
    assert_int_equal(router_unack_incident(r, 1, &bob, T0 + 15 * MIN, &jl, &err), ACK_UNCHANGED);
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->history[inc->n_history - 2].kind, IEV_UNACKNOWLEDGED);
    assert_string_equal(inc->history[inc->n_history - 2].by, "bob");
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static void test_ack_timeout_lapses(void **state)
{
    struct esc_fx *e = efx_new(0, 10 * MIN, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT;
    const struct incident *inc;
    struct error err;

    (void)state;
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    job_list_release(&jl);
    /* Acked before step 2: only a was reached. */
    assert_int_equal(router_ack_incident(r, 1, &ALICE, T0 + 40 * SEC, &jl, &err), ACK_DONE);
    assert_int_equal(jl.n, 1);
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->ack_expires_at, T0 + 40 * SEC + 10 * MIN);
    assert_int_equal(router_next_wakeup(r), T0 + 30 * SEC + 5 * MIN); /* group_interval */
    assert_int_equal(fx_tick(r, T0 + 30 * SEC + 5 * MIN, &jl), 0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC + 10 * MIN, &jl), 0);
    assert_int_equal(router_next_wakeup(r), T0 + 40 * SEC + 10 * MIN);
    assert_int_equal(fx_tick(r, T0 + 40 * SEC + 10 * MIN, &jl), 1);
    assert_int_equal(n_for(&jl, "a"), 1);
    assert_true(all_notice(&jl, NOTICE_UNACK));
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->state, INCIDENT_FIRING);
    assert_int_equal(inc->history[inc->n_history - 1].kind, IEV_ACK_EXPIRED);
    /* Step 2 follows after the step-1-to-2 gap (1m). */
    assert_int_equal(inc->step_due, T0 + 40 * SEC + 11 * MIN);
    assert_int_equal(fx_tick(r, T0 + 40 * SEC + 11 * MIN, &jl), 2);
    assert_int_equal(n_for(&jl, "b"), 2);
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static void test_new_alert_reopens(void **state)
{
    for (int reopen = 0; reopen <= 1; reopen++) {
        struct esc_fx *e = efx_new(0, 0, reopen);
        struct router *r = mk(e);
        struct job_list jl = JOB_LIST_INIT;
        const struct incident *inc;
        struct error err;

        (void)state;
        fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
        assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
        fx_ack_all(r, &jl, true, T0 + 30 * SEC);
        job_list_release(&jl);
        assert_int_equal(router_ack_incident(r, 1, &ALICE, T0 + 40 * SEC, &jl, &err), ACK_DONE);
        /* A re-post of the same alert does not re-open. */
        fx_put(r, "alertname=Disk,team=db", T0, FAR, T0 + 50 * SEC);
        assert_int_equal(router_get_incident(r, 1)->state, INCIDENT_ACKNOWLEDGED);
        fx_put(r, "alertname=Disk,team=db,instance=2", T0 + 2 * MIN, FAR, T0 + 2 * MIN);
        inc = router_get_incident(r, 1);
        if (reopen) {
            assert_int_equal(inc->state, INCIDENT_FIRING);
            assert_int_equal(inc->history[inc->n_history - 1].kind, IEV_REOPENED);
            assert_int_equal(inc->history[inc->n_history - 1].fingerprint,
                             fx_fp("alertname=Disk,team=db,instance=2"));
            /* Restarted: step 2 one gap (1m) after the re-open. */
            assert_int_equal(inc->step_due, T0 + 3 * MIN);
        } else {
            assert_int_equal(inc->state, INCIDENT_ACKNOWLEDGED);
        }
        /* Either way the group_interval flush tells a about the new alert. */
        job_list_release(&jl);
        assert_int_equal(fx_tick(r, T0 + 30 * SEC + 5 * MIN, &jl), reopen ? 1 + 2 : 1);
        assert_int_equal(router_incident_count(r), 1);
        job_list_release(&jl);
        router_free(r);
        efx_free(e);
    }
}

static void test_resolve_and_new_incident(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT;
    const struct incident *inc;
    struct error err;

    (void)state;
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    assert_int_equal(fx_tick(r, T0 + 1 * MIN, &jl), 2);
    fx_ack_all(r, &jl, true, T0 + 1 * MIN);
    /* Resolved at 2m: the next flush (5m30s) resolves the incident and tells
     * a and b (send_resolved) with the resolved state; step 3 never runs. */
    fx_put(r, "alertname=Disk,team=db", T0, T0 + 2 * MIN, T0 + 2 * MIN);
    assert_int_equal(fx_tick(r, T0 + 5 * MIN, &jl), 0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC + 5 * MIN, &jl), 3);
    assert_int_equal(jl.v[0]->incident_state, INCIDENT_RESOLVED);
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->state, INCIDENT_RESOLVED);
    assert_int_equal(inc->resolved_at, T0 + 30 * SEC + 5 * MIN);
    assert_int_equal(inc->step_due, 0);
    fx_ack_all(r, &jl, true, T0 + 6 * MIN);
    job_list_release(&jl);
    assert_int_equal(router_ack_incident(r, 1, &ALICE, T0 + 7 * MIN, &jl, &err), ACK_RESOLVED);
    assert_int_equal(router_unack_incident(r, 1, &ALICE, T0 + 7 * MIN, &jl, &err), ACK_RESOLVED);
    /* Firing again: a new incident with the next id. */
    fx_put(r, "alertname=Disk,team=db", T0 + 8 * MIN, FAR, T0 + 8 * MIN);
    assert_non_null(router_get_incident(r, 2));
    assert_int_equal(router_get_incident(r, 2)->state, INCIDENT_FIRING);
    assert_int_equal(router_last_incident_id(r), 2);
    /* Resolved incidents go after retention (default 30 days). */
    (void)fx_tick(r, T0 + 31 * 24 * HOUR, &jl);
    assert_null(router_get_incident(r, 1));
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static void test_repeat_runs(void **state)
{
    struct esc_fx *e = efx_new(1, 0, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT;
    const struct incident *inc;

    (void)state;
    /* Two steps only: 0s a, 1m b; period 1m + 1m = 2m. */
    e->pol.n_steps = 2;
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    assert_int_equal(fx_tick(r, T0 + 1 * MIN, &jl), 2);
    fx_ack_all(r, &jl, true, T0 + 1 * MIN);
    /* Run 2: a again at 2m although a was notified (forced), then b at 3m. */
    assert_int_equal(fx_tick(r, T0 + 2 * MIN, &jl), 1);
    assert_int_equal(n_for(&jl, "a"), 1);
    fx_ack_all(r, &jl, true, T0 + 2 * MIN);
    assert_int_equal(fx_tick(r, T0 + 3 * MIN, &jl), 2);
    fx_ack_all(r, &jl, true, T0 + 3 * MIN);
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->last_run, 1);
    assert_int_equal(inc->last_step, 2);
    assert_int_equal(inc->step_due, 0);
    assert_int_equal(fx_tick(r, T0 + 4 * MIN, &jl), 0);
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static void test_route_receiver_is_step_zero(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct router *r;
    struct job_list jl = JOB_LIST_INIT;
    struct route *child = &e->fx->cfg.root->routes[0];

    (void)state;
    child->receiver = fx_find_receiver(e->fx, "d");
    child->receiver_explicit = true;
    r = mk(e);
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    /* d (the route's own receiver, a step at 0s) and a (step 1 at 0s). */
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 2);
    assert_int_equal(n_for(&jl, "d"), 1);
    assert_int_equal(n_for(&jl, "a"), 1);
    assert_int_equal(router_get_incident(r, 1)->last_step, 2);
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static void test_plain_route_incident(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT;
    const struct incident *inc;
    struct error err;

    (void)state;
    fx_put(r, "alertname=Cpu", T0, FAR, T0);
    inc = router_get_incident(r, 1);
    assert_non_null(inc);
    assert_null(inc->policy);
    assert_null(inc->team);
    assert_string_equal(inc->receiver, "inherited");
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    assert_int_equal(n_for(&jl, "inherited"), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    job_list_release(&jl);
    assert_int_equal(router_ack_incident(r, 1, &ALICE, T0 + MIN, &jl, &err), ACK_DONE);
    assert_int_equal(n_for(&jl, "inherited"), 1);
    /* No repeat_interval (4h) reminder while acknowledged... */
    assert_int_equal(fx_tick(r, T0 + 5 * HOUR, &jl), 0);
    job_list_release(&jl);
    assert_int_equal(router_unack_incident(r, 1, &ALICE, T0 + 5 * HOUR, &jl, &err), ACK_DONE);
    /* ...and after the unack the reminder is due again. */
    assert_int_equal(fx_tick(r, T0 + 30 * SEC + 65 * MIN * 5, &jl), 1);
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static void test_ack_matching_paged_stale(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT, late = JOB_LIST_INIT;
    struct matchers m;
    struct error err;
    uint64_t *acked = NULL, *already = NULL;
    size_t n_acked = 0, n_already = 0;
    const struct incident *disk;

    (void)state;
    fx_put(r, "alertname=Disk,team=db,instance=x", T0, FAR, T0);
    fx_put(r, "alertname=Net,team=db", T0, FAR, T0);
    fx_put(r, "alertname=Cpu", T0, FAR, T0);
    assert_int_equal(router_incident_count(r), 3);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 3);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    job_list_release(&jl);
    /* Step 2 for Disk and Net; the jobs are still out when Disk is acked. */
    assert_int_equal(fx_tick(r, T0 + 1 * MIN, &late), 4);
    assert_false(router_job_stale(r, late.v[0]));
    matchers_init(&m);
    assert_int_equal(matchers_parse(&m, "instance=\"x\"", &err), 0);
    assert_int_equal(router_ack_matching(r, &m, &ALICE, T0 + 2 * MIN, &jl, &acked, &n_acked,
                                         &already, &n_already, &err),
                     0);
    assert_int_equal(n_acked, 1);
    assert_int_equal(n_already, 0);
    disk = router_get_incident(r, acked[0]);
    assert_string_equal(labels_get(&disk->group_labels, "alertname"), "Disk");
    assert_true(router_incident_matches(r, disk, &m));
    /* The notices (to a, b x2) are never stale; Disk's step-2 jobs now are. */
    assert_int_equal(jl.n, 3);
    assert_false(router_job_stale(r, jl.v[0]));
    for (size_t i = 0; i < late.n; i++)
        assert_int_equal(router_job_stale(r, late.v[i]), late.v[i]->incident_id == disk->id);
    /* Each notice to b supersedes Disk's step-2 job still waiting for that integration;
     * the notice to a (whose step-1 job was reported) supersedes nothing. */
    for (size_t i = 0; i < jl.n; i++) {
        uint64_t want = 0;
        for (size_t k = 0; k < late.n; k++) {
            if (late.v[k]->incident_id == disk->id &&
                strcmp(late.v[k]->receiver_name, jl.v[i]->receiver_name) == 0 &&
                late.v[k]->integration == jl.v[i]->integration)
                want = late.v[k]->id;
        }
        assert_int_equal(jl.v[i]->supersedes, want);
        if (strcmp(jl.v[i]->receiver_name, "b") == 0)
            assert_true(want != 0);
    }
    fx_ack_all(r, &late, true, T0 + 2 * MIN);
    assert_int_equal(router_ack_matching(r, &m, &ALICE, T0 + 3 * MIN, &jl, &acked, &n_acked,
                                         &already, &n_already, &err),
                     0);
    assert_int_equal(n_acked, 1);
    assert_int_equal(n_already, 1);
    /* Step 3 (SMS to +15550001) only for Net. */
    job_list_release(&jl);
    assert_int_equal(fx_tick(r, T0 + 5 * MIN, &jl), 2);
    assert_int_equal(jl.v[0]->incident_id, jl.v[1]->incident_id);
    assert_true(router_incident_paged(r, jl.v[0]->incident_id, "+15550001"));
    assert_false(router_incident_paged(r, jl.v[0]->incident_id, "+15550002"));
    assert_false(router_incident_paged(r, disk->id, "+15550001"));
    assert_false(router_incident_paged(r, 999, "+15550001"));
    free(acked);
    free(already);
    matchers_release(&m);
    job_list_release(&late);
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static void test_change_log(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT;
    const struct router_changes *ch;
    struct error err;

    (void)state;
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    ch = router_changes(r);
    assert_int_equal(ch->n_incidents, 1);
    assert_int_equal(ch->incidents[0], 1);
    assert_true(ch->incident_seq);
    router_changes_clear(r);
    ch = router_changes(r);
    assert_int_equal(ch->n_incidents, 0);
    assert_false(ch->incident_seq);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    assert_int_equal(router_changes(r)->n_incidents, 1);
    router_changes_clear(r);
    job_list_release(&jl);
    assert_int_equal(router_ack_incident(r, 1, &ALICE, T0 + MIN, &jl, &err), ACK_DONE);
    assert_int_equal(router_changes(r)->n_incidents, 1);
    assert_false(router_changes(r)->incident_seq);
    job_list_release(&jl);
    router_free(r);
    efx_free(e);
}

static int copy_alert_cb(void *ctx, const struct alert_view *v)
{
    struct router *dst = ctx;
    struct alert a;
    struct error err;

    alert_init(&a);
    assert_int_equal(alert_copy(&a, v->alert), 0);
    assert_int_equal(router_load_alert(dst, &a, &err), 0);
    return 0;
}

static int copy_group_cb(void *ctx, const struct group_view *g)
{
    struct router *dst = ctx;
    uint64_t fps[16];
    struct error err;

    for (size_t i = 0; i < g->n_alerts; i++)
        fps[i] = g->alerts[i]->fingerprint;
    assert_int_equal(router_load_group(dst, g->route->id, g->labels, g->next_flush, g->has_flushed,
                                       g->incident_id, fps, g->n_alerts, &err),
                     0);
    return 0;
}

static int copy_incident_cb(void *ctx, const struct incident *inc)
{
    struct router *dst = ctx;
    json_t *o = incident_to_json(inc, true);
    char *text = json_dumps(o, 0);
    json_t *back = json_loads(text, 0, NULL);
    struct incident *ni = NULL;
    struct error err;

    assert_non_null(o);
    if (incident_from_json(back, &ni, &err) < 0)
        fail_msg("decode: %s", err.msg);
    assert_int_equal(ni->id, inc->id);
    assert_int_equal(ni->step_due, inc->step_due);
    assert_int_equal(ni->n_history, inc->n_history);
    assert_int_equal(router_load_incident(dst, ni, &err), 0);
    json_decref(o);
    json_decref(back);
    free(text);
    return 0;
}

/* Restart between step 2 and 3 while down past step 3's deadline: step 3 is sent
 * once at the first tick, never twice, and ids go on from the counter. */
static void test_restore_between_steps(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct router *r = mk(e), *r2;
    struct job_list jl = JOB_LIST_INIT;
    struct error err;
    uint64_t seq;

    (void)state;
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    assert_int_equal(fx_tick(r, T0 + 1 * MIN, &jl), 2);
    fx_ack_all(r, &jl, true, T0 + 1 * MIN);
    seq = router_last_incident_id(r);

    r2 = mk(e);
    router_load_incident_seq(r2, seq + 5); /* e.g. deleted incidents had higher ids */
    assert_int_equal(router_foreach_incident(r, copy_incident_cb, r2), 0);
    assert_int_equal(router_foreach_alert(r, T0 + 2 * MIN, copy_alert_cb, r2), 0);
    assert_int_equal(router_foreach_group(r, T0 + 2 * MIN, copy_group_cb, r2), 0);
    /* nflog entries, so the restored flushes do not resend. */
    {
        const char *keys[] = {"a", "b"};
        for (size_t k = 0; k < 2; k++) {
            for (size_t integ = 0; integ < 2; integ++) {
                char key[256];
                const struct nflog_entry *ne;
                struct nflog_entry cp;
                snprintf(key, sizeof(key), "%s\x1f%s\x1f%zu",
                         "{}/{team=\"db\"}:{alertname=\"Disk\"}", keys[k], integ);
                ne = router_get_nflog(r, key);
                if (ne == NULL)
                    continue;
                memset(&cp, 0, sizeof(cp));
                cp.group_key = strdup(ne->group_key);
                cp.receiver_name = strdup(ne->receiver_name);
                cp.integration = ne->integration;
                cp.firing = malloc(sizeof(uint64_t) * (ne->n_firing + 1));
                memcpy(cp.firing, ne->firing, sizeof(uint64_t) * ne->n_firing);
                cp.n_firing = ne->n_firing;
                cp.resolved = malloc(sizeof(uint64_t));
                cp.timestamp = ne->timestamp;
                cp.flushed_at = ne->flushed_at;
                cp.expires_at = ne->expires_at;
                assert_int_equal(router_load_nflog(r2, &cp, &err), 0);
            }
        }
    }
    assert_int_equal(router_load_done(r2, T0 + 10 * MIN, &err), 0);
    router_free(r);
    /* Step 3 fell due at 5m while down: sent once at start. */
    assert_int_equal(router_next_wakeup(r2), T0 + 5 * MIN);
    assert_int_equal(fx_tick(r2, T0 + 10 * MIN, &jl), 2);
    assert_int_equal(n_for(&jl, "c") + n_for(&jl, "d"), 2);
    fx_ack_all(r2, &jl, true, T0 + 10 * MIN);
    assert_int_equal(fx_tick(r2, T0 + 10 * MIN + 1, &jl), 0);
    assert_int_equal(router_get_incident(r2, 1)->last_step, 3);
    /* The group_interval flush at 10m30s finds nothing new. */
    assert_int_equal(fx_tick(r2, T0 + 30 * SEC + 10 * MIN, &jl), 0);
    /* A new group gets id seq + 6. */
    fx_put(r2, "alertname=Other", T0 + 11 * MIN, FAR, T0 + 11 * MIN);
    assert_non_null(router_get_incident(r2, seq + 6));
    job_list_release(&jl);
    router_free(r2);
    efx_free(e);
}

static void test_reload_keeps_and_resolves(void **state)
{
    struct esc_fx *e = efx_new(0, 0, true);
    struct esc_fx *e2 = efx_new(0, 0, true);
    struct router *r = mk(e);
    struct job_list jl = JOB_LIST_INIT;
    const struct incident *inc;
    struct error err;

    (void)state;
    fx_put(r, "alertname=Disk,team=db", T0, FAR, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    job_list_release(&jl);
    assert_int_equal(router_ack_incident(r, 1, &ALICE, T0 + MIN, &jl, &err), ACK_DONE);
    job_list_release(&jl);
    /* Same tree: the incident stays acknowledged (re-inserted alerts do not re-open). */
    assert_int_equal(router_set_config(r, &e->fx->cfg, T0 + 2 * MIN, &err), 0);
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->state, INCIDENT_ACKNOWLEDGED);
    assert_int_equal(router_incident_count(r), 1);
    /* A tree without the db route: the old incident resolves, the alert opens a new
     * one on the root route. */
    e2->fx->cfg.root->n_routes = 0;
    assert_int_equal(router_set_config(r, &e2->fx->cfg, T0 + 3 * MIN, &err), 0);
    inc = router_get_incident(r, 1);
    assert_int_equal(inc->state, INCIDENT_RESOLVED);
    assert_non_null(inc->history[inc->n_history - 1].comment);
    assert_int_equal(router_get_incident(r, 2)->state, INCIDENT_FIRING);
    assert_null(router_get_incident(r, 2)->policy);
    e2->fx->cfg.root->n_routes = 1;
    router_free(r);
    efx_free(e);
    efx_free(e2);
}

static void test_json_errors(void **state)
{
    json_t *o = json_loads("{\"id\":1,\"state\":\"weird\",\"internal\":{}}", 0, NULL);
    struct incident *inc = NULL;
    struct error err;

    (void)state;
    assert_int_equal(incident_from_json(o, &inc, &err), -1);
    assert_non_null(strstr(err.msg, "incident.state"));
    json_decref(o);
    o = json_loads("{\"id\":1,\"state\":\"firing\",\"groupKey\":\"k\",\"internal\":"
                   "{\"baseAt\":\"x\"}}",
                   0, NULL);
    assert_int_equal(incident_from_json(o, &inc, &err), -1);
    assert_non_null(strstr(err.msg, "incident.internal.baseAt"));
    json_decref(o);
    assert_string_equal(incident_state_name(INCIDENT_ACKNOWLEDGED), "acknowledged");
    assert_int_equal(incident_state_parse("resolved"), INCIDENT_RESOLVED);
    assert_int_equal(incident_state_parse("nope"), -1);
    assert_string_equal(incident_event_name(IEV_ACK_EXPIRED), "ack_expired");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_reached_once_in_order),
        cmocka_unit_test(test_ack_stops_and_notifies_reached),
        cmocka_unit_test(test_unack_restarts_after_last_step),
        cmocka_unit_test(test_ack_timeout_lapses),
        cmocka_unit_test(test_new_alert_reopens),
        cmocka_unit_test(test_resolve_and_new_incident),
        cmocka_unit_test(test_repeat_runs),
        cmocka_unit_test(test_route_receiver_is_step_zero),
        cmocka_unit_test(test_plain_route_incident),
        cmocka_unit_test(test_ack_matching_paged_stale),
        cmocka_unit_test(test_change_log),
        cmocka_unit_test(test_restore_between_steps),
        cmocka_unit_test(test_reload_keeps_and_resolves),
        cmocka_unit_test(test_json_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
