/*
 * fuzz_token.c - ack-link token verification and Twilio signatures (core/token.h).
 * The input is tried as a token against a fixed secret (a forged token must never
 * verify: only the one token_sign() makes for the decoded fields does), then
 * split at NUL bytes into an auth token, a URL and form parameters whose Twilio
 * signature must verify against itself and not against a changed one.
 */
#include "tests/fuzz/fuzz.h"

#include "core/token.h"

static const uint8_t secret[] = "fuzz-secret-0123456789abcdef0123";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    uint64_t id = 0;
    int64_t exp = 0;
    enum token_status st;
    char csrf[TOKEN_MAX];
    const char *parts[9];
    size_t nparts = 0;
    struct token_param params[4];
    size_t np = 0;
    char *sig = NULL;

    st = token_verify(secret, sizeof(secret) - 1, s, INT64_C(1767225600000), &id, &exp);
    FUZZ_CHECK(token_status_name(st) != NULL && token_status_message(st) != NULL);
    if (st == TOKEN_OK || st == TOKEN_EXPIRED) {
        char again[TOKEN_MAX];

        /* An authentic token is exactly what signing its fields gives. */
        FUZZ_CHECK(token_sign(secret, sizeof(secret) - 1, id, exp, again) == 0);
        FUZZ_CHECK(strcmp(again, s) == 0);
    }
    if (token_csrf(secret, sizeof(secret) - 1, s, csrf) == 0) {
        FUZZ_CHECK(token_csrf_ok(secret, sizeof(secret) - 1, s, csrf));
        FUZZ_CHECK(!token_csrf_ok(secret, sizeof(secret) - 1, s, s) || strcmp(s, csrf) == 0);
    }
    (void)token_streq(s, "abc");

    /* NUL-separated: auth token, url, name, value, name, value ... */
    {
        size_t off = 0;
        while (off <= size && nparts < 9) {
            const uint8_t *z = memchr(data + off, 0, size - off);
            size_t len = z ? (size_t)(z - (data + off)) : size - off;
            parts[nparts++] = s + off; /* s has NUL where data has them, so this is a C string */
            off += len + 1;
            if (z == NULL)
                break;
        }
    }
    if (nparts >= 2) {
        for (size_t i = 2; i + 1 < nparts && np < 4; i += 2)
            params[np++] = (struct token_param){parts[i], parts[i + 1]};
        sig = token_twilio_signature(parts[0], parts[1], params, np);
        if (sig != NULL) {
            FUZZ_CHECK(token_twilio_ok(parts[0], parts[1], params, np, sig));
            sig[0] = sig[0] == 'A' ? 'B' : 'A';
            FUZZ_CHECK(!token_twilio_ok(parts[0], parts[1], params, np, sig));
            free(sig);
        }
    }
    free(s);
    return 0;
}
