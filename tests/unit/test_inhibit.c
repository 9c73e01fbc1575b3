/*
 * test_inhibit.c - inhibition rules with equal labels (missing = ""), resolved
 * sources, the two-sided rule (an alert never inhibits itself), inhibitedBy /
 * silencedBy in the status, and muting at flush time.
 */
#include "test_router_fixture.h"

#define FAR (T0 + 1000 * HOUR)

static int status_of(struct router *r, const char *labels, int64_t now, uint64_t *by)
{
    struct alert_status st;
    struct labels ls;
    int n;

    fx_labels(&ls, labels);
    assert_int_equal(router_alert_status(r, &ls, now, &st), 0);
    n = (int)st.n_inhibited_by;
    if (n > 0 && by != NULL)
        *by = st.inhibited_by[0];
    assert_int_equal(st.state,
                     n > 0 || st.n_silenced_by > 0 ? ALERT_STATE_SUPPRESSED : ALERT_STATE_ACTIVE);
    alert_status_release(&st);
    labels_release(&ls);
    return n;
}

static void test_equal_labels(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r;
    uint64_t by = 0;

    (void)state;
    fx_inhibit(fx, "severity=\"critical\"", "severity=\"warning\"", "cluster");
    r = router_new(&fx->cfg);
    fx_put(r, "alertname=Down,severity=critical,cluster=a", T0, FAR, T0);
    fx_put(r, "alertname=Slow,severity=critical", T0, FAR, T0);

    assert_int_equal(status_of(r, "alertname=Lat,severity=warning,cluster=a", T0, &by), 1);
    assert_int_equal(by, fx_fp("alertname=Down,severity=critical,cluster=a"));
    assert_int_equal(status_of(r, "alertname=Lat,severity=warning,cluster=b", T0, NULL), 0);
    /* Missing on both sides counts as equal (""). */
    assert_int_equal(status_of(r, "alertname=Lat,severity=warning", T0, &by), 1);
    assert_int_equal(by, fx_fp("alertname=Slow,severity=critical"));
    /* Not a target. */
    assert_int_equal(status_of(r, "alertname=Lat,severity=info,cluster=a", T0, NULL), 0);
    router_free(r);
    fx_free(fx);
}

static void test_resolved_source_does_not_inhibit(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r;

    (void)state;
    fx_inhibit(fx, "severity=\"critical\"", "severity=\"warning\"", "");
    r = router_new(&fx->cfg);
    fx_put(r, "alertname=Down,severity=critical", T0, T0 + 10 * MIN, T0);
    assert_int_equal(status_of(r, "alertname=Lat,severity=warning", T0 + 9 * MIN, NULL), 1);
    assert_int_equal(status_of(r, "alertname=Lat,severity=warning", T0 + 10 * MIN, NULL), 0);
    router_free(r);
    fx_free(fx);
}

static void test_two_sided_match_does_not_inhibit_itself(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r;
    uint64_t by = 0;

    (void)state;
    fx_inhibit(fx, "severity=~\"critical|warning\"", "severity=~\"warning|info\"", "alertname");
    r = router_new(&fx->cfg);
    fx_put(r, "alertname=X,severity=warning", T0, FAR, T0);
    /* X matches both sides and is the only source: not inhibited. */
    assert_int_equal(status_of(r, "alertname=X,severity=warning", T0, NULL), 0);
    /* Another two-sided alert is skipped as a source too. */
    fx_put(r, "alertname=X,severity=warning,instance=2", T0, FAR, T0);
    assert_int_equal(status_of(r, "alertname=X,severity=warning", T0, NULL), 0);
    /* A one-sided source does inhibit it. */
    fx_put(r, "alertname=X,severity=critical", T0, FAR, T0);
    assert_int_equal(status_of(r, "alertname=X,severity=warning", T0, &by), 1);
    assert_int_equal(by, fx_fp("alertname=X,severity=critical"));
    /* An info alert (target only) is inhibited by the warning ones as well. */
    assert_int_equal(status_of(r, "alertname=X,severity=info", T0, NULL), 1);
    router_free(r);
    fx_free(fx);
}

static void test_muted_at_flush_time(void **state)
{
    struct fx *fx = fx_new("default");
    struct router *r;
    struct job_list jl = JOB_LIST_INIT;
    struct silence s;
    struct error err;
    char id[SILENCE_ID_LEN];
    uint8_t rnd[16] = {1};
    int64_t t1 = T0 + 30 * SEC;

    (void)state;
    fx_inhibit(fx, "severity=\"critical\"", "severity=\"warning\"", "cluster");
    fx_set_group_by(fx->cfg.root, "cluster");
    r = router_new(&fx->cfg);
    fx_put(r, "alertname=Down,severity=critical,cluster=a", T0, FAR, T0);
    fx_put(r, "alertname=Lat,severity=warning,cluster=a", T0, FAR, T0);
    fx_put(r, "alertname=Lat,severity=warning,cluster=b", T0, FAR, T0);
    /* Silence cluster b entirely. */
    silence_init(&s);
    assert_int_equal(matchers_parse(&s.matchers, "cluster=\"b\"", &err), 0);
    s.starts_at = T0;
    s.ends_at = T0 + HOUR;
    assert_int_equal(router_put_silence(r, &s, T0, rnd, id, &err), SILENCE_OK);

    assert_int_equal(fx_tick(r, t1, &jl), 1);
    assert_string_equal(jl.v[0]->group_key, "{}:{cluster=\"a\"}");
    assert_int_equal(jl.v[0]->n_alerts, 1); /* the warning was inhibited */
    assert_string_equal(fx_job_label(jl.v[0], 0, "alertname"), "Down");
    fx_ack_all(r, &jl, true, t1);
    /* Expire the silence: the b group is notified at its next tick. */
    assert_int_equal(router_expire_silence(r, id, t1 + MIN, &err), SILENCE_OK);
    assert_int_equal(fx_tick(r, t1 + 5 * MIN, &jl), 1);
    assert_string_equal(jl.v[0]->group_key, "{}:{cluster=\"b\"}");
    fx_ack_all(r, &jl, true, t1 + 5 * MIN);
    /* The critical one resolves: the warning is no longer inhibited and joins. */
    fx_put(r, "alertname=Down,severity=critical,cluster=a", T0, t1 + 6 * MIN, t1 + 6 * MIN);
    assert_int_equal(fx_tick(r, t1 + 10 * MIN, &jl), 1);
    assert_string_equal(jl.v[0]->group_key, "{}:{cluster=\"a\"}");
    assert_int_equal(jl.v[0]->n_alerts, 2);
    assert_int_equal(jl.v[0]->n_firing, 1);
    assert_string_equal(fx_job_label(jl.v[0], 0, "alertname"), "Down");
    assert_string_equal(fx_job_label(jl.v[0], 1, "alertname"), "Lat");
    job_list_release(&jl);
    router_free(r);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_labels),
        cmocka_unit_test(test_resolved_source_does_not_inhibit),
        cmocka_unit_test(test_two_sided_match_does_not_inhibit_itself),
        cmocka_unit_test(test_muted_at_flush_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
