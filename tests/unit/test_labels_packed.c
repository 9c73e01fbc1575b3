/*
 * test_labels_packed.c - the packed representation of label sets (one block
 * per set, interned frequent strings): copies are independent and exact-fit,
 * replace/remove leave the set correct and compaction reclaims their garbage,
 * sets that alias their own strings, big sets, and interning from several
 * threads at once.
 */
#include "core/labels.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define HDR 16 /* struct lhdr in labels.c */

/* Bytes an exact-fit block of ls should take: header, n pairs, and a copy of
 * every string that is not interned. */
static size_t exact_size(const struct labels *ls)
{
    size_t b = HDR + ls->n * sizeof(struct label);

    for (size_t i = 0; i < ls->n; i++) {
        if (!labels_is_interned(ls->v[i].name))
            b += strlen(ls->v[i].name) + 1;
        if (!labels_is_interned(ls->v[i].value))
            b += strlen(ls->v[i].value) + 1;
    }
    return b;
}

static void test_copy_exact_and_independent(void **state)
{
    struct labels a = LABELS_INIT, b = LABELS_INIT;
    char big[300];

    (void)state;
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(labels_mem(&a), 0);
    assert_int_equal(labels_set(&a, "instance", "host-unique-0001:9100"), 0);
    assert_int_equal(labels_set(&a, "big", big), 0);
    assert_int_equal(labels_set(&a, "job", "node"), 0);
    assert_int_equal(labels_copy(&b, &a), 0);
    assert_true(labels_equal(&a, &b));
    assert_int_equal(labels_mem(&b), exact_size(&b));
    /* The copy has its own block: changing and releasing a leaves b intact. */
    assert_ptr_not_equal(a.v, b.v);
    assert_int_equal(labels_set(&a, "job", "other"), 0);
    assert_int_equal(labels_set(&a, "big", ""), 0);
    labels_release(&a);
    assert_int_equal(b.n, 3);
    assert_string_equal(labels_get(&b, "job"), "node");
    assert_string_equal(labels_get(&b, "big"), big);
    assert_string_equal(labels_get(&b, "instance"), "host-unique-0001:9100");
    /* Copy of an empty set releases dst's block. */
    assert_int_equal(labels_copy(&b, &a), 0);
    assert_int_equal(b.n, 0);
    assert_int_equal(labels_mem(&b), 0);
    labels_release(&b);
}

static void test_replace_remove_compact(void **state)
{
    struct labels ls = LABELS_INIT;
    char v[64];
    uint64_t fp;

    (void)state;
    for (int i = 0; i < 200; i++) {
        snprintf(v, sizeof(v), "value-%d-unique-to-this-test", i);
        assert_int_equal(labels_set(&ls, "a_changing", v), 0);
        assert_int_equal(labels_set(&ls, i % 2 ? "b_flip" : "c_flop", v), 0);
        assert_int_equal(labels_set(&ls, i % 2 ? "c_flop" : "b_flip", ""), 0);
    }
    assert_int_equal(ls.n, 2);
    assert_string_equal(labels_get(&ls, "a_changing"), "value-199-unique-to-this-test");
    assert_string_equal(labels_get(&ls, "b_flip"), "value-199-unique-to-this-test");
    assert_null(labels_get(&ls, "c_flop"));
    fp = labels_fingerprint(&ls);
    /* Replaced values are garbage in the block until a compaction. */
    assert_true(labels_mem(&ls) >= exact_size(&ls));
    labels_compact(&ls);
    assert_int_equal(labels_mem(&ls), exact_size(&ls));
    assert_int_equal(labels_fingerprint(&ls), fp);
    assert_string_equal(labels_get(&ls, "a_changing"), "value-199-unique-to-this-test");
    /* Compacting an exact set keeps it; setting an equal value is a no-op. */
    {
        const struct label *before = ls.v;

        labels_compact(&ls);
        assert_ptr_equal(ls.v, before);
        assert_int_equal(labels_set(&ls, "a_changing", "value-199-unique-to-this-test"), 0);
        assert_ptr_equal(ls.v, before);
    }
    /* Removing everything then compacting frees the block. */
    assert_int_equal(labels_set(&ls, "a_changing", ""), 0);
    assert_int_equal(labels_set(&ls, "b_flip", NULL), 0);
    assert_int_equal(ls.n, 0);
    labels_compact(&ls);
    assert_int_equal(labels_mem(&ls), 0);
    labels_release(&ls);
}

/* labels_set() may move the block; arguments pointing into the set's own block
 * must still be read correctly. */
static void test_self_alias(void **state)
{
    struct labels ls = LABELS_INIT;
    char name[32], val[48];

    (void)state;
    assert_int_equal(labels_set(&ls, "src_name_alias", "alias-value-not-interned-1"), 0);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "n%02d", i);
        snprintf(val, sizeof(val), "alias-filler-%d-xxxxxxxxxxxxxxxx", i);
        /* name from outside, value from inside the set (v[0] is n00 once it
         * exists: it sorts first). */
        assert_int_equal(labels_set(&ls, name, ls.v[0].value), 0);
        assert_int_equal(labels_set(&ls, "zz_last", val), 0);
        /* value of one label set from another label of the same set */
        assert_int_equal(labels_set(&ls, "src_name_alias", labels_get(&ls, "zz_last")), 0);
    }
    assert_int_equal(ls.n, 42);
    assert_string_equal(labels_get(&ls, "n00"), "alias-value-not-interned-1");
    assert_string_equal(labels_get(&ls, "n39"), "alias-value-not-interned-1");
    assert_string_equal(labels_get(&ls, "src_name_alias"), "alias-filler-39-xxxxxxxxxxxxxxxx");
    labels_release(&ls);
}

static void test_big_set(void **state)
{
    enum { N = 5000 };
    struct labels ls = LABELS_INIT, cp = LABELS_INIT;
    char name[32], val[48];

    (void)state;
    /* Insert in a scrambled order. */
    for (unsigned k = 0; k < N; k++) {
        unsigned i = (k * 7919u) % N; /* 7919 is prime: a permutation */

        snprintf(name, sizeof(name), "l%05u", i);
        snprintf(val, sizeof(val), "v%u-%s", i, i % 3 == 0 ? "shared" : "own-value-string");
        assert_int_equal(labels_set(&ls, name, val), 0);
    }
    assert_int_equal(ls.n, N);
    for (size_t i = 1; i < ls.n; i++)
        assert_true(strcmp(ls.v[i - 1].name, ls.v[i].name) < 0);
    for (unsigned i = 0; i < N; i += 2) {
        snprintf(name, sizeof(name), "l%05u", i);
        assert_int_equal(labels_set(&ls, name, ""), 0);
    }
    assert_int_equal(ls.n, N / 2);
    assert_int_equal(labels_copy(&cp, &ls), 0);
    labels_compact(&ls);
    assert_true(labels_equal(&ls, &cp));
    assert_int_equal(labels_mem(&ls), exact_size(&ls));
    for (unsigned i = 1; i < N; i += 2) {
        snprintf(name, sizeof(name), "l%05u", i);
        snprintf(val, sizeof(val), "v%u-%s", i, i % 3 == 0 ? "shared" : "own-value-string");
        assert_string_equal(labels_get(&ls, name), val);
    }
    labels_release(&ls);
    labels_release(&cp);
}

static void test_intern_policy(void **state)
{
    char big[100];
    const char *p1, *p2;
    struct labels a = LABELS_INIT, b = LABELS_INIT, c = LABELS_INIT;

    (void)state;
    /* First sighting: not interned; second: interned; then always the same. */
    assert_null(labels_intern("intern-policy-once"));
    p1 = labels_intern("intern-policy-once");
    assert_non_null(p1);
    assert_string_equal(p1, "intern-policy-once");
    p2 = labels_intern("intern-policy-once");
    assert_ptr_equal(p1, p2);
    assert_true(labels_is_interned(p1));
    assert_false(labels_is_interned("intern-policy-once"));
    /* Long and empty strings are never interned. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_null(labels_intern(big));
    assert_null(labels_intern(big));
    assert_null(labels_intern(""));
    /* Label sets share frequent names and values, and keep unique ones. */
    assert_int_equal(labels_set(&a, "severity_pol", "critical_pol"), 0);
    assert_int_equal(labels_set(&b, "severity_pol", "critical_pol"), 0);
    assert_int_equal(labels_set(&c, "severity_pol", "critical_pol"), 0);
    assert_int_equal(labels_set(&c, "big", big), 0);
    assert_ptr_equal(b.v[0].name, c.v[1].name);
    assert_ptr_equal(b.v[0].value, c.v[1].value);
    assert_true(labels_is_interned(b.v[0].value));
    assert_false(labels_is_interned(c.v[0].value)); /* "big" value */
    labels_release(&a);
    labels_release(&b);
    /* Interned strings outlive every set that used them. */
    assert_string_equal(c.v[1].value, "critical_pol");
    labels_release(&c);
    assert_string_equal(p1, "intern-policy-once");
}

#define THREADS 4
#define ROUNDS  2000

struct tres {
    const char *seen[8];
    int ok;
};

static void *intern_worker(void *arg)
{
    struct tres *r = arg;
    char v[32];

    r->ok = 1;
    for (int k = 0; k < ROUNDS; k++) {
        struct labels ls = LABELS_INIT;
        int j = k % 8;

        snprintf(v, sizeof(v), "xthread-value-%d", j);
        if (labels_set(&ls, "xthread_name", v) != 0 ||
            labels_set(&ls, "xthread_unique", "u") != 0) {
            r->ok = 0;
            break;
        }
        if (strcmp(labels_get(&ls, "xthread_name"), v) != 0)
            r->ok = 0;
        if (labels_is_interned(ls.v[0].value)) {
            if (r->seen[j] == NULL)
                r->seen[j] = ls.v[0].value;
            else if (r->seen[j] != ls.v[0].value)
                r->ok = 0;
        }
        labels_release(&ls);
    }
    return NULL;
}

static void test_intern_threads(void **state)
{
    pthread_t t[THREADS];
    struct tres res[THREADS];

    (void)state;
    memset(res, 0, sizeof(res));
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, intern_worker, &res[i]), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    /* Every thread saw each value interned, and all at one address. */
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(res[i].ok, 1);
        for (int j = 0; j < 8; j++) {
            assert_non_null(res[i].seen[j]);
            assert_ptr_equal(res[i].seen[j], res[0].seen[j]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_exact_and_independent),
        cmocka_unit_test(test_replace_remove_compact),
        cmocka_unit_test(test_self_alias),
        cmocka_unit_test(test_big_set),
        cmocka_unit_test(test_intern_policy),
        cmocka_unit_test(test_intern_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
