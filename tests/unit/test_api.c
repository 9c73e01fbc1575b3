/*
 * test_api.c - request validation (api/parse.h) and the endpoint handlers
 * (api/api.h) driven through http_dispatch() against a fake engine, so every
 * status code and message is checked without a network or a database.
 */
#include "api/api.h"
#include "api/parse.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/matcher.h"
#include "core/timefmt.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define T(s) s, strlen(s)

/* ------------------------------------------------------------ alerts */

struct parsed {
    struct alert *v;
    size_t n;
    enum api_bad bad;
    struct error err;
    int rc;
};

static void parse(struct parsed *p, const char *body)
{
    memset(p, 0, sizeof(*p));
    p->rc = api_parse_alerts(body, strlen(body), &p->v, &p->n, &p->bad, &p->err);
    if (p->rc < 0) {
        assert_null(p->v);
        assert_int_equal(p->n, 0);
    }
}

/* Asserts that body is refused with exactly msg and the given error shape. */
static void refused(const char *body, enum api_bad bad, const char *msg)
{
    struct parsed p;

    parse(&p, body);
    if (p.rc != -1)
        fail_msg("accepted: %s", body);
    assert_string_equal(p.err.msg, msg);
    assert_int_equal(p.bad, bad);
}

static void test_alerts_valid_batch(void **state)
{
    struct parsed p;
    char fp[FINGERPRINT_STRLEN];
    int64_t t;

    (void)state;
    parse(&p, "[{\"labels\":{\"alertname\":\"Test\",\"instance\":\"i1\",\"severity\":\"page\","
              "\"empty\":\"\"},"
              "\"annotations\":{\"summary\":\"héllo\"},"
              "\"startsAt\":\"2026-11-23T11:59:59.5Z\",\"endsAt\":\"2026-11-23T13:00:00+01:00\","
              "\"generatorURL\":\"http://prom:9090/graph?g0.expr=up\","
              "\"status\":\"firing\",\"receivers\":[\"x\"],\"unknownField\":{\"a\":1}},"
              " {\"labels\":{\"b\":\"2\"},\"annotations\":null,\"startsAt\":null,"
              "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\"}]");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 2);
    /* Empty label values are dropped, as Alertmanager does. */
    assert_int_equal(p.v[0].labels.n, 3);
    assert_null(labels_get(&p.v[0].labels, "empty"));
    assert_string_equal(labels_get(&p.v[0].annotations, "summary"), "héllo");
    fingerprint_format(p.v[0].fingerprint, fp);
    assert_string_equal(fp, "a3767b45c7d60957"); /* the vector Alertmanager gives */
    assert_int_equal(time_parse_rfc3339("2026-11-23T11:59:59.500Z", &t), 0);
    assert_int_equal(p.v[0].starts_at, t);
    assert_int_equal(p.v[0].ends_at, t + 500); /* 13:00 at +01:00 = 12:00Z */
    assert_string_equal(p.v[0].generator_url, "http://prom:9090/graph?g0.expr=up");
    /* Missing, null and zero times stay unset: the engine applies the defaults. */
    assert_int_equal(p.v[1].starts_at, TIME_UNSET);
    assert_int_equal(p.v[1].ends_at, TIME_UNSET);
    assert_null(p.v[1].generator_url);
    assert_int_equal(p.v[1].annotations.n, 0);
    api_alerts_free(p.v, p.n);
}

static void test_alerts_empty_array_and_equal_times(void **state)
{
    struct parsed p;

    (void)state;
    parse(&p, " [ ] ");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 0);
    assert_null(p.v);
    /* startsAt == endsAt is allowed (Alertmanager only refuses endsAt < startsAt). */
    parse(&p, "[{\"labels\":{\"a\":\"b\"},\"startsAt\":\"2026-01-01T00:00:00Z\","
              "\"endsAt\":\"2026-01-01T00:00:00Z\"}]");
    assert_int_equal(p.rc, 0);
    api_alerts_free(p.v, p.n);
    api_alerts_free(NULL, 0);
}

static void test_alerts_malformed_json(void **state)
{
    struct parsed p;

    (void)state;
    refused("", API_BAD_SHAPE, "empty body: expected a JSON array of alerts");
    parse(&p, "[{\"labels\":{\"a\":\"b\"}},\n {\"labels\": }]");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.bad, API_BAD_SHAPE);
    assert_true(strncmp(p.err.msg, "invalid JSON at line 2, column ", 31) == 0);
    parse(&p, "[{\"labels\":{\"a\":\"b\"}}");
    assert_int_equal(p.rc, -1);
    assert_true(strncmp(p.err.msg, "invalid JSON at line 1, column ", 31) == 0);
    /* A trailing second value is malformed too. */
    parse(&p, "[] []");
    assert_int_equal(p.rc, -1);
    assert_true(strncmp(p.err.msg, "invalid JSON", 12) == 0);
    /* NUL escapes are refused by the JSON parser. */
    parse(&p, "[{\"labels\":{\"a\":\"x\\u0000y\"}}]");
    assert_int_equal(p.rc, -1);
    assert_true(strncmp(p.err.msg, "invalid JSON", 12) == 0);
}

static void test_alerts_hostile_nesting(void **state)
{
    struct parsed p;
    char *deep = malloc(200001);

    (void)state;
    assert_non_null(deep);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = '\0';
    /* The JSON parser's depth limit answers; nothing recurses without bound. */
    parse(&p, deep);
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.bad, API_BAD_SHAPE);
    assert_true(strncmp(p.err.msg, "invalid JSON at line 1, column ", 31) == 0);
    {
        static const char head[] = "[{\"labels\":{\"a\":\"b\"},\"x\":";

        memcpy(deep, head, sizeof(head) - 1);
    }
    parse(&p, deep);
    assert_int_equal(p.rc, -1);
    free(deep);
}

static void test_alerts_invalid_utf8(void **state)
{
    struct parsed p;

    (void)state;
    parse(&p, "[{\"labels\":{\"a\":\"\xff\xfe\"}}]");
    assert_int_equal(p.rc, -1);
    assert_int_equal(p.bad, API_BAD_SHAPE);
    assert_string_equal(p.err.msg, "invalid JSON at line 1, column 17: invalid UTF-8");
    /* An overlong encoding of '/' and a lone surrogate half. */
    parse(&p, "[{\"labels\":{\"a\":\"\xc0\xaf\"}}]");
    assert_int_equal(p.rc, -1);
    assert_non_null(strstr(p.err.msg, "invalid UTF-8"));
    parse(&p, "[{\"labels\":{\"a\":\"\xed\xa0\x80\"}}]");
    assert_int_equal(p.rc, -1);
    assert_non_null(strstr(p.err.msg, "invalid UTF-8"));
}

static void test_alerts_wrong_types(void **state)
{
    (void)state;
    refused("{}", API_BAD_SHAPE, "body: must be an array of alerts, not an object");
    refused("\"x\"", API_BAD_SHAPE, "body: must be an array of alerts, not a string");
    refused("null", API_BAD_SHAPE, "body: must be an array of alerts, not null");
    refused("[1]", API_BAD_SHAPE, "alerts[0]: must be an object, not a number");
    refused("[{\"labels\":{\"a\":\"b\"}}, null]", API_BAD_SHAPE,
            "alerts[1]: must be an object, not null");
    refused("[{\"labels\":[\"a\"]}]", API_BAD_SHAPE,
            "alerts[0].labels: must be an object of strings");
    refused("[{\"labels\":{\"a\":1}}]", API_BAD_SHAPE,
            "alerts[0].labels: must be an object of strings");
    refused("[{\"labels\":{\"a\":\"b\"},\"annotations\":\"x\"}]", API_BAD_SHAPE,
            "alerts[0].annotations: must be an object of strings");
    refused("[{\"labels\":{\"a\":\"b\"},\"annotations\":{\"s\":true}}]", API_BAD_SHAPE,
            "alerts[0].annotations: must be an object of strings");
    refused("[{\"labels\":{\"a\":\"b\"},\"startsAt\":5}]", API_BAD_SHAPE,
            "alerts[0].startsAt: must be a string");
    refused("[{\"labels\":{\"a\":\"b\"},\"endsAt\":{}}]", API_BAD_SHAPE,
            "alerts[0].endsAt: must be a string");
    refused("[{\"labels\":{\"a\":\"b\"},\"generatorURL\":5}]", API_BAD_SHAPE,
            "alerts[0].generatorURL: must be a string");
}

static void test_alerts_missing_or_empty_labels(void **state)
{
    (void)state;
    refused("[{}]", API_BAD_SHAPE, "alerts[0].labels: required");
    refused("[{\"labels\":{\"a\":\"b\"}},{\"labels\":{\"a\":\"b\"}},{\"annotations\":{}}]",
            API_BAD_SHAPE, "alerts[2].labels: required");
    refused("[{\"labels\":null}]", API_BAD_SHAPE, "alerts[0].labels: required");
    refused("[{\"labels\":{}}]", API_BAD_VALUE, "at least one label pair required");
    refused("[{\"labels\":{\"a\":\"b\"}},{\"labels\":{\"b\":\"\"}}]", API_BAD_VALUE,
            "at least one label pair required");
}

static void test_alerts_invalid_names(void **state)
{
    (void)state;
    refused("[{\"labels\":{\"1a\":\"x\"}}]", API_BAD_VALUE,
            "alerts[0].labels: invalid label name \"1a\"");
    refused("[{\"labels\":{\"a-b\":\"x\"}}]", API_BAD_VALUE,
            "alerts[0].labels: invalid label name \"a-b\"");
    refused("[{\"labels\":{\"\":\"x\"}}]", API_BAD_VALUE,
            "alerts[0].labels: invalid label name \"\"");
    refused("[{\"labels\":{\"a\":\"x\"},\"annotations\":{\"1b\":\"y\"}}]", API_BAD_VALUE,
            "alerts[0].annotations: invalid label name \"1b\"");
    /* A colon is valid in metric names but not in label names. */
    refused("[{\"labels\":{\"a:b\":\"x\"}}]", API_BAD_VALUE,
            "alerts[0].labels: invalid label name \"a:b\"");
}

static void test_alerts_bad_times_and_urls(void **state)
{
    (void)state;
    refused("[{\"labels\":{\"a\":\"b\"},\"startsAt\":\"bad\"}]", API_BAD_SHAPE,
            "alerts[0].startsAt: invalid time \"bad\"");
    refused("[{\"labels\":{\"a\":\"b\"},\"endsAt\":\"2026-13-01T00:00:00Z\"}]", API_BAD_SHAPE,
            "alerts[0].endsAt: invalid time \"2026-13-01T00:00:00Z\"");
    refused("[{\"labels\":{\"a\":\"b\"},\"startsAt\":\"2026-01-01\"}]", API_BAD_SHAPE,
            "alerts[0].startsAt: invalid time \"2026-01-01\"");
    refused("[{\"labels\":{\"a\":\"b\"}},{\"labels\":{\"a\":\"c\"},"
            "\"startsAt\":\"2026-01-02T00:00:00Z\",\"endsAt\":\"2026-01-01T00:00:00Z\"}]",
            API_BAD_VALUE, "alerts[1]: start time must be before end time");
    refused("[{\"labels\":{\"a\":\"b\"},\"generatorURL\":\"not a url\"}]", API_BAD_VALUE,
            "alerts[0].generatorURL: must be a URI: \"not a url\"");
    refused("[{\"labels\":{\"a\":\"b\"},\"generatorURL\":\"prom:9090 x\"}]", API_BAD_VALUE,
            "alerts[0].generatorURL: must be a URI: \"prom:9090 x\"");
}

static void test_alerts_generator_url_forms(void **state)
{
    struct parsed p;

    (void)state;
    parse(&p, "[{\"labels\":{\"a\":\"b\"},\"generatorURL\":\"/graph?x=1\"},"
              "{\"labels\":{\"a\":\"c\"},\"generatorURL\":\"https://x.example/y\"},"
              "{\"labels\":{\"a\":\"d\"},\"generatorURL\":\"mailto:a@b\"}]");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.v[0].generator_url, "/graph?x=1");
    api_alerts_free(p.v, p.n);
}

static void test_alerts_large_batch(void **state)
{
    struct buf b;
    struct parsed p;
    char fp0[FINGERPRINT_STRLEN], fp1[FINGERPRINT_STRLEN];

    (void)state;
    buf_init(&b, 1 << 22);
    buf_appendc(&b, '[');
    for (int i = 0; i < 5000; i++)
        buf_printf(&b, "%s{\"labels\":{\"alertname\":\"A\",\"i\":\"%d\"}}", i ? "," : "", i);
    buf_appendc(&b, ']');
    parse(&p, buf_str(&b));
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.n, 5000);
    assert_string_equal(labels_get(&p.v[4999].labels, "i"), "4999");
    fingerprint_format(p.v[0].fingerprint, fp0);
    fingerprint_format(p.v[1].fingerprint, fp1);
    assert_string_not_equal(fp0, fp1);
    api_alerts_free(p.v, p.n);
    /* One bad alert at the end rejects the whole batch. */
    b.len--;
    buf_appends(&b, ",{\"labels\":{\"9\":\"x\"}}]");
    parse(&p, buf_str(&b));
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.err.msg, "alerts[5000].labels: invalid label name \"9\"");
    buf_release(&b);
}

/* ------------------------------------------------------------ silences */

#define NOW_MS 1795000000000LL /* 2026-11-18 */
#define FUTURE "2030-01-01T00:00:00Z"
#define PAST   "2020-01-01T00:00:00Z"
#define PAST2  "2021-01-01T00:00:00Z"
#define M_AB   "{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false}"
#define SIL(m, s, e, rest)                                                                         \
    "{\"matchers\":[" m "],\"startsAt\":\"" s "\",\"endsAt\":\"" e "\"" rest "}"
#define WHO ",\"createdBy\":\"me\",\"comment\":\"c\""

static void sil_refused(const char *body, enum api_bad bad, const char *msg)
{
    struct silence_in in;
    enum api_bad got = 0;
    struct error err = {{0}};

    if (api_parse_silence(T(body), NOW_MS, &in, &got, &err) == 0) {
        api_silence_in_release(&in);
        fail_msg("accepted: %s", body);
    }
    assert_string_equal(err.msg, msg);
    assert_int_equal(got, bad);
    assert_null(in.id);
    assert_int_equal(in.matchers.n, 0);
}

static void test_silence_valid(void **state)
{
    const char *body = "{\"id\":\"6eaa32db-2f74-4407-b902-19fdf925ad10\",\"matchers\":["
                       "{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false},"
                       "{\"name\":\"c\",\"value\":\"d.*\",\"isRegex\":true},"
                       "{\"name\":\"e\",\"value\":\"f\",\"isRegex\":false,\"isEqual\":false},"
                       "{\"name\":\"g\",\"value\":\"h+\",\"isRegex\":true,\"isEqual\":false}],"
                       "\"startsAt\":\"" PAST "\",\"endsAt\":\"" FUTURE "\","
                       "\"createdBy\":\"alice\",\"comment\":\"maintenance\",\"status\":{}}";
    struct silence_in in;
    enum api_bad bad;
    struct error err = {{0}};
    int64_t s, e;

    (void)state;
    assert_int_equal(api_parse_silence(T(body), NOW_MS, &in, &bad, &err), 0);
    assert_string_equal(in.id, "6eaa32db-2f74-4407-b902-19fdf925ad10");
    assert_int_equal(in.matchers.n, 4);
    assert_int_equal(in.matchers.v[0].op, MATCH_EQ);
    assert_int_equal(in.matchers.v[1].op, MATCH_RE);
    assert_int_equal(in.matchers.v[2].op, MATCH_NE);
    assert_int_equal(in.matchers.v[3].op, MATCH_NRE);
    assert_true(matcher_matches(&in.matchers.v[1], "dxx"));
    assert_false(matcher_matches(&in.matchers.v[1], "xdxx")); /* anchored */
    assert_string_equal(in.created_by, "alice");
    assert_string_equal(in.comment, "maintenance");
    /* A start in the past is kept as given: the engine clamps it. */
    assert_int_equal(time_parse_rfc3339(PAST, &s), 0);
    assert_int_equal(time_parse_rfc3339(FUTURE, &e), 0);
    assert_int_equal(in.starts_at, s);
    assert_int_equal(in.ends_at, e);
    api_silence_in_release(&in);
    assert_null(in.comment);
    api_silence_in_release(NULL);
}

static void test_silence_new_and_empty_strings(void **state)
{
    const char *body = SIL(M_AB, PAST, FUTURE, ",\"id\":\"\",\"createdBy\":\"\",\"comment\":\"\"");
    struct silence_in in;
    enum api_bad bad;
    struct error err = {{0}};

    (void)state;
    assert_int_equal(api_parse_silence(T(body), NOW_MS, &in, &bad, &err), 0);
    assert_null(in.id);
    assert_string_equal(in.created_by, "");
    assert_string_equal(in.comment, "");
    api_silence_in_release(&in);
}

static void test_silence_shape_errors(void **state)
{
    (void)state;
    sil_refused("", API_BAD_SHAPE, "empty body: expected a JSON silence object");
    sil_refused("{", API_BAD_SHAPE,
                "invalid JSON at line 1, column 1: string or '}' expected near end of file");
    sil_refused("[]", API_BAD_SHAPE, "body: must be a silence object, not an array");
    sil_refused("{}", API_BAD_SHAPE, "matchers: required");
    sil_refused(SIL("", PAST, FUTURE, WHO), API_BAD_SHAPE,
                "matchers: at least one matcher required");
    sil_refused("{\"matchers\":{}}", API_BAD_SHAPE, "matchers: must be an array, not an object");
    sil_refused(SIL("1", PAST, FUTURE, WHO), API_BAD_SHAPE,
                "matchers[0]: must be an object, not a number");
    sil_refused(SIL("{\"name\":\"a\",\"value\":\"b\"}", PAST, FUTURE, WHO), API_BAD_SHAPE,
                "matchers[0].isRegex: required");
    sil_refused(SIL(M_AB ",{\"name\":\"a\",\"isRegex\":false}", PAST, FUTURE, WHO), API_BAD_SHAPE,
                "matchers[1].value: required");
    sil_refused(SIL("{\"value\":\"b\",\"isRegex\":false}", PAST, FUTURE, WHO), API_BAD_SHAPE,
                "matchers[0].name: required");
    sil_refused(SIL("{\"name\":\"a\",\"value\":\"b\",\"isRegex\":\"no\"}", PAST, FUTURE, WHO),
                API_BAD_SHAPE, "matchers[0].isRegex: must be a boolean, not a string");
    sil_refused(
        SIL("{\"name\":\"a\",\"value\":\"b\",\"isRegex\":false,\"isEqual\":1}", PAST, FUTURE, WHO),
        API_BAD_SHAPE, "matchers[0].isEqual: must be a boolean, not a number");
    sil_refused(SIL("{\"name\":\"a\",\"value\":2,\"isRegex\":false}", PAST, FUTURE, WHO),
                API_BAD_SHAPE, "matchers[0].value: must be a string, not a number");
    sil_refused("{\"matchers\":[" M_AB "],\"endsAt\":\"" FUTURE "\"" WHO "}", API_BAD_SHAPE,
                "startsAt: required");
    sil_refused(SIL(M_AB, "soon", FUTURE, WHO), API_BAD_SHAPE, "startsAt: invalid time \"soon\"");
    sil_refused(SIL(M_AB, PAST, FUTURE, ",\"comment\":\"c\""), API_BAD_SHAPE,
                "createdBy: required");
    sil_refused(SIL(M_AB, PAST, FUTURE, ",\"createdBy\":\"me\""), API_BAD_SHAPE,
                "comment: required");
    sil_refused(SIL(M_AB, PAST, FUTURE, ",\"createdBy\":1,\"comment\":\"c\""), API_BAD_SHAPE,
                "createdBy: must be a string, not a number");
    sil_refused(SIL(M_AB, PAST, FUTURE, ",\"id\":5" WHO), API_BAD_SHAPE, "id: must be a string");
}

static void test_silence_alertmanager_messages(void **state)
{
    (void)state;
    sil_refused(SIL(M_AB, FUTURE, PAST, WHO), API_BAD_VALUE,
                "Failed to create silence: start time must be before end time");
    sil_refused(SIL(M_AB, FUTURE, FUTURE, WHO), API_BAD_VALUE,
                "Failed to create silence: start time must be before end time");
    sil_refused(SIL(M_AB, PAST, PAST2, WHO), API_BAD_VALUE,
                "Failed to create silence: end time can't be in the past");
    sil_refused(SIL("{\"name\":\"1a\",\"value\":\"x\",\"isRegex\":false}", PAST, FUTURE, WHO),
                API_BAD_VALUE,
                "silence invalid: invalid label matcher 0: invalid label name \"1a\"");
    sil_refused(SIL(M_AB ",{\"name\":\"a\",\"value\":\"(\",\"isRegex\":true}", PAST, FUTURE, WHO),
                API_BAD_VALUE,
                "silence invalid: invalid label matcher 1: invalid regular expression \"(\": "
                "missing closing parenthesis");
    sil_refused(SIL("{\"name\":\"a\",\"value\":\"\",\"isRegex\":false}", PAST, FUTURE, WHO),
                API_BAD_VALUE,
                "silence invalid: at least one matcher must not match the empty string");
    sil_refused(SIL("{\"name\":\"a\",\"value\":\".*\",\"isRegex\":true},"
                    "{\"name\":\"b\",\"value\":\"x\",\"isRegex\":false,\"isEqual\":false}",
                    PAST, FUTURE, WHO),
                API_BAD_VALUE,
                "silence invalid: at least one matcher must not match the empty string");
}

/* ------------------------------------------------------------ query parameters */

static struct http_request query_req(struct http_param *q, size_t n)
{
    struct http_request req;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.path = "/api/v2/alerts";
    req.body = "";
    req.query = q;
    req.n_query = n;
    return req;
}

static void test_query_defaults_and_booleans(void **state)
{
    struct http_param q[] = {{"active", "false"},
                             {"silenced", "0"},
                             {"inhibited", "False"},
                             {"unprocessed", ""},
                             {"other", "x"}};
    struct http_request req = query_req(q, 0);
    struct alert_query aq;
    struct error err = {{0}};

    (void)state;
    assert_int_equal(api_parse_alert_query(&req, &aq, &err), 0);
    assert_true(aq.active && aq.silenced && aq.inhibited && aq.unprocessed);
    assert_int_equal(aq.filter.n, 0);
    assert_null(aq.receiver_re);
    api_alert_query_release(&aq);

    req = query_req(q, 5);
    assert_int_equal(api_parse_alert_query(&req, &aq, &err), 0);
    assert_false(aq.active);
    assert_false(aq.silenced);
    assert_false(aq.inhibited);
    assert_true(aq.unprocessed); /* empty = default */
    api_alert_query_release(&aq);
    api_alert_query_release(NULL);
}

static void test_query_bad_boolean(void **state)
{
    struct http_param q[] = {{"silenced", "maybe"}};
    struct http_request req = query_req(q, 1);
    struct alert_query aq;
    struct error err = {{0}};

    (void)state;
    assert_int_equal(api_parse_alert_query(&req, &aq, &err), -1);
    assert_string_equal(err.msg, "silenced: invalid boolean \"maybe\" (want true or false)");
}

static void test_query_filters(void **state)
{
    struct http_param q[] = {{"filter", "alertname=\"Test\""},
                             {"active", "true"},
                             {"filter", "severity=~\"crit|page\""},
                             {"filter", "team!=ops"}};
    struct http_param bad[] = {{"filter", "a=b"}, {"filter", "foo"}};
    struct http_param bad2[] = {{"filter", "a=~\"(\""}};
    struct http_request req = query_req(q, 4);
    struct alert_query aq;
    struct matchers ms = MATCHERS_INIT;
    struct error err = {{0}};

    (void)state;
    assert_int_equal(api_parse_alert_query(&req, &aq, &err), 0);
    assert_int_equal(aq.filter.n, 3);
    assert_int_equal(aq.filter.v[0].op, MATCH_EQ);
    assert_string_equal(aq.filter.v[0].name, "alertname");
    assert_int_equal(aq.filter.v[1].op, MATCH_RE);
    assert_true(matcher_matches(&aq.filter.v[1], "page"));
    assert_false(matcher_matches(&aq.filter.v[1], "pager"));
    assert_int_equal(aq.filter.v[2].op, MATCH_NE);
    api_alert_query_release(&aq);

    req = query_req(bad, 2);
    assert_int_equal(api_parse_alert_query(&req, &aq, &err), -1);
    assert_non_null(strstr(err.msg, "bad matcher format"));
    assert_non_null(strstr(err.msg, "foo"));
    assert_int_equal(api_parse_filters(&req, &ms, &err), -1);
    assert_int_equal(ms.n, 0);

    req = query_req(bad2, 1);
    assert_int_equal(api_parse_filters(&req, &ms, &err), -1);
    assert_non_null(strstr(err.msg, "("));

    req = query_req(q, 4);
    assert_int_equal(api_parse_filters(&req, &ms, &err), 0);
    assert_int_equal(ms.n, 3);
    matchers_release(&ms);
}

static bool re_matches(void *re, const char *s)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);

    pcre2_match_data_free(md);
    return rc >= 0;
}

static void test_query_receiver(void **state)
{
    struct http_param q[] = {{"receiver", "team-.*"}};
    struct http_param bad[] = {{"receiver", "("}};
    struct http_request req = query_req(q, 1);
    struct alert_query aq;
    struct error err = {{0}};

    (void)state;
    assert_int_equal(api_parse_alert_query(&req, &aq, &err), 0);
    assert_non_null(aq.receiver_re);
    assert_true(re_matches(aq.receiver_re, "team-x"));
    assert_false(re_matches(aq.receiver_re, "xteam-x")); /* anchored */
    api_alert_query_release(&aq);

    req = query_req(bad, 1);
    assert_int_equal(api_parse_alert_query(&req, &aq, &err), -1);
    assert_true(strncmp(err.msg, "failed to parse receiver param: ", 32) == 0);
    assert_non_null(strstr(err.msg, "`^(?:()$`"));
}

static void test_uuid(void **state)
{
    (void)state;
    assert_true(api_valid_uuid("6eaa32db-2f74-4407-b902-19fdf925ad10"));
    assert_true(api_valid_uuid("6EAA32DB-2F74-4407-B902-19FDF925AD10"));
    assert_false(api_valid_uuid("nope"));
    assert_false(api_valid_uuid("6eaa32db-2f74-4407-b902-19fdf925ad1"));
    assert_false(api_valid_uuid("6eaa32db-2f74-4407-b902-19fdf925ad10x"));
    assert_false(api_valid_uuid("6eaa32db 2f74-4407-b902-19fdf925ad10"));
    assert_false(api_valid_uuid("6eaa32dg-2f74-4407-b902-19fdf925ad10"));
}

/* ------------------------------------------------------------ handlers with a fake engine */

struct engine {
    bool ready;
    int fail_post; /* 1: post_alerts fails */
    size_t posted;
    size_t post_calls;
    char last_alertname[64];
    struct alert_query last_q;
    size_t last_filter_n;
    bool had_receiver;
    int put_status; /* 0 = succeed */
    char last_silence_comment[64];
    bool last_silence_new;
    int expire_status; /* 0 = succeed */
    char last_id[64];
    int reload_fail;
};

static bool f_ready(struct engine *e)
{
    return e->ready;
}

static int f_reload(struct engine *e, struct error *err)
{
    if (e->reload_fail)
        return error_set(err, "amrouter.yml:3:5: route.receiver: undefined receiver \"x\"");
    return 0;
}

static int f_post_alerts(struct engine *e, struct alert *alerts, size_t n, struct error *err)
{
    e->post_calls++;
    e->posted = n;
    snprintf(e->last_alertname, sizeof(e->last_alertname), "%s",
             labels_get(&alerts[0].labels, "alertname") ? labels_get(&alerts[0].labels, "alertname")
                                                        : "");
    api_alerts_free(alerts, n);
    if (e->fail_post)
        return error_set(err, "storage: disk I/O error");
    return 0;
}

static int f_put_silence(struct engine *e, struct silence_in *in, char id_out[37], int *http_status,
                         struct error *err)
{
    snprintf(e->last_silence_comment, sizeof(e->last_silence_comment), "%s", in->comment);
    e->last_silence_new = in->id == NULL;
    api_silence_in_release(in);
    if (e->put_status) {
        *http_status = e->put_status;
        return error_set(err, "silence not found");
    }
    memcpy(id_out, "11111111-2222-4333-8444-555555555555", 37);
    return 0;
}

static int f_expire(struct engine *e, const char *id, int *http_status, struct error *err)
{
    snprintf(e->last_id, sizeof(e->last_id), "%s", id);
    if (e->expire_status) {
        *http_status = e->expire_status;
        return error_set(err, "silence not found");
    }
    return 0;
}

static json_t *f_query(struct engine *e, const struct alert_query *q)
{
    e->last_q = *q;
    e->last_filter_n = q->filter.n;
    e->had_receiver = q->receiver_re != NULL;
    return json_pack("[{s:s}]", "fingerprint", "a3767b45c7d60957");
}

static json_t *f_groups(struct engine *e, const struct alert_query *q)
{
    (void)e;
    (void)q;
    return json_array();
}

static json_t *f_silences(struct engine *e, const struct matchers *filter)
{
    e->last_filter_n = filter->n;
    return json_array();
}

static json_t *f_get_silence(struct engine *e, const char *id)
{
    snprintf(e->last_id, sizeof(e->last_id), "%s", id);
    if (strcmp(id, "11111111-2222-4333-8444-555555555555") != 0)
        return NULL;
    return json_pack("{s:s}", "id", id);
}

static json_t *f_status(struct engine *e)
{
    (void)e;
    return json_pack("{s:{s:s}}", "cluster", "status", "disabled");
}

static json_t *f_receivers(struct engine *e)
{
    (void)e;
    return json_pack("[{s:s}]", "name", "default");
}

static json_t *f_null(struct engine *e)
{
    (void)e;
    return NULL;
}

static const struct api_engine_ops fake_ops = {
    f_ready, f_reload, f_post_alerts, f_put_silence, f_expire, f_query, f_groups, f_silences,
    f_get_silence, f_status, f_receivers,
    /* incident ops (issue 6): tested in test_api_incidents.c */
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, /* count_states: /metrics has no unit test with fakes */
};

struct call {
    struct http_response resp;
    struct engine eng;
    struct api api;
    struct api_engine_ops ops;
};

static struct call *new_call(void)
{
    struct call *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    c->ops = fake_ops;
    c->eng.ready = true;
    c->api.ops = &c->ops;
    c->api.engine = &c->eng;
    return c;
}

static void call(struct call *c, const char *method, const char *path, const char *body,
                 const struct http_param *q, size_t nq)
{
    struct http_request req;

    memset(&req, 0, sizeof(req));
    free(c->resp.body);
    memset(&c->resp, 0, sizeof(c->resp));
    req.method = method;
    req.path = path;
    req.body = body != NULL ? body : "";
    req.body_len = strlen(req.body);
    req.query = q;
    req.n_query = nq;
    http_dispatch(api_routes, api_n_routes, &c->api, &req, &c->resp);
}

static void end_call(struct call *c)
{
    free(c->resp.body);
    free(c);
}

static const char *body_of(const struct call *c)
{
    return c->resp.body != NULL ? c->resp.body : "";
}

static void test_handler_post_alerts(void **state)
{
    struct call *c = new_call();

    (void)state;
    call(c, "POST", "/api/v2/alerts",
         "[{\"labels\":{\"alertname\":\"X\"}},{\"labels\":{\"b\":\"c\"}}]", NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(body_of(c), "");
    assert_int_equal(c->eng.posted, 2);
    assert_string_equal(c->eng.last_alertname, "X");

    /* Validation error: a JSON string; the engine is not called. */
    c->eng.post_calls = 0;
    call(c, "POST", "/api/v2/alerts", "[{\"labels\":{\"alertname\":\"X\"}},{\"labels\":{}}]", NULL,
         0);
    assert_int_equal(c->resp.status, 400);
    assert_string_equal(c->resp.content_type, "application/json");
    assert_string_equal(body_of(c), "\"at least one label pair required\"");
    assert_int_equal(c->eng.post_calls, 0);

    /* Wrong shape: Alertmanager's {"code":400,"message":...}. */
    call(c, "POST", "/api/v2/alerts", "{}", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    assert_string_equal(
        body_of(c),
        "{\"code\":400,\"message\":\"body: must be an array of alerts, not an object\"}");
    assert_int_equal(c->eng.post_calls, 0);

    /* An empty batch is fine and does not bother the engine. */
    call(c, "POST", "/api/v2/alerts", "[]", NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_int_equal(c->eng.post_calls, 0);

    /* The store failing is a 503 with the reason. */
    c->eng.fail_post = 1;
    call(c, "POST", "/api/v2/alerts", "[{\"labels\":{\"alertname\":\"X\"}}]", NULL, 0);
    assert_int_equal(c->resp.status, 503);
    assert_string_equal(body_of(c), "\"storage: disk I/O error\"");
    end_call(c);
}

static void test_handler_post_alerts_v1(void **state)
{
    struct call *c = new_call();
    json_t *j;

    (void)state;
    call(c, "POST", "/api/v1/alerts", "[{\"labels\":{\"alertname\":\"Y\"}}]", NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(body_of(c), "{\"status\":\"success\"}");
    assert_string_equal(c->eng.last_alertname, "Y");
    call(c, "POST", "/api/v1/alerts", "[{\"labels\":{}}]", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    j = json_loads(body_of(c), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "error");
    assert_string_equal(json_string_value(json_object_get(j, "errorType")), "bad_data");
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "at least one label pair required");
    json_decref(j);
    end_call(c);
}

static void test_handler_get_alerts(void **state)
{
    struct call *c = new_call();
    struct http_param q[] = {{"active", "false"}, {"filter", "a=\"b c\""}, {"receiver", "r.*"}};
    struct http_param bad[] = {{"filter", "foo"}};

    (void)state;
    call(c, "GET", "/api/v2/alerts", NULL, q, 3);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(body_of(c), "[{\"fingerprint\":\"a3767b45c7d60957\"}]");
    assert_false(c->eng.last_q.active);
    assert_true(c->eng.last_q.silenced);
    assert_int_equal(c->eng.last_filter_n, 1);
    assert_true(c->eng.had_receiver);
    call(c, "GET", "/api/v2/alerts", NULL, bad, 1);
    assert_int_equal(c->resp.status, 400);
    assert_non_null(strstr(body_of(c), "bad matcher format"));
    call(c, "HEAD", "/api/v2/alerts/groups", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(body_of(c), "[]");
    call(c, "GET", "/api/v2/alerts/groups", NULL, bad, 1);
    assert_int_equal(c->resp.status, 400);
    end_call(c);
}

static void test_handler_silences(void **state)
{
    struct call *c = new_call();
    struct http_param q[] = {{"filter", "a=b"}, {"filter", "c=~d"}};
    const char *good = SIL(M_AB, PAST, FUTURE, ",\"createdBy\":\"me\",\"comment\":\"hello\"");

    (void)state;
    call(c, "POST", "/api/v2/silences", good, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(body_of(c), "{\"silenceID\":\"11111111-2222-4333-8444-555555555555\"}");
    assert_string_equal(c->eng.last_silence_comment, "hello");
    assert_true(c->eng.last_silence_new);

    c->eng.put_status = 404;
    call(c, "POST", "/api/v2/silences", good, NULL, 0);
    assert_int_equal(c->resp.status, 404);
    assert_string_equal(body_of(c), "\"silence not found\"");

    call(c, "POST", "/api/v2/silences", SIL(M_AB, FUTURE, PAST, WHO), NULL, 0);
    assert_int_equal(c->resp.status, 400);
    assert_string_equal(body_of(c),
                        "\"Failed to create silence: start time must be before end time\"");
    call(c, "POST", "/api/v2/silences", "{}", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    assert_string_equal(body_of(c), "{\"code\":400,\"message\":\"matchers: required\"}");

    call(c, "GET", "/api/v2/silences", NULL, q, 2);
    assert_int_equal(c->resp.status, 200);
    assert_int_equal(c->eng.last_filter_n, 2);

    call(c, "GET", "/api/v2/silence/11111111-2222-4333-8444-555555555555", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(body_of(c), "{\"id\":\"11111111-2222-4333-8444-555555555555\"}");
    call(c, "GET", "/api/v2/silence/11111111-2222-4333-8444-555555555556", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 404);
    assert_string_equal(body_of(c), "");
    call(c, "GET", "/api/v2/silence/nope", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 422);
    assert_string_equal(
        body_of(c),
        "{\"code\":601,\"message\":\"silenceID in path must be of type uuid: \\\"nope\\\"\"}");

    call(c, "DELETE", "/api/v2/silence/11111111-2222-4333-8444-555555555555", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(c->eng.last_id, "11111111-2222-4333-8444-555555555555");
    c->eng.expire_status = 404;
    call(c, "DELETE", "/api/v2/silence/11111111-2222-4333-8444-555555555556", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 404);
    assert_string_equal(body_of(c), "\"silence not found\"");
    call(c, "DELETE", "/api/v2/silence/x", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 422);
    call(c, "PUT", "/api/v2/silence/x", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 405);
    end_call(c);
}

static void test_handler_status_receivers_ready_reload(void **state)
{
    struct call *c = new_call();

    (void)state;
    call(c, "GET", "/api/v2/status", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(body_of(c), "{\"cluster\":{\"status\":\"disabled\"}}");
    call(c, "GET", "/api/v2/receivers", NULL, NULL, 0);
    assert_string_equal(body_of(c), "[{\"name\":\"default\"}]");
    c->ops.receivers = f_null;
    call(c, "GET", "/api/v2/receivers", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 503);

    call(c, "GET", "/-/ready", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    c->eng.ready = false;
    call(c, "GET", "/-/ready", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 503);
    call(c, "HEAD", "/-/healthy", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);

    call(c, "POST", "/-/reload", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    c->eng.reload_fail = 1;
    call(c, "POST", "/-/reload", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 500);
    assert_string_equal(body_of(c), "failed to reload config: amrouter.yml:3:5: route.receiver: "
                                    "undefined receiver \"x\"\n");
    end_call(c);
}

static void test_handler_without_engine(void **state)
{
    struct call *c = new_call();

    (void)state;
    memset(&c->ops, 0, sizeof(c->ops));
    call(c, "POST", "/api/v2/alerts", "[]", NULL, 0);
    assert_int_equal(c->resp.status, 404);
    assert_string_equal(body_of(c), "{\"code\":404,\"message\":\"path /api/v2/alerts was not "
                                    "found: this build has no engine\"}");
    call(c, "GET", "/api/v2/status", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 404);
    call(c, "GET", "/-/ready", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    call(c, "POST", "/-/reload", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 503);
    end_call(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alerts_valid_batch),
        cmocka_unit_test(test_alerts_empty_array_and_equal_times),
        cmocka_unit_test(test_alerts_malformed_json),
        cmocka_unit_test(test_alerts_hostile_nesting),
        cmocka_unit_test(test_alerts_invalid_utf8),
        cmocka_unit_test(test_alerts_wrong_types),
        cmocka_unit_test(test_alerts_missing_or_empty_labels),
        cmocka_unit_test(test_alerts_invalid_names),
        cmocka_unit_test(test_alerts_bad_times_and_urls),
        cmocka_unit_test(test_alerts_generator_url_forms),
        cmocka_unit_test(test_alerts_large_batch),
        cmocka_unit_test(test_silence_valid),
        cmocka_unit_test(test_silence_new_and_empty_strings),
        cmocka_unit_test(test_silence_shape_errors),
        cmocka_unit_test(test_silence_alertmanager_messages),
        cmocka_unit_test(test_query_defaults_and_booleans),
        cmocka_unit_test(test_query_bad_boolean),
        cmocka_unit_test(test_query_filters),
        cmocka_unit_test(test_query_receiver),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_handler_post_alerts),
        cmocka_unit_test(test_handler_post_alerts_v1),
        cmocka_unit_test(test_handler_get_alerts),
        cmocka_unit_test(test_handler_silences),
        cmocka_unit_test(test_handler_status_receivers_ready_reload),
        cmocka_unit_test(test_handler_without_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
