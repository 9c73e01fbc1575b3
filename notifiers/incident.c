/*
 * incident.c - a job's incident for the template context and the signed ack
 * link (see incident.h).
 */
#include "notifiers/incident.h"

#include "core/token.h"
#include "router/incident.h"

#include <stdio.h>
#include <string.h>

int notifier_ack_url(const char *external_url, const uint8_t *secret, size_t secret_len,
                     uint64_t incident_id, int64_t expires_at, char out[NOTIFIER_URL_MAX])
{
    char tok[TOKEN_MAX];
    int n;

    out[0] = '\0';
    if (secret == NULL || secret_len == 0 ||
        token_sign(secret, secret_len, incident_id, expires_at, tok) < 0)
        return -1;
    n = snprintf(out, NOTIFIER_URL_MAX, "%s/ack/%s", external_url != NULL ? external_url : "", tok);
    if (n < 0 || n >= NOTIFIER_URL_MAX) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

const struct notify_incident *notifier_incident(const struct notifier_env *env,
                                                const struct notify_job *job,
                                                struct notify_incident *out,
                                                char ack_url[NOTIFIER_URL_MAX],
                                                char url[NOTIFIER_URL_MAX])
{
    const char *base = env != NULL && env->external_url != NULL ? env->external_url : "";

    ack_url[0] = '\0';
    url[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (job->incident_id == 0)
        return NULL;
    out->id = (int64_t)job->incident_id;
    out->status = job->incident_state == INCIDENT_ACKNOWLEDGED ? "acknowledged"
                  : job->incident_state == INCIDENT_RESOLVED   ? "resolved"
                                                               : "open";
    out->acked_by = job->incident_state == INCIDENT_ACKNOWLEDGED ? job->acked_by : NULL;
    out->acked_at = job->incident_state == INCIDENT_ACKNOWLEDGED ? job->acked_at : 0;
    out->comment = job->incident_state == INCIDENT_ACKNOWLEDGED ? job->ack_comment : NULL;
    out->step = job->incident_step;
    if (env != NULL &&
        notifier_ack_url(base, env->ack_secret, env->ack_secret_len, job->incident_id,
                         job->created_at + env->ack_link_expiry, ack_url) == 0)
        out->ack_url = ack_url;
    snprintf(url, NOTIFIER_URL_MAX, "%s/api/v2/incidents/%llu", base,
             (unsigned long long)job->incident_id);
    out->url = url;
    return out;
}
