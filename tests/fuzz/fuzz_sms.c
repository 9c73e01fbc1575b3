/*
 * fuzz_sms.c - the Twilio inbound SMS endpoint (POST /api/v2/sms/inbound,
 * api_h_sms_inbound in api/incidents.c): the form body parser, the
 * X-Twilio-Signature check and the "ACK 42" command parser, through the real
 * handler with a fake engine. The input is the form body. When its first byte
 * is odd the target signs the body itself (parsing the form as Twilio's docs
 * say, which is how the handler must parse it), so the signed path and the ACK
 * parser are reached; otherwise the signature is a wrong one and the handler
 * must answer 403 without calling the engine. The engine's sms_ack must only
 * ever be called with a non-zero incident id, and only for a signed request.
 */
#include "tests/fuzz/fuzz.h"

#include "api/api.h"
#include "api/server.h"
#include "core/log.h"
#include "core/token.h"

#include <stdbool.h>

#define AUTH          "fuzz-twilio-auth-token"
#define FUZZ_FORM_MAX 64

static int acks;

static char *fake_auth(struct engine *e, const char *sid)
{
    (void)e;
    (void)sid;
    return strdup(AUTH);
}

static int fake_sms_ack(struct engine *e, uint64_t id, const char *from, int *result,
                        struct error *err)
{
    (void)e;
    (void)err;
    FUZZ_CHECK(id != 0 && from != NULL);
    acks++;
    *result = (int)(id % 4);
    return 0;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void decode(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%' && hexv(s[1]) >= 0 && hexv(s[2]) >= 0) {
            *o++ = (char)(hexv(s[1]) * 16 + hexv(s[2]));
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* The signature Twilio would send for this body, or NULL. */
static char *sign(const char *body, const char *url)
{
    char *copy = strdup(body);
    struct token_param v[FUZZ_FORM_MAX];
    size_t n = 0;
    char *sig = NULL, *p = copy, *save = NULL, *tok;

    if (copy == NULL)
        return NULL;
    for (tok = strtok_r(p, "&", &save); tok != NULL; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');

        if (n == FUZZ_FORM_MAX)
            goto out;
        if (eq != NULL)
            *eq++ = '\0';
        decode(tok);
        if (eq != NULL)
            decode(eq);
        v[n].name = tok;
        v[n].value = eq != NULL ? eq : "";
        n++;
    }
    sig = token_twilio_signature(AUTH, url, v, n);
out:
    free(copy);
    return sig;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct api_engine_ops ops;
    static int init;
    struct api a;
    struct http_request req;
    struct http_response resp;
    struct http_param hdr[1];
    char *body = fuzz_strndup(data, size);
    char *sig = NULL;
    bool signed_req = size > 0 && (data[0] & 1) && memchr(data, 0, size) == NULL;

    if (!init) {
        log_init(LOG_ERROR, LOG_FORMAT_LOGFMT);
        ops.twilio_auth_token = fake_auth;
        ops.sms_ack = fake_sms_ack;
        init = 1;
    }
    memset(&a, 0, sizeof(a));
    a.ops = &ops;
    a.external_url = "https://amrouter.example";
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method = "POST";
    req.path = "/api/v2/sms/inbound";
    req.body = body;
    req.body_len = size;
    if (signed_req)
        sig = sign(body, "https://amrouter.example/api/v2/sms/inbound");
    hdr[0].key = "X-Twilio-Signature";
    hdr[0].value = sig != NULL ? sig : "bm90IGEgc2lnbmF0dXJl";
    req.headers = hdr;
    req.n_headers = 1;
    acks = 0;
    api_h_sms_inbound(&a, &req, &resp);
    if (sig == NULL)
        FUZZ_CHECK(acks == 0 && (resp.status == 403 || resp.status == 400));
    else
        FUZZ_CHECK(resp.status == 200 || resp.status == 400);
    free(resp.body);
    free(sig);
    free(body);
    return 0;
}
