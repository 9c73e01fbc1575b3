/*
 * test_alert_packed.c - alert_compact(): labels, annotations and generatorURL
 * in one block owned by the alert; the packed alert keeps reading the same,
 * can still be changed, copied, merged and released (ASan and valgrind runs
 * of this test catch double frees and leaks of the blob).
 */
#include "core/alert.h"
#include "core/labels.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void make(struct alert *a, const char *instance, const char *summary, const char *url)
{
    alert_init(a);
    assert_int_equal(labels_set(&a->labels, "alertname", "PackedTest"), 0);
    assert_int_equal(labels_set(&a->labels, "instance", instance), 0);
    assert_int_equal(labels_set(&a->labels, "job", "node"), 0);
    assert_int_equal(labels_set(&a->annotations, "summary", summary), 0);
    assert_int_equal(labels_set(&a->annotations, "description",
                                "long enough not to be interned "
                                "because it has more than 64 bytes"),
                     0);
    assert_int_equal(alert_set_generator_url(a, url), 0);
    a->starts_at = 1000;
    a->ends_at = 5000;
    a->updated_at = 1000;
    alert_update_fingerprint(a);
}

static bool in_blob(const struct alert *a, const void *p)
{
    size_t size = labels_packed_size(&a->labels) + labels_packed_size(&a->annotations) +
                  (a->generator_url ? strlen(a->generator_url) + 1 : 0);

    return (uintptr_t)p >= (uintptr_t)a->blob && (uintptr_t)p < (uintptr_t)a->blob + size;
}

static void test_pack_reads_same(void **state)
{
    struct alert a, ref;
    void *blob;

    (void)state;
    make(&a, "host-packed-1:9100", "disk at 91%", "http://prom.invalid/graph?g0.expr=up");
    make(&ref, "host-packed-1:9100", "disk at 91%", "http://prom.invalid/graph?g0.expr=up");
    alert_compact(&a);
    assert_non_null(a.blob);
    assert_true(a.url_in_blob);
    assert_true(in_blob(&a, a.labels.v));
    assert_true(in_blob(&a, a.annotations.v));
    assert_true(in_blob(&a, a.generator_url));
    assert_true(labels_equal(&a.labels, &ref.labels));
    assert_true(labels_equal(&a.annotations, &ref.annotations));
    assert_string_equal(a.generator_url, ref.generator_url);
    assert_int_equal(labels_fingerprint(&a.labels), ref.fingerprint);
    assert_int_equal(a.fingerprint, ref.fingerprint);
    assert_string_equal(labels_get(&a.labels, "instance"), "host-packed-1:9100");
    /* Compacting a packed, unchanged alert keeps its blob. */
    blob = a.blob;
    alert_compact(&a);
    assert_ptr_equal(a.blob, blob);
    alert_release(&a);
    assert_null(a.blob);
    alert_release(&ref);
}

static void test_change_after_pack(void **state)
{
    struct alert a;
    void *blob;

    (void)state;
    make(&a, "host-packed-2:9100", "cpu at 50%", "http://prom.invalid/x");
    alert_compact(&a);
    blob = a.blob;
    /* An annotation change moves the annotations out of the blob. */
    assert_int_equal(labels_set(&a.annotations, "summary", "cpu at 97% and climbing"), 0);
    assert_false(in_blob(&a, a.annotations.v));
    assert_true(in_blob(&a, a.labels.v));
    assert_string_equal(labels_get(&a.annotations, "summary"), "cpu at 97% and climbing");
    /* Removing a label works in place; a new URL replaces the packed one. */
    assert_int_equal(labels_set(&a.labels, "job", ""), 0);
    assert_int_equal(a.labels.n, 2);
    assert_int_equal(alert_set_generator_url(&a, "http://prom.invalid/new"), 0);
    assert_false(a.url_in_blob);
    assert_string_equal(a.generator_url, "http://prom.invalid/new");
    /* Repacking puts everything in a new blob. */
    alert_update_fingerprint(&a);
    alert_compact(&a);
    assert_ptr_not_equal(a.blob, NULL);
    assert_true(in_blob(&a, a.annotations.v));
    assert_true(in_blob(&a, a.generator_url));
    assert_string_equal(labels_get(&a.annotations, "summary"), "cpu at 97% and climbing");
    assert_null(labels_get(&a.labels, "job"));
    assert_string_equal(a.generator_url, "http://prom.invalid/new");
    (void)blob;
    /* Clearing the URL of a packed alert. */
    assert_int_equal(alert_set_generator_url(&a, NULL), 0);
    assert_null(a.generator_url);
    alert_release(&a);
}

static void test_copy_merge_packed(void **state)
{
    struct alert a, b, c;

    (void)state;
    make(&a, "host-packed-3:9100", "first", "http://prom.invalid/a");
    alert_compact(&a);
    alert_init(&c);
    assert_int_equal(alert_copy(&c, &a), 0);
    assert_null(c.blob);
    assert_false(c.url_in_blob);
    /* The copy is independent of the blob. */
    alert_release(&a);
    assert_string_equal(labels_get(&c.labels, "instance"), "host-packed-3:9100");
    assert_string_equal(c.generator_url, "http://prom.invalid/a");
    /* Merge into a packed alert: the younger one's annotations win. */
    alert_compact(&c);
    make(&b, "host-packed-3:9100", "second", "http://prom.invalid/b");
    b.updated_at = 2000;
    assert_int_equal(alert_merge(&c, &b, 3000), 0);
    assert_string_equal(labels_get(&c.annotations, "summary"), "second");
    assert_string_equal(c.generator_url, "http://prom.invalid/b");
    alert_compact(&c);
    assert_true(c.url_in_blob);
    assert_string_equal(labels_get(&c.annotations, "summary"), "second");
    alert_release(&b);
    alert_release(&c);
}

static void test_pack_empty(void **state)
{
    struct alert a;

    (void)state;
    alert_init(&a);
    alert_compact(&a);
    assert_null(a.blob);
    assert_int_equal(labels_set(&a.labels, "only", "labels-no-annotations-no-url"), 0);
    alert_compact(&a);
    assert_non_null(a.blob);
    assert_int_equal(a.annotations.n, 0);
    assert_null(a.annotations.v);
    assert_null(a.generator_url);
    assert_string_equal(labels_get(&a.labels, "only"), "labels-no-annotations-no-url");
    alert_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_reads_same),
        cmocka_unit_test(test_change_after_pack),
        cmocka_unit_test(test_copy_merge_packed),
        cmocka_unit_test(test_pack_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
