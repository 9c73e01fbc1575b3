/*
 * api.c - endpoint handlers: validate the request, make one engine call, answer.
 *
 * Error bodies follow Alertmanager: on /api/v2 a JSON string for a refused
 * request (400/404), {"code":N,"message":"..."} for a body that is not even
 * the right JSON shape; /api/v1 answers {"status":"error","errorType":...,
 * "error":...}; /-/ endpoints answer plain text.
 */
#include "api/api.h"

#include "api/auth.h"
#include "api/metrics.h"
#include "api/webview.h"
#include "api/parse.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/matcher.h"
#include "core/metrics.h"
#include "core/timefmt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An endpoint whose engine call is missing is not routed: 404, as for any unknown
 * path, with the reason. */
static void unavailable(const struct http_request *req, struct http_response *resp)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "path %.128s was not found: this build has no engine", req->path);
    http_respond_error_obj(resp, 404, msg);
}

/* A query answer: NULL from the engine means it could not answer (it is stopping,
 * or memory ran out). */
static void answer_json(struct http_response *resp, json_t *body)
{
    if (body == NULL) {
        http_respond_error_str(resp, 503,
                               "the engine could not answer (stopping or out of memory)");
        return;
    }
    http_respond_json(resp, 200, body);
}

/* ops: amrouter_alerts_received_total{status}; resolved = ends_at in the past. */
static void count_received(const struct alert *alerts, size_t n)
{
    int64_t now = clock_now_ms();
    int64_t resolved = 0;

    for (size_t i = 0; i < n; i++) {
        if (alerts[i].ends_at != TIME_UNSET && alerts[i].ends_at <= now)
            resolved++;
    }
    if ((int64_t)n > resolved)
        metrics_add(MET_ALERTS_RECEIVED, "firing", NULL, (int64_t)n - resolved);
    if (resolved > 0)
        metrics_add(MET_ALERTS_RECEIVED, "resolved", NULL, resolved);
}

/* POST /api/v1/alerts and /api/v2/alerts: the batch is parsed and validated whole,
 * then handed to the engine in one call; a 200 means it is durable. */
static void post_alerts(const struct api *a, const struct http_request *req,
                        struct http_response *resp, bool v1)
{
    struct alert *alerts = NULL;
    size_t n = 0;
    enum api_bad bad;
    struct error err = {{0}};

    if (a->ops->post_alerts == NULL) {
        unavailable(req, resp);
        return;
    }
    if (api_parse_alerts(req->body, req->body_len, &alerts, &n, &bad, &err) < 0) {
        metrics_add(MET_ALERTS_REJECTED, "invalid", NULL, 1); /* ops */
        log_debug("alerts rejected", "path", req->path, "err", err.msg, NULL);
        if (v1)
            http_respond_json(resp, 400,
                              json_pack("{s:s, s:s, s:s}", "status", "error", "errorType",
                                        "bad_data", "error", err.msg));
        else if (bad == API_BAD_SHAPE)
            http_respond_error_obj(resp, 400, err.msg);
        else
            http_respond_error_str(resp, 400, err.msg);
        return;
    }
    count_received(alerts, n); /* ops: before the engine takes them */
    /* The engine takes the array and the alerts in it, whatever it returns. */
    if (n > 0 && a->ops->post_alerts(a->engine, alerts, n, &err) < 0) {
        metrics_add(MET_ALERTS_REJECTED, "unavailable", NULL, 1); /* ops */
        log_warn("alerts not stored", "err", err.msg, NULL);
        if (v1)
            http_respond_json(resp, 503,
                              json_pack("{s:s, s:s, s:s}", "status", "error", "errorType",
                                        "unavailable", "error", err.msg));
        else
            http_respond_error_str(resp, 503, err.msg);
        return;
    }
    if (v1)
        http_respond_json(resp, 200, json_pack("{s:s}", "status", "success"));
    else
        http_respond(resp, 200, NULL, NULL, 0);
}

static void h_post_alerts_v1(void *ctx, const struct http_request *req, struct http_response *resp)
{
    post_alerts(ctx, req, resp, true);
}

static void h_post_alerts_v2(void *ctx, const struct http_request *req, struct http_response *resp)
{
    post_alerts(ctx, req, resp, false);
}

static void get_alerts(const struct api *a, const struct http_request *req,
                       struct http_response *resp, bool groups)
{
    json_t *(*query)(struct engine *, const struct alert_query *) =
        groups ? a->ops->query_groups : a->ops->query_alerts;
    struct alert_query q;
    struct error err = {{0}};

    if (query == NULL) {
        unavailable(req, resp);
        return;
    }
    if (api_parse_alert_query(req, &q, &err) < 0) {
        http_respond_error_str(resp, 400, err.msg);
        return;
    }
    answer_json(resp, query(a->engine, &q));
    api_alert_query_release(&q);
}

static void h_get_alerts(void *ctx, const struct http_request *req, struct http_response *resp)
{
    get_alerts(ctx, req, resp, false);
}

static void h_get_groups(void *ctx, const struct http_request *req, struct http_response *resp)
{
    get_alerts(ctx, req, resp, true);
}

static void h_get_silences(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct matchers filter = MATCHERS_INIT;
    struct error err = {{0}};

    if (a->ops->query_silences == NULL) {
        unavailable(req, resp);
        return;
    }
    if (api_parse_filters(req, &filter, &err) < 0) {
        http_respond_error_str(resp, 400, err.msg);
        return;
    }
    answer_json(resp, a->ops->query_silences(a->engine, &filter));
    matchers_release(&filter);
}

static void h_post_silence(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct silence_in in;
    enum api_bad bad;
    struct error err = {{0}};
    char id[37] = "";
    int status = 400;

    if (a->ops->put_silence == NULL) {
        unavailable(req, resp);
        return;
    }
    if (api_parse_silence(req->body, req->body_len, clock_now_ms(), &in, &bad, &err) < 0) {
        log_debug("silence rejected", "err", err.msg, NULL);
        if (bad == API_BAD_SHAPE)
            http_respond_error_obj(resp, 400, err.msg);
        else
            http_respond_error_str(resp, 400, err.msg);
        return;
    }
    /* ops: an authenticated silence is created by the token's name. */
    if (req->principal != NULL) {
        free(in.created_by);
        in.created_by = strdup(req->principal);
    }
    /* The engine takes in's contents, whatever it returns. */
    if (a->ops->put_silence(a->engine, &in, id, &status, &err) < 0) {
        http_respond_error_str(resp, status >= 400 ? status : 500, err.msg);
        return;
    }
    http_respond_json(resp, 200, json_pack("{s:s}", "silenceID", id));
}

/* Alertmanager checks the path parameter against its uuid format first. */
static bool check_silence_id(const struct http_request *req, struct http_response *resp)
{
    char msg[160];

    if (api_valid_uuid(req->params[0]))
        return true;
    snprintf(msg, sizeof(msg), "silenceID in path must be of type uuid: \"%.64s\"", req->params[0]);
    http_respond_json(resp, 422, json_pack("{s:i, s:s}", "code", 601, "message", msg));
    return false;
}

static void h_get_silence(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    json_t *s;

    if (a->ops->get_silence == NULL) {
        unavailable(req, resp);
        return;
    }
    if (!check_silence_id(req, resp))
        return;
    s = a->ops->get_silence(a->engine, req->params[0]);
    if (s == NULL) {
        /* Alertmanager answers an unknown id with an empty 404. */
        http_respond(resp, 404, NULL, NULL, 0);
        return;
    }
    http_respond_json(resp, 200, s);
}

static void h_delete_silence(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct error err = {{0}};
    int status = 500;

    if (a->ops->expire_silence == NULL) {
        unavailable(req, resp);
        return;
    }
    if (!check_silence_id(req, resp))
        return;
    if (a->ops->expire_silence(a->engine, req->params[0], &status, &err) < 0) {
        http_respond_error_str(resp, status >= 400 ? status : 500, err.msg);
        return;
    }
    http_respond(resp, 200, NULL, NULL, 0);
}

static void h_status(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;

    (void)req;
    if (a->ops->status == NULL) {
        unavailable(req, resp);
        return;
    }
    answer_json(resp, a->ops->status(a->engine));
}

static void h_receivers(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;

    (void)req;
    if (a->ops->receivers == NULL) {
        unavailable(req, resp);
        return;
    }
    answer_json(resp, a->ops->receivers(a->engine));
}

static void h_healthy(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    http_respond_text(resp, 200, "OK");
}

static void h_ready(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;

    (void)req;
    if (a->ops->ready != NULL && !a->ops->ready(a->engine)) {
        http_respond_text(resp, 503, "Service Unavailable");
        return;
    }
    http_respond_text(resp, 200, "OK");
}

static void h_reload(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    struct error err = {{0}};
    char msg[ERROR_MSG_MAX + 64];

    (void)req;
    if (a->ops->reload == NULL) {
        http_respond_text(resp, 503, "reload is not available\n");
        return;
    }
    if (a->ops->reload(a->engine, &err) < 0) {
        log_error("reload failed", "source", "api", "err", err.msg, NULL);
        snprintf(msg, sizeof(msg), "failed to reload config: %s\n", err.msg);
        http_respond_text(resp, 500, msg);
        return;
    }
    log_info("config reloaded", "source", "api", NULL);
    http_respond(resp, 200, NULL, NULL, 0);
}

const struct http_route api_routes[] = {
    {"POST", "/api/v2/alerts", h_post_alerts_v2},
    {"GET", "/api/v2/alerts", h_get_alerts},
    {"GET", "/api/v2/alerts/groups", h_get_groups},
    {"GET", "/api/v2/silences", h_get_silences},
    {"POST", "/api/v2/silences", h_post_silence},
    {"GET", "/api/v2/silence/{id}", h_get_silence},
    {"DELETE", "/api/v2/silence/{id}", h_delete_silence},
    {"GET", "/api/v2/status", h_status},
    {"GET", "/api/v2/receivers", h_receivers},
    {"POST", "/api/v1/alerts", h_post_alerts_v1},
    {"GET", "/-/healthy", h_healthy},
    {"GET", "/-/ready", h_ready},
    {"POST", "/-/reload", h_reload},
    {"GET", "/api/v2/incidents", api_h_get_incidents},
    {"GET", "/api/v2/incidents/{id}", api_h_get_incident},
    {"POST", "/api/v2/incidents/{id}/ack", api_h_ack_incident},
    {"POST", "/api/v2/incidents/{id}/unack", api_h_unack_incident},
    {"POST", "/api/v2/acks", api_h_post_acks},
    {"GET", "/ack/{token}", api_h_ack_page},
    {"POST", "/ack/{token}", api_h_ack_post},
    {"POST", "/api/v2/sms/inbound", api_h_sms_inbound},
    /* ops (api/auth.c, api/metrics.c) */
    {"GET", "/api/v2/audit", api_h_audit},
    {"POST", "/api/v2/admin/backup", api_h_backup},
    {"GET", "/metrics", api_h_metrics},
    {"GET", "/", api_h_web_index},
    {"POST", "/ui/ack/{id}", api_h_web_ack},
    {"POST", "/ui/expire/{id}", api_h_web_expire},
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);
