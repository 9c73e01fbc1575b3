/*
 * test_notifiers_fixture.h - shared by test_slack.c, test_email.c,
 * test_pagerduty.c and test_sms.c: load one receiver from YAML with the real
 * config loader (so templates are compiled as in production) and take the
 * example notification context of templates/context.h, then bend it
 * (resolved, acknowledged, no incident) for the case under test.
 */
#ifndef TEST_NOTIFIERS_FIXTURE_H
#define TEST_NOTIFIERS_FIXTURE_H

#include "config/config.h"
#include "core/error.h"
#include "notifiers/request.h"
#include "templates/context.h"
#include "templates/defaults.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define FIX_NOW 1795435200000LL /* 2026-11-23T12:00:00Z */

struct nfix {
    struct config *cfg;
    const struct notifier_config *nc;
    json_t *ctx;
    struct notify_requests out;
    struct notify_opts opts;
    struct error err;
};

/* Loads "route: {receiver: r}\nreceivers:\n- name: r\n" + body (the *_configs part,
 * indented by two spaces) and points f->nc at the first notifier config. */
static inline void nfix_load(struct nfix *f, const char *body)
{
    char yaml[8192];

    memset(f, 0, sizeof(*f));
    snprintf(yaml, sizeof(yaml), "route: {receiver: r}\nreceivers:\n- name: r\n%s", body);
    f->cfg = config_load_string(yaml, "test.yml", NULL, &f->err);
    if (f->cfg == NULL)
        fail_msg("config: %s", f->err.msg);
    assert_true(f->cfg->n_receivers >= 1);
    f->nc = &config_find_receiver(f->cfg, "r")->configs[0];
    f->ctx = context_example(0);
    assert_non_null(f->ctx);
    f->opts.now = FIX_NOW;
}

static inline void nfix_release(struct nfix *f)
{
    notify_requests_release(&f->out);
    json_decref(f->ctx);
    config_free(f->cfg);
    default_templates_release();
}

/* The group resolved: status "resolved", firing false, incident resolved. */
static inline void nfix_resolve(struct nfix *f)
{
    json_t *inc = json_object_get(f->ctx, "incident");

    json_object_set_new(f->ctx, "status", json_string("resolved"));
    json_object_set_new(f->ctx, "firing", json_false());
    json_object_set_new(f->ctx, "resolved", json_true());
    json_object_set_new(f->ctx, "firingCount", json_integer(0));
    json_object_set_new(f->ctx, "alertsFiring", json_array());
    if (inc != NULL)
        json_object_set_new(inc, "status", json_string("resolved"));
}

static inline void nfix_ack(struct nfix *f)
{
    json_t *inc = json_object_get(f->ctx, "incident");

    json_object_set_new(inc, "status", json_string("acknowledged"));
    json_object_set_new(inc, "acked", json_true());
    json_object_set_new(inc, "acked_by", json_string("alice"));
}

/* The body of request i parsed as JSON (caller decrefs). */
static inline json_t *nfix_json(const struct nfix *f, size_t i)
{
    json_error_t je;
    json_t *j;

    assert_true(i < f->out.n);
    j = json_loads(buf_str(&f->out.v[i].body), 0, &je);
    if (j == NULL)
        fail_msg("body is not JSON: %s: %s", je.text, buf_str(&f->out.v[i].body));
    return j;
}

#endif
