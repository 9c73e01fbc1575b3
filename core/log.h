/*
 * log.h - structured logging to stderr, logfmt (default) or JSON lines.
 *
 * A log line is a message plus key/value pairs, all strings:
 *
 *     log_info("notification sent", "receiver", "team-x", "incident", "42", NULL);
 *
 * logfmt:  ts=2026-11-23T12:00:00.123Z level=info msg="notification sent" receiver=team-x ...
 * json:    {"ts":"...","level":"info","msg":"notification sent","receiver":"team-x",...}
 *
 * The argument list is key, value, key, value, ... ended by NULL. Lines are written
 * whole under stdio's stream lock, so threads never interleave within a line.
 * Secrets never go to the log: callers pass redacted values.
 */
#ifndef AMR_LOG_H
#define AMR_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };

/* Parses "debug|info|warn|error" / "logfmt|json". Return -1 on an unknown name. */
int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);

/* Sets the threshold and format; safe to call again (e.g. from tests). */
void log_init(enum log_level level, enum log_format format);
bool log_enabled(enum log_level level);

/* Writes one line; the variadic part is NULL-terminated key/value string pairs.
 * A NULL value prints as an empty string. */
void log_kv(enum log_level level, const char *msg, ...);

#define log_debug(...) log_kv(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_kv(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_kv(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_kv(LOG_ERROR, __VA_ARGS__)

#endif
