/*
 * metrics.c - GET /metrics: core/metrics.h's families plus gauges computed at
 * scrape time from the engine (alerts by state, incidents by state) and
 * amrouter_build_info.
 *
 * The scrape-time gauges come from one engine call that only counts
 * (engine_count_states: no JSON, no silence ids, no route matching; the silence
 * check is the indexed one), so a Prometheus scraping every 15 s costs little
 * even with 100k alerts. The alert states are those GET /api/v2/alerts reports
 * for the alerts it lists (not resolved). When the engine cannot answer the
 * gauges are left out (not reported as 0) and the rest is served.
 */
#include "api/api.h"
#include "api/metrics.h"

#include "core/buf.h"
#include "core/metrics.h"
#include "router/incident.h"
#include "router/router.h"

#include <string.h>

#define METRICS_MAX_BYTES ((size_t)16 << 20)

static void gauge_family(struct buf *out, const char *name, const char *help, const char *label,
                         const char *const *states, const size_t *counts, size_t n)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t k = 0; k < n; k++)
        buf_printf(out, "%s{%s=\"%s\"} %zu\n", name, label, states[k], counts[k]);
}

void api_h_metrics(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    static const char *const astates[] = {"active", "suppressed", "unprocessed"};
    static const char *const istates[] = {"firing", "acknowledged"};
    struct engine_state_counts c;
    struct buf out;

    (void)req;
    buf_init(&out, METRICS_MAX_BYTES);
    metrics_render(&out);
    if (a->ops->count_states != NULL && a->ops->count_states(a->engine, &c) == 0) {
        size_t ac[3], ic[2];

        ac[0] = c.alerts[ALERT_STATE_ACTIVE];
        ac[1] = c.alerts[ALERT_STATE_SUPPRESSED];
        ac[2] = c.alerts[ALERT_STATE_UNPROCESSED];
        ic[0] = c.incidents[INCIDENT_FIRING];
        ic[1] = c.incidents[INCIDENT_ACKNOWLEDGED];
        gauge_family(&out, "amrouter_alerts", "Alerts held, by state.", "state", astates, ac, 3);
        gauge_family(&out, "amrouter_incidents", "Open incidents, by state.", "state", istates, ic,
                     2);
    }
    buf_printf(&out,
               "# HELP amrouter_build_info A metric with a constant '1' value labeled by "
               "version and revision.\n# TYPE amrouter_build_info gauge\n"
               "amrouter_build_info{version=\"%s\",revision=\"%s\"} 1\n",
               AMR_VERSION, AMR_REVISION);
    http_respond(resp, 200, "text/plain; version=0.0.4; charset=utf-8", buf_str(&out), out.len);
    buf_release(&out);
}
