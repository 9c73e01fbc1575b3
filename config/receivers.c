/*
 * receivers.c - receivers and their notifier configs, and http_config.
 *
 * Field names, defaults and checks follow Alertmanager 0.25 (webhook_configs,
 * slack_configs, email_configs, pagerduty_configs) plus amrouter's
 * sms_configs. Global defaults (smtp_*, slack_api_url, pagerduty_url,
 * twilio_api_url, http_config) are copied into each notifier config at load,
 * so notifiers read one struct and never look at the global section.
 *
 * Everything a notifier_config points to is owned by it; receiver_release()
 * frees it.
 */
#include "config/load.h"

#include "core/error.h"
#include "templates/mustache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_TIMEOUT_MS         30000

static char *xstrdup(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

void http_config_release(struct http_config *h)
{
    secret_release(&h->bearer_token);
    free(h->authorization_type);
    free(h->basic_auth_username);
    secret_release(&h->basic_auth_password);
    free(h->tls_ca_file);
    free(h->tls_cert_file);
    free(h->tls_key_file);
    free(h->tls_server_name);
    free(h->proxy_url);
    memset(h, 0, sizeof(*h));
}

static int secret_copy(struct secret *dst, const struct secret *src)
{
    dst->value = NULL;
    if (src->value == NULL)
        return 0;
    dst->value = strdup(src->value);
    return dst->value == NULL ? -1 : 0;
}

static int http_config_copy(struct http_config *dst, const struct http_config *src)
{
    *dst = *src;
    dst->authorization_type = xstrdup(src->authorization_type);
    dst->basic_auth_username = xstrdup(src->basic_auth_username);
    dst->tls_ca_file = xstrdup(src->tls_ca_file);
    dst->tls_cert_file = xstrdup(src->tls_cert_file);
    dst->tls_key_file = xstrdup(src->tls_key_file);
    dst->tls_server_name = xstrdup(src->tls_server_name);
    dst->proxy_url = xstrdup(src->proxy_url);
    if (secret_copy(&dst->bearer_token, &src->bearer_token) < 0 ||
        secret_copy(&dst->basic_auth_password, &src->basic_auth_password) < 0)
        return -1;
    if ((src->authorization_type && !dst->authorization_type) ||
        (src->basic_auth_username && !dst->basic_auth_username) ||
        (src->tls_ca_file && !dst->tls_ca_file) || (src->tls_cert_file && !dst->tls_cert_file) ||
        (src->tls_key_file && !dst->tls_key_file) ||
        (src->tls_server_name && !dst->tls_server_name) || (src->proxy_url && !dst->proxy_url))
        return -1;
    return 0;
}

/* Checks a URL-valued key of map (plain or secret) if it is set in this mapping. */
static int check_url_key(struct ld *ld, const struct ynode *map, const char *key, const char *p,
                         const char *value, bool secret)
{
    char k[96], kp[CFG_PATH_MAX];
    const struct ynode *v;

    if (value == NULL)
        return 0;
    if (secret) {
        v = ld_secret_node(map, key, k, sizeof(k));
    } else {
        snprintf(k, sizeof(k), "%s", key);
        v = ld_get(map, key);
    }
    if (v == NULL)
        return 0;
    path_key(kp, p, k);
    return ld_check_url(ld, v, kp, value, secret);
}

/* A file path relative to the current config file's directory. */
static int ld_path(struct ld *ld, const struct ynode *map, const char *key, const char *path,
                   char **out)
{
    char *raw = NULL, *full;
    const struct ynode *v = ld_get(map, key);

    if (v == NULL)
        return 0;
    if (ld_str(ld, map, key, path, &raw) < 0)
        return -1;
    full = ld_relpath(ld->fdir, raw);
    free(raw);
    if (full == NULL)
        return ld_fail(ld, v, path, "out of memory");
    free(*out);
    *out = full;
    return 0;
}

static int ld_tls(struct ld *ld, const struct ynode *map, const char *path, struct http_config *h)
{
    static const char *const keys[] = {
        "ca_file",     "cert_file",   "key_file", "server_name", "insecure_skip_verify",
        "min_version", "max_version", NULL};
    const struct ynode *t = ld_get(map, "tls_config");
    char p[CFG_PATH_MAX];
    char *ignored = NULL;
    int rc;

    if (t == NULL)
        return 0;
    path_key(p, path, "tls_config");
    if (ld_map(ld, t, p, keys) < 0 || ld_path(ld, t, "ca_file", p, &h->tls_ca_file) < 0 ||
        ld_path(ld, t, "cert_file", p, &h->tls_cert_file) < 0 ||
        ld_path(ld, t, "key_file", p, &h->tls_key_file) < 0 ||
        ld_str(ld, t, "server_name", p, &h->tls_server_name) < 0 ||
        ld_bool(ld, t, "insecure_skip_verify", p, &h->tls_insecure_skip_verify) < 0)
        return -1;
    /* min_version / max_version are accepted for compatibility; libcurl picks the version. */
    rc = ld_str(ld, t, "min_version", p, &ignored);
    if (rc == 0)
        rc = ld_str(ld, t, "max_version", p, &ignored);
    free(ignored);
    return rc;
}

int ld_http_config(struct ld *ld, const struct ynode *map, const char *key, const char *path,
                   struct http_config *out)
{
    static const char *const keys[] = {"authorization",     "basic_auth",       "bearer_token",
                                       "bearer_token_file", "bearer_token_env", "tls_config",
                                       "proxy_url",         "follow_redirects", "enable_http2",
                                       "connect_timeout",   "timeout",          NULL};
    static const char *const auth_keys[] = {"type", "credentials", "credentials_file",
                                            "credentials_env", NULL};
    static const char *const basic_keys[] = {"username", "password", "password_file",
                                             "password_env", NULL};
    const struct ynode *h = ld_get(map, key);
    const struct ynode *a, *b;
    char p[CFG_PATH_MAX], sp[CFG_PATH_MAX];
    bool http2 = true;

    if (h == NULL)
        return 0;
    path_key(p, path, key);
    if (ld_map(ld, h, p, keys) < 0)
        return -1;
    a = ld_get(h, "authorization");
    b = ld_get(h, "basic_auth");
    if (a != NULL) {
        path_key(sp, p, "authorization");
        if (ld_map(ld, a, sp, auth_keys) < 0 ||
            ld_str(ld, a, "type", sp, &out->authorization_type) < 0 ||
            ld_secret(ld, a, "credentials", sp, &out->bearer_token) < 0)
            return -1;
        if (out->authorization_type != NULL && strcasecmp(out->authorization_type, "basic") == 0) {
            path_key(sp, p, "authorization.type");
            return ld_fail(ld, ld_get(a, "type"), sp,
                           "authorization type cannot be set to \"basic\", use \"basic_auth\"");
        }
    }
    if (ld_get(h, "bearer_token") != NULL || ld_get(h, "bearer_token_file") != NULL ||
        ld_get(h, "bearer_token_env") != NULL) {
        if (a != NULL)
            return ld_fail(ld, a, p, "at most one of bearer_token & authorization may be set");
        if (ld_secret(ld, h, "bearer_token", p, &out->bearer_token) < 0)
            return -1;
    }
    if (b != NULL) {
        path_key(sp, p, "basic_auth");
        if (a != NULL || out->bearer_token.value != NULL)
            return ld_fail(ld, b, sp,
                           "at most one of basic_auth, bearer_token & authorization may be set");
        if (ld_map(ld, b, sp, basic_keys) < 0 ||
            ld_str(ld, b, "username", sp, &out->basic_auth_username) < 0 ||
            ld_secret(ld, b, "password", sp, &out->basic_auth_password) < 0)
            return -1;
    }
    if (out->bearer_token.value != NULL && out->authorization_type == NULL) {
        out->authorization_type = strdup("Bearer");
        if (out->authorization_type == NULL)
            return ld_fail(ld, h, p, "out of memory");
    }
    if (ld_tls(ld, h, p, out) < 0 || ld_str(ld, h, "proxy_url", p, &out->proxy_url) < 0 ||
        check_url_key(ld, h, "proxy_url", p, out->proxy_url, false) < 0 ||
        ld_bool(ld, h, "follow_redirects", p, &out->follow_redirects) < 0 ||
        ld_bool(ld, h, "enable_http2", p, &http2) < 0 ||
        ld_duration(ld, h, "connect_timeout", p, &out->connect_timeout, NULL) < 0 ||
        ld_duration(ld, h, "timeout", p, &out->timeout, NULL) < 0)
        return -1;
    if (out->connect_timeout <= 0) {
        path_key(sp, p, "connect_timeout");
        return ld_fail(ld, ld_get(h, "connect_timeout"), sp, "must be positive");
    }
    if (out->timeout <= 0) {
        path_key(sp, p, "timeout");
        return ld_fail(ld, ld_get(h, "timeout"), sp, "must be positive");
    }
    return 0;
}

/* Starts a notifier config with its defaults and the global section's values. */
static int notifier_defaults(struct ld *ld, struct notifier_config *nc, enum notifier_kind kind,
                             const struct ynode *at)
{
    const struct global_config *g = &ld->cfg->global;

    nc->kind = kind;
    nc->file = ld->file;
    nc->line = at->line;
    nc->send_resolved = kind == NOTIFIER_WEBHOOK || kind == NOTIFIER_PAGERDUTY;
    if (http_config_copy(&nc->http, &g->http) < 0)
        return -1;
    switch (kind) {
    case NOTIFIER_SLACK:
        nc->ack_button = true;
        if (secret_copy(&nc->slack_api_url, &g->slack_api_url) < 0)
            return -1;
        break;
    case NOTIFIER_EMAIL:
        nc->require_tls = g->smtp_require_tls;
        nc->from = xstrdup(g->smtp_from);
        nc->smarthost = xstrdup(g->smtp_smarthost);
        nc->hello = xstrdup(g->smtp_hello);
        nc->auth_username = xstrdup(g->smtp_auth_username);
        nc->auth_identity = xstrdup(g->smtp_auth_identity);
        if (secret_copy(&nc->auth_password, &g->smtp_auth_password) < 0 ||
            secret_copy(&nc->auth_secret, &g->smtp_auth_secret) < 0)
            return -1;
        break;
    case NOTIFIER_PAGERDUTY:
        nc->pagerduty_url = xstrdup(g->pagerduty_url);
        if (nc->pagerduty_url == NULL)
            return -1;
        break;
    case NOTIFIER_SMS:
        nc->twilio_api_url = xstrdup(g->twilio_api_url);
        nc->max_segments = 1;
        if (nc->twilio_api_url == NULL)
            return -1;
        break;
    case NOTIFIER_WEBHOOK:
        break;
    }
    return 0;
}

/* Fields kept as plain template source (no tmpl_field) are still compiled once here,
 * so a broken template fails the load instead of a notification. */
static int check_template(struct ld *ld, const struct ynode *n, const char *key, const char *p)
{
    const struct ynode *v = ld_get(n, key);
    char kp[CFG_PATH_MAX];
    struct mustache *m;

    if (v == NULL || v->kind != YNODE_SCALAR)
        return 0;
    path_key(kp, p, key);
    m = ld_compile(ld, v, kp, v->value);
    if (m == NULL)
        return -1;
    mustache_free(m);
    return 0;
}

static int ld_webhook(struct ld *ld, const struct ynode *n, const char *p,
                      struct notifier_config *nc)
{
    static const char *const keys[] = {"send_resolved", "http_config", "url", "url_file",
                                       "url_env",       "max_alerts",  NULL};
    long long max_alerts = 0;

    if (ld_map(ld, n, p, keys) < 0 || ld_secret(ld, n, "url", p, &nc->url) < 0 ||
        ld_int(ld, n, "max_alerts", p, 0, 1000000000, &max_alerts) < 0)
        return -1;
    nc->max_alerts = (int)max_alerts;
    if (nc->url.value == NULL)
        return ld_fail(ld, n, p, "one of url, url_file or url_env must be configured");
    return check_url_key(ld, n, "url", p, nc->url.value, true);
}

static int ld_slack(struct ld *ld, const struct ynode *n, const char *p, struct notifier_config *nc)
{
    static const char *const keys[] = {
        "send_resolved", "http_config", "api_url",      "api_url_file", "api_url_env",
        "channel",       "username",    "icon_emoji",   "icon_url",     "title",
        "title_link",    "text",        "pretext",      "footer",       "fallback",
        "color",         "fields",      "ack_button",   "callback_id",  "image_url",
        "thumb_url",     "link_names",  "short_fields", "mrkdwn_in",    NULL};
    static const char *const field_keys[] = {"title", "value", "short", NULL};
    const struct ynode *f;
    char fp[CFG_PATH_MAX];
    char *ignored = NULL;
    char **ignored_list = NULL;
    size_t n_ignored = 0;
    bool ignored_bool = false;
    int rc;

    if (ld_map(ld, n, p, keys) < 0)
        return -1;
    if (ld_get(n, "api_url") != NULL || ld_get(n, "api_url_file") != NULL ||
        ld_get(n, "api_url_env") != NULL) {
        secret_release(&nc->slack_api_url);
        if (ld_secret(ld, n, "api_url", p, &nc->slack_api_url) < 0)
            return -1;
    }
    if (ld_str(ld, n, "channel", p, &nc->channel) < 0 || check_template(ld, n, "channel", p) < 0 ||
        ld_str(ld, n, "username", p, &nc->username) < 0 ||
        ld_str(ld, n, "icon_emoji", p, &nc->icon_emoji) < 0 ||
        ld_str(ld, n, "icon_url", p, &nc->icon_url) < 0 ||
        ld_tmpl(ld, n, "title", p, &nc->title) < 0 ||
        ld_tmpl(ld, n, "title_link", p, &nc->title_link) < 0 ||
        ld_tmpl(ld, n, "text", p, &nc->text) < 0 ||
        ld_tmpl(ld, n, "pretext", p, &nc->pretext) < 0 ||
        ld_tmpl(ld, n, "footer", p, &nc->footer) < 0 ||
        ld_tmpl(ld, n, "fallback", p, &nc->fallback) < 0 ||
        ld_str(ld, n, "color", p, &nc->color) < 0 || check_template(ld, n, "color", p) < 0 ||
        ld_bool(ld, n, "ack_button", p, &nc->ack_button) < 0)
        return -1;
    /* Accepted for compatibility with Alertmanager configs, not used. */
    rc = ld_str(ld, n, "callback_id", p, &ignored);
    if (rc == 0)
        rc = ld_str(ld, n, "image_url", p, &ignored);
    if (rc == 0)
        rc = ld_str(ld, n, "thumb_url", p, &ignored);
    if (rc == 0)
        rc = ld_bool(ld, n, "link_names", p, &ignored_bool);
    if (rc == 0)
        rc = ld_bool(ld, n, "short_fields", p, &ignored_bool);
    if (rc == 0)
        rc = ld_strlist(ld, n, "mrkdwn_in", p, &ignored_list, &n_ignored);
    free(ignored);
    strv_free(ignored_list, n_ignored);
    if (rc < 0)
        return -1;
    f = ld_get(n, "fields");
    if (f != NULL) {
        path_key(fp, p, "fields");
        if (ld_seq(ld, f, fp) < 0)
            return -1;
        if (f->n_items > 0) {
            nc->fields = calloc(f->n_items, sizeof(*nc->fields));
            if (nc->fields == NULL)
                return ld_fail(ld, f, fp, "out of memory");
        }
        for (size_t i = 0; i < f->n_items; i++) {
            const struct ynode *it = f->items[i];
            char ip[CFG_PATH_MAX];

            nc->n_fields++;
            path_idx(ip, fp, i);
            if (ld_map(ld, it, ip, field_keys) < 0 ||
                ld_tmpl(ld, it, "title", ip, &nc->fields[i].title) < 0 ||
                ld_tmpl(ld, it, "value", ip, &nc->fields[i].value) < 0 ||
                ld_bool(ld, it, "short", ip, &nc->fields[i].is_short) < 0)
                return -1;
            if (nc->fields[i].title.source == NULL)
                return ld_missing(ld, it, ip, "title");
            if (nc->fields[i].value.source == NULL)
                return ld_missing(ld, it, ip, "value");
        }
    }
    if (nc->slack_api_url.value == NULL)
        return ld_fail(ld, n, p, "no global Slack API URL set");
    return check_url_key(ld, n, "api_url", p, nc->slack_api_url.value, true);
}

/* `to` as one string with comma-separated addresses (Alertmanager) or a list. */
static int ld_addresses(struct ld *ld, const struct ynode *n, const char *key, const char *p,
                        char ***out, size_t *cnt)
{
    const struct ynode *v = ld_get(n, key);
    char kp[CFG_PATH_MAX];

    if (v == NULL)
        return 0;
    path_key(kp, p, key);
    if (v->kind == YNODE_SEQ) {
        if (ld_strlist(ld, n, key, p, out, cnt) < 0)
            return -1;
    } else if (v->kind == YNODE_SCALAR) {
        const char *s = v->value;

        while (*s != '\0') {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            char **nv;

            while (len > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                len--;
            }
            while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
            if (len > 0) {
                nv = realloc(*out, (*cnt + 1) * sizeof(*nv));
                if (nv == NULL)
                    return ld_fail(ld, v, kp, "out of memory");
                *out = nv;
                nv[*cnt] = strndup(s, len);
                if (nv[*cnt] == NULL)
                    return ld_fail(ld, v, kp, "out of memory");
                (*cnt)++;
            }
            s = e ? e + 1 : s + strlen(s);
        }
    } else {
        return ld_fail(ld, v, kp, "expected a string or a list, got %s", ynode_kind_name(v));
    }
    for (size_t i = 0; i < *cnt; i++)
        if ((*out)[i][0] == '\0')
            return ld_fail(ld, v, kp, "empty address");
    if (*cnt == 0)
        return ld_fail(ld, v, kp, "no address given");
    return 0;
}

/* A mapping of names to templates (email headers, PagerDuty details). */
static int ld_tmpl_map(struct ld *ld, const struct ynode *n, const char *key, const char *p,
                       char ***names, struct tmpl_field **values, size_t *cnt)
{
    const struct ynode *v = ld_get(n, key);
    char kp[CFG_PATH_MAX];

    if (v == NULL)
        return 0;
    path_key(kp, p, key);
    if (v->kind != YNODE_MAP)
        return ld_fail(ld, v, kp, "expected a mapping, got %s", ynode_kind_name(v));
    if (v->n_pairs == 0)
        return 0;
    *names = calloc(v->n_pairs, sizeof(**names));
    *values = calloc(v->n_pairs, sizeof(**values));
    if (*names == NULL || *values == NULL)
        return ld_fail(ld, v, kp, "out of memory");
    for (size_t i = 0; i < v->n_pairs; i++) {
        (*cnt)++;
        (*names)[i] = strdup(v->pairs[i].key->value);
        if ((*names)[i] == NULL)
            return ld_fail(ld, v, kp, "out of memory");
        if (ynode_is_null(v->pairs[i].value)) {
            char ip[CFG_PATH_MAX];

            path_key(ip, kp, v->pairs[i].key->value);
            return ld_fail(ld, v->pairs[i].key, ip, "missing value");
        }
        if (ld_tmpl(ld, v, v->pairs[i].key->value, kp, &(*values)[i]) < 0)
            return -1;
    }
    return 0;
}

static int ld_email(struct ld *ld, const struct ynode *n, const char *p, struct notifier_config *nc)
{
    static const char *const keys[] = {"send_resolved",
                                       "to",
                                       "from",
                                       "smarthost",
                                       "hello",
                                       "auth_username",
                                       "auth_password",
                                       "auth_password_file",
                                       "auth_password_env",
                                       "auth_secret",
                                       "auth_secret_file",
                                       "auth_secret_env",
                                       "auth_identity",
                                       "require_tls",
                                       "tls_config",
                                       "headers",
                                       "subject",
                                       "html",
                                       "text",
                                       NULL};
    const struct ynode *h = NULL;

    if (ld_map(ld, n, p, keys) < 0)
        return -1;
    if (ld_get(n, "to") == NULL)
        return ld_fail(ld, n, p, "missing to address in email config");
    if (ld_addresses(ld, n, "to", p, &nc->to, &nc->n_to) < 0 ||
        ld_str(ld, n, "from", p, &nc->from) < 0 ||
        ld_str(ld, n, "smarthost", p, &nc->smarthost) < 0 ||
        ld_str(ld, n, "hello", p, &nc->hello) < 0 ||
        ld_str(ld, n, "auth_username", p, &nc->auth_username) < 0 ||
        ld_str(ld, n, "auth_identity", p, &nc->auth_identity) < 0 ||
        ld_bool(ld, n, "require_tls", p, &nc->require_tls) < 0 || ld_tls(ld, n, p, &nc->http) < 0)
        return -1;
    if (ld_get(n, "auth_password") != NULL || ld_get(n, "auth_password_file") != NULL ||
        ld_get(n, "auth_password_env") != NULL) {
        secret_release(&nc->auth_password);
        if (ld_secret(ld, n, "auth_password", p, &nc->auth_password) < 0)
            return -1;
    }
    if (ld_get(n, "auth_secret") != NULL || ld_get(n, "auth_secret_file") != NULL ||
        ld_get(n, "auth_secret_env") != NULL) {
        secret_release(&nc->auth_secret);
        if (ld_secret(ld, n, "auth_secret", p, &nc->auth_secret) < 0)
            return -1;
    }
    if (ld_tmpl_map(ld, n, "headers", p, &nc->header_names, &nc->header_values, &nc->n_headers) <
            0 ||
        ld_tmpl(ld, n, "subject", p, &nc->subject) < 0 ||
        ld_tmpl(ld, n, "html", p, &nc->html) < 0 || ld_tmpl(ld, n, "text", p, &nc->email_text) < 0)
        return -1;
    /* Alertmanager sets the subject through headers.Subject; keep it in `subject`. */
    for (size_t i = 0; i < nc->n_headers; i++) {
        if (strcasecmp(nc->header_names[i], "subject") != 0)
            continue;
        h = ld_get(ld_get(n, "headers"), nc->header_names[i]);
        if (nc->subject.source != NULL) {
            char hp[CFG_PATH_MAX];

            path_key(hp, p, "headers");
            return ld_fail(ld, h != NULL ? h : n, hp,
                           "the subject is set both by subject and by headers.Subject");
        }
        nc->subject = nc->header_values[i];
        free(nc->header_names[i]);
        memmove(&nc->header_names[i], &nc->header_names[i + 1],
                (nc->n_headers - i - 1) * sizeof(*nc->header_names));
        memmove(&nc->header_values[i], &nc->header_values[i + 1],
                (nc->n_headers - i - 1) * sizeof(*nc->header_values));
        nc->n_headers--;
        break;
    }
    if (nc->from == NULL || nc->from[0] == '\0')
        return ld_fail(ld, n, p, "no global SMTP from set");
    if (nc->smarthost == NULL || nc->smarthost[0] == '\0')
        return ld_fail(ld, n, p, "no global SMTP smarthost set");
    if (strrchr(nc->smarthost, ':') == NULL) {
        char sp[CFG_PATH_MAX];
        const struct ynode *at = ld_get(n, "smarthost");

        path_key(sp, p, "smarthost");
        return ld_fail(ld, at != NULL ? at : n, sp, "address %s: missing port in address",
                       nc->smarthost);
    }
    return 0;
}

static int ld_pagerduty(struct ld *ld, const struct ynode *n, const char *p,
                        struct notifier_config *nc)
{
    static const char *const keys[] = {"send_resolved",    "http_config",     "routing_key",
                                       "routing_key_file", "routing_key_env", "service_key",
                                       "service_key_file", "service_key_env", "url",
                                       "client",           "client_url",      "description",
                                       "details",          "images",          "links",
                                       "source",           "severity",        "class",
                                       "component",        "group",           NULL};
    static const char *const link_keys[] = {"href", "text", NULL};
    const struct ynode *links;
    char *ignored = NULL;
    int rc;

    if (ld_map(ld, n, p, keys) < 0 || ld_secret(ld, n, "routing_key", p, &nc->routing_key) < 0 ||
        ld_secret(ld, n, "service_key", p, &nc->service_key) < 0)
        return -1;
    if (nc->routing_key.value == NULL && nc->service_key.value == NULL)
        return ld_fail(ld, n, p, "missing service or routing key in PagerDuty config");
    if (nc->routing_key.value != NULL && nc->service_key.value != NULL)
        return ld_fail(ld, n, p, "at most one of routing_key and service_key may be set");
    if (ld_str(ld, n, "url", p, &nc->pagerduty_url) < 0 ||
        ld_str(ld, n, "client", p, &nc->client) < 0 ||
        ld_str(ld, n, "client_url", p, &nc->client_url) < 0 ||
        ld_tmpl(ld, n, "description", p, &nc->description) < 0 ||
        ld_str(ld, n, "severity", p, &nc->severity) < 0 ||
        ld_str(ld, n, "class", p, &nc->pd_class) < 0 ||
        ld_str(ld, n, "component", p, &nc->component) < 0 ||
        ld_str(ld, n, "group", p, &nc->group) < 0 || check_template(ld, n, "client", p) < 0 ||
        check_template(ld, n, "client_url", p) < 0 || check_template(ld, n, "severity", p) < 0 ||
        check_template(ld, n, "class", p) < 0 || check_template(ld, n, "component", p) < 0 ||
        check_template(ld, n, "group", p) < 0 ||
        ld_tmpl_map(ld, n, "details", p, &nc->detail_names, &nc->detail_values, &nc->n_details) < 0)
        return -1;
    /* `source` and `images` are accepted for compatibility and not sent. */
    rc = ld_str(ld, n, "source", p, &ignored);
    free(ignored);
    if (rc < 0)
        return -1;
    if (ld_get(n, "images") != NULL && ld_seq(ld, ld_get(n, "images"), p) < 0)
        return -1;
    links = ld_get(n, "links");
    if (links != NULL) {
        char lp[CFG_PATH_MAX];

        path_key(lp, p, "links");
        if (ld_seq(ld, links, lp) < 0)
            return -1;
        if (links->n_items > 0) {
            nc->link_hrefs = calloc(links->n_items, sizeof(*nc->link_hrefs));
            nc->link_texts = calloc(links->n_items, sizeof(*nc->link_texts));
            if (nc->link_hrefs == NULL || nc->link_texts == NULL)
                return ld_fail(ld, links, lp, "out of memory");
        }
        for (size_t i = 0; i < links->n_items; i++) {
            char ip[CFG_PATH_MAX];

            nc->n_links++;
            path_idx(ip, lp, i);
            if (ld_map(ld, links->items[i], ip, link_keys) < 0 ||
                ld_str(ld, links->items[i], "href", ip, &nc->link_hrefs[i]) < 0 ||
                ld_str(ld, links->items[i], "text", ip, &nc->link_texts[i]) < 0)
                return -1;
            if (nc->link_hrefs[i] == NULL)
                return ld_missing(ld, links->items[i], ip, "href");
        }
    }
    if (check_url_key(ld, n, "url", p, nc->pagerduty_url, false) < 0)
        return -1;
    if (nc->severity != NULL) {
        static const char *const sev[] = {"critical", "error", "warning", "info", NULL};
        bool ok = false;

        for (size_t i = 0; sev[i] != NULL; i++)
            ok = ok || strcmp(sev[i], nc->severity) == 0;
        if (!ok && strstr(nc->severity, "{{") == NULL) {
            char sp[CFG_PATH_MAX];

            path_key(sp, p, "severity");
            return ld_fail(ld, ld_get(n, "severity"), sp,
                           "must be one of critical, error, warning, info, not \"%s\"",
                           nc->severity);
        }
    }
    return 0;
}

static int ld_sms(struct ld *ld, const struct ynode *n, const char *p, struct notifier_config *nc)
{
    static const char *const keys[] = {
        "send_resolved",  "http_config", "account_sid", "auth_token", "auth_token_file",
        "auth_token_env", "from",        "to",          "api_url",    "text",
        "max_segments",   "notify_acks", NULL};
    long long segs = 1;

    if (ld_map(ld, n, p, keys) < 0 || ld_str(ld, n, "account_sid", p, &nc->account_sid) < 0 ||
        ld_secret(ld, n, "auth_token", p, &nc->auth_token) < 0 ||
        ld_str(ld, n, "from", p, &nc->sms_from) < 0 ||
        ld_str(ld, n, "api_url", p, &nc->twilio_api_url) < 0 ||
        ld_tmpl(ld, n, "text", p, &nc->sms_text) < 0 ||
        ld_int(ld, n, "max_segments", p, 1, 10, &segs) < 0 ||
        ld_bool(ld, n, "notify_acks", p, &nc->notify_acks) < 0)
        return -1;
    nc->max_segments = (int)segs;
    if (nc->account_sid == NULL)
        return ld_missing(ld, n, p, "account_sid");
    if (nc->auth_token.value == NULL)
        return ld_fail(ld, n, p,
                       "one of auth_token, auth_token_file or auth_token_env must be "
                       "configured");
    if (nc->sms_from == NULL)
        return ld_missing(ld, n, p, "from");
    if (ld_get(n, "to") == NULL)
        return ld_missing(ld, n, p, "to");
    if (ld_addresses(ld, n, "to", p, &nc->sms_to, &nc->n_sms_to) < 0)
        return -1;
    return check_url_key(ld, n, "api_url", p, nc->twilio_api_url, false);
}

static void notifier_config_release(struct notifier_config *nc)
{
    http_config_release(&nc->http);
    secret_release(&nc->url);
    secret_release(&nc->slack_api_url);
    free(nc->channel);
    free(nc->username);
    free(nc->icon_emoji);
    free(nc->icon_url);
    tmpl_field_release(&nc->title);
    tmpl_field_release(&nc->title_link);
    tmpl_field_release(&nc->text);
    tmpl_field_release(&nc->pretext);
    tmpl_field_release(&nc->footer);
    tmpl_field_release(&nc->fallback);
    free(nc->color);
    for (size_t i = 0; i < nc->n_fields; i++) {
        tmpl_field_release(&nc->fields[i].title);
        tmpl_field_release(&nc->fields[i].value);
    }
    free(nc->fields);
    strv_free(nc->to, nc->n_to);
    free(nc->from);
    free(nc->smarthost);
    free(nc->hello);
    free(nc->auth_username);
    secret_release(&nc->auth_password);
    secret_release(&nc->auth_secret);
    free(nc->auth_identity);
    strv_free(nc->header_names, nc->n_headers);
    for (size_t i = 0; nc->header_values != NULL && i < nc->n_headers; i++)
        tmpl_field_release(&nc->header_values[i]);
    free(nc->header_values);
    tmpl_field_release(&nc->subject);
    tmpl_field_release(&nc->html);
    tmpl_field_release(&nc->email_text);
    secret_release(&nc->routing_key);
    secret_release(&nc->service_key);
    free(nc->pagerduty_url);
    free(nc->client);
    free(nc->client_url);
    tmpl_field_release(&nc->description);
    free(nc->severity);
    free(nc->pd_class);
    free(nc->component);
    free(nc->group);
    strv_free(nc->detail_names, nc->n_details);
    for (size_t i = 0; nc->detail_values != NULL && i < nc->n_details; i++)
        tmpl_field_release(&nc->detail_values[i]);
    free(nc->detail_values);
    strv_free(nc->link_hrefs, nc->n_links);
    strv_free(nc->link_texts, nc->n_links);
    free(nc->twilio_api_url);
    free(nc->account_sid);
    secret_release(&nc->auth_token);
    free(nc->sms_from);
    strv_free(nc->sms_to, nc->n_sms_to);
    tmpl_field_release(&nc->sms_text);
}

void receiver_release(struct receiver *r)
{
    free(r->name);
    for (size_t i = 0; i < r->n_configs; i++)
        notifier_config_release(&r->configs[i]);
    free(r->configs);
    memset(r, 0, sizeof(*r));
}

static const struct {
    const char *key;
    enum notifier_kind kind;
    int (*load)(struct ld *, const struct ynode *, const char *, struct notifier_config *);
} kinds[] = {
    {"webhook_configs", NOTIFIER_WEBHOOK, ld_webhook},
    {"slack_configs", NOTIFIER_SLACK, ld_slack},
    {"email_configs", NOTIFIER_EMAIL, ld_email},
    {"pagerduty_configs", NOTIFIER_PAGERDUTY, ld_pagerduty},
    {"sms_configs", NOTIFIER_SMS, ld_sms},
};

static const char *const unsupported[] = {
    "opsgenie_configs", "wechat_configs", "pushover_configs", "victorops_configs", "sns_configs",
    "telegram_configs", "webex_configs",  "discord_configs",  "msteams_configs",   NULL};

int ld_receiver(struct ld *ld, const struct ynode *n, const char *path, struct receiver *out)
{
    static const char *const keys[] = {"name",
                                       "webhook_configs",
                                       "slack_configs",
                                       "email_configs",
                                       "pagerduty_configs",
                                       "sms_configs",
                                       "opsgenie_configs",
                                       "wechat_configs",
                                       "pushover_configs",
                                       "victorops_configs",
                                       "sns_configs",
                                       "telegram_configs",
                                       "webex_configs",
                                       "discord_configs",
                                       "msteams_configs",
                                       NULL};
    const size_t nkinds = sizeof(kinds) / sizeof(kinds[0]);
    size_t total = 0;

    if (ld_map(ld, n, path, keys) < 0)
        return -1;
    for (size_t i = 0; unsupported[i] != NULL; i++) {
        const struct ypair *pr = ynode_get(n, unsupported[i]);

        if (pr != NULL) {
            char p[CFG_PATH_MAX];

            path_key(p, path, unsupported[i]);
            return ld_fail(ld, pr->key, p, "not supported by amrouter");
        }
    }
    if (ld_str(ld, n, "name", path, &out->name) < 0)
        return -1;
    if (out->name == NULL || out->name[0] == '\0')
        return ld_fail(ld, n, path, "missing name in receiver");
    if (strchr(out->name, '/') != NULL) {
        char p[CFG_PATH_MAX];

        path_key(p, path, "name");
        return ld_fail(ld, ld_get(n, "name"), p, "receiver names must not contain '/'");
    }
    if (ld->team != NULL) {
        size_t len = strlen(ld->team) + strlen(out->name) + 2;
        char *full = malloc(len);

        if (full == NULL)
            return ld_fail(ld, n, path, "out of memory");
        snprintf(full, len, "%s/%s", ld->team, out->name);
        free(out->name);
        out->name = full;
    }
    for (size_t k = 0; k < nkinds; k++) {
        const struct ynode *l = ld_get(n, kinds[k].key);
        char p[CFG_PATH_MAX];

        if (l == NULL)
            continue;
        path_key(p, path, kinds[k].key);
        if (ld_seq(ld, l, p) < 0)
            return -1;
        total += l->n_items;
    }
    if (total > 0) {
        out->configs = calloc(total, sizeof(*out->configs));
        if (out->configs == NULL)
            return ld_fail(ld, n, path, "out of memory");
    }
    for (size_t k = 0; k < nkinds; k++) {
        const struct ynode *l = ld_get(n, kinds[k].key);
        char p[CFG_PATH_MAX];

        if (l == NULL)
            continue;
        path_key(p, path, kinds[k].key);
        for (size_t i = 0; i < l->n_items; i++) {
            struct notifier_config *nc = &out->configs[out->n_configs++];
            char ip[CFG_PATH_MAX];

            path_idx(ip, p, i);
            if (notifier_defaults(ld, nc, kinds[k].kind, l->items[i]) < 0)
                return ld_fail(ld, l->items[i], ip, "out of memory");
            if (l->items[i]->kind != YNODE_MAP)
                return ld_fail(ld, l->items[i], ip, "expected a mapping, got %s",
                               ynode_kind_name(l->items[i]));
            if (ld_bool(ld, l->items[i], "send_resolved", ip, &nc->send_resolved) < 0)
                return -1;
            if (kinds[k].kind != NOTIFIER_EMAIL) {
                if (ld_get(l->items[i], "http_config") != NULL) {
                    /* A receiver's http_config replaces the global one as a whole. */
                    http_config_release(&nc->http);
                    nc->http.follow_redirects = true;
                    nc->http.connect_timeout = DEFAULT_CONNECT_TIMEOUT_MS;
                    nc->http.timeout = DEFAULT_TIMEOUT_MS;
                }
                if (ld_http_config(ld, l->items[i], "http_config", ip, &nc->http) < 0)
                    return -1;
            }
            if (kinds[k].load(ld, l->items[i], ip, nc) < 0)
                return -1;
        }
    }
    return 0;
}

const char *notifier_kind_name(enum notifier_kind kind)
{
    switch (kind) {
    case NOTIFIER_WEBHOOK:
        return "webhook";
    case NOTIFIER_SLACK:
        return "slack";
    case NOTIFIER_EMAIL:
        return "email";
    case NOTIFIER_PAGERDUTY:
        return "pagerduty";
    case NOTIFIER_SMS:
        return "sms";
    }
    return "unknown";
}
