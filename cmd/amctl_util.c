/*
 * amctl_util.c - helpers shared by amctl's server subcommands (see amctl_util.h).
 */
#include "cmd/amctl_util.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/matcher.h"
#include "core/timefmt.h"
#include "cmd/amctl_http.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool amctl_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

int amctl_take(const char *cmd, const char *flag, int argc, char **argv, int *i, const char **out)
{
    size_t n = strlen(flag);
    const char *a = argv[*i];

    if (strcmp(a, flag) == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "amctl %s: %s needs a value\n", cmd, flag);
            return -1;
        }
        *out = argv[++*i];
        return 1;
    }
    if (strncmp(a, flag, n) == 0 && a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    return 0;
}

int amctl_ack_args_parse(const char *cmd, int argc, char **argv, struct amctl_ack_args *out,
                         int (*check)(const char *cmd, const char *arg, void *ctx), void *ctx)
{
    out->comment = NULL;
    out->by = NULL;
    out->n = 0;
    for (int i = 1; i < argc; i++) {
        int t = amctl_take(cmd, "--comment", argc, argv, &i, &out->comment);

        if (t == 0 && amctl_is_help(argv[i]))
            return 1;
        if (t == 0)
            t = amctl_take(cmd, "-c", argc, argv, &i, &out->comment);
        if (t == 0)
            t = amctl_take(cmd, "--by", argc, argv, &i, &out->by);
        if (t < 0)
            return -1;
        if (t == 1)
            continue;
        if (argv[i][0] == '-') {
            amctl_fail(AMCTL_USAGE, cmd, "unknown flag %s", argv[i]);
            return -1;
        }
        if (check != NULL && check(cmd, argv[i], ctx) < 0)
            return -1;
        argv[++out->n] = argv[i];
    }
    return 0;
}

int amctl_fail(int status, const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "amctl %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (status == AMCTL_USAGE)
        fprintf(stderr, "Run 'amctl %s --help' for usage.\n", cmd);
    return status;
}

int amctl_matchers_parse(int argc, char **argv, struct matchers *ms, struct error *err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        struct matcher m;
        int rc;

        if (a[0] == '{') {
            rc = matchers_parse(ms, a, err);
            if (rc < 0)
                return error_prefix(err, "matchers %s", a);
            continue;
        }
        if (strpbrk(a, "=!~") == NULL)
            rc = matcher_init(&m, MATCH_EQ, "alertname", a, err);
        else
            rc = matcher_parse(&m, a, err);
        if (rc < 0)
            return error_prefix(err, "matcher %s", a);
        if (matchers_push(ms, &m) < 0) {
            matcher_release(&m);
            return error_set(err, "out of memory");
        }
    }
    return 0;
}

json_t *amctl_matchers_json(const struct matchers *ms)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < ms->n; i++) {
        const struct matcher *m = &ms->v[i];
        json_t *o = json_pack("{s:s, s:s, s:b, s:b}", "name", m->name, "value", m->value, "isRegex",
                              m->op == MATCH_RE || m->op == MATCH_NRE, "isEqual",
                              m->op == MATCH_EQ || m->op == MATCH_RE);

        if (o == NULL || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int amctl_matchers_query(struct buf *path, const struct matchers *ms)
{
    struct buf one;
    int rc = 0;

    buf_init(&one, 1u << 20);
    for (size_t i = 0; i < ms->n && rc == 0; i++) {
        buf_reset(&one);
        rc = matcher_format(&ms->v[i], &one);
        if (rc == 0)
            rc = amctl_query_add(path, "filter", buf_str(&one));
    }
    buf_release(&one);
    return rc;
}

const char *amctl_default_user(char *out, size_t outsz)
{
    const char *user = getenv("USER");
    char host[256];

    if (user == NULL || user[0] == '\0')
        user = getenv("LOGNAME");
    if (user == NULL || user[0] == '\0') {
        struct passwd *pw = getpwuid(getuid());

        user = pw != NULL && pw->pw_name != NULL ? pw->pw_name : "unknown";
    }
    if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(out, outsz, "%s@%s", user, host);
    return out;
}

const char *amctl_jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : "";
}

const char *amctl_jstr2(const json_t *o, const char *key1, const char *key2)
{
    const char *s = amctl_jstr(o, key1);

    return s[0] != '\0' ? s : amctl_jstr(o, key2);
}

int amctl_labels_text(const json_t *labels, const char *skip, struct buf *out)
{
    const char *k;
    json_t *v;
    bool first = true;

    json_object_foreach((json_t *)labels, k, v)
    {
        if (skip != NULL && strcmp(k, skip) == 0)
            continue;
        if (buf_printf(out, "%s%s=%s", first ? "" : ", ", k,
                       json_is_string(v) ? json_string_value(v) : "?") < 0)
            return -1;
        first = false;
    }
    return 0;
}

const char *amctl_time_text(const char *rfc3339, char *out, size_t outsz)
{
    int64_t ms;
    time_t secs;
    struct tm tm;

    if (rfc3339 == NULL || rfc3339[0] == '\0' || time_parse_rfc3339(rfc3339, &ms) < 0) {
        snprintf(out, outsz, "%s", rfc3339 == NULL ? "" : rfc3339);
        return out;
    }
    if (ms == TIME_UNSET || ms < 0) {
        snprintf(out, outsz, "%s", "");
        return out;
    }
    secs = (time_t)(ms / 1000);
    if (gmtime_r(&secs, &tm) == NULL || strftime(out, outsz, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, outsz, "%s", rfc3339);
    return out;
}

/* "2h5m" from milliseconds: the two largest units, which is as much as people read. */
static void span_text(int64_t ms, char *out, size_t outsz)
{
    static const struct {
        int64_t ms;
        char unit;
    } units[] = {{86400000, 'd'}, {3600000, 'h'}, {60000, 'm'}, {1000, 's'}};
    size_t k = 0;
    int shown = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && shown < 2; i++) {
        int64_t n = ms / units[i].ms;

        if (n == 0 && shown == 0)
            continue;
        if (n > 0) {
            int w = snprintf(out + k, outsz - k, "%lld%c", (long long)n, units[i].unit);

            if (w < 0 || (size_t)w >= outsz - k)
                return;
            k += (size_t)w;
        }
        ms -= n * units[i].ms;
        shown++;
    }
    if (k == 0)
        snprintf(out, outsz, "0s");
}

const char *amctl_ago_text(const char *rfc3339, int64_t now, char *out, size_t outsz)
{
    char span[64];
    int64_t ms;

    if (rfc3339 == NULL || time_parse_rfc3339(rfc3339, &ms) < 0 || ms == TIME_UNSET) {
        snprintf(out, outsz, "%s", "");
        return out;
    }
    if (ms <= now && now - ms < 1000) {
        snprintf(out, outsz, "just now");
        return out;
    }
    span_text(ms <= now ? now - ms : ms - now, span, sizeof(span));
    if (ms <= now)
        snprintf(out, outsz, "%s ago", span);
    else
        snprintf(out, outsz, "in %s", span);
    return out;
}

int amctl_parse_id(const char *s, int64_t *id)
{
    char *end;
    long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0)
        return -1;
    *id = (int64_t)v;
    return 0;
}

const char *amctl_incident_target(const json_t *inc)
{
    return amctl_jstr2(inc, "policy", "receiver");
}

const char *amctl_incident_step(const json_t *inc, char *out, size_t outsz)
{
    json_int_t step = json_integer_value(json_object_get(inc, "step"));
    json_int_t steps = json_integer_value(json_object_get(inc, "steps"));
    json_int_t run = json_integer_value(json_object_get(inc, "run"));

    if (steps <= 0)
        snprintf(out, outsz, "%s", "");
    else if (run > 0)
        snprintf(out, outsz, "%lld/%lld run %lld", (long long)step, (long long)steps,
                 (long long)run + 1);
    else
        snprintf(out, outsz, "%lld/%lld", (long long)step, (long long)steps);
    return out;
}

json_t *amctl_ack_body(const struct amctl_ack_args *args)
{
    char user[320];
    const char *by = args->by;
    json_t *body;

    if (by == NULL || by[0] == '\0')
        by = amctl_default_user(user, sizeof(user));
    body = json_pack("{s:s, s:s}", "by", by, "via", "amctl");
    if (body != NULL && args->comment != NULL &&
        json_object_set_new(body, "comment", json_string(args->comment)) < 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}
