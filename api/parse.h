/*
 * parse.h - request validation for the API: JSON bodies and query parameters
 * into the engine's input structs (engine/engine.h), or a 400 message.
 *
 * Every function validates its whole input before it returns anything, so a
 * rejected request hands nothing to the engine (a batch of alerts is all or
 * nothing). Messages name the place of the problem: the JSON path with the
 * alert's index (`alerts[2].labels: invalid label name "1x"`), the line and
 * column of malformed JSON, or the query parameter. Silence messages keep
 * Alertmanager's wording, which amtool users know.
 *
 * `bad` tells the caller which of Alertmanager's two error shapes to answer:
 * API_BAD_SHAPE (the body is not the right JSON: {"code":400,"message":...})
 * or API_BAD_VALUE (the right shape with a bad value: a JSON string).
 *
 * Unknown JSON fields are ignored, as Alertmanager ignores them.
 */
#ifndef AMR_API_PARSE_H
#define AMR_API_PARSE_H

#include "api/server.h"
#include "core/alert.h"
#include "engine/engine.h"

#include <stddef.h>
#include <stdint.h>

struct error;
struct matchers;

enum api_bad {
    API_BAD_SHAPE = 1,
    API_BAD_VALUE = 2,
};

/* Parses a POST /api/v{1,2}/alerts body (a JSON array of alerts). On success *out is
 * a malloc'd array of *n_out initialised alerts (labels, annotations, times as
 * given or TIME_UNSET, generator_url, fingerprint); free with api_alerts_free(). An
 * empty array gives *out = NULL, *n_out = 0. On failure nothing is allocated. */
int api_parse_alerts(const char *body, size_t len, struct alert **out, size_t *n_out,
                     enum api_bad *bad, struct error *err);
/* The same answers from the reference parser (a jansson tree; its errors are
 * the messages api_parse_alerts gives). api_parse_alerts reads well-formed
 * batches with a scanner that builds no tree and hands everything else, and
 * every error, to this one; exposed for the fuzz target, which checks that
 * both agree. */
int api_parse_alerts_json(const char *body, size_t len, struct alert **out, size_t *n_out,
                          enum api_bad *bad, struct error *err);
#ifdef UNIT_TEST
/* The fast path alone (static in the product): 0 with the same *out and *n_out
 * as api_parse_alerts, or -1, nothing allocated, when it declines the body. */
int api_scan_alerts(const char *body, size_t len, struct alert **out, size_t *n_out);
#endif
/* Releases n alerts and the array. Accepts NULL. */
void api_alerts_free(struct alert *v, size_t n);

/* Parses a POST /api/v2/silences body into *out (which is overwritten). Checks, in
 * Alertmanager's order: required fields and types, startsAt < endsAt, endsAt not
 * before now, then the matchers (valid names, regexes compile, not all matching
 * the empty string). On failure *out holds nothing to release. */
int api_parse_silence(const char *body, size_t len, int64_t now, struct silence_in *out,
                      enum api_bad *bad, struct error *err);
/* Frees what a struct silence_in owns and zeroes it. Accepts NULL. */
void api_silence_in_release(struct silence_in *in);

/* Reads active, silenced, inhibited, unprocessed (booleans, default true; empty =
 * default), every `filter` (one matcher each, ANDed) and `receiver` (a regex,
 * anchored) from the query of GET /api/v2/alerts or /alerts/groups. */
int api_parse_alert_query(const struct http_request *req, struct alert_query *q, struct error *err);
/* Frees the filter and the receiver regex. Accepts NULL. */
void api_alert_query_release(struct alert_query *q);

/* Reads every `filter` query parameter (one matcher each) into ms, replacing what
 * it held. On failure ms is unchanged. */
int api_parse_filters(const struct http_request *req, struct matchers *ms, struct error *err);

/* True when s is a silence id as Alertmanager makes them (a UUID). */
bool api_valid_uuid(const char *s);

#endif
