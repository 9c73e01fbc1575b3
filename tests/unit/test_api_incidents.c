/*
 * test_api_incidents.c - the issue 6 endpoints (api/incidents.c) against a fake
 * engine: id and body validation, state filters, ack/unack status codes, ack by
 * matchers, the ack page (403 pages saying why, GET never acks, CSRF field and
 * Origin check, already-acknowledged message), Twilio signatures and the SMS
 * command parser.
 */
#include "api/api.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/token.h"
#include "router/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const uint8_t KEY[] = "test-secret-test-secret-test-sec";
#define KEYLEN 32
#define EXT    "http://am.example:9093"

struct engine {
    int acks; /* ack_incident calls that acknowledged */
    int unacks;
    char last_by[64], last_via[16], last_comment[64];
    bool acked; /* incident 1's state */
    unsigned last_states;
    const char *last_team;
    size_t last_filter_n;
    size_t match_n;
    int sms_result;
    uint64_t sms_id;
    char sms_from[32];
};

static json_t *f_incidents(struct engine *e, const struct incident_query *q)
{
    e->last_states = q->states;
    e->last_team = q->team;
    e->last_filter_n = q->filter.n;
    return json_array();
}

static int f_get(struct engine *e, uint64_t id, json_t **out, int *st, struct error *err)
{
    (void)e;
    if (id != 1) {
        *st = 404;
        return error_set(err, "incident %llu not found", (unsigned long long)id);
    }
    *out = json_pack("{s:i}", "id", 1);
    return 0;
}

static int f_ack(struct engine *e, uint64_t id, bool unack, const struct ack_in *in, json_t **out,
                 int *st, struct error *err)
{
    if (id == 2) {
        *st = 409;
        return error_set(err, "incident 2 is resolved");
    }
    if (id != 1) {
        *st = 404;
        return error_set(err, "incident %llu not found", (unsigned long long)id);
    }
    snprintf(e->last_by, sizeof(e->last_by), "%s", in->by);
    snprintf(e->last_via, sizeof(e->last_via), "%s", in->via);
    snprintf(e->last_comment, sizeof(e->last_comment), "%s", in->comment ? in->comment : "(none)");
    if (unack) {
        e->unacks++;
        e->acked = false;
        *out = json_pack("{s:i, s:s, s:n}", "id", 1, "state", "firing", "ack");
        return 0;
    }
    if (!e->acked) {
        e->acks++;
        e->acked = true;
        snprintf(e->last_by, sizeof(e->last_by), "%s", in->by);
    }
    *out = json_pack("{s:i, s:s, s:{s:s, s:s, s:s}}", "id", 1, "state", "acknowledged", "ack", "by",
                     e->acks == 1 && strcmp(in->by, "dave") == 0 ? "carol" : e->last_by, "via",
                     "web", "at", "2026-11-23T12:00:00.000Z");
    return 0;
}

static int f_match(struct engine *e, const struct matchers *m, const struct ack_in *in,
                   json_t **out, struct error *err)
{
    (void)in;
    (void)err;
    e->match_n = m->n;
    *out = json_pack("{s:[i], s:[]}", "acknowledged", 1, "alreadyAcknowledged");
    return 0;
}

static int f_page(struct engine *e, uint64_t id, const char *ack_url, json_t **out, int *st,
                  struct error *err)
{
    (void)e;
    if (id != 1) {
        *st = 404;
        return error_set(err, "incident not found");
    }
    *out = json_pack("{s:{s:i, s:s, s:s, s:b}, s:[], s:[]}", "incident", "id", 1, "status", "open",
                     "ack_url", ack_url, "acked", 0, "alerts", "groupLabelsList");
    return 0;
}

static void f_secret(struct engine *e, const uint8_t **s, size_t *len)
{
    (void)e;
    *s = KEY;
    *len = KEYLEN;
}

static char *f_twilio(struct engine *e, const char *sid)
{
    (void)e;
    return sid != NULL && strcmp(sid, "AC1") == 0 ? strdup("authtok") : NULL;
}

static int f_sms(struct engine *e, uint64_t id, const char *from, int *result, struct error *err)
{
    (void)err;
    e->sms_id = id;
    snprintf(e->sms_from, sizeof(e->sms_from), "%s", from);
    *result = e->sms_result;
    return 0;
}

struct call {
    struct http_response resp;
    struct engine eng;
    struct api api;
    struct api_engine_ops ops;
    struct http_param hdr[4];
    size_t n_hdr;
};

static struct call *new_call(void)
{
    struct call *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    c->ops.query_incidents = f_incidents;
    c->ops.get_incident = f_get;
    c->ops.ack_incident = f_ack;
    c->ops.ack_matching = f_match;
    c->ops.ack_page_context = f_page;
    c->ops.ack_secret = f_secret;
    c->ops.twilio_auth_token = f_twilio;
    c->ops.sms_ack = f_sms;
    c->api.ops = &c->ops;
    c->api.engine = &c->eng;
    c->api.external_url = EXT;
    return c;
}

static void header(struct call *c, const char *k, const char *v)
{
    c->hdr[c->n_hdr].key = k;
    c->hdr[c->n_hdr++].value = v;
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
    req.headers = c->hdr;
    req.n_headers = c->n_hdr;
    http_dispatch(api_routes, api_n_routes, &c->api, &req, &c->resp);
}

static const char *body_of(const struct call *c)
{
    return c->resp.body != NULL ? c->resp.body : "";
}

static void end_call(struct call *c)
{
    free(c->resp.body);
    free(c);
}

static void test_list_and_get(void **state)
{
    struct call *c = new_call();
    struct http_param q[] = {
        {"state", "acknowledged,resolved"}, {"team", "db"}, {"filter", "alertname=\"X\""}};
    struct http_param bad[] = {{"state", "sleeping"}};

    (void)state;
    call(c, "GET", "/api/v2/incidents", NULL, q, 3);
    assert_int_equal(c->resp.status, 200);
    assert_int_equal(c->eng.last_states, (1u << INCIDENT_ACKNOWLEDGED) | (1u << INCIDENT_RESOLVED));
    assert_string_equal(c->eng.last_team, "db");
    assert_int_equal(c->eng.last_filter_n, 1);
    call(c, "GET", "/api/v2/incidents", NULL, NULL, 0);
    assert_int_equal(c->eng.last_states, 0); /* default: open */
    call(c, "GET", "/api/v2/incidents", NULL, bad, 1);
    assert_int_equal(c->resp.status, 400);
    assert_non_null(strstr(body_of(c), "state: unknown state"));
    call(c, "GET", "/api/v2/incidents/1", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    call(c, "GET", "/api/v2/incidents/7", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 404);
    assert_non_null(strstr(body_of(c), "incident 7 not found"));
    call(c, "GET", "/api/v2/incidents/x7", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 400);
    call(c, "GET", "/api/v2/incidents/0", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 400);
    end_call(c);
}

static void test_ack_unack(void **state)
{
    struct call *c = new_call();
    char big[2200];

    (void)state;
    call(c, "POST", "/api/v2/incidents/1/ack", "", NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(c->eng.last_by, "api");
    assert_string_equal(c->eng.last_via, "api");
    assert_string_equal(c->eng.last_comment, "(none)");
    call(c, "POST", "/api/v2/incidents/1/unack",
         "{\"by\":\"bob\",\"comment\":\"not me\",\"via\":\"amctl\"}", NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_int_equal(c->eng.unacks, 1);
    assert_string_equal(c->eng.last_via, "amctl");
    assert_string_equal(c->eng.last_comment, "not me");
    call(c, "POST", "/api/v2/incidents/2/ack", "{}", NULL, 0);
    assert_int_equal(c->resp.status, 409);
    call(c, "POST", "/api/v2/incidents/3/ack", "{}", NULL, 0);
    assert_int_equal(c->resp.status, 404);
    call(c, "POST", "/api/v2/incidents/1/ack", "{\"via\":\"web\"}", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    assert_non_null(strstr(body_of(c), "via"));
    call(c, "POST", "/api/v2/incidents/1/ack", "{\"by\":[1]}", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    assert_non_null(strstr(body_of(c), "by: must be a string"));
    call(c, "POST", "/api/v2/incidents/1/ack", "[1,2]", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    call(c, "POST", "/api/v2/incidents/1/ack", "{bad json", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    assert_non_null(strstr(body_of(c), "invalid JSON"));
    memset(big, 'x', sizeof(big));
    memcpy(big, "{\"comment\":\"", 12);
    memcpy(big + sizeof(big) - 3, "\"}", 3);
    call(c, "POST", "/api/v2/incidents/1/ack", big, NULL, 0);
    assert_int_equal(c->resp.status, 400);
    assert_non_null(strstr(body_of(c), "comment: longer than 2000 bytes"));
    end_call(c);
}

static void test_acks_by_matchers(void **state)
{
    struct call *c = new_call();

    (void)state;
    call(c, "POST", "/api/v2/acks",
         "{\"matchers\":[{\"name\":\"alertname\",\"value\":\"X\"},"
         "{\"name\":\"sev\",\"value\":\"crit|page\",\"isRegex\":true}],\"by\":\"z\"}",
         NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_int_equal(c->eng.match_n, 2);
    assert_non_null(strstr(body_of(c), "\"acknowledged\""));
    call(c, "POST", "/api/v2/acks", "{\"matchers\":[]}", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    call(c, "POST", "/api/v2/acks", "{}", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    assert_non_null(strstr(body_of(c), "matchers: required"));
    call(c, "POST", "/api/v2/acks",
         "{\"matchers\":[{\"name\":\"a\",\"value\":\"(\",\"isRegex\":true}]}", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    assert_non_null(strstr(body_of(c), "matchers[0]"));
    call(c, "POST", "/api/v2/acks", "", NULL, 0);
    assert_int_equal(c->resp.status, 400);
    end_call(c);
}

static void token_for(uint64_t id, int64_t exp, char tok[TOKEN_MAX])
{
    assert_int_equal(token_sign(KEY, KEYLEN, id, exp, tok), 0);
}

static void test_ack_page(void **state)
{
    struct call *c = new_call();
    char tok[TOKEN_MAX], path[128], csrf[TOKEN_MAX], body[256];
    int64_t later = clock_now_ms() + 3600 * 1000;

    (void)state;
    token_for(1, later, tok);
    snprintf(path, sizeof(path), "/ack/%s", tok);
    call(c, "GET", path, NULL, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_non_null(strstr(body_of(c), "Incident #1"));
    assert_non_null(strstr(body_of(c), "<form method=\"post\""));
    assert_int_equal(c->eng.acks, 0); /* GET never acks */
    assert_int_equal(token_csrf(KEY, KEYLEN, tok, csrf), 0);
    assert_non_null(strstr(body_of(c), csrf));
    assert_non_null(c->resp.headers);

    /* Expired, tampered, malformed, foreign: 403 pages that say why. */
    token_for(1, clock_now_ms() - 1000, tok);
    snprintf(path, sizeof(path), "/ack/%s", tok);
    call(c, "GET", path, NULL, NULL, 0);
    assert_int_equal(c->resp.status, 403);
    assert_non_null(strstr(body_of(c), "expired"));
    call(c, "GET", "/ack/nonsense", NULL, NULL, 0);
    assert_int_equal(c->resp.status, 403);
    assert_non_null(strstr(body_of(c), "malformed"));
    assert_int_equal(
        token_sign((const uint8_t *)"other-secret-other-secret-other!", 32, 1, later, tok), 0);
    snprintf(path, sizeof(path), "/ack/%s", tok);
    call(c, "POST", path, "csrf=x", NULL, 0);
    assert_int_equal(c->resp.status, 403);
    assert_non_null(strstr(body_of(c), "another amrouter"));

    /* POST: CSRF field required and bound to the token; foreign Origin refused. */
    token_for(1, later, tok);
    snprintf(path, sizeof(path), "/ack/%s", tok);
    assert_int_equal(token_csrf(KEY, KEYLEN, tok, csrf), 0);
    call(c, "POST", path, "name=mallory", NULL, 0);
    assert_int_equal(c->resp.status, 403);
    assert_non_null(strstr(body_of(c), "security field"));
    header(c, "Origin", "http://evil.example");
    snprintf(body, sizeof(body), "csrf=%s&name=mallory", csrf);
    call(c, "POST", path, body, NULL, 0);
    assert_int_equal(c->resp.status, 403);
    assert_non_null(strstr(body_of(c), "another site"));
    c->hdr[0].value = "null";
    call(c, "POST", path, body, NULL, 0);
    assert_int_equal(c->resp.status, 403);
    assert_int_equal(c->eng.acks, 0);
    /* Same origin, as external_url or as the Host the browser used. */
    c->hdr[0].value = EXT;
    snprintf(body, sizeof(body), "csrf=%s&name=carol+c&comment=on%%20it", csrf);
    call(c, "POST", path, body, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_int_equal(c->eng.acks, 1);
    assert_string_equal(c->eng.last_by, "carol c");
    assert_string_equal(c->eng.last_via, "web");
    assert_string_equal(c->eng.last_comment, "on it");
    assert_non_null(strstr(body_of(c), "Acknowledged."));
    c->hdr[0].key = "Referer";
    c->hdr[0].value = "http://10.0.0.5:9093/ack/x";
    header(c, "Host", "10.0.0.5:9093");
    snprintf(body, sizeof(body), "csrf=%s&name=dave", csrf);
    call(c, "POST", path, body, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_non_null(strstr(body_of(c), "Already acknowledged by carol"));
    /* Resolved incident: the page says so. */
    token_for(2, later, tok);
    snprintf(path, sizeof(path), "/ack/%s", tok);
    assert_int_equal(token_csrf(KEY, KEYLEN, tok, csrf), 0);
    snprintf(body, sizeof(body), "csrf=%s", csrf);
    call(c, "POST", path, body, NULL, 0);
    assert_int_equal(c->resp.status, 404); /* the fake has no page for id 2 */
    end_call(c);
}

static void test_sms_command(void **state)
{
    (void)state;
    assert_int_equal(api_sms_command("ACK 42"), 42);
    assert_int_equal(api_sms_command("ack 42"), 42);
    assert_int_equal(api_sms_command("  42 Ack\n"), 42);
    assert_int_equal(api_sms_command("aCk\t7"), 7);
    assert_int_equal(api_sms_command("ACK"), 0);
    assert_int_equal(api_sms_command("ACK 42 please"), 0);
    assert_int_equal(api_sms_command("ACK -4"), 0);
    assert_int_equal(api_sms_command("ACK 0"), 0);
    assert_int_equal(api_sms_command("ACK x42"), 0);
    assert_int_equal(api_sms_command("hello"), 0);
    assert_int_equal(api_sms_command(""), 0);
    assert_int_equal(api_sms_command(NULL), 0);
}

static void test_sms_inbound(void **state)
{
    struct call *c = new_call();
    struct token_param p[] = {
        {"AccountSid", "AC1"}, {"From", "+1555"}, {"Body", "ACK 9"}, {"To", "+1666"}};
    char *sig = token_twilio_signature("authtok", EXT "/api/v2/sms/inbound", p, 4);
    const char *form = "AccountSid=AC1&From=%2B1555&Body=ACK+9&To=%2B1666";

    (void)state;
    assert_non_null(sig);
    call(c, "POST", "/api/v2/sms/inbound", form, NULL, 0);
    assert_int_equal(c->resp.status, 403);
    header(c, "X-Twilio-Signature", "AAAA");
    call(c, "POST", "/api/v2/sms/inbound", form, NULL, 0);
    assert_int_equal(c->resp.status, 403);
    c->hdr[0].value = sig;
    call(c, "POST", "/api/v2/sms/inbound", form, NULL, 0);
    assert_int_equal(c->resp.status, 200);
    assert_string_equal(c->resp.content_type, "text/xml; charset=utf-8");
    assert_int_equal(c->eng.sms_id, 9);
    assert_string_equal(c->eng.sms_from, "+1555");
    assert_non_null(strstr(body_of(c), "<Response><Message>Incident 9 acknowledged"));
    c->eng.sms_result = 3;
    call(c, "POST", "/api/v2/sms/inbound", form, NULL, 0);
    assert_non_null(strstr(body_of(c), "not paged"));
    /* A changed body breaks the signature. */
    call(c, "POST", "/api/v2/sms/inbound", "AccountSid=AC1&From=%2B1555&Body=ACK+8&To=%2B1666",
         NULL, 0);
    assert_int_equal(c->resp.status, 403);
    free(sig);
    end_call(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_get),     cmocka_unit_test(test_ack_unack),
        cmocka_unit_test(test_acks_by_matchers), cmocka_unit_test(test_ack_page),
        cmocka_unit_test(test_sms_command),      cmocka_unit_test(test_sms_inbound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
