/*
 * server.c - libmicrohttpd glue, body cap, routing table.
 *
 * We create the listening socket ourselves (so a bind error can be reported
 * precisely and port 0 works) and hand it to libmicrohttpd, which runs one
 * thread per connection. A request's body is gathered in a capped buffer kept
 * in the connection's per-request state; a declared Content-Length over the
 * cap is answered 413 before any of the body is read, a chunked body that
 * grows over it is drained and then answered 413. Only complete, in-limit
 * requests reach http_dispatch().
 *
 * Invariant: every request gets exactly one response queued, on its last call
 * to the access handler; the per-request state is freed in the completion
 * callback whatever happened.
 */
#include "api/server.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Seconds a 503 asks the client to wait (Retry-After). */
#define HTTP_RETRY_AFTER_S  "5"
#define DEFAULT_MAX_BODY    ((size_t)8 << 20)
#define DEFAULT_CONN_LIMIT  512
#define DEFAULT_TIMEOUT_S   60
#define MAX_QUERY_PARAMS    256
#define MAX_ROUTE_SEGMENTS  16
#define MAX_ALLOWED_METHODS 8

struct http_server {
    struct MHD_Daemon *mhd;
    int fd;
    int port;
    bool quiesced;
    size_t max_body;
    char *prefix; /* route prefix without a trailing '/', "" for none */
    const struct http_route *routes;
    size_t n_routes;
    void *ctx;
    bool (*guard)(void *, struct http_request *, struct http_response *);
    void (*after)(void *, const struct http_request *, const struct http_response *);
    void *hook_ctx;
};

struct req_state {
    struct buf body;
    bool too_big;
};

void http_respond(struct http_response *resp, int status, const char *content_type,
                  const char *body, size_t len)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = status;
    resp->content_type = content_type;
    if (body == NULL)
        return;
    resp->body = malloc(len + 1);
    if (resp->body == NULL) {
        resp->status = 500;
        resp->content_type = NULL;
        return;
    }
    memcpy(resp->body, body, len);
    resp->body[len] = '\0';
    resp->body_len = len;
}

void http_respond_text(struct http_response *resp, int status, const char *text)
{
    http_respond(resp, status, "text/plain; charset=utf-8", text, strlen(text));
}

void http_respond_json(struct http_response *resp, int status, void *json)
{
    json_t *j = json;
    char *s;

    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (j == NULL) {
        http_respond_text(resp, 500, "out of memory\n");
        return;
    }
    s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (s == NULL) {
        http_respond_text(resp, 500, "out of memory\n");
        return;
    }
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = s;
    resp->body_len = strlen(s);
}

void http_respond_error_obj(struct http_response *resp, int status, const char *msg)
{
    http_respond_json(resp, status, json_pack("{s:i, s:s}", "code", status, "message", msg));
}

void http_respond_error_str(struct http_response *resp, int status, const char *msg)
{
    http_respond_json(resp, status, json_string(msg));
}

const char *http_query_get(const struct http_request *req, const char *key)
{
    for (size_t i = 0; i < req->n_query; i++) {
        if (strcmp(req->query[i].key, key) == 0)
            return req->query[i].value;
    }
    return NULL;
}

/* Matches path against pattern, copying {captures} into req->param_store. */
static bool route_match(const char *pattern, const char *path, struct http_request *req)
{
    const char *p = pattern;
    const char *u = path;
    size_t used = 0;

    req->n_params = 0;
    while (*p != '\0' && *u != '\0') {
        if (*p == '{') {
            const char *pend = strchr(p, '}');
            size_t n = strcspn(u, "/");

            if (pend == NULL || n == 0 || req->n_params >= HTTP_MAX_PATH_PARAMS ||
                n + 1 > sizeof(req->param_store) - used)
                return false;
            memcpy(req->param_store + used, u, n);
            req->param_store[used + n] = '\0';
            req->params[req->n_params++] = req->param_store + used;
            used += n + 1;
            p = pend + 1;
            u += n;
            continue;
        }
        if (*p != *u)
            return false;
        p++;
        u++;
    }
    return *p == '\0' && *u == '\0';
}

const char *http_strip_prefix(const char *prefix, const char *path)
{
    size_t n = prefix != NULL ? strlen(prefix) : 0;

    while (n > 0 && prefix[n - 1] == '/')
        n--;
    if (n == 0)
        return path;
    if (strncmp(path, prefix, n) != 0)
        return NULL;
    if (path[n] == '\0')
        return "/";
    return path[n] == '/' ? path + n : NULL;
}

static bool is_api_path(const char *path)
{
    return strncmp(path, "/api/", 5) == 0;
}

void http_dispatch(const struct http_route *routes, size_t n_routes, void *ctx,
                   struct http_request *req, struct http_response *resp)
{
    const char *allowed[MAX_ALLOWED_METHODS];
    size_t n_allowed = 0;
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    struct buf msg;

    resp->status = 200;
    for (size_t i = 0; i < n_routes; i++) {
        if (!route_match(routes[i].pattern, req->path, req))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            routes[i].handle(ctx, req, resp);
            return;
        }
        if (n_allowed < MAX_ALLOWED_METHODS)
            allowed[n_allowed++] = routes[i].method;
    }
    req->n_params = 0;
    buf_init(&msg, 1024);
    if (n_allowed == 0) {
        if (is_api_path(req->path)) {
            buf_printf(&msg, "path %s was not found", req->path);
            http_respond_error_obj(resp, 404, buf_str(&msg));
        } else {
            http_respond_text(resp, 404, "404 page not found\n");
        }
        buf_release(&msg);
        return;
    }
    /* Alertmanager's wording: method PUT is not allowed, but [GET,POST] are */
    buf_printf(&msg, "method %s is not allowed, but [", req->method);
    for (size_t i = 0; i < n_allowed; i++)
        buf_printf(&msg, "%s%s", i ? "," : "", allowed[i]);
    buf_appends(&msg, "] are");
    if (is_api_path(req->path))
        http_respond_error_obj(resp, 405, buf_str(&msg));
    else
        http_respond_text(resp, 405, "Method Not Allowed\n");
    /* The Allow header lists the same methods; the common combinations are static. */
    resp->allow = n_allowed == 1 ? allowed[0] : "GET, POST, DELETE";
    buf_release(&msg);
}

int http_split_listen_address(const char *addr, char *host, size_t hostsz, char *port,
                              size_t portsz, struct error *err)
{
    const char *colon;
    const char *h = addr;
    size_t hlen;
    size_t plen;
    long pn;
    char *end;

    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');

        if (close == NULL || close[1] != ':')
            return error_set(err, "invalid listen address \"%s\": bad IPv6 form, want [addr]:port",
                             addr);
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL)
            return error_set(err, "invalid listen address \"%s\": missing port", addr);
        if (memchr(addr, ':', (size_t)(colon - addr)) != NULL)
            return error_set(err, "invalid listen address \"%s\": too many colons", addr);
        hlen = (size_t)(colon - addr);
    }
    plen = strlen(colon + 1);
    if (plen == 0)
        return error_set(err, "invalid listen address \"%s\": missing port", addr);
    errno = 0;
    pn = strtol(colon + 1, &end, 10);
    if (*end != '\0' || errno != 0 || pn < 0 || pn > 65535)
        return error_set(err, "invalid listen address \"%s\": bad port", addr);
    if (hlen >= hostsz || plen >= portsz)
        return error_set(err, "invalid listen address \"%s\": too long", addr);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, colon + 1, plen + 1);
    return 0;
}

static int listen_on(const struct addrinfo *ai, bool dual, struct error *err, const char *addr)
{
    int fd;
    int one = 1;
    int zero = 0;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return error_set(err, "listen tcp %s: socket: %s", addr, strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (dual && ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        error_set(err, "listen tcp %s: bind: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 256) < 0) {
        error_set(err, "listen tcp %s: listen: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Returns a listening socket for addr, or -1 with err. */
static int open_listener(const char *addr, struct error *err)
{
    char host[256];
    char port[16];
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    int fd = -1;
    int rc;

    if (http_split_listen_address(addr, host, sizeof(host), port, sizeof(port), err) < 0)
        return -1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (host[0] == '\0') {
        /* All interfaces: one dual-stack IPv6 socket, or IPv4 where IPv6 is missing. */
        hints.ai_family = AF_INET6;
        rc = getaddrinfo(NULL, port, &hints, &res);
        if (rc == 0) {
            fd = listen_on(res, true, err, addr);
            freeaddrinfo(res);
            res = NULL;
            if (fd >= 0)
                return fd;
        }
        hints.ai_family = AF_INET;
        rc = getaddrinfo(NULL, port, &hints, &res);
    } else {
        hints.ai_family = AF_UNSPEC;
        rc = getaddrinfo(host, port, &hints, &res);
    }
    if (rc != 0)
        return error_set(err, "listen tcp %s: lookup %s: %s", addr, host, gai_strerror(rc));
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = listen_on(ai, false, err, addr);
    freeaddrinfo(res);
    return fd;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct http_request *req = cls;
    struct http_param *q = (struct http_param *)req->query;

    (void)kind;
    if (req->n_query >= MAX_QUERY_PARAMS)
        return MHD_NO;
    q[req->n_query].key = key;
    q[req->n_query].value = value != NULL ? value : "";
    req->n_query++;
    return MHD_YES;
}

#define MAX_HEADERS 64

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct http_request *req = cls;
    struct http_param *h = (struct http_param *)req->headers;

    (void)kind;
    if (req->n_headers >= MAX_HEADERS)
        return MHD_NO;
    h[req->n_headers].key = key;
    h[req->n_headers].value = value != NULL ? value : "";
    req->n_headers++;
    return MHD_YES;
}

const char *http_header_get(const struct http_request *req, const char *name)
{
    for (size_t i = 0; req->headers != NULL && i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].key, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct http_response *resp)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (resp->has_fd) {
        /* ops: a file streamed from its descriptor (backups); MHD closes it. */
        struct stat sb;

        if (fstat(resp->body_fd, &sb) < 0) {
            close(resp->body_fd);
            return MHD_NO;
        }
        r = MHD_create_response_from_fd((uint64_t)sb.st_size, resp->body_fd);
        if (r == NULL) {
            close(resp->body_fd);
            return MHD_NO;
        }
    } else if (resp->body != NULL) {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (r == NULL) {
            free(resp->body);
            return MHD_NO;
        }
    } else {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (r == NULL)
            return MHD_NO;
    }
    resp->body = NULL;
    if (resp->content_type != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    if (resp->allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
    for (size_t i = 0;
         resp->headers != NULL && resp->headers[i] != NULL && resp->headers[i + 1] != NULL; i += 2)
        MHD_add_response_header(r, resp->headers[i], resp->headers[i + 1]);
    /* Every 503 is temporary (storage busy or full, engine stopping): tell clients
     * when to come back, as Prometheus and other senders honour Retry-After. */
    if (resp->status == 503 && MHD_get_response_header(r, "Retry-After") == NULL)
        MHD_add_response_header(r, "Retry-After", HTTP_RETRY_AFTER_S);
    ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result too_big(struct http_server *s, struct MHD_Connection *conn)
{
    struct http_response resp = {0};
    char msg[128];

    /* Answered before the routes and the after hook: counted here. */
    metrics_add(MET_HTTP_REQUESTS, "413", NULL, 1);
    snprintf(msg, sizeof(msg), "request body larger than the limit of %zu bytes", s->max_body);
    http_respond_error_obj(&resp, 413, msg);
    return queue(conn, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    struct req_state *st = *con_cls;
    struct http_param *query = NULL;
    struct http_request req;
    struct http_response resp = {0};
    enum MHD_Result ret;

    (void)version;
    if (st == NULL) {
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        st = calloc(1, sizeof(*st));
        if (st == NULL)
            return MHD_NO;
        buf_init(&st->body, s->max_body);
        *con_cls = st;
        if (cl != NULL) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);

            if (*end == '\0' && n > s->max_body) {
                st->too_big = true;
                return too_big(s, conn);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!st->too_big && buf_append(&st->body, upload_data, *upload_data_size) < 0)
            st->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->too_big)
        return too_big(s, conn);

    query = calloc(MAX_QUERY_PARAMS + MAX_HEADERS, sizeof(*query));
    if (query == NULL)
        return MHD_NO;
    memset(&req, 0, sizeof(req));
    if (http_strip_prefix(s->prefix, url) == NULL) {
        free(query);
        metrics_add(MET_HTTP_REQUESTS, "404", NULL, 1);
        http_respond_text(&resp, 404, "404 page not found\n");
        return queue(conn, &resp);
    }
    req.method = method;
    req.path = http_strip_prefix(s->prefix, url);
    req.body = buf_str(&st->body);
    req.body_len = st->body.len;
    req.query = query;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &req);
    req.headers = query + MAX_QUERY_PARAMS;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &req);
    if (s->guard == NULL || s->guard(s->hook_ctx, &req, &resp))
        http_dispatch(s->routes, s->n_routes, s->ctx, &req, &resp);
    if (s->after != NULL)
        s->after(s->hook_ctx, &req, &resp);
    if (log_enabled(LOG_DEBUG)) {
        char status[16];

        snprintf(status, sizeof(status), "%d", resp.status);
        log_debug("http request", "method", method, "path", url, "status", status, NULL);
    }
    ret = queue(conn, &resp);
    free(query);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (st == NULL)
        return;
    buf_release(&st->body);
    free(st);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("http server", "err", msg, NULL);
}

struct http_server *http_server_start(const struct http_server_opts *opts, struct error *err)
{
    struct http_server *s;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    s->max_body = opts->max_body_bytes ? opts->max_body_bytes : DEFAULT_MAX_BODY;
    s->prefix = strdup(opts->route_prefix != NULL ? opts->route_prefix : "");
    if (s->prefix == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    s->routes = opts->routes;
    s->n_routes = opts->n_routes;
    s->ctx = opts->ctx;
    s->guard = opts->guard;
    s->after = opts->after;
    s->hook_ctx = opts->hook_ctx;
    s->fd = open_listener(opts->listen_address, err);
    if (s->fd < 0)
        goto fail;
    if (getsockname(s->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6)
            s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        else
            s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    /* TLS (ops): the PEM texts go to libmicrohttpd (GnuTLS), which copies them. */
    struct MHD_OptionItem tls_opts[3] = {{MHD_OPTION_END, 0, NULL}};
    if (opts->tls_cert_pem != NULL && opts->tls_key_pem != NULL) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            error_set(err, "TLS requested but libmicrohttpd was built without TLS support");
            close(s->fd);
            goto fail;
        }
        flags |= MHD_USE_TLS;
        tls_opts[0] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)opts->tls_key_pem};
        tls_opts[1] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)opts->tls_cert_pem};
        tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    /* The logger option must come first to catch messages about the others. */
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_LISTEN_SOCKET, s->fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(opts->connection_limit ? opts->connection_limit : DEFAULT_CONN_LIMIT),
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(opts->timeout_s ? opts->timeout_s : DEFAULT_TIMEOUT_S),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (s->mhd == NULL) {
        error_set(err, "listen tcp %s: cannot start the HTTP server", opts->listen_address);
        close(s->fd);
        goto fail;
    }
    return s;
fail:
    free(s->prefix);
    free(s);
    return NULL;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_quiesce(struct http_server *s)
{
    MHD_socket fd;

    if (s == NULL || s->quiesced)
        return;
    s->quiesced = true;
    fd = MHD_quiesce_daemon(s->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void http_server_free(struct http_server *s)
{
    if (s == NULL)
        return;
    /* libmicrohttpd closes the listening socket unless quiesce took it back. */
    MHD_stop_daemon(s->mhd);
    free(s->prefix);
    free(s);
}
