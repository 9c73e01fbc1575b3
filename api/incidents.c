/*
 * incidents.c - the incident endpoints of issue 6 (docs/escalation.md):
 *
 *   GET  /api/v2/incidents              list (state, team, filter)
 *   GET  /api/v2/incidents/{id}         one, with alerts and history
 *   POST /api/v2/incidents/{id}/ack     {by, comment, via}
 *   POST /api/v2/incidents/{id}/unack
 *   POST /api/v2/acks                   {matchers, by, comment, via}
 *   GET  /ack/{token}                   the ack page (never acknowledges)
 *   POST /ack/{token}                   the ack form (CSRF field + Origin check)
 *   POST /api/v2/sms/inbound            Twilio's inbound SMS webhook (signed)
 *
 * Every handler validates the whole request first and then makes one engine
 * call. Ack pages: GET shows the page with a hidden field csrf = HMAC(secret,
 * token), so only a page this server rendered for that very link can post;
 * a POST whose Origin (or, without one, Referer) names another site is refused
 * too, and responses forbid framing and caching. Twilio requests must carry a
 * valid X-Twilio-Signature for the auth token of the account named in the
 * request, and only a number that was paged for an incident may ack it.
 *
 * Nothing here keeps pointers into a request after returning.
 */
#include "api/api.h"

#include "api/parse.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/log.h"
#include "core/matcher.h"
#include "core/timefmt.h"
#include "core/testable.h"
#include "core/token.h"
#include "router/router.h"
#include "templates/defaults.h"
#include "templates/mustache.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BY_MAX      200
#define COMMENT_MAX 2000
#define FORM_MAX    64
#define PAGE_MAX    ((size_t)1 << 20)

static const char *const page_headers[] = {
    "Cache-Control",
    "no-store",
    "X-Frame-Options",
    "DENY",
    "Content-Security-Policy",
    "frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy",
    "same-origin",
    NULL,
};

static void unrouted(const struct http_request *req, struct http_response *resp)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "path %.128s was not found: this build has no engine", req->path);
    http_respond_error_obj(resp, 404, msg);
}

/* A decimal incident id, 1 or more. */
static int parse_id(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (*end != '\0' || v == 0)
        return -1;
    *out = v;
    return 0;
}

/* The incident id of the path (/api/v1/incidents/{id}...); answers 400 and
 * returns -1 when it is not one. */
static int path_id(const struct http_request *req, struct http_response *resp, uint64_t *id)
{
    if (parse_id(req->params[0], id) == 0)
        return 0;
    http_respond_error_str(resp, 400, "id: must be a positive integer (an incident id)");
    return -1;
}

/* ------------------------------------------------------------------ JSON API */

static int parse_states(const struct http_request *req, unsigned *states, struct error *err)
{
    *states = 0;
    for (size_t i = 0; i < req->n_query; i++) {
        char tmp[128], *save = NULL, *tok;

        if (strcmp(req->query[i].key, "state") != 0)
            continue;
        snprintf(tmp, sizeof(tmp), "%s", req->query[i].value);
        for (tok = strtok_r(tmp, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            int st = incident_state_parse(tok);
            if (strcmp(tok, "open") == 0)
                *states |= (1u << INCIDENT_FIRING) | (1u << INCIDENT_ACKNOWLEDGED);
            else if (strcmp(tok, "all") == 0)
                *states |= (1u << INCIDENT_FIRING) | (1u << INCIDENT_ACKNOWLEDGED) |
                           (1u << INCIDENT_RESOLVED);
            else if (st > 0)
                *states |= 1u << st;
            else
                return error_set(err,
                                 "state: unknown state \"%.64s\" (open, firing, acknowledged, "
                                 "resolved, all)",
                                 tok);
        }
    }
    return 0;
}

void api_h_get_incidents(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct incident_query q;
    struct error err = {{0}};
    json_t *body;

    if (a->ops->query_incidents == NULL) {
        unrouted(req, resp);
        return;
    }
    memset(&q, 0, sizeof(q));
    matchers_init(&q.filter);
    if (parse_states(req, &q.states, &err) < 0 || api_parse_filters(req, &q.filter, &err) < 0) {
        http_respond_error_str(resp, 400, err.msg);
        matchers_release(&q.filter);
        return;
    }
    q.team = http_query_get(req, "team");
    body = a->ops->query_incidents(a->engine, &q);
    matchers_release(&q.filter);
    if (body == NULL)
        http_respond_error_str(resp, 503,
                               "the engine could not answer (stopping or out of memory)");
    else
        http_respond_json(resp, 200, body);
}

void api_h_get_incident(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct error err = {{0}};
    json_t *out = NULL;
    uint64_t id;
    int status = 500;

    if (a->ops->get_incident == NULL) {
        unrouted(req, resp);
        return;
    }
    if (path_id(req, resp, &id) < 0)
        return;
    if (a->ops->get_incident(a->engine, id, &out, &status, &err) < 0)
        http_respond_error_str(resp, status, err.msg);
    else
        http_respond_json(resp, 200, out);
}

/* Reads {by, comment, via} (all optional; an empty body is fine). Strings are copied
 * into the caller's buffers. */
struct ack_body {
    char by[BY_MAX + 1];
    char comment[COMMENT_MAX + 1];
    char via[16];
    bool has_comment;
};

static int str_field(const json_t *o, const char *key, char *out, size_t max, bool *set,
                     struct error *err)
{
    const json_t *v = json_object_get(o, key);

    if (set != NULL)
        *set = false;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return error_set(err, "%s: must be a string", key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return error_set(err, "%s: contains a NUL byte", key);
    if (json_string_length(v) > max)
        return error_set(err, "%s: longer than %zu bytes", key, max);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    if (set != NULL)
        *set = true;
    return 0;
}

static int parse_ack_fields(const json_t *o, struct ack_body *b, struct error *err)
{
    if (str_field(o, "by", b->by, BY_MAX, NULL, err) < 0 ||
        str_field(o, "comment", b->comment, COMMENT_MAX, &b->has_comment, err) < 0 ||
        str_field(o, "via", b->via, sizeof(b->via) - 1, NULL, err) < 0)
        return -1;
    if (strcmp(b->via, "api") != 0 && strcmp(b->via, "amctl") != 0)
        return error_set(err, "via: must be \"api\" or \"amctl\"");
    return 0;
}

static json_t *load_body(const struct http_request *req, bool allow_empty, struct error *err)
{
    json_error_t je;
    json_t *o;
    size_t i = 0;

    while (i < req->body_len && isspace((unsigned char)req->body[i]))
        i++;
    if (i == req->body_len) {
        if (allow_empty)
            return json_object();
        error_set(err, "body: a JSON object is required");
        return NULL;
    }
    o = json_loadb(req->body, req->body_len, 0, &je);
    if (o == NULL) {
        error_set(err, "body: invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        error_set(err, "body: must be a JSON object");
        return NULL;
    }
    return o;
}

static void ack_one(void *ctx, const struct http_request *req, struct http_response *resp,
                    bool unack)
{
    const struct api *a = ctx;
    struct ack_body b;
    struct ack_in in;
    struct error err = {{0}};
    json_t *o, *out = NULL;
    uint64_t id;
    int status = 500;

    if (a->ops->ack_incident == NULL) {
        unrouted(req, resp);
        return;
    }
    if (path_id(req, resp, &id) < 0)
        return;
    memset(&b, 0, sizeof(b));
    snprintf(b.by, sizeof(b.by), "api");
    snprintf(b.via, sizeof(b.via), "api");
    o = load_body(req, true, &err);
    if (o == NULL || parse_ack_fields(o, &b, &err) < 0) {
        json_decref(o);
        http_respond_error_str(resp, 400, err.msg);
        return;
    }
    json_decref(o);
    if (req->principal != NULL) /* ops: an authenticated ack is by the token's name */
        snprintf(b.by, sizeof(b.by), "%s", req->principal);
    in.by = b.by;
    in.via = b.via;
    in.comment = b.has_comment ? b.comment : NULL;
    if (a->ops->ack_incident(a->engine, id, unack, &in, &out, &status, &err) < 0)
        http_respond_error_str(resp, status, err.msg);
    else
        http_respond_json(resp, 200, out);
}

void api_h_ack_incident(void *ctx, const struct http_request *req, struct http_response *resp)
{
    ack_one(ctx, req, resp, false);
}

void api_h_unack_incident(void *ctx, const struct http_request *req, struct http_response *resp)
{
    ack_one(ctx, req, resp, true);
}

static int parse_matchers(const json_t *ms, struct matchers *out, struct error *err)
{
    if (ms == NULL || json_is_null(ms))
        return error_set(err, "matchers: required");
    if (!json_is_array(ms) || json_array_size(ms) == 0)
        return error_set(err, "matchers: must be a non-empty array of matchers");
    for (size_t i = 0; i < json_array_size(ms); i++) {
        const json_t *m = json_array_get(ms, i);
        const json_t *n = json_object_get(m, "name"), *v = json_object_get(m, "value");
        const json_t *re = json_object_get(m, "isRegex"), *eq = json_object_get(m, "isEqual");
        bool is_re, is_eq;
        struct matcher one;

        if (!json_is_object(m))
            return error_set(err, "matchers[%zu]: must be an object", i);
        if (!json_is_string(n) || !json_is_string(v))
            return error_set(err, "matchers[%zu]: name and value must be strings", i);
        if ((re != NULL && !json_is_boolean(re) && !json_is_null(re)) ||
            (eq != NULL && !json_is_boolean(eq) && !json_is_null(eq)))
            return error_set(err, "matchers[%zu]: isRegex and isEqual must be booleans", i);
        is_re = json_is_true(re);
        is_eq = eq == NULL || json_is_null(eq) || json_is_true(eq);
        if (matcher_init(&one,
                         is_re ? (is_eq ? MATCH_RE : MATCH_NRE) : (is_eq ? MATCH_EQ : MATCH_NE),
                         json_string_value(n), json_string_value(v), err) < 0)
            return error_prefix(err, "matchers[%zu]", i);
        if (matchers_push(out, &one) < 0) {
            matcher_release(&one);
            return error_set(err, "out of memory");
        }
    }
    return 0;
}

void api_h_post_acks(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct matchers m = MATCHERS_INIT;
    struct ack_body b;
    struct ack_in in;
    struct error err = {{0}};
    json_t *o, *out = NULL;

    if (a->ops->ack_matching == NULL) {
        unrouted(req, resp);
        return;
    }
    memset(&b, 0, sizeof(b));
    snprintf(b.by, sizeof(b.by), "api");
    snprintf(b.via, sizeof(b.via), "api");
    o = load_body(req, false, &err);
    if (o == NULL || parse_matchers(json_object_get(o, "matchers"), &m, &err) < 0 ||
        parse_ack_fields(o, &b, &err) < 0) {
        json_decref(o);
        matchers_release(&m);
        http_respond_error_str(resp, 400, err.msg);
        return;
    }
    json_decref(o);
    if (req->principal != NULL) /* ops: an authenticated ack is by the token's name */
        snprintf(b.by, sizeof(b.by), "%s", req->principal);
    in.by = b.by;
    in.via = b.via;
    in.comment = b.has_comment ? b.comment : NULL;
    if (a->ops->ack_matching(a->engine, &m, &in, &out, &err) < 0)
        http_respond_error_str(resp, 503, err.msg);
    else
        http_respond_json(resp, 200, out);
    matchers_release(&m);
}

/* ------------------------------------------------------------------ forms */

struct form {
    char *data; /* decoded copy, fields point into it */
    struct token_param v[FORM_MAX];
    size_t n;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes one x-www-form-urlencoded component in place. */
static void form_decode(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* Parses an application/x-www-form-urlencoded body. -1 when it holds more than
 * FORM_MAX fields or a NUL byte. */
static int form_parse(const struct http_request *req, struct form *f)
{
    char *p, *save = NULL, *tok;

    memset(f, 0, sizeof(*f));
    if (memchr(req->body, '\0', req->body_len) != NULL)
        return -1;
    f->data = strndup(req->body, req->body_len);
    if (f->data == NULL)
        return -1;
    for (tok = strtok_r(f->data, "&", &save); tok != NULL; tok = strtok_r(NULL, "&", &save)) {
        if (f->n == FORM_MAX)
            return -1;
        p = strchr(tok, '=');
        if (p != NULL)
            *p++ = '\0';
        form_decode(tok);
        if (p != NULL)
            form_decode(p);
        f->v[f->n].name = tok;
        f->v[f->n].value = p != NULL ? p : "";
        f->n++;
    }
    return 0;
}

static const char *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].name, name) == 0)
            return f->v[i].value;
    }
    return NULL;
}

/* ------------------------------------------------------------------ ack pages */

static int html_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        int rc;
        switch (*s) {
        case '<':
            rc = buf_appends(b, "&lt;");
            break;
        case '>':
            rc = buf_appends(b, "&gt;");
            break;
        case '&':
            rc = buf_appends(b, "&amp;");
            break;
        case '"':
            rc = buf_appends(b, "&quot;");
            break;
        case '\'':
            rc = buf_appends(b, "&#39;");
            break;
        default:
            rc = buf_appendc(b, *s);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* A small page that says why (403 for bad links and forged forms). */
static void simple_page(struct http_response *resp, int status, const char *title, const char *msg)
{
    struct buf b;

    buf_init(&b, PAGE_MAX);
    if (buf_appends(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                        "<meta name=\"robots\" content=\"noindex\"><title>") < 0 ||
        html_escape(&b, title) < 0 || buf_appends(&b, " · amrouter</title></head><body><h1>") < 0 ||
        html_escape(&b, title) < 0 || buf_appends(&b, "</h1><p role=\"alert\">") < 0 ||
        html_escape(&b, msg) < 0 || buf_appends(&b, "</p></body></html>\n") < 0) {
        buf_release(&b);
        http_respond_text(resp, 500, "out of memory\n");
        return;
    }
    resp->status = status;
    resp->content_type = "text/html; charset=utf-8";
    resp->headers = page_headers;
    resp->body_len = b.len;
    resp->body = buf_detach(&b);
}

/* The path part of the external URL ("" for "http://host:9093"). */
static const char *url_path_of(const char *url)
{
    const char *p = strstr(url, "://");

    p = p != NULL ? strchr(p + 3, '/') : NULL;
    return p != NULL ? p : "";
}

/* scheme://host[:port] of the external URL, into out. */
static void url_origin(const char *url, char *out, size_t outsz)
{
    const char *p = strstr(url, "://");
    const char *end = p != NULL ? strchr(p + 3, '/') : NULL;
    size_t n = end != NULL ? (size_t)(end - url) : strlen(url);

    snprintf(out, outsz, "%.*s", (int)n, url);
}

/* Checks the link; on failure answers the 403 page and returns -1. */
static int check_token(const struct api *a, const struct http_request *req,
                       struct http_response *resp, uint64_t *id)
{
    const uint8_t *secret = NULL;
    size_t len = 0;
    enum token_status st;

    a->ops->ack_secret(a->engine, &secret, &len);
    st = token_verify(secret, len, req->params[0], clock_now_ms(), id, NULL);
    if (st != TOKEN_OK) {
        log_info("ack link refused", "why", token_status_name(st), NULL);
        simple_page(resp, 403, "This acknowledgement link cannot be used",
                    token_status_message(st));
        return -1;
    }
    return 0;
}

static void render_page(const struct api *a, const struct http_request *req,
                        struct http_response *resp, uint64_t id, const char *message)
{
    const uint8_t *secret = NULL;
    size_t len = 0;
    char csrf[TOKEN_MAX], ack_url[1024], action[1024];
    const struct mustache *tpl = default_template("ack_page");
    struct error err = {{0}};
    json_t *ctx = NULL;
    struct buf b;
    int status = 500;

    a->ops->ack_secret(a->engine, &secret, &len);
    snprintf(ack_url, sizeof(ack_url), "%s/ack/%s", a->external_url != NULL ? a->external_url : "",
             req->params[0]);
    snprintf(action, sizeof(action), "%s/ack/%s",
             url_path_of(a->external_url != NULL ? a->external_url : ""), req->params[0]);
    if (token_csrf(secret, len, req->params[0], csrf) < 0 || tpl == NULL) {
        simple_page(resp, 500, "Internal error", "The page could not be made.");
        return;
    }
    if (a->ops->ack_page_context(a->engine, id, ack_url, &ctx, &status, &err) < 0) {
        simple_page(resp, status == 404 ? 404 : 503,
                    status == 404 ? "Incident not found" : "Unavailable",
                    status == 404 ? "This incident no longer exists (resolved long ago)."
                                  : "amrouter could not answer; try again.");
        return;
    }
    if (json_object_set_new(ctx, "csrf", json_string(csrf)) < 0 ||
        json_object_set_new(ctx, "action", json_string(action)) < 0 ||
        (message != NULL && json_object_set_new(ctx, "message", json_string(message)) < 0)) {
        json_decref(ctx);
        simple_page(resp, 500, "Internal error", "The page could not be made.");
        return;
    }
    buf_init(&b, PAGE_MAX);
    if (mustache_render(tpl, ctx, MUSTACHE_ESCAPE_HTML, &b, &err) < 0) {
        json_decref(ctx);
        buf_release(&b);
        simple_page(resp, 500, "Internal error", err.msg);
        return;
    }
    json_decref(ctx);
    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    resp->headers = page_headers;
    resp->body_len = b.len;
    resp->body = buf_detach(&b);
}

void api_h_ack_page(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    uint64_t id;

    if (a->ops->ack_page_context == NULL || a->ops->ack_secret == NULL) {
        unrouted(req, resp);
        return;
    }
    if (check_token(a, req, resp, &id) < 0)
        return;
    render_page(a, req, resp, id, NULL);
}

/* A browser's POST names where the form came from; it must be this server. Without
 * Origin and Referer (some privacy settings) the CSRF field alone decides. */
static bool same_origin(const struct api *a, const struct http_request *req)
{
    const char *origin = http_header_get(req, "Origin");
    const char *referer = http_header_get(req, "Referer");
    const char *host = http_header_get(req, "Host");
    const char *seen = origin != NULL && strcmp(origin, "null") != 0 ? origin : referer;
    char ext[512], via_host[512];
    size_t n;

    if (seen == NULL || seen[0] == '\0')
        return origin == NULL; /* "Origin: null" (sandboxed/opaque) is refused */
    url_origin(a->external_url != NULL ? a->external_url : "", ext, sizeof(ext));
    n = strlen(ext);
    if (n > 0 && strncmp(seen, ext, n) == 0 && (seen[n] == '\0' || seen[n] == '/'))
        return true;
    if (host == NULL)
        return false;
    /* The page may be reached under another name than external_url (a proxy). */
    for (int tls = 0; tls <= 1; tls++) {
        snprintf(via_host, sizeof(via_host), "%s://%s", tls ? "https" : "http", host);
        n = strlen(via_host);
        if (strncmp(seen, via_host, n) == 0 && (seen[n] == '\0' || seen[n] == '/'))
            return true;
    }
    return false;
}

void api_h_ack_post(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    const uint8_t *secret = NULL;
    size_t len = 0;
    struct form f;
    struct ack_in in;
    struct error err = {{0}};
    json_t *out = NULL;
    const char *name, *comment;
    char msg[512], by[BY_MAX + 1];
    uint64_t id;
    int status = 500;

    if (a->ops->ack_page_context == NULL || a->ops->ack_secret == NULL ||
        a->ops->ack_incident == NULL) {
        unrouted(req, resp);
        return;
    }
    if (check_token(a, req, resp, &id) < 0)
        return;
    if (!same_origin(a, req)) {
        const char *o = http_header_get(req, "Origin"), *r = http_header_get(req, "Referer");
        log_warn("ack form refused: sent from another origin", "origin", o != NULL ? o : "",
                 "referer", r != NULL ? r : "", NULL);
        simple_page(resp, 403, "Request refused",
                    "This form was sent from another site. Open the link from the "
                    "notification and press the button there.");
        return;
    }
    if (form_parse(req, &f) < 0) {
        free(f.data);
        simple_page(resp, 400, "Bad request", "The form could not be read.");
        return;
    }
    a->ops->ack_secret(a->engine, &secret, &len);
    if (!token_csrf_ok(secret, len, req->params[0], form_get(&f, "csrf"))) {
        free(f.data);
        simple_page(resp, 403, "Request refused",
                    "The form is missing its security field or it does not match this link. "
                    "Open the link again and press the button on that page.");
        return;
    }
    name = form_get(&f, "name");
    comment = form_get(&f, "comment");
    /* Both end up in JSON (API answers, webhook payloads) and SQLite: valid UTF-8 within
     * the JSON API's limits, else a clear 400 (fuzz_ackform found %C3-cut names). */
    {
        const char *bad = NULL;

        if (name != NULL && strlen(name) > BY_MAX)
            bad = "The name is longer than 200 bytes.";
        else if (name != NULL && !utf8_valid(name, strlen(name)))
            bad = "The name is not valid UTF-8.";
        else if (comment != NULL && strlen(comment) > COMMENT_MAX)
            bad = "The comment is longer than 2000 bytes.";
        else if (comment != NULL && !utf8_valid(comment, strlen(comment)))
            bad = "The comment is not valid UTF-8.";
        if (bad != NULL) {
            free(f.data);
            simple_page(resp, 400, "Bad request", bad);
            return;
        }
    }
    snprintf(by, sizeof(by), "%s", name != NULL && name[0] != '\0' ? name : "web link");
    in.by = by;
    in.via = "web";
    in.comment = comment != NULL && comment[0] != '\0' ? comment : NULL;
    if (a->ops->ack_incident(a->engine, id, false, &in, &out, &status, &err) < 0) {
        free(f.data);
        if (status == 409) {
            render_page(a, req, resp, id, "This incident is already resolved.");
        } else if (status == 404) {
            simple_page(resp, 404, "Incident not found",
                        "This incident no longer exists (resolved long ago).");
        } else {
            simple_page(resp, 503, "Unavailable", err.msg);
        }
        return;
    }
    {
        const json_t *ack = json_object_get(out, "ack");
        const char *who = json_string_value(json_object_get(ack, "by"));
        const char *at = json_string_value(json_object_get(ack, "at"));
        bool mine = who != NULL && strcmp(who, by) == 0 &&
                    json_string_value(json_object_get(ack, "via")) != NULL &&
                    strcmp(json_string_value(json_object_get(ack, "via")), "web") == 0;

        if (mine)
            snprintf(msg, sizeof(msg), "Acknowledged. Escalation stopped for incident #%llu.",
                     (unsigned long long)id);
        else
            snprintf(msg, sizeof(msg), "Already acknowledged by %.200s at %.40s.",
                     who != NULL ? who : "someone", at != NULL ? at : "an earlier time");
    }
    json_decref(out);
    free(f.data);
    render_page(a, req, resp, id, msg);
}

/* ------------------------------------------------------------------ Twilio inbound SMS */

static void twiml(struct http_response *resp, int status, const char *msg)
{
    struct buf b;

    buf_init(&b, 4096);
    if (buf_appends(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Message>") < 0 ||
        html_escape(&b, msg) < 0 || buf_appends(&b, "</Message></Response>\n") < 0) {
        buf_release(&b);
        http_respond_text(resp, 500, "out of memory\n");
        return;
    }
    resp->status = status;
    resp->content_type = "text/xml; charset=utf-8";
    resp->body_len = b.len;
    resp->body = buf_detach(&b);
}

/* "ACK 42" or "42 ack", any case, surrounding blanks allowed: the id, else 0. */
TESTABLE uint64_t api_sms_command(const char *body)
{
    char w1[32], w2[32], extra[2];
    uint64_t id = 0;

    if (body == NULL || strlen(body) > 64 || sscanf(body, " %31s %31s %1s", w1, w2, extra) != 2)
        return 0;
    if (strcasecmp(w1, "ack") == 0 && parse_id(w2, &id) == 0)
        return id;
    if (strcasecmp(w2, "ack") == 0 && parse_id(w1, &id) == 0)
        return id;
    return 0;
}

void api_h_sms_inbound(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct form f;
    struct error err = {{0}};
    const char *sig = http_header_get(req, "X-Twilio-Signature");
    const char *from, *body;
    char url[1024], msg[256];
    char *auth = NULL;
    uint64_t id;
    int result = -1;

    if (a->ops->sms_ack == NULL || a->ops->twilio_auth_token == NULL) {
        unrouted(req, resp);
        return;
    }
    if (form_parse(req, &f) < 0) {
        free(f.data);
        http_respond_text(resp, 400, "bad form body\n");
        return;
    }
    /* Twilio signs the URL it was given: <external_url>/api/v2/sms/inbound. */
    snprintf(url, sizeof(url), "%s%s", a->external_url != NULL ? a->external_url : "", req->path);
    auth = a->ops->twilio_auth_token(a->engine, form_get(&f, "AccountSid"));
    if (sig == NULL || auth == NULL || !token_twilio_ok(auth, url, f.v, f.n, sig)) {
        log_warn("sms inbound: refused an unsigned or wrongly signed request", "reason",
                 sig == NULL    ? "no X-Twilio-Signature"
                 : auth == NULL ? "unknown AccountSid"
                                : "bad signature",
                 NULL);
        free(auth);
        free(f.data);
        http_respond_text(resp, 403, "invalid or missing X-Twilio-Signature\n");
        return;
    }
    free(auth);
    from = form_get(&f, "From");
    body = form_get(&f, "Body");
    id = api_sms_command(body);
    if (id == 0) {
        twiml(resp, 200, "amrouter: reply ACK <id> (e.g. ACK 42) to acknowledge an incident.");
        free(f.data);
        return;
    }
    if (a->ops->sms_ack(a->engine, id, from != NULL ? from : "", &result, &err) < 0) {
        free(f.data);
        twiml(resp, 200, "amrouter is unavailable; try again.");
        return;
    }
    switch (result) {
    case 0:
        snprintf(msg, sizeof(msg), "Incident %llu acknowledged. Escalation stopped.",
                 (unsigned long long)id);
        break;
    case 1:
        snprintf(msg, sizeof(msg), "Incident %llu was already acknowledged.",
                 (unsigned long long)id);
        break;
    case 2:
        snprintf(msg, sizeof(msg), "Incident %llu is unknown or resolved.", (unsigned long long)id);
        break;
    default:
        snprintf(msg, sizeof(msg), "This number was not paged for incident %llu.",
                 (unsigned long long)id);
        break;
    }
    free(f.data);
    twiml(resp, 200, msg);
}
