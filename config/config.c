/*
 * config.c - config_load(): the top level of the loader, global, teams, ack,
 * api, retention, and freeing.
 *
 * The load runs in phases so that every cross-reference can be resolved to a
 * pointer into an array that never moves afterwards:
 *   1. parse the main file and every team file into node trees;
 *   2. global, templates, time intervals, teams (names and matchers);
 *   3. receivers of the main file then of each team, in one array sized up
 *      front (team receivers are named "team/name");
 *   4. escalation policies (they point at receivers), the same way;
 *   5. the route tree (it points at receivers, policies, time intervals);
 *   6. inhibit rules, ack, api, retention.
 * The first error stops the load; the half-built config is freed with
 * config_free(), which copes with any prefix of the phases.
 */
#include "config/load.h"

#include "core/error.h"

#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RESOLVE_TIMEOUT     (5 * 60 * 1000LL)
#define DEFAULT_LINK_EXPIRY         (7 * 24 * 3600 * 1000LL)
#define DEFAULT_RETENTION_ALERTS    (120 * 3600 * 1000LL)
#define DEFAULT_RETENTION_SILENCES  (120 * 3600 * 1000LL)
#define DEFAULT_RETENTION_INCIDENTS (30 * 24 * 3600 * 1000LL)
#define DEFAULT_RETENTION_AUDIT     (90 * 24 * 3600 * 1000LL)
#define DEFAULT_MAX_BODY_BYTES      (8u << 20)
#define DEFAULT_PAGERDUTY_URL       "https://events.pagerduty.com/v2/enqueue"
#define DEFAULT_TWILIO_API_URL      "https://api.twilio.com"

static const char *const top_keys[] = {"global",
                                       "route",
                                       "receivers",
                                       "inhibit_rules",
                                       "templates",
                                       "time_intervals",
                                       "mute_time_intervals",
                                       "escalation_policies",
                                       "teams",
                                       "ack",
                                       "api",
                                       "retention",
                                       NULL};

static const char *const team_keys[] = {
    "name", "matchers", "route", "receivers", "escalation_policies", NULL};

const char *config_secret_redacted(const struct secret *s)
{
    return s != NULL && s->value != NULL ? "<secret>" : "";
}

const struct receiver *config_find_receiver(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_receivers; i++)
        if (cfg->receivers[i].name != NULL && strcmp(cfg->receivers[i].name, name) == 0)
            return &cfg->receivers[i];
    return NULL;
}

const struct escalation_policy *config_find_policy(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_policies; i++)
        if (cfg->policies[i].name != NULL && strcmp(cfg->policies[i].name, name) == 0)
            return &cfg->policies[i];
    return NULL;
}

const struct team *config_find_team(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_teams; i++)
        if (cfg->teams[i].name != NULL && strcmp(cfg->teams[i].name, name) == 0)
            return &cfg->teams[i];
    return NULL;
}

const struct time_interval *config_find_time_interval(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_time_intervals; i++)
        if (cfg->time_intervals[i].name != NULL && strcmp(cfg->time_intervals[i].name, name) == 0)
            return &cfg->time_intervals[i];
    return NULL;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->file);
    free(cfg->original);
    free(cfg->global.smtp_from);
    free(cfg->global.smtp_hello);
    free(cfg->global.smtp_smarthost);
    free(cfg->global.smtp_auth_username);
    secret_release(&cfg->global.smtp_auth_password);
    secret_release(&cfg->global.smtp_auth_secret);
    free(cfg->global.smtp_auth_identity);
    secret_release(&cfg->global.slack_api_url);
    free(cfg->global.pagerduty_url);
    free(cfg->global.twilio_api_url);
    http_config_release(&cfg->global.http);
    if (cfg->root != NULL)
        route_release(cfg->root);
    free(cfg->root);
    for (size_t i = 0; i < cfg->n_receivers; i++)
        receiver_release(&cfg->receivers[i]);
    free(cfg->receivers);
    for (size_t i = 0; i < cfg->n_inhibit_rules; i++) {
        matchers_release(&cfg->inhibit_rules[i].source);
        matchers_release(&cfg->inhibit_rules[i].target);
        strv_free(cfg->inhibit_rules[i].equal, cfg->inhibit_rules[i].n_equal);
    }
    free(cfg->inhibit_rules);
    for (size_t i = 0; i < cfg->n_policies; i++)
        policy_release(&cfg->policies[i]);
    free(cfg->policies);
    for (size_t i = 0; i < cfg->n_teams; i++) {
        free(cfg->teams[i].name);
        free(cfg->teams[i].file);
        matchers_release(&cfg->teams[i].matchers);
    }
    free(cfg->teams);
    for (size_t i = 0; i < cfg->n_time_intervals; i++)
        time_interval_release(&cfg->time_intervals[i]);
    free(cfg->time_intervals);
    strv_free(cfg->template_files, cfg->n_template_files);
    secret_release(&cfg->ack.secret);
    for (size_t i = 0; i < cfg->api.n_tokens; i++) {
        free(cfg->api.tokens[i].name);
        secret_release(&cfg->api.tokens[i].token);
    }
    free(cfg->api.tokens);
    free(cfg);
}

static int ld_global(struct ld *ld, const struct ynode *root)
{
    static const char *const keys[] = {
        "resolve_timeout", "http_config", "smtp_from", "smtp_hello", "smtp_smarthost",
        "smtp_auth_username", "smtp_auth_password", "smtp_auth_password_file",
        "smtp_auth_password_env", "smtp_auth_secret", "smtp_auth_secret_file",
        "smtp_auth_secret_env", "smtp_auth_identity", "smtp_require_tls", "slack_api_url",
        "slack_api_url_file", "slack_api_url_env", "pagerduty_url", "twilio_api_url",
        /* Alertmanager settings of integrations amrouter does not have: accepted, unused. */
        "opsgenie_api_url", "opsgenie_api_key", "opsgenie_api_key_file", "wechat_api_url",
        "wechat_api_secret", "wechat_api_corp_id", "victorops_api_url", "victorops_api_key",
        "victorops_api_key_file", "telegram_api_url", "webex_api_url", NULL};
    struct global_config *g = &ld->cfg->global;
    const struct ynode *n = ld_get(root, "global");

    g->resolve_timeout = DEFAULT_RESOLVE_TIMEOUT;
    g->smtp_require_tls = true;
    g->http.follow_redirects = true;
    g->http.connect_timeout = 5000;
    g->http.timeout = 30000;
    g->smtp_hello = strdup("localhost");
    g->pagerduty_url = strdup(DEFAULT_PAGERDUTY_URL);
    g->twilio_api_url = strdup(DEFAULT_TWILIO_API_URL);
    if (g->smtp_hello == NULL || g->pagerduty_url == NULL || g->twilio_api_url == NULL)
        return ld_fail(ld, root, "global", "out of memory");
    if (n == NULL)
        return 0;
    if (ld_map(ld, n, "global", keys) < 0)
        return -1;
    for (size_t i = 0; i < n->n_pairs; i++) {
        const struct ynode *v = n->pairs[i].value;
        const char *k = n->pairs[i].key->value;

        /* The unused Alertmanager keys must still be strings. */
        if ((strncmp(k, "opsgenie", 8) == 0 || strncmp(k, "wechat", 6) == 0 ||
             strncmp(k, "victorops", 9) == 0 || strncmp(k, "telegram", 8) == 0 ||
             strncmp(k, "webex", 5) == 0) &&
            !ynode_is_null(v) && v->kind != YNODE_SCALAR) {
            char p[CFG_PATH_MAX];

            path_key(p, "global", k);
            return ld_fail(ld, v, p, "expected a string, got %s", ynode_kind_name(v));
        }
    }
    if (ld_duration(ld, n, "resolve_timeout", "global", &g->resolve_timeout, NULL) < 0 ||
        ld_http_config(ld, n, "http_config", "global", &g->http) < 0 ||
        ld_str(ld, n, "smtp_from", "global", &g->smtp_from) < 0 ||
        ld_str(ld, n, "smtp_hello", "global", &g->smtp_hello) < 0 ||
        ld_str(ld, n, "smtp_smarthost", "global", &g->smtp_smarthost) < 0 ||
        ld_str(ld, n, "smtp_auth_username", "global", &g->smtp_auth_username) < 0 ||
        ld_secret(ld, n, "smtp_auth_password", "global", &g->smtp_auth_password) < 0 ||
        ld_secret(ld, n, "smtp_auth_secret", "global", &g->smtp_auth_secret) < 0 ||
        ld_str(ld, n, "smtp_auth_identity", "global", &g->smtp_auth_identity) < 0 ||
        ld_bool(ld, n, "smtp_require_tls", "global", &g->smtp_require_tls) < 0 ||
        ld_secret(ld, n, "slack_api_url", "global", &g->slack_api_url) < 0 ||
        ld_str(ld, n, "pagerduty_url", "global", &g->pagerduty_url) < 0 ||
        ld_str(ld, n, "twilio_api_url", "global", &g->twilio_api_url) < 0)
        return -1;
    if (g->slack_api_url.value != NULL) {
        char k[64];
        const struct ynode *v = ld_secret_node(n, "slack_api_url", k, sizeof(k));
        char kp[CFG_PATH_MAX];

        path_key(kp, "global", k);
        if (ld_check_url(ld, v, kp, g->slack_api_url.value, true) < 0)
            return -1;
    }
    if (ld_get(n, "pagerduty_url") != NULL &&
        ld_check_url(ld, ld_get(n, "pagerduty_url"), "global.pagerduty_url", g->pagerduty_url,
                     false) < 0)
        return -1;
    if (ld_get(n, "twilio_api_url") != NULL &&
        ld_check_url(ld, ld_get(n, "twilio_api_url"), "global.twilio_api_url", g->twilio_api_url,
                     false) < 0)
        return -1;
    if (g->resolve_timeout <= 0) {
        const struct ynode *v = ld_get(n, "resolve_timeout");

        return ld_fail(ld, v != NULL ? v : n, "global.resolve_timeout",
                       "resolve_timeout cannot be zero");
    }
    return 0;
}

static bool has_glob_chars(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Expands a list of globs relative to dir. Literal names must exist when must_exist. */
static int expand_globs(struct ld *ld, const struct ynode *list, const char *path, const char *dir,
                        bool must_exist, char ***out, size_t *n)
{
    if (ld_seq(ld, list, path) < 0)
        return -1;
    for (size_t i = 0; i < list->n_items; i++) {
        const struct ynode *it = list->items[i];
        char ip[CFG_PATH_MAX];
        char *pattern;
        glob_t g;
        int grc;

        path_idx(ip, path, i);
        if (it->kind != YNODE_SCALAR || ynode_is_null(it))
            return ld_fail(ld, it, ip, "expected a file name or glob, got %s", ynode_kind_name(it));
        pattern = ld_relpath(dir, it->value);
        if (pattern == NULL)
            return ld_fail(ld, it, ip, "out of memory");
        grc = glob(pattern, GLOB_ERR, NULL, &g);
        if (grc == GLOB_NOMATCH) {
            bool literal = !has_glob_chars(it->value);

            if (literal && must_exist) {
                ld_fail(ld, it, ip, "cannot read \"%s\": %s", pattern, strerror(ENOENT));
                free(pattern);
                return -1;
            }
            free(pattern);
            continue;
        }
        if (grc != 0) {
            ld_fail(ld, it, ip, "cannot expand \"%s\"", pattern);
            free(pattern);
            return -1;
        }
        free(pattern);
        for (size_t k = 0; k < g.gl_pathc; k++) {
            char **nv = realloc(*out, (*n + 1) * sizeof(*nv));

            if (nv == NULL) {
                globfree(&g);
                return ld_fail(ld, it, ip, "out of memory");
            }
            *out = nv;
            nv[*n] = strdup(g.gl_pathv[k]);
            if (nv[*n] == NULL) {
                globfree(&g);
                return ld_fail(ld, it, ip, "out of memory");
            }
            (*n)++;
        }
        globfree(&g);
    }
    return 0;
}

static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    char *d;

    if (copy == NULL)
        return NULL;
    d = strdup(dirname(copy));
    free(copy);
    return d;
}

static int ld_teams(struct ld *ld, const char *dir)
{
    struct config *cfg = ld->cfg;
    const struct ynode *l = ld_get(ld->main, "teams");
    char **files = NULL;
    size_t nfiles = 0;
    int rc = -1;

    if (l == NULL)
        return 0;
    if (expand_globs(ld, l, "teams", dir, true, &files, &nfiles) < 0)
        goto out;
    if (nfiles == 0) {
        rc = 0;
        goto out;
    }
    cfg->teams = calloc(nfiles, sizeof(*cfg->teams));
    ld->teams = calloc(nfiles, sizeof(*ld->teams));
    ld->team_dirs = calloc(nfiles, sizeof(*ld->team_dirs));
    if (cfg->teams == NULL || ld->teams == NULL || ld->team_dirs == NULL) {
        ld_fail(ld, l, "teams", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nfiles; i++) {
        struct team *t = &cfg->teams[i];
        struct error e;
        const struct ynode *tn, *m;
        size_t len;
        char *text;

        cfg->n_teams++;
        t->file = files[i];
        files[i] = NULL;
        ld->team_dirs[i] = dir_of(t->file);
        if (ld->team_dirs[i] == NULL) {
            ld_fail(ld, l, "teams", "out of memory");
            goto out;
        }
        text = ld_read_file(t->file, &len, &e);
        if (text == NULL) {
            error_set(ld->err, "%s", e.msg);
            goto out;
        }
        if (yaml_parse(text, len, t->file, &ld->teams[i], ld->err) < 0) {
            free(text);
            goto out;
        }
        free(text);
        tn = ld->teams[i];
        if (ld_map(ld, tn, "", team_keys) < 0 || ld_str(ld, tn, "name", "", &t->name) < 0)
            goto out;
        if (t->name == NULL || t->name[0] == '\0') {
            ld_fail(ld, tn, "", "missing required field \"name\"");
            goto out;
        }
        if (strchr(t->name, '/') != NULL) {
            ld_fail(ld, ld_get(tn, "name"), "name", "team names must not contain '/'");
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->teams[j].name, t->name) == 0) {
                ld_fail(ld, ld_get(tn, "name"), "name",
                        "team name \"%s\" is not unique (also in %s)", t->name, cfg->teams[j].file);
                goto out;
            }
        }
        m = ld_get(tn, "matchers");
        if (m == NULL) {
            ld_fail(ld, tn, "", "missing required field \"matchers\"");
            goto out;
        }
        if (ld_matcher_strings(ld, m, "matchers", &t->matchers) < 0)
            goto out;
        if (t->matchers.n == 0) {
            ld_fail(ld, m, "matchers", "a team needs at least one matcher");
            goto out;
        }
    }
    rc = 0;
out:
    strv_free(files, nfiles);
    return rc;
}

static int ld_receiver_list(struct ld *ld, const struct ynode *file)
{
    const struct ynode *l = ld_get(file, "receivers");
    struct config *cfg = ld->cfg;

    if (l == NULL)
        return 0;
    if (ld_seq(ld, l, "receivers") < 0)
        return -1;
    for (size_t i = 0; i < l->n_items; i++) {
        struct receiver *r = &cfg->receivers[cfg->n_receivers++];
        char p[CFG_PATH_MAX];

        path_idx(p, "receivers", i);
        r->team = ld->team;
        if (ld_receiver(ld, l->items[i], p, r) < 0)
            return -1;
        for (size_t j = 0; j + 1 < cfg->n_receivers; j++) {
            if (strcmp(cfg->receivers[j].name, r->name) == 0) {
                char np[CFG_PATH_MAX];

                path_key(np, p, "name");
                return ld_fail(ld, ld_get(l->items[i], "name"), np,
                               "notification config name \"%s\" is not unique", r->name);
            }
        }
    }
    return 0;
}

static int ld_receivers(struct ld *ld, const char *dir)
{
    struct config *cfg = ld->cfg;
    size_t total = 0;
    const struct ynode *l = ld_get(ld->main, "receivers");

    if (l != NULL && l->kind == YNODE_SEQ)
        total += l->n_items;
    for (size_t i = 0; i < cfg->n_teams; i++) {
        l = ld_get(ld->teams[i], "receivers");
        if (l != NULL && l->kind == YNODE_SEQ)
            total += l->n_items;
    }
    if (total > 0) {
        cfg->receivers = calloc(total, sizeof(*cfg->receivers));
        if (cfg->receivers == NULL)
            return ld_fail(ld, ld->main, "", "out of memory");
    }
    ld->team = NULL;
    ld->fdir = dir;
    ld->file = cfg->file;
    if (ld_receiver_list(ld, ld->main) < 0)
        return -1;
    for (size_t i = 0; i < cfg->n_teams; i++) {
        ld->team = cfg->teams[i].name;
        ld->fdir = ld->team_dirs[i];
        ld->file = cfg->teams[i].file;
        if (ld_receiver_list(ld, ld->teams[i]) < 0)
            return -1;
    }
    ld->team = NULL;
    ld->fdir = dir;
    return 0;
}

static int ld_ack(struct ld *ld, const struct ynode *root)
{
    static const char *const keys[] = {"link_expiry", "secret", "secret_file", "secret_env", NULL};
    const struct ynode *n = ld_get(root, "ack");
    struct config *cfg = ld->cfg;

    cfg->ack.link_expiry = DEFAULT_LINK_EXPIRY;
    if (n == NULL)
        return 0;
    if (ld_map(ld, n, "ack", keys) < 0 ||
        ld_duration(ld, n, "link_expiry", "ack", &cfg->ack.link_expiry, NULL) < 0 ||
        ld_secret(ld, n, "secret", "ack", &cfg->ack.secret) < 0)
        return -1;
    if (cfg->ack.link_expiry <= 0)
        return ld_fail(ld, ld_get(n, "link_expiry"), "ack.link_expiry", "must be positive");
    if (cfg->ack.secret.value != NULL && strlen(cfg->ack.secret.value) < 16) {
        const struct ynode *v = ld_get(n, "secret");

        if (v == NULL)
            v = ld_get(n, "secret_file");
        if (v == NULL)
            v = ld_get(n, "secret_env");
        return ld_fail(ld, v, "ack.secret", "the secret must be at least 16 bytes long");
    }
    return 0;
}

static int ld_scopes(struct ld *ld, const struct ynode *n, const char *path, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned bit;
    } scopes[] = {{"ingest", SCOPE_INGEST},
                  {"read", SCOPE_READ},
                  {"silence", SCOPE_SILENCE},
                  {"ack", SCOPE_ACK},
                  {"admin", SCOPE_ADMIN}};
    const struct ynode *l = ld_get(n, "scopes");
    char p[CFG_PATH_MAX];

    path_key(p, path, "scopes");
    if (l == NULL)
        return ld_missing(ld, n, path, "scopes");
    if (ld_seq(ld, l, p) < 0)
        return -1;
    for (size_t i = 0; i < l->n_items; i++) {
        const struct ynode *it = l->items[i];
        char ip[CFG_PATH_MAX];
        bool found = false;

        path_idx(ip, p, i);
        for (size_t k = 0; it->kind == YNODE_SCALAR && k < sizeof(scopes) / sizeof(scopes[0]);
             k++) {
            if (strcmp(it->value, scopes[k].name) == 0) {
                *out |= scopes[k].bit;
                found = true;
            }
        }
        if (!found)
            return ld_fail(ld, it, ip,
                           "unknown scope \"%s\": use ingest, read, silence, ack or admin",
                           it->kind == YNODE_SCALAR ? it->value : "");
    }
    if (*out == 0)
        return ld_fail(ld, l, p, "a token needs at least one scope");
    return 0;
}

static int ld_api(struct ld *ld, const struct ynode *root)
{
    static const char *const keys[] = {"tokens", "max_body_bytes", NULL};
    static const char *const tkeys[] = {"name",   "token", "token_file", "token_env",
                                        "scopes", "team",  NULL};
    const struct ynode *n = ld_get(root, "api");
    const struct ynode *l;
    struct config *cfg = ld->cfg;
    long long maxb = DEFAULT_MAX_BODY_BYTES;

    cfg->api.max_body_bytes = DEFAULT_MAX_BODY_BYTES;
    if (n == NULL)
        return 0;
    if (ld_map(ld, n, "api", keys) < 0 ||
        ld_int(ld, n, "max_body_bytes", "api", 1024, 1LL << 30, &maxb) < 0)
        return -1;
    cfg->api.max_body_bytes = (size_t)maxb;
    l = ld_get(n, "tokens");
    if (l == NULL)
        return 0;
    if (ld_seq(ld, l, "api.tokens") < 0)
        return -1;
    if (l->n_items > 0) {
        cfg->api.tokens = calloc(l->n_items, sizeof(*cfg->api.tokens));
        if (cfg->api.tokens == NULL)
            return ld_fail(ld, l, "api.tokens", "out of memory");
    }
    for (size_t i = 0; i < l->n_items; i++) {
        struct api_token *t = &cfg->api.tokens[cfg->api.n_tokens++];
        const struct ynode *it = l->items[i];
        char p[CFG_PATH_MAX];
        char *team = NULL;

        path_idx(p, "api.tokens", i);
        if (ld_map(ld, it, p, tkeys) < 0 || ld_str(ld, it, "name", p, &t->name) < 0)
            return -1;
        if (t->name == NULL || t->name[0] == '\0')
            return ld_missing(ld, it, p, "name");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->api.tokens[j].name, t->name) == 0) {
                char np[CFG_PATH_MAX];

                path_key(np, p, "name");
                return ld_fail(ld, ld_get(it, "name"), np, "token name \"%s\" is not unique",
                               t->name);
            }
        }
        if (ld_secret(ld, it, "token", p, &t->token) < 0)
            return -1;
        if (t->token.value == NULL)
            return ld_fail(ld, it, p, "one of token, token_file or token_env must be configured");
        if (strlen(t->token.value) < 16) {
            const struct ynode *v = ld_get(it, "token");

            if (v == NULL)
                v = ld_get(it, "token_file");
            if (v == NULL)
                v = ld_get(it, "token_env");
            return ld_fail(ld, v, p, "the token must be at least 16 bytes long");
        }
        if (ld_scopes(ld, it, p, &t->scopes) < 0 || ld_str(ld, it, "team", p, &team) < 0)
            return -1;
        if (team != NULL) {
            const struct team *tm = config_find_team(cfg, team);

            if (tm == NULL) {
                char tp[CFG_PATH_MAX];

                path_key(tp, p, "team");
                ld_fail(ld, ld_get(it, "team"), tp, "undefined team \"%s\"", team);
                free(team);
                return -1;
            }
            t->team = tm->name;
            free(team);
        }
    }
    return 0;
}

static int ld_retention(struct ld *ld, const struct ynode *root)
{
    static const char *const keys[] = {"alerts", "silences", "incidents", "audit", NULL};
    static const char *const paths[] = {"retention.alerts", "retention.silences",
                                        "retention.incidents", "retention.audit"};
    const struct ynode *n = ld_get(root, "retention");
    struct config *cfg = ld->cfg;
    int64_t *vals[4];

    cfg->retention.alerts = DEFAULT_RETENTION_ALERTS;
    cfg->retention.silences = DEFAULT_RETENTION_SILENCES;
    cfg->retention.incidents = DEFAULT_RETENTION_INCIDENTS;
    cfg->retention.audit = DEFAULT_RETENTION_AUDIT;
    if (n == NULL)
        return 0;
    vals[0] = &cfg->retention.alerts;
    vals[1] = &cfg->retention.silences;
    vals[2] = &cfg->retention.incidents;
    vals[3] = &cfg->retention.audit;
    if (ld_map(ld, n, "retention", keys) < 0)
        return -1;
    for (size_t i = 0; i < 4; i++) {
        if (ld_duration(ld, n, keys[i], "retention", vals[i], NULL) < 0)
            return -1;
        if (*vals[i] <= 0)
            return ld_fail(ld, ld_get(n, keys[i]), paths[i], "must be positive");
    }
    return 0;
}

static void ld_release(struct ld *ld)
{
    ynode_free(ld->main);
    for (size_t i = 0; ld->teams != NULL && i < ld->cfg->n_teams; i++)
        ynode_free(ld->teams[i]);
    free(ld->teams);
    for (size_t i = 0; ld->team_dirs != NULL && i < ld->cfg->n_teams; i++)
        free(ld->team_dirs[i]);
    free(ld->team_dirs);
}

struct config *config_load_string(const char *text, const char *name, const char *dir,
                                  struct error *err)
{
    struct config *cfg = calloc(1, sizeof(*cfg));
    struct ld ld;
    const struct ynode *tl;
    bool ok = false;

    if (dir == NULL)
        dir = ".";
    memset(&ld, 0, sizeof(ld));
    ld.cfg = cfg;
    ld.err = err;
    ld.fdir = dir;
    if (cfg == NULL) {
        error_set(err, "%s: out of memory", name);
        return NULL;
    }
    cfg->file = strdup(name);
    cfg->original = strdup(text);
    if (cfg->file == NULL || cfg->original == NULL) {
        error_set(err, "%s: out of memory", name);
        goto out;
    }
    if (yaml_parse(text, strlen(text), name, &ld.main, err) < 0)
        goto out;
    if (ld_map(&ld, ld.main, "", top_keys) < 0 || ld_global(&ld, ld.main) < 0)
        goto out;
    tl = ld_get(ld.main, "templates");
    if (tl != NULL && expand_globs(&ld, tl, "templates", dir, false, &cfg->template_files,
                                   &cfg->n_template_files) < 0)
        goto out;
    if (ld_time_intervals(&ld, ld.main) < 0 || ld_teams(&ld, dir) < 0 ||
        ld_receivers(&ld, dir) < 0 || ld_policies(&ld) < 0)
        goto out;
    ld.fdir = dir;
    if (ld_routes(&ld) < 0)
        goto out;
    ld.team = NULL;
    ld.fdir = dir;
    if (ld_inhibit_rules(&ld, ld.main) < 0 || ld_ack(&ld, ld.main) < 0 ||
        ld_api(&ld, ld.main) < 0 || ld_retention(&ld, ld.main) < 0)
        goto out;
    ok = true;
out:
    ld_release(&ld);
    if (!ok) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

struct config *config_load(const char *path, struct error *err)
{
    struct config *cfg;
    char *text, *dir;
    size_t len;

    text = ld_read_file(path, &len, err);
    if (text == NULL)
        return NULL;
    if (strlen(text) != len) {
        free(text);
        error_set(err, "%s: the file contains a NUL byte", path);
        return NULL;
    }
    dir = dir_of(path);
    if (dir == NULL) {
        free(text);
        error_set(err, "%s: out of memory", path);
        return NULL;
    }
    cfg = config_load_string(text, path, dir, err);
    free(dir);
    free(text);
    return cfg;
}
