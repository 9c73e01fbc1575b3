/*
 * test_codec_alert.c - codec_encode_alert writes the alert row's JSON by hand
 * (it runs for every stored alert on the engine thread): its text must be
 * byte for byte what jansson makes of codec_alert_to_json, it must decode back
 * to the same alert, and what jansson refuses (a string that is not UTF-8)
 * must stay refused.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_text_as_jansson),
        cmocka_unit_test(test_invalid_utf8_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
