/*
 * test_api_server.c - the HTTP layer without a network: routing (path captures,
 * 404/405 in Alertmanager's shapes), listen-address parsing, response helpers.
 */
#include "api/server.h"
#include "core/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

struct seen {
    const char *which;
    char param[64];
    size_t n_params;
};

static void h_a(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct seen *s = ctx;

    s->which = "a";
    s->n_params = req->n_params;
    http_respond_text(resp, 200, "a");
}

static void h_b(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct seen *s = ctx;

    s->which = "b";
    s->n_params = req->n_params;
    strncpy(s->param, req->params[0], sizeof(s->param) - 1);
    http_respond_error_str(resp, 404, "silence not found");
}

static void h_c(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct seen *s = ctx;

    (void)req;
    s->which = "c";
    http_respond(resp, 204, NULL, NULL, 0);
}

static const struct http_route routes[] = {
    {"GET", "/api/v2/silences", h_a},     {"POST", "/api/v2/silences", h_c},
    {"GET", "/api/v2/silence/{id}", h_b}, {"DELETE", "/api/v2/silence/{id}", h_c},
    {"GET", "/-/healthy", h_a},
};

static void dispatch(const char *method, const char *path, struct seen *s,
                     struct http_response *resp)
{
    struct http_request req;

    memset(&req, 0, sizeof(req));
    memset(s, 0, sizeof(*s));
    memset(resp, 0, sizeof(*resp));
    req.method = method;
    req.path = path;
    req.body = "";
    http_dispatch(routes, sizeof(routes) / sizeof(routes[0]), s, &req, resp);
}

static void test_routes_and_captures(void **state)
{
    struct seen s;
    struct http_response resp;

    (void)state;
    dispatch("GET", "/api/v2/silences", &s, &resp);
    assert_string_equal(s.which, "a");
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "a");
    free(resp.body);

    dispatch("HEAD", "/-/healthy", &s, &resp);
    assert_string_equal(s.which, "a");
    free(resp.body);

    dispatch("GET", "/api/v2/silence/abc-123", &s, &resp);
    assert_string_equal(s.which, "b");
    assert_int_equal(s.n_params, 1);
    assert_string_equal(s.param, "abc-123");
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp.content_type, "application/json");
    assert_string_equal(resp.body, "\"silence not found\"");
    free(resp.body);

    dispatch("DELETE", "/api/v2/silence/x", &s, &resp);
    assert_string_equal(s.which, "c");
    assert_int_equal(resp.status, 204);
    assert_null(resp.body);
}

static void test_not_found_and_not_allowed(void **state)
{
    struct seen s;
    struct http_response resp;

    (void)state;
    /* An empty capture, an extra segment, a prefix: no route. */
    dispatch("GET", "/api/v2/silence/", &s, &resp);
    assert_null(s.which);
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp.body,
                        "{\"code\":404,\"message\":\"path /api/v2/silence/ was not found\"}");
    free(resp.body);

    dispatch("GET", "/api/v2/silence/a/b", &s, &resp);
    assert_int_equal(resp.status, 404);
    free(resp.body);

    dispatch("GET", "/api/v2/silencesx", &s, &resp);
    assert_int_equal(resp.status, 404);
    free(resp.body);

    dispatch("GET", "/nope", &s, &resp);
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp.body, "404 page not found\n");
    free(resp.body);

    dispatch("PUT", "/api/v2/silences", &s, &resp);
    assert_null(s.which);
    assert_int_equal(resp.status, 405);
    assert_string_equal(
        resp.body, "{\"code\":405,\"message\":\"method PUT is not allowed, but [GET,POST] are\"}");
    free(resp.body);

    dispatch("POST", "/-/healthy", &s, &resp);
    assert_int_equal(resp.status, 405);
    assert_string_equal(resp.allow, "GET");
    assert_string_equal(resp.body, "Method Not Allowed\n");
    free(resp.body);
}

static void test_long_capture_does_not_match(void **state)
{
    struct seen s;
    struct http_response resp;
    char path[1200];

    (void)state;
    memcpy(path, "/api/v2/silence/", 16);
    memset(path + 16, 'x', 1000);
    path[1016] = '\0';
    dispatch("GET", path, &s, &resp);
    assert_null(s.which);
    assert_int_equal(resp.status, 404);
    free(resp.body);
}

static void test_split_listen_address(void **state)
{
    char host[64];
    char port[16];
    struct error err;

    (void)state;
    assert_int_equal(
        http_split_listen_address(":9093", host, sizeof(host), port, sizeof(port), &err), 0);
    assert_string_equal(host, "");
    assert_string_equal(port, "9093");
    assert_int_equal(
        http_split_listen_address("127.0.0.1:80", host, sizeof(host), port, sizeof(port), &err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_string_equal(port, "80");
    assert_int_equal(
        http_split_listen_address("[::1]:9093", host, sizeof(host), port, sizeof(port), &err), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(
        http_split_listen_address("localhost", host, sizeof(host), port, sizeof(port), &err), -1);
    assert_string_equal(err.msg, "invalid listen address \"localhost\": missing port");
    assert_int_equal(
        http_split_listen_address("host:", host, sizeof(host), port, sizeof(port), &err), -1);
    assert_int_equal(
        http_split_listen_address("host:99999", host, sizeof(host), port, sizeof(port), &err), -1);
    assert_string_equal(err.msg, "invalid listen address \"host:99999\": bad port");
    assert_int_equal(
        http_split_listen_address("::1:9093", host, sizeof(host), port, sizeof(port), &err), -1);
    assert_int_equal(
        http_split_listen_address("[::1]9093", host, sizeof(host), port, sizeof(port), &err), -1);
}

static void test_strip_prefix(void **state)
{
    (void)state;
    assert_string_equal(http_strip_prefix("", "/api/v2/alerts"), "/api/v2/alerts");
    assert_string_equal(http_strip_prefix(NULL, "/x"), "/x");
    assert_string_equal(http_strip_prefix("/", "/x"), "/x");
    assert_string_equal(http_strip_prefix("/am", "/am/api/v2/alerts"), "/api/v2/alerts");
    assert_string_equal(http_strip_prefix("/am/", "/am/-/ready"), "/-/ready");
    assert_string_equal(http_strip_prefix("/am", "/am"), "/");
    assert_null(http_strip_prefix("/am", "/amx/-/ready"));
    assert_null(http_strip_prefix("/am", "/-/ready"));
}

static void test_query_get(void **state)
{
    struct http_param q[] = {{"filter", "a=b"}, {"active", "false"}, {"filter", "c=d"}};
    struct http_request req;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.query = q;
    req.n_query = 3;
    assert_string_equal(http_query_get(&req, "filter"), "a=b");
    assert_string_equal(http_query_get(&req, "active"), "false");
    assert_null(http_query_get(&req, "silenced"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_captures),
        cmocka_unit_test(test_not_found_and_not_allowed),
        cmocka_unit_test(test_long_capture_does_not_match),
        cmocka_unit_test(test_split_listen_address),
        cmocka_unit_test(test_strip_prefix),
        cmocka_unit_test(test_query_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
