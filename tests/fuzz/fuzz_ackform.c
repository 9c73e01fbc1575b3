/*
 * fuzz_ackform.c - the ack forms a browser posts (docs/escalation.md): POST
 * /ack/{token} (api_h_ack_post in api/incidents.c: the urlencoded form parser,
 * the csrf field, the Origin check, the name and comment fields) and POST
 * /ui/ack/{id} (api_h_web_ack in api/webview.c: its csrf field reader), through
 * the real handlers with a fake engine.
 *
 * Input: one mode byte, then the form body. Mode bits:
 *   1  prepend the valid csrf field ("csrf=<the page's value>&") to the body
 *   2  send a foreign Origin header (must be refused with 403, engine untouched)
 *   4  the web view's form (/ui/ack/42) instead of the ack link's (/ack/<token>)
 *   8  the engine answers 409 (incident resolved) instead of acknowledging
 * Invariants: the engine is only asked to acknowledge incident 42, and only
 * when the valid csrf field was sent (prepended, or the body spells it itself)
 * and the Origin is this server; who and comment reach the engine as valid
 * UTF-8 within 200 and 2000 bytes (they end up in JSON payloads and SQLite);
 * the answer is one of the statuses the docs list.
 */
#include "tests/fuzz/fuzz.h"

#include "api/api.h"
#include "api/server.h"
#include "api/webview.h"
#include "core/error.h"
#include "core/log.h"
#include "core/token.h"
#include "router/router.h"

#include <jansson.h>
#include <stdbool.h>

#define EXT "https://amrouter.example"

static const uint8_t secret[] = "fuzz-ack-secret-0123456789abcdef";
static int acks;

static void fake_secret(struct engine *e, const uint8_t **s, size_t *len)
{
    (void)e;
    *s = secret;
    *len = sizeof(secret) - 1;
}

static int fake_page(struct engine *e, uint64_t id, const char *ack_url, json_t **out, int *status,
                     struct error *err)
{
    (void)e;
    (void)err;
    FUZZ_CHECK(id == 42 && ack_url != NULL);
    *status = 200;
    *out = json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "acknowledged");
    return *out != NULL ? 0 : -1;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != 0) {
        unsigned c = *p, n, cp;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

static int resolved;

static int fake_ack(struct engine *e, uint64_t id, bool unack, const struct ack_in *in,
                    json_t **out, int *status, struct error *err)
{
    (void)e;
    FUZZ_CHECK(id == 42 && !unack && in != NULL && in->by != NULL);
    FUZZ_CHECK(in->via != NULL && strcmp(in->via, "web") == 0);
    FUZZ_CHECK(strlen(in->by) <= 200 && utf8_ok(in->by));
    FUZZ_CHECK(in->comment == NULL || (strlen(in->comment) <= 2000 && utf8_ok(in->comment)));
    acks++;
    if (resolved) {
        *status = 409;
        snprintf(err->msg, sizeof(err->msg), "incident 42 is resolved");
        return -1;
    }
    *status = 200;
    /* What the engine answers: the incident with its ack (jansson refuses bad UTF-8). */
    *out = json_pack("{s:I, s:s, s:{s:s, s:s, s:s, s:s?}}", "id", (json_int_t)id, "state",
                     "acknowledged", "ack", "by", in->by, "at", "2026-11-23T12:00:00.000Z", "via",
                     in->via, "comment", in->comment);
    FUZZ_CHECK(*out != NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct api_engine_ops ops;
    static int init;
    struct api a;
    struct http_request req;
    struct http_response resp;
    struct http_param hdr[2];
    char token[TOKEN_MAX], csrf[TOKEN_MAX], *body;
    unsigned mode = size > 0 ? data[0] : 0;
    bool web = mode & 4, foreign = mode & 2;
    const uint8_t *form = size > 0 ? data + 1 : data;
    size_t form_len = size > 0 ? size - 1 : 0, pre = 0;

    if (!init) {
        log_init(LOG_ERROR, LOG_FORMAT_LOGFMT);
        ops.ack_secret = fake_secret;
        ops.ack_page_context = fake_page;
        ops.ack_incident = fake_ack;
        init = 1;
    }
    FUZZ_CHECK(token_sign(secret, sizeof(secret) - 1, 42, (int64_t)4102444800000, token) == 0);
    FUZZ_CHECK(token_csrf(secret, sizeof(secret) - 1, web ? "ui-ack-42" : token, csrf) == 0);

    body = malloc(form_len + strlen(csrf) + 8);
    FUZZ_CHECK(body != NULL);
    if (mode & 1)
        pre = (size_t)snprintf(body, strlen(csrf) + 8, "csrf=%s&", csrf);
    if (form_len > 0)
        memcpy(body + pre, form, form_len);
    body[pre + form_len] = '\0';

    memset(&a, 0, sizeof(a));
    a.ops = &ops;
    a.external_url = EXT;
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method = "POST";
    req.body = body;
    req.body_len = pre + form_len;
    hdr[0].key = "Origin";
    hdr[0].value = foreign ? "https://evil.example" : EXT;
    hdr[1].key = "Host";
    hdr[1].value = "amrouter.example";
    req.headers = hdr;
    req.n_headers = 2;
    req.n_params = 1;
    if (web) {
        req.path = "/ui/ack/42";
        req.params[0] = "42";
    } else {
        snprintf(req.param_store, sizeof(req.param_store), "%s", token);
        req.path = "/ack/";
        req.params[0] = req.param_store;
    }
    resolved = (mode & 8) != 0;
    acks = 0;
    if (web)
        api_h_web_ack(&a, &req, &resp);
    else
        api_h_ack_post(&a, &req, &resp);

    /* A foreign Origin is refused before anything else; without the csrf field a
     * form is refused (403), or found unreadable (400: a NUL byte, too many fields). */
    if (foreign)
        FUZZ_CHECK(acks == 0 && resp.status == 403);
    if (!(mode & 1) && strstr(body, "csrf") == NULL)
        FUZZ_CHECK(acks == 0 && (resp.status == 403 || resp.status == 400));
    if (web)
        FUZZ_CHECK(resp.status == 303 || resp.status == 400 || resp.status == 403 ||
                   resp.status == 409);
    else
        FUZZ_CHECK(resp.status == 200 || resp.status == 400 || resp.status == 403);
    if (acks > 0 && !web)
        FUZZ_CHECK(resp.status == 200);
    free(resp.body);
    free(body);
    return 0;
}
