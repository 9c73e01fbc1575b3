/*
 * amctl_http.c - the blocking libcurl client behind every amctl subcommand
 * that talks to a server.
 *
 * One easy handle per request (amctl makes one or a few requests per run, so
 * connection reuse is not worth the state). The reply body is collected in a
 * capped buffer so a misbehaving server cannot make amctl grow without bound.
 * libcurl is initialised once, on first use, and cleaned up at exit.
 */
#include "cmd/amctl_http.h"

#include "cmd/amctl.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/duration.h"
#include "core/error.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    struct buf body;
    bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;

    if (buf_append(&s->body, ptr, n) < 0) {
        s->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

static int global_init(struct error *err)
{
    static bool done;

    if (done)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return error_set(err, "cannot initialise libcurl");
    atexit(curl_global_cleanup);
    done = true;
    return 0;
}

static const char *reason_phrase(long status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "error";
    }
}

/* The server's own words from an error body: a JSON string (Alertmanager API v2),
 * an object's "message" or "error" field, else the text itself with line breaks
 * folded. Written into out (never fails). */
static void server_message(const struct buf *body, char *out, size_t outsz)
{
    json_t *j = json_loadb(buf_str(body), body->len, JSON_DECODE_ANY, NULL);
    const char *msg = NULL;
    size_t k = 0;

    out[0] = '\0';
    if (json_is_string(j)) {
        msg = json_string_value(j);
    } else if (json_is_object(j)) {
        if (json_is_string(json_object_get(j, "message")))
            msg = json_string_value(json_object_get(j, "message"));
        else if (json_is_string(json_object_get(j, "error")))
            msg = json_string_value(json_object_get(j, "error"));
    }
    if (msg == NULL)
        msg = buf_str(body);
    /* Fold whitespace runs and drop control characters: the message goes to a terminal. */
    for (const char *p = msg; *p != '\0' && k + 1 < outsz; p++) {
        unsigned char c = (unsigned char)*p;

        if (isspace(c)) {
            if (k > 0 && out[k - 1] != ' ')
                out[k++] = ' ';
        } else if (c >= 0x20 && c != 0x7f) {
            out[k++] = (char)c;
        }
    }
    while (k > 0 && out[k - 1] == ' ')
        k--;
    out[k] = '\0';
    json_decref(j);
}

/* The request's method and path for messages, without the query string. */
static void describe(const char *method, const char *path, char *out, size_t outsz)
{
    size_t n = strcspn(path, "?");

    snprintf(out, outsz, "%s %.*s", method, (int)(n > 200 ? 200 : n), path);
}

static int transport_error(CURLcode rc, const char *url, const char *detail, struct error *err)
{
    const char *why = detail[0] != '\0' ? detail : curl_easy_strerror(rc);

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return error_set(err,
                         "cannot connect to %s: %s (is amrouter running? --url or AMCTL_URL "
                         "names the server)",
                         url, why);
    case CURLE_COULDNT_RESOLVE_HOST:
        return error_set(err, "cannot resolve the host in %s: %s", url, why);
    case CURLE_OPERATION_TIMEDOUT:
        return error_set(err,
                         "no answer from %s in time: %s (--timeout or AMCTL_TIMEOUT allows "
                         "more)",
                         url, why);
    case CURLE_PEER_FAILED_VERIFICATION:
        return error_set(err,
                         "%s: the server's certificate is not trusted: %s (give its CA with "
                         "--ca-file or AMCTL_CA_FILE)",
                         url, why);
    case CURLE_SSL_CACERT_BADFILE:
        return error_set(err, "%s: cannot use the CA file: %s", url, why);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return error_set(err, "bad server URL %s: %s", url, why);
    default:
        return error_set(err, "request to %s failed: %s", url, why);
    }
}

int amctl_http(const struct amctl_global *g, const char *method, const char *path,
               const json_t *body, json_t **reply, long *status, struct error *err)
{
    char errbuf[CURL_ERROR_SIZE];
    char what[256];
    struct curl_slist *headers = NULL;
    struct buf url, auth;
    struct sink sink;
    char *payload = NULL;
    CURL *h = NULL;
    long code = 0;
    int64_t timeout_ms = AMCTL_REQUEST_TIMEOUT_MS;
    size_t base_len;
    CURLcode rc;
    int ret = -1;

    buf_init(&url, 8192);
    buf_init(&auth, 8192);
    buf_init(&sink.body, AMCTL_REPLY_MAX);
    sink.too_big = false;
    errbuf[0] = '\0';
    if (reply != NULL)
        *reply = NULL;
    if (status != NULL)
        *status = 0;
    describe(method, path, what, sizeof(what));
    if (g->timeout != NULL && g->timeout[0] != '\0') {
        if (duration_parse(g->timeout, &timeout_ms, err) < 0 || timeout_ms <= 0) {
            error_set(err, "--timeout / AMCTL_TIMEOUT: want a duration such as 10s, not \"%s\"",
                      g->timeout);
            goto out;
        }
    }
    if (global_init(err) < 0)
        goto out;

    base_len = strlen(g->url);
    while (base_len > 0 && g->url[base_len - 1] == '/')
        base_len--;
    if (buf_append(&url, g->url, base_len) < 0 || buf_appends(&url, path) < 0) {
        error_set(err, "server URL too long");
        goto out;
    }

    h = curl_easy_init();
    if (h == NULL) {
        error_set(err, "cannot initialise libcurl");
        goto out;
    }
    headers = curl_slist_append(headers, "Accept: application/json");
    if (body != NULL) {
        payload = json_dumps(body, JSON_COMPACT);
        if (payload == NULL) {
            error_set(err, "out of memory");
            goto out;
        }
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    }
    if (g->token != NULL && g->token[0] != '\0') {
        if (buf_printf(&auth, "Authorization: Bearer %s", g->token) < 0) {
            error_set(err, "token too long");
            goto out;
        }
        headers = curl_slist_append(headers, buf_str(&auth));
    }
    if (headers == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, buf_str(&url));
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0) {
        if (body == NULL)
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(
        h, CURLOPT_CONNECTTIMEOUT_MS,
        (long)(timeout_ms < AMCTL_CONNECT_TIMEOUT_MS ? timeout_ms : AMCTL_CONNECT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "amctl/" AMR_VERSION);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (g->ca_file != NULL && g->ca_file[0] != '\0')
        curl_easy_setopt(h, CURLOPT_CAINFO, g->ca_file);

    rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        if (sink.too_big)
            error_set(err, "%s: the answer is larger than %u bytes", what, AMCTL_REPLY_MAX);
        else
            transport_error(rc, g->url, errbuf, err);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (status != NULL)
        *status = code;
    if (code < 200 || code > 299) {
        char msg[1024];

        server_message(&sink.body, msg, sizeof(msg));
        error_set(err, "server refused %s (%ld %s)%s%s%s", what, code, reason_phrase(code),
                  msg[0] != '\0' ? ": " : "", msg,
                  code == 401 || code == 403 ? " (check --token or AMCTL_TOKEN)" : "");
        goto out;
    }
    if (reply != NULL && sink.body.len > 0) {
        json_error_t jerr;

        *reply = json_loadb(buf_str(&sink.body), sink.body.len, JSON_DECODE_ANY, &jerr);
        if (*reply == NULL) {
            error_set(err, "%s: the server's answer is not JSON (%s at byte %d)", what, jerr.text,
                      jerr.position);
            goto out;
        }
    }
    ret = 0;
out:
    curl_slist_free_all(headers);
    if (h != NULL)
        curl_easy_cleanup(h);
    free(payload);
    buf_release(&url);
    buf_release(&auth);
    buf_release(&sink.body);
    return ret;
}

int amctl_url_escape(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            if (buf_appendc(out, (char)*p) < 0)
                return -1;
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

            if (buf_append(out, e, 3) < 0)
                return -1;
        }
    }
    return 0;
}

int amctl_query_add(struct buf *path, const char *name, const char *value)
{
    if (buf_appendc(path, strchr(buf_str(path), '?') != NULL ? '&' : '?') < 0)
        return -1;
    if (amctl_url_escape(path, name) < 0 || buf_appendc(path, '=') < 0)
        return -1;
    return amctl_url_escape(path, value);
}

int amctl_print_json(const json_t *v)
{
    if (v == NULL)
        return 0;
    if (json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) < 0)
        return -1;
    if (fputc('\n', stdout) == EOF)
        return -1;
    return fflush(stdout) == 0 ? 0 : -1;
}

int amctl_get_list(const struct amctl_global *g, const char *cmd, struct buf *path,
                   const struct matchers *ms, const char *hint404, const char *what, json_t **reply)
{
    struct error err;
    long status = 0;

    *reply = NULL;
    if (amctl_matchers_query(path, ms) < 0)
        return amctl_fail(AMCTL_USAGE, cmd, "matchers too long");
    if (amctl_http(g, "GET", buf_str(path), NULL, reply, &status, &err) < 0)
        return amctl_fail(AMCTL_REFUSED, cmd, "%s%s", err.msg,
                          status == 404 && hint404 != NULL ? hint404 : "");
    if (!json_is_array(*reply)) {
        json_decref(*reply);
        *reply = NULL;
        return amctl_fail(AMCTL_REFUSED, cmd, "the server's answer is not a list of %s", what);
    }
    return AMCTL_OK;
}

int amctl_print_list(const struct amctl_global *g, const json_t *list,
                     int (*table)(const json_t *list))
{
    if (strcmp(g->output, "json") == 0)
        return amctl_print_json(list) == 0 ? AMCTL_OK : AMCTL_REFUSED;
    return table(list) == 0 ? AMCTL_OK : AMCTL_REFUSED;
}
