/*
 * timefmt.h - RFC 3339 timestamps in and out.
 *
 * Times are int64 milliseconds since the Unix epoch. TIME_UNSET (0) stands for
 * Go's zero time "0001-01-01T00:00:00Z", which Alertmanager's API uses for
 * "not set"; it parses to TIME_UNSET and prints back as that string.
 */
#ifndef AMR_TIMEFMT_H
#define AMR_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIME_UNSET  ((int64_t)0)
#define TIME_STRMAX 40

/* Parses "2006-01-02T15:04:05Z", with optional fractional seconds (any number of
 * digits; kept to the millisecond) and a "Z" or "+hh:mm"/"-hh:mm" offset.
 * Returns 0 and sets *ms, or -1 when s is not such a timestamp. */
int time_parse_rfc3339(const char *s, int64_t *ms);

/* Formats in UTC with exactly three fractional digits, "2006-01-02T15:04:05.000Z",
 * as Alertmanager's API v2 does. TIME_UNSET gives "0001-01-01T00:00:00.000Z".
 * out must hold TIME_STRMAX bytes. Returns out. */
char *time_format_rfc3339(int64_t ms, char *out, size_t outsz);

/* Formats like Go's RFC3339Nano (used in webhook payloads): fractional digits
 * without trailing zeros, none when whole. TIME_UNSET gives "0001-01-01T00:00:00Z". */
char *time_format_rfc3339nano(int64_t ms, char *out, size_t outsz);

#endif
