/*
 * incident.h - the `incident` part of a notification (templates/context.h's
 * struct notify_incident) made from a router job: its id, status as the router
 * saw it when it made the job, who acknowledged, the step, and the signed ack
 * link <external_url>/ack/<token> (core/token.h).
 *
 * The link's expiry counts from the job's creation time, so building the same
 * job twice (a retry, a restart) gives the same bytes.
 *
 * Ownership: the filled struct points into the job and into the caller's
 * buffers; it lives as long as both.
 */
#ifndef AMR_NOTIFIERS_INCIDENT_H
#define AMR_NOTIFIERS_INCIDENT_H

#include "notifiers/notifier.h"
#include "templates/context.h"

#include <stddef.h>

#define NOTIFIER_URL_MAX 1024

/* Fills *out for job. Returns NULL when the job has no incident (then there is no
 * incident object in the context), else out. ack_url / url receive the ack link and
 * the incident's API URL (empty when env has no secret). */
const struct notify_incident *notifier_incident(const struct notifier_env *env,
                                                const struct notify_job *job,
                                                struct notify_incident *out,
                                                char ack_url[NOTIFIER_URL_MAX],
                                                char url[NOTIFIER_URL_MAX]);

/* "<external_url>/ack/<token>" for incident id valid until expires_at, into out.
 * -1 when the secret is missing or the URL does not fit. */
int notifier_ack_url(const char *external_url, const uint8_t *secret, size_t secret_len,
                     uint64_t incident_id, int64_t expires_at, char out[NOTIFIER_URL_MAX]);

#endif
