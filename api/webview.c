/*
 * webview.c - the web view: GET / (open incidents, active silences), and the
 * two forms it posts: POST /ui/ack/{id} and POST /ui/expire/{silence id}.
 *
 * Server-rendered from templates/web_index.mustache (HTML-escaped), no
 * script; the page refreshes itself with a meta refresh. Forms are protected
 * against cross-site requests twice: a hidden csrf field = HMAC(ack secret,
 * "ui-ack-<id>" / "ui-expire-<id>") that only a page rendered by this server
 * carries, and an Origin (else Referer) check against the external URL or the
 * Host header. Access: GET / needs the read scope, the forms need ack and
 * silence (api/auth.c). Browsers cannot send bearer tokens by themselves, so
 * with api.tokens configured the page is meant to sit behind a reverse proxy
 * that adds the header (docs/operations.md).
 *
 * After a form the browser is sent back to the page with 303 See Other.
 */
#include "api/api.h"
#include "api/webview.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/token.h"
#include "router/incident.h"
#include "router/router.h"
#include "templates/defaults.h"
#include "templates/mustache.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX      ((size_t)4 << 20)
#define REFRESH_S     30
#define MAX_INCIDENTS 500

/* The path part of the external URL without a trailing slash ("" for none). */
static void base_path(const struct api *a, char *out, size_t outsz)
{
    const char *u = a->external_url != NULL ? a->external_url : "";
    const char *p = strstr(u, "://");
    const char *slash = p != NULL ? strchr(p + 3, '/') : NULL;
    size_t n;

    snprintf(out, outsz, "%s", slash != NULL ? slash : "");
    n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

static int csrf_for(const struct api *a, const char *kind, const char *id, char out[TOKEN_MAX])
{
    const uint8_t *secret = NULL;
    size_t len = 0;
    char what[160];

    if (a->ops->ack_secret == NULL)
        return -1;
    a->ops->ack_secret(a->engine, &secret, &len);
    snprintf(what, sizeof(what), "ui-%s-%s", kind, id);
    return token_csrf(secret, len, what, out);
}

static bool csrf_ok(const struct api *a, const char *kind, const char *id, const char *csrf)
{
    const uint8_t *secret = NULL;
    size_t len = 0;
    char what[160];

    if (a->ops->ack_secret == NULL || csrf == NULL)
        return false;
    a->ops->ack_secret(a->engine, &secret, &len);
    snprintf(what, sizeof(what), "ui-%s-%s", kind, id);
    return token_csrf_ok(secret, len, what, csrf);
}

/* "a=\"b\", c=~\"d\"" */
static void matchers_text(const json_t *ms, struct buf *out)
{
    size_t i;
    const json_t *m;

    json_array_foreach(ms, i, m)
    {
        bool re = json_is_true(json_object_get(m, "isRegex"));
        const json_t *eq = json_object_get(m, "isEqual");
        bool neg = eq != NULL && json_is_false(eq);

        buf_printf(out, "%s%s%s%s\"%s\"", i > 0 ? ", " : "",
                   json_string_value(json_object_get(m, "name")), neg ? "!" : "=",
                   re ? (neg ? "~" : "~") : "", json_string_value(json_object_get(m, "value")));
    }
}

static void group_text(const json_t *labels, struct buf *out)
{
    const char *k;
    const json_t *v;
    bool first = true;

    json_object_foreach((json_t *)labels, k, v)
    {
        buf_printf(out, "%s%s=%s", first ? "" : ", ", k, json_string_value(v));
        first = false;
    }
}

static json_t *incidents_ctx(const struct api *a)
{
    struct incident_query q;
    json_t *in, *out = json_array();
    size_t i;
    json_t *inc;

    memset(&q, 0, sizeof(q));
    q.states = (1u << INCIDENT_FIRING) | (1u << INCIDENT_ACKNOWLEDGED);
    in = a->ops->query_incidents != NULL ? a->ops->query_incidents(a->engine, &q) : NULL;
    json_array_foreach(in, i, inc)
    {
        char id[32], csrf[TOKEN_MAX] = "";
        const char *state = json_string_value(json_object_get(inc, "state"));
        const json_t *ack = json_object_get(inc, "ack");
        struct buf g;

        if (i >= MAX_INCIDENTS)
            break;
        buf_init(&g, 4096);
        group_text(json_object_get(inc, "groupLabels"), &g);
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(inc, "id")));
        csrf_for(a, "ack", id, csrf);
        {
            const json_t *steps = json_object_get(inc, "steps");
            const json_t *by = json_is_object(ack) ? json_object_get(ack, "by") : NULL;
            const char *team = json_string_value(json_object_get(inc, "team"));
            const char *opened = json_string_value(json_object_get(inc, "openedAt"));

            json_array_append_new(out,
                                  json_pack("{s:s, s:s, s:b, s:s, s:s, s:I, s:O, s:s, s:s, s:O}",
                                            "id", id, "state", state != NULL ? state : "", "firing",
                                            state != NULL && strcmp(state, "firing") == 0, "group",
                                            buf_str(&g), "team", team != NULL ? team : "", "step",
                                            json_integer_value(json_object_get(inc, "step")),
                                            "steps", steps != NULL ? (json_t *)steps : json_null(),
                                            "opened_at", opened != NULL ? opened : "", "csrf", csrf,
                                            "acked_by", by != NULL ? (json_t *)by : json_null()));
        }
        buf_release(&g);
    }
    json_decref(in);
    return out;
}

static json_t *silences_ctx(const struct api *a)
{
    struct matchers none = MATCHERS_INIT;
    json_t *in, *out = json_array();
    size_t i;
    json_t *s;

    in = a->ops->query_silences != NULL ? a->ops->query_silences(a->engine, &none) : NULL;
    json_array_foreach(in, i, s)
    {
        const char *state =
            json_string_value(json_object_get(json_object_get(s, "status"), "state"));
        const char *id = json_string_value(json_object_get(s, "id"));
        char csrf[TOKEN_MAX] = "";
        struct buf m;

        if (state == NULL || strcmp(state, "active") != 0 || id == NULL)
            continue;
        buf_init(&m, 8192);
        matchers_text(json_object_get(s, "matchers"), &m);
        csrf_for(a, "expire", id, csrf);
        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:s, s:O, s:O, s:s}", "id", id, "matchers",
                                        buf_str(&m), "ends_at",
                                        json_string_value(json_object_get(s, "endsAt")) != NULL
                                            ? json_string_value(json_object_get(s, "endsAt"))
                                            : "",
                                        "created_by", json_object_get(s, "createdBy"), "comment",
                                        json_object_get(s, "comment"), "csrf", csrf));
        buf_release(&m);
    }
    json_decref(in);
    return out;
}

void api_h_web_index(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    const struct mustache *tpl = default_template("web_index");
    json_t *incs = incidents_ctx(a);
    json_t *sils = silences_ctx(a);
    json_t *c;
    char base[512], now[64];
    struct buf out;
    struct error err = {{0}};
    static const char *const hdrs[] = {"Cache-Control", "no-store", "X-Frame-Options", "DENY",
                                       NULL};

    (void)req;
    base_path(a, base, sizeof(base));
    time_format_rfc3339(clock_now_ms(), now, sizeof(now));
    c = json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:b, s:b, s:o, s:o}", "base", base, "now", now,
                  "refresh", REFRESH_S, "version", "amrouter " AMR_VERSION, "n_incidents",
                  (json_int_t)json_array_size(incs), "n_silences",
                  (json_int_t)json_array_size(sils), "has_incidents", json_array_size(incs) > 0,
                  "has_silences", json_array_size(sils) > 0, "incidents", incs, "silences", sils);
    buf_init(&out, PAGE_MAX);
    if (tpl == NULL || c == NULL ||
        mustache_render(tpl, c, default_template_escape("web_index"), &out, &err) < 0) {
        http_respond_text(resp, 500,
                          tpl == NULL ? "the web_index template is missing\n"
                                      : "cannot render the page\n");
        log_error("web view not rendered", "err", err.msg, NULL);
    } else {
        http_respond(resp, 200, "text/html; charset=utf-8", buf_str(&out), out.len);
        resp->headers = hdrs;
    }
    json_decref(c);
    buf_release(&out);
}

/* The value of name in an application/x-www-form-urlencoded body (no decoding:
 * the fields we read are base64url and digits). */
static void form_get(const char *body, const char *name, char *out, size_t outsz)
{
    size_t n = strlen(name);
    const char *p = body;

    out[0] = '\0';
    while (p != NULL && *p != '\0') {
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t len = strcspn(p + n + 1, "&");

            if (len < outsz) {
                memcpy(out, p + n + 1, len);
                out[len] = '\0';
            }
            return;
        }
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
}

/* Origin (else Referer) must be this server: the external URL's origin or the Host
 * the browser used. Neither header: the CSRF field alone decides. */
static bool same_origin(const struct api *a, const struct http_request *req)
{
    const char *origin = http_header_get(req, "Origin");
    const char *seen = origin != NULL ? origin : http_header_get(req, "Referer");
    const char *host = http_header_get(req, "Host");
    const char *ext = a->external_url != NULL ? a->external_url : "";
    const char *p;
    size_t n;

    if (seen == NULL)
        return true;
    if (strcmp(seen, "null") == 0)
        return false;
    p = strstr(ext, "://");
    n = p != NULL ? (size_t)(strcspn(p + 3, "/") + (size_t)(p + 3 - ext)) : 0;
    if (n > 0 && strncmp(seen, ext, n) == 0 && (seen[n] == '\0' || seen[n] == '/'))
        return true;
    p = strstr(seen, "://");
    if (host == NULL || p == NULL)
        return false;
    n = strlen(host);
    return strncmp(p + 3, host, n) == 0 && (p[3 + n] == '\0' || p[3 + n] == '/');
}

static void back_to_page(const struct api *a, struct http_response *resp)
{
    static _Thread_local char loc[600];
    static _Thread_local const char *hdrs[3];
    char base[512];

    base_path(a, base, sizeof(base));
    snprintf(loc, sizeof(loc), "%s/", base);
    hdrs[0] = "Location";
    hdrs[1] = loc;
    hdrs[2] = NULL;
    http_respond_text(resp, 303, "See Other\n");
    resp->headers = hdrs;
}

static bool form_checks(const struct api *a, const struct http_request *req,
                        struct http_response *resp, const char *kind, const char *id)
{
    char csrf[TOKEN_MAX + 8];

    if (!same_origin(a, req)) {
        http_respond_text(resp, 403, "refused: the form was sent from another site\n");
        return false;
    }
    form_get(req->body, "csrf", csrf, sizeof(csrf));
    if (!csrf_ok(a, kind, id, csrf)) {
        http_respond_text(resp, 403, "refused: missing or wrong csrf field; reload the page\n");
        return false;
    }
    return true;
}

void api_h_web_ack(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct ack_in in;
    struct error err = {{0}};
    json_t *out = NULL;
    int status = 500;
    char *end;
    unsigned long long id = strtoull(req->params[0], &end, 10);
    char msg[ERROR_MSG_MAX + 32];

    if (*end != '\0' || id == 0) {
        http_respond_text(resp, 400, "id: must be a positive integer\n");
        return;
    }
    if (!form_checks(a, req, resp, "ack", req->params[0]))
        return;
    if (a->ops->ack_incident == NULL) {
        http_respond_text(resp, 404, "incidents are not available\n");
        return;
    }
    in.by = req->principal != NULL ? req->principal : "web";
    in.via = "web";
    in.comment = NULL;
    if (a->ops->ack_incident(a->engine, (uint64_t)id, false, &in, &out, &status, &err) < 0) {
        snprintf(msg, sizeof(msg), "%s\n", err.msg);
        http_respond_text(resp, status >= 400 ? status : 500, msg);
        return;
    }
    json_decref(out);
    back_to_page(a, resp);
}

void api_h_web_expire(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct error err = {{0}};
    int status = 500;
    char msg[ERROR_MSG_MAX + 32];

    if (!form_checks(a, req, resp, "expire", req->params[0]))
        return;
    if (a->ops->expire_silence == NULL) {
        http_respond_text(resp, 404, "silences are not available\n");
        return;
    }
    if (a->ops->expire_silence(a->engine, req->params[0], &status, &err) < 0) {
        snprintf(msg, sizeof(msg), "%s\n", err.msg);
        http_respond_text(resp, status >= 400 ? status : 500, msg);
        return;
    }
    back_to_page(a, resp);
}
