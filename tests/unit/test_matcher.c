/*
 * test_matcher.c - matcher parsing (Alertmanager 0.25 classic syntax and its
 * edge cases), printing as Alertmanager's Matcher.String()/Matchers.String(),
 * regex anchoring and matching, and hostile input.
 */
#include "core/buf.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/matcher.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Parses s and returns the formatted list, or "ERR: <message>". The caller frees. */
static char *roundtrip(const char *s)
{
    struct matchers ms = MATCHERS_INIT;
    struct error err;
    struct buf b;

    buf_init(&b, 1 << 16);
    if (matchers_parse(&ms, s, &err) < 0) {
        buf_printf(&b, "ERR: %s", err.msg);
        assert_int_equal(ms.n, 0);
    } else {
        assert_int_equal(matchers_format(&ms, &b), 0);
    }
    matchers_release(&ms);
    return buf_detach(&b);
}

#define assert_parses_to(in, want)                                                                 \
    do {                                                                                           \
        char *got_ = roundtrip(in);                                                                \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

static void test_parse_basic(void **state)
{
    (void)state;
    assert_parses_to("", "{}");
    assert_parses_to("{}", "{}");
    assert_parses_to("a=b", "{a=\"b\"}");
    assert_parses_to("a=\"b\"", "{a=\"b\"}");
    assert_parses_to("a!=b", "{a!=\"b\"}");
    assert_parses_to("a=~b.*", "{a=~\"b.*\"}");
    assert_parses_to("a!~\"b|c\"", "{a!~\"b|c\"}");
    assert_parses_to("{a=\"b\", c=~\"d\"}", "{a=\"b\",c=~\"d\"}");
    assert_parses_to("{foo = \"bar\", dings != \"bums\", }", "{foo=\"bar\",dings!=\"bums\"}");
    assert_parses_to("foo=bar,dings!=bums", "{foo=\"bar\",dings!=\"bums\"}");
    assert_parses_to("a=", "{a=\"\"}");
    assert_parses_to("a=\"\"", "{a=\"\"}");
    assert_parses_to("job:rate5m=x", "{job:rate5m=\"x\"}");
}

static void test_parse_errors(void **state)
{
    (void)state;
    assert_parses_to("a", "ERR: bad matcher format: \"a\"");
    assert_parses_to("=b", "ERR: bad matcher format: \"=b\"");
    assert_parses_to("1a=b", "ERR: bad matcher format: \"1a=b\"");
    assert_parses_to("a==b,c=d", "{a=\"=b\",c=\"d\"}");
    assert_parses_to("a=~\"(\"",
                     "ERR: invalid regular expression \"(\": missing closing parenthesis");
    assert_parses_to("a=b,,c=d", "ERR: bad matcher format: \"\"");
    assert_parses_to("a=\"b", "ERR: matcher value contains unescaped double quote: \"\\\"b\"");
}

static void test_match(void **state)
{
    struct matcher m;
    struct error err;

    (void)state;
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", "b|c", &err), 0);
    assert_true(matcher_matches(&m, "b"));
    assert_true(matcher_matches(&m, "c"));
    assert_false(matcher_matches(&m, "bc"));
    assert_false(matcher_matches(&m, "ab"));
    assert_false(matcher_matches(&m, "b\n"));
    assert_false(matcher_matches_empty(&m));
    matcher_release(&m);
    assert_int_equal(matcher_init(&m, MATCH_NRE, "a", ".*", &err), 0);
    assert_false(matcher_matches(&m, ""));
    assert_false(matcher_matches(&m, "x"));
    matcher_release(&m);
    assert_int_equal(matcher_init(&m, MATCH_NE, "a", "x", &err), 0);
    assert_true(matcher_matches_empty(&m));
    assert_false(matcher_matches(&m, "x"));
    matcher_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
