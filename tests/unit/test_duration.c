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
    check_bad("99999999999999999999s",
              "invalid duration \"99999999999999999999s\": duration out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
