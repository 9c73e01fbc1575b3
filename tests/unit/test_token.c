/*
 * test_token.c - ack-link tokens (round trip, expiry, every flipped byte is
 * refused, wrong secret told apart from tampering, malformed input), the CSRF
 * field, and Twilio's signature against the example in Twilio's documentation.
 */
#include "core/token.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const uint8_t KEY[] = "0123456789abcdef0123456789abcdef";
static const uint8_t OTHER[] = "another secret of the same length";
#define T0 1700000000000LL

static void test_round_trip(void **state)
{
    char tok[TOKEN_MAX];
    uint64_t id = 0;
    int64_t exp = 0;

    (void)state;
    assert_int_equal(token_sign(KEY, 32, 42, T0 + 1000, tok), 0);
    assert_int_equal(strlen(tok), 50);
    for (const char *p = tok; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    assert_int_equal(token_verify(KEY, 32, tok, T0, &id, &exp), TOKEN_OK);
    assert_int_equal(id, 42);
    assert_int_equal(exp, T0 + 1000);
    /* Expiry: authentic but late, still says which incident. */
    id = 0;
    assert_int_equal(token_verify(KEY, 32, tok, T0 + 1000, &id, NULL), TOKEN_EXPIRED);
    assert_int_equal(id, 42);
    assert_int_equal(token_verify(KEY, 32, tok, T0 + 999, NULL, NULL), TOKEN_OK);
    /* Deterministic: same input, same token; another id, another token. */
    {
        char a[TOKEN_MAX], b[TOKEN_MAX];
        assert_int_equal(token_sign(KEY, 32, 42, T0 + 1000, a), 0);
        assert_int_equal(token_sign(KEY, 32, 43, T0 + 1000, b), 0);
        assert_string_equal(a, tok);
        assert_string_not_equal(a, b);
    }
    assert_int_equal(token_sign(KEY, 0, 1, T0, tok), -1);
}

static void test_tampered_and_wrong_secret(void **state)
{
    char tok[TOKEN_MAX], bad[TOKEN_MAX];
    uint64_t id = 7;

    (void)state;
    assert_int_equal(token_sign(KEY, 32, 42, T0 + 1000, tok), 0);
    /* Change every character in turn: never accepted, never an id. */
    for (size_t i = 0; i < strlen(tok); i++) {
        enum token_status st;
        memcpy(bad, tok, sizeof(bad));
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        st = token_verify(KEY, 32, bad, T0, &id, NULL);
        assert_int_not_equal(st, TOKEN_OK);
        assert_int_not_equal(st, TOKEN_EXPIRED);
        assert_int_equal(id, 7);
    }
    /* The incident id part (characters 7..17) altered: tampered. */
    memcpy(bad, tok, sizeof(bad));
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    assert_int_equal(token_verify(KEY, 32, bad, T0, NULL, NULL), TOKEN_TAMPERED);
    /* Another server's secret: told apart. */
    assert_int_equal(token_verify(OTHER, 32, tok, T0, NULL, NULL), TOKEN_WRONG_SECRET);
    assert_int_equal(token_verify(KEY, 31, tok, T0, NULL, NULL), TOKEN_WRONG_SECRET);
    assert_non_null(strstr(token_status_message(TOKEN_EXPIRED), "expired"));
    assert_non_null(strstr(token_status_message(TOKEN_TAMPERED), "altered"));
    assert_string_equal(token_status_name(TOKEN_WRONG_SECRET), "wrong_secret");
}

static void test_malformed(void **state)
{
    char tok[TOKEN_MAX], bad[TOKEN_MAX + 8];

    (void)state;
    assert_int_equal(token_sign(KEY, 32, 42, T0 + 1000, tok), 0);
    assert_int_equal(token_verify(KEY, 32, "", T0, NULL, NULL), TOKEN_MALFORMED);
    assert_int_equal(token_verify(KEY, 32, NULL, T0, NULL, NULL), TOKEN_MALFORMED);
    assert_int_equal(token_verify(KEY, 32, "not a token", T0, NULL, NULL), TOKEN_MALFORMED);
    /* Cut off (mail clients wrap long links). */
    memcpy(bad, tok, sizeof(tok));
    bad[40] = '\0';
    assert_int_equal(token_verify(KEY, 32, bad, T0, NULL, NULL), TOKEN_MALFORMED);
    /* One character too many, a standard-base64 character, padding. */
    snprintf(bad, sizeof(bad), "%sA", tok);
    assert_int_equal(token_verify(KEY, 32, bad, T0, NULL, NULL), TOKEN_MALFORMED);
    memcpy(bad, tok, sizeof(tok));
    bad[5] = '+';
    assert_int_equal(token_verify(KEY, 32, bad, T0, NULL, NULL), TOKEN_MALFORMED);
    memcpy(bad, tok, sizeof(tok));
    bad[49] = '=';
    assert_int_equal(token_verify(KEY, 32, bad, T0, NULL, NULL), TOKEN_MALFORMED);
    /* Unknown version byte (first character encodes its top bits). */
    memcpy(bad, tok, sizeof(tok));
    bad[0] = 'B';
    assert_int_equal(token_verify(KEY, 32, bad, T0, NULL, NULL), TOKEN_MALFORMED);
}

static void test_csrf(void **state)
{
    char tok[TOKEN_MAX], tok2[TOKEN_MAX], csrf[TOKEN_MAX], csrf2[TOKEN_MAX];

    (void)state;
    assert_int_equal(token_sign(KEY, 32, 42, T0 + 1000, tok), 0);
    assert_int_equal(token_sign(KEY, 32, 43, T0 + 1000, tok2), 0);
    assert_int_equal(token_csrf(KEY, 32, tok, csrf), 0);
    assert_int_equal(token_csrf(KEY, 32, tok2, csrf2), 0);
    assert_true(strlen(csrf) >= 20);
    assert_true(token_csrf_ok(KEY, 32, tok, csrf));
    /* Bound to its token and to the secret. */
    assert_false(token_csrf_ok(KEY, 32, tok2, csrf));
    assert_false(token_csrf_ok(OTHER, 32, tok, csrf));
    assert_false(token_csrf_ok(KEY, 32, tok, ""));
    assert_false(token_csrf_ok(KEY, 32, tok, NULL));
    csrf[3] ^= 1;
    assert_false(token_csrf_ok(KEY, 32, tok, csrf));
    assert_true(token_streq("abc", "abc"));
    assert_false(token_streq("abc", "abd"));
    assert_false(token_streq("abc", "ab"));
    assert_false(token_streq(NULL, "ab"));
}

static void test_twilio_signature(void **state)
{
    /* The example of Twilio's security documentation. */
    struct token_param p[] = {
        {"To", "+18005551212"},     {"From", "+12349013030"},         {"Digits", "1234"},
        {"Caller", "+12349013030"}, {"CallSid", "CA1234567890ABCDE"},
    };
    const char *url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    char *sig;

    (void)state;
    sig = token_twilio_signature("12345", url, p, 5);
    assert_non_null(sig);
    assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    free(sig);
    assert_true(token_twilio_ok("12345", url, p, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(token_twilio_ok("12346", url, p, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(token_twilio_ok("12345", "https://mycompany.com/myapp.php", p, 5,
                                 "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    p[2].value = "1235";
    assert_false(token_twilio_ok("12345", url, p, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(token_twilio_ok("12345", url, p, 5, NULL));
}

static void test_generate_secret(void **state)
{
    uint8_t a[TOKEN_SECRET_LEN], b[TOKEN_SECRET_LEN];

    (void)state;
    assert_int_equal(token_generate_secret(a), 0);
    assert_int_equal(token_generate_secret(b), 0);
    assert_memory_not_equal(a, b, TOKEN_SECRET_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_tampered_and_wrong_secret),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_twilio_signature), cmocka_unit_test(test_generate_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
