/*
 * test_timefmt.c - RFC 3339 in and out: offsets, fractions, the zero time,
 * calendar validation, times before the epoch, and both output forms.
 */
#include "core/timefmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* 2023-11-14T22:13:20Z */
#define T 1700000000000LL

static int64_t parse_ok(const char *s)
{
    int64_t ms = 42;

    if (time_parse_rfc3339(s, &ms) != 0)
        fail_msg("did not parse: %s", s);
    return ms;
}

static void parse_bad(const char *s)
{
    int64_t ms = 42;

    if (time_parse_rfc3339(s, &ms) != -1)
        fail_msg("parsed but should not: %s", s);
    assert_int_equal(ms, 42);
}

static void test_parse_basic(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2023-11-14T22:13:20Z"), T);
    assert_int_equal(parse_ok("2023-11-14t22:13:20z"), T);
    assert_int_equal(parse_ok("1970-01-01T00:00:01Z"), 1000);
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400000LL);
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), 253402300799999LL);
}

static void test_offsets(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2023-11-14T23:13:20+01:00"), T);
    assert_int_equal(parse_ok("2023-11-14T16:43:20-05:30"), T);
    assert_int_equal(parse_ok("2023-11-15T00:00:20+01:47"), T);
    assert_int_equal(parse_ok("2023-11-14T22:13:20+00:00"), T);
    assert_int_equal(parse_ok("2023-11-14T22:13:20-00:00"), T);
    /* An offset can move the date across a day and a year boundary. */
    assert_int_equal(parse_ok("2023-12-31T23:30:00-01:00"), parse_ok("2024-01-01T00:30:00Z"));
    assert_int_equal(parse_ok("2024-01-01T00:30:00+23:59"), parse_ok("2023-12-31T00:31:00Z"));
}

static void test_fractions(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2023-11-14T22:13:20.1Z"), T + 100);
    assert_int_equal(parse_ok("2023-11-14T22:13:20.12Z"), T + 120);
    assert_int_equal(parse_ok("2023-11-14T22:13:20.123Z"), T + 123);
    /* More digits than milliseconds are cut, not rounded (Go truncates too when
     * converting to ms). */
    assert_int_equal(parse_ok("2023-11-14T22:13:20.123999999Z"), T + 123);
    assert_int_equal(parse_ok("2023-11-14T22:13:20.000000001Z"), T);
    assert_int_equal(parse_ok("2023-11-14T23:13:20.5+01:00"), T + 500);
}

static void test_zero_time(void **state)
{
    char out[TIME_STRMAX];

    (void)state;
    assert_int_equal(parse_ok("0001-01-01T00:00:00Z"), TIME_UNSET);
    assert_int_equal(parse_ok("0001-01-01T00:00:00.000Z"), TIME_UNSET);
    assert_int_equal(parse_ok("0001-01-01T00:00:00.000000000Z"), TIME_UNSET);
    assert_int_equal(parse_ok("0001-01-01T01:00:00+01:00"), TIME_UNSET); /* the same instant */
    assert_string_equal(time_format_rfc3339(TIME_UNSET, out, sizeof(out)),
                        "0001-01-01T00:00:00.000Z");
    assert_string_equal(time_format_rfc3339nano(TIME_UNSET, out, sizeof(out)),
                        "0001-01-01T00:00:00Z");
    /* Not the zero time: a millisecond later. */
    assert_true(parse_ok("0001-01-01T00:00:00.001Z") != TIME_UNSET);
}

static void test_invalid(void **state)
{
    (void)state;
    parse_bad("");
    parse_bad("2023-11-14");
    parse_bad("2023-11-14T22:13:20");      /* no offset */
    parse_bad("2023-11-14 22:13:20Z");     /* space instead of T */
    parse_bad("2023-11-14T22:13:20+0100"); /* offset without colon */
    parse_bad("2023-11-14T22:13:20+01");
    parse_bad("2023-11-14T22:13:20.Z"); /* dot without digits */
    parse_bad("2023-11-14T22:13:20Zjunk");
    parse_bad("2023-11-14T22:13:20Z ");
    parse_bad(" 2023-11-14T22:13:20Z");
    parse_bad("2023-13-01T00:00:00Z");
    parse_bad("2023-00-01T00:00:00Z");
    parse_bad("2023-02-29T00:00:00Z"); /* not a leap year */
    parse_bad("1900-02-29T00:00:00Z"); /* century, not leap */
    parse_bad("2023-04-31T00:00:00Z");
    parse_bad("2023-01-00T00:00:00Z");
    parse_bad("2023-01-32T00:00:00Z");
    parse_bad("2023-01-01T24:00:00Z");
    parse_bad("2023-01-01T23:60:00Z");
    parse_bad("2023-01-01T23:59:60Z");      /* Go rejects leap seconds too */
    parse_bad("9999-12-31T23:59:59-01:00"); /* year 10000 in UTC: cannot be printed */
    parse_bad("0000-01-01T00:00:00+00:01"); /* year -1 in UTC */
    parse_bad("2023-01-01T23:59:61Z");
    parse_bad("2023-01-01T00:00:00+24:00");
    parse_bad("2023-01-01T00:00:00+01:60");
    parse_bad("23-01-01T00:00:00Z");
    parse_bad("2023-1-01T00:00:00Z");
    parse_bad("2023-01-01T0:00:00Z");
    parse_bad("yesterday");
    parse_bad("2023-01-01T00:00:00.12a4Z");
    parse_bad("+2023-01-01T00:00:00Z");
}

static void test_format(void **state)
{
    char out[TIME_STRMAX];

    (void)state;
    assert_string_equal(time_format_rfc3339(T, out, sizeof(out)), "2023-11-14T22:13:20.000Z");
    assert_string_equal(time_format_rfc3339(T + 7, out, sizeof(out)), "2023-11-14T22:13:20.007Z");
    assert_string_equal(time_format_rfc3339nano(T, out, sizeof(out)), "2023-11-14T22:13:20Z");
    assert_string_equal(time_format_rfc3339nano(T + 500, out, sizeof(out)),
                        "2023-11-14T22:13:20.5Z");
    assert_string_equal(time_format_rfc3339nano(T + 120, out, sizeof(out)),
                        "2023-11-14T22:13:20.12Z");
    assert_string_equal(time_format_rfc3339nano(T + 7, out, sizeof(out)),
                        "2023-11-14T22:13:20.007Z");
    /* Before the epoch. */
    assert_string_equal(time_format_rfc3339(-1, out, sizeof(out)), "1969-12-31T23:59:59.999Z");
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    assert_string_equal(time_format_rfc3339(-86400000LL, out, sizeof(out)),
                        "1969-12-31T00:00:00.000Z");
    assert_string_equal(time_format_rfc3339(951782400000LL, out, sizeof(out)),
                        "2000-02-29T00:00:00.000Z");
}

static void test_roundtrip(void **state)
{
    static const int64_t vals[] = {1,
                                   999,
                                   1000,
                                   T,
                                   T + 1,
                                   T + 999,
                                   -1,
                                   -1001,
                                   951782400000LL,
                                   4102444799999LL,
                                   253402300799999LL};

    (void)state;
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char out[TIME_STRMAX];

        assert_int_equal(parse_ok(time_format_rfc3339(vals[i], out, sizeof(out))), vals[i]);
        assert_int_equal(parse_ok(time_format_rfc3339nano(vals[i], out, sizeof(out))), vals[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic), cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_fractions),   cmocka_unit_test(test_zero_time),
        cmocka_unit_test(test_invalid),     cmocka_unit_test(test_format),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
