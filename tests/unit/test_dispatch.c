/*
 * test_dispatch.c - aggregation groups and the notification pipeline in fake
 * time: group_wait (and the flush-at-once rule), group_interval ticks,
 * repeat_interval, send_resolved, resolve_timeout, dedup against the
 * notification log, removal of resolved alerts after a successful notify,
 * failures, several integrations and superseded jobs.
 */
#include "test_router_fixture.h"

#define FAR (T0 + 1000 * HOUR)

static struct router *mk_router(struct fx *fx)
{
    struct router *r = router_new(&fx->cfg);

    assert_non_null(r);
    return r;
}

static void test_group_wait_then_flush(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = mk_router(fx);
    struct job_list jl = JOB_LIST_INIT;
    const struct notify_job *j;

    (void)state;
    fx_put(r, "alertname=A,instance=i1", T0, FAR, T0);
    assert_int_equal(router_group_count(r), 1);
    assert_true(router_next_wakeup(r) <= T0 + 30 * SEC);
    assert_int_equal(fx_tick(r, T0 + 29 * SEC, &jl), 0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    j = jl.v[0];
    assert_string_equal(j->group_key, "{}:{}");
    assert_string_equal(j->receiver_name, "default");
    assert_int_equal(j->integration, 0);
    assert_ptr_equal(j->receiver, &fx->recv[0]);
    assert_int_equal(j->n_alerts, 1);
    /* Firing alerts go out with endsAt zeroed, as AM's flush does. */
    assert_int_equal(j->alerts[0].ends_at, TIME_UNSET);
    assert_int_equal(j->alerts[0].starts_at, T0);
    assert_int_equal(j->n_firing, 1);
    assert_int_equal(j->n_resolved, 0);
    assert_int_equal(j->created_at, T0 + 30 * SEC);
    assert_int_equal(j->supersedes, 0);
    /* The stored alert keeps its endsAt. */
    assert_int_equal(router_get_alert(r, fx_fp("alertname=A,instance=i1"))->ends_at, FAR);
    /* Next flush one group_interval later. */
    assert_int_equal(router_next_wakeup(r), T0 + 30 * SEC + 5 * MIN);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_old_alert_flushes_at_once_before_first_flush_only(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = mk_router(fx);
    struct job_list jl = JOB_LIST_INIT;

    (void)state;
    /* startsAt + group_wait already past: flush now. */
    fx_put(r, "alertname=A", T0 - 1 * MIN, FAR, T0);
    assert_int_equal(router_next_wakeup(r), T0);
    assert_int_equal(fx_tick(r, T0, &jl), 1);
    fx_ack_all(r, &jl, true, T0);
    /* After the first flush an old alert waits for the group_interval tick. */
    fx_put(r, "alertname=B", T0 - 10 * MIN, FAR, T0 + 1 * MIN);
    assert_int_equal(router_next_wakeup(r), T0 + 5 * MIN);
    assert_int_equal(fx_tick(r, T0 + 1 * MIN, &jl), 0);
    assert_int_equal(fx_tick(r, T0 + 5 * MIN, &jl), 1);
    assert_int_equal(jl.v[0]->n_alerts, 2);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_group_by_makes_groups_and_keys(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r;
    struct job_list jl = JOB_LIST_INIT;
    struct route *c;

    (void)state;
    fx_receiver(fx, "pager", 2, true);
    c = fx_children(fx->cfg.root, 1);
    fx_route(&c[0], "severity=\"page\"", "pager", false, fx);
    fx_set_group_by(&c[0], "alertname");
    r = mk_router(fx);
    fx_put(r, "alertname=Test,instance=i1,severity=page", T0, FAR, T0);
    fx_put(r, "alertname=Test,instance=i2,severity=page", T0, FAR, T0);
    fx_put(r, "alertname=Other,instance=i1,severity=page", T0, FAR, T0);
    assert_int_equal(router_group_count(r), 2);
    /* Two groups x two integrations. */
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 4);
    for (size_t i = 0; i < jl.n; i++) {
        const struct notify_job *j = jl.v[i];
        assert_string_equal(j->receiver_name, "pager");
        if (strcmp(j->group_key, "{}/{severity=\"page\"}:{alertname=\"Test\"}") == 0) {
            assert_int_equal(j->n_alerts, 2);
            /* AM's order: by instance. */
            assert_string_equal(fx_job_label(j, 0, "instance"), "i1");
            assert_string_equal(fx_job_label(j, 1, "instance"), "i2");
            assert_string_equal(labels_get(&j->group_labels, "alertname"), "Test");
            assert_int_equal(j->group_labels.n, 1);
        } else {
            assert_string_equal(j->group_key, "{}/{severity=\"page\"}:{alertname=\"Other\"}");
            assert_int_equal(j->n_alerts, 1);
        }
    }
    /* The flush shares one flush id per group; job ids are unique. */
    assert_true(jl.v[0]->id != jl.v[1]->id);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_interval_dedup_and_repeat(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r;
    struct job_list jl = JOB_LIST_INIT;
    int64_t t = T0 + 30 * SEC;
    int repeats_at = -1;

    (void)state;
    fx->cfg.root->repeat_interval = 1 * HOUR;
    r = mk_router(fx);
    fx_put(r, "alertname=A", T0, FAR, T0);
    assert_int_equal(fx_tick(r, t, &jl), 1);
    fx_ack_all(r, &jl, true, t);
    /* Nothing changed: no notification until repeat_interval has passed, and the
     * repeat lands on a group_interval tick strictly after it (AM's Before()). */
    for (int k = 1; k <= 14; k++) {
        size_t n = fx_tick(r, t + k * 5 * MIN, &jl);
        if (n > 0) {
            repeats_at = k;
            fx_ack_all(r, &jl, true, t + k * 5 * MIN);
            break;
        }
    }
    assert_int_equal(repeats_at, 13);
    /* A new alert joining is sent at the next tick, not before. */
    fx_put(r, "alertname=B", t + 66 * MIN, FAR, t + 66 * MIN);
    assert_int_equal(fx_tick(r, t + 66 * MIN, &jl), 0);
    assert_int_equal(fx_tick(r, t + 70 * MIN, &jl), 1);
    assert_int_equal(jl.v[0]->n_alerts, 2);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_send_resolved_and_removal(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = mk_router(fx);
    struct job_list jl = JOB_LIST_INIT;
    const struct nflog_entry *e;
    int64_t t1 = T0 + 30 * SEC, t2 = t1 + 5 * MIN;

    (void)state;
    fx_put(r, "alertname=A", T0, FAR, T0);
    fx_put(r, "alertname=B", T0, FAR, T0);
    assert_int_equal(fx_tick(r, t1, &jl), 1);
    fx_ack_all(r, &jl, true, t1);
    /* A resolves. */
    fx_put(r, "alertname=A", T0, t1 + 1 * MIN, t1 + 1 * MIN);
    assert_int_equal(fx_tick(r, t2, &jl), 1);
    assert_int_equal(jl.v[0]->n_alerts, 2);
    assert_int_equal(jl.v[0]->n_firing, 1);
    assert_int_equal(jl.v[0]->n_resolved, 1);
    /* Resolved alerts keep their endsAt in the payload. */
    assert_string_equal(fx_job_label(jl.v[0], 0, "alertname"), "A");
    assert_int_equal(jl.v[0]->alerts[0].ends_at, t1 + 1 * MIN);
    assert_int_equal(jl.v[0]->alerts[1].ends_at, TIME_UNSET);
    /* Until the notify succeeds, A stays in the group. */
    {
        struct group_view gv;
        assert_int_equal(router_get_group(r, "{}:{}", &gv), 1);
        assert_int_equal(gv.n_alerts, 2);
        group_view_release(&gv);
    }
    fx_ack_all(r, &jl, true, t2 + 1 * SEC);
    {
        struct group_view gv;
        assert_int_equal(router_get_group(r, "{}:{}", &gv), 1);
        assert_int_equal(gv.n_alerts, 1);
        assert_string_equal(labels_get(&gv.alerts[0]->labels, "alertname"), "B");
        group_view_release(&gv);
    }
    /* The log has B firing, A resolved, stamped with the result time. */
    e = router_get_nflog(r, "{}:{}\x1f"
                            "default\x1f"
                            "0");
    assert_non_null(e);
    assert_int_equal(e->n_firing, 1);
    assert_int_equal(e->firing[0], fx_fp("alertname=B"));
    assert_int_equal(e->n_resolved, 1);
    assert_int_equal(e->timestamp, t2 + 1 * SEC);
    /* B resolves too: "all resolved" notification, then the group is deleted. */
    fx_put(r, "alertname=B", T0, t2 + 1 * MIN, t2 + 1 * MIN);
    assert_int_equal(fx_tick(r, t2 + 5 * MIN, &jl), 1);
    assert_int_equal(jl.v[0]->n_firing, 0);
    assert_int_equal(jl.v[0]->n_alerts, 1);
    fx_ack_all(r, &jl, true, t2 + 5 * MIN);
    assert_int_equal(router_group_count(r), 0);
    /* Resolved alerts stay in the store (for the API and retention). */
    assert_int_equal(router_alert_count(r), 2);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_send_resolved_false(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r;
    struct job_list jl = JOB_LIST_INIT;
    const struct nflog_entry *e;
    int64_t t1 = T0 + 30 * SEC, t2 = t1 + 5 * MIN;

    (void)state;
    fx->nc[0][0].send_resolved = false;
    r = mk_router(fx);
    fx_put(r, "alertname=A", T0, FAR, T0);
    fx_put(r, "alertname=B", T0, FAR, T0);
    assert_int_equal(fx_tick(r, t1, &jl), 1);
    fx_ack_all(r, &jl, true, t1);
    /* A resolves: the set of firing alerts shrank but nothing new fires, and
     * without send_resolved that is no reason to notify. */
    fx_put(r, "alertname=A", T0, t1 + 1 * MIN, t1 + 1 * MIN);
    assert_int_equal(fx_tick(r, t2, &jl), 0);
    /* ...and the flush counted as a success: A left the group. */
    {
        struct group_view gv;
        assert_int_equal(router_get_group(r, "{}:{}", &gv), 1);
        assert_int_equal(gv.n_alerts, 1);
        group_view_release(&gv);
    }
    /* B resolves: all resolved. A notification is "needed" (to clear the log),
     * but only resolved alerts remain: nothing is sent, the log is written. */
    fx_put(r, "alertname=B", T0, t2 + 1 * MIN, t2 + 1 * MIN);
    assert_int_equal(fx_tick(r, t2 + 5 * MIN, &jl), 0);
    e = router_get_nflog(r, "{}:{}\x1f"
                            "default\x1f"
                            "0");
    assert_non_null(e);
    assert_int_equal(e->n_firing, 0);
    assert_int_equal(e->n_resolved, 1);
    assert_int_equal(e->timestamp, t2 + 5 * MIN);
    assert_int_equal(router_group_count(r), 0);
    /* A firing alert in the payload never includes resolved ones. */
    fx_put(r, "alertname=C", T0, FAR, t2 + 6 * MIN);
    fx_put(r, "alertname=D", T0, t2 + 6 * MIN, t2 + 6 * MIN);
    assert_int_equal(fx_tick(r, t2 + 6 * MIN, &jl), 1);
    assert_int_equal(jl.v[0]->n_alerts, 1);
    assert_string_equal(fx_job_label(jl.v[0], 0, "alertname"), "C");
    assert_int_equal(jl.v[0]->n_resolved, 1); /* but the log will record D resolved */
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_resolved_only_new_group_sends_nothing(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = mk_router(fx);
    struct job_list jl = JOB_LIST_INIT;

    (void)state;
    fx_put(r, "alertname=A", T0 - 10 * MIN, T0 - 1 * MIN, T0);
    assert_int_equal(router_group_count(r), 1);
    assert_int_equal(fx_tick(r, T0, &jl), 0);
    assert_int_equal(router_group_count(r), 0);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_resolve_timeout(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = mk_router(fx);
    struct job_list jl = JOB_LIST_INIT;
    const struct alert *a;

    (void)state;
    fx->cfg.global.resolve_timeout = 2 * MIN;
    fx_put(r, "alertname=A", TIME_UNSET, TIME_UNSET, T0);
    a = router_get_alert(r, fx_fp("alertname=A"));
    assert_non_null(a);
    assert_int_equal(a->starts_at, T0);
    assert_int_equal(a->ends_at, T0 + 2 * MIN);
    assert_true(a->timeout);
    assert_int_equal(a->updated_at, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    fx_ack_all(r, &jl, true, T0 + 30 * SEC);
    /* Not re-sent: at the next tick it has resolved by timeout. */
    assert_int_equal(fx_tick(r, T0 + 30 * SEC + 5 * MIN, &jl), 1);
    assert_int_equal(jl.v[0]->n_firing, 0);
    assert_int_equal(jl.v[0]->alerts[0].ends_at, T0 + 2 * MIN);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_failed_notify_keeps_state_and_retries(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = mk_router(fx);
    struct job_list jl = JOB_LIST_INIT;
    int64_t t1 = T0 + 30 * SEC;

    (void)state;
    fx_put(r, "alertname=A", T0, t1 + 10 * SEC, T0);
    assert_int_equal(fx_tick(r, t1, &jl), 1);
    fx_ack_all(r, &jl, false, t1);
    assert_null(router_get_nflog(r, "{}:{}\x1f"
                                    "default\x1f"
                                    "0"));
    /* The next flush: A resolved meanwhile; the log is empty so a resolved-only
     * group is not sent (AM: nothing notified yet, nothing firing). */
    assert_int_equal(fx_tick(r, t1 + 5 * MIN, &jl), 0);
    assert_int_equal(router_group_count(r), 0);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_updated_alert_not_removed(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = mk_router(fx);
    struct job_list jl = JOB_LIST_INIT;
    int64_t t1 = T0 + 30 * SEC, t2 = t1 + 5 * MIN;

    (void)state;
    fx_put(r, "alertname=A", T0, FAR, T0);
    assert_int_equal(fx_tick(r, t1, &jl), 1);
    fx_ack_all(r, &jl, true, t1);
    fx_put(r, "alertname=A", T0, t1 + 1 * MIN, t1 + 1 * MIN);
    assert_int_equal(fx_tick(r, t2, &jl), 1);
    /* Re-posted (fires again) before the resolved notification succeeded. */
    fx_put(r, "alertname=A", T0, FAR, t2 + 1 * SEC);
    fx_ack_all(r, &jl, true, t2 + 2 * SEC);
    assert_int_equal(router_group_count(r), 1);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_two_integrations_one_fails(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r;
    struct job_list jl = JOB_LIST_INIT;
    struct error err;
    int64_t t1 = T0 + 30 * SEC, t2 = t1 + 5 * MIN;

    (void)state;
    fx->recv[0].n_configs = 2;
    fx->nc[0][1].kind = NOTIFIER_WEBHOOK;
    fx->nc[0][1].send_resolved = true;
    r = mk_router(fx);
    fx_put(r, "alertname=A", T0, t1 + 1 * MIN, T0);
    assert_int_equal(fx_tick(r, t1, &jl), 2);
    fx_ack_all(r, &jl, true, t1);
    assert_int_equal(fx_tick(r, t2, &jl), 2);
    assert_int_equal(router_notify_result(r, jl.v[0]->id, true, t2, &err), 0);
    assert_int_equal(router_notify_result(r, jl.v[1]->id, false, t2, &err), 0);
    /* One integration failed: the resolved alert stays for the next flush. */
    assert_int_equal(router_group_count(r), 1);
    /* Only the failed integration needs it again. */
    assert_int_equal(fx_tick(r, t2 + 5 * MIN, &jl), 1);
    assert_int_equal(jl.v[0]->integration, 1);
    fx_ack_all(r, &jl, true, t2 + 5 * MIN);
    assert_int_equal(router_group_count(r), 0);
    /* Reporting an unknown or already reported job is harmless. */
    assert_int_equal(router_notify_result(r, 12345, true, t2, &err), 0);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_superseded_job(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = mk_router(fx);
    struct job_list jl = JOB_LIST_INIT;
    struct error err;
    uint64_t old_id;
    const struct nflog_entry *e;
    int64_t t1 = T0 + 30 * SEC, t2 = t1 + 5 * MIN;

    (void)state;
    fx_put(r, "alertname=A", T0, FAR, T0);
    assert_int_equal(fx_tick(r, t1, &jl), 1);
    old_id = jl.v[0]->id;
    /* Still outstanding when B arrives and the next tick flushes. */
    fx_put(r, "alertname=B", T0, FAR, t1 + 1 * MIN);
    job_list_release(&jl);
    assert_int_equal(fx_tick(r, t2, &jl), 1);
    assert_int_equal(jl.v[0]->supersedes, old_id);
    assert_true(jl.v[0]->id > old_id);
    /* The new one succeeds first; the old one's late success must not roll the
     * log back to {A}. */
    fx_ack_all(r, &jl, true, t2 + 1 * SEC);
    assert_int_equal(router_notify_result(r, old_id, true, t2 + 2 * SEC, &err), 0);
    e = router_get_nflog(r, "{}:{}\x1f"
                            "default\x1f"
                            "0");
    assert_non_null(e);
    assert_int_equal(e->n_firing, 2);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

static void test_job_copy(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r = mk_router(fx);
    struct job_list jl = JOB_LIST_INIT;
    struct notify_job *c;

    (void)state;
    fx_put(r, "alertname=A,job=j", T0, FAR, T0);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC, &jl), 1);
    /* Every group's life is an incident (issue 6); its jobs carry it. */
    assert_int_equal(jl.v[0]->incident_id, 1);
    assert_int_equal(jl.v[0]->incident_state, INCIDENT_FIRING);
    assert_int_equal(router_group_set_incident(r, "nope", 42), -1);
    fx_put(r, "alertname=B", T0, FAR, T0 + MIN);
    job_list_release(&jl);
    assert_int_equal(fx_tick(r, T0 + 30 * SEC + 5 * MIN, &jl), 1);
    assert_int_equal(jl.v[0]->incident_id, 1);
    c = notify_job_copy(jl.v[0]);
    assert_non_null(c);
    assert_int_equal(c->id, jl.v[0]->id);
    assert_string_equal(c->group_key, jl.v[0]->group_key);
    assert_int_equal(c->n_alerts, 2);
    assert_string_equal(labels_get(&c->alerts[0].labels, "job"), "j");
    assert_int_equal(c->n_firing, 2);
    assert_int_equal(c->incident_id, 1);
    assert_int_equal(c->incident_state, INCIDENT_FIRING);
    assert_int_equal(c->incident_step, 1);
    notify_job_free(c);
    notify_job_free(NULL);
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_wait_then_flush),
        cmocka_unit_test(test_old_alert_flushes_at_once_before_first_flush_only),
        cmocka_unit_test(test_group_by_makes_groups_and_keys),
        cmocka_unit_test(test_interval_dedup_and_repeat),
        cmocka_unit_test(test_send_resolved_and_removal),
        cmocka_unit_test(test_send_resolved_false),
        cmocka_unit_test(test_resolved_only_new_group_sends_nothing),
        cmocka_unit_test(test_resolve_timeout),
        cmocka_unit_test(test_failed_notify_keeps_state_and_retries),
        cmocka_unit_test(test_updated_alert_not_removed),
        cmocka_unit_test(test_two_integrations_one_fails),
        cmocka_unit_test(test_superseded_job),
        cmocka_unit_test(test_job_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
