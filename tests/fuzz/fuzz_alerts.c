/*
 * fuzz_alerts.c - the API's request bodies (api/parse.h): POST /api/v2/alerts
 * and POST /api/v2/silences. Any bytes must give either a parsed result that is
 * then freed, or -1 with a non-empty message and a known error shape; never a
 * crash, a leak or a read outside the body (the body is not NUL-terminated, as
 * the server's capped buffer need not be).
 */
#include "tests/fuzz/fuzz.h"

#include "api/parse.h"
#include "core/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct alert *alerts = NULL;
    size_t n = 0;
    enum api_bad bad = 0;
    struct error err = {{0}};
    struct silence_in in;

    if (api_parse_alerts((const char *)data, size, &alerts, &n, &bad, &err) == 0) {
        FUZZ_CHECK(n == 0 || alerts != NULL);
        api_alerts_free(alerts, n);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(bad == API_BAD_SHAPE || bad == API_BAD_VALUE);
    }

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
