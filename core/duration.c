/*
 * duration.c - Prometheus durations (model.ParseDuration / Duration.String).
 *
 * Grammar: "0", or one or more <digits><unit> with units y w d h m s ms, each
 * at most once and in that order. A year is 365 days. Like Prometheus, the total
 * must fit a Go time.Duration (int64 nanoseconds, about 292 years), so every
 * accepted value also survives a round trip through Alertmanager.
 */
#include "core/duration.h"

#include "core/error.h"
#include "core/labels.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MS_S 1000LL
#define MS_M (60 * MS_S)
#define MS_H (60 * MS_M)
#define MS_D (24 * MS_H)
#define MS_W (7 * MS_D)
#define MS_Y (365 * MS_D)

/* Largest duration in ms that Go's time.Duration can hold. */
#define DURATION_MAX_MS (INT64_MAX / 1000000)

struct unit {
    const char *name;
    int64_t ms;
};

/* In the only order Prometheus accepts them. */
static const struct unit units[] = {
    {"y", MS_Y}, {"w", MS_W}, {"d", MS_D}, {"h", MS_H}, {"m", MS_M}, {"s", MS_S}, {"ms", 1},
};
#define NUNITS (sizeof(units) / sizeof(units[0]))

int duration_parse(const char *s, int64_t *ms, struct error *err)
{
    char q[QUOTE_ERR_MAX];
    const char *p = s;
    size_t next_unit = 0;
    int64_t total = 0;

    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (*s == '\0')
        goto bad;
    while (*p != '\0') {
        int64_t n = 0;
        bool overflow = false;
        size_t u;
        const char *digits = p;

        while (*p >= '0' && *p <= '9') {
            if (n > (INT64_MAX - 9) / 10)
                overflow = true;
            else
                n = n * 10 + (*p - '0');
            p++;
        }
        if (p == digits)
            goto bad;
        /* "m" must not swallow the "m" of "ms": try the longer name first. */
        if (p[0] == 'm' && p[1] == 's')
            u = NUNITS - 1;
        else {
            for (u = 0; u < NUNITS - 1; u++) {
                if (p[0] == units[u].name[0])
                    break;
            }
            if (u == NUNITS - 1)
                goto bad;
        }
        if (u < next_unit)
            goto bad;
        p += strlen(units[u].name);
        next_unit = u + 1;
        if (overflow || n > DURATION_MAX_MS / units[u].ms ||
            total > DURATION_MAX_MS - n * units[u].ms)
            return error_set(err, "invalid duration %s: duration out of range",
                             quote_for_error(s, q, sizeof(q)));
        total += n * units[u].ms;
    }
    *ms = total;
    return 0;
bad:
    return error_set(err, "invalid duration %s", quote_for_error(s, q, sizeof(q)));
}

char *duration_format(int64_t ms, char *out, size_t outsz)
{
    size_t len = 0;
    bool neg = ms < 0;

    if (outsz == 0)
        return out;
    out[0] = '\0';
    if (ms == 0) {
        snprintf(out, outsz, "0s");
        return out;
    }
    if (neg) {
        /* Prometheus never parses these; print them readably for logs. */
        snprintf(out, outsz, "-");
        len = 1;
        ms = ms == INT64_MIN ? INT64_MAX : -ms;
    }
    for (size_t u = 0; u < NUNITS; u++) {
        int64_t v;

        /* Years and weeks only when exact: "90d" reads better than "12w6d". */
        if (u < 2 && ms % units[u].ms != 0)
            continue;
        v = ms / units[u].ms;
        if (v > 0 && len < outsz) {
            int n = snprintf(out + len, outsz - len, "%lld%s", (long long)v, units[u].name);

            if (n > 0)
                len += (size_t)n;
            ms -= v * units[u].ms;
        }
    }
    return out;
}
