/*
 * timeinterval.c - Alertmanager's time_intervals (and legacy mute_time_intervals):
 * parsing with positioned errors, and evaluation at a given time.
 *
 * Format (Alertmanager 0.25):
 *   - name: offhours
 *     time_intervals:
 *       - times: [{start_time: "00:00", end_time: "09:00"}]
 *         weekdays: ['monday:friday']
 *         days_of_month: ['1:5', '-1']
 *         months: ['january:march', '12']
 *         years: ['2026:2027']
 *         location: UTC
 * Only the UTC and Local locations are supported: evaluating another zone
 * would need process-wide TZ switching, which is not thread-safe.
 */
#include "config/load.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const weekday_names[] = {"sunday",   "monday", "tuesday", "wednesday",
                                            "thursday", "friday", "saturday"};
static const char *const month_names[] = {"january",   "february", "march",    "april",
                                          "may",       "june",     "july",     "august",
                                          "september", "october",  "november", "december"};

void time_interval_release(struct time_interval *ti)
{
    free(ti->name);
    for (size_t i = 0; i < ti->n_specs; i++) {
        free(ti->specs[i].times);
        free(ti->specs[i].location);
        free(ti->specs[i].days_of_month);
        free(ti->specs[i].years);
    }
    free(ti->specs);
    memset(ti, 0, sizeof(*ti));
}

static int parse_int(const char *s, int *out)
{
    char *end;
    long v;

    if (s[0] == '\0')
        return -1;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < -100000 || v > 100000)
        return -1;
    *out = (int)v;
    return 0;
}

/* Splits "a:b" (or "a") into two strings in the caller's buffers. */
static void split_range(const char *s, char *a, char *b, size_t sz)
{
    const char *c = strchr(s, ':');

    if (c == NULL) {
        snprintf(a, sz, "%s", s);
        snprintf(b, sz, "%s", s);
    } else {
        snprintf(a, sz, "%.*s", (int)(c - s), s);
        snprintf(b, sz, "%s", c + 1);
    }
}

static int name_or_number(const char *s, const char *const *names, size_t n, int base, int *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (int)i + base;
            return 0;
        }
    }
    return -1;
}

static int parse_hhmm(const char *s, int *minutes)
{
    if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
        s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9')
        return -1;
    *minutes = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
    if (*minutes > 24 * 60)
        return -1;
    return 0;
}

/* Runs fn on each string of the list at key; fn fills the spec. */
static int each_item(struct ld *ld, const struct ynode *map, const char *key, const char *path,
                     int (*fn)(struct ld *, const struct ynode *, const char *,
                               struct time_interval_spec *),
                     struct time_interval_spec *spec)
{
    const struct ynode *l = ld_get(map, key);
    char p[CFG_PATH_MAX];

    if (l == NULL)
        return 0;
    path_key(p, path, key);
    if (ld_seq(ld, l, p) < 0)
        return -1;
    for (size_t i = 0; i < l->n_items; i++) {
        char ip[CFG_PATH_MAX];

        path_idx(ip, p, i);
        if (l->items[i]->kind != YNODE_SCALAR)
            return ld_fail(ld, l->items[i], ip, "expected a string, got %s",
                           ynode_kind_name(l->items[i]));
        if (fn(ld, l->items[i], ip, spec) < 0)
            return -1;
    }
    return 0;
}

static int one_weekday(struct ld *ld, const struct ynode *v, const char *p,
                       struct time_interval_spec *spec)
{
    char a[32], b[32];
    int lo, hi;

    split_range(v->value, a, b, sizeof(a));
    if (name_or_number(a, weekday_names, 7, 0, &lo) < 0)
        return ld_fail(ld, v, p, "%s is not a valid weekday", a);
    if (name_or_number(b, weekday_names, 7, 0, &hi) < 0)
        return ld_fail(ld, v, p, "%s is not a valid weekday", b);
    if (lo > hi)
        return ld_fail(ld, v, p, "start day cannot be after end day in \"%s\"", v->value);
    for (int d = lo; d <= hi; d++)
        spec->weekdays |= (uint8_t)(1u << d);
    return 0;
}

static int one_month(struct ld *ld, const struct ynode *v, const char *p,
                     struct time_interval_spec *spec)
{
    char a[32], b[32];
    int lo, hi;

    split_range(v->value, a, b, sizeof(a));
    if (name_or_number(a, month_names, 12, 1, &lo) < 0 && (parse_int(a, &lo) < 0))
        return ld_fail(ld, v, p, "%s is not a valid month", a);
    if (name_or_number(b, month_names, 12, 1, &hi) < 0 && (parse_int(b, &hi) < 0))
        return ld_fail(ld, v, p, "%s is not a valid month", b);
    if (lo < 1 || lo > 12)
        return ld_fail(ld, v, p, "%s is not a valid month", a);
    if (hi < 1 || hi > 12)
        return ld_fail(ld, v, p, "%s is not a valid month", b);
    if (lo > hi)
        return ld_fail(ld, v, p, "end month %d is before start month %d", hi, lo);
    for (int m = lo; m <= hi; m++)
        spec->months |= (uint16_t)(1u << (m - 1));
    return 0;
}

static int push_range(struct int_range **v, size_t *n, int lo, int hi)
{
    struct int_range *nv = realloc(*v, (*n + 1) * sizeof(*nv));

    if (nv == NULL)
        return -1;
    nv[*n].begin = lo;
    nv[*n].end = hi;
    *v = nv;
    (*n)++;
    return 0;
}

static int one_day(struct ld *ld, const struct ynode *v, const char *p,
                   struct time_interval_spec *spec)
{
    char a[32], b[32];
    int lo, hi, clo, chi;

    split_range(v->value, a, b, sizeof(a));
    if (parse_int(a, &lo) < 0)
        return ld_fail(ld, v, p, "%s is not a valid day of the month", a);
    if (parse_int(b, &hi) < 0)
        return ld_fail(ld, v, p, "%s is not a valid day of the month", b);
    if (lo == 0 || lo < -31 || lo > 31)
        return ld_fail(ld, v, p, "%d is not a valid day of the month: out of range", lo);
    if (hi == 0 || hi < -31 || hi > 31)
        return ld_fail(ld, v, p, "%d is not a valid day of the month: out of range", hi);
    if (lo < 0 && hi > 0)
        return ld_fail(ld, v, p, "end day must be negative if start day is negative");
    /* As Alertmanager: judge the order on a 28-day month, where it is always knowable. */
    clo = lo < 0 ? 28 + lo : lo;
    chi = hi < 0 ? 28 + hi : hi;
    if (clo > chi)
        return ld_fail(ld, v, p, "end day %d is before start day %d", hi, lo);
    if (push_range(&spec->days_of_month, &spec->n_days_of_month, lo, hi) < 0)
        return ld_fail(ld, v, p, "out of memory");
    if (lo > 0 && hi > 0)
        for (int d = lo; d <= hi; d++)
            spec->days_of_month_lo |= 1u << (d - 1);
    if (lo < 0 && hi < 0)
        for (int d = -hi; d <= -lo; d++)
            spec->days_of_month_hi |= 1u << (d - 1);
    return 0;
}

static int one_year(struct ld *ld, const struct ynode *v, const char *p,
                    struct time_interval_spec *spec)
{
    char a[32], b[32];
    int lo, hi;

    split_range(v->value, a, b, sizeof(a));
    if (parse_int(a, &lo) < 0 || lo < 1)
        return ld_fail(ld, v, p, "%s is not a valid year", a);
    if (parse_int(b, &hi) < 0 || hi < 1)
        return ld_fail(ld, v, p, "%s is not a valid year", b);
    if (lo > hi)
        return ld_fail(ld, v, p, "end year %d is before start year %d", hi, lo);
    if (push_range(&spec->years, &spec->n_years, lo, hi) < 0)
        return ld_fail(ld, v, p, "out of memory");
    if (spec->year_lo == 0 || lo < spec->year_lo)
        spec->year_lo = lo;
    if (hi > spec->year_hi)
        spec->year_hi = hi;
    return 0;
}

static int ld_spec(struct ld *ld, const struct ynode *n, const char *path,
                   struct time_interval_spec *spec)
{
    static const char *const keys[] = {"times",    "weekdays", "days_of_month", "months", "years",
                                       "location", NULL};
    static const char *const time_keys[] = {"start_time", "end_time", NULL};
    const struct ynode *times;

    if (ld_map(ld, n, path, keys) < 0)
        return -1;
    times = ld_get(n, "times");
    if (times != NULL) {
        char tp[CFG_PATH_MAX];

        path_key(tp, path, "times");
        if (ld_seq(ld, times, tp) < 0)
            return -1;
        if (times->n_items > 0) {
            spec->times = calloc(times->n_items, sizeof(*spec->times));
            if (spec->times == NULL)
                return ld_fail(ld, times, tp, "out of memory");
        }
        for (size_t i = 0; i < times->n_items; i++) {
            const struct ynode *t = times->items[i];
            const struct ynode *s, *e;
            char ip[CFG_PATH_MAX], kp[CFG_PATH_MAX];
            int smin, emin;

            path_idx(ip, tp, i);
            if (ld_map(ld, t, ip, time_keys) < 0)
                return -1;
            s = ld_get(t, "start_time");
            e = ld_get(t, "end_time");
            if (s == NULL)
                return ld_missing(ld, t, ip, "start_time");
            if (e == NULL)
                return ld_missing(ld, t, ip, "end_time");
            path_key(kp, ip, "start_time");
            if (s->kind != YNODE_SCALAR || parse_hhmm(s->value, &smin) < 0 || smin >= 24 * 60)
                return ld_fail(ld, s, kp, "invalid time of day \"%s\": use HH:MM",
                               s->kind == YNODE_SCALAR ? s->value : "");
            path_key(kp, ip, "end_time");
            if (e->kind != YNODE_SCALAR || parse_hhmm(e->value, &emin) < 0)
                return ld_fail(ld, e, kp, "invalid time of day \"%s\": use HH:MM",
                               e->kind == YNODE_SCALAR ? e->value : "");
            if (smin >= emin)
                return ld_fail(ld, t, ip, "start time cannot be equal or greater than end time");
            spec->times[i].start_minute = smin;
            spec->times[i].end_minute = emin;
            spec->n_times++;
        }
    }
    if (each_item(ld, n, "weekdays", path, one_weekday, spec) < 0 ||
        each_item(ld, n, "days_of_month", path, one_day, spec) < 0 ||
        each_item(ld, n, "months", path, one_month, spec) < 0 ||
        each_item(ld, n, "years", path, one_year, spec) < 0 ||
        ld_str(ld, n, "location", path, &spec->location) < 0)
        return -1;
    if (spec->location == NULL) {
        spec->location = strdup("UTC");
        if (spec->location == NULL)
            return ld_fail(ld, n, path, "out of memory");
    } else if (strcmp(spec->location, "UTC") != 0 && strcmp(spec->location, "Local") != 0) {
        char lp[CFG_PATH_MAX];

        path_key(lp, path, "location");
        return ld_fail(ld, ld_get(n, "location"), lp,
                       "location \"%s\" is not supported: use UTC or Local", spec->location);
    }
    return 0;
}

static int ld_interval_list(struct ld *ld, const struct ynode *l, const char *key, size_t *next)
{
    static const char *const keys[] = {"name", "time_intervals", NULL};
    struct config *cfg = ld->cfg;

    if (ld_seq(ld, l, key) < 0)
        return -1;
    for (size_t i = 0; i < l->n_items; i++) {
        const struct ynode *n = l->items[i];
        struct time_interval *ti = &cfg->time_intervals[(*next)++];
        const struct ynode *specs;
        char p[CFG_PATH_MAX], sp[CFG_PATH_MAX];

        cfg->n_time_intervals = *next;
        path_idx(p, key, i);
        if (ld_map(ld, n, p, keys) < 0 || ld_str(ld, n, "name", p, &ti->name) < 0)
            return -1;
        if (ti->name == NULL || ti->name[0] == '\0')
            return ld_missing(ld, n, p, "name");
        for (size_t j = 0; j + 1 < *next; j++) {
            if (strcmp(cfg->time_intervals[j].name, ti->name) == 0) {
                path_key(sp, p, "name");
                return ld_fail(ld, ld_get(n, "name"), sp, "time interval \"%s\" is not unique",
                               ti->name);
            }
        }
        specs = ld_get(n, "time_intervals");
        if (specs == NULL)
            continue;
        path_key(sp, p, "time_intervals");
        if (ld_seq(ld, specs, sp) < 0)
            return -1;
        if (specs->n_items > 0) {
            ti->specs = calloc(specs->n_items, sizeof(*ti->specs));
            if (ti->specs == NULL)
                return ld_fail(ld, specs, sp, "out of memory");
        }
        for (size_t j = 0; j < specs->n_items; j++) {
            char ip[CFG_PATH_MAX];

            ti->n_specs++;
            path_idx(ip, sp, j);
            if (ld_spec(ld, specs->items[j], ip, &ti->specs[j]) < 0)
                return -1;
        }
    }
    return 0;
}

int ld_time_intervals(struct ld *ld, const struct ynode *root)
{
    const struct ynode *a = ld_get(root, "time_intervals");
    const struct ynode *b = ld_get(root, "mute_time_intervals");
    size_t total = 0, next = 0;

    if (a != NULL && a->kind == YNODE_SEQ)
        total += a->n_items;
    if (b != NULL && b->kind == YNODE_SEQ)
        total += b->n_items;
    if (total > 0) {
        ld->cfg->time_intervals = calloc(total, sizeof(*ld->cfg->time_intervals));
        if (ld->cfg->time_intervals == NULL)
            return ld_fail(ld, root, "", "out of memory");
    }
    if (b != NULL && ld_interval_list(ld, b, "mute_time_intervals", &next) < 0)
        return -1;
    if (a != NULL && ld_interval_list(ld, a, "time_intervals", &next) < 0)
        return -1;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return 29;
    return d[month - 1];
}

static bool spec_active(const struct time_interval_spec *s, int64_t t)
{
    time_t secs = (time_t)(t >= 0 ? t / 1000 : (t - 999) / 1000);
    struct tm tm;
    int minute, mday, year;
    bool ok;

    if (s->location != NULL && strcmp(s->location, "Local") == 0)
        localtime_r(&secs, &tm);
    else
        gmtime_r(&secs, &tm);
    minute = tm.tm_hour * 60 + tm.tm_min;
    mday = tm.tm_mday;
    year = tm.tm_year + 1900;
    if (s->n_times > 0) {
        ok = false;
        for (size_t i = 0; i < s->n_times && !ok; i++)
            ok = minute >= s->times[i].start_minute && minute < s->times[i].end_minute;
        if (!ok)
            return false;
    }
    if (s->weekdays != 0 && (s->weekdays & (1u << tm.tm_wday)) == 0)
        return false;
    if (s->months != 0 && (s->months & (1u << tm.tm_mon)) == 0)
        return false;
    if (s->n_days_of_month > 0) {
        int dim = days_in_month(year, tm.tm_mon + 1);

        ok = false;
        for (size_t i = 0; i < s->n_days_of_month && !ok; i++) {
            int lo = s->days_of_month[i].begin, hi = s->days_of_month[i].end;

            /* Negative days count from the end; clamp as Alertmanager does. */
            if (lo < 0)
                lo = dim + 1 + lo;
            if (hi < 0)
                hi = dim + 1 + hi;
            if (lo < 1)
                lo = 1;
            if (hi > dim)
                hi = dim;
            ok = mday >= lo && mday <= hi;
        }
        if (!ok)
            return false;
    }
    if (s->n_years > 0) {
        ok = false;
        for (size_t i = 0; i < s->n_years && !ok; i++)
            ok = year >= s->years[i].begin && year <= s->years[i].end;
        if (!ok)
            return false;
    }
    return true;
}

bool time_interval_active(const struct time_interval *ti, int64_t t)
{
    for (size_t i = 0; i < ti->n_specs; i++)
        if (spec_active(&ti->specs[i], t))
            return true;
    return false;
}
