/*
 * test_jsonutil.c - label sets and times to and from JSON, with the exact
 * error messages the API returns.
 */
#include "core/error.h"
#include "core/jsonutil.h"
#include "core/labels.h"
#include "core/timefmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static json_t *parse(const char *s)
{
    json_error_t jerr;
    json_t *v = json_loads(s, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);

    if (v == NULL)
        fail_msg("bad test JSON %s: %s", s, jerr.text);
    return v;
}

static void check_labels_err(const char *js, const char *want)
{
    struct labels ls = LABELS_INIT;
    struct error err;
    json_t *v = parse(js);

    assert_int_equal(labels_set(&ls, "keep", "me"), 0);
    assert_int_equal(labels_from_json(&ls, v, "alerts[3].labels", &err), -1);
    assert_string_equal(err.msg, want);
    /* The caller's set is untouched on failure. */
    assert_int_equal(ls.n, 1);
    assert_string_equal(labels_get(&ls, "keep"), "me");
    labels_release(&ls);
    json_decref(v);
}

static void test_labels_roundtrip(void **state)
{
    struct labels ls = LABELS_INIT;
    struct error err;
    json_t *v = parse("{\"b\":\"2\",\"a\":\"1\",\"empty\":\"\",\"u\":\"h\\u00e9 \\ud834\\udd1e\"}");
    char *out;

    (void)state;
    assert_int_equal(labels_from_json(&ls, v, "labels", &err), 0);
    assert_int_equal(ls.n, 3); /* empty value dropped */
    assert_string_equal(labels_get(&ls, "u"), "hé 𝄞");
    json_decref(v);
    v = labels_to_json(&ls);
    out = json_dumps(v, JSON_COMPACT);
    assert_string_equal(out, "{\"a\":\"1\",\"b\":\"2\",\"u\":\"hé 𝄞\"}");
    free(out);
    json_decref(v);
    labels_release(&ls);
}

static void test_labels_errors(void **state)
{
    (void)state;
    check_labels_err("[]", "alerts[3].labels: must be an object of strings");
    check_labels_err("\"x\"", "alerts[3].labels: must be an object of strings");
    check_labels_err("{\"a\":1}", "alerts[3].labels: must be an object of strings");
    check_labels_err("{\"a\":null}", "alerts[3].labels: must be an object of strings");
    check_labels_err("{\"1x\":\"v\"}", "alerts[3].labels: invalid label name \"1x\"");
    check_labels_err("{\"a-b\":\"v\"}", "alerts[3].labels: invalid label name \"a-b\"");
    check_labels_err("{\"\":\"v\"}", "alerts[3].labels: invalid label name \"\"");
    check_labels_err("{\"a\":\"x\\u0000y\"}",
                     "alerts[3].labels.a: label value contains a NUL byte");
}

static void test_labels_bad_utf8(void **state)
{
    struct labels ls = LABELS_INIT;
    struct error err;
    /* jansson refuses invalid UTF-8 when parsing, but a program can build it. */
    json_t *v = json_object();

    (void)state;
    json_object_set_new(v, "a", json_stringn_nocheck("\xff", 1));
    assert_int_equal(labels_from_json(&ls, v, "alerts[0].labels", &err), -1);
    assert_string_equal(err.msg, "alerts[0].labels.a: label value is not valid UTF-8");
    json_decref(v);
    assert_int_equal(labels_from_json(&ls, NULL, "x", &err), -1);
    assert_string_equal(err.msg, "x: must be an object of strings");
}

static void test_times(void **state)
{
    struct error err;
    int64_t ms = 42;
    json_t *v;

    (void)state;
    v = time_to_json(1700000000123LL);
    assert_string_equal(json_string_value(v), "2023-11-14T22:13:20.123Z");
    json_decref(v);
    v = time_to_json_nano(1700000000100LL);
    assert_string_equal(json_string_value(v), "2023-11-14T22:13:20.1Z");
    json_decref(v);
    v = time_to_json(TIME_UNSET);
    assert_string_equal(json_string_value(v), "0001-01-01T00:00:00.000Z");
    json_decref(v);

    v = parse("\"2023-11-14T23:13:20.5+01:00\"");
    assert_int_equal(time_from_json(v, "a.startsAt", &ms, &err), 0);
    assert_int_equal(ms, 1700000000500LL);
    json_decref(v);
    assert_int_equal(time_from_json(NULL, "a.startsAt", &ms, &err), 0);
    assert_int_equal(ms, TIME_UNSET);
    v = parse("null");
    ms = 42;
    assert_int_equal(time_from_json(v, "a.startsAt", &ms, &err), 0);
    assert_int_equal(ms, TIME_UNSET);
    json_decref(v);
    v = parse("\"0001-01-01T00:00:00Z\"");
    ms = 42;
    assert_int_equal(time_from_json(v, "a.startsAt", &ms, &err), 0);
    assert_int_equal(ms, TIME_UNSET);
    json_decref(v);

    ms = 42;
    v = parse("\"yesterday\"");
    assert_int_equal(time_from_json(v, "alerts[1].endsAt", &ms, &err), -1);
    assert_string_equal(err.msg, "alerts[1].endsAt: invalid time \"yesterday\"");
    json_decref(v);
    v = parse("17");
    assert_int_equal(time_from_json(v, "alerts[1].endsAt", &ms, &err), -1);
    assert_string_equal(err.msg, "alerts[1].endsAt: must be a string");
    json_decref(v);
    assert_int_equal(ms, 42);
}

static void test_strings(void **state)
{
    struct error err;
    const char *s = "x";
    json_t *v;

    (void)state;
    assert_int_equal(string_from_json(NULL, "g", &s, &err), 0);
    assert_null(s);
    v = parse("\"http://x\"");
    assert_int_equal(string_from_json(v, "g", &s, &err), 0);
    assert_string_equal(s, "http://x");
    json_decref(v);
    v = parse("\"a\\u0000b\"");
    assert_int_equal(string_from_json(v, "g", &s, &err), -1);
    assert_string_equal(err.msg, "g: contains a NUL byte");
    json_decref(v);
    v = parse("[1]");
    assert_int_equal(string_from_json(v, "g", &s, &err), -1);
    assert_string_equal(err.msg, "g: must be a string");
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_roundtrip), cmocka_unit_test(test_labels_errors),
        cmocka_unit_test(test_labels_bad_utf8),  cmocka_unit_test(test_times),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
