/*
 * test_silence_index.c - the silence store's matching index (router/silence.c):
 * silences_active_matching() and silences_mutes() look only at candidate
 * silences, so their answers are compared with a brute-force scan over every
 * silence (silences_foreach + silence_matches) on seeded random silences, label
 * sets, updates, expiries, reloads and GC; plus the edge cases the index must get
 * right: regex-only and negated silences (always checked), `foo=""` matchers
 * (match an absent label, never a key), a silence replaced by one with other
 * matchers, update in place, expired and garbage-collected silences.
 */
#include "router/silence.h"

#include "test_router_fixture.h"

/* xorshift64*: deterministic, seeded per test. */
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

static void rnd16(uint8_t out[16])
{
    for (int i = 0; i < 16; i++)
        out[i] = (uint8_t)rnd(256);
}

static void mk(struct silence *s, const char *id, const char *matchers, int64_t starts,
               int64_t ends)
{
    struct error err;

    silence_init(s);
    if (id != NULL)
        snprintf(s->id, sizeof(s->id), "%s", id);
    if (matchers_parse(&s->matchers, matchers, &err) < 0)
        fail_msg("%s: %s", matchers, err.msg);
    s->starts_at = starts;
    s->ends_at = ends;
    s->created_by = strdup("me");
    s->comment = strdup("c");
}

static enum silence_status put(struct silences *ss, const char *id, const char *matchers,
                               int64_t starts, int64_t ends, int64_t now, char out[SILENCE_ID_LEN])
{
    struct silence s;
    struct error err;
    uint8_t r[16];

    rnd16(r);
    mk(&s, id, matchers, starts, ends);
    return silences_put(ss, &s, now, r, out, NULL, NULL, &err);
}

/* Brute force: every silence, in no particular order, then sorted ids. */
struct brute {
    const struct labels *ls;
    char ids[512][SILENCE_ID_LEN];
    size_t n;
};

static int brute_cb(void *ctx, const struct silence *s, enum silence_state st)
{
    struct brute *b = ctx;

    if (st == SILENCE_ACTIVE && silence_matches(s, b->ls)) {
        assert_true(b->n < 512);
        memcpy(b->ids[b->n++], s->id, SILENCE_ID_LEN);
    }
    return 0;
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Asserts that the index answers exactly as the brute-force scan; returns the count. */
static size_t check_same(const struct silences *ss, const struct labels *ls, int64_t now)
{
    static struct brute b;
    char(*ids)[SILENCE_ID_LEN];
    size_t n;

    b.ls = ls;
    b.n = 0;
    assert_int_equal(silences_foreach(ss, now, brute_cb, &b), 0);
    qsort(b.ids, b.n, sizeof(b.ids[0]), cmp_ids);
    n = silences_active_matching(ss, ls, now, &ids);
    assert_int_equal(n, b.n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(ids[i], b.ids[i]);
    free(ids);
    assert_int_equal(silences_mutes(ss, ls, now), b.n > 0);
    return n;
}

static const char *const NAMES[] = {"alertname", "instance", "job", "sev", "team"};
static const char *const VALUES[] = {"a", "b", "c", "d"};
static const char *const OPS[] = {"=", "=", "=", "=", "!=", "=~", "!~"};

/* A random matcher list: 1..3 matchers, mostly equality, some with "" values. */
static void rnd_matchers(char *out, size_t cap)
{
    size_t n = 1 + rnd(3), len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *op = OPS[rnd(7)];
        const char *name = NAMES[rnd(5)];
        char value[16];

        if (op[1] == '~')
            snprintf(value, sizeof(value), "%s|%s", VALUES[rnd(4)], VALUES[rnd(4)]);
        else if (rnd(8) == 0)
            value[0] = '\0';
        else
            snprintf(value, sizeof(value), "%s", VALUES[rnd(4)]);
        len +=
            (size_t)snprintf(out + len, cap - len, "%s%s%s\"%s\"", i ? "," : "", name, op, value);
    }
}

static void rnd_labels(struct labels *ls)
{
    labels_init(ls);
    for (size_t i = 0; i < 5; i++) {
        if (rnd(3) != 0)
            assert_int_equal(labels_set(ls, NAMES[i], VALUES[rnd(4)]), 0);
    }
}

static void check_random_sets(const struct silences *ss, int64_t now, size_t *hits)
{
    for (int k = 0; k < 60; k++) {
        struct labels ls;

        rnd_labels(&ls);
        *hits += check_same(ss, &ls, now);
        labels_release(&ls);
    }
}

static void test_random_against_brute_force(void **state)
{
    char ids[200][SILENCE_ID_LEN];
    size_t n_ids = 0, hits = 0;
    char m[128];

    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct silences *ss = silences_new();
        int64_t now = T0;

        rng_state = seed * 0x9e3779b97f4a7c15ULL;
        n_ids = 0;
        for (int round = 0; round < 8; round++) {
            /* New silences: some pending, most active. */
            for (int i = 0; i < 20; i++) {
                int64_t start = now + (rnd(4) == 0 ? (int64_t)(1 + rnd(3)) * HOUR : 0);
                char id[SILENCE_ID_LEN];

                rnd_matchers(m, sizeof(m));
                if (put(ss, NULL, m, start, start + (int64_t)(1 + rnd(4)) * HOUR, now, id) ==
                        SILENCE_OK &&
                    n_ids < 200)
                    memcpy(ids[n_ids++], id, SILENCE_ID_LEN);
            }
            check_random_sets(ss, now, &hits);
            /* Updates: new matchers (expire + recreate) or same matchers, longer. */
            for (int i = 0; i < 5 && n_ids > 0; i++) {
                const struct silence *s = silences_get(ss, ids[rnd((uint32_t)n_ids)]);
                char id[SILENCE_ID_LEN], cur[SILENCE_ID_LEN];
                struct buf b;

                if (s == NULL || silence_state_at(s, now) == SILENCE_EXPIRED)
                    continue;
                memcpy(cur, s->id, SILENCE_ID_LEN);
                if (rnd(2) == 0) {
                    rnd_matchers(m, sizeof(m));
                } else {
                    buf_init(&b, 4096);
                    assert_int_equal(matchers_format(&s->matchers, &b), 0);
                    /* strip the braces */
                    snprintf(m, sizeof(m), "%.*s", (int)b.len - 2, buf_str(&b) + 1);
                    buf_release(&b);
                }
                if (put(ss, cur, m, s->starts_at, s->ends_at + HOUR, now, id) == SILENCE_OK &&
                    n_ids < 200)
                    memcpy(ids[n_ids++], id, SILENCE_ID_LEN);
            }
            /* Expiries. */
            for (int i = 0; i < 3 && n_ids > 0; i++) {
                struct error err;

                silences_expire(ss, ids[rnd((uint32_t)n_ids)], now, &err);
            }
            /* Reload of a stored id with other matchers (restore path). */
            if (n_ids > 0) {
                struct silence s;
                struct error err;

                rnd_matchers(m, sizeof(m));
                mk(&s, ids[rnd((uint32_t)n_ids)], m, now, now + HOUR);
                s.updated_at = now;
                assert_int_equal(silences_load(ss, &s, &err), 0);
            }
            check_random_sets(ss, now, &hits);
            now += 40 * MIN;
            silences_gc(ss, now, 2 * HOUR, NULL, NULL);
            check_random_sets(ss, now, &hits);
        }
        /* Everything expires and is collected: the index empties. */
        silences_gc(ss, now + 1000 * HOUR, 0, NULL, NULL);
        assert_int_equal(silences_count(ss), 0);
        assert_int_equal(silences_index_buckets(ss), 0);
        assert_int_equal(silences_index_always(ss), 0);
        silences_free(ss);
    }
    /* The comparison was not vacuous. */
    assert_true(hits > 100);
}

static void test_edge_cases(void **state)
{
    struct silences *ss = silences_new();
    char re[SILENCE_ID_LEN], neg[SILENCE_ID_LEN], emp[SILENCE_ID_LEN], eq[SILENCE_ID_LEN];
    char(*ids)[SILENCE_ID_LEN];
    struct labels ls;
    struct silence s;
    struct error err;

    (void)state;
    rng_state = 42;
    /* Regex-only and negated-only silences are always checked. */
    assert_int_equal(put(ss, NULL, "job=~\"a|b\"", T0, T0 + HOUR, T0, re), SILENCE_OK);
    assert_int_equal(put(ss, NULL, "team!=\"\"", T0, T0 + HOUR, T0, neg), SILENCE_OK);
    assert_int_equal(silences_index_always(ss), 2);
    assert_int_equal(silences_index_buckets(ss), 0);
    /* foo="" is never the key: filed under job="x". */
    assert_int_equal(put(ss, NULL, "foo=\"\",job=\"x\"", T0, T0 + HOUR, T0, emp), SILENCE_OK);
    assert_int_equal(silences_index_always(ss), 2);
    assert_int_equal(silences_index_buckets(ss), 1);

    fx_labels(&ls, "job=x");
    assert_int_equal(check_same(ss, &ls, T0 + MIN), 1);
    assert_int_equal(silences_active_matching(ss, &ls, T0 + MIN, &ids), 1);
    assert_string_equal(ids[0], emp);
    free(ids);
    labels_release(&ls);
    fx_labels(&ls, "job=x,foo=y"); /* foo present: foo="" no longer matches */
    assert_int_equal(check_same(ss, &ls, T0 + MIN), 0);
    labels_release(&ls);
    fx_labels(&ls, "job=a,team=t");
    assert_int_equal(check_same(ss, &ls, T0 + MIN), 2); /* re and neg */
    labels_release(&ls);

    /* A loaded (unvalidated) silence made only of foo="" matches every set without
     * foo: it must be in the always list, not under a key. */
    mk(&s, "loaded-empty", "foo=\"\"", T0, T0 + HOUR);
    s.updated_at = T0;
    assert_int_equal(silences_load(ss, &s, &err), 0);
    assert_int_equal(silences_index_always(ss), 3);
    fx_labels(&ls, "zzz=1");
    assert_int_equal(check_same(ss, &ls, T0 + MIN), 1);
    labels_release(&ls);

    /* The rarest key: two silences sharing alertname="A" are filed apart. */
    assert_int_equal(put(ss, NULL, "alertname=\"A\",instance=\"i1\"", T0, T0 + HOUR, T0, eq),
                     SILENCE_OK);
    assert_int_equal(silences_index_buckets(ss), 2);
    assert_int_equal(put(ss, NULL, "alertname=\"A\",instance=\"i2\"", T0, T0 + HOUR, T0, eq),
                     SILENCE_OK);
    assert_int_equal(silences_index_buckets(ss), 3);
    fx_labels(&ls, "alertname=A,instance=i2");
    assert_int_equal(check_same(ss, &ls, T0 + MIN), 2); /* eq and loaded-empty */
    labels_release(&ls);

    /* Update with other matchers: the old one expires, the new one matches the new set. */
    {
        char nid[SILENCE_ID_LEN];

        assert_int_equal(put(ss, eq, "alertname=\"B\"", T0, T0 + HOUR, T0 + MIN, nid), SILENCE_OK);
        assert_string_not_equal(nid, eq);
        fx_labels(&ls, "alertname=A,instance=i2,foo=1");
        assert_int_equal(check_same(ss, &ls, T0 + 2 * MIN), 0);
        labels_release(&ls);
        fx_labels(&ls, "alertname=B,foo=1");
        assert_int_equal(check_same(ss, &ls, T0 + 2 * MIN), 1);
        assert_int_equal(silences_active_matching(ss, &ls, T0 + 2 * MIN, &ids), 1);
        assert_string_equal(ids[0], nid);
        free(ids);
        /* Update in place (same matchers): same id, still found. */
        assert_int_equal(put(ss, nid, "alertname=\"B\"", silences_get(ss, nid)->starts_at,
                             T0 + 3 * HOUR, T0 + 3 * MIN, eq),
                         SILENCE_OK);
        assert_string_equal(eq, nid);
        assert_int_equal(check_same(ss, &ls, T0 + 2 * HOUR), 1);
        /* Expired: no longer matches, still stored and indexed until GC. */
        assert_int_equal(silences_expire(ss, nid, T0 + 2 * HOUR, &err), SILENCE_OK);
        assert_int_equal(check_same(ss, &ls, T0 + 2 * HOUR), 0);
        labels_release(&ls);
    }
    /* Reload replacing a silence with other matchers moves it in the index. */
    mk(&s, re, "instance=\"i9\"", T0, T0 + HOUR);
    s.updated_at = T0;
    assert_int_equal(silences_load(ss, &s, &err), 0);
    assert_int_equal(silences_index_always(ss), 2); /* neg, loaded-empty */
    fx_labels(&ls, "instance=i9,job=a,foo=1");
    assert_int_equal(silences_active_matching(ss, &ls, T0 + MIN, &ids), 1);
    assert_string_equal(ids[0], re);
    free(ids);
    assert_int_equal(check_same(ss, &ls, T0 + MIN), 1);
    labels_release(&ls);

    /* GC frees everything, buckets included. */
    assert_true(silences_gc(ss, T0 + 10 * HOUR, 0, NULL, NULL) > 0);
    assert_int_equal(silences_count(ss), 0);
    assert_int_equal(silences_index_buckets(ss), 0);
    assert_int_equal(silences_index_always(ss), 0);
    fx_labels(&ls, "job=x");
    assert_int_equal(check_same(ss, &ls, T0 + MIN), 0);
    labels_release(&ls);
    silences_free(ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_brute_force),
        cmocka_unit_test(test_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
