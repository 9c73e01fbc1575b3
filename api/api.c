/*
 * api.c - endpoint handlers: validate the request, make one engine call, answer.
 *
 * Error bodies follow Alertmanager: on /api/v2 a JSON string for a refused
 * request (400/404), {"code":N,"message":"..."} for a body that is not even
 * the right JSON shape; /api/v1 answers {"status":"error","errorType":...,
 * "error":...}; /-/ endpoints answer plain text.
 */
#include "api/api.h"

#include "core/error.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

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
    {"GET", "/-/healthy", h_healthy},
    {"GET", "/-/ready", h_ready},
    {"POST", "/-/reload", h_reload},
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);
