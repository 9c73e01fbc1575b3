/*
 * timefmt.c - RFC 3339 parsing and printing without locale or timezone state.
 *
 * Calendar arithmetic is done by hand (days from civil date) so the result
 * never depends on TZ or on timegm() being available.
 */
#include "core/timefmt.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm,
 * restated). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era;
    int64_t yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    *y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y += *m <= 2;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dim[m - 1];
}

int time_parse_rfc3339(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    int frac_ms = 0;
    int64_t offset = 0, t;
    const char *p;

    if (strlen(s) < 20)
        return -1;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return -1;
    p = s + 19;
    if (*p == '.') {
        int n = 0;

        p++;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac_ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;

        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = sign * ((int64_t)oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    t = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - offset) * 1000 + frac_ms;
    /* An offset can carry 0000-01-01 or 9999-12-31 out of the years RFC 3339 can
     * print; such a time could not be formatted back (Go refuses them too). */
    if (t < days_from_civil(0, 1, 1) * 86400000 || t >= days_from_civil(10000, 1, 1) * 86400000)
        return -1;
    /* Go's zero time is an instant: "0001-01-01T00:01:00+00:01" is it too. */
    *ms = t == days_from_civil(1, 1, 1) * 86400000 ? TIME_UNSET : t;
    return 0;
}

static void split(int64_t ms, int64_t *y, int *mo, int *d, int *h, int *mi, int *s, int *frac)
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;

    *frac = (int)(ms - secs * 1000);
    civil_from_days(days, y, mo, d);
    *h = (int)(rem / 3600);
    *mi = (int)(rem % 3600 / 60);
    *s = (int)(rem % 60);
}

char *time_format_rfc3339(int64_t ms, char *out, size_t outsz)
{
    int64_t y;
    int mo, d, h, mi, s, frac;

    if (ms == TIME_UNSET) {
        snprintf(out, outsz, "0001-01-01T00:00:00.000Z");
        return out;
    }
    split(ms, &y, &mo, &d, &h, &mi, &s, &frac);
    snprintf(out, outsz, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, mo, d, h, mi, s,
             frac);
    return out;
}

char *time_format_rfc3339nano(int64_t ms, char *out, size_t outsz)
{
    int64_t y;
    int mo, d, h, mi, s, frac;

    if (ms == TIME_UNSET) {
        snprintf(out, outsz, "0001-01-01T00:00:00Z");
        return out;
    }
    split(ms, &y, &mo, &d, &h, &mi, &s, &frac);
    if (frac == 0)
        snprintf(out, outsz, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, mo, d, h, mi, s);
    else if (frac % 100 == 0)
        snprintf(out, outsz, "%04lld-%02d-%02dT%02d:%02d:%02d.%01dZ", (long long)y, mo, d, h, mi, s,
                 frac / 100);
    else if (frac % 10 == 0)
        snprintf(out, outsz, "%04lld-%02d-%02dT%02d:%02d:%02d.%02dZ", (long long)y, mo, d, h, mi, s,
                 frac / 10);
    else
        snprintf(out, outsz, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, mo, d, h, mi, s,
                 frac);
    return out;
}
