/*
 * test_sms.c - Twilio requests (one per number: URL, basic auth, form body)
 * and the clean cut to max_segments in GSM-7 and UCS-2.
 */
#include "test_notifiers_fixture.h"

static void test_requests(void **state)
{
    struct nfix f;
    const struct notify_request *r;

    (void)state;
    nfix_load(&f, "  sms_configs:\n"
                  "  - account_sid: AC123\n"
                  "    auth_token: T0KEN\n"
                  "    from: '+15550000000'\n"
                  "    to: ['+15551111111', '+15552222222']\n"
                  "    api_url: 'http://127.0.0.1:9/'\n"
                  "    text: 'Down: {{commonLabels.alertname}} & co {{incident.ack_url}}'\n");
    assert_int_equal(sms_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_int_equal(f.out.n, 2);
    r = &f.out.v[0];
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->url, "http://127.0.0.1:9/2010-04-01/Accounts/AC123/Messages.json");
    assert_string_equal(r->username, "AC123");
    assert_string_equal(r->password, "T0KEN");
    assert_string_equal(notify_request_header(r, "Content-Type"),
                        "application/x-www-form-urlencoded");
    assert_int_equal(r->ok_status, 201);
    assert_string_equal(r->dest, "sms:+15551111111");
    assert_string_equal(buf_str(&r->body),
                        "To=%2B15551111111&From=%2B15550000000&Body=Down%3A+PostgresDown+%26+co+"
                        "http%3A%2F%2Famrouter.example.com%3A9093%2Fack%2F42.1796040000."
                        "3q2-7Ld9fT0yWb1kVxNcRg");
    assert_null(strstr(r->redacted_url, "T0KEN"));
    assert_string_equal(f.out.v[1].dest, "sms:+15552222222");
    assert_int_equal(strncmp(buf_str(&f.out.v[1].body), "To=%2B15552222222&", 18), 0);
    nfix_release(&f);
}

static void test_acks_need_notify_acks(void **state)
{
    struct nfix f;

    (void)state;
    nfix_load(&f, "  sms_configs:\n  - account_sid: A\n    auth_token: T\n    from: '1'\n"
                  "    to: '2'\n");
    nfix_ack(&f);
    assert_int_equal(sms_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_int_equal(f.out.n, 0);
    nfix_resolve(&f);
    assert_int_equal(sms_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_int_equal(f.out.n, 0);
    nfix_release(&f);

    nfix_load(&f, "  sms_configs:\n  - account_sid: A\n    auth_token: T\n    from: '1'\n"
                  "    to: '2'\n    notify_acks: true\n");
    nfix_ack(&f);
    assert_int_equal(sms_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_int_equal(f.out.n, 1);
    nfix_release(&f);
}

static void test_default_template_fits_one_segment(void **state)
{
    struct nfix f;

    (void)state;
    nfix_load(&f, "  sms_configs:\n  - account_sid: A\n    auth_token: T\n    from: '1'\n"
                  "    to: '2'\n");
    f.opts.merged = 3;
    assert_int_equal(sms_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_int_equal(f.out.n, 1);
    /* Body ends with the merge note, and the whole text is one segment. */
    assert_non_null(strstr(buf_str(&f.out.v[0].body), "+%28%2B3+more%29"));
    nfix_release(&f);
}

static void test_fit_gsm(void **state)
{
    char s[400], *t;

    (void)state;
    /* 160 GSM characters: one segment, unchanged. */
    memset(s, 'a', 160);
    s[160] = '\0';
    assert_int_equal(sms_segments(s), 1);
    t = sms_fit(s, "", 1);
    assert_string_equal(t, s);
    free(t);
    /* 161: two segments; cut to 160 with "...": 157 + 3. */
    s[160] = 'a';
    s[161] = '\0';
    assert_int_equal(sms_segments(s), 2);
    t = sms_fit(s, "", 1);
    assert_int_equal(strlen(t), 160);
    assert_string_equal(t + 157, "...");
    free(t);
    /* Word boundary: "word " repeated: cut after a whole word, no trailing space. */
    for (int i = 0; i < 60; i++)
        memcpy(s + 5 * i, "word ", 6);
    t = sms_fit(s, "", 1);
    assert_true(strlen(t) <= 160);
    assert_string_equal(t + strlen(t) - 7, "word...");
    free(t);
    /* Two segments: 306 septets max; extension characters count two. */
    memset(s, '{', 153);
    s[153] = '\0';
    /* 306 septets, but a 2-septet character never straddles segments: 76 per segment. */
    assert_int_equal(sms_segments(s), 3);
    s[152] = '\0';
    assert_int_equal(sms_segments(s), 2); /* 304 septets = 76 + 76 characters */
    memset(s, 'b', 300);
    s[300] = '\0';
    t = sms_fit(s, " (+2 more)", 2);
    assert_int_equal(strlen(t), 306);
    assert_string_equal(t + 306 - 13, "... (+2 more)");
    assert_int_equal(sms_segments(t), 2);
    free(t);
}

static void test_fit_ucs2(void **state)
{
    char s[400], *t;

    (void)state;
    /* 70 "é"? é is GSM. Use "ж" (U+0436, 2 bytes UTF-8): 70 fit one segment. */
    for (int i = 0; i < 70; i++)
        memcpy(s + 2 * i, "\xD0\xB6", 3);
    assert_int_equal(sms_segments(s), 1);
    memcpy(s + 140, "\xD0\xB6", 3); /* 71 */
    assert_int_equal(sms_segments(s), 2);
    t = sms_fit(s, "", 1);
    /* 69 ж + "…" = 70 units; never a split UTF-8 sequence. */
    assert_int_equal(strlen(t), 69 * 2 + 3);
    assert_string_equal(t + 138, "\xE2\x80\xA6");
    assert_int_equal(sms_segments(t), 1);
    free(t);
    /* An emoji (outside the BMP) takes two units and is never cut in half. */
    memset(s, 'x', 68);
    memcpy(s + 68, "\xF0\x9F\x94\xA5", 4);
    memcpy(s + 72, "zz", 3); /* 68 + 2 + 2 = 72 units: two segments */
    assert_int_equal(sms_segments(s), 2);
    t = sms_fit(s, "", 1);
    assert_string_equal(t + strlen(t) - 3, "\xE2\x80\xA6");
    assert_int_equal(sms_segments(t), 1);
    free(t);
    /* "é" and "€" are GSM: 80 é is one GSM segment. */
    for (int i = 0; i < 80; i++)
        memcpy(s + 2 * i, "\xC3\xA9", 3);
    assert_int_equal(sms_segments(s), 1);
}

/* The process-wide SMS throttle: a storm to one number is merged, not dropped. */
static void test_throttle_gate_merges(void **state)
{
    struct nfix f;
    int64_t until = 0, t0 = FIX_NOW;

    (void)state;
    nfix_load(&f, "  sms_configs:\n  - account_sid: A\n    auth_token: T\n    from: '1'\n"
                  "    to: '+4900'\n");
    for (int i = 0; i < 4; i++)
        assert_int_equal(sms_build(f.nc, f.ctx, &f.opts, &f.out, &f.err), 0);
    assert_int_equal(f.out.n, 4);
    /* The first goes at once; the next three wait for the minute to pass. */
    assert_int_equal(sms_throttle_gate(&f.out.v[0], t0, &until), 0);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(sms_throttle_gate(&f.out.v[i], t0 + 1000 * i, &until), 2);
        assert_int_equal(until, t0 + 60000);
        assert_true(f.out.v[i].queued);
    }
    /* The third is given up (its job superseded): it leaves the queue. */
    sms_throttle_forget(&f.out.v[2]);
    assert_false(f.out.v[2].queued);
    /* At the minute, whichever asks first carries the other: "(+1 more)". */
    assert_int_equal(sms_throttle_gate(&f.out.v[3], t0 + 60000, &until), 0);
    assert_true(f.out.v[1].absorbed);
    assert_int_equal(f.out.v[3].merged, 1);
    assert_non_null(strstr(buf_str(&f.out.v[3].body), "+%28%2B1+more%29"));
    assert_int_equal(sms_throttle_gate(&f.out.v[1], t0 + 60001, &until), 1);
    /* Another number is not held by this one. */
    nfix_release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_acks_need_notify_acks),
        cmocka_unit_test(test_default_template_fits_one_segment),
        cmocka_unit_test(test_fit_gsm),
        cmocka_unit_test(test_fit_ucs2),
        cmocka_unit_test(test_throttle_gate_merges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
