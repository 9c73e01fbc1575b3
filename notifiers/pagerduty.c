/*
 * pagerduty.c - pagerduty_configs: PagerDuty Events API v2.
 *
 * One POST of application/json to url (default
 * https://events.pagerduty.com/v2/enqueue); PagerDuty answers 202:
 *   {routing_key, event_action: trigger | acknowledge | resolve, dedup_key,
 *    payload: {summary, source, severity, timestamp, component, group, class,
 *              custom_details},          (trigger only, as Alertmanager)
 *    client, client_url, links: [{href, text}], images: []}
 *
 * dedup_key is the SHA-256 hex of the group key, exactly as Alertmanager
 * computes it, so every event of one group (one incident) hits the same
 * PagerDuty incident and a retried or duplicated send is idempotent; it also
 * keeps the key stable when migrating from Alertmanager.
 *
 * event_action: resolve when the group is resolved; acknowledge when the
 * incident is acknowledged and still firing; trigger otherwise.
 * summary: description template (default pagerduty_summary), at most 1024
 * bytes, cut on a UTF-8 boundary with "…". source: the host of client_url,
 * else "amrouter". severity: the configured value (a template) if it renders
 * to one of critical, error, warning, info, else "error" (a page with the
 * wrong colour beats no page). The routing key is the secret: it is in the
 * body only, never in a URL or a message. A v1 service_key is sent as the
 * routing key (Events v2 accepts integration keys of both kinds).
 */
#include "notifiers/request.h"

#include "notifiers/notifier.h"

#include "config/config.h"
#include "core/error.h"
#include "core/timefmt.h"
#include "templates/defaults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX 1024

static const char *cfg_file(const struct notifier_config *nc)
{
    return nc->file != NULL ? nc->file : "config";
}

static int src(const struct notifier_config *nc, const char *s, const char *key, const json_t *ctx,
               char **out, struct error *err)
{
    char what[128];

    snprintf(what, sizeof(what), "%s:%d: pagerduty_configs.%s", cfg_file(nc), nc->line, key);
    if (notify_render_source(s, MUSTACHE_ESCAPE_NONE, ctx, what, out, err) < 0)
        return -1;
    if (*out != NULL)
        notify_trim(*out);
    return 0;
}

static int put_str(json_t *o, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    return json_object_set_new(o, key, json_string(value));
}

/* Cuts s in place to at most max bytes, on a UTF-8 boundary, ending in "…". */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return;
    n = max - 3;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(s + n, "\xE2\x80\xA6", 4);
}

/* The host of a URL ("https://x.example:8443/p" -> "x.example"), or NULL. */
static char *url_host(const char *url)
{
    const char *p = url != NULL ? strstr(url, "://") : NULL;
    const char *end, *at;

    if (p == NULL)
        return NULL;
    p += 3;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL)
        p = at + 1;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));

        if (rb != NULL)
            return strndup(p + 1, (size_t)(rb - p - 1));
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));

        if (colon != NULL)
            end = colon;
    }
    return end > p ? strndup(p, (size_t)(end - p)) : NULL;
}

static json_t *default_details(const json_t *ctx)
{
    const json_t *inc = notify_ctx_incident(ctx);
    json_t *d =
        json_pack("{s:I, s:I}", "num_firing", (json_int_t)notify_ctx_int(ctx, "firingCount"),
                  "num_resolved", (json_int_t)notify_ctx_int(ctx, "resolvedCount"));
    json_t *firing = json_array();
    size_t i;
    json_t *a;

    if (d == NULL || firing == NULL)
        goto fail;
    json_array_foreach(json_object_get(ctx, "alertsFiring"), i, a)
    {
        json_t *l = json_object_get(a, "labels");

        if (json_array_append(firing, l != NULL ? l : json_null()) < 0)
            goto fail;
    }
    if (json_object_set_new(d, "firing", firing) < 0)
        goto fail_d;
    if (inc != NULL &&
        json_object_set_new(d, "incident", json_integer(notify_ctx_int(inc, "id"))) < 0)
        goto fail_d;
    return d;
fail:
    json_decref(firing);
fail_d:
    json_decref(d);
    return NULL;
}

int pagerduty_build(const struct notifier_config *nc, const json_t *ctx,
                    const struct notify_opts *o, struct notify_requests *out, struct error *err)
{
    char *summary = NULL, *client = NULL, *client_url = NULL, *severity = NULL, *klass = NULL;
    char *component = NULL, *group = NULL, *source = NULL, *body = NULL;
    const char *key = nc->routing_key.value != NULL ? nc->routing_key.value : nc->service_key.value;
    const json_t *inc = notify_ctx_incident(ctx);
    const char *ack_url = notify_ctx_ack_url(ctx);
    const char *action;
    char dedup[65], ts[TIME_STRMAX], what[160];
    json_t *msg = NULL, *payload = NULL, *details = NULL, *links = NULL;
    struct notify_request *r;
    size_t n0 = out->n;
    int rc = -1;

    if (key == NULL || key[0] == '\0') {
        error_set(err, "%s:%d: pagerduty_configs: no routing_key", cfg_file(nc), nc->line);
        goto out;
    }
    if (notify_sha256_hex(notify_ctx_str(ctx, "groupKey"), dedup) < 0)
        goto oom;
    if (!notify_ctx_firing(ctx))
        action = "resolve";
    else if (inc != NULL && notify_ctx_bool(inc, "acked"))
        action = "acknowledge";
    else
        action = "trigger";

    snprintf(what, sizeof(what), "%s:%d: pagerduty_configs.description", cfg_file(nc), nc->line);
    if (notify_render_field(&nc->description, "pagerduty_summary",
                            default_template_escape("pagerduty_summary"), ctx, what, &summary,
                            err) < 0 ||
        src(nc, nc->client, "client", ctx, &client, err) < 0 ||
        src(nc, nc->client_url, "client_url", ctx, &client_url, err) < 0 ||
        src(nc, nc->severity, "severity", ctx, &severity, err) < 0 ||
        src(nc, nc->pd_class, "class", ctx, &klass, err) < 0 ||
        src(nc, nc->component, "component", ctx, &component, err) < 0 ||
        src(nc, nc->group, "group", ctx, &group, err) < 0)
        goto out;
    notify_trim(summary);
    cut_utf8(summary, SUMMARY_MAX);
    if (client_url == NULL) {
        client_url = strdup(notify_ctx_str(ctx, "externalURL"));
        if (client_url == NULL)
            goto oom;
    }
    source = url_host(client_url);
    if (severity == NULL || (strcmp(severity, "critical") != 0 && strcmp(severity, "error") != 0 &&
                             strcmp(severity, "warning") != 0 && strcmp(severity, "info") != 0)) {
        free(severity);
        severity = strdup("error");
        if (severity == NULL)
            goto oom;
    }

    msg = json_pack("{s:s, s:s, s:s}", "routing_key", key, "event_action", action, "dedup_key",
                    dedup);
    if (msg == NULL)
        goto oom;
    if (strcmp(action, "trigger") == 0) {
        if (nc->n_details > 0) {
            details = json_object();
            if (details == NULL)
                goto oom;
            for (size_t i = 0; i < nc->n_details; i++) {
                char k[160], *v = NULL;

                snprintf(k, sizeof(k), "%s:%d: pagerduty_configs.details.%s", cfg_file(nc),
                         nc->line, nc->detail_names[i]);
                if (notify_render_field(&nc->detail_values[i], NULL, MUSTACHE_ESCAPE_NONE, ctx, k,
                                        &v, err) < 0)
                    goto out;
                rc = json_object_set_new(details, nc->detail_names[i], json_string(v));
                free(v);
                if (rc < 0)
                    goto oom;
                rc = -1;
            }
        } else {
            details = default_details(ctx);
            if (details == NULL)
                goto oom;
        }
        time_format_rfc3339(o->now, ts, sizeof(ts));
        payload =
            json_pack("{s:s, s:s, s:s, s:s}", "summary", summary, "source",
                      source != NULL ? source : "amrouter", "severity", severity, "timestamp", ts);
        if (payload == NULL || put_str(payload, "component", component) < 0 ||
            put_str(payload, "group", group) < 0 || put_str(payload, "class", klass) < 0 ||
            json_object_set(payload, "custom_details", details) < 0 ||
            json_object_set(msg, "payload", payload) < 0)
            goto oom;
    }
    if (put_str(msg, "client", client != NULL && client[0] != '\0' ? client : "amrouter") < 0 ||
        put_str(msg, "client_url", client_url) < 0)
        goto oom;
    links = json_array();
    if (links == NULL)
        goto oom;
    if (ack_url != NULL) {
        char t[64];

        snprintf(t, sizeof(t), "Acknowledge incident #%lld", (long long)notify_ctx_int(inc, "id"));
        if (json_array_append_new(links, json_pack("{s:s, s:s}", "href", ack_url, "text", t)) < 0)
            goto oom;
    }
    for (size_t i = 0; i < nc->n_links; i++) {
        char *h = NULL, *t = NULL;
        json_t *l;

        if (src(nc, nc->link_hrefs[i], "links.href", ctx, &h, err) < 0 ||
            src(nc, nc->link_texts[i], "links.text", ctx, &t, err) < 0) {
            free(h);
            goto out;
        }
        l = json_pack("{s:s}", "href", h != NULL ? h : "");
        if (l != NULL && t != NULL && t[0] != '\0')
            json_object_set_new(l, "text", json_string(t));
        free(h);
        free(t);
        if (l == NULL || json_array_append_new(links, l) < 0)
            goto oom;
    }
    if (json_object_set(msg, "links", links) < 0 ||
        json_object_set_new(msg, "images", json_array()) < 0)
        goto oom;
    body = json_dumps(msg, JSON_COMPACT);
    if (body == NULL)
        goto oom;

    r = notify_requests_add(out);
    if (r == NULL)
        goto oom;
    r->proto = NOTIFY_PROTO_HTTP;
    r->method = strdup("POST");
    r->url = strdup(nc->pagerduty_url != NULL ? nc->pagerduty_url
                                              : "https://events.pagerduty.com/v2/enqueue");
    r->ok_status = 202;
    r->http = &nc->http;
    r->dest = strdup("pagerduty");
    r->idem_key = strdup(dedup);
    if (r->method == NULL || r->url == NULL || r->dest == NULL || r->idem_key == NULL)
        goto oom;
    r->redacted_url = notify_redact_url(r->url);
    if (r->redacted_url == NULL ||
        notify_request_add_header(r, "Content-Type", "application/json") < 0 ||
        buf_appends(&r->body, body) < 0)
        goto oom;
    rc = 0;
    goto out;
oom:
    error_set(err, "%s:%d: pagerduty_configs: out of memory or message too large", cfg_file(nc),
              nc->line);
out:
    if (rc < 0)
        notify_requests_truncate(out, n0);
    if (body != NULL)
        memset(body, 0, strlen(body));
    free(body);
    json_decref(msg);
    json_decref(payload);
    json_decref(details);
    json_decref(links);
    free(summary);
    free(client);
    free(client_url);
    free(severity);
    free(klass);
    free(component);
    free(group);
    free(source);
    return rc;
}

static int pagerduty_notify(const struct notifier_env *env, const struct receiver *rcv,
                            const struct notifier_config *nc, const struct notify_job *job,
                            struct notifier_request *out, struct error *err)
{
    return notify_ops_build(pagerduty_build, env, rcv, nc, job, out, err);
}

const struct notifier_ops pagerduty_notifier = {
    "pagerduty",
    NOTIFIER_PAGERDUTY,
    pagerduty_notify,
};
