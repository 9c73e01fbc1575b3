/*
 * test_hmap.c - router/hmap.c: the open-addressing umap against a reference
 * model under random puts, replaces and deletes (including keys that collide
 * in their home slot), iteration that sees every entry once, shrinking after
 * mass removal, the emap (objects carrying their own key) likewise, and the
 * smap basics.
 */
#include "router/hmap.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define KEYS 4096

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_model(const struct umap *m, const uint64_t *keys, void *const *vals)
{
    size_t n = 0, it, seen = 0;
    struct umap_entry *e;

    for (size_t i = 0; i < KEYS; i++) {
        assert_ptr_equal(umap_get(m, keys[i]), vals[i]);
        if (vals[i] != NULL)
            n++;
    }
    assert_int_equal(m->n, n);
    for (e = umap_first(m, &it); e != NULL; e = umap_next(m, e, &it)) {
        size_t i = (size_t)((uintptr_t)e->val - 1) % KEYS;

        assert_int_equal(e->key, keys[i]);
        assert_ptr_equal(e->val, vals[i]);
        seen++;
    }
    assert_int_equal(seen, n);
}

static void test_umap_random(void **state)
{
    static uint64_t keys[KEYS];
    static void *vals[KEYS];
    struct umap m = UMAP_INIT;

    (void)state;
    for (size_t i = 0; i < KEYS; i++) {
        /* A quarter of the keys differ only in high bits: long probe runs. */
        keys[i] = i % 4 == 0 ? (uint64_t)i << 40 : rng();
        vals[i] = NULL;
    }
    for (int round = 0; round < 20000; round++) {
        size_t i = rng() % KEYS;

        if (rng() % 3 == 0) {
            assert_ptr_equal(umap_del(&m, keys[i]), vals[i]);
            vals[i] = NULL;
        } else {
            /* value encodes the index: i + 1 + KEYS * k */
            void *v = (void *)(uintptr_t)(i + 1 + KEYS * (rng() % 5));

            assert_int_equal(umap_put(&m, keys[i], v), 0);
            vals[i] = v;
        }
        if (round % 2500 == 0)
            check_model(&m, keys, vals);
    }
    check_model(&m, keys, vals);
    assert_true(m.n * 4 <= m.nb * 3);
    /* Mass removal shrinks the table, and empty frees it. */
    for (size_t i = 0; i < KEYS; i++) {
        if (i % 64 != 0) {
            umap_del(&m, keys[i]);
            vals[i] = NULL;
        }
    }
    check_model(&m, keys, vals);
    assert_true(m.nb <= 512);
    for (size_t i = 0; i < KEYS; i++) {
        umap_del(&m, keys[i]);
        vals[i] = NULL;
    }
    assert_int_equal(m.n, 0);
    assert_int_equal(m.nb, 0);
    assert_null(umap_get(&m, keys[0]));
    assert_null(umap_del(&m, keys[0]));
    /* NULL values are refused (NULL marks an empty slot). */
    assert_int_equal(umap_put(&m, 1, NULL), -1);
    assert_int_equal(m.n, 0);
    umap_release(&m);
}

static void test_umap_replace_no_growth(void **state)
{
    struct umap m = UMAP_INIT;
    int a, b;

    (void)state;
    for (uint64_t k = 0; k < 6; k++)
        assert_int_equal(umap_put(&m, k, &a), 0);
    assert_int_equal(m.nb, 8);
    /* Replacing at full load does not grow. */
    assert_int_equal(umap_put(&m, 3, &b), 0);
    assert_int_equal(m.nb, 8);
    assert_int_equal(m.n, 6);
    assert_ptr_equal(umap_get(&m, 3), &b);
    umap_release(&m);
}

struct obj {
    int pad;
    uint64_t key;
};

/* Every object is found iff it is in, n is right, iteration sees each once. */
static void check_emap(const struct emap *m, const struct obj *objs, const bool *in)
{
    size_t it, seen = 0, n = 0;
    void *v;

    for (size_t i = 0; i < KEYS; i++) {
        assert_ptr_equal(emap_get(m, objs[i].key), in[i] ? &objs[i] : NULL);
        n += in[i];
    }
    assert_int_equal(m->n, n);
    for (v = emap_first(m, &it); v != NULL; v = emap_next(m, &it)) {
        const struct obj *o = v;

        assert_true(in[o - objs]);
        seen++;
    }
    assert_int_equal(seen, n);
}

static void test_emap_random(void **state)
{
    static struct obj objs[KEYS];
    static bool in[KEYS];
    struct emap m;

    (void)state;
    emap_init(&m, offsetof(struct obj, key));
    for (size_t i = 0; i < KEYS; i++) {
        objs[i].key = i % 4 == 0 ? (uint64_t)i << 40 : rng();
        in[i] = false;
    }
    for (int round = 0; round < 20000; round++) {
        size_t i = rng() % KEYS;

        if (rng() % 3 == 0) {
            assert_ptr_equal(emap_del(&m, objs[i].key), in[i] ? &objs[i] : NULL);
            in[i] = false;
        } else {
            assert_int_equal(emap_put(&m, &objs[i]), 0);
            in[i] = true;
        }
        if (round % 2500 == 0)
            check_emap(&m, objs, in);
    }
    check_emap(&m, objs, in);
    assert_true(m.n * 4 <= m.nb * 3);
    /* 16-byte slots: the key next to the pointer, so a probe never reads an
     * object. A slot's key is the key of the object it holds. */
    assert_int_equal(sizeof(*m.b), 2 * sizeof(uint64_t));
    for (size_t i = 0; i < m.nb; i++) {
        if (m.b[i].val != NULL)
            assert_int_equal(m.b[i].key, ((const struct obj *)m.b[i].val)->key);
    }
    /* Mass removal down to a few entries shrinks the array and keeps the
     * survivors reachable (the resize rehashes from the slot keys). */
    for (size_t i = 0; i < KEYS; i++) {
        if (i % 97 != 0) {
            emap_del(&m, objs[i].key);
            in[i] = false;
        }
    }
    check_emap(&m, objs, in);
    assert_true(m.nb <= 256);
    for (size_t i = 0; i < KEYS; i++)
        emap_del(&m, objs[i].key);
    assert_int_equal(m.n, 0);
    assert_int_equal(m.nb, 0);
    assert_int_equal(emap_put(&m, NULL), -1);
    /* Still keyed the same way after being emptied. */
    assert_int_equal(emap_put(&m, &objs[5]), 0);
    assert_ptr_equal(emap_get(&m, objs[5].key), &objs[5]);
    emap_release(&m);
}

static void test_smap_basics(void **state)
{
    struct smap m = SMAP_INIT;
    char k[32];
    int v[300];

    (void)state;
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof(k), "key-%d", i);
        assert_int_equal(smap_put(&m, k, &v[i]), 0);
    }
    assert_int_equal(m.n, 300);
    assert_ptr_equal(smap_get(&m, "key-123"), &v[123]);
    assert_string_equal(smap_key(&m, "key-7"), "key-7");
    assert_ptr_equal(smap_del(&m, "key-123"), &v[123]);
    assert_null(smap_get(&m, "key-123"));
    assert_int_equal(m.n, 299);
    smap_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_umap_random),
        cmocka_unit_test(test_umap_replace_no_growth),
        cmocka_unit_test(test_emap_random),
        cmocka_unit_test(test_smap_basics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
