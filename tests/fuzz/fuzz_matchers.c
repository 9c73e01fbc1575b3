/*
 * fuzz_matchers.c - matcher list parsing (core/matcher.h), as silences, routes,
 * inhibit rules, amctl and the API's filter parameter use it. Invariants checked:
 * a parsed list formats and parses back to an equal list (the header's
 * parse(format(m)) == m), a failure leaves the list unchanged and says why, and
 * matching never crashes whatever the value.
 */
#include "tests/fuzz/fuzz.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/matcher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strndup(data, size);
    struct matchers ms = MATCHERS_INIT;
    struct matchers again = MATCHERS_INIT;
    struct matcher one;
    struct error err = {{0}};
    struct buf out;

    buf_init(&out, 1u << 20);
    if (matchers_parse(&ms, s, &err) == 0) {
        struct labels ls;

        if (matchers_format(&ms, &out) == 0) {
            struct error err2 = {{0}};
            int rc = matchers_parse(&again, out.ptr ? out.ptr : "", &err2);
            if (rc != 0)
                fprintf(stderr, "reparse of %s failed: %s\n", out.ptr, err2.msg);
            FUZZ_CHECK(rc == 0);
            FUZZ_CHECK(matchers_equal(&ms, &again));
        }
        labels_init(&ls);
        for (size_t i = 0; i < ms.n; i++) {
            (void)matcher_matches(&ms.v[i], s);
            (void)matcher_matches(&ms.v[i], "");
            (void)matcher_matches_empty(&ms.v[i]);
            (void)labels_set(&ls, ms.v[i].name, ms.v[i].value);
        }
        (void)matchers_match(&ms, &ls);
        labels_release(&ls);
        matchers_sort(&ms);
    } else {
        FUZZ_CHECK(ms.n == 0);
        FUZZ_CHECK(err.msg[0] != '\0');
    }
    error_clear(&err);
    if (matcher_parse(&one, s, &err) == 0)
        matcher_release(&one);
    matchers_release(&ms);
    matchers_release(&again);
    buf_release(&out);
    free(s);
    return 0;
}
