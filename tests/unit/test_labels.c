/*
 * test_labels.c - label sets: ordering, empty values, copy, compare,
 * validation, UTF-8, Go quoting, and fingerprints checked against vectors
 * read from a running Alertmanager.
 */
#include "core/buf.h"
#include "core/error.h"
#include "core/labels.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void set_all(struct labels *ls, const char *const *kv)
{
    for (; kv[0] != NULL; kv += 2)
        assert_int_equal(labels_set(ls, kv[0], kv[1]), 0);
}

static void test_sorted_unique(void **state)
{
    struct labels ls = LABELS_INIT;
    static const char *const kv[] = {"zeta", "1", "alpha", "2", "mid", "3", "alpha", "4", NULL};

    (void)state;
    set_all(&ls, kv);
    assert_int_equal(ls.n, 3);
    assert_string_equal(ls.v[0].name, "alpha");
    assert_string_equal(ls.v[0].value, "4");
    assert_string_equal(ls.v[1].name, "mid");
    assert_string_equal(ls.v[2].name, "zeta");
    assert_string_equal(labels_get(&ls, "mid"), "3");
    assert_null(labels_get(&ls, "nope"));
    /* An empty value removes the label, as Alertmanager drops empty values. */
    assert_int_equal(labels_set(&ls, "mid", ""), 0);
    assert_int_equal(ls.n, 2);
    assert_null(labels_get(&ls, "mid"));
    assert_int_equal(labels_set(&ls, "absent", ""), 0);
    assert_int_equal(ls.n, 2);
    labels_release(&ls);
    assert_int_equal(ls.n, 0);
}

static void test_copy_compare(void **state)
{
    struct labels a = LABELS_INIT, b = LABELS_INIT, c = LABELS_INIT;
    static const char *const kv[] = {"a", "1", "b", "2", NULL};

    (void)state;
    set_all(&a, kv);
    assert_int_equal(labels_set(&b, "junk", "x"), 0);
    assert_int_equal(labels_copy(&b, &a), 0);
    assert_true(labels_equal(&a, &b));
    assert_int_equal(labels_fingerprint(&a), labels_fingerprint(&b));
    assert_int_equal(labels_set(&b, "b", "3"), 0);
    assert_false(labels_equal(&a, &b));
    assert_true(labels_compare(&a, &b) < 0);
    assert_true(labels_compare(&b, &a) > 0);
    /* Fewer labels sort first. */
    assert_int_equal(labels_set(&c, "z", "z"), 0);
    assert_true(labels_compare(&c, &a) < 0);
    labels_release(&a);
    labels_release(&b);
    labels_release(&c);
}

static void test_fingerprint_basic(void **state)
{
    struct labels ls = LABELS_INIT;
    char s[FINGERPRINT_STRLEN];
    uint64_t fp;
    static const char *const kv[] = {"alertname", "Test", "instance", "i1",
                                     "severity",  "page", NULL};

    (void)state;
    fingerprint_format(labels_fingerprint(&ls), s);
    assert_string_equal(s, "cbf29ce484222325");
    set_all(&ls, kv);
    fingerprint_format(labels_fingerprint(&ls), s);
    assert_string_equal(s, "a3767b45c7d60957");
    assert_int_equal(fingerprint_parse(s, &fp), 0);
    assert_int_equal(fp, labels_fingerprint(&ls));
    assert_int_equal(fingerprint_parse("A3767B45C7D60957", &fp), 0);
    assert_int_equal(fp, labels_fingerprint(&ls));
    assert_int_equal(fingerprint_parse("a3767b45c7d6095", &fp), -1);
    assert_int_equal(fingerprint_parse("a3767b45c7d609570", &fp), -1);
    assert_int_equal(fingerprint_parse("g3767b45c7d60957", &fp), -1);
    assert_int_equal(fingerprint_parse("", &fp), -1);
    labels_release(&ls);
}

static void test_names_utf8(void **state)
{
    (void)state;
    assert_true(label_name_valid("a"));
    assert_true(label_name_valid("_a9_Z"));
    assert_false(label_name_valid(""));
    assert_false(label_name_valid("1x"));
    assert_false(label_name_valid("a-b"));
    assert_false(label_name_valid("a:b"));
    assert_false(label_name_valid("é"));
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("héllo €𝄞", strlen("héllo €𝄞")));
    assert_false(utf8_valid("\xc3", 1));
    assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(utf8_valid("\xff", 1));
    assert_false(utf8_valid("a\x80", 2));
}

static void test_validate(void **state)
{
    struct labels ls = LABELS_INIT;
    struct error err;

    (void)state;
    assert_int_equal(labels_set(&ls, "ok", "v"), 0);
    assert_int_equal(labels_validate(&ls, &err), 0);
    assert_int_equal(labels_set(&ls, "1x", "v"), 0);
    assert_int_equal(labels_validate(&ls, &err), -1);
    assert_string_equal(err.msg, "invalid label name \"1x\"");
    labels_release(&ls);
    assert_int_equal(labels_set(&ls, "x", "bad\xff"), 0);
    assert_int_equal(labels_validate(&ls, &err), -1);
    assert_string_equal(err.msg, "label \"x\": label value is not valid UTF-8");
    labels_release(&ls);
}

static void test_format(void **state)
{
    struct labels ls = LABELS_INIT;
    struct buf b;
    static const char *const kv[] = {"b", "say \"hi\"\n", "a", "x", "a0", "é\t\x01", NULL};

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(labels_format(&ls, &b), 0);
    assert_string_equal(buf_str(&b), "{}");
    buf_reset(&b);
    set_all(&ls, kv);
    assert_int_equal(labels_format(&ls, &b), 0);
    /* Go sorts the printed pairs: `a0=` before `a=` because '0' < '='. */
    assert_string_equal(buf_str(&b), "{a0=\"é\\t\\x01\", a=\"x\", b=\"say \\\"hi\\\"\\n\"}");
    buf_release(&b);
    labels_release(&ls);
}

/*
 * Fingerprints read from a real Alertmanager 0.25.0 (Debian
 * prometheus-alertmanager, started on 127.0.0.1 with --cluster.listen-address=
 * and a one-receiver config): each label set was POSTed to /api/v2/alerts and
 * the fingerprint taken from GET /api/v2/alerts. The API refuses an empty
 * label set, so {} uses the documented FNV-1a offset basis. Empty values are
 * dropped before hashing ("Empty" below was posted with dropped="").
 */
static const struct {
    const char *fp;
    const char *kv[16];
} am_fingerprints[] = {
    {"cbf29ce484222325", {NULL}},
    {"a3767b45c7d60957", {"alertname", "Test", "instance", "i1", "severity", "page", NULL}},
    {"d2b371819297f98a", {"a", "b", NULL}},
    {"d240efc3896bf266", {"alertname", "x", NULL}},
    {"f009164a26e44cb4",
     {"alertname", "HighLatency", "job", "api", "instance", "10.0.0.1:9090", "le", "0.5", NULL}},
    {"466fa1ba062aabab", {"alertname", "Unicode", "value", "héllo wörld €", NULL}},
    {"4d2e030aff484d56", {"alertname", "Emoji", "msg", "🔥 fire 𝄞", NULL}},
    {"29c767485e24e7e4", {"alertname", "CJK", "team", "日本語チーム", NULL}},
    {"9265014bb1115297", {"alertname", "Quotes", "q", "say \"hi\"\\n", "n", "line1\nline2", NULL}},
    {"2c6c0518cae314c3",
     {"alertname", "Spaces", "s", " leading and trailing ", "t", "\ttab", NULL}},
    {"ac6f976de274a352", {"_", "underscore", "A_b9", "mixed", "zz", "last", NULL}},
    {"5c7f9b3a2acdea87", {"alertname", "a0sort", "a", "1", "a0", "2", "a_", "3", NULL}},
    {"3a6a2c0e5e7b21ee", {"alertname", "Empty", "dropped", "", "kept", "y", NULL}},
    {"077d50588846747d", {"alertname", "Sep", "v", "a\u00ffb", NULL}},
};

static void test_fingerprint_alertmanager_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(am_fingerprints) / sizeof(am_fingerprints[0]); i++) {
        struct labels ls = LABELS_INIT;
        char s[FINGERPRINT_STRLEN];

        set_all(&ls, am_fingerprints[i].kv);
        fingerprint_format(labels_fingerprint(&ls), s);
        if (strcmp(s, am_fingerprints[i].fp) != 0)
            fail_msg("vector %zu: got %s, want %s", i, s, am_fingerprints[i].fp);
        labels_release(&ls);
    }
}

static void test_fingerprint_long_value(void **state)
{
    struct labels ls = LABELS_INIT;
    char v[301];
    char s[FINGERPRINT_STRLEN];

    (void)state;
    memset(v, 'x', 300);
    v[300] = '\0';
    assert_int_equal(labels_set(&ls, "alertname", "Long"), 0);
    assert_int_equal(labels_set(&ls, "description", v), 0);
    fingerprint_format(labels_fingerprint(&ls), s);
    assert_string_equal(s, "4365030271072fd2"); /* same Alertmanager run */
    labels_release(&ls);
}

/* Group keys from the same Alertmanager run (webhook groupKey, group_by
 * [a, a0, alertname]): Prometheus' LabelSet.String() sorts the printed pairs and
 * Go-quotes values, including non-printable code points. */
static void test_format_alertmanager_group_labels(void **state)
{
    struct labels ls = LABELS_INIT;
    struct buf b;

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(labels_set(&ls, "alertname", "G"), 0);
    assert_int_equal(labels_set(&ls, "a", "1\"q"), 0);
    assert_int_equal(labels_set(&ls, "a0", "2\t"), 0);
    assert_int_equal(labels_format(&ls, &b), 0);
    assert_string_equal(buf_str(&b), "{a0=\"2\\t\", a=\"1\\\"q\", alertname=\"G\"}");
    buf_reset(&b);
    assert_int_equal(labels_set(&ls, "alertname", "G2"), 0);
    assert_int_equal(
        labels_set(&ls, "a", "\u00a0\u200b\x7f\x01\u00ad\u2028\ue000\U0001F525\u0301\xc2\x85\\"),
        0);
    assert_int_equal(labels_set(&ls, "a0", "\u3000\ufeff\r\x0b\x07\x08\x0c"), 0);
    assert_int_equal(labels_format(&ls, &b), 0);
    assert_string_equal(buf_str(&b),
                        "{a0=\"\\u3000\\ufeff\\r\\v\\a\\b\\f\", "
                        "a=\"\\u00a0\\u200b\\x7f\\x01\\u00ad\\u2028\\ue000🔥\u0301\\u0085\\\\\", "
                        "alertname=\"G2\"}");
    buf_release(&b);
    labels_release(&ls);
}

static void test_quote_helpers(void **state)
{
    struct buf b;
    char q[QUOTE_ERR_MAX];
    char big[200];

    (void)state;
    buf_init(&b, 64);
    assert_int_equal(quote_go(&b,
                              "a\xff"
                              "b",
                              3),
                     0);
    assert_string_equal(buf_str(&b), "\"a\\xffb\"");
    buf_release(&b);
    buf_init(&b, 3);
    assert_int_equal(quote_go(&b, "abcdef", 6), -1);
    buf_release(&b);
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    quote_for_error(big, q, sizeof(q));
    assert_int_equal(strlen(q), 80 + 2 + 3);
    assert_string_equal(q + 80, "y\"...");
}

static void test_many_labels(void **state)
{
    struct labels ls = LABELS_INIT;
    char name[16];

    (void)state;
    for (int i = 999; i >= 0; i--) {
        snprintf(name, sizeof(name), "l%04d", i);
        assert_int_equal(labels_set(&ls, name, "v"), 0);
    }
    assert_int_equal(ls.n, 1000);
    for (size_t i = 1; i < ls.n; i++)
        assert_true(strcmp(ls.v[i - 1].name, ls.v[i].name) < 0);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(name, sizeof(name), "l%04d", i);
        assert_int_equal(labels_set(&ls, name, NULL), 0);
    }
    assert_int_equal(ls.n, 500);
    assert_string_equal(ls.v[0].name, "l0001");
    labels_release(&ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_unique),
        cmocka_unit_test(test_copy_compare),
        cmocka_unit_test(test_fingerprint_basic),
        cmocka_unit_test(test_names_utf8),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_fingerprint_alertmanager_vectors),
        cmocka_unit_test(test_fingerprint_long_value),
        cmocka_unit_test(test_format_alertmanager_group_labels),
        cmocka_unit_test(test_quote_helpers),
        cmocka_unit_test(test_many_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
