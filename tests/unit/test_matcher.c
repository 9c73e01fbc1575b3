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
#include <stdbool.h>
#include <string.h>
#include <cmocka.h>

/* Parses s and returns the formatted list (sorted when `sort`), or
 * "ERR <message>". The caller frees. */
static char *roundtrip(const char *s, bool sort)
{
    struct matchers ms = MATCHERS_INIT;
    struct error err;
    struct buf b;

    buf_init(&b, 1 << 16);
    if (matchers_parse(&ms, s, &err) < 0) {
        buf_printf(&b, "ERR %s", err.msg);
        assert_int_equal(ms.n, 0);
    } else {
        if (sort)
            matchers_sort(&ms);
        assert_int_equal(buf_appends(&b, "OK "), 0);
        assert_int_equal(matchers_format(&ms, &b), 0);
    }
    matchers_release(&ms);
    return buf_detach(&b);
}

/*
 * Vectors from Alertmanager 0.25.0 itself (Debian prometheus-alertmanager): each
 * input was put in a route's `matchers:` list and run through
 * `amtool config routes --config.file=...`, which parses it with Alertmanager's
 * ParseMatchers and prints the route's matchers sorted, with Matchers.String().
 * The error texts are amtool's too, except for regexes (see test_regex_errors).
 */
static const struct {
    const char *in;
    const char *want;
} am_vectors[] = {
    {"a=b", "OK {a=\"b\"}"},
    {"a=\"b\"", "OK {a=\"b\"}"},
    {"{a=\"b\"}", "OK {a=\"b\"}"},
    {"{a=b,}", "OK {a=\"b\"}"},
    {"{a=b, }", "OK {a=\"b\"}"},
    {"{ a = b }", "OK {a=\"b\"}"},
    {" {a=b}", "ERR bad matcher format: {a=b"},
    {"{a=b} ", "OK {a=\"b}\"}"},
    {"a=b}", "OK {a=\"b\"}"},
    {"{a=b", "OK {a=\"b\"}"},
    {"a!=b", "OK {a!=\"b\"}"},
    {"a=~b", "OK {a=~\"b\"}"},
    {"a!~b", "OK {a!~\"b\"}"},
    {"a=~\"b.*\"", "OK {a=~\"b.*\"}"},
    {"a = \"b\" , c =~ \"d\"", "OK {a=\"b\",c=~\"d\"}"},
    {"a=b,,c=d", "ERR bad matcher format: "},
    {",a=b", "ERR bad matcher format: "},
    {"a=b,", "OK {a=\"b\"}"},
    {"a=", "OK {a=\"\"}"},
    {"a=\"\"", "OK {a=\"\"}"},
    {"a", "ERR bad matcher format: a"},
    {"=b", "ERR bad matcher format: =b"},
    {"1a=b", "ERR bad matcher format: 1a=b"},
    {"a-b=c", "ERR bad matcher format: a-b=c"},
    {"a:b=c", "OK {a:b=\"c\"}"},
    {":a=c", "OK {:a=\"c\"}"},
    {"_=x", "OK {_=\"x\"}"},
    {"a==b", "OK {a=\"=b\"}"},
    {"a=!b", "OK {a=\"!b\"}"},
    {"a=~~b", "OK {a=~\"~b\"}"},
    {"a!==b", "OK {a!=\"=b\"}"},
    {"a =~ b c ", "OK {a=~\"b c\"}"},
    {"a=b c", "OK {a=\"b c\"}"},
    {"a=\"b", "ERR matcher value contains unescaped double quote: \"b"},
    {"a=b\"", "ERR matcher value contains unescaped double quote: b\""},
    {"a=\"b\"c\"", "ERR matcher value contains unescaped double quote: \"b\"c\""},
    {"a=\"b\\\"c\"", "OK {a=\"b\\\"c\"}"},
    {"a=\"b\\\\\"", "OK {a=\"b\\\\\"}"},
    {"a=\"b\\nc\"", "OK {a=\"b\\nc\"}"},
    {"a=\"b\\tc\"", "OK {a=\"b\\\\tc\"}"},
    {"a=b\\", "OK {a=\"b\\\\\"}"},
    {"a=\"b\\\"", "ERR matcher value contains unescaped double quote: \"b\\\""},
    {"a=\"x,y\"", "OK {a=\"x,y\"}"},
    {"a=\"x}\"", "OK {a=\"x}\"}"},
    {"{a=\"x}\"}", "OK {a=\"x}\"}"},
    {"a=\"x,y\",b=\"}{\"", "OK {a=\"x,y\",b=\"}{\"}"},
    {"a=x\\,y", "ERR bad matcher format: y"},
    {"a=\"\\\\\",b=c", "OK {a=\"\\\\\",b=\"c\"}"},
    {"a=\"é\"", "OK {a=\"é\"}"},
    {"a=日本", "OK {a=\"日本\"}"},
    {"a=\"🔥,\"", "OK {a=\"🔥,\"}"},
    {"a=\t b \t", "OK {a=\"b\"}"},
    {"a=\"  \"", "OK {a=\"  \"}"},
    {"a=\"\"\"", "ERR matcher value contains unescaped double quote: \"\"\""},
    {"a=~\"x|\"", "OK {a=~\"x|\"}"},
    {"a=~\"\"", "OK {a=~\"\"}"},
    {"a!~\".*\"", "OK {a!~\".*\"}"},
    {"a=~\"(?i)abc\"", "OK {a=~\"(?i)abc\"}"},
    {"{}", "OK {}"},
    {"", "OK {}"},
    {"{", "OK {}"},
    {"}", "OK {}"},
    {"{,}", "ERR bad matcher format: "},
    {" ", "OK {}"},
    {"{ }", "OK {}"},
    {"a=b,c=d,e=f", "OK {a=\"b\",c=\"d\",e=\"f\"}"},
    {"a=\"1\",a=\"2\"", "OK {a=\"1\",a=\"2\"}"},
    {"b=2,a=1", "OK {a=\"1\",b=\"2\"}"},
    {"a=\"new\nline\"", "OK {a=\"new\\nline\"}"},
    {"a\n=\nb", "OK {a=\"b\"}"},
    {"a=b\n", "OK {a=\"b\"}"},
    {"a=\"b\" x", "ERR matcher value contains unescaped double quote: \"b\" x"},
    /* Printing escapes only \\ newline and \" (OpenMetrics), not like strconv.Quote:
     * a tab, a control character and U+00A0 come out raw. */
    {"a=\"x\ty\x01\u00a0\"", "OK {a=\"x\ty\x01\u00a0\"}"},
};

static void test_alertmanager_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(am_vectors) / sizeof(am_vectors[0]); i++) {
        char *got = roundtrip(am_vectors[i].in, true);

        if (strcmp(got, am_vectors[i].want) != 0)
            fail_msg("input [%s]: got [%s], want [%s]", am_vectors[i].in, got, am_vectors[i].want);
        free(got);
    }
}

/* A list keeps the order given (only the route builder sorts). The second case
 * is a route Alertmanager was run with: matchers ['zz="x"', 'b=~"y|z"',
 * 'c!="q\"w\\n"', 'b!~"k"', 'e="é<newline>"', 'f="a,b}"'] plus match {m: v};
 * the webhook groupKey it sent began with exactly this string after "{}/". */
static void test_order_and_route_key(void **state)
{
    char *got;

    (void)state;
    got = roundtrip("b=2,a=1", false);
    assert_string_equal(got, "OK {b=\"2\",a=\"1\"}");
    free(got);
    got =
        roundtrip("zz=\"x\",b=~\"y|z\",c!=\"q\\\"w\\\\n\",b!~\"k\",e=\"é\n\",f=\"a,b}\",m=v", true);
    assert_string_equal(got, "OK {b!~\"k\",b=~\"y|z\",c!=\"q\\\"w\\\\n\",e=\"é\\n\",f=\"a,b}\","
                             "m=\"v\",zz=\"x\"}");
    free(got);
}

static void check_regex_err(const char *in, const char *want)
{
    char *got = roundtrip(in, false);

    assert_string_equal(got, want);
    free(got);
}

/* Alertmanager says "error parsing regexp: missing closing ): `^(?:()$`" (Go's
 * RE2 message); amrouter names the matcher value and gives PCRE2's reason. */
static void test_regex_errors(void **state)
{
    (void)state;
    check_regex_err("a=~\"(\"",
                    "ERR invalid regular expression \"(\": missing closing parenthesis");
    check_regex_err("a=~\"[\"", "ERR invalid regular expression \"[\": missing terminating ] for "
                                "character class");
    check_regex_err("a!~\"a{2,1}\"", "ERR invalid regular expression \"a{2,1}\": numbers out of "
                                     "order in {} quantifier");
    check_regex_err("x=b,a=~\"*\"", "ERR invalid regular expression \"*\": quantifier does not "
                                    "follow a repeatable item");
}

static void test_single_matcher(void **state)
{
    struct matcher m;
    struct error err;
    struct buf b;

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(matcher_parse(&m, " severity =~ \"crit|page\" ", &err), 0);
    assert_int_equal(m.op, MATCH_RE);
    assert_string_equal(m.name, "severity");
    assert_string_equal(m.value, "crit|page");
    assert_int_equal(matcher_format(&m, &b), 0);
    assert_string_equal(buf_str(&b), "severity=~\"crit|page\"");
    matcher_release(&m);
    /* One matcher, so the comma belongs to the value. */
    assert_int_equal(matcher_parse(&m, "a=b,c=d", &err), 0);
    assert_string_equal(m.value, "b,c=d");
    matcher_release(&m);
    assert_int_equal(matcher_parse(&m, "a~b", &err), -1);
    assert_string_equal(err.msg, "bad matcher format: a~b");
    assert_null(m.name);
    matcher_release(&m);
    /* A tiny cap: formatting fails cleanly. */
    buf_release(&b);
    buf_init(&b, 4);
    assert_int_equal(matcher_init(&m, MATCH_EQ, "name", "v", &err), 0);
    assert_int_equal(matcher_format(&m, &b), -1);
    matcher_release(&m);
    buf_release(&b);
}

static void test_parse_appends_or_leaves_unchanged(void **state)
{
    struct matchers ms = MATCHERS_INIT;
    struct error err;

    (void)state;
    assert_int_equal(matchers_parse(&ms, "a=1", &err), 0);
    assert_int_equal(matchers_parse(&ms, "{b=2,c=3}", &err), 0);
    assert_int_equal(ms.n, 3);
    assert_int_equal(matchers_parse(&ms, "d=4,e=~\"(\"", &err), -1);
    assert_int_equal(ms.n, 3);
    assert_string_equal(ms.v[2].name, "c");
    assert_int_equal(matchers_parse(&ms, "a=\"\xff\"", &err), -1);
    assert_int_equal(ms.n, 3);
    matchers_release(&ms);
    matchers_release(NULL);
}

static void test_init_errors(void **state)
{
    struct matcher m;
    struct error err;

    (void)state;
    assert_int_equal(matcher_init(&m, MATCH_EQ, "1x", "v", &err), -1);
    assert_string_equal(err.msg, "invalid label name \"1x\"");
    assert_int_equal(matcher_init(&m, MATCH_EQ, "", "v", &err), -1);
    assert_string_equal(err.msg, "invalid label name \"\"");
    assert_int_equal(matcher_init(&m, MATCH_EQ, "a", "\xc3", &err), -1);
    assert_string_equal(err.msg, "matcher value not valid UTF-8: \"\\xc3\"");
    assert_int_equal(matcher_init(&m, (enum match_op)7, "a", "v", &err), -1);
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", "(", &err), -1);
    assert_null(m.re);
    assert_null(m.name);
}

static void test_match(void **state)
{
    struct matcher m;
    struct error err;

    (void)state;
    /* Anchored: the whole value must match, like Alertmanager's ^(?:re)$. */
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", "b|c", &err), 0);
    assert_true(matcher_matches(&m, "b"));
    assert_true(matcher_matches(&m, "c"));
    assert_false(matcher_matches(&m, "bc"));
    assert_false(matcher_matches(&m, "ab"));
    /* '$' is end of string only (RE2), not "before a final newline" (PCRE default). */
    assert_false(matcher_matches(&m, "b\n"));
    assert_false(matcher_matches_empty(&m));
    matcher_release(&m);
    assert_int_equal(matcher_init(&m, MATCH_NRE, "a", ".*", &err), 0);
    assert_false(matcher_matches(&m, ""));
    assert_false(matcher_matches(&m, "x"));
    assert_true(matcher_matches(&m, "x\ny"));  /* '.' does not match newline, as in RE2 */
    assert_false(matcher_matches(&m, "x\ry")); /* but it does match '\r' */
    assert_false(matcher_matches_empty(&m));
    matcher_release(&m);
    assert_int_equal(matcher_init(&m, MATCH_NE, "a", "x", &err), 0);
    assert_true(matcher_matches_empty(&m));
    assert_true(matcher_matches(&m, NULL));
    assert_false(matcher_matches(&m, "x"));
    matcher_release(&m);
    assert_int_equal(matcher_init(&m, MATCH_EQ, "a", "", &err), 0);
    assert_true(matcher_matches_empty(&m));
    matcher_release(&m);
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", "x|", &err), 0);
    assert_true(matcher_matches_empty(&m));
    matcher_release(&m);
    /* UTF mode: '.' is one code point; (?i) folds beyond ASCII. */
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", "h.llo", &err), 0);
    assert_true(matcher_matches(&m, "héllo"));
    assert_false(matcher_matches(&m, "h\xff"
                                     "llo"));
    matcher_release(&m);
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", "(?i)ÉTÉ", &err), 0);
    assert_true(matcher_matches(&m, "été"));
    matcher_release(&m);
    /* A value that closes the group early behaves as in Alertmanager:
     * ^(?:a)|(b)$ matches anything starting with a. */
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", "a)|(b", &err), 0);
    assert_true(matcher_matches(&m, "axyz"));
    assert_false(matcher_matches(&m, "xb "));
    matcher_release(&m);
}

static void test_matchers_match_labels(void **state)
{
    struct matchers ms = MATCHERS_INIT;
    struct labels ls = LABELS_INIT;
    struct error err;

    (void)state;
    assert_true(matchers_match(&ms, &ls)); /* empty list matches everything */
    assert_int_equal(matchers_parse(&ms, "{severity=~\"crit|page\", team!=\"db\", env=\"\"}", &err),
                     0);
    assert_int_equal(labels_set(&ls, "severity", "page"), 0);
    /* team and env missing: compare as "". */
    assert_true(matchers_match(&ms, &ls));
    assert_int_equal(labels_set(&ls, "team", "db"), 0);
    assert_false(matchers_match(&ms, &ls));
    assert_int_equal(labels_set(&ls, "team", "web"), 0);
    assert_int_equal(labels_set(&ls, "env", "prod"), 0);
    assert_false(matchers_match(&ms, &ls));
    labels_release(&ls);
    matchers_release(&ms);
}

static void test_copy_sort_equal(void **state)
{
    struct matchers a = MATCHERS_INIT, b = MATCHERS_INIT;
    struct matcher m;
    struct error err;
    struct buf out;

    (void)state;
    buf_init(&out, 1024);
    assert_int_equal(matchers_parse(&a, "b=~\"x\",b!=\"x\",b=\"x\",b!~\"x\",a=\"z\",b=\"w\"", &err),
                     0);
    assert_int_equal(matchers_copy(&b, &a), 0);
    assert_true(matchers_equal(&a, &b));
    /* The copy has its own compiled regex. */
    assert_ptr_not_equal(a.v[0].re, b.v[0].re);
    assert_true(matcher_matches(&b.v[0], "x"));
    matchers_sort(&b);
    assert_false(matchers_equal(&a, &b));
    assert_int_equal(matchers_format(&b, &out), 0);
    /* Alertmanager's order: name, then value, then = != =~ !~. */
    assert_string_equal(buf_str(&out), "{a=\"z\",b=\"w\",b=\"x\",b!=\"x\",b=~\"x\",b!~\"x\"}");
    assert_int_equal(matcher_init(&m, MATCH_EQ, "c", "1", &err), 0);
    assert_int_equal(matchers_push(&b, &m), 0);
    assert_null(m.name); /* ownership moved */
    assert_int_equal(b.n, 7);
    assert_string_equal(match_op_str(MATCH_NRE), "!~");
    matchers_release(&a);
    matchers_release(&b);
    buf_release(&out);
}

/* Hostile input must fail cleanly and quickly, never crash. */
static void test_hostile(void **state)
{
    struct matchers ms = MATCHERS_INIT;
    struct matcher m;
    struct error err;
    struct buf big;
    static const char seed[] = "a=~\"b\\\"\",c";
    char bytes[sizeof(seed)];

    (void)state;
    /* Catastrophic backtracking hits the match limit and counts as no match. */
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", "(a+)+b", &err), 0);
    assert_false(matcher_matches(&m, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"));
    matcher_release(&m);
    /* Long values with a repeated group (the JIT stack overflows, the
     * interpreter takes over) still match as in Go. */
    buf_init(&big, 1 << 20);
    for (int i = 0; i < 100000; i++)
        buf_appends(&big, i % 2 ? "a" : "b");
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", "(a|b)*", &err), 0);
    assert_true(matcher_matches(&m, buf_str(&big)));
    matcher_release(&m);
    assert_int_equal(matcher_init(&m, MATCH_NRE, "a", "(?:ab?)*x", &err), 0);
    assert_true(matcher_matches(&m, buf_str(&big)));
    matcher_release(&m);
    buf_release(&big);
    /* Deep nesting: a compile error, not a stack overflow. */
    buf_init(&big, 1 << 20);
    for (int i = 0; i < 5000; i++)
        buf_appendc(&big, '(');
    assert_int_equal(matcher_init(&m, MATCH_RE, "a", buf_str(&big), &err), -1);
    assert_non_null(strstr(err.msg, "invalid regular expression \"((((("));
    buf_reset(&big);
    /* A long value parses; a long error message is truncated, not overflowed. */
    buf_appends(&big, "a=\"");
    for (int i = 0; i < 100000; i++)
        buf_appends(&big, "x\\\\");
    buf_appends(&big, "\"");
    assert_int_equal(matchers_parse(&ms, buf_str(&big), &err), 0);
    assert_int_equal(strlen(ms.v[0].value), 200000);
    matchers_release(&ms);
    buf_reset(&big);
    for (int i = 0; i < 100000; i++)
        buf_appends(&big, "!");
    assert_int_equal(matchers_parse(&ms, buf_str(&big), &err), -1);
    assert_true(strlen(err.msg) < ERROR_MSG_MAX);
    buf_release(&big);
    /* Every byte value in every position of a short matcher. */
    for (int c = 1; c < 256; c++) {
        for (int pos = 0; pos < 8; pos++) {
            memcpy(bytes, seed, sizeof(seed));
            bytes[pos] = (char)c;
            if (matchers_parse(&ms, bytes, &err) == 0) {
                struct buf out;

                buf_init(&out, 1024);
                assert_int_equal(matchers_format(&ms, &out), 0);
                buf_release(&out);
            }
            matchers_release(&ms);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alertmanager_vectors),
        cmocka_unit_test(test_order_and_route_key),
        cmocka_unit_test(test_regex_errors),
        cmocka_unit_test(test_single_matcher),
        cmocka_unit_test(test_parse_appends_or_leaves_unchanged),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_matchers_match_labels),
        cmocka_unit_test(test_copy_sort_equal),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
