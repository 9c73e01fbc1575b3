/*
 * fuzz_durations.c - Prometheus durations (core/duration.h) and RFC 3339 times
 * (core/timefmt.h). Invariants: a parsed duration prints to its canonical form
 * and that parses back to the same value; a parsed time formats (both formats)
 * and parses back to the same millisecond.
 */
#include "tests/fuzz/fuzz.h"

#include "core/duration.h"
#include "core/error.h"
#include "core/timefmt.h"

#include <inttypes.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    struct error err = {{0}};
    int64_t ms = 0, back = 0;
    char out[DURATION_STRMAX > TIME_STRMAX ? DURATION_STRMAX : TIME_STRMAX];

    if (duration_parse(s, &ms, &err) == 0) {
        FUZZ_CHECK(ms >= 0);
        duration_format(ms, out, sizeof(out));
        if (duration_parse(out, &back, &err) != 0 || back != ms)
            fprintf(stderr, "duration %s -> %" PRId64 " -> %s -> %" PRId64 "\n", s, ms, out, back);
        FUZZ_CHECK(duration_parse(out, &back, &err) == 0 && back == ms);
    } else {
        FUZZ_CHECK(err.msg[0] != '\0');
    }

    if (time_parse_rfc3339(s, &ms) == 0) {
        time_format_rfc3339(ms, out, sizeof(out));
        if (time_parse_rfc3339(out, &back) != 0 || back != ms)
            fprintf(stderr, "time %s -> %" PRId64 " -> %s -> %" PRId64 "\n", s, ms, out, back);
        FUZZ_CHECK(time_parse_rfc3339(out, &back) == 0 && back == ms);
        time_format_rfc3339nano(ms, out, sizeof(out));
        FUZZ_CHECK(time_parse_rfc3339(out, &back) == 0 && back == ms);
    }
    free(s);
    return 0;
}
