/*
 * auth.h - access control for the HTTP API: bearer tokens with scopes, the
 * audit trail of changes, and the admin endpoints (audit, backup).
 *
 * When the config has any api.tokens, every request except GET /-/healthy,
 * GET /-/ready, the ack-link pages (/ack/{token}, signed themselves) and
 * Twilio's signed inbound SMS webhook must carry `Authorization: Bearer
 * <secret>` of a token whose scopes cover the endpoint:
 *
 *   ingest   POST /api/v1/alerts, POST /api/v2/alerts
 *   read     every other GET (alerts, silences, status, incidents, /metrics, /)
 *   silence  POST /api/v2/silences, DELETE /api/v2/silence/{id}
 *   ack      POST /api/v2/incidents/{id}/ack|unack, POST /api/v2/acks, POST /ui/ack/{id}
 *   admin    everything: POST /-/reload, GET /api/v2/audit, POST /api/v2/admin/backup,
 *            and any endpoint not listed above
 *
 * No or an unknown token: 401 with WWW-Authenticate: Bearer; a known token
 * without the scope: 403. Bodies are {"code":N,"message":"..."}. A token with
 * a `team` may ack only incidents of that team (403 otherwise) and may not ack
 * by matchers; the silences it creates or expires must carry the team file's
 * matchers. Secrets are compared in constant time (SHA-256 digests compared
 * with CRYPTO_memcmp, every token tried). Without tokens the API is open.
 *
 * Who did what: an authenticated request carries the token's name as
 * req->principal ("anonymous" in the audit log when open); successful
 * silence, ack, reload and backup requests are written to the audit table
 * (storage/audit.h) after the response is made.
 *
 * Threads: the guard and after hooks run on connection threads concurrently;
 * struct auth is internally locked. Token names handed out as principals stay
 * valid until auth_free (replaced token sets are retired, not freed).
 */
#ifndef AMR_API_AUTH_H
#define AMR_API_AUTH_H

#include "api/server.h"

#include <stdbool.h>

struct api;
struct audit;
struct config;
struct error;
struct auth;

/* Copies cfg's api.tokens. api (for incident lookups of team-scoped acks) and audit
 * may be NULL. */
struct auth *auth_new(const struct config *cfg, const struct api *api, struct audit *audit,
                      struct error *err);
void auth_free(struct auth *a);

/* Replaces the token set with that of config file `path` (after a successful reload).
 * On failure the old set stays and err says why. */
int auth_reload_file(struct auth *a, const char *path, struct error *err);

/* Number of configured tokens (0 = the API is open). */
size_t auth_n_tokens(struct auth *a);

/* Logs a loud warning when there are no tokens and listen_address is not loopback. */
void auth_warn_if_open(struct auth *a, const char *listen_address);

/* The scope bits (enum api_scope in config/config.h) that method+path needs, or 0
 * for the open endpoints. */
unsigned auth_required_scope(const char *method, const char *path);

/* http_server_opts hooks (hook_ctx = struct auth *). */
bool auth_guard(void *hook_ctx, struct http_request *req, struct http_response *resp);
void auth_after(void *hook_ctx, const struct http_request *req, const struct http_response *resp);

/* Sets the audit log (opened once the engine has migrated the storage). */
void auth_set_audit(struct auth *a, struct audit *audit);

/* After a reload attempt by `who` (a token name, "anonymous" or "SIGHUP"): sets the
 * reload metrics, re-reads the tokens when ok, and audits it (details = why not). */
void auth_reloaded(struct auth *a, const char *who, bool ok, const char *why);

/* Records an event that did not come through the API. */
void auth_audit(struct auth *a, const char *who, const char *action, const char *target,
                const char *details);

/* The admin endpoints, listed in api_routes (ctx = struct api *, whose auth field
 * must be set): GET /api/v2/audit?since=RFC3339&who=NAME&limit=N and
 * POST /api/v2/admin/backup (the database file as application/vnd.sqlite3). */
void api_h_audit(void *ctx, const struct http_request *req, struct http_response *resp);
void api_h_backup(void *ctx, const struct http_request *req, struct http_response *resp);

#endif
