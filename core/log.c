/*
 * log.c - logfmt / JSON line logger.
 *
 * Each line is built in a local capped buffer and written with one fwrite, so
 * lines from different threads never interleave. Values are quoted in logfmt
 * when they contain spaces, quotes, '=' or control characters, and escaped as
 * JSON strings in JSON mode.
 */
#include "core/log.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/timefmt.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static _Atomic int cur_level = LOG_INFO;
static _Atomic int cur_format = LOG_FORMAT_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_format_parse(const char *s, enum log_format *out)
{
    if (strcmp(s, "logfmt") == 0)
        *out = LOG_FORMAT_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

void log_init(enum log_level level, enum log_format format)
{
    atomic_store(&cur_level, (int)level);
    atomic_store(&cur_format, (int)format);
}

bool log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&cur_level);
}

static void put_json_string(struct buf *b, const char *s)
{
    buf_appendc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            buf_appends(b, "\\\"");
            break;
        case '\\':
            buf_appends(b, "\\\\");
            break;
        case '\n':
            buf_appends(b, "\\n");
            break;
        case '\t':
            buf_appends(b, "\\t");
            break;
        case '\r':
            buf_appends(b, "\\r");
            break;
        default:
            if (*p < 0x20)
                buf_printf(b, "\\u%04x", *p);
            else
                buf_appendc(b, (char)*p);
        }
    }
    buf_appendc(b, '"');
}

static bool logfmt_needs_quotes(const char *s)
{
    if (*s == '\0')
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\')
            return true;
    }
    return false;
}

static void put_logfmt_value(struct buf *b, const char *s)
{
    if (logfmt_needs_quotes(s))
        put_json_string(b, s);
    else
        buf_appends(b, s);
}

static void put_pair(struct buf *b, bool json, bool first, const char *k, const char *v)
{
    if (json) {
        if (!first)
            buf_appendc(b, ',');
        put_json_string(b, k);
        buf_appendc(b, ':');
        put_json_string(b, v);
    } else {
        if (!first)
            buf_appendc(b, ' ');
        buf_appends(b, k);
        buf_appendc(b, '=');
        put_logfmt_value(b, v);
    }
}

void log_kv(enum log_level level, const char *msg, ...)
{
    struct buf b;
    char ts[40];
    bool json = atomic_load(&cur_format) == LOG_FORMAT_JSON;
    va_list ap;
    const char *k;

    if (!log_enabled(level))
        return;
    buf_init(&b, 16384);
    time_format_rfc3339(clock_now_ms(), ts, sizeof(ts));
    if (json)
        buf_appendc(&b, '{');
    put_pair(&b, json, true, "ts", ts);
    put_pair(&b, json, false, "level", level_names[level]);
    put_pair(&b, json, false, "msg", msg);
    va_start(ap, msg);
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        put_pair(&b, json, false, k, v != NULL ? v : "");
    }
    va_end(ap);
    if (json)
        buf_appendc(&b, '}');
    buf_appendc(&b, '\n');
    fwrite(buf_str(&b), 1, b.len, stderr);
    buf_release(&b);
}
