/*
 * auth.c - bearer tokens, scopes, team limits, audit records, admin endpoints.
 *
 * Invariants: a->cur is the token set in force; sets replaced by a reload go
 * to a->retired and are freed only in auth_free, so a principal pointer taken
 * by a request in flight never dangles. a->mu guards cur and retired.
 */
#include "api/auth.h"

#include "api/api.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/matcher.h"
#include "core/metrics.h"
#include "core/timefmt.h"
#include "core/token.h"
#include "storage/audit.h"

#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tok {
    char *name;
    char *team;                    /* NULL = every team */
    struct matchers team_matchers; /* the team file's matchers, which its silences must carry */
    unsigned scopes;
    unsigned char digest[SHA256_DIGEST_LENGTH];
};

struct tokset {
    struct tok *toks;
    size_t n;
    struct tokset *next; /* in the retired list */
};

struct auth {
    pthread_mutex_t mu;
    struct tokset *cur;
    struct tokset *retired;
    const struct api *api;
    struct audit *audit;
};

static void tokset_free(struct tokset *ts)
{
    if (ts == NULL)
        return;
    for (size_t i = 0; i < ts->n; i++) {
        free(ts->toks[i].name);
        free(ts->toks[i].team);
        matchers_release(&ts->toks[i].team_matchers);
    }
    free(ts->toks);
    free(ts);
}

static struct tokset *tokset_from(const struct config *cfg, struct error *err)
{
    struct tokset *ts = calloc(1, sizeof(*ts));

    if (ts == NULL)
        goto oom;
    if (cfg->api.n_tokens == 0)
        return ts;
    ts->toks = calloc(cfg->api.n_tokens, sizeof(*ts->toks));
    if (ts->toks == NULL)
        goto oom;
    for (size_t i = 0; i < cfg->api.n_tokens; i++) {
        const struct api_token *t = &cfg->api.tokens[i];
        struct tok *o = &ts->toks[ts->n++];
        const char *secret = t->token.value != NULL ? t->token.value : "";

        o->name = strdup(t->name);
        o->team = t->team != NULL ? strdup(t->team) : NULL;
        if (o->name == NULL || (t->team != NULL && o->team == NULL))
            goto oom;
        o->scopes = t->scopes;
        for (size_t k = 0; t->team != NULL && k < cfg->n_teams; k++) {
            if (strcmp(cfg->teams[k].name, t->team) == 0 &&
                matchers_copy(&o->team_matchers, &cfg->teams[k].matchers) < 0)
                goto oom;
        }
        SHA256((const unsigned char *)secret, strlen(secret), o->digest);
    }
    return ts;
oom:
    tokset_free(ts);
    error_set(err, "out of memory");
    return NULL;
}

struct auth *auth_new(const struct config *cfg, const struct api *api, struct audit *audit,
                      struct error *err)
{
    struct auth *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    a->api = api;
    a->audit = audit;
    a->cur = tokset_from(cfg, err);
    if (a->cur == NULL) {
        auth_free(a);
        return NULL;
    }
    return a;
}

void auth_free(struct auth *a)
{
    if (a == NULL)
        return;
    tokset_free(a->cur);
    while (a->retired != NULL) {
        struct tokset *n = a->retired->next;

        tokset_free(a->retired);
        a->retired = n;
    }
    pthread_mutex_destroy(&a->mu);
    free(a);
}

int auth_reload_file(struct auth *a, const char *path, struct error *err)
{
    struct config *cfg = config_load(path, err);
    struct tokset *ts;

    if (cfg == NULL)
        return -1;
    ts = tokset_from(cfg, err);
    config_free(cfg);
    if (ts == NULL)
        return -1;
    pthread_mutex_lock(&a->mu);
    a->cur->next = a->retired;
    a->retired = a->cur;
    a->cur = ts;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

size_t auth_n_tokens(struct auth *a)
{
    size_t n;

    pthread_mutex_lock(&a->mu);
    n = a->cur->n;
    pthread_mutex_unlock(&a->mu);
    return n;
}

static bool is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

void auth_warn_if_open(struct auth *a, const char *listen_address)
{
    char host[256];
    char port[16];
    struct error err = {{0}};

    if (auth_n_tokens(a) > 0)
        return;
    if (http_split_listen_address(listen_address, host, sizeof(host), port, sizeof(port), &err) ==
            0 &&
        host[0] != '\0' && is_loopback(host))
        return;
    log_warn("THE API IS OPEN: no api.tokens are configured and amrouter listens beyond "
             "loopback; anyone who can reach this port can post alerts, silence and ack. "
             "Configure api.tokens (docs/operations.md)",
             "listen", listen_address, NULL);
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, const char *x)
{
    size_t n = strlen(s), m = strlen(x);

    return n >= m && strcmp(s + n - m, x) == 0;
}

unsigned auth_required_scope(const char *method, const char *path)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;

    if (get && (strcmp(path, "/-/healthy") == 0 || strcmp(path, "/-/ready") == 0))
        return 0;
    /* Ack links are signed per incident; Twilio's webhook is signed by Twilio. */
    if ((get || post) && has_prefix(path, "/ack/"))
        return 0;
    if (post && strcmp(path, "/api/v2/sms/inbound") == 0)
        return 0;
    if (post && (strcmp(path, "/api/v1/alerts") == 0 || strcmp(path, "/api/v2/alerts") == 0))
        return SCOPE_INGEST;
    if ((post && strcmp(path, "/api/v2/silences") == 0) ||
        (strcmp(method, "DELETE") == 0 && has_prefix(path, "/api/v2/silence/")))
        return SCOPE_SILENCE;
    if (post && ((has_prefix(path, "/api/v2/incidents/") &&
                  (has_suffix(path, "/ack") || has_suffix(path, "/unack"))) ||
                 strcmp(path, "/api/v2/acks") == 0 || has_prefix(path, "/ui/ack/")))
        return SCOPE_ACK;
    if (post && has_prefix(path, "/ui/expire/"))
        return SCOPE_SILENCE;
    if (get && strcmp(path, "/api/v2/audit") != 0)
        return SCOPE_READ;
    return SCOPE_ADMIN;
}

static void refuse(struct http_response *resp, int status, const char *msg)
{
    static const char *const www[] = {"WWW-Authenticate", "Bearer realm=\"amrouter\"", NULL};

    http_respond_error_obj(resp, status, msg);
    if (status == 401)
        resp->headers = www;
}

static const char *scope_name(unsigned s)
{
    switch (s) {
    case SCOPE_INGEST:
        return "ingest";
    case SCOPE_READ:
        return "read";
    case SCOPE_SILENCE:
        return "silence";
    case SCOPE_ACK:
        return "ack";
    default:
        return "admin";
    }
}

/* The incident id in /api/v2/incidents/{id}/ack or /ui/ack/{id}, else 0. */
static uint64_t incident_id_of(const char *path)
{
    const char *p = NULL;
    char *end;
    unsigned long long v;

    if (has_prefix(path, "/api/v2/incidents/"))
        p = path + strlen("/api/v2/incidents/");
    else if (has_prefix(path, "/ui/ack/"))
        p = path + strlen("/ui/ack/");
    if (p == NULL || *p < '0' || *p > '9')
        return 0;
    v = strtoull(p, &end, 10);
    if (*end != '\0' && *end != '/')
        return 0;
    return (uint64_t)v;
}

/* A team-scoped token may ack only its team's incidents. True = allowed (or let the
 * handler answer, e.g. 404 for an unknown incident). */
static bool team_allows(const struct auth *a, const char *team, const char *path, char *why,
                        size_t whysz)
{
    uint64_t id;
    json_t *inc = NULL;
    int status = 0;
    struct error err = {{0}};
    const char *it;
    bool ok;

    if (strcmp(path, "/api/v2/acks") == 0) {
        snprintf(why, whysz, "token is limited to team %s: ack incidents by id, not by matchers",
                 team);
        return false;
    }
    id = incident_id_of(path);
    if (id == 0 || a->api == NULL || a->api->ops->get_incident == NULL)
        return true;
    if (a->api->ops->get_incident(a->api->engine, id, &inc, &status, &err) < 0)
        return true;
    it = json_string_value(json_object_get(inc, "team"));
    ok = it != NULL && strcmp(it, team) == 0;
    if (!ok)
        snprintf(why, whysz, "token is limited to team %s; incident %llu belongs to %s", team,
                 (unsigned long long)id, it != NULL ? it : "no team");
    json_decref(inc);
    return ok;
}

/* True when every matcher of team appears among the silence's JSON matchers. */
static bool has_team_matchers(const struct matchers *team, const json_t *ms)
{
    for (size_t i = 0; i < team->n; i++) {
        const struct matcher *t = &team->v[i];
        bool re = t->op == MATCH_RE || t->op == MATCH_NRE;
        bool eq = t->op == MATCH_EQ || t->op == MATCH_RE;
        bool found = false;
        size_t k;
        const json_t *m;

        json_array_foreach(ms, k, m)
        {
            const json_t *ie = json_object_get(m, "isEqual");
            const char *n = json_string_value(json_object_get(m, "name"));
            const char *v = json_string_value(json_object_get(m, "value"));

            if (n != NULL && v != NULL && strcmp(n, t->name) == 0 && strcmp(v, t->value) == 0 &&
                json_is_true(json_object_get(m, "isRegex")) == re &&
                (ie == NULL || json_is_null(ie) || json_is_true(ie)) == eq)
                found = true;
        }
        if (!found)
            return false;
    }
    return true;
}

/* A team-scoped token's silences must carry its team's matchers (creating one, and
 * the one it expires). True = allowed or for the handler to answer (bad JSON, 404). */
static bool team_silence_allows(const struct auth *a, const struct tok *t,
                                const struct http_request *req, char *why, size_t whysz)
{
    json_t *s = NULL;
    const char *id = NULL;
    bool ok = true;
    struct buf want;

    if (t->team_matchers.n == 0)
        return true;
    if (strcmp(req->method, "POST") == 0 && strcmp(req->path, "/api/v2/silences") == 0) {
        s = json_loadb(req->body, req->body_len, 0, NULL);
        if (s == NULL)
            return true;
    } else if (has_prefix(req->path, "/api/v2/silence/")) {
        id = req->path + strlen("/api/v2/silence/");
    } else if (has_prefix(req->path, "/ui/expire/")) {
        id = req->path + strlen("/ui/expire/");
    }
    if (id != NULL) {
        if (a->api == NULL || a->api->ops->get_silence == NULL)
            return true;
        s = a->api->ops->get_silence(a->api->engine, id);
        if (s == NULL)
            return true;
    }
    if (s != NULL)
        ok = has_team_matchers(&t->team_matchers, json_object_get(s, "matchers"));
    json_decref(s);
    if (!ok) {
        buf_init(&want, 512);
        matchers_format(&t->team_matchers, &want);
        snprintf(why, whysz,
                 "token is limited to team %s: the silence must carry the team's "
                 "matchers %s",
                 t->team, buf_str(&want));
        buf_release(&want);
    }
    return ok;
}

bool auth_guard(void *hook_ctx, struct http_request *req, struct http_response *resp)
{
    struct auth *a = hook_ctx;
    const char *h;
    const char *secret;
    unsigned char d[SHA256_DIGEST_LENGTH];
    const struct tok *found = NULL;
    unsigned need;
    char msg[256];

    pthread_mutex_lock(&a->mu);
    if (a->cur->n == 0) {
        pthread_mutex_unlock(&a->mu);
        return true;
    }
    need = auth_required_scope(req->method, req->path);
    h = http_header_get(req, "Authorization");
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
        secret = h + 7;
        while (*secret == ' ')
            secret++;
        SHA256((const unsigned char *)secret, strlen(secret), d);
        /* Every token is compared, match or not. */
        for (size_t i = 0; i < a->cur->n; i++) {
            if (CRYPTO_memcmp(d, a->cur->toks[i].digest, sizeof(d)) == 0 && found == NULL)
                found = &a->cur->toks[i];
        }
    }
    pthread_mutex_unlock(&a->mu);
    if (found != NULL) {
        req->principal = found->name;
        req->principal_team = found->team;
    }
    if (need == 0)
        return true;
    if (found == NULL) {
        refuse(resp, 401,
               h == NULL ? "authorization required: send Authorization: Bearer <token>"
                         : "invalid token");
        return false;
    }
    if ((found->scopes & SCOPE_ADMIN) == 0 && (found->scopes & need) == 0) {
        snprintf(msg, sizeof(msg), "token %s lacks the %s scope for %s %s", found->name,
                 scope_name(need), req->method, req->path);
        refuse(resp, 403, msg);
        return false;
    }
    if (need == SCOPE_ACK && found->team != NULL && (found->scopes & SCOPE_ADMIN) == 0 &&
        !team_allows(a, found->team, req->path, msg, sizeof(msg))) {
        refuse(resp, 403, msg);
        return false;
    }
    if (need == SCOPE_SILENCE && found->team != NULL && (found->scopes & SCOPE_ADMIN) == 0 &&
        !team_silence_allows(a, found, req, msg, sizeof(msg))) {
        refuse(resp, 403, msg);
        return false;
    }
    return true;
}

void auth_set_audit(struct auth *a, struct audit *audit)
{
    a->audit = audit;
}

void auth_reloaded(struct auth *a, const char *who, bool ok, const char *why)
{
    struct error err = {{0}};
    const char *file = a->api != NULL ? a->api->config_file : NULL;

    metrics_set(MET_RELOAD_OK, NULL, NULL, ok ? 1 : 0);
    if (ok) {
        metrics_set(MET_RELOAD_TIME, NULL, NULL, clock_now_ms() / 1000);
        if (file != NULL && auth_reload_file(a, file, &err) < 0)
            log_error("api tokens not reloaded", "err", err.msg, NULL);
    }
    auth_audit(a, who, ok ? "config.reload" : "config.reload_failed", "", why != NULL ? why : "");
}

/* A status code as a label value ("200"); static strings for the common ones. */
static const char *code_label(int status)
{
    static const char *const codes[] = {"200", "400", "401", "403", "404",
                                        "405", "413", "422", "500", "503"};
    static const int nums[] = {200, 400, 401, 403, 404, 405, 413, 422, 500, 503};

    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (nums[i] == status)
            return codes[i];
    }
    return status < 300 ? "2xx" : status < 400 ? "3xx" : status < 500 ? "4xx" : "5xx";
}

void auth_audit(struct auth *a, const char *who, const char *action, const char *target,
                const char *details)
{
    struct error err = {{0}};

    if (a == NULL || a->audit == NULL)
        return;
    if (audit_record(a->audit, clock_now_ms(), who, action, target, details, &err) < 0)
        log_error("audit record lost", "action", action, "err", err.msg, NULL);
}

/* The request body as audit details, capped. */
static void body_details(const struct http_request *req, char *out, size_t outsz)
{
    size_t n = req->body_len < outsz - 1 ? req->body_len : outsz - 1;

    memcpy(out, req->body, n);
    out[n] = '\0';
}

/* For an ack-link form: the incident id from the signed token and the name typed. */
static void ack_link_details(const struct auth *a, const char *token,
                             const struct http_request *req, char *target, size_t targetsz,
                             char *details, size_t detailssz)
{
    const uint8_t *secret = NULL;
    size_t len = 0;
    uint64_t id = 0;
    const char *n = strstr(req->body, "name=");

    if (a->api != NULL && a->api->ops->ack_secret != NULL) {
        a->api->ops->ack_secret(a->api->engine, &secret, &len);
        if (token_verify(secret, len, token, clock_now_ms(), &id, NULL) == TOKEN_OK)
            snprintf(target, targetsz, "%llu", (unsigned long long)id);
    }
    if (n != NULL && (n == req->body || n[-1] == '&'))
        snprintf(details, detailssz, "name=%.*s", (int)strcspn(n + 5, "&"), n + 5);
}

void auth_after(void *hook_ctx, const struct http_request *req, const struct http_response *resp)
{
    struct auth *a = hook_ctx;
    const char *who = req->principal != NULL ? req->principal : "anonymous";
    const char *p = req->path;
    char target[128] = "";
    char details[1024] = "";
    const char *action = NULL;
    bool post = strcmp(req->method, "POST") == 0;

    metrics_add(MET_HTTP_REQUESTS, code_label(resp->status), NULL, 1);
    if (strcmp(p, "/-/reload") == 0 && post) {
        if (resp->status != 200 && resp->body != NULL)
            snprintf(details, sizeof(details), "%.*s", (int)resp->body_len, resp->body);
        auth_reloaded(a, who, resp->status == 200, details);
        return;
    } else if (resp->status < 200 || resp->status >= 400) {
        return;
    } else if (post && strcmp(p, "/api/v2/silences") == 0) {
        json_t *o = resp->body != NULL ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;

        action = "silence.create";
        snprintf(target, sizeof(target), "%s",
                 json_string_value(json_object_get(o, "silenceID")) != NULL
                     ? json_string_value(json_object_get(o, "silenceID"))
                     : "");
        json_decref(o);
        body_details(req, details, sizeof(details));
    } else if (strcmp(req->method, "DELETE") == 0 && has_prefix(p, "/api/v2/silence/")) {
        action = "silence.expire";
        snprintf(target, sizeof(target), "%s", p + strlen("/api/v2/silence/"));
    } else if (post && (has_prefix(p, "/api/v2/incidents/") || has_prefix(p, "/ui/ack/"))) {
        action = has_suffix(p, "/unack") ? "incident.unack" : "incident.ack";
        snprintf(target, sizeof(target), "%llu", (unsigned long long)incident_id_of(p));
        body_details(req, details, sizeof(details));
    } else if (post && strcmp(p, "/api/v2/acks") == 0) {
        action = "incident.ack_matching";
        body_details(req, details, sizeof(details));
    } else if (post && has_prefix(p, "/ack/")) {
        action = "incident.ack";
        who = "ack-link";
        ack_link_details(a, p + strlen("/ack/"), req, target, sizeof(target), details,
                         sizeof(details));
    } else if (post && has_prefix(p, "/ui/expire/")) {
        action = "silence.expire";
        snprintf(target, sizeof(target), "%s", p + strlen("/ui/expire/"));
    } else if (post && strcmp(p, "/api/v2/admin/backup") == 0) {
        action = "backup";
    }
    if (action == NULL)
        return;
    auth_audit(a, who, action, target, details);
}

void api_h_audit(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *api = ctx;
    struct audit *au = api->auth != NULL ? api->auth->audit : NULL;
    const char *since = http_query_get(req, "since");
    const char *limit = http_query_get(req, "limit");
    int64_t since_ms = 0;
    unsigned long n = 0;
    struct error err = {{0}};
    json_t *out;

    if (au == NULL) {
        http_respond_error_str(resp, 503, "the audit log is not available");
        return;
    }
    if (since != NULL && time_parse_rfc3339(since, &since_ms) < 0) {
        http_respond_error_str(resp, 400, "since: must be an RFC 3339 time");
        return;
    }
    if (limit != NULL) {
        char *end;

        n = strtoul(limit, &end, 10);
        if (*limit == '\0' || *end != '\0' || n == 0 || n > 10000) {
            http_respond_error_str(resp, 400, "limit: must be an integer from 1 to 10000");
            return;
        }
    }
    out = audit_query(au, since_ms, http_query_get(req, "who"), n, &err);
    if (out == NULL) {
        http_respond_error_str(resp, 500, err.msg);
        return;
    }
    http_respond_json(resp, 200, out);
}

void api_h_backup(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *api = ctx;
    struct audit *au = api->auth != NULL ? api->auth->audit : NULL;
    char path[] = "/tmp/amrouter-backup-XXXXXX";
    struct error err = {{0}};
    int fd;

    if (au == NULL) {
        http_respond_error_str(resp, 503, "backups are not available");
        return;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        http_respond_error_str(resp, 500, "backup: cannot create a temporary file");
        return;
    }
    close(fd);
    if (audit_backup_to(au, path, &err) < 0) {
        unlink(path);
        log_error("backup failed", "err", err.msg, NULL);
        http_respond_error_str(resp, 500, err.msg);
        return;
    }
    /* Streamed from the descriptor; the name is gone at once, the file with the fd. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    unlink(path);
    if (fd < 0) {
        http_respond_error_str(resp, 500, "backup: cannot read the copy");
        return;
    }
    http_respond(resp, 200, "application/vnd.sqlite3", NULL, 0);
    resp->has_fd = true;
    resp->body_fd = fd;
    log_info("backup made", "who", req->principal != NULL ? req->principal : "anonymous", NULL);
}
