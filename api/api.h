/*
 * api.h - the HTTP endpoints: Alertmanager's API v2 (and v1 POST alerts) plus
 * /-/healthy, /-/ready and /-/reload.
 *
 * The handlers parse and validate each request completely (api/parse.h), then
 * make one call to the engine through a table of function pointers. amrouter
 * fills the table with the engine's functions (engine/engine.h); unit tests
 * fill it with fakes, so every handler is testable without a network or a
 * database. A NULL entry leaves its endpoints unrouted (404).
 *
 * Ownership: struct api is plain configuration owned by the caller; it must
 * outlive the HTTP server. Handlers never keep pointers into a request.
 */
#ifndef AMR_API_API_H
#define AMR_API_API_H

#include "api/server.h"
#include "engine/engine.h"

#include <stdbool.h>
#include <stddef.h>

struct auth;
struct engine;
struct error;

/* The engine calls the API makes; see engine/engine.h for each contract. */
struct api_engine_ops {
    bool (*ready)(struct engine *e); /* NULL: ready as soon as the server runs */
    int (*reload)(struct engine *e, struct error *err);
    int (*post_alerts)(struct engine *e, struct alert *alerts, size_t n, struct error *err);
    int (*put_silence)(struct engine *e, struct silence_in *in, char id_out[37], int *http_status,
                       struct error *err);
    int (*expire_silence)(struct engine *e, const char *id, int *http_status, struct error *err);
    json_t *(*query_alerts)(struct engine *e, const struct alert_query *q);
    json_t *(*query_groups)(struct engine *e, const struct alert_query *q);
    json_t *(*query_silences)(struct engine *e, const struct matchers *filter);
    json_t *(*get_silence)(struct engine *e, const char *id);
    json_t *(*status)(struct engine *e);
    json_t *(*receivers)(struct engine *e);
    /* incidents, acks, ack links, SMS (issue 6; api/incidents.c, docs/escalation.md) */
    json_t *(*query_incidents)(struct engine *e, const struct incident_query *q);
    int (*get_incident)(struct engine *e, uint64_t id, json_t **out, int *http_status,
                        struct error *err);
    int (*ack_incident)(struct engine *e, uint64_t id, bool unack, const struct ack_in *in,
                        json_t **out, int *http_status, struct error *err);
    int (*ack_matching)(struct engine *e, const struct matchers *m, const struct ack_in *in,
                        json_t **out, struct error *err);
    int (*ack_page_context)(struct engine *e, uint64_t id, const char *ack_url, json_t **out,
                            int *http_status, struct error *err);
    void (*ack_secret)(struct engine *e, const uint8_t **secret, size_t *len);
    char *(*twilio_auth_token)(struct engine *e, const char *account_sid);
    int (*sms_ack)(struct engine *e, uint64_t id, const char *from, int *result, struct error *err);
    /* GET /metrics: alert and incident states counted (engine_count_states) */
    int (*count_states)(struct engine *e, struct engine_state_counts *out);
};

struct api {
    const struct api_engine_ops *ops;
    struct engine *engine;    /* passed to every op; may be NULL for fakes */
    const char *external_url; /* no trailing slash: ack links, Twilio's signed URL */
    /* ops (issue 7): access control + audit (api/auth.h), the file reloads read; may be NULL */
    struct auth *auth;
    const char *config_file;
};

/* The routing table for http_server_opts (ctx = struct api *). */
extern const struct http_route api_routes[];
extern const size_t api_n_routes;

/* The incident, ack-link and SMS endpoints (api/incidents.c), listed in api_routes. */
void api_h_get_incidents(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_get_incident(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_ack_incident(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_unack_incident(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_post_acks(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_ack_page(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_ack_post(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_sms_inbound(void *ctx, const struct http_request *req, struct http_response *resp);

#ifdef UNIT_TEST
/* The incident id of an SMS reply "ACK 42" / "42 ack" (any case), else 0. */
uint64_t api_sms_command(const char *body);
#endif

#endif
