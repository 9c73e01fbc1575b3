/*
 * test_config.c - config loading: Alertmanager's route semantics (defaults,
 * inheritance, group_by, keys and ids), receivers and their defaults, secrets,
 * time intervals, teams and escalation policies, the example config, and a
 * table of broken configs each with its exact "file:line:col: path: message".
 *
 * Fixture files live in tests/unit/configs/ (found from the repository root,
 * where `make test` runs, or from $AMR_SRCDIR).
 */
#include "config/config.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/labels.h"
#include "templates/mustache.h"

#include <jansson.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char fixture_dir[1024];

static const char *fixture(const char *name)
{
    static char path[2048];

    snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
    return path;
}

static struct config *load_ok(const char *yaml)
{
    struct error err;
    struct config *cfg;

    error_clear(&err);
    cfg = config_load_string(yaml, "test.yml", fixture_dir, &err);
    if (cfg == NULL)
        fail_msg("unexpected error: %s", err.msg);
    return cfg;
}

/* Loads yaml and returns the error message (static buffer), or "OK". */
static const char *load_err(const char *yaml)
{
    static struct error err;
    struct config *cfg;

    error_clear(&err);
    cfg = config_load_string(yaml, "test.yml", fixture_dir, &err);
    if (cfg != NULL) {
        config_free(cfg);
        return "OK";
    }
    return err.msg;
}

static char *group_by_str(const struct route *r)
{
    struct buf b;

    buf_init(&b, 4096);
    if (r->group_by_all)
        buf_appends(&b, "...");
    for (size_t i = 0; i < r->n_group_by; i++)
        buf_printf(&b, "%s%s", i ? "," : "", r->group_by[i]);
    return buf_detach(&b);
}

#define assert_group_by(r, want)                                                                   \
    do {                                                                                           \
        char *gb_ = group_by_str(r);                                                               \
        assert_string_equal(gb_, want);                                                            \
        free(gb_);                                                                                 \
    } while (0)

static void test_root_defaults(void **state)
{
    struct config *cfg = load_ok("route:\n"
                                 "  receiver: r\n"
                                 "receivers:\n"
                                 "  - name: r\n");

    (void)state;
    assert_non_null(cfg->root);
    assert_null(cfg->root->parent);
    assert_string_equal(cfg->root->receiver->name, "r");
    assert_true(cfg->root->receiver_explicit);
    assert_int_equal(cfg->root->group_wait, 30000);
    assert_int_equal(cfg->root->group_interval, 300000);
    assert_int_equal(cfg->root->repeat_interval, 4 * 3600000LL);
    assert_int_equal(cfg->root->n_group_by, 0);
    assert_false(cfg->root->group_by_all);
    assert_string_equal(cfg->root->key, "{}");
    assert_string_equal(cfg->root->id, "{}");
    assert_null(cfg->root->escalation);
    assert_int_equal(config_count_routes(cfg), 1);
    /* global defaults */
    assert_int_equal(cfg->global.resolve_timeout, 300000);
    assert_true(cfg->global.smtp_require_tls);
    assert_string_equal(cfg->global.smtp_hello, "localhost");
    assert_string_equal(cfg->global.pagerduty_url, "https://events.pagerduty.com/v2/enqueue");
    assert_string_equal(cfg->global.twilio_api_url, "https://api.twilio.com");
    assert_null(cfg->global.slack_api_url.value);
    assert_true(cfg->global.http.follow_redirects);
    /* amrouter sections */
    assert_int_equal(cfg->ack.link_expiry, 7 * 24 * 3600000LL);
    assert_null(cfg->ack.secret.value);
    assert_int_equal(cfg->api.max_body_bytes, 8u << 20);
    assert_int_equal(cfg->api.n_tokens, 0);
    assert_int_equal(cfg->retention.alerts, 120 * 3600000LL);
    assert_int_equal(cfg->retention.silences, 120 * 3600000LL);
    assert_int_equal(cfg->retention.incidents, 30 * 24 * 3600000LL);
    assert_non_null(strstr(cfg->original, "receiver: r"));
    config_free(cfg);
}

static void test_inheritance(void **state)
{
    struct config *cfg = load_ok("route:\n"
                                 "  receiver: a\n"
                                 "  group_by: [cluster, alertname]\n"
                                 "  group_wait: 10s\n"
                                 "  repeat_interval: 1h\n"
                                 "  routes:\n"
                                 "    - match: {team: x}\n"
                                 "      receiver: b\n"
                                 "      group_interval: 1m\n"
                                 "      routes:\n"
                                 "        - matchers: ['sev=~\"crit|page\"']\n"
                                 "          group_by: []\n"
                                 "          continue: true\n"
                                 "        - matchers: [sev=info]\n"
                                 "          group_by: ['...']\n"
                                 "          routes:\n"
                                 "            - matchers: [a=b]\n"
                                 "            - matchers: [a=c]\n"
                                 "              group_by: [z]\n"
                                 "receivers:\n"
                                 "  - name: a\n"
                                 "  - name: b\n");
    const struct route *x, *crit, *info;

    (void)state;
    assert_int_equal(config_count_routes(cfg), 6);
    assert_group_by(cfg->root, "alertname,cluster");
    x = &cfg->root->routes[0];
    assert_ptr_equal(x->parent, cfg->root);
    assert_string_equal(x->receiver->name, "b");
    assert_true(x->receiver_explicit);
    assert_int_equal(x->group_wait, 10000);
    assert_int_equal(x->group_interval, 60000);
    assert_int_equal(x->repeat_interval, 3600000);
    assert_group_by(x, "alertname,cluster");
    crit = &x->routes[0];
    assert_string_equal(crit->receiver->name, "b");
    assert_false(crit->receiver_explicit);
    assert_true(crit->cont);
    assert_group_by(crit, "alertname,cluster"); /* group_by: [] inherits */
    assert_int_equal(crit->group_interval, 60000);
    info = &x->routes[1];
    assert_false(info->cont);
    assert_group_by(info, "...");
    assert_group_by(&info->routes[0], "...");
    assert_group_by(&info->routes[1], "z");
    assert_int_equal(info->routes[1].index, 1);
    assert_ptr_equal(info->routes[1].parent, info);
    config_free(cfg);
}

static void test_keys_and_ids(void **state)
{
    struct config *cfg = load_ok("route:\n"
                                 "  receiver: a\n"
                                 "  routes:\n"
                                 "    - matchers: ['team=\"db\"', 'severity=~\"page|crit\"']\n"
                                 "      match: {env: prod}\n"
                                 "      routes:\n"
                                 "        - match_re: {service: 'api.*'}\n"
                                 "    - matchers: ['team=\"db\"']\n"
                                 "    - matchers: ['team=\"db\"']\n"
                                 "    - {}\n"
                                 "receivers:\n"
                                 "  - name: a\n");
    const struct route *r = cfg->root;

    (void)state;
    /* Matchers sorted by name as Alertmanager does, whatever the source order. */
    assert_string_equal(r->routes[0].key, "{}/{env=\"prod\",severity=~\"page|crit\",team=\"db\"}");
    assert_string_equal(r->routes[0].id, "{}/{env=\"prod\",severity=~\"page|crit\",team=\"db\"}/0");
    assert_int_equal(r->routes[0].matchers.n, 3);
    assert_string_equal(
        r->routes[0].routes[0].key,
        /* match_re values are anchored as Alertmanager keeps them (seen in its groupKeys). */
        "{}/{env=\"prod\",severity=~\"page|crit\",team=\"db\"}/{service=~\"^(?:api.*)$\"}");
    assert_string_equal(r->routes[0].routes[0].id,
                        "{}/{env=\"prod\",severity=~\"page|crit\",team=\"db\"}/"
                        "{service=~\"^(?:api.*)$\"}/0");
    assert_string_equal(r->routes[1].key, "{}/{team=\"db\"}");
    assert_string_equal(r->routes[1].id, "{}/{team=\"db\"}/1");
    assert_string_equal(r->routes[2].key, "{}/{team=\"db\"}");
    assert_string_equal(r->routes[2].id, "{}/{team=\"db\"}/2");
    assert_string_equal(r->routes[3].key, "{}/{}");
    assert_string_equal(r->routes[3].id, "{}/{}/3");
    config_free(cfg);
}

static void test_route_matching_semantics(void **state)
{
    struct config *cfg = load_ok("route:\n"
                                 "  receiver: a\n"
                                 "  routes:\n"
                                 "    - match_re: {service: 'api|web'}\n"
                                 "      matchers: ['env!=\"dev\"']\n"
                                 "receivers:\n"
                                 "  - name: a\n");
    const struct matchers *ms = &cfg->root->routes[0].matchers;
    struct labels ls = LABELS_INIT;

    (void)state;
    labels_set(&ls, "service", "api");
    assert_true(matchers_match(ms, &ls));
    labels_set(&ls, "service", "xapi"); /* match_re is anchored */
    assert_false(matchers_match(ms, &ls));
    labels_set(&ls, "service", "web");
    labels_set(&ls, "env", "dev");
    assert_false(matchers_match(ms, &ls));
    labels_release(&ls);
    config_free(cfg);
}

static void test_receivers_defaults(void **state)
{
    struct config *cfg = load_ok("global:\n"
                                 "  smtp_smarthost: mail.example.com:25\n"
                                 "  smtp_from: am@example.com\n"
                                 "  smtp_auth_password: pw\n"
                                 "  slack_api_url: https://hooks.example.com/x\n"
                                 "  http_config:\n"
                                 "    basic_auth: {username: u, password: p}\n"
                                 "route:\n"
                                 "  receiver: all\n"
                                 "receivers:\n"
                                 "  - name: all\n"
                                 "    webhook_configs:\n"
                                 "      - url: http://127.0.0.1:1/a\n"
                                 "    slack_configs:\n"
                                 "      - channel: '#x'\n"
                                 "        text: 'hi {{status}}'\n"
                                 "        fields: [{title: t, value: v, short: true}]\n"
                                 "    email_configs:\n"
                                 "      - to: 'a@example.com, b@example.com'\n"
                                 "        headers: {Subject: 'subj {{status}}', X-Foo: bar}\n"
                                 "        require_tls: false\n"
                                 "    pagerduty_configs:\n"
                                 "      - routing_key: rk\n"
                                 "        details: {a: b}\n"
                                 "        links: [{href: 'http://x', text: x}]\n"
                                 "    sms_configs:\n"
                                 "      - account_sid: AC1\n"
                                 "        auth_token: tok\n"
                                 "        from: '+1'\n"
                                 "        to: ['+2', '+3']\n"
                                 "        send_resolved: true\n");
    const struct receiver *r = config_find_receiver(cfg, "all");
    const struct notifier_config *nc;

    (void)state;
    assert_non_null(r);
    assert_null(r->team);
    assert_int_equal(r->n_configs, 5);
    nc = &r->configs[0];
    assert_int_equal(nc->kind, NOTIFIER_WEBHOOK);
    assert_true(nc->send_resolved);
    assert_string_equal(nc->url.value, "http://127.0.0.1:1/a");
    assert_string_equal(nc->http.basic_auth_username, "u"); /* global http_config */
    assert_string_equal(nc->http.basic_auth_password.value, "p");
    assert_int_equal(nc->http.connect_timeout, 5000);
    assert_int_equal(nc->http.timeout, 30000);
    assert_true(nc->http.follow_redirects);
    assert_string_equal(nc->file, "test.yml");
    assert_int_equal(nc->line, 13);
    nc = &r->configs[1];
    assert_int_equal(nc->kind, NOTIFIER_SLACK);
    assert_false(nc->send_resolved);
    assert_string_equal(nc->slack_api_url.value, "https://hooks.example.com/x");
    assert_string_equal(nc->text.source, "hi {{status}}");
    assert_null(nc->title.source);
    assert_true(nc->ack_button);
    assert_int_equal(nc->n_fields, 1);
    assert_true(nc->fields[0].is_short);
    nc = &r->configs[2];
    assert_int_equal(nc->kind, NOTIFIER_EMAIL);
    assert_false(nc->send_resolved);
    assert_int_equal(nc->n_to, 2);
    assert_string_equal(nc->to[1], "b@example.com");
    assert_string_equal(nc->from, "am@example.com");
    assert_string_equal(nc->smarthost, "mail.example.com:25");
    assert_string_equal(nc->hello, "localhost");
    assert_string_equal(nc->auth_password.value, "pw");
    assert_false(nc->require_tls);
    assert_string_equal(nc->subject.source, "subj {{status}}");
    assert_int_equal(nc->n_headers, 1);
    assert_string_equal(nc->header_names[0], "X-Foo");
    nc = &r->configs[3];
    assert_int_equal(nc->kind, NOTIFIER_PAGERDUTY);
    assert_true(nc->send_resolved);
    assert_string_equal(nc->routing_key.value, "rk");
    assert_string_equal(nc->pagerduty_url, "https://events.pagerduty.com/v2/enqueue");
    assert_int_equal(nc->n_details, 1);
    assert_int_equal(nc->n_links, 1);
    nc = &r->configs[4];
    assert_int_equal(nc->kind, NOTIFIER_SMS);
    assert_true(nc->send_resolved);
    assert_int_equal(nc->max_segments, 1);
    assert_false(nc->notify_acks);
    assert_int_equal(nc->n_sms_to, 2);
    assert_string_equal(nc->twilio_api_url, "https://api.twilio.com");
    assert_string_equal(notifier_kind_name(NOTIFIER_SMS), "sms");
    config_free(cfg);
}

static void test_secrets(void **state)
{
    struct config *cfg;

    (void)state;
    setenv("AMR_TEST_SECRET", "http://127.0.0.1:1/from-env", 1);
    cfg = load_ok("route: {receiver: r}\n"
                  "receivers:\n"
                  "  - name: r\n"
                  "    webhook_configs:\n"
                  "      - url_file: secret.txt\n"
                  "      - url_env: AMR_TEST_SECRET\n"
                  "      - url_file: secret_crlf.txt\n"
                  "ack: {secret_file: secret_long.txt}\n");
    assert_string_equal(cfg->receivers[0].configs[0].url.value, "http://127.0.0.1:1/from-file");
    assert_string_equal(cfg->receivers[0].configs[1].url.value, "http://127.0.0.1:1/from-env");
    assert_string_equal(cfg->receivers[0].configs[2].url.value, "http://127.0.0.1:1/crlf");
    /* only one trailing newline is dropped */
    assert_string_equal(cfg->ack.secret.value, "0123456789abcdef0123456789abcdef\n");
    assert_string_equal(config_secret_redacted(&cfg->ack.secret), "<secret>");
    assert_string_equal(config_secret_redacted(&cfg->global.slack_api_url), "");
    config_free(cfg);
    unsetenv("AMR_TEST_SECRET");
}

static void test_escalation_policies(void **state)
{
    struct config *cfg = load_ok("route:\n"
                                 "  receiver: slack\n"
                                 "  routes:\n"
                                 "    - matchers: [a=b]\n"
                                 "      escalation: ladder\n"
                                 "      routes:\n"
                                 "        - matchers: [c=d]\n"
                                 "        - matchers: [c=e]\n"
                                 "          escalation: ''\n"
                                 "receivers: [{name: slack}, {name: mail}, {name: sms}]\n"
                                 "escalation_policies:\n"
                                 "  - name: ladder\n"
                                 "    repeat: 2\n"
                                 "    ack_timeout: 2h\n"
                                 "    reopen_on_new_alert: false\n"
                                 "    steps:\n"
                                 "      - receivers: [slack]\n"
                                 "      - after: 5m\n"
                                 "        receivers: [mail]\n"
                                 "      - after: 5m\n"
                                 "        receivers: [sms, slack]\n");
    const struct escalation_policy *p = config_find_policy(cfg, "ladder");

    (void)state;
    assert_non_null(p);
    assert_int_equal(p->repeat, 2);
    assert_int_equal(p->ack_timeout, 7200000);
    assert_false(p->reopen_on_new_alert);
    assert_int_equal(p->n_steps, 3);
    assert_int_equal(p->steps[0].after, 0);
    assert_int_equal(p->steps[1].after, 300000);
    assert_int_equal(p->steps[2].n_receivers, 2);
    assert_ptr_equal(p->steps[2].receivers[0], config_find_receiver(cfg, "sms"));
    assert_null(cfg->root->escalation);
    assert_ptr_equal(cfg->root->routes[0].escalation, p);
    assert_false(cfg->root->routes[0].receiver_explicit);
    assert_ptr_equal(cfg->root->routes[0].routes[0].escalation, p); /* inherited */
    assert_null(cfg->root->routes[0].routes[1].escalation);         /* turned off */
    config_free(cfg);

    cfg = load_ok("route: {receiver: r}\n"
                  "receivers: [{name: r}]\n"
                  "escalation_policies: [{name: p, steps: [{receivers: [r]}]}]\n");
    assert_true(cfg->policies[0].reopen_on_new_alert);
    assert_int_equal(cfg->policies[0].repeat, 0);
    assert_int_equal(cfg->policies[0].ack_timeout, 0);
    config_free(cfg);
}

static void test_time_intervals(void **state)
{
    struct config *cfg = load_ok("route:\n"
                                 "  receiver: r\n"
                                 "  routes:\n"
                                 "    - matchers: [a=b]\n"
                                 "      mute_time_intervals: [weekend]\n"
                                 "      active_time_intervals: [office]\n"
                                 "receivers: [{name: r}]\n"
                                 "mute_time_intervals:\n"
                                 "  - name: weekend\n"
                                 "    time_intervals: [{weekdays: ['saturday', 'sunday']}]\n"
                                 "time_intervals:\n"
                                 "  - name: office\n"
                                 "    time_intervals:\n"
                                 "      - times: [{start_time: '09:00', end_time: '17:30'}]\n"
                                 "        weekdays: ['monday:friday']\n"
                                 "        months: ['january:march', '12']\n"
                                 "        days_of_month: ['1:-1']\n"
                                 "        years: ['2026']\n"
                                 "  - name: lastday\n"
                                 "    time_intervals: [{days_of_month: ['-1']}]\n");
    const struct time_interval *office = config_find_time_interval(cfg, "office");
    const struct time_interval *weekend = config_find_time_interval(cfg, "weekend");
    const struct time_interval *last = config_find_time_interval(cfg, "lastday");
    /* 2026-03-02 is a Monday. */
    const int64_t mon_10 = 1772445600000LL; /* 2026-03-02T10:00:00Z */
    const int64_t day = 86400000LL;

    (void)state;
    assert_int_equal(cfg->n_time_intervals, 3);
    assert_non_null(office);
    assert_int_equal(office->specs[0].weekdays, 0x3e);
    assert_int_equal(office->specs[0].months, 0x807);
    assert_int_equal(office->specs[0].times[0].start_minute, 540);
    assert_int_equal(office->specs[0].times[0].end_minute, 1050);
    assert_true(time_interval_active(office, mon_10));
    assert_false(time_interval_active(office, mon_10 - 2 * 3600000LL));             /* 08:00 */
    assert_false(time_interval_active(office, mon_10 + 7 * 3600000LL + 1800000LL)); /* 17:30 */
    assert_false(time_interval_active(office, mon_10 + 5 * day));                   /* Saturday */
    assert_false(time_interval_active(office, mon_10 + 31 * day));                  /* April */
    assert_false(time_interval_active(office, mon_10 - 364 * day));                 /* 2025 */
    assert_true(time_interval_active(weekend, mon_10 - 2 * day));                   /* Saturday */
    assert_false(time_interval_active(weekend, mon_10));
    assert_false(time_interval_active(last, mon_10 - day));    /* 2026-03-01 */
    assert_true(time_interval_active(last, mon_10 - 2 * day)); /* 2026-02-28, the last day */
    assert_string_equal(cfg->root->routes[0].mute_time_intervals[0], "weekend");
    assert_string_equal(cfg->root->routes[0].active_time_intervals[0], "office");
    config_free(cfg);
}

static void test_teams(void **state)
{
    struct error err;
    struct config *cfg;
    const struct route *db, *web;
    const struct receiver *r;

    (void)state;
    error_clear(&err);
    cfg = config_load(fixture("teams_ok/main.yml"), &err);
    if (cfg == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->n_teams, 2);
    assert_string_equal(cfg->teams[0].name, "db");
    assert_string_equal(cfg->teams[1].name, "web");
    assert_non_null(strstr(cfg->teams[0].file, "teams_ok/teams/a_db.yml"));
    assert_ptr_equal(config_find_team(cfg, "web"), &cfg->teams[1]);
    /* main routes first, then the teams in file order */
    assert_int_equal(cfg->root->n_routes, 3);
    db = &cfg->root->routes[1];
    web = &cfg->root->routes[2];
    assert_string_equal(db->team, "db");
    assert_null(cfg->root->routes[0].team);
    assert_string_equal(db->key, "{}/{severity=\"page\",team=\"db\"}");
    assert_string_equal(db->id, "{}/{severity=\"page\",team=\"db\"}/1");
    assert_string_equal(db->receiver->name, "db/slack");
    assert_string_equal(db->receiver->team, "db");
    assert_string_equal(db->escalation->name, "db/oncall");
    assert_string_equal(db->escalation->team, "db");
    /* a reference inside a team prefers the team's own name */
    assert_string_equal(db->escalation->steps[0].receivers[0]->name, "db/slack");
    /* ... and falls back to a main-file name, or takes a full name */
    assert_string_equal(db->escalation->steps[1].receivers[0]->name, "default");
    assert_string_equal(db->escalation->steps[1].receivers[1]->name, "web/slack");
    assert_string_equal(db->routes[0].key, "{}/{severity=\"page\",team=\"db\"}/{service=\"pg\"}");
    assert_string_equal(db->routes[0].team, "db");
    assert_string_equal(web->receiver->name, "default"); /* inherited from the root */
    assert_false(web->receiver_explicit);
    assert_string_equal(web->key, "{}/{team=~\"web|frontend\"}");
    r = config_find_receiver(cfg, "web/slack");
    assert_non_null(r);
    assert_string_equal(r->configs[0].url.value, "http://127.0.0.1:1/web-secret");
    assert_null(config_find_receiver(cfg, "slack"));
    assert_int_equal(cfg->n_receivers, 3);
    assert_int_equal(cfg->n_policies, 2);
    assert_ptr_equal(cfg->api.tokens[0].team, cfg->teams[0].name);
    assert_int_equal(cfg->api.tokens[0].scopes, SCOPE_READ | SCOPE_ACK);
    assert_int_equal(cfg->n_template_files, 1);
    config_free(cfg);
}

static void test_example_config(void **state)
{
    char path[2048];
    struct error err;
    struct config *cfg;
    const struct escalation_policy *p;

    (void)state;
    snprintf(path, sizeof(path), "%s/../../../config.example.yml", fixture_dir);
    error_clear(&err);
    cfg = config_load(path, &err);
    if (cfg == NULL)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->n_teams, 2);
    p = config_find_policy(cfg, "db/oncall");
    assert_non_null(p);
    assert_int_equal(p->n_steps, 3);
    assert_string_equal(p->steps[0].receivers[0]->configs[0].channel, "#db-alerts");
    assert_int_equal(p->steps[2].n_receivers, 2);
    assert_int_equal(p->steps[2].receivers[0]->configs[0].kind, NOTIFIER_SMS);
    assert_int_equal(p->steps[2].receivers[1]->configs[0].kind, NOTIFIER_PAGERDUTY);
    assert_true(cfg->n_inhibit_rules >= 1);
    config_free(cfg);
}

static void test_inhibit_rules(void **state)
{
    struct config *cfg = load_ok("route: {receiver: r}\n"
                                 "receivers: [{name: r}]\n"
                                 "inhibit_rules:\n"
                                 "  - source_matchers: ['severity=\"critical\"']\n"
                                 "    target_matchers: ['severity=~\"warning|info\"']\n"
                                 "    equal: [alertname, cluster]\n"
                                 "  - source_match: {severity: critical}\n"
                                 "    source_match_re: {service: 'a.*'}\n"
                                 "    target_match: {severity: warning}\n"
                                 "    target_match_re: {team: 'x|y'}\n");

    (void)state;
    assert_int_equal(cfg->n_inhibit_rules, 2);
    assert_int_equal(cfg->inhibit_rules[0].source.n, 1);
    assert_int_equal(cfg->inhibit_rules[0].target.v[0].op, MATCH_RE);
    assert_int_equal(cfg->inhibit_rules[0].n_equal, 2);
    assert_int_equal(cfg->inhibit_rules[1].source.n, 2);
    assert_int_equal(cfg->inhibit_rules[1].target.n, 2);
    assert_int_equal(cfg->inhibit_rules[1].n_equal, 0);
    config_free(cfg);
}

static void test_yaml_features(void **state)
{
    /* Anchors and aliases, flow style, quoted scalars, comments and CRLF line ends. */
    struct config *cfg = load_ok("# comment\r\n"
                                 "receivers:\r\n"
                                 "  - name: a\r\n"
                                 "    webhook_configs: &hooks\r\n"
                                 "      - url: 'http://127.0.0.1:1/x'  # trailing comment\r\n"
                                 "        send_resolved: no\r\n"
                                 "  - name: \"b\"\r\n"
                                 "    webhook_configs: *hooks\r\n"
                                 "route:\r\n"
                                 "  receiver: a\r\n"
                                 "  group_wait: ~\r\n"
                                 "  routes: [{matchers: ['x=\"y\"'], receiver: b}]\r\n");

    (void)state;
    assert_int_equal(cfg->n_receivers, 2);
    assert_string_equal(cfg->receivers[1].name, "b");
    assert_int_equal(cfg->receivers[1].n_configs, 1);
    assert_string_equal(cfg->receivers[1].configs[0].url.value, "http://127.0.0.1:1/x");
    assert_false(cfg->receivers[1].configs[0].send_resolved);
    assert_int_equal(cfg->root->group_wait, 30000); /* null = not set */
    assert_string_equal(cfg->root->routes[0].receiver->name, "b");
    config_free(cfg);
}

static void test_http_config(void **state)
{
    struct config *cfg =
        load_ok("route: {receiver: r}\n"
                "receivers:\n"
                "  - name: r\n"
                "    webhook_configs:\n"
                "      - url: https://example.com/hook\n"
                "        http_config:\n"
                "          authorization: {credentials_file: secret_long.txt}\n"
                "          tls_config: {ca_file: ca.pem, insecure_skip_verify: true}\n"
                "          proxy_url: http://127.0.0.1:3128\n"
                "          follow_redirects: false\n"
                "          timeout: 10s\n"
                "      - url: https://example.com/hook2\n"
                "        http_config: {bearer_token: tok, connect_timeout: 1s}\n");
    const struct http_config *h = &cfg->receivers[0].configs[0].http;
    char want[2048];

    (void)state;
    assert_string_equal(h->authorization_type, "Bearer");
    assert_string_equal(h->bearer_token.value, "0123456789abcdef0123456789abcdef\n");
    snprintf(want, sizeof(want), "%s/ca.pem", fixture_dir);
    assert_string_equal(h->tls_ca_file, want); /* relative to the config's directory */
    assert_true(h->tls_insecure_skip_verify);
    assert_string_equal(h->proxy_url, "http://127.0.0.1:3128");
    assert_false(h->follow_redirects);
    assert_int_equal(h->timeout, 10000);
    assert_int_equal(h->connect_timeout, 5000);
    h = &cfg->receivers[0].configs[1].http;
    assert_string_equal(h->bearer_token.value, "tok");
    assert_string_equal(h->authorization_type, "Bearer");
    assert_int_equal(h->connect_timeout, 1000);
    assert_int_equal(h->timeout, 30000);
    config_free(cfg);
}

static void test_templates(void **state)
{
    struct config *cfg =
        load_ok("route: {receiver: r}\n"
                "templates: ['tmpl/*.mustache', 'none-*.mustache']\n"
                "receivers:\n"
                "  - name: r\n"
                "    slack_configs:\n"
                "      - api_url: http://127.0.0.1:1/\n"
                "        text: '{{> greeting}} {{#alerts}}{{status}} {{/alerts}}'\n"
                "        color: '{{#firing}}danger{{/firing}}'\n");
    const struct notifier_config *nc = &cfg->receivers[0].configs[0];
    json_t *ctx = json_pack("{s:s, s:[{s:s}, {s:s}]}", "receiver", "r", "alerts", "status",
                            "firing", "status", "resolved");
    struct error err;
    struct buf out;

    (void)state;
    assert_int_equal(cfg->n_template_files, 1);
    assert_non_null(strstr(cfg->template_files[0], "tmpl/greeting.mustache"));
    assert_non_null(nc->text.compiled);
    assert_null(nc->title.compiled); /* not set: the default template is used */
    assert_string_equal(nc->color, "{{#firing}}danger{{/firing}}");
    buf_init(&out, 4096);
    assert_int_equal(mustache_render(nc->text.compiled, ctx, MUSTACHE_ESCAPE_NONE, &out, &err), 0);
    assert_string_equal(buf_str(&out), "Hello r! firing resolved ");
    buf_release(&out);
    json_decref(ctx);
    config_free(cfg);
}

/* A config touching every section, for the mutation test. */
static const char rich_config[] =
    "global:\n"
    "  resolve_timeout: 1m\n"
    "  smtp_smarthost: 'h:25'\n"
    "  smtp_from: a@b\n"
    "  slack_api_url: http://127.0.0.1:1/s\n"
    "  http_config: {basic_auth: {username: u, password: p}, timeout: 5s}\n"
    "route:\n"
    "  receiver: all\n"
    "  group_by: ['...']\n"
    "  routes:\n"
    "    - matchers: ['a=\"b\"', 'c=~\"d|e\"']\n"
    "      match: {x: y}\n"
    "      match_re: {z: 'w.*'}\n"
    "      escalation: p\n"
    "      group_wait: 1s\n"
    "      mute_time_intervals: [t]\n"
    "      routes: [{continue: true, group_by: [q]}]\n"
    "receivers:\n"
    "  - name: all\n"
    "    webhook_configs: [{url: 'http://127.0.0.1:1/h', max_alerts: 3}]\n"
    "    slack_configs: [{channel: '#c', text: '{{#alerts}}{{status}}{{/alerts}}', fields: "
    "[{title: t, value: v}]}]\n"
    "    email_configs: [{to: 'x@y, z@w', headers: {Subject: s}}]\n"
    "    pagerduty_configs: [{routing_key: k, details: {a: b}, links: [{href: h}]}]\n"
    "    sms_configs: [{account_sid: A, auth_token: t, from: '+1', to: ['+2']}]\n"
    "inhibit_rules:\n"
    "  - {source_matchers: [a=b], target_match: {c: d}, equal: [e]}\n"
    "time_intervals:\n"
    "  - name: t\n"
    "    time_intervals: [{times: [{start_time: '01:00', end_time: '02:00'}], weekdays: "
    "['monday:friday'], days_of_month: ['1:-1'], months: [may], years: ['2026']}]\n"
    "escalation_policies:\n"
    "  - {name: p, repeat: 1, ack_timeout: 1h, steps: [{receivers: [all]}, {after: 1m, "
    "receivers: [all]}]}\n"
    "ack: {link_expiry: 1d, secret: 0123456789abcdef}\n"
    "api: {max_body_bytes: 4096, tokens: [{name: t, token: 0123456789abcdef, scopes: [read]}]}\n"
    "retention: {alerts: 1h, silences: 1h, incidents: 1d}\n";

/* Mutated configs (bytes replaced, deleted, duplicated) must either load or fail with
 * a positioned message, and never crash (the ASan build checks memory). */
static void test_mutations(void **state)
{
    static const char alphabet[] = " :-[]{},'\"\n#&*!|>.0123456789abcxyz~";
    const size_t len = sizeof(rich_config) - 1;
    uint32_t seed = 12345;
    char *text = malloc(2 * len + 1);
    int loaded = 0;

    (void)state;
    assert_non_null(text);
    {
        struct config *cfg = load_ok(rich_config);

        config_free(cfg);
    }
    for (int round = 0; round < 1500; round++) {
        size_t n = len, muts;
        struct config *cfg;
        struct error err;

        memcpy(text, rich_config, len);
        seed = seed * 1103515245u + 12345u;
        muts = 1 + (seed >> 16) % 3;
        for (size_t k = 0; k < muts; k++) {
            size_t pos;

            seed = seed * 1103515245u + 12345u;
            pos = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            switch ((seed >> 16) % 3) {
            case 0:
                text[pos] = alphabet[(seed >> 4) % (sizeof(alphabet) - 1)];
                break;
            case 1:
                memmove(text + pos, text + pos + 1, n - pos - 1);
                n--;
                break;
            default:
                if (n + 8 <= 2 * len) {
                    memmove(text + pos + 8, text + pos, n - pos);
                    n += 8;
                }
                break;
            }
        }
        text[n] = '\0';
        error_clear(&err);
        cfg = config_load_string(text, "m.yml", fixture_dir, &err);
        if (cfg != NULL) {
            loaded++;
            config_free(cfg);
            continue;
        }
        if (strncmp(err.msg, "m.yml:", 6) != 0 || strspn(err.msg + 6, "0123456789") == 0)
            fail_msg("error without a position: %s\nfor:\n%s", err.msg, text);
    }
    free(text);
    /* Some mutations are harmless (inside a string), most are not. */
    assert_true(loaded > 0);
    assert_true(loaded < 1500);
}

struct broken {
    const char *yaml;
    const char *want;
};

static const struct broken broken[] = {
    /* 1 */ {"route: {receiver: r}\nreceivers: [{name: r}]\nbogus: 1\n",
             "test.yml:3:1: bogus: unknown key"},
    /* 2 */ {"receivers: [{name: r}]\n", "test.yml:1:1: no route provided in config"},
    /* 3 */
    {"route:\n  group_by: [a]\nreceivers: [{name: r}]\n",
     "test.yml:2:3: route: root route must specify a default receiver"},
    /* 4 */
    {"route:\n  receiver: nope\nreceivers: [{name: r}]\n",
     "test.yml:2:13: route.receiver: undefined receiver \"nope\" used in route"},
    /* 5 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n  - name: r\n",
     "test.yml:4:11: receivers[1].name: notification config name \"r\" is not unique"},
    /* 6 */
    {"route:\n  receiver: r\n  routes:\n    - group_wait: 5x\nreceivers: [{name: r}]\n",
     "test.yml:4:19: route.routes[0].group_wait: invalid duration \"5x\""},
    /* 7 */
    {"route:\n  receiver: r\n  group_interval: 0s\nreceivers: [{name: r}]\n",
     "test.yml:3:19: route.group_interval: group_interval cannot be zero"},
    /* 8 */
    {"route:\n  receiver: r\n  routes:\n    - repeat_interval: 0\nreceivers: [{name: r}]\n",
     "test.yml:4:24: route.routes[0].repeat_interval: repeat_interval cannot be zero"},
    /* 9 */
    {"route:\n  receiver: r\n  match: {a: b}\nreceivers: [{name: r}]\n",
     "test.yml:2:3: route: root route must not have any matchers"},
    /* 10 */
    {"route:\n  receiver: r\n  continue: true\nreceivers: [{name: r}]\n",
     "test.yml:3:13: route.continue: cannot have continue in root route"},
    /* 11 */
    {"route:\n  receiver: r\n  group_by: ['...', a]\nreceivers: [{name: r}]\n",
     "test.yml:3:13: route.group_by: cannot have wildcard group_by (`...`) and other "
     "labels at the same time"},
    /* 12 */
    {"route:\n  receiver: r\n  group_by: [a, b, a]\nreceivers: [{name: r}]\n",
     "test.yml:3:20: route.group_by[2]: duplicated label \"a\" in group_by"},
    /* 13 */
    {"route:\n  receiver: r\n  group_by: [a-b]\nreceivers: [{name: r}]\n",
     "test.yml:3:14: route.group_by[0]: invalid label name \"a-b\" in group_by list"},
    /* 14 */
    {"route:\n  receiver: r\n  routes:\n    - match_re: {a: '(x'}\nreceivers: [{name: r}]\n",
     "test.yml:4:21: route.routes[0].match_re.a: invalid regular expression \"(x\": "
     "missing closing parenthesis"},
    /* 15 */
    {"route:\n  receiver: r\n  routes:\n    - matchers: ['a~b']\nreceivers: [{name: r}]\n",
     "test.yml:4:18: route.routes[0].matchers[0]: bad matcher format: a~b"},
    /* 16 */
    {"route:\n  receiver: r\n  routes:\n    - match: {1x: b}\nreceivers: [{name: r}]\n",
     "test.yml:4:15: route.routes[0].match.1x: invalid label name \"1x\""},
    /* 17 */
    {"route:\n  receiver: r\n  routes:\n    - gruop_by: [a]\nreceivers: [{name: r}]\n",
     "test.yml:4:7: route.routes[0].gruop_by: unknown key"},
    /* 18 */
    {"route:\n  receiver: r\n  routes: {a: b}\nreceivers: [{name: r}]\n",
     "test.yml:3:11: route.routes: expected a list, got a mapping"},
    /* 19 */
    {"route:\n  receiver: [r]\nreceivers: [{name: r}]\n",
     "test.yml:2:13: route.receiver: expected a string, got a list"},
    /* 20 */
    {"route:\n  receiver: r\n  routes:\n    - continue: maybe\nreceivers: [{name: r}]\n",
     "test.yml:4:17: route.routes[0].continue: expected true or false, got \"maybe\""},
    /* 21 */
    {"route: {receiver: r}\nreceivers:\n  - webhook_configs: []\n",
     "test.yml:3:5: receivers[0]: missing name in receiver"},
    /* 22 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n      - send_resolved: "
     "true\n",
     "test.yml:5:9: receivers[0].webhook_configs[0]: one of url, url_file or url_env "
     "must be configured"},
    /* 23 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs:\n      - channel: x\n",
     "test.yml:5:9: receivers[0].slack_configs[0]: no global Slack API URL set"},
    /* 24 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n      - to: a@b\n",
     "test.yml:5:9: receivers[0].email_configs[0]: no global SMTP from set"},
    /* 25 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    pagerduty_configs:\n      - severity: "
     "error\n",
     "test.yml:5:9: receivers[0].pagerduty_configs[0]: missing service or routing key "
     "in PagerDuty config"},
    /* 26 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    opsgenie_configs: []\n",
     "test.yml:4:5: receivers[0].opsgenie_configs: not supported by amrouter"},
    /* 27 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n"
     "      - url: http://x\n        url_file: /nonexistent\n",
     "test.yml:6:19: receivers[0].webhook_configs[0].url_file: at most one of url, "
     "url_file and url_env may be set"},
    /* 28 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n"
     "      - url_file: does-not-exist.txt\n",
     "test.yml:5:19: receivers[0].webhook_configs[0].url_file: cannot read "
     "\"FIXTURES/does-not-exist.txt\": No such file or directory"},
    /* 29 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n"
     "      - url_env: AMR_TEST_UNSET_VARIABLE\n",
     "test.yml:5:18: receivers[0].webhook_configs[0].url_env: environment variable "
     "AMR_TEST_UNSET_VARIABLE is not set"},
    /* 30 */
    {"route:\n  receiver: r\n  routes:\n    - escalation: nope\nreceivers: [{name: r}]\n",
     "test.yml:4:19: route.routes[0].escalation: undefined escalation policy \"nope\" "
     "used in route"},
    /* 31 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\nescalation_policies:\n"
     "  - name: p\n    steps:\n      - after: 10m\n        receivers: [r]\n"
     "      - after: 5m\n        receivers: [r]\n",
     "test.yml:8:16: escalation_policies[0].steps[1].after: 5m is earlier than the "
     "previous step's 10m; steps must be in order"},
    /* 32 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\nescalation_policies:\n"
     "  - name: p\n    steps:\n      - receivers: [r, x]\n",
     "test.yml:6:24: escalation_policies[0].steps[0].receivers[1]: undefined receiver "
     "\"x\" used in escalation policy"},
    /* 33 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\nescalation_policies:\n"
     "  - {name: p, steps: [{receivers: [r]}]}\n  - {name: p, steps: [{receivers: [r]}]}\n",
     "test.yml:5:12: escalation_policies[1].name: escalation policy name \"p\" is not "
     "unique"},
    /* 34 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\nescalation_policies:\n  - name: p\n",
     "test.yml:4:5: escalation_policies[0]: missing required field \"steps\""},
    /* 35 */
    {"route:\n  receiver: r\n  routes:\n    - mute_time_intervals: [nope]\n"
     "receivers: [{name: r}]\n",
     "test.yml:4:29: route.routes[0].mute_time_intervals[0]: undefined time interval "
     "\"nope\" used in route"},
    /* 36 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals:\n  - name: t\n"
     "    time_intervals: [{weekdays: [funday]}]\n",
     "test.yml:5:34: time_intervals[0].time_intervals[0].weekdays[0]: funday is not a "
     "valid weekday"},
    /* 37 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals:\n  - name: t\n"
     "    time_intervals: [{times: [{start_time: '10:00', end_time: '09:00'}]}]\n",
     "test.yml:5:31: time_intervals[0].time_intervals[0].times[0]: start time cannot be "
     "equal or greater than end time"},
    /* 38 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules:\n"
     "  - source_matchers: ['a=\"b\"']\n    equal: ['x y']\n",
     "test.yml:5:13: inhibit_rules[0].equal[0]: invalid label name \"x y\""},
    /* 39 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules:\n"
     "  - source_matcher: ['a=\"b\"']\n",
     "test.yml:4:5: inhibit_rules[0].source_matcher: unknown key"},
    /* 40 */
    {"route: {receiver: r\nreceivers: []\n",
     "test.yml:2:10: yaml: did not find expected ',' or '}' while parsing a flow "
     "mapping"},
    /* 41 */
    {"route: {receiver: r, receiver: s}\n",
     "test.yml:1:22: yaml: key \"receiver\" already defined at line 1"},
    /* 42 */
    {"global:\n  resolve_timeout: soon\nroute: {receiver: r}\nreceivers: [{name: r}]\n",
     "test.yml:2:20: global.resolve_timeout: invalid duration \"soon\""},
    /* 43 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\nack: {secret: short}\n",
     "test.yml:3:15: ack.secret: the secret must be at least 16 bytes long"},
    /* 44 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\napi:\n  tokens:\n"
     "    - {name: t, token: 0123456789abcdefgh, scopes: [write]}\n",
     "test.yml:5:53: api.tokens[0].scopes[0]: unknown scope \"write\": use ingest, "
     "read, silence, ack or admin"},
    /* 45 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\napi:\n  tokens:\n"
     "    - {name: t, token: 0123456789abcdefgh, scopes: [read], team: ops}\n",
     "test.yml:5:66: api.tokens[0].team: undefined team \"ops\""},
    /* 46 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    sms_configs:\n"
     "      - {account_sid: A, auth_token: t, from: '+1', to: ['+2'], max_segments: 0}\n",
     "test.yml:5:79: receivers[0].sms_configs[0].max_segments: 0 is out of range [1, "
     "10]"},
    /* 47 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    sms_configs:\n"
     "      - {account_sid: A, auth_token: t, from: '+1'}\n",
     "test.yml:5:9: receivers[0].sms_configs[0]: missing required field \"to\""},
    /* 48 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\nretention: {alerts: 0s}\n",
     "test.yml:3:21: retention.alerts: must be positive"},
    /* 49 */
    {"route: {receiver: r}\nreceivers: [{name: r}]\nteams: [no-such-team.yml]\n",
     "test.yml:3:9: teams[0]: cannot read \"FIXTURES/no-such-team.yml\": No such file or "
     "directory"},
    /* 50 */
    {"route: {receiver: r}\nreceivers:\n  - name: a/b\n",
     "test.yml:3:11: receivers[0].name: receiver names must not contain '/'"},
    /* 51 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n"
     "      - {to: a@b, from: c@d, smarthost: localhost}\n",
     "test.yml:5:41: receivers[0].email_configs[0].smarthost: address localhost: "
     "missing port in address"},
    /* 52 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n"
     "      - url: http://x\n        http_config: {bearer_token: a, basic_auth: {username: u}}\n",
     "test.yml:6:52: receivers[0].webhook_configs[0].http_config.basic_auth: at most "
     "one of basic_auth, bearer_token & authorization may be set"},
    /* 53 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    slack_configs:\n"
     "      - api_url: http://x\n        text: 'hi {{#alerts}}'\n",
     "test.yml:6:15: receivers[0].slack_configs[0].text: template:1:4: unclosed section "
     "{{#alerts}}"},
    /* 54 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n"
     "      - {to: a@b, from: c@d, smarthost: 'h:25', headers: {Subject: '{{> nope}}'}}\n",
     "test.yml:5:68: receivers[0].email_configs[0].headers.Subject: template:1:1: "
     "partial \"nope\" not found"},
    /* 55 */
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    pagerduty_configs:\n"
     "      - {routing_key: k, severity: '{{/x}}'}\n",
     "test.yml:5:36: receivers[0].pagerduty_configs[0].severity: template:1:1: "
     "unexpected {{/x}}: no section is open"},
    /* 56 */ {"a: &a [*a]\n", "test.yml:1:4: yaml: nesting too deep (or a recursive alias)"},
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n      - url: ftp://x/\n",
     "test.yml:5:14: receivers[0].webhook_configs[0].url: not an http:// or https:// URL"},
    {"global:\n  pagerduty_url: events.pagerduty.com\nroute: {receiver: r}\nreceivers: [{name: "
     "r}]\n",
     "test.yml:2:18: global.pagerduty_url: \"events.pagerduty.com\" is not an http:// or "
     "https:// URL"},
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    email_configs:\n      - to: a@b\n"
     "        from: c@d\n        smarthost: h:25\n        headers:\n          X-Foo:\n",
     "test.yml:9:11: receivers[0].email_configs[0].headers.X-Foo: missing value"},
    {"route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n      - url: http://x\n"
     "        http_config:\n          authorization: {type: Basic, credentials: x}\n",
     "test.yml:7:33: receivers[0].webhook_configs[0].http_config.authorization.type: "
     "authorization "
     "type cannot be set to \"basic\", use \"basic_auth\""},
    {"route: {receiver: r}\nreceivers: [{name: r}]\nteams: [teams_ok/teams/a_db.yml, "
     "teams_ok/teams/a_db.yml]\n",
     "FIXTURES/teams_ok/teams/a_db.yml:1:7: name: team name \"db\" is not unique (also in "
     "FIXTURES/teams_ok/teams/a_db.yml)"},
    {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals:\n  - name: t\n"
     "    time_intervals: [{location: Europe/Berlin}]\n",
     "test.yml:5:33: time_intervals[0].time_intervals[0].location: location \"Europe/Berlin\" "
     "is not supported: use UTC or Local"},
    {"route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals:\n  - name: t\n"
     "    time_intervals: [{days_of_month: ['-3:5']}]\n",
     "test.yml:5:39: time_intervals[0].time_intervals[0].days_of_month[0]: end day must be "
     "negative if start day is negative"},
    {"- a\n- b\n", "test.yml:1:1: expected a mapping, got a list"},
    {"global:\n  http_config: {timeout: 0s}\nroute: {receiver: r}\nreceivers: [{name: r}]\n",
     "test.yml:2:26: global.http_config.timeout: must be positive"},
};

/* Broken team files: the error names the team file and a path inside it. */
static const struct broken broken_teams[] = {
    {"teams_bad/dup_receiver.yml",
     "FIXTURES/teams_bad/dup_receiver.yml:5:11: receivers[1].name: notification config name "
     "\"x/r\" is not unique"},
    {"teams_bad/bad_duration.yml",
     "FIXTURES/teams_bad/bad_duration.yml:14:19: route.routes[1].group_wait: invalid duration "
     "\"5x\""},
    {"teams_bad/no_matchers.yml",
     "FIXTURES/teams_bad/no_matchers.yml:1:1: missing required field \"matchers\""},
    {"teams_bad/undefined_receiver.yml",
     "FIXTURES/teams_bad/undefined_receiver.yml:4:13: route.receiver: undefined receiver "
     "\"pager\" used in route"},
    {"teams_bad/unknown_key.yml",
     "FIXTURES/teams_bad/unknown_key.yml:3:1: inhibit_rules: unknown key"},
};

/* Replaces every "FIXTURES" in want with the fixture directory. */
static void expand(char *out, size_t outsz, const char *want)
{
    struct buf b;
    const char *f;

    buf_init(&b, outsz - 1);
    for (f = strstr(want, "FIXTURES"); f != NULL; f = strstr(want, "FIXTURES")) {
        assert_int_equal(buf_append(&b, want, (size_t)(f - want)), 0);
        assert_int_equal(buf_appends(&b, fixture_dir), 0);
        want = f + 8;
    }
    assert_int_equal(buf_appends(&b, want), 0);
    memcpy(out, buf_str(&b), b.len + 1);
    buf_release(&b);
}

static void test_broken_configs(void **state)
{
    int bad = 0;

    (void)state;
    unsetenv("AMR_TEST_UNSET_VARIABLE");
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        char want[1024];
        const char *got = load_err(broken[i].yaml);

        expand(want, sizeof(want), broken[i].want);
        if (strcmp(got, want) != 0) {
            print_error("broken config %zu:\n  want: %s\n  got:  %s\n", i + 1, want, got);
            bad++;
        }
    }
    for (size_t i = 0; i < sizeof(broken_teams) / sizeof(broken_teams[0]); i++) {
        char yaml[1024], want[1024];
        const char *got;

        snprintf(yaml, sizeof(yaml), "route: {receiver: r}\nreceivers: [{name: r}]\nteams: [%s]\n",
                 broken_teams[i].yaml);
        got = load_err(yaml);
        expand(want, sizeof(want), broken_teams[i].want);
        if (strcmp(got, want) != 0) {
            print_error("broken team %s:\n  want: %s\n  got:  %s\n", broken_teams[i].yaml, want,
                        got);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_load_file_errors(void **state)
{
    struct error err;

    (void)state;
    assert_null(config_load(fixture("nope.yml"), &err));
    assert_non_null(strstr(err.msg, "nope.yml"));
    assert_non_null(strstr(err.msg, "No such file or directory"));
    assert_null(config_load(fixture("broken_main.yml"), &err));
    {
        char want[1024];

        expand(want, sizeof(want),
               "FIXTURES/broken_main.yml:7:23: route.routes[0].group_interval: invalid duration "
               "\"1 minute\"");
        assert_string_equal(err.msg, want);
    }
    /* An empty file has no route. */
    assert_null(config_load_string("", "empty.yml", NULL, &err));
    assert_string_equal(err.msg, "empty.yml:1:1: no route provided in config");
    config_free(NULL);
}

static int find_fixtures(void)
{
    const char *src = getenv("AMR_SRCDIR");
    char cwd[512];

    if (src == NULL) {
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return -1;
        src = cwd;
    }
    snprintf(fixture_dir, sizeof(fixture_dir), "%s/tests/unit/configs", src);
    return access(fixture_dir, R_OK) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_defaults),
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_keys_and_ids),
        cmocka_unit_test(test_route_matching_semantics),
        cmocka_unit_test(test_receivers_defaults),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_escalation_policies),
        cmocka_unit_test(test_time_intervals),
        cmocka_unit_test(test_teams),
        cmocka_unit_test(test_example_config),
        cmocka_unit_test(test_inhibit_rules),
        cmocka_unit_test(test_yaml_features),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_http_config),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_broken_configs),
        cmocka_unit_test(test_load_file_errors),
    };

    if (find_fixtures() < 0) {
        fprintf(stderr, "test_config: cannot find tests/unit/configs (run from the repository "
                        "root or set AMR_SRCDIR)\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
