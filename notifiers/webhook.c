/*
 * webhook.c - webhook_configs: Alertmanager's webhook payload, version 4.
 *
 * The body is templates/context.h's context_webhook() (the same fields in the
 * same order as Alertmanager's webhook.Message), made at the job's flush time
 * so that firing/resolved is what the router decided. Headers:
 *   Content-Type: application/json
 *   User-Agent: Alertmanager/0.25.0 amrouter/<version>
 * The User-Agent starts with Alertmanager's own token because consumers that
 * check it look for the "Alertmanager/" prefix; the second token tells the
 * truth. http_config adds Authorization (bearer/credentials) or basic auth,
 * TLS files, a proxy and timeouts. max_alerts cuts alerts[] and sets
 * truncatedAlerts; send_resolved was already applied by the router when it
 * chose the job's alerts.
 */
#include "config/config.h"
#include "core/alert.h"
#include "core/error.h"
#include "core/jsonutil.h"
#include "notifiers/incident.h"
#include "notifiers/notifier.h"
#include "templates/context.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* {id, state, notice, step, url, ack_url, acked_by, acked_at, ack_via, comment}; the
 * state is the router's ("firing", "acknowledged", "resolved"), notice says why this
 * message was sent ("update", "step", "ack", "unack"). */
static json_t *incident_json(const struct notify_job *job, const struct notify_incident *inc)
{
    bool acked = job->incident_state == INCIDENT_ACKNOWLEDGED;

    return json_pack(
        "{s:I, s:s, s:s, s:i, s:s, s:s, s:s?, s:o, s:s?, s:s?}", "id", (json_int_t)job->incident_id,
        "state", incident_state_name((enum incident_state)job->incident_state), "notice",
        incident_notice_name((enum incident_notice)job->incident_notice), "step",
        job->incident_step, "url", inc->url != NULL ? inc->url : "", "ack_url",
        inc->ack_url != NULL ? inc->ack_url : "", "acked_by", acked ? job->acked_by : NULL,
        "acked_at", acked && job->acked_at != 0 ? time_to_json_nano(job->acked_at) : json_null(),
        "ack_via", acked ? job->ack_via : NULL, "comment", acked ? job->ack_comment : NULL);
}

static int webhook_build(const struct notifier_env *env, const struct receiver *rcv,
                         const struct notifier_config *nc, const struct notify_job *job,
                         struct notifier_request *out, struct error *err)
{
    const struct alert **ptrs = NULL;
    struct notify_data d;
    struct notify_incident inc;
    char ack_url[NOTIFIER_URL_MAX], inc_url[NOTIFIER_URL_MAX];
    json_t *payload = NULL;
    int rc = -1;

    if (nc->url.value == NULL || nc->url.value[0] == '\0')
        return error_set(err, "webhook of receiver %s has no url", rcv->name);
    if (job->n_alerts > 0) {
        ptrs = malloc(job->n_alerts * sizeof(*ptrs));
        if (ptrs == NULL)
            return error_set(err, "out of memory");
        for (size_t i = 0; i < job->n_alerts; i++)
            ptrs[i] = &job->alerts[i];
    }
    memset(&d, 0, sizeof(d));
    d.receiver = rcv->name;
    d.group_key = job->group_key;
    d.group_labels = &job->group_labels;
    d.alerts = ptrs;
    d.n_alerts = job->n_alerts;
    d.now = job->created_at;
    d.external_url = env->external_url;
    d.max_alerts = nc->max_alerts > 0 ? (size_t)nc->max_alerts : 0;
    payload = context_webhook(&d);
    if (payload == NULL) {
        error_set(err, "out of memory building the webhook payload");
        goto out;
    }
    /* Alertmanager's fields plus an `incident` object (issue 6). */
    if (notifier_incident(env, job, &inc, ack_url, inc_url) != NULL &&
        json_object_set_new(payload, "incident", incident_json(job, &inc)) < 0) {
        error_set(err, "out of memory building the webhook payload");
        goto out;
    }
    out->body = json_dumps(payload, JSON_COMPACT);
    out->method = strdup("POST");
    out->url = strdup(nc->url.value);
    if (out->body == NULL || out->method == NULL || out->url == NULL ||
        notifier_request_add_header(out, "Content-Type", "application/json") < 0 ||
        notifier_request_add_header(out, "User-Agent", notifier_user_agent()) < 0) {
        error_set(err, "out of memory");
        goto out;
    }
    out->body_len = strlen(out->body);
    if (notifier_request_apply_http(out, &nc->http, err) < 0)
        goto out;
    rc = 0;
out:
    json_decref(payload);
    free(ptrs);
    return rc;
}

const struct notifier_ops webhook_notifier = {
    "webhook",
    NOTIFIER_WEBHOOK,
    webhook_build,
};
