/*
 * metrics.c - GET /metrics: core/metrics.h's families plus gauges computed at
 * scrape time from the engine (alerts by state, incidents by state) and
 * amrouter_build_info.
 *
 * The scrape-time gauges cost one engine query each; a scrape every 15 s is
 * negligible next to the engine's work. When the engine cannot answer the
 * gauges are left out (not reported as 0) and the rest is served.
 */
#include "api/api.h"
#include "api/metrics.h"

#include "core/buf.h"
#include "core/metrics.h"
#include "router/incident.h"

#include <jansson.h>
#include <string.h>

#define METRICS_MAX_BYTES ((size_t)16 << 20)

static void count_states(json_t *arr, const char *const *states, size_t n_states, long long *counts,
                         bool nested_status)
{
    size_t i;
    json_t *o;

    json_array_foreach(arr, i, o)
    {
        const json_t *st = nested_status ? json_object_get(json_object_get(o, "status"), "state")
                                         : json_object_get(o, "state");
        const char *s = json_string_value(st);

        for (size_t k = 0; s != NULL && k < n_states; k++) {
            if (strcmp(s, states[k]) == 0)
                counts[k]++;
        }
    }
}

static void gauge_family(struct buf *out, const char *name, const char *help, const char *label,
                         const char *const *states, const long long *counts, size_t n)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (size_t k = 0; k < n; k++)
        buf_printf(out, "%s{%s=\"%s\"} %lld\n", name, label, states[k], counts[k]);
}

void api_h_metrics(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct api *a = ctx;
    static const char *const astates[] = {"active", "suppressed", "unprocessed"};
    static const char *const istates[] = {"firing", "acknowledged"};
    long long ac[3] = {0, 0, 0};
    long long ic[2] = {0, 0};
    struct buf out;
    json_t *arr;

    (void)req;
    buf_init(&out, METRICS_MAX_BYTES);
    metrics_render(&out);
    if (a->ops->query_alerts != NULL) {
        struct alert_query q;

        memset(&q, 0, sizeof(q));
        q.active = q.silenced = q.inhibited = q.unprocessed = true;
        arr = a->ops->query_alerts(a->engine, &q);
        if (arr != NULL) {
            count_states(arr, astates, 3, ac, true);
            gauge_family(&out, "amrouter_alerts", "Alerts held, by state.", "state", astates, ac,
                         3);
            json_decref(arr);
        }
    }
    if (a->ops->query_incidents != NULL) {
        struct incident_query q;

        memset(&q, 0, sizeof(q));
        q.states = (1u << INCIDENT_FIRING) | (1u << INCIDENT_ACKNOWLEDGED);
        arr = a->ops->query_incidents(a->engine, &q);
        if (arr != NULL) {
            count_states(arr, istates, 2, ic, false);
            gauge_family(&out, "amrouter_incidents", "Open incidents, by state.", "state", istates,
                         ic, 2);
            json_decref(arr);
        }
    }
    buf_printf(&out,
               "# HELP amrouter_build_info A metric with a constant '1' value labeled by "
               "version and revision.\n# TYPE amrouter_build_info gauge\n"
               "amrouter_build_info{version=\"%s\",revision=\"%s\"} 1\n",
               AMR_VERSION, AMR_REVISION);
    http_respond(resp, 200, "text/plain; version=0.0.4; charset=utf-8", buf_str(&out), out.len);
    buf_release(&out);
}
