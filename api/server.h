/*
 * server.h - the HTTP transport: libmicrohttpd, a routing table, capped bodies.
 *
 * The server knows nothing about alerts. It listens on one address, reads each
 * request body into a capped buffer (over the cap: 413 before the handler
 * runs), parses the query string into key/value pairs (repeated keys kept in
 * order), matches "METHOD /path/{param}" against the caller's routing table and
 * calls the handler with a plain struct http_request, so handlers are testable
 * without a network (see http_dispatch()).
 *
 * Threads: one listening thread plus one thread per connection (libmicrohttpd
 * MHD_USE_THREAD_PER_CONNECTION), bounded by connection_limit. Handlers may
 * block (the engine answers after its commit) without stalling other clients.
 * Handlers run concurrently: ctx must be safe to share.
 *
 * Ownership: the request and everything it points to belong to the server and
 * live until the handler returns. The handler puts a malloc'd body into the
 * response; the server frees it.
 */
#ifndef AMR_API_SERVER_H
#define AMR_API_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct error;
struct http_server;

#define HTTP_MAX_PATH_PARAMS 4

struct http_param {
    const char *key;
    const char *value; /* "" for a key without '=' */
};

struct http_request {
    const char *method; /* "GET", "HEAD", "POST", ... (HEAD is routed as GET) */
    const char *path;   /* without the query string, percent-decoded */
    const char *body;   /* NUL-terminated; "" when there is none */
    size_t body_len;
    const struct http_param *query; /* in the order given */
    size_t n_query;
    const struct http_param *headers; /* request headers (names as sent); may be NULL */
    size_t n_headers;
    const char *params[HTTP_MAX_PATH_PARAMS]; /* {captures} of the matched pattern */
    size_t n_params;
    char param_store[512]; /* where params point; a longer capture does not match */
    /* Set by the access guard (api/auth.h) for an authenticated request; NULL when the
     * API is open. Static for the request's lifetime. (ops hook) */
    const char *principal;      /* the token's name */
    const char *principal_team; /* the token's team, NULL = every team */
};

struct http_response {
    int status;               /* 200 unless set */
    const char *content_type; /* static string; NULL = no body type */
    char *body;               /* malloc'd, may be NULL; freed by the server */
    size_t body_len;
    const char *allow; /* static string for an Allow header (405) or NULL */
    /* Extra headers: static NULL-terminated list of name, value, name, value, ... */
    const char *const *headers;
    /* ops: when has_fd, the body is the whole file open on body_fd (streamed; the
     * server closes it); content_type still applies, body must be NULL. */
    bool has_fd;
    int body_fd;
};

struct http_route {
    const char *method;  /* "GET" also serves HEAD */
    const char *pattern; /* "/api/v2/silence/{id}": {x} captures one non-empty segment */
    void (*handle)(void *ctx, const struct http_request *req, struct http_response *resp);
};

struct http_server_opts {
    const char *listen_address; /* "host:port", ":port" (all interfaces), "[v6]:port" */
    const char *route_prefix;   /* "" or NULL, or "/am": every path is served under it */
    size_t max_body_bytes;      /* 0 = 8 MiB */
    unsigned connection_limit;  /* 0 = 512 */
    unsigned timeout_s;         /* idle connection timeout, 0 = 60 */
    const struct http_route *routes;
    size_t n_routes;
    void *ctx; /* passed to every handler */
    /* Optional access hooks (api/auth.h; ops): guard runs before routing and returns
     * false after filling resp to refuse the request; after runs once the response is
     * ready (audit). NULL = none. */
    bool (*guard)(void *hook_ctx, struct http_request *req, struct http_response *resp);
    void (*after)(void *hook_ctx, const struct http_request *req, const struct http_response *resp);
    void *hook_ctx;
    /* Optional TLS (ops): PEM texts of the certificate chain and key; NULL = plain HTTP. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
};

/* Binds the address and starts serving. Fails (nothing bound) with err such as
 * `listen tcp 127.0.0.1:9093: bind: Address already in use` or
 * `invalid listen address "x": missing port`. */
struct http_server *http_server_start(const struct http_server_opts *opts, struct error *err);

/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);

/* Stops accepting new connections; requests in progress finish. Safe to call twice. */
void http_server_quiesce(struct http_server *s);

/* Stops the server (waits for handlers running now) and frees it. Accepts NULL. */
void http_server_free(struct http_server *s);

/* Routes req through routes exactly as the server does and fills resp: the handler's
 * answer, or 404/405 (JSON under /api/, text elsewhere). Pure: no network. */
void http_dispatch(const struct http_route *routes, size_t n_routes, void *ctx,
                   struct http_request *req, struct http_response *resp);

/* The path under route_prefix ("/am" + "/api/v2/x" -> "/api/v2/x"; the prefix alone
 * -> "/"), or NULL when path is not under it. An empty or "/" prefix returns path. */
const char *http_strip_prefix(const char *prefix, const char *path);

/* Splits a listen address into host ("" for all interfaces) and port. */
int http_split_listen_address(const char *addr, char *host, size_t hostsz, char *port,
                              size_t portsz, struct error *err);

/* Response helpers. Each replaces resp's body (freeing the old one). On out of memory
 * they leave a 500 with no body. */
/* Sets status and a body taken as is (copied). */
void http_respond(struct http_response *resp, int status, const char *content_type,
                  const char *body, size_t len);
/* Sets status and a text/plain body. */
void http_respond_text(struct http_response *resp, int status, const char *text);
/* Sets status and a JSON body: `json` is a json_t * (jansson), taken (decref'd). */
void http_respond_json(struct http_response *resp, int status, void *json);
/* Alertmanager's framework errors: {"code":status,"message":msg}. */
void http_respond_error_obj(struct http_response *resp, int status, const char *msg);
/* Alertmanager's handler errors: the message as one JSON string. */
void http_respond_error_str(struct http_response *resp, int status, const char *msg);

/* The value of the first query parameter named key, or NULL. */
const char *http_query_get(const struct http_request *req, const char *key);
/* The first request header called name (case-insensitive), or NULL. */
const char *http_header_get(const struct http_request *req, const char *name);

#endif
