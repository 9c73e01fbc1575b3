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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_unique),     cmocka_unit_test(test_copy_compare),
        cmocka_unit_test(test_fingerprint_basic), cmocka_unit_test(test_names_utf8),
        cmocka_unit_test(test_validate),          cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
