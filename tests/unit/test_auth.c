/*
 * test_auth.c - access control without a network: which scope each endpoint
 * needs, and the guard's answers (401 without / with an unknown token, 403 for
 * a missing scope, the principal set for a known token, open without tokens).
 */
#include "api/auth.h"
#include "config/config.h"
#include "core/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_scopes(void **state)
{
    (void)state;
    assert_int_equal(auth_required_scope("GET", "/-/healthy"), 0);
    assert_int_equal(auth_required_scope("HEAD", "/-/ready"), 0);
    assert_int_equal(auth_required_scope("GET", "/ack/abc"), 0);
    assert_int_equal(auth_required_scope("POST", "/ack/abc"), 0);
    assert_int_equal(auth_required_scope("POST", "/api/v2/sms/inbound"), 0);
    assert_int_equal(auth_required_scope("POST", "/api/v2/alerts"), SCOPE_INGEST);
    assert_int_equal(auth_required_scope("POST", "/api/v1/alerts"), SCOPE_INGEST);
    assert_int_equal(auth_required_scope("GET", "/api/v2/alerts"), SCOPE_READ);
    assert_int_equal(auth_required_scope("GET", "/metrics"), SCOPE_READ);
    assert_int_equal(auth_required_scope("GET", "/"), SCOPE_READ);
    assert_int_equal(auth_required_scope("POST", "/api/v2/silences"), SCOPE_SILENCE);
    assert_int_equal(auth_required_scope("DELETE", "/api/v2/silence/x"), SCOPE_SILENCE);
    assert_int_equal(auth_required_scope("POST", "/api/v2/incidents/4/ack"), SCOPE_ACK);
    assert_int_equal(auth_required_scope("POST", "/api/v2/incidents/4/unack"), SCOPE_ACK);
    assert_int_equal(auth_required_scope("POST", "/api/v2/acks"), SCOPE_ACK);
    assert_int_equal(auth_required_scope("POST", "/-/reload"), SCOPE_ADMIN);
    assert_int_equal(auth_required_scope("GET", "/api/v2/audit"), SCOPE_ADMIN);
    assert_int_equal(auth_required_scope("POST", "/api/v2/admin/backup"), SCOPE_ADMIN);
    assert_int_equal(auth_required_scope("PUT", "/api/v2/alerts"), SCOPE_ADMIN);
    assert_int_equal(auth_required_scope("POST", "/api/v2/incidents/4"), SCOPE_ADMIN);
}

static struct auth *make(size_t n)
{
    static struct api_token toks[2];
    struct config cfg;
    struct error err = {{0}};
    struct auth *a;

    memset(&cfg, 0, sizeof(cfg));
    toks[0].name = (char *)"prom";
    toks[0].token.value = (char *)"ingest-secret-0123456789";
    toks[0].scopes = SCOPE_INGEST;
    toks[1].name = (char *)"root";
    toks[1].token.value = (char *)"admin-secret-0123456789";
    toks[1].scopes = SCOPE_ADMIN;
    cfg.api.tokens = toks;
    cfg.api.n_tokens = n;
    a = auth_new(&cfg, NULL, NULL, &err);
    assert_non_null(a);
    return a;
}

static int guard(struct auth *a, const char *method, const char *path, const char *authz,
                 const char **principal)
{
    struct http_param h = {"authorization", authz};
    struct http_request req;
    struct http_response resp = {0};
    int status;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = path;
    req.body = "";
    req.headers = authz != NULL ? &h : NULL;
    req.n_headers = authz != NULL ? 1 : 0;
    status = auth_guard(a, &req, &resp) ? 0 : resp.status;
    if (status != 0) {
        assert_non_null(resp.body);
        assert_non_null(strstr(resp.body, "\"code\""));
    }
    free(resp.body);
    if (principal != NULL)
        *principal = req.principal;
    return status;
}

static void test_guard(void **state)
{
    struct auth *a = make(2);
    const char *who = NULL;

    (void)state;
    assert_int_equal(guard(a, "GET", "/api/v2/status", NULL, NULL), 401);
    assert_int_equal(guard(a, "GET", "/api/v2/status", "Bearer nope", NULL), 401);
    assert_int_equal(guard(a, "GET", "/api/v2/status", "Bearer ingest-secret-012345678", NULL),
                     401); /* a prefix is not the token */
    assert_int_equal(guard(a, "GET", "/api/v2/status", "Basic ingest-secret-0123456789", NULL),
                     401);
    assert_int_equal(guard(a, "GET", "/api/v2/status", "Bearer ingest-secret-0123456789", &who),
                     403);
    assert_int_equal(guard(a, "POST", "/api/v2/alerts", "Bearer ingest-secret-0123456789", &who),
                     0);
    assert_string_equal(who, "prom");
    assert_int_equal(guard(a, "POST", "/-/reload", "bearer admin-secret-0123456789", &who), 0);
    assert_string_equal(who, "root");
    assert_int_equal(guard(a, "GET", "/-/healthy", NULL, &who), 0);
    assert_null(who);
    auth_free(a);
}

static void test_open_without_tokens(void **state)
{
    struct auth *a = make(0);

    (void)state;
    assert_int_equal(auth_n_tokens(a), 0);
    assert_int_equal(guard(a, "POST", "/-/reload", NULL, NULL), 0);
    assert_int_equal(guard(a, "POST", "/api/v2/silences", "Bearer whatever", NULL), 0);
    auth_free(a);
    auth_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_guard),
        cmocka_unit_test(test_open_without_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
