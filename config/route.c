/*
 * route.c - the route tree, escalation policies and inhibit rules.
 *
 * Routes follow Alertmanager 0.25 (dispatch/route.go): the root gets the
 * defaults group_wait 30s, group_interval 5m, repeat_interval 4h; a child
 * inherits receiver, group_by, timers (and amrouter's escalation) from its
 * parent and overrides what it sets. match, match_re and matchers are ANDed
 * and sorted (name, value, operator) as Alertmanager sorts them, because the
 * route key (parent key + "/" + matchers string, root "{}") is part of every
 * group key. The id is the key plus "/N", N the index among the siblings, for
 * every route but the root (Alertmanager's Route.ID()).
 *
 * Each team file's route becomes one more child of the root, after the main
 * file's children, in the order the team files were included, with the
 * team's matchers ANDed into its own.
 *
 * Every child array is allocated once at its final size before any child is
 * filled in, so `parent` pointers stay valid.
 */
#include "config/load.h"

#include "core/buf.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_GROUP_WAIT      (30 * 1000LL)
#define DEFAULT_GROUP_INTERVAL  (5 * 60 * 1000LL)
#define DEFAULT_REPEAT_INTERVAL (4 * 3600 * 1000LL)
#define ROUTE_KEY_MAX           (64 * 1024)

const struct receiver *ld_find_receiver(struct ld *ld, const char *name)
{
    if (ld->team != NULL) {
        char full[512];
        const struct receiver *r;

        snprintf(full, sizeof(full), "%s/%s", ld->team, name);
        r = config_find_receiver(ld->cfg, full);
        if (r != NULL)
            return r;
    }
    return config_find_receiver(ld->cfg, name);
}

const struct escalation_policy *ld_find_policy(struct ld *ld, const char *name)
{
    if (ld->team != NULL) {
        char full[512];
        const struct escalation_policy *p;

        snprintf(full, sizeof(full), "%s/%s", ld->team, name);
        p = config_find_policy(ld->cfg, full);
        if (p != NULL)
            return p;
    }
    return config_find_policy(ld->cfg, name);
}

void route_release(struct route *r)
{
    matchers_release(&r->matchers);
    strv_free(r->group_by, r->n_group_by);
    strv_free(r->mute_time_intervals, r->n_mute_time_intervals);
    strv_free(r->active_time_intervals, r->n_active_time_intervals);
    for (size_t i = 0; i < r->n_routes; i++)
        route_release(&r->routes[i]);
    free(r->routes);
    free(r->key);
    free(r->id);
    memset(r, 0, sizeof(*r));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Alertmanager's labels.Matchers Less: by name, then value, then operator. */
static int cmp_matcher(const void *a, const void *b)
{
    const struct matcher *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c != 0)
        return c;
    c = strcmp(x->value, y->value);
    if (c != 0)
        return c;
    return (int)x->op - (int)y->op;
}

static int copy_strv(char ***dst, size_t *dn, char *const *src, size_t sn)
{
    *dst = NULL;
    *dn = 0;
    if (sn == 0)
        return 0;
    *dst = calloc(sn, sizeof(**dst));
    if (*dst == NULL)
        return -1;
    for (size_t i = 0; i < sn; i++) {
        (*dst)[i] = strdup(src[i]);
        if ((*dst)[i] == NULL)
            return -1;
        (*dn)++;
    }
    return 0;
}

static int ld_group_by(struct ld *ld, const struct ynode *n, const char *path, struct route *r)
{
    const struct ynode *v = ld_get(n, "group_by");
    char p[CFG_PATH_MAX];
    char **names = NULL;
    size_t cnt = 0;
    bool all = false;

    if (v == NULL)
        return 0;
    path_key(p, path, "group_by");
    if (ld_strlist(ld, n, "group_by", path, &names, &cnt) < 0)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        const struct ynode *it = v->items[i];
        char ip[CFG_PATH_MAX];

        path_idx(ip, p, i);
        if (strcmp(names[i], "...") == 0) {
            all = true;
            continue;
        }
        if (!label_name_valid(names[i])) {
            ld_fail(ld, it, ip, "invalid label name \"%s\" in group_by list", names[i]);
            goto fail;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(names[j], names[i]) == 0) {
                ld_fail(ld, it, ip, "duplicated label \"%s\" in group_by", names[i]);
                goto fail;
            }
        }
    }
    if (all && cnt > 1) {
        ld_fail(ld, v, p,
                "cannot have wildcard group_by (`...`) and other labels at the same time");
        goto fail;
    }
    if (cnt == 0) /* group_by: [] inherits, as in Alertmanager */
        return 0;
    strv_free(r->group_by, r->n_group_by);
    r->group_by = NULL;
    r->n_group_by = 0;
    if (all) {
        strv_free(names, cnt);
        r->group_by_all = true;
        return 0;
    }
    qsort(names, cnt, sizeof(*names), cmp_str);
    r->group_by = names;
    r->n_group_by = cnt;
    r->group_by_all = false;
    return 0;
fail:
    strv_free(names, cnt);
    return -1;
}

static int ld_interval_refs(struct ld *ld, const struct ynode *n, const char *key, const char *path,
                            char ***out, size_t *cnt)
{
    const struct ynode *v = ld_get(n, key);
    char p[CFG_PATH_MAX];

    if (ld_strlist(ld, n, key, path, out, cnt) < 0)
        return -1;
    path_key(p, path, key);
    for (size_t i = 0; i < *cnt; i++) {
        if (config_find_time_interval(ld->cfg, (*out)[i]) == NULL) {
            char ip[CFG_PATH_MAX];

            path_idx(ip, p, i);
            return ld_fail(ld, v->items[i], ip, "undefined time interval \"%s\" used in route",
                           (*out)[i]);
        }
    }
    return 0;
}

static int route_key(struct route *r, const struct route *parent)
{
    struct buf b;

    buf_init(&b, ROUTE_KEY_MAX);
    if (parent != NULL && (buf_appends(&b, parent->key) < 0 || buf_appendc(&b, '/') < 0))
        goto fail;
    if (matchers_format(&r->matchers, &b) < 0)
        goto fail;
    r->key = buf_detach(&b);
    if (r->key == NULL)
        goto fail;
    if (parent == NULL)
        r->id = strdup(r->key);
    else if (buf_printf(&b, "%s/%zu", r->key, r->index) == 0)
        r->id = buf_detach(&b);
    buf_release(&b);
    return r->id == NULL ? -1 : 0;
fail:
    buf_release(&b);
    return -1;
}

static int ld_route(struct ld *ld, const struct ynode *n, const char *path, struct route *r,
                    const struct route *parent, const struct matchers *extra, size_t extra_children)
{
    static const char *const keys[] = {"receiver",
                                       "group_by",
                                       "continue",
                                       "match",
                                       "match_re",
                                       "matchers",
                                       "group_wait",
                                       "group_interval",
                                       "repeat_interval",
                                       "mute_time_intervals",
                                       "active_time_intervals",
                                       "routes",
                                       "escalation",
                                       NULL};
    char *recv = NULL, *esc = NULL;
    const struct ynode *v, *children;
    char p[CFG_PATH_MAX];
    bool set;
    size_t nchild;
    int rc = -1;

    if (ld_map(ld, n, path, keys) < 0)
        return -1;
    r->parent = parent;
    r->team = ld->team;
    if (parent == NULL) {
        r->group_wait = DEFAULT_GROUP_WAIT;
        r->group_interval = DEFAULT_GROUP_INTERVAL;
        r->repeat_interval = DEFAULT_REPEAT_INTERVAL;
    } else {
        r->receiver = parent->receiver;
        r->group_by_all = parent->group_by_all;
        if (copy_strv(&r->group_by, &r->n_group_by, parent->group_by, parent->n_group_by) < 0)
            return ld_fail(ld, n, path, "out of memory");
        r->group_wait = parent->group_wait;
        r->group_interval = parent->group_interval;
        r->repeat_interval = parent->repeat_interval;
        r->escalation = parent->escalation;
    }
    if (ld_str(ld, n, "receiver", path, &recv) < 0)
        goto out;
    if (recv != NULL && recv[0] != '\0') {
        r->receiver = ld_find_receiver(ld, recv);
        r->receiver_explicit = true;
        if (r->receiver == NULL) {
            path_key(p, path, "receiver");
            ld_fail(ld, ld_get(n, "receiver"), p, "undefined receiver \"%s\" used in route", recv);
            goto out;
        }
    }
    if (parent == NULL && r->receiver == NULL) {
        ld_fail(ld, n, path, "root route must specify a default receiver");
        goto out;
    }
    if (ld_group_by(ld, n, path, r) < 0 || ld_bool(ld, n, "continue", path, &r->cont) < 0 ||
        ld_duration(ld, n, "group_wait", path, &r->group_wait, NULL) < 0 ||
        ld_duration(ld, n, "group_interval", path, &r->group_interval, &set) < 0)
        goto out;
    if (set && r->group_interval == 0) {
        path_key(p, path, "group_interval");
        ld_fail(ld, ld_get(n, "group_interval"), p, "group_interval cannot be zero");
        goto out;
    }
    if (ld_duration(ld, n, "repeat_interval", path, &r->repeat_interval, &set) < 0)
        goto out;
    if (set && r->repeat_interval == 0) {
        path_key(p, path, "repeat_interval");
        ld_fail(ld, ld_get(n, "repeat_interval"), p, "repeat_interval cannot be zero");
        goto out;
    }
    if (parent == NULL && r->cont) {
        path_key(p, path, "continue");
        ld_fail(ld, ld_get(n, "continue"), p, "cannot have continue in root route");
        goto out;
    }
    if (extra != NULL && matchers_copy(&r->matchers, extra) < 0) {
        ld_fail(ld, n, path, "out of memory");
        goto out;
    }
    if (ld_matchers(ld, n, "", path, &r->matchers) < 0)
        goto out;
    if (parent == NULL && r->matchers.n > 0) {
        ld_fail(ld, n, path, "root route must not have any matchers");
        goto out;
    }
    if (r->matchers.n > 1)
        qsort(r->matchers.v, r->matchers.n, sizeof(*r->matchers.v), cmp_matcher);
    if (ld_interval_refs(ld, n, "mute_time_intervals", path, &r->mute_time_intervals,
                         &r->n_mute_time_intervals) < 0 ||
        ld_interval_refs(ld, n, "active_time_intervals", path, &r->active_time_intervals,
                         &r->n_active_time_intervals) < 0)
        goto out;
    if (parent == NULL && r->n_mute_time_intervals > 0) {
        ld_fail(ld, n, path, "root route must not have any mute time intervals");
        goto out;
    }
    if (parent == NULL && r->n_active_time_intervals > 0) {
        ld_fail(ld, n, path, "root route must not have any active time intervals");
        goto out;
    }
    v = ynode_get(n, "escalation") ? ynode_get(n, "escalation")->value : NULL;
    if (v != NULL && v->kind == YNODE_SCALAR && !v->plain && v->value[0] == '\0') {
        r->escalation = NULL; /* escalation: "" turns an inherited policy off */
    } else if (ld_str(ld, n, "escalation", path, &esc) < 0) {
        goto out;
    } else if (esc != NULL) {
        r->escalation = ld_find_policy(ld, esc);
        if (r->escalation == NULL) {
            path_key(p, path, "escalation");
            ld_fail(ld, v, p, "undefined escalation policy \"%s\" used in route", esc);
            goto out;
        }
    }
    if (route_key(r, parent) < 0) {
        ld_fail(ld, n, path, "out of memory");
        goto out;
    }
    children = ld_get(n, "routes");
    path_key(p, path, "routes");
    if (children != NULL && ld_seq(ld, children, p) < 0)
        goto out;
    nchild = (children != NULL ? children->n_items : 0) + extra_children;
    if (nchild > 0) {
        r->routes = calloc(nchild, sizeof(*r->routes));
        if (r->routes == NULL) {
            ld_fail(ld, n, path, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; children != NULL && i < children->n_items; i++) {
        char ip[CFG_PATH_MAX];

        path_idx(ip, p, i);
        r->routes[i].index = i;
        r->n_routes++;
        if (ld_route(ld, children->items[i], ip, &r->routes[i], r, NULL, 0) < 0)
            goto out;
    }
    rc = 0;
out:
    free(recv);
    free(esc);
    return rc;
}

int ld_routes(struct ld *ld)
{
    struct config *cfg = ld->cfg;
    const struct ynode *rn = ld_get(ld->main, "route");
    size_t nteam = 0;

    if (rn == NULL)
        return ld_fail(ld, ld->main, "", "no route provided in config");
    for (size_t i = 0; i < cfg->n_teams; i++)
        if (ld_get(ld->teams[i], "route") != NULL)
            nteam++;
    cfg->root = calloc(1, sizeof(*cfg->root));
    if (cfg->root == NULL)
        return ld_fail(ld, rn, "route", "out of memory");
    ld->team = NULL;
    ld->fdir = NULL;
    if (ld_route(ld, rn, "route", cfg->root, NULL, NULL, nteam) < 0)
        return -1;
    for (size_t i = 0; i < cfg->n_teams; i++) {
        const struct ynode *tn = ld_get(ld->teams[i], "route");
        struct route *r;

        if (tn == NULL)
            continue;
        r = &cfg->root->routes[cfg->root->n_routes];
        r->index = cfg->root->n_routes;
        cfg->root->n_routes++;
        ld->team = cfg->teams[i].name;
        ld->fdir = ld->team_dirs[i];
        if (ld_route(ld, tn, "route", r, cfg->root, &cfg->teams[i].matchers, 0) < 0)
            return -1;
    }
    ld->team = NULL;
    return 0;
}

static size_t count_routes(const struct route *r)
{
    size_t n = 1;

    for (size_t i = 0; i < r->n_routes; i++)
        n += count_routes(&r->routes[i]);
    return n;
}

size_t config_count_routes(const struct config *cfg)
{
    return cfg->root == NULL ? 0 : count_routes(cfg->root);
}

void policy_release(struct escalation_policy *p)
{
    free(p->name);
    for (size_t i = 0; i < p->n_steps; i++)
        free(p->steps[i].receivers);
    free(p->steps);
    memset(p, 0, sizeof(*p));
}

static int ld_policy(struct ld *ld, const struct ynode *n, const char *path,
                     struct escalation_policy *pol)
{
    static const char *const keys[] = {
        "name", "steps", "repeat", "ack_timeout", "reopen_on_new_alert", NULL};
    static const char *const step_keys[] = {"after", "receivers", NULL};
    const struct ynode *steps;
    long long repeat = 0;
    char p[CFG_PATH_MAX];

    pol->reopen_on_new_alert = true;
    pol->team = ld->team;
    if (ld_map(ld, n, path, keys) < 0 || ld_str(ld, n, "name", path, &pol->name) < 0)
        return -1;
    if (pol->name == NULL || pol->name[0] == '\0')
        return ld_missing(ld, n, path, "name");
    if (strchr(pol->name, '/') != NULL) {
        path_key(p, path, "name");
        return ld_fail(ld, ld_get(n, "name"), p, "escalation policy names must not contain '/'");
    }
    if (ld->team != NULL) {
        size_t len = strlen(ld->team) + strlen(pol->name) + 2;
        char *full = malloc(len);

        if (full == NULL)
            return ld_fail(ld, n, path, "out of memory");
        snprintf(full, len, "%s/%s", ld->team, pol->name);
        free(pol->name);
        pol->name = full;
    }
    if (ld_int(ld, n, "repeat", path, 0, 1000, &repeat) < 0 ||
        ld_duration(ld, n, "ack_timeout", path, &pol->ack_timeout, NULL) < 0 ||
        ld_bool(ld, n, "reopen_on_new_alert", path, &pol->reopen_on_new_alert) < 0)
        return -1;
    pol->repeat = (int)repeat;
    steps = ld_get(n, "steps");
    if (steps == NULL)
        return ld_missing(ld, n, path, "steps");
    path_key(p, path, "steps");
    if (ld_seq(ld, steps, p) < 0)
        return -1;
    if (steps->n_items == 0)
        return ld_fail(ld, steps, p, "an escalation policy needs at least one step");
    pol->steps = calloc(steps->n_items, sizeof(*pol->steps));
    if (pol->steps == NULL)
        return ld_fail(ld, steps, p, "out of memory");
    for (size_t i = 0; i < steps->n_items; i++) {
        const struct ynode *s = steps->items[i];
        struct escalation_step *st = &pol->steps[i];
        const struct ynode *rl;
        char sp[CFG_PATH_MAX], rp[CFG_PATH_MAX];

        pol->n_steps++;
        path_idx(sp, p, i);
        if (ld_map(ld, s, sp, step_keys) < 0 ||
            ld_duration(ld, s, "after", sp, &st->after, NULL) < 0)
            return -1;
        if (i > 0 && st->after < pol->steps[i - 1].after) {
            char a[DURATION_STRMAX], b[DURATION_STRMAX];
            char ap[CFG_PATH_MAX];

            path_key(ap, sp, "after");
            return ld_fail(ld, ld_get(s, "after"), ap,
                           "%s is earlier than the previous step's %s; steps must be in order",
                           duration_format(st->after, a, sizeof(a)),
                           duration_format(pol->steps[i - 1].after, b, sizeof(b)));
        }
        rl = ld_get(s, "receivers");
        if (rl == NULL)
            return ld_missing(ld, s, sp, "receivers");
        path_key(rp, sp, "receivers");
        if (ld_seq(ld, rl, rp) < 0)
            return -1;
        if (rl->n_items == 0)
            return ld_fail(ld, rl, rp, "a step needs at least one receiver");
        st->receivers = calloc(rl->n_items, sizeof(*st->receivers));
        if (st->receivers == NULL)
            return ld_fail(ld, rl, rp, "out of memory");
        for (size_t j = 0; j < rl->n_items; j++) {
            const struct ynode *it = rl->items[j];
            char ip[CFG_PATH_MAX];

            path_idx(ip, rp, j);
            if (it->kind != YNODE_SCALAR || ynode_is_null(it))
                return ld_fail(ld, it, ip, "expected a receiver name, got %s", ynode_kind_name(it));
            st->receivers[j] = ld_find_receiver(ld, it->value);
            if (st->receivers[j] == NULL)
                return ld_fail(ld, it, ip, "undefined receiver \"%s\" used in escalation policy",
                               it->value);
            st->n_receivers++;
        }
    }
    return 0;
}

static int ld_policy_list(struct ld *ld, const struct ynode *file)
{
    const struct ynode *l = ld_get(file, "escalation_policies");
    struct config *cfg = ld->cfg;

    if (l == NULL)
        return 0;
    if (ld_seq(ld, l, "escalation_policies") < 0)
        return -1;
    for (size_t i = 0; i < l->n_items; i++) {
        struct escalation_policy *pol = &cfg->policies[cfg->n_policies++];
        char p[CFG_PATH_MAX];

        path_idx(p, "escalation_policies", i);
        if (ld_policy(ld, l->items[i], p, pol) < 0)
            return -1;
        for (size_t j = 0; j + 1 < cfg->n_policies; j++) {
            if (strcmp(cfg->policies[j].name, pol->name) == 0) {
                char np[CFG_PATH_MAX];

                path_key(np, p, "name");
                return ld_fail(ld, ld_get(l->items[i], "name"), np,
                               "escalation policy name \"%s\" is not unique", pol->name);
            }
        }
    }
    return 0;
}

int ld_policies(struct ld *ld)
{
    struct config *cfg = ld->cfg;
    size_t total = 0;
    const struct ynode *l = ld_get(ld->main, "escalation_policies");

    if (l != NULL && l->kind == YNODE_SEQ)
        total += l->n_items;
    for (size_t i = 0; i < cfg->n_teams; i++) {
        l = ld_get(ld->teams[i], "escalation_policies");
        if (l != NULL && l->kind == YNODE_SEQ)
            total += l->n_items;
    }
    if (total > 0) {
        cfg->policies = calloc(total, sizeof(*cfg->policies));
        if (cfg->policies == NULL)
            return ld_fail(ld, ld->main, "", "out of memory");
    }
    ld->team = NULL;
    ld->fdir = NULL;
    if (ld_policy_list(ld, ld->main) < 0)
        return -1;
    for (size_t i = 0; i < cfg->n_teams; i++) {
        ld->team = cfg->teams[i].name;
        ld->fdir = ld->team_dirs[i];
        if (ld_policy_list(ld, ld->teams[i]) < 0)
            return -1;
    }
    ld->team = NULL;
    return 0;
}

static int ld_equal(struct ld *ld, const struct ynode *n, const char *path, struct inhibit_rule *ir)
{
    const struct ynode *v = ld_get(n, "equal");
    char p[CFG_PATH_MAX];

    if (ld_strlist(ld, n, "equal", path, &ir->equal, &ir->n_equal) < 0)
        return -1;
    path_key(p, path, "equal");
    for (size_t i = 0; i < ir->n_equal; i++) {
        if (!label_name_valid(ir->equal[i])) {
            char ip[CFG_PATH_MAX];

            path_idx(ip, p, i);
            return ld_fail(ld, v->items[i], ip, "invalid label name \"%s\"", ir->equal[i]);
        }
    }
    return 0;
}

int ld_inhibit_rules(struct ld *ld, const struct ynode *root)
{
    static const char *const keys[] = {
        "source_match",    "source_match_re", "source_matchers", "target_match",
        "target_match_re", "target_matchers", "equal",           NULL};
    const struct ynode *l = ld_get(root, "inhibit_rules");
    struct config *cfg = ld->cfg;

    if (l == NULL)
        return 0;
    if (ld_seq(ld, l, "inhibit_rules") < 0)
        return -1;
    if (l->n_items > 0) {
        cfg->inhibit_rules = calloc(l->n_items, sizeof(*cfg->inhibit_rules));
        if (cfg->inhibit_rules == NULL)
            return ld_fail(ld, l, "inhibit_rules", "out of memory");
    }
    for (size_t i = 0; i < l->n_items; i++) {
        struct inhibit_rule *ir = &cfg->inhibit_rules[cfg->n_inhibit_rules++];
        char p[CFG_PATH_MAX];

        path_idx(p, "inhibit_rules", i);
        if (ld_map(ld, l->items[i], p, keys) < 0 ||
            ld_matchers(ld, l->items[i], "source_", p, &ir->source) < 0 ||
            ld_matchers(ld, l->items[i], "target_", p, &ir->target) < 0 ||
            ld_equal(ld, l->items[i], p, ir) < 0)
            return -1;
    }
    return 0;
}
