/*
 * test_silence.c - silences as Alertmanager 0.25 handles them: API and
 * validation messages (checked against the real binary), creation with a
 * UUIDv4 and start clamped to now, update in place vs expire-and-recreate,
 * pending/active/expired, expire, retention, silencedBy and the API order.
 */
#include "router/silence.h"

#include "test_router_fixture.h"

static const uint8_t RND1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t RND2[16] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
                                 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};
static const uint8_t RND3[16] = {7};

static void mk(struct silence *s, const char *id, const char *matchers, int64_t starts,
               int64_t ends)
{
    struct error err;

    silence_init(s);
    if (id != NULL)
        snprintf(s->id, sizeof(s->id), "%s", id);
    if (matchers_parse(&s->matchers, matchers, &err) < 0)
        fail_msg("%s", err.msg);
    s->starts_at = starts;
    s->ends_at = ends;
    s->created_by = strdup("me");
    s->comment = strdup("maintenance");
}

static enum silence_status put(struct silences *ss, const char *id, const char *matchers,
                               int64_t starts, int64_t ends, int64_t now, const uint8_t *rnd,
                               char out[SILENCE_ID_LEN], struct error *err)
{
    struct silence s;

    mk(&s, id, matchers, starts, ends);
    return silences_put(ss, &s, now, rnd, out, NULL, NULL, err);
}

static void test_uuid(void **state)
{
    char id[SILENCE_ID_LEN];

    (void)state;
    silence_uuid_format(RND1, id);
    assert_string_equal(id, "01020304-0506-4708-890a-0b0c0d0e0f10");
    silence_uuid_format(RND2, id);
    assert_string_equal(id, "ffeeddcc-bbaa-4988-b766-554433221100");
}

static void test_api_and_validation_messages(void **state)
{
    struct silences *ss = silences_new();
    char id[SILENCE_ID_LEN];
    struct error err;

    (void)state;
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0 + HOUR, T0, T0, RND1, id, &err), SILENCE_BAD);
    assert_string_equal(err.msg, "Failed to create silence: start time must be before end time");
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0, T0, T0, RND1, id, &err), SILENCE_BAD);
    assert_string_equal(err.msg, "Failed to create silence: start time must be before end time");
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0 - 2 * HOUR, T0 - HOUR, T0, RND1, id, &err),
                     SILENCE_BAD);
    assert_string_equal(err.msg, "Failed to create silence: end time can't be in the past");
    assert_int_equal(put(ss, NULL, "a=\"\"", T0, T0 + HOUR, T0, RND1, id, &err), SILENCE_BAD);
    assert_string_equal(err.msg,
                        "silence invalid: at least one matcher must not match the empty string");
    assert_int_equal(put(ss, NULL, "a=~\".*\",b!=\"x\"", T0, T0 + HOUR, T0, RND1, id, &err),
                     SILENCE_BAD);
    assert_int_equal(put(ss, NULL, "", T0, T0 + HOUR, T0, RND1, id, &err), SILENCE_BAD);
    assert_string_equal(err.msg, "silence invalid: at least one matcher required");
    assert_int_equal(put(ss, "nonexistent", "a=\"x\"", T0, T0 + HOUR, T0, RND1, id, &err),
                     SILENCE_NOT_FOUND);
    assert_string_equal(err.msg, "silence not found");
    /* A rejected request stores nothing. */
    assert_int_equal(silences_count(ss), 0);
    silences_free(ss);
}

static void test_create_clamps_start_and_states(void **state)
{
    struct silences *ss = silences_new();
    char id[SILENCE_ID_LEN], id2[SILENCE_ID_LEN];
    const struct silence *s;
    struct error err;

    (void)state;
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0 - HOUR, T0 + HOUR, T0, RND1, id, &err),
                     SILENCE_OK);
    assert_string_equal(id, "01020304-0506-4708-890a-0b0c0d0e0f10");
    s = silences_get(ss, id);
    assert_non_null(s);
    assert_int_equal(s->starts_at, T0); /* clamped to now */
    assert_int_equal(s->updated_at, T0);
    assert_string_equal(s->created_by, "me");
    assert_int_equal(silence_state_at(s, T0), SILENCE_ACTIVE);
    assert_int_equal(silence_state_at(s, T0 + HOUR), SILENCE_EXPIRED);
    assert_int_equal(silence_state_at(s, T0 - 1), SILENCE_PENDING);
    assert_string_equal(silence_state_name(SILENCE_PENDING), "pending");

    /* A future one is pending until it starts. */
    assert_int_equal(put(ss, NULL, "b=\"y\"", T0 + HOUR, T0 + 2 * HOUR, T0, RND2, id2, &err),
                     SILENCE_OK);
    assert_int_equal(silence_state_at(silences_get(ss, id2), T0), SILENCE_PENDING);
    assert_int_equal(silence_state_at(silences_get(ss, id2), T0 + HOUR), SILENCE_ACTIVE);
    silences_free(ss);
}

static void test_update_in_place_vs_recreate(void **state)
{
    struct silences *ss = silences_new();
    char id[SILENCE_ID_LEN], id2[SILENCE_ID_LEN], pend[SILENCE_ID_LEN];
    struct error err;

    (void)state;
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0, T0 + HOUR, T0, RND1, id, &err), SILENCE_OK);
    /* Active, same matchers and start, later end: updated in place. */
    assert_int_equal(put(ss, id, "a=\"x\"", T0, T0 + 3 * HOUR, T0 + MIN, RND2, id2, &err),
                     SILENCE_OK);
    assert_string_equal(id2, id);
    assert_int_equal(silences_get(ss, id)->ends_at, T0 + 3 * HOUR);
    assert_int_equal(silences_get(ss, id)->updated_at, T0 + MIN);
    assert_int_equal(silences_count(ss), 1);

    /* Active, different matchers: the old one expires, a new id comes back. */
    assert_int_equal(put(ss, id, "a=\"y\"", T0, T0 + 3 * HOUR, T0 + 2 * MIN, RND2, id2, &err),
                     SILENCE_OK);
    assert_string_not_equal(id2, id);
    assert_int_equal(silences_count(ss), 2);
    assert_int_equal(silences_get(ss, id)->ends_at, T0 + 2 * MIN);
    assert_int_equal(silence_state_at(silences_get(ss, id), T0 + 2 * MIN), SILENCE_EXPIRED);
    assert_int_equal(silences_get(ss, id2)->starts_at, T0 + 2 * MIN); /* clamped */

    /* Active, changed start: recreated too. */
    assert_int_equal(
        put(ss, id2, "a=\"y\"", T0 + 10 * MIN, T0 + 3 * HOUR, T0 + 3 * MIN, RND3, pend, &err),
        SILENCE_OK);
    assert_string_not_equal(pend, id2);
    assert_int_equal(silences_count(ss), 3);

    /* Expired: never updated in place, and not expired twice. */
    {
        uint8_t r4[16] = {0x44};
        char id3[SILENCE_ID_LEN];
        assert_int_equal(put(ss, id, "a=\"x\"", T0, T0 + 3 * HOUR, T0 + 4 * MIN, r4, id3, &err),
                         SILENCE_OK);
        assert_string_not_equal(id3, id);
        assert_int_equal(silences_get(ss, id)->ends_at, T0 + 2 * MIN);
        assert_int_equal(silences_get(ss, id)->updated_at, T0 + 2 * MIN);
        /* An id collision with a stored silence is refused, nothing changes. */
        assert_int_equal(put(ss, NULL, "a=\"x\"", T0, T0 + 3 * HOUR, T0 + 4 * MIN, r4, id3, &err),
                         SILENCE_FAILED);
        assert_int_equal(silences_count(ss), 4);
    }
    silences_free(ss);
}

static void test_update_pending(void **state)
{
    struct silences *ss = silences_new();
    char id[SILENCE_ID_LEN], id2[SILENCE_ID_LEN];
    struct error err;

    (void)state;
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0 + HOUR, T0 + 2 * HOUR, T0, RND1, id, &err),
                     SILENCE_OK);
    /* Pending: start may move as long as it is not in the past. */
    assert_int_equal(
        put(ss, id, "a=\"x\"", T0 + 30 * MIN, T0 + 2 * HOUR, T0 + MIN, RND2, id2, &err),
        SILENCE_OK);
    assert_string_equal(id2, id);
    assert_int_equal(silences_get(ss, id)->starts_at, T0 + 30 * MIN);
    /* A start in the past is not an in-place update: expire + recreate (clamped). */
    assert_int_equal(put(ss, id, "a=\"x\"", T0, T0 + 2 * HOUR, T0 + 2 * MIN, RND2, id2, &err),
                     SILENCE_OK);
    assert_string_not_equal(id2, id);
    assert_int_equal(silences_get(ss, id2)->starts_at, T0 + 2 * MIN);
    /* The pending one was expired with start = end = now. */
    assert_int_equal(silences_get(ss, id)->starts_at, T0 + 2 * MIN);
    assert_int_equal(silences_get(ss, id)->ends_at, T0 + 2 * MIN);
    silences_free(ss);
}

static void test_expire(void **state)
{
    struct silences *ss = silences_new();
    char a[SILENCE_ID_LEN], p[SILENCE_ID_LEN];
    struct error err;

    (void)state;
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0, T0 + HOUR, T0, RND1, a, &err), SILENCE_OK);
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0 + HOUR, T0 + 2 * HOUR, T0, RND2, p, &err),
                     SILENCE_OK);
    assert_int_equal(silences_expire(ss, a, T0 + MIN, &err), SILENCE_OK);
    assert_int_equal(silences_get(ss, a)->ends_at, T0 + MIN);
    assert_int_equal(silences_get(ss, a)->starts_at, T0);
    assert_int_equal(silence_state_at(silences_get(ss, a), T0 + MIN), SILENCE_EXPIRED);
    assert_int_equal(silences_expire(ss, p, T0 + MIN, &err), SILENCE_OK);
    assert_int_equal(silences_get(ss, p)->starts_at, T0 + MIN);
    assert_int_equal(silences_get(ss, p)->ends_at, T0 + MIN);
    /* Already expired: 200 and unchanged, as AM 0.25 answers. */
    assert_int_equal(silences_expire(ss, a, T0 + 5 * MIN, &err), SILENCE_OK);
    assert_int_equal(silences_get(ss, a)->ends_at, T0 + MIN);
    /* Unknown: AM 0.25 answers 500 "silence not found". */
    assert_int_equal(silences_expire(ss, "nope", T0, &err), SILENCE_FAILED);
    assert_string_equal(err.msg, "silence not found");
    silences_free(ss);
}

static int collect(void *ctx, const struct silence *s, enum silence_state st)
{
    char *out = ctx;
    size_t n = strlen(out);

    snprintf(out + n, 256 - n, "%s%c", n ? "," : "", s->id[0]);
    (void)st;
    return 0;
}

static void test_matching_order_and_gc(void **state)
{
    struct silences *ss = silences_new();
    char x[SILENCE_ID_LEN], y[SILENCE_ID_LEN], z[SILENCE_ID_LEN], w[SILENCE_ID_LEN];
    char(*ids)[SILENCE_ID_LEN];
    struct labels ls;
    struct error err;
    char order[256] = "";
    uint8_t r1[16] = {0x10}, r2[16] = {0x20}, r3[16] = {0x30}, r4[16] = {0x40};

    (void)state;
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0, T0 + 2 * HOUR, T0, r2, x, &err), SILENCE_OK);
    assert_int_equal(put(ss, NULL, "a=~\"x|y\"", T0, T0 + HOUR, T0, r1, y, &err), SILENCE_OK);
    assert_int_equal(put(ss, NULL, "a=\"x\"", T0 + HOUR, T0 + 3 * HOUR, T0, r3, z, &err),
                     SILENCE_OK);
    assert_int_equal(put(ss, NULL, "b=\"x\"", T0, T0 + HOUR, T0, r4, w, &err), SILENCE_OK);
    assert_int_equal(silences_expire(ss, w, T0 + MIN, &err), SILENCE_OK);

    fx_labels(&ls, "a=x,c=d");
    assert_int_equal(silences_active_matching(ss, &ls, T0 + MIN, &ids), 2);
    assert_string_equal(ids[0], y); /* sorted: "1..." before "2..." */
    assert_string_equal(ids[1], x);
    free(ids);
    assert_true(silences_mutes(ss, &ls, T0 + MIN));
    /* The pending one does not mute yet. */
    assert_int_equal(silences_active_matching(ss, &ls, T0 + 2 * HOUR + MIN, &ids), 1);
    assert_string_equal(ids[0], z);
    free(ids);
    labels_release(&ls);

    /* API order: active by end (y, x), pending (z), expired (w). */
    assert_int_equal(silences_foreach(ss, T0 + MIN, collect, order), 0);
    assert_string_equal(order, "1,2,3,4");

    /* Retention counts from the end. */
    assert_int_equal(silences_gc(ss, T0 + MIN + 120 * HOUR - 1, 120 * HOUR, NULL, NULL), 0);
    assert_int_equal(silences_gc(ss, T0 + MIN + 120 * HOUR, 120 * HOUR, NULL, NULL), 1);
    assert_null(silences_get(ss, w));
    assert_int_equal(silences_count(ss), 3);
    silences_free(ss);
}

static void test_load_and_copy(void **state)
{
    struct silences *ss = silences_new();
    struct silence s, c;
    struct error err;

    (void)state;
    mk(&s, "abc", "a=\"x\"", T0, T0 + HOUR);
    s.updated_at = T0;
    assert_int_equal(silences_load(ss, &s, &err), 0);
    assert_non_null(silences_get(ss, "abc"));
    assert_int_equal(silence_copy(&c, silences_get(ss, "abc")), 0);
    assert_string_equal(c.id, "abc");
    assert_int_equal(c.matchers.n, 1);
    silence_release(&c);
    mk(&s, NULL, "a=\"x\"", T0, T0 + HOUR);
    assert_int_equal(silences_load(ss, &s, &err), -1);
    silences_free(ss);
    silences_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_api_and_validation_messages),
        cmocka_unit_test(test_create_clamps_start_and_states),
        cmocka_unit_test(test_update_in_place_vs_recreate),
        cmocka_unit_test(test_update_pending),
        cmocka_unit_test(test_expire),
        cmocka_unit_test(test_matching_order_and_gc),
        cmocka_unit_test(test_load_and_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
