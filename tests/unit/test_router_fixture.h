/*
 * test_router_fixture.h - hand-built configs and alert helpers for the router's
 * unit tests (test_route.c, test_silence.c, test_inhibit.c, test_dispatch.c,
 * test_router.c). Static functions only: each test binary includes it once.
 *
 * A fixture owns a struct config whose route tree, receivers and inhibit rules
 * are built here without the YAML loader, with Alertmanager's defaults (group_wait
 * 30s, group_interval 5m, repeat_interval 4h) and AM's route keys.
 */
#ifndef AMR_TEST_ROUTER_FIXTURE_H
#define AMR_TEST_ROUTER_FIXTURE_H

#include "config/config.h"
#include "core/alert.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/matcher.h"
#include "core/timefmt.h"
#include "router/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define FX_UNUSED    __attribute__((unused))
#define SEC          1000LL
#define MIN          (60 * SEC)
#define HOUR         (60 * MIN)
#define T0           1700000000000LL

#define FX_MAX_RECV  8
#define FX_MAX_INTEG 4
#define FX_MAX_RULES 4

struct fx {
    struct config cfg;
    struct receiver recv[FX_MAX_RECV];
    struct notifier_config nc[FX_MAX_RECV][FX_MAX_INTEG];
    struct inhibit_rule rules[FX_MAX_RULES];
};

FX_UNUSED static void fx_free_route(struct route *r)
{
    for (size_t i = 0; i < r->n_routes; i++)
        fx_free_route(&r->routes[i]);
    free(r->routes);
    matchers_release(&r->matchers);
    for (size_t i = 0; i < r->n_group_by; i++)
        free(r->group_by[i]);
    free(r->group_by);
    free(r->key);
    free(r->id);
}

/* Adds a receiver with n webhook-like integrations. */
FX_UNUSED static struct receiver *fx_receiver(struct fx *fx, const char *name, size_t n_integ,
                                              bool send_resolved)
{
    size_t i = fx->cfg.n_receivers++;
    struct receiver *rc = &fx->recv[i];

    assert_true(i < FX_MAX_RECV && n_integ <= FX_MAX_INTEG);
    rc->name = strdup(name);
    rc->configs = fx->nc[i];
    rc->n_configs = n_integ;
    for (size_t k = 0; k < n_integ; k++) {
        fx->nc[i][k].kind = NOTIFIER_WEBHOOK;
        fx->nc[i][k].send_resolved = send_resolved;
    }
    return rc;
}

FX_UNUSED static struct receiver *fx_find_receiver(struct fx *fx, const char *name)
{
    for (size_t i = 0; i < fx->cfg.n_receivers; i++) {
        if (strcmp(fx->recv[i].name, name) == 0)
            return &fx->recv[i];
    }
    fail_msg("no receiver %s", name);
    return NULL;
}

FX_UNUSED static void fx_set_group_by(struct route *r, const char *csv)
{
    char tmp[256];
    char *save = NULL, *tok;

    for (size_t i = 0; i < r->n_group_by; i++)
        free(r->group_by[i]);
    free(r->group_by);
    r->group_by = NULL;
    r->n_group_by = 0;
    r->group_by_all = strcmp(csv, "...") == 0;
    if (r->group_by_all || csv[0] == '\0')
        return;
    snprintf(tmp, sizeof(tmp), "%s", csv);
    r->group_by = calloc(16, sizeof(char *));
    for (tok = strtok_r(tmp, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
        r->group_by[r->n_group_by++] = strdup(tok);
}

FX_UNUSED static void fx_set_key(struct route *r)
{
    struct buf b;

    buf_init(&b, 4096);
    if (r->parent != NULL) {
        buf_appends(&b, r->parent->key);
        buf_appendc(&b, '/');
    }
    matchers_format(&r->matchers, &b);
    free(r->key);
    free(r->id);
    r->key = strdup(buf_str(&b));
    if (r->parent != NULL)
        buf_printf(&b, "/%zu", r->index);
    r->id = strdup(buf_str(&b));
    buf_release(&b);
}

/* A fixture whose root route sends to receiver `root_recv` (1 integration,
 * send_resolved true), AM's default timers, no group_by. */
FX_UNUSED static struct fx *fx_new(const char *root_recv)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    struct route *root = calloc(1, sizeof(*root));

    assert_non_null(fx);
    assert_non_null(root);
    fx->cfg.receivers = fx->recv;
    fx->cfg.inhibit_rules = fx->rules;
    fx->cfg.global.resolve_timeout = 5 * MIN;
    fx->cfg.retention.alerts = 120 * HOUR;
    fx->cfg.retention.silences = 120 * HOUR;
    fx->cfg.root = root;
    matchers_init(&root->matchers);
    root->receiver = fx_receiver(fx, root_recv, 1, true);
    root->group_wait = 30 * SEC;
    root->group_interval = 5 * MIN;
    root->repeat_interval = 4 * HOUR;
    fx_set_key(root);
    return fx;
}

FX_UNUSED static void fx_free(struct fx *fx)
{
    if (fx == NULL)
        return;
    fx_free_route(fx->cfg.root);
    free(fx->cfg.root);
    for (size_t i = 0; i < fx->cfg.n_receivers; i++)
        free(fx->recv[i].name);
    for (size_t i = 0; i < fx->cfg.n_inhibit_rules; i++) {
        matchers_release(&fx->rules[i].source);
        matchers_release(&fx->rules[i].target);
        for (size_t k = 0; k < fx->rules[i].n_equal; k++)
            free(fx->rules[i].equal[k]);
        free(fx->rules[i].equal);
    }
    free(fx);
}

/* Gives parent n children that inherit its receiver, group_by and timers. */
FX_UNUSED static struct route *fx_children(struct route *parent, size_t n)
{
    parent->routes = calloc(n, sizeof(struct route));
    assert_non_null(parent->routes);
    parent->n_routes = n;
    for (size_t i = 0; i < n; i++) {
        struct route *c = &parent->routes[i];
        c->parent = parent;
        c->index = i;
        matchers_init(&c->matchers);
        c->receiver = parent->receiver;
        c->group_wait = parent->group_wait;
        c->group_interval = parent->group_interval;
        c->repeat_interval = parent->repeat_interval;
        c->group_by_all = parent->group_by_all;
        if (parent->n_group_by > 0) {
            c->group_by = calloc(16, sizeof(char *));
            for (size_t k = 0; k < parent->n_group_by; k++)
                c->group_by[c->n_group_by++] = strdup(parent->group_by[k]);
        }
        fx_set_key(c);
    }
    return parent->routes;
}

/* Sets a route's matchers (AM matcher list syntax), receiver (NULL = keep) and continue. */
FX_UNUSED static void fx_route(struct route *r, const char *matchers, const char *receiver,
                               bool cont, struct fx *fx)
{
    struct error err;

    matchers_release(&r->matchers);
    matchers_init(&r->matchers);
    if (matchers_parse(&r->matchers, matchers, &err) < 0)
        fail_msg("matchers %s: %s", matchers, err.msg);
    if (receiver != NULL)
        r->receiver = fx_find_receiver(fx, receiver);
    r->cont = cont;
    fx_set_key(r);
}

FX_UNUSED static void fx_inhibit(struct fx *fx, const char *source, const char *target,
                                 const char *equal)
{
    struct inhibit_rule *ir = &fx->rules[fx->cfg.n_inhibit_rules++];
    struct error err;
    char tmp[256];
    char *save = NULL, *tok;

    matchers_init(&ir->source);
    matchers_init(&ir->target);
    if (matchers_parse(&ir->source, source, &err) < 0 ||
        matchers_parse(&ir->target, target, &err) < 0)
        fail_msg("inhibit matchers: %s", err.msg);
    ir->equal = calloc(16, sizeof(char *));
    snprintf(tmp, sizeof(tmp), "%s", equal);
    for (tok = strtok_r(tmp, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
        ir->equal[ir->n_equal++] = strdup(tok);
}

/* "a=x,b=y" -> label set. */
FX_UNUSED static void fx_labels(struct labels *ls, const char *spec)
{
    char tmp[512];
    char *save = NULL, *tok;

    labels_init(ls);
    snprintf(tmp, sizeof(tmp), "%s", spec);
    for (tok = strtok_r(tmp, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        assert_int_equal(labels_set(ls, tok, eq + 1), 0);
    }
}

FX_UNUSED static void fx_alert(struct alert *a, const char *labels, int64_t starts, int64_t ends)
{
    alert_init(a);
    labels_release(&a->labels);
    fx_labels(&a->labels, labels);
    a->starts_at = starts;
    a->ends_at = ends;
    alert_update_fingerprint(a);
}

FX_UNUSED static uint64_t fx_fp(const char *labels)
{
    struct labels ls;
    uint64_t fp;

    fx_labels(&ls, labels);
    fp = labels_fingerprint(&ls);
    labels_release(&ls);
    return fp;
}

FX_UNUSED static void fx_put(struct router *r, const char *labels, int64_t starts, int64_t ends,
                             int64_t now)
{
    struct alert a;
    struct error err;

    fx_alert(&a, labels, starts, ends);
    assert_int_equal(router_put_alerts(r, &a, 1, now, &err), 0);
    alert_release(&a);
}

/* Ticks at now; returns the number of new jobs, kept in jl (which it empties first). */
FX_UNUSED static size_t fx_tick(struct router *r, int64_t now, struct job_list *jl)
{
    struct error err;

    job_list_release(jl);
    assert_int_equal(router_tick(r, now, jl, &err), 0);
    return jl->n;
}

/* Reports every job of jl as delivered (ok) at now. */
FX_UNUSED static void fx_ack_all(struct router *r, struct job_list *jl, bool ok, int64_t now)
{
    struct error err;

    for (size_t i = 0; i < jl->n; i++)
        assert_int_equal(router_notify_result(r, jl->v[i]->id, ok, now, &err), 0);
}

/* The value of label `name` of the job's i-th alert. */
FX_UNUSED static const char *fx_job_label(const struct notify_job *j, size_t i, const char *name)
{
    assert_true(i < j->n_alerts);
    return labels_get(&j->alerts[i].labels, name);
}

#endif
