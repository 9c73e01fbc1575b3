/*
 * test_duration.c - Prometheus durations: parsing every unit, combinations,
 * rejected forms, overflow, and the canonical printing of
 * model.Duration.String().
 */
#include "core/duration.h"
#include "core/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define S 1000LL
#define M (60 * S)
#define H (60 * M)
#define D (24 * H)
#define W (7 * D)
#define Y (365 * D)

static void check_ok(const char *s, int64_t want, const char *canon)
{
    struct error err;
    int64_t got = -1;
    char out[DURATION_STRMAX];

    if (duration_parse(s, &got, &err) != 0)
        fail_msg("%s: %s", s, err.msg);
    assert_int_equal(got, want);
    assert_string_equal(duration_format(got, out, sizeof(out)), canon);
}

static void check_bad(const char *s, const char *msg)
{
    struct error err;
    int64_t got = 42;

    assert_int_equal(duration_parse(s, &got, &err), -1);
    assert_int_equal(got, 42);
    assert_string_equal(err.msg, msg);
}

/* The canonical forms below for 90m, 8d, 14d, 366d, 1y1ms, 52w1d, 1500ms, 0h0m1s,
 * 1w1h, 0, 9223372036854ms and 01s are what Alertmanager 0.25.0 printed for
 * them (route timers in the config echoed by GET /api/v2/status). */
static void test_parse(void **state)
{
    (void)state;
    check_ok("0", 0, "0s");
    check_ok("0s", 0, "0s");
    check_ok("500ms", 500, "500ms");
    check_ok("30s", 30 * S, "30s");
    check_ok("5m", 5 * M, "5m");
    check_ok("1h30m", H + 30 * M, "1h30m");
    check_ok("90m", 90 * M, "1h30m");
    check_ok("2d", 2 * D, "2d");
    check_ok("1w", W, "1w");
    check_ok("1y", Y, "1y");
    check_ok("1y2w3d4h5m6s7ms", Y + 2 * W + 3 * D + 4 * H + 5 * M + 6 * S + 7, "382d4h5m6s7ms");
    check_ok("8d", 8 * D, "8d");
    check_ok("14d", 14 * D, "2w");
    check_ok("1500ms", 1500, "1s500ms");
    check_ok("0h0m1s", S, "1s");
    /* Every unit alone. */
    check_ok("1ms", 1, "1ms");
    check_ok("1s", S, "1s");
    check_ok("1m", M, "1m");
    check_ok("1h", H, "1h");
    check_ok("1d", D, "1d");
    check_ok("0ms", 0, "0s");
    check_ok("01s", S, "1s"); /* Prometheus' [0-9]+ allows leading zeros */
    /* Combinations and canonical forms as model.Duration.String() prints them:
     * years and weeks only when exact, everything else largest unit first. */
    check_ok("7d", W, "1w");
    check_ok("365d", Y, "1y");
    check_ok("366d", 366 * D, "366d");
    check_ok("52w1d", Y, "1y");
    check_ok("1y1ms", Y + 1, "365d1ms");
    check_ok("1w1h", W + H, "7d1h");
    check_ok("2w", 2 * W, "2w");
    check_ok("3600s", H, "1h");
    check_ok("86400000ms", D, "1d");
    check_ok("1h0m0s", H, "1h");
    check_ok("1d1h1m1s1ms", D + H + M + S + 1, "1d1h1m1s1ms");
    /* The largest value Go's time.Duration holds, in ms. */
    check_ok("9223372036854ms", 9223372036854LL, "106751d23h47m16s854ms");
    check_ok("292y", 292 * Y, "292y");
}

static void test_roundtrip(void **state)
{
    static const int64_t vals[] = {1,
                                   999,
                                   1000,
                                   59999,
                                   60000,
                                   3599999,
                                   3600000,
                                   86399999,
                                   86400000,
                                   604800000,
                                   31536000000LL,
                                   31536000001LL,
                                   123456789012LL,
                                   9223372036854LL};

    (void)state;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char out[DURATION_STRMAX];
        int64_t back;
        struct error err;

        duration_format(vals[i], out, sizeof(out));
        assert_int_equal(duration_parse(out, &back, &err), 0);
        assert_int_equal(back, vals[i]);
    }
}

static void test_format_edges(void **state)
{
    char out[DURATION_STRMAX];
    char tiny[4];

    (void)state;
    assert_string_equal(duration_format(0, out, sizeof(out)), "0s");
    assert_string_equal(duration_format(-90 * M, out, sizeof(out)), "-1h30m");
    assert_string_equal(duration_format(INT64_MIN, out, sizeof(out)),
                        "-106751991167d7h12m55s807ms");
    /* Truncated, never overflowed. */
    assert_string_equal(duration_format(D + H + M, tiny, sizeof(tiny)), "1d1");
}

static void test_bad(void **state)
{
    (void)state;
    check_bad("5x", "invalid duration \"5x\"");
    check_bad("", "invalid duration \"\"");
    check_bad("1m1h", "invalid duration \"1m1h\"");
    check_bad("1h1h", "invalid duration \"1h1h\"");
    check_bad("-1s", "invalid duration \"-1s\"");
    check_bad("1.5h", "invalid duration \"1.5h\"");
    check_bad("s", "invalid duration \"s\"");
    check_bad("5", "invalid duration \"5\"");
    check_bad(" 5s", "invalid duration \" 5s\"");
    check_bad("300y", "invalid duration \"300y\": duration out of range");
    check_bad("1s1", "invalid duration \"1s1\"");
    check_bad("1 s", "invalid duration \"1 s\"");
    check_bad("+1s", "invalid duration \"+1s\"");
    check_bad("1S", "invalid duration \"1S\"");
    check_bad("1H", "invalid duration \"1H\"");
    check_bad("1mss", "invalid duration \"1mss\"");
    check_bad("1ms1s", "invalid duration \"1ms1s\"");
    check_bad("1d1w", "invalid duration \"1d1w\"");
    check_bad("1s ", "invalid duration \"1s \"");
    check_bad("00", "invalid duration \"00\"");
    check_bad("1e3s", "invalid duration \"1e3s\"");
    check_bad("293y", "invalid duration \"293y\": duration out of range");
    check_bad("9223372036855ms", "invalid duration \"9223372036855ms\": duration out of range");
    check_bad("292y50w", "invalid duration \"292y50w\": duration out of range");
    check_bad("99999999999999999999s",
              "invalid duration \"99999999999999999999s\": duration out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_format_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
