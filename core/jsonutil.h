/*
 * jsonutil.h - jansson glue for the core model: label sets and timestamps.
 *
 * Parsing functions take the JSON field path of the value they read (e.g.
 * "alerts[3].labels") and put it at the start of every error message, so the
 * API can answer 400 with a message that names the field. They never keep a
 * reference to the json_t they read. Functions that build JSON return a new
 * reference the caller owns (json_decref), or NULL when memory runs out.
 */
#ifndef AMR_JSONUTIL_H
#define AMR_JSONUTIL_H

#include <jansson.h>
#include <stdint.h>

struct error;
struct labels;

/* {"name": "value", ...} in name order. NULL when memory runs out. */
json_t *labels_to_json(const struct labels *ls);

/* Reads an object of strings into ls (emptied first; on failure ls is
 * unchanged). Empty values are dropped, as Alertmanager does. Errors:
 *   PATH: must be an object of strings
 *   PATH: invalid label name "1x"
 *   PATH.name: label value is not valid UTF-8
 *   PATH.name: label value contains a NUL byte
 * Also used for annotations, which Alertmanager validates the same way. */
int labels_from_json(struct labels *ls, const json_t *obj, const char *path, struct error *err);

/* A JSON string "2006-01-02T15:04:05.000Z" (API v2 form); TIME_UNSET gives
 * "0001-01-01T00:00:00.000Z". */
json_t *time_to_json(int64_t ms);
/* The same in Go's RFC3339Nano form (webhook payloads): "...:05.1Z", "...:05Z". */
json_t *time_to_json_nano(int64_t ms);

/* Reads an RFC 3339 string. A missing value (v == NULL) or JSON null gives
 * TIME_UNSET, as does the zero time. Errors: `PATH: must be a string`,
 * `PATH: invalid time "yesterday"`. *ms is untouched on failure. */
int time_from_json(const json_t *v, const char *path, int64_t *ms, struct error *err);

/* Reads an optional string: missing or null gives *out = NULL; a string gives a
 * borrowed pointer into v (valid while v lives); anything else fails with
 * `PATH: must be a string`. Strings with NUL bytes fail with `PATH: contains a NUL byte`. */
int string_from_json(const json_t *v, const char *path, const char **out, struct error *err);

#endif
