/*
 * token.c - ack-link tokens, CSRF fields and Twilio signatures (see token.h
 * for the layouts). HMACs come from OpenSSL's libcrypto; comparisons of MACs
 * use CRYPTO_memcmp so their time does not depend on where they differ.
 */
#include "core/token.h"

#include "core/buf.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdlib.h>
#include <string.h>

#define TOKEN_VERSION 1
#define KID_LEN       4
#define MAC_LEN       16
#define RAW_LEN       (1 + KID_LEN + 8 + 8 + MAC_LEN)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding; out must hold 4 * ceil(n / 3) + 1 bytes. */
static void b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t left = n - i;
        if (left > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (left > 2)
            v |= in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (left > 1)
            out[o++] = b64url[(v >> 6) & 63];
        if (left > 2)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

static int b64url_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes exactly want bytes from s (unpadded base64url); -1 otherwise. */
static int b64url_decode(const char *s, uint8_t *out, size_t want)
{
    size_t len = strlen(s), o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (len != (want * 4 + 2) / 3)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_val(s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == want)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, so every token has one spelling. */
    if (o != want || (acc & ((1u << bits) - 1)) != 0)
        return -1;
    return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* HMAC-SHA256(secret, label || NUL || data) into mac (32 bytes). */
static int hmac256(const uint8_t *secret, size_t secret_len, const char *label, const uint8_t *data,
                   size_t n, uint8_t mac[32])
{
    size_t ll = strlen(label) + 1;
    unsigned char *msg;
    unsigned int len = 0;
    bool ok;

    if (secret == NULL || secret_len == 0 || secret_len > (size_t)1 << 20 || n > (size_t)1 << 20)
        return -1;
    msg = malloc(ll + n + 1);
    if (msg == NULL)
        return -1;
    memcpy(msg, label, ll);
    if (n > 0)
        memcpy(msg + ll, data, n);
    ok = HMAC(EVP_sha256(), secret, (int)secret_len, msg, ll + n, mac, &len) != NULL && len == 32;
    free(msg);
    return ok ? 0 : -1;
}

static void key_id(const uint8_t *secret, size_t secret_len, uint8_t kid[KID_LEN])
{
    static const char label[] = "amrouter-key";
    uint8_t d[SHA256_DIGEST_LENGTH];
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    memset(d, 0, sizeof(d));
    if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(c, label, sizeof(label)) == 1 &&
        EVP_DigestUpdate(c, secret, secret_len) == 1)
        (void)EVP_DigestFinal_ex(c, d, NULL);
    EVP_MD_CTX_free(c);
    memcpy(kid, d, KID_LEN);
}

const char *token_status_message(enum token_status st)
{
    switch (st) {
    case TOKEN_OK:
        return "The link is valid.";
    case TOKEN_MALFORMED:
        return "This link is malformed: it was cut off or mistyped. Open it again from the "
               "notification.";
    case TOKEN_TAMPERED:
        return "This link's signature does not match: it was altered.";
    case TOKEN_WRONG_SECRET:
        return "This link was signed by another amrouter (or before its ack secret changed).";
    case TOKEN_EXPIRED:
        return "This link has expired. Acknowledge with amctl or the API instead.";
    }
    return "This link is not valid.";
}

const char *token_status_name(enum token_status st)
{
    switch (st) {
    case TOKEN_OK:
        return "ok";
    case TOKEN_MALFORMED:
        return "malformed";
    case TOKEN_TAMPERED:
        return "tampered";
    case TOKEN_WRONG_SECRET:
        return "wrong_secret";
    case TOKEN_EXPIRED:
        return "expired";
    }
    return "invalid";
}

int token_sign(const uint8_t *secret, size_t secret_len, uint64_t incident_id, int64_t expires_at,
               char out[TOKEN_MAX])
{
    uint8_t raw[RAW_LEN], mac[32];

    out[0] = '\0';
    raw[0] = TOKEN_VERSION;
    key_id(secret, secret_len, raw + 1);
    put64(raw + 1 + KID_LEN, incident_id);
    put64(raw + 1 + KID_LEN + 8, (uint64_t)expires_at);
    if (hmac256(secret, secret_len, "amrouter-ack", raw, RAW_LEN - MAC_LEN, mac) < 0)
        return -1;
    memcpy(raw + RAW_LEN - MAC_LEN, mac, MAC_LEN);
    b64url_encode(raw, RAW_LEN, out);
    return 0;
}

enum token_status token_verify(const uint8_t *secret, size_t secret_len, const char *token,
                               int64_t now, uint64_t *incident_id, int64_t *expires_at)
{
    uint8_t raw[RAW_LEN], mac[32], kid[KID_LEN];
    int64_t exp;

    if (token == NULL || strlen(token) >= TOKEN_MAX || b64url_decode(token, raw, RAW_LEN) < 0 ||
        raw[0] != TOKEN_VERSION)
        return TOKEN_MALFORMED;
    if (hmac256(secret, secret_len, "amrouter-ack", raw, RAW_LEN - MAC_LEN, mac) < 0)
        return TOKEN_WRONG_SECRET;
    if (CRYPTO_memcmp(mac, raw + RAW_LEN - MAC_LEN, MAC_LEN) != 0) {
        key_id(secret, secret_len, kid);
        return CRYPTO_memcmp(kid, raw + 1, KID_LEN) == 0 ? TOKEN_TAMPERED : TOKEN_WRONG_SECRET;
    }
    exp = (int64_t)get64(raw + 1 + KID_LEN + 8);
    if (incident_id != NULL)
        *incident_id = get64(raw + 1 + KID_LEN);
    if (expires_at != NULL)
        *expires_at = exp;
    return now >= exp ? TOKEN_EXPIRED : TOKEN_OK;
}

int token_csrf(const uint8_t *secret, size_t secret_len, const char *token, char out[TOKEN_MAX])
{
    uint8_t mac[32];

    out[0] = '\0';
    if (token == NULL || hmac256(secret, secret_len, "amrouter-csrf", (const uint8_t *)token,
                                 strlen(token), mac) < 0)
        return -1;
    b64url_encode(mac, MAC_LEN, out);
    return 0;
}

bool token_csrf_ok(const uint8_t *secret, size_t secret_len, const char *token, const char *csrf)
{
    char want[TOKEN_MAX];

    if (csrf == NULL || token_csrf(secret, secret_len, token, want) < 0)
        return false;
    return token_streq(want, csrf);
}

int token_generate_secret(uint8_t out[TOKEN_SECRET_LEN])
{
    return RAND_bytes(out, TOKEN_SECRET_LEN) == 1 ? 0 : -1;
}

bool token_streq(const char *a, const char *b)
{
    size_t la, lb;

    if (a == NULL || b == NULL)
        return false;
    la = strlen(a);
    lb = strlen(b);
    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}

/* ------------------------------------------------------------------ Twilio */

static int cmp_param(const void *pa, const void *pb)
{
    const struct token_param *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);

    return c != 0 ? c : strcmp(a->value, b->value);
}

char *token_twilio_signature(const char *auth_token, const char *url, struct token_param *params,
                             size_t n)
{
    struct buf data;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char *out = NULL;

    if (auth_token == NULL || url == NULL)
        return NULL;
    buf_init(&data, (size_t)16 << 20);
    if (n > 0)
        qsort(params, n, sizeof(*params), cmp_param);
    if (buf_appends(&data, url) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (buf_appends(&data, params[i].name) < 0 ||
            buf_appends(&data, params[i].value != NULL ? params[i].value : "") < 0)
            goto out;
    }
    if (HMAC(EVP_sha1(), auth_token, (int)strlen(auth_token), (const unsigned char *)buf_str(&data),
             data.len, mac, &len) == NULL)
        goto out;
    out = malloc(4 * ((len + 2) / 3) + 1);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, mac, (int)len);
out:
    buf_release(&data);
    return out;
}

bool token_twilio_ok(const char *auth_token, const char *url, struct token_param *params, size_t n,
                     const char *sig)
{
    char *want = token_twilio_signature(auth_token, url, params, n);
    bool ok = want != NULL && token_streq(want, sig);

    free(want);
    return ok;
}
