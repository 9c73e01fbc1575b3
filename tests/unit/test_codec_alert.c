/*
 * test_codec_alert.c - codec_encode_alert writes the alert row's JSON by hand
 * (it runs for every stored alert on the engine thread): its text must be
 * byte for byte what jansson makes of codec_alert_to_json, it must decode back
 * to the same alert, and what jansson refuses (a string that is not UTF-8)
 * must stay refused. codec_decode_alert reads that exact format without
 * jansson (start-up loads every alert row) and falls back to jansson for any
 * other text: both must give the same alert, and bad rows the same errors.
 */
#include "core/alert.h"
#include "core/error.h"
#include "core/labels.h"
#include "storage/codec.h"

#include <jansson.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static char *reference(const struct alert *a)
{
    json_t *o = codec_alert_to_json(a);
    char *s;

    if (o == NULL)
        return NULL;
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void check_same(const struct alert *a)
{
    char *fast = codec_encode_alert(a);
    char *ref = reference(a);
    struct alert back;
    struct error err = {{0}};

    assert_non_null(fast);
    assert_non_null(ref);
    assert_string_equal(fast, ref);
    alert_init(&back);
    if (codec_decode_alert(fast, &back, &err) < 0)
        fail_msg("decode: %s", err.msg);
    assert_true(labels_equal(&back.labels, &a->labels));
    assert_true(labels_equal(&back.annotations, &a->annotations));
    assert_true(back.starts_at == a->starts_at && back.ends_at == a->ends_at);
    assert_true(back.updated_at == a->updated_at);
    assert_int_equal(back.timeout, a->timeout);
    assert_int_equal(back.fingerprint, a->fingerprint);
    alert_release(&back);
    free(fast);
    free(ref);
}

static void test_same_text_as_jansson(void **state)
{
    struct alert a;
    char ctl[40];

    (void)state;
    alert_init(&a);
    assert_int_equal(labels_set(&a.labels, "alertname", "Bench1"), 0);
    assert_int_equal(labels_set(&a.labels, "instance", "host-000001:9100"), 0);
    assert_int_equal(labels_set(&a.labels, "zz", ""), 0);
    assert_int_equal(labels_set(&a.annotations, "summary", "q\"uo\\te / tab\there\nnl\r\b\f"), 0);
    assert_int_equal(labels_set(&a.annotations, "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5 ok"),
                     0);
    for (int i = 1; i < 32; i++)
        ctl[i - 1] = (char)i;
    ctl[31] = 0x7f;
    ctl[32] = '\0';
    assert_int_equal(labels_set(&a.annotations, "ctl", ctl), 0);
    a.starts_at = 1700000000123LL;
    a.ends_at = -1;
    a.updated_at = INT64_MAX;
    a.timeout = true;
    assert_int_equal(alert_set_generator_url(&a, "http://prom/graph?g0.expr=up%7B%7D&x=\"y\""), 0);
    alert_update_fingerprint(&a);
    check_same(&a);

    /* No generator URL, no annotations, timeout false, times at zero. */
    free(a.generator_url);
    a.generator_url = NULL;
    labels_release(&a.annotations);
    a.starts_at = a.ends_at = a.updated_at = 0;
    a.timeout = false;
    check_same(&a);

    /* Escapes that take the text well past its unescaped size (the encoder
     * reserves that size up front and must still grow). */
    {
        char big[3001];

        for (size_t i = 0; i < sizeof(big) - 1; i++)
            big[i] = i % 3 == 0 ? '"' : i % 3 == 1 ? '\x01' : '\\';
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(labels_set(&a.annotations, "escapes", big), 0);
        check_same(&a);
    }
    alert_release(&a);
}

/* Not UTF-8 (bad lead byte, truncated sequence, surrogate, overlong): jansson
 * refuses it, so the encoder does too (the commit fails; nothing half-written). */
static void test_invalid_utf8_refused(void **state)
{
    static const char *const bad[] = {"\xff",         "a\xc3",    "\xed\xa0\x80",
                                      "\xe0\x80\xaf", "\xc0\xaf", "\xf4\x90\x80\x80"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct alert a;
        char *s;

        alert_init(&a);
        assert_int_equal(labels_set(&a.labels, "alertname", "A"), 0);
        assert_int_equal(labels_set(&a.annotations, "x", bad[i]), 0);
        alert_update_fingerprint(&a);
        s = codec_encode_alert(&a);
        if (s != NULL)
            fail_msg("case %zu encoded as %s", i, s);
        assert_null(reference(&a));
        alert_release(&a);
    }
}

static void check_decodes_like(const char *text, const char *name)
{
    struct alert a, b;
    struct error err = {{0}};
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);

    assert_non_null(o);
    alert_init(&a);
    alert_init(&b);
    if (codec_decode_alert(text, &a, &err) < 0)
        fail_msg("decode %s: %s", text, err.msg);
    assert_int_equal(codec_alert_from_json(o, &b, &err), 0);
    json_decref(o);
    assert_true(labels_equal(&a.labels, &b.labels));
    assert_true(labels_equal(&a.annotations, &b.annotations));
    assert_true(a.starts_at == b.starts_at && a.ends_at == b.ends_at);
    assert_true(a.updated_at == b.updated_at);
    assert_int_equal(a.timeout, b.timeout);
    assert_int_equal(a.fingerprint, b.fingerprint);
    assert_true((a.generator_url == NULL) == (b.generator_url == NULL));
    if (a.generator_url != NULL)
        assert_string_equal(a.generator_url, b.generator_url);
    assert_string_equal(labels_get(&a.labels, "alertname"), name);
    alert_release(&a);
    alert_release(&b);
}

static void test_decode_fast_and_fallback(void **state)
{
    static const char *const rows[] = {
        /* What the encoder writes (the fast path). */
        "{\"labels\":{\"alertname\":\"A\",\"instance\":\"h:9100\"},\"annotations\":{\"s\":"
        "\"\xc3\xa9\"},\"startsAt\":1700000000123,\"endsAt\":-1,\"updatedAt\":"
        "9223372036854775807,\"timeout\":true,\"generatorURL\":\"http://x/?a=1\"}",
        "{\"labels\":{\"alertname\":\"A\"},\"annotations\":{},\"startsAt\":0,\"endsAt\":0,"
        "\"updatedAt\":0,\"timeout\":false}",
        /* Escapes, spaces, another key order, a missing key: jansson. */
        "{\"labels\":{\"alertname\":\"A\",\"q\":\"a\\\"b\\u00e9\\n\"},\"annotations\":{},"
        "\"startsAt\":1,\"endsAt\":2,\"updatedAt\":3,\"timeout\":false}",
        "{ \"labels\": {\"alertname\": \"A\"}, \"annotations\": {}, \"startsAt\": 1, \"endsAt\": 2,"
        " \"updatedAt\": 3, \"timeout\": true }",
        "{\"annotations\":{},\"labels\":{\"alertname\":\"A\"},\"endsAt\":2,\"startsAt\":1,"
        "\"updatedAt\":3,\"generatorURL\":null}",
        "{\"labels\":{\"alertname\":\"A\"},\"annotations\":{},\"startsAt\":1.5e3,\"endsAt\":2,"
        "\"updatedAt\":3,\"timeout\":false}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (i == 5) {
            /* A float time is corruption: the same error as before. */
            struct alert a;
            struct error err = {{0}};

            alert_init(&a);
            assert_int_equal(codec_decode_alert(rows[i], &a, &err), -1);
            assert_non_null(strstr(err.msg, "startsAt: must be an integer"));
            continue;
        }
        check_decodes_like(rows[i], "A");
    }
}

/* Rows that are not what the encoder writes and not valid either keep their
 * errors: bad label names, non-UTF-8, truncated text. */
static void test_decode_bad_rows(void **state)
{
    static const char *const rows[] = {
        "{\"labels\":{\"bad-name\":\"A\"},\"annotations\":{},\"startsAt\":0,\"endsAt\":0,"
        "\"updatedAt\":0,\"timeout\":false}",
        "{\"labels\":{\"alertname\":\"\xff\"},\"annotations\":{},\"startsAt\":0,\"endsAt\":0,"
        "\"updatedAt\":0,\"timeout\":false}",
        "{\"labels\":{\"alertname\":\"A\"},\"annotations\":{},\"startsAt\":0,\"endsAt\":0,"
        "\"updatedAt\":0,\"timeout\":false",
        "{\"labels\":{\"alertname\":\"A\"},\"annotations\":{},\"startsAt\":0,\"endsAt\":0,"
        "\"updatedAt\":0,\"timeout\":false}x",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct alert a;
        struct error err = {{0}};

        alert_init(&a);
        if (codec_decode_alert(rows[i], &a, &err) == 0)
            fail_msg("row %zu decoded", i);
        assert_true(err.msg[0] != '\0');
        assert_int_equal(a.labels.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_text_as_jansson),
        cmocka_unit_test(test_invalid_utf8_refused),
        cmocka_unit_test(test_decode_fast_and_fallback),
        cmocka_unit_test(test_decode_bad_rows),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
