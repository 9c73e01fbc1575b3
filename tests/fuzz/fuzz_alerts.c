/*
 * fuzz_alerts.c - the API's request bodies (api/parse.h): POST /api/v2/alerts
 * and POST /api/v2/silences. Any bytes must give either a parsed result that is
 * then freed, or -1 with a non-empty message and a known error shape; never a
 * crash, a leak or a read outside the body (the body is not NUL-terminated, as
 * the server's capped buffer need not be). api_parse_alerts reads well-formed
 * batches with its own scanner and hands the rest to the jansson parser
 * (api_parse_alerts_json): both must agree on accepting and on every alert's
 * labels, annotations, times, URL and fingerprint.
 */
#include "tests/fuzz/fuzz.h"

#include "api/parse.h"
#include "core/error.h"
#include "core/labels.h"

#include <string.h>

static bool same_alert(const struct alert *a, const struct alert *b)
{
    const char *ua = a->generator_url != NULL ? a->generator_url : "";
    const char *ub = b->generator_url != NULL ? b->generator_url : "";

    return labels_equal(&a->labels, &b->labels) && labels_equal(&a->annotations, &b->annotations) &&
           a->starts_at == b->starts_at && a->ends_at == b->ends_at && strcmp(ua, ub) == 0 &&
           a->fingerprint == b->fingerprint;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct alert *alerts = NULL;
    size_t n = 0;
    enum api_bad bad = 0;
    struct error err = {{0}};
    struct silence_in in;
    struct alert *ref = NULL;
    size_t n_ref = 0;
    enum api_bad bad_ref = 0;
    struct error err_ref = {{0}};
    int rc = api_parse_alerts((const char *)data, size, &alerts, &n, &bad, &err);
    int rc_ref = api_parse_alerts_json((const char *)data, size, &ref, &n_ref, &bad_ref, &err_ref);

    FUZZ_CHECK(rc == rc_ref);
    if (rc == 0) {
        FUZZ_CHECK(n == 0 || alerts != NULL);
        FUZZ_CHECK(n == n_ref);
        for (size_t i = 0; i < n && i < n_ref; i++)
            FUZZ_CHECK(same_alert(&alerts[i], &ref[i]));
        api_alerts_free(alerts, n);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(bad == API_BAD_SHAPE || bad == API_BAD_VALUE);
        FUZZ_CHECK(bad == bad_ref && strcmp(err.msg, err_ref.msg) == 0);
    }
    api_alerts_free(ref, rc_ref == 0 ? n_ref : 0);

    memset(&in, 0, sizeof(in));
    error_clear(&err);
    bad = 0;
    /* 2026-01-01T00:00:00Z: a fixed now, so runs are reproducible. */
    if (api_parse_silence((const char *)data, size, INT64_C(1767225600000), &in, &bad, &err) == 0) {
        FUZZ_CHECK(in.starts_at < in.ends_at);
        api_silence_in_release(&in);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0');
    }
    return 0;
}
