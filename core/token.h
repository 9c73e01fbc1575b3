/*
 * token.h - signed ack-link tokens, the ack page's CSRF field, and Twilio's
 * request signature: the HMACs amrouter checks on links and webhooks.
 *
 * An ack token names one incident until an expiry time, signed with the
 * server's secret (ack.secret / ack.secret_file, else generated once and kept
 * in SQLite). Layout before base64url (no padding, 50 characters):
 *
 *   version (1 byte, 1) | key id (4) | incident id (8, big endian)
 *   | expires_at ms (8, big endian) | HMAC-SHA256 truncated to 16 bytes
 *
 * The HMAC covers "amrouter-ack\0" and every byte before it. The key id is the
 * first 4 bytes of SHA-256("amrouter-key\0" || secret), so a link signed with
 * another secret (another server, a rotated key) is told apart from a tampered
 * one. Verification checks the MAC in constant time before trusting anything
 * else in the token, then the expiry.
 *
 * Nothing here reads a clock: `now` is an argument. Secrets are never logged
 * and never part of an error message.
 */
#ifndef AMR_TOKEN_H
#define AMR_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Buffer size for a token or a CSRF field, NUL included. */
#define TOKEN_MAX 64
/* Bytes of a generated secret. */
#define TOKEN_SECRET_LEN 32

enum token_status {
    TOKEN_OK = 0,
    TOKEN_MALFORMED,    /* not base64url, wrong length or unknown version */
    TOKEN_TAMPERED,     /* signed with this server's key id but the MAC does not match */
    TOKEN_WRONG_SECRET, /* signed with another secret */
    TOKEN_EXPIRED,      /* authentic, but past its expiry */
};

/* A sentence for the 403 page, e.g. "This link has expired." */
const char *token_status_message(enum token_status st);
/* "ok", "malformed", "tampered", "wrong_secret", "expired" (logs, metrics). */
const char *token_status_name(enum token_status st);

/* Writes the token for (incident_id, expires_at) into out (TOKEN_MAX bytes).
 * -1 when the secret is empty or HMAC fails. */
int token_sign(const uint8_t *secret, size_t secret_len, uint64_t incident_id, int64_t expires_at,
               char out[TOKEN_MAX]);

/* Checks token at now. On TOKEN_OK and TOKEN_EXPIRED fills *incident_id and
 * *expires_at (either may be NULL); otherwise leaves them alone. */
enum token_status token_verify(const uint8_t *secret, size_t secret_len, const char *token,
                               int64_t now, uint64_t *incident_id, int64_t *expires_at);

/* The ack page's hidden CSRF field for a token: base64url(HMAC-SHA256(secret,
 * "amrouter-csrf\0" || token)) cut to 16 bytes. Only a page this server rendered
 * for that very token carries it. -1 on failure. */
int token_csrf(const uint8_t *secret, size_t secret_len, const char *token, char out[TOKEN_MAX]);
/* Constant-time check of a submitted CSRF field. */
bool token_csrf_ok(const uint8_t *secret, size_t secret_len, const char *token, const char *csrf);

/* Fills out with TOKEN_SECRET_LEN random bytes (OpenSSL's RAND_bytes). -1 on failure. */
int token_generate_secret(uint8_t out[TOKEN_SECRET_LEN]);

/* One form parameter of a Twilio request. */
struct token_param {
    const char *name;
    const char *value;
};

/*
 * Twilio's X-Twilio-Signature for a POST: base64 (standard alphabet, padded) of
 * HMAC-SHA1(auth_token, url || name1 || value1 || name2 || value2 ...) with the
 * form parameters sorted by name (byte order; equal names by value). url is the
 * full URL Twilio called, query string included. params is sorted in place.
 * Returns a malloc'd string, NULL on OOM.
 */
char *token_twilio_signature(const char *auth_token, const char *url, struct token_param *params,
                             size_t n);
/* True when sig equals the expected signature (constant-time compare). */
bool token_twilio_ok(const char *auth_token, const char *url, struct token_param *params, size_t n,
                     const char *sig);

/* Constant-time equality of two NUL-terminated strings (length may leak). */
bool token_streq(const char *a, const char *b);

#endif
