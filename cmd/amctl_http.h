/*
 * amctl_http.h - amctl's small HTTP client for the amrouter / Alertmanager API.
 *
 * One blocking libcurl request per call: JSON in, JSON out, the bearer token
 * from --token / AMCTL_TOKEN, a connect timeout and an overall timeout, TLS
 * certificates verified (a CA file from --ca-file / AMCTL_CA_FILE). Every
 * failure becomes one sentence in the caller's struct error that a person can
 * act on: the server could not be reached (with the URL and a hint), it did
 * not answer in time, or it refused the request (the HTTP status and the
 * server's own message, taken from a JSON string, a {"message"} or {"error"}
 * object, or the text body).
 *
 * Ownership: replies are new jansson references the caller releases.
 */
#ifndef AMR_AMCTL_HTTP_H
#define AMR_AMCTL_HTTP_H

#include <jansson.h>

struct amctl_global;
struct buf;
struct error;
struct matchers;

/* Milliseconds before giving up on connecting, and on the whole request (the latter
 * is g->timeout when set: --timeout / AMCTL_TIMEOUT). */
#define AMCTL_CONNECT_TIMEOUT_MS 5000
#define AMCTL_REQUEST_TIMEOUT_MS 30000
/* Largest reply body accepted. */
#define AMCTL_REPLY_MAX (64u << 20)

/* Sends `method` to g->url + path (path starts with "/" and may carry a query
 * string) with body serialised as JSON when body is not NULL.
 *
 * On a 2xx answer returns 0; *reply (when reply is not NULL) is the parsed
 * body, or NULL when the body is empty. On any other answer, on a connection
 * failure, or when a 2xx body is not JSON, returns -1 with err set, e.g.
 *   cannot connect to http://127.0.0.1:9093: Connection refused (is amrouter
 *   running? --url or AMCTL_URL names the server)
 *   server refused POST /api/v2/silences (400 Bad Request): end time can't be in the past
 * A g->timeout that is not a positive duration fails here too.
 * *status (when not NULL) is the HTTP status, 0 when no answer came. */
int amctl_http(const struct amctl_global *g, const char *method, const char *path,
               const json_t *body, json_t **reply, long *status, struct error *err);

/* Appends "?name=value" (or "&name=value" when path already has a query) to
 * path, with value percent-encoded. Returns -1 when memory runs out. */
int amctl_query_add(struct buf *path, const char *name, const char *value);

/* Appends s percent-encoded as one URL path segment or query value. */
int amctl_url_escape(struct buf *out, const char *s);

/* Prints v to stdout as indented JSON followed by a newline (keys in the
 * order the server sent them). NULL prints nothing. Returns 0, or -1 on a
 * write error. */
int amctl_print_json(const json_t *v);

/* The list subcommands' request: appends one filter per matcher of ms to
 * path, GETs it and checks the answer is a JSON array. Returns AMCTL_OK with
 * *reply set (the caller releases it), or the exit status after printing
 * "amctl CMD: <why>": AMCTL_USAGE for matchers past the query cap ("matchers
 * too long"), AMCTL_REFUSED when the request fails (hint404, when not NULL,
 * is added to a 404's message) or the answer is not a list (what names the
 * list in that message, e.g. "alerts"). */
int amctl_get_list(const struct amctl_global *g, const char *cmd, struct buf *path,
                   const struct matchers *ms, const char *hint404, const char *what,
                   json_t **reply);

/* Prints list as indented JSON with -o json, else as table(list) prints it.
 * Returns AMCTL_OK, or AMCTL_REFUSED on a write or memory error. */
int amctl_print_list(const struct amctl_global *g, const json_t *list,
                     int (*table)(const json_t *list));

#endif
