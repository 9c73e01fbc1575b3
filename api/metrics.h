/*
 * metrics.h - the GET /metrics handler (Prometheus text format 0.0.4).
 *
 * Serves core/metrics.h's families, amrouter_alerts{state} and
 * amrouter_incidents{state} computed from engine queries at scrape time, and
 * amrouter_build_info{version,revision}. ctx = struct api *.
 */
#ifndef AMR_API_METRICS_H
#define AMR_API_METRICS_H

#include "api/server.h"

void api_h_metrics(void *ctx, const struct http_request *req, struct http_response *resp);

#endif
