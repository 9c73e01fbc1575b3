/*
 * request.c - struct notify_request: lifetime, libcurl setup, and the small
 * helpers every integration shares (rendering fields, URL redaction, form
 * encoding, SHA-256, reading the template context).
 *
 * Invariant: nothing in here writes a secret (a request's url, password,
 * bearer token or body) into an error message; errors name redacted_url.
 */
#include "notifiers/request.h"

#include "config/config.h"
#include "core/alert.h"
#include "core/clock.h"
#include "core/error.h"
#include "notifiers/incident.h"
#include "notifiers/notifier.h"
#include "router/router.h"
#include "templates/context.h"
#include "templates/defaults.h"
#include "templates/mustache.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_TIMEOUT_MS         30000

void notify_request_init(struct notify_request *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, NOTIFY_BODY_MAX);
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void notify_request_release(struct notify_request *r)
{
    if (r == NULL)
        return;
    free(r->method);
    free(r->url);
    free(r->redacted_url);
    strv_free(r->headers, r->n_headers);
    buf_release(&r->body);
    if (r->password != NULL)
        memset(r->password, 0, strlen(r->password));
    free(r->username);
    free(r->password);
    free(r->login_options);
    free(r->authzid);
    free(r->mail_from);
    strv_free(r->rcpt, r->n_rcpt);
    if (r->queued)
        sms_throttle_forget(r);
    free(r->dest);
    free(r->idem_key);
    free(r->sms_text);
    free(r->sms_to);
    free(r->sms_from);
    curl_slist_free_all(r->curl_headers);
    curl_slist_free_all(r->curl_rcpt);
    notify_request_init(r);
}

struct notify_request *notify_requests_add(struct notify_requests *rs)
{
    struct notify_request *v = realloc(rs->v, (rs->n + 1) * sizeof(*v));

    if (v == NULL)
        return NULL;
    rs->v = v;
    notify_request_init(&v[rs->n]);
    return &v[rs->n++];
}

void notify_requests_release(struct notify_requests *rs)
{
    if (rs == NULL)
        return;
    for (size_t i = 0; i < rs->n; i++)
        notify_request_release(&rs->v[i]);
    free(rs->v);
    rs->v = NULL;
    rs->n = 0;
}

int notify_request_add_header(struct notify_request *r, const char *name, const char *value)
{
    struct buf b;
    char **v;

    if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
        return -1;
    buf_init(&b, NOTIFY_FIELD_MAX);
    if (buf_printf(&b, "%s: %s", name, value) < 0) {
        buf_release(&b);
        return -1;
    }
    v = realloc(r->headers, (r->n_headers + 1) * sizeof(*v));
    if (v == NULL) {
        buf_release(&b);
        return -1;
    }
    r->headers = v;
    r->headers[r->n_headers] = buf_detach(&b);
    if (r->headers[r->n_headers] == NULL)
        return -1;
    r->n_headers++;
    return 0;
}

const char *notify_request_header(const struct notify_request *r, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < r->n_headers; i++) {
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + (r->headers[i][n + 1] == ' ' ? 2 : 1);
    }
    return NULL;
}

char *notify_redact_url(const char *url)
{
    struct buf b;
    const char *p = strstr(url, "://");
    const char *host, *end, *at;

    buf_init(&b, 4096);
    if (p == NULL) {
        if (buf_appends(&b, "<redacted>") < 0)
            goto fail;
        return buf_detach(&b);
    }
    host = p + 3;
    end = host + strcspn(host, "/?#");
    at = memchr(host, '@', (size_t)(end - host));
    if (at != NULL)
        host = at + 1;
    if (buf_append(&b, url, (size_t)(p + 3 - url)) < 0 ||
        buf_append(&b, host, (size_t)(end - host)) < 0)
        goto fail;
    if (*end != '\0' && strcmp(end, "/") != 0 && buf_appends(&b, "/<redacted>") < 0)
        goto fail;
    return buf_detach(&b);
fail:
    buf_release(&b);
    return NULL;
}

/* libcurl read callback for the SMTP upload: hands out r->body from upload_off. */
static size_t read_body(char *dst, size_t size, size_t nitems, void *userdata)
{
    struct notify_request *r = userdata;
    size_t want = size * nitems;
    size_t left = r->body.len - r->upload_off;
    size_t n = left < want ? left : want;

    memcpy(dst, r->body.ptr + r->upload_off, n);
    r->upload_off += n;
    return n;
}

#define SETOPT(h, opt, val)                                                                        \
    do {                                                                                           \
        if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) {                                     \
            error_set(err, "%s: cannot set " #opt, r->redacted_url);                               \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static int add_slist(struct curl_slist **l, const char *s)
{
    struct curl_slist *n = curl_slist_append(*l, s);

    if (n == NULL)
        return -1;
    *l = n;
    return 0;
}

static int setup_common(struct notify_request *r, CURL *h, struct error *err)
{
    const struct http_config *hc = r->http;
    int64_t cto = DEFAULT_CONNECT_TIMEOUT_MS, to = DEFAULT_TIMEOUT_MS;
    int rc = -1;

    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, CURLOPT_URL, r->url);
    SETOPT(h, CURLOPT_USERAGENT, "amrouter/" AMR_VERSION);
    if (hc != NULL) {
        if (hc->connect_timeout > 0)
            cto = hc->connect_timeout;
        if (hc->timeout > 0)
            to = hc->timeout;
        if (hc->tls_ca_file != NULL)
            SETOPT(h, CURLOPT_CAINFO, hc->tls_ca_file);
        if (hc->tls_cert_file != NULL)
            SETOPT(h, CURLOPT_SSLCERT, hc->tls_cert_file);
        if (hc->tls_key_file != NULL)
            SETOPT(h, CURLOPT_SSLKEY, hc->tls_key_file);
        if (hc->tls_insecure_skip_verify) {
            SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
            SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (hc->proxy_url != NULL)
            SETOPT(h, CURLOPT_PROXY, hc->proxy_url);
    }
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cto);
    SETOPT(h, CURLOPT_TIMEOUT_MS, (long)to);
    if (r->username != NULL) {
        SETOPT(h, CURLOPT_USERNAME, r->username);
        SETOPT(h, CURLOPT_PASSWORD, r->password != NULL ? r->password : "");
    }
    rc = 0;
out:
    return rc;
}

static int setup_http(struct notify_request *r, CURL *h, struct error *err)
{
    const struct http_config *hc = r->http;
    struct buf auth;
    int rc = -1;

    buf_init(&auth, 64 * 1024);
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(h, CURLOPT_FOLLOWLOCATION, (hc == NULL || hc->follow_redirects) ? 1L : 0L);
    SETOPT(h, CURLOPT_MAXREDIRS, 10L);
    if (r->method != NULL && strcmp(r->method, "POST") != 0)
        SETOPT(h, CURLOPT_CUSTOMREQUEST, r->method);
    SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
    SETOPT(h, CURLOPT_POSTFIELDS, buf_str(&r->body));
    for (size_t i = 0; i < r->n_headers; i++) {
        if (add_slist(&r->curl_headers, r->headers[i]) < 0) {
            error_set(err, "%s: out of memory", r->redacted_url);
            goto out;
        }
    }
    /* No "Expect: 100-continue" round trip for our small bodies. */
    if (add_slist(&r->curl_headers, "Expect:") < 0) {
        error_set(err, "%s: out of memory", r->redacted_url);
        goto out;
    }
    if (r->username == NULL && hc != NULL) {
        if (hc->basic_auth_username != NULL) {
            SETOPT(h, CURLOPT_USERNAME, hc->basic_auth_username);
            SETOPT(h, CURLOPT_PASSWORD,
                   hc->basic_auth_password.value != NULL ? hc->basic_auth_password.value : "");
            SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        } else if (hc->bearer_token.value != NULL) {
            if (buf_printf(&auth, "Authorization: %s %s",
                           hc->authorization_type != NULL ? hc->authorization_type : "Bearer",
                           hc->bearer_token.value) < 0 ||
                add_slist(&r->curl_headers, buf_str(&auth)) < 0) {
                error_set(err, "%s: authorization header too large", r->redacted_url);
                goto out;
            }
        }
    } else if (r->username != NULL) {
        SETOPT(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    SETOPT(h, CURLOPT_HTTPHEADER, r->curl_headers);
    rc = 0;
out:
    if (auth.ptr != NULL)
        memset(auth.ptr, 0, auth.len);
    buf_release(&auth);
    return rc;
}

static int setup_smtp(struct notify_request *r, CURL *h, struct error *err)
{
    struct buf from;
    int rc = -1;
    long use_ssl = CURLUSESSL_TRY;

    buf_init(&from, 4096);
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    if (buf_printf(&from, "<%s>", r->mail_from != NULL ? r->mail_from : "") < 0) {
        error_set(err, "%s: sender address too long", r->redacted_url);
        goto out;
    }
    SETOPT(h, CURLOPT_MAIL_FROM, buf_str(&from));
    for (size_t i = 0; i < r->n_rcpt; i++) {
        struct buf to;

        buf_init(&to, 4096);
        if (buf_printf(&to, "<%s>", r->rcpt[i]) < 0 || add_slist(&r->curl_rcpt, buf_str(&to)) < 0) {
            buf_release(&to);
            error_set(err, "%s: recipient too long", r->redacted_url);
            goto out;
        }
        buf_release(&to);
    }
    SETOPT(h, CURLOPT_MAIL_RCPT, r->curl_rcpt);
    if (r->tls == NOTIFY_TLS_REQUIRED || r->tls == NOTIFY_TLS_IMPLICIT)
        use_ssl = CURLUSESSL_ALL;
    SETOPT(h, CURLOPT_USE_SSL, use_ssl);
    if (r->login_options != NULL)
        SETOPT(h, CURLOPT_LOGIN_OPTIONS, r->login_options);
    if (r->authzid != NULL)
        SETOPT(h, CURLOPT_SASL_AUTHZID, r->authzid);
    r->upload_off = 0;
    SETOPT(h, CURLOPT_UPLOAD, 1L);
    SETOPT(h, CURLOPT_READFUNCTION, read_body);
    SETOPT(h, CURLOPT_READDATA, r);
    SETOPT(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body.len);
    rc = 0;
out:
    buf_release(&from);
    return rc;
}

int notify_request_setup_curl(struct notify_request *r, void *curl_easy, struct error *err)
{
    CURL *h = curl_easy;

    curl_slist_free_all(r->curl_headers);
    curl_slist_free_all(r->curl_rcpt);
    r->curl_headers = NULL;
    r->curl_rcpt = NULL;
    if (r->url == NULL)
        return error_set(err, "request without a URL");
    if (r->redacted_url == NULL) {
        r->redacted_url = notify_redact_url(r->url);
        if (r->redacted_url == NULL)
            return error_set(err, "out of memory");
    }
    if (setup_common(r, h, err) < 0)
        return -1;
    return r->proto == NOTIFY_PROTO_SMTP ? setup_smtp(r, h, err) : setup_http(r, h, err);
}

int notify_render_field(const struct tmpl_field *f, const char *default_name,
                        enum mustache_escape esc, const json_t *ctx, const char *what, char **out,
                        struct error *err)
{
    const struct mustache *m = f != NULL ? f->compiled : NULL;
    struct buf b;

    *out = NULL;
    if (m == NULL && default_name != NULL) {
        m = default_template(default_name);
        if (m == NULL)
            return error_set(err, "%s: no default template %s", what, default_name);
    }
    buf_init(&b, NOTIFY_FIELD_MAX);
    if (m != NULL && mustache_render(m, ctx, esc, &b, err) < 0) {
        buf_release(&b);
        return error_prefix(err, "%s", what);
    }
    *out = buf_detach(&b);
    if (*out == NULL)
        return error_set(err, "%s: out of memory", what);
    return 0;
}

int notify_render_source(const char *src, enum mustache_escape esc, const json_t *ctx,
                         const char *what, char **out, struct error *err)
{
    struct mustache_loader loader = default_templates_loader();
    struct mustache_options opts = {.loader = &loader};
    struct mustache *m;
    struct buf b;
    int rc = -1;

    *out = NULL;
    if (src == NULL)
        return 0;
    if (strstr(src, "{{") == NULL) {
        *out = strdup(src);
        return *out == NULL ? error_set(err, "%s: out of memory", what) : 0;
    }
    m = mustache_compile(src, what, &opts, err);
    if (m == NULL)
        return -1;
    buf_init(&b, NOTIFY_FIELD_MAX);
    if (mustache_render(m, ctx, esc, &b, err) < 0) {
        error_prefix(err, "%s", what);
        goto out;
    }
    *out = buf_detach(&b);
    if (*out == NULL) {
        error_set(err, "%s: out of memory", what);
        goto out;
    }
    rc = 0;
out:
    buf_release(&b);
    mustache_free(m);
    return rc;
}

int notify_form_escape(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        int rc;

        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '*')
            rc = buf_appendc(out, (char)*p);
        else if (*p == ' ')
            rc = buf_appendc(out, '+');
        else
            rc = buf_printf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int notify_sha256_hex(const char *s, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";

    if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

char *notify_trim(char *s)
{
    size_t n = strlen(s), i = 0;

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    if (i > 0)
        memmove(s, s + i, n - i + 1);
    return s;
}

const char *notify_ctx_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s != NULL ? s : "";
}

bool notify_ctx_bool(const json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}

json_int_t notify_ctx_int(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

bool notify_ctx_firing(const json_t *ctx)
{
    return strcmp(notify_ctx_str(ctx, "status"), "firing") == 0;
}

const json_t *notify_ctx_incident(const json_t *ctx)
{
    const json_t *inc = json_object_get(ctx, "incident");

    return json_is_object(inc) ? inc : NULL;
}

const char *notify_ctx_ack_url(const json_t *ctx)
{
    const json_t *inc = notify_ctx_incident(ctx);
    const char *u;

    if (inc == NULL || !notify_ctx_firing(ctx) || notify_ctx_bool(inc, "acked"))
        return NULL;
    if (strcmp(notify_ctx_str(inc, "status"), "resolved") == 0)
        return NULL;
    u = notify_ctx_str(inc, "ack_url");
    return u[0] != '\0' ? u : NULL;
}

void notify_requests_truncate(struct notify_requests *rs, size_t n)
{
    while (rs->n > n)
        notify_request_release(&rs->v[--rs->n]);
}

/* The template context of a job (notify_job_context()), or with shared set the
 * shared, prepared one (context_shared_get()) in *shared. */
static json_t *job_context(const struct notify_job *job, const char *receiver,
                           const char *external_url, const struct notify_incident *inc,
                           struct context_shared **shared)
{
    const struct alert **ptrs = NULL;
    struct notify_data d;
    json_t *ctx;

    if (job->n_alerts > 0) {
        ptrs = malloc(job->n_alerts * sizeof(*ptrs));
        if (ptrs == NULL)
            return NULL;
        for (size_t i = 0; i < job->n_alerts; i++)
            ptrs[i] = &job->alerts[i];
    }
    memset(&d, 0, sizeof(d));
    d.receiver = receiver;
    d.group_key = job->group_key;
    d.group_labels = &job->group_labels;
    d.alerts = ptrs;
    d.n_alerts = job->n_alerts;
    d.now = job->created_at;
    d.external_url = external_url;
    d.incident = inc;
    if (shared != NULL) {
        *shared = context_shared_get(&d);
        ctx = *shared != NULL ? json_incref(context_shared_json(*shared)) : NULL;
    } else {
        ctx = context_template(&d);
    }
    free(ptrs);
    return ctx;
}

json_t *notify_job_context(const struct notify_job *job, const char *receiver,
                           const char *external_url, const struct notify_incident *inc)
{
    return job_context(job, receiver, external_url, inc, NULL);
}

/* Requests sent through notifier_request.setup: the built list and the part to send. */
struct notify_ext {
    struct notify_requests rs;
    size_t cur;
};

static void ext_free(void *p)
{
    struct notify_ext *x = p;

    if (x == NULL)
        return;
    notify_requests_release(&x->rs);
    free(x);
}

static int ext_setup(struct notifier_request *rq, void *curl_easy, struct error *err)
{
    struct notify_ext *x = rq->ext;
    struct notify_request *r;
    CURL *h = curl_easy;
    int rc = -1;

    for (;;) {
        int64_t until = 0;
        int g;

        if (x == NULL || x->cur >= x->rs.n)
            return 1;
        r = &x->rs.v[x->cur];
        if (r->sms_text == NULL)
            break;
        /* An SMS: the per-number throttle decides (send / merged elsewhere / wait). */
        g = sms_throttle_gate(r, clock_now_ms(), &until);
        if (g == 0)
            break;
        if (g == 2) {
            rq->defer_until = until;
            return 2;
        }
        if (g < 0)
            return error_set(err, "%s: out of memory", r->redacted_url);
        x->cur++; /* merged into another message to this number */
    }
    r->http = NULL; /* the config may be gone: transport settings come from rq */
    if (notify_request_setup_curl(r, h, err) < 0)
        return -1;
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long)rq->connect_timeout_ms);
    SETOPT(h, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms);
    if (rq->ca_file != NULL)
        SETOPT(h, CURLOPT_CAINFO, rq->ca_file);
    if (rq->cert_file != NULL)
        SETOPT(h, CURLOPT_SSLCERT, rq->cert_file);
    if (rq->key_file != NULL)
        SETOPT(h, CURLOPT_SSLKEY, rq->key_file);
    if (rq->insecure_skip_verify) {
        SETOPT(h, CURLOPT_SSL_VERIFYPEER, 0L);
        SETOPT(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (r->proto == NOTIFY_PROTO_HTTP) {
        if (rq->proxy_url != NULL)
            SETOPT(h, CURLOPT_PROXY, rq->proxy_url);
        SETOPT(h, CURLOPT_FOLLOWLOCATION, rq->follow_redirects ? 1L : 0L);
    }
    rc = 0;
out:
    return rc;
}

static bool ext_advance(const struct notifier_request *rq)
{
    struct notify_ext *x = rq->ext;

    if (x == NULL || x->cur + 1 >= x->rs.n)
        return false;
    x->cur++;
    return true;
}

static int take(char **dst, char **src)
{
    free(*dst);
    *dst = *src;
    *src = NULL;
    return 0;
}

int notify_export(struct notify_requests *rs, const struct notifier_config *nc,
                  struct notifier_request *out, struct error *err)
{
    struct notify_ext *x;

    if (notifier_request_apply_http(out, &nc->http, err) < 0)
        return -1;
    if (rs->n == 1 && rs->v[0].proto == NOTIFY_PROTO_HTTP && rs->v[0].sms_text == NULL) {
        struct notify_request *r = &rs->v[0];

        take(&out->method, &r->method);
        take(&out->url, &r->url);
        for (size_t i = 0; i < r->n_headers; i++) {
            const char *colon = strchr(r->headers[i], ':');
            char name[256];

            if (colon == NULL || (size_t)(colon - r->headers[i]) >= sizeof(name))
                continue;
            memcpy(name, r->headers[i], (size_t)(colon - r->headers[i]));
            name[colon - r->headers[i]] = '\0';
            if (notifier_request_add_header(out, name, colon[1] == ' ' ? colon + 2 : colon + 1) < 0)
                return error_set(err, "out of memory");
        }
        if (notifier_request_add_header(out, "User-Agent", notifier_user_agent()) < 0)
            return error_set(err, "out of memory");
        out->body_len = r->body.len;
        out->body = buf_detach(&r->body);
        if (out->body == NULL)
            return error_set(err, "out of memory");
        if (r->username != NULL) {
            /* The service's own credentials (Twilio) win over http_config's basic_auth. */
            if (out->password != NULL)
                memset(out->password, 0, strlen(out->password));
            take(&out->username, &r->username);
            take(&out->password, &r->password);
        }
        notify_requests_release(rs);
        return 0;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return error_set(err, "out of memory");
    x->rs = *rs;
    memset(rs, 0, sizeof(*rs));
    out->ext = x;
    out->ext_free = ext_free;
    out->setup = ext_setup;
    out->advance = ext_advance;
    if (x->rs.n > 0) {
        out->url = strdup(x->rs.v[0].redacted_url != NULL ? x->rs.v[0].redacted_url : "");
        if (out->url == NULL)
            return error_set(err, "out of memory");
    }
    return 0;
}

int notify_ops_build(int (*build)(const struct notifier_config *, const json_t *,
                                  const struct notify_opts *, struct notify_requests *,
                                  struct error *),
                     const struct notifier_env *env, const struct receiver *rcv,
                     const struct notifier_config *nc, const struct notify_job *job,
                     struct notifier_request *out, struct error *err)
{
    struct notify_incident inc;
    char ack_url[NOTIFIER_URL_MAX], inc_url[NOTIFIER_URL_MAX];
    struct notify_opts o = {.now = job->created_at};
    struct notify_requests rs = {0};
    const struct notify_incident *pi;
    struct context_shared *shared = NULL;
    json_t *ctx;
    int rc = -1;

    /* The incident as the router saw it when it made the job, with its signed ack
     * link (notifiers/incident.h); NULL when the job has none. */
    pi = env != NULL ? notifier_incident(env, job, &inc, ack_url, inc_url) : NULL;
    /* The jobs of one notification (one per integration) share one context,
     * prepared for rendering (templates/context.h). */
    ctx = job_context(job, rcv->name, env != NULL ? env->external_url : NULL, pi, &shared);
    if (ctx == NULL)
        return error_set(err, "out of memory building the template context");
    mustache_data_use(context_shared_data(shared));
    if (build(nc, ctx, &o, &rs, err) < 0)
        goto out;
    if (notify_export(&rs, nc, out, err) < 0)
        goto out;
    rc = 0;
out:
    mustache_data_use(NULL);
    notify_requests_release(&rs);
    json_decref(ctx);
    context_shared_release(shared);
    return rc;
}
