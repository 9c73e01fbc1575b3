/*
 * codec.h - the JSON form in which storage keeps router values.
 *
 * Stored values are compact JSON text: readable with the sqlite3 shell, easy
 * to extend (a decoder ignores keys it does not know and defaults missing
 * ones), and the same for every backend. Times are integers (ms since the
 * epoch), fingerprints 16 hex digits, job and flush ids integers.
 *
 * Encoders return a malloc'd NUL-terminated string the caller frees, or NULL
 * when memory runs out. Decoders fill an initialised output and return 0, or
 * -1 with err naming the bad field; on failure the output is released.
 */
#ifndef AMR_STORAGE_CODEC_H
#define AMR_STORAGE_CODEC_H

#include "router/router.h"

#include <jansson.h>

struct error;

char *codec_encode_alert(const struct alert *a);
int codec_decode_alert(const char *text, struct alert *a, struct error *err);

char *codec_encode_silence(const struct silence *s);
int codec_decode_silence(const char *text, struct silence *s, struct error *err);

char *codec_encode_nflog(const struct nflog_entry *e);
int codec_decode_nflog(const char *text, struct nflog_entry *e, struct error *err);

/* A notify job without its config pointers (route/receiver are NULL after decode). */
char *codec_encode_job(const struct notify_job *j);
/* *out is a new job (notify_job_free) on success. */
int codec_decode_job(const char *text, struct notify_job **out, struct error *err);

/* Fingerprint arrays as a JSON array of hex strings. */
json_t *codec_fps_to_json(const uint64_t *fps, size_t n);
/* *out malloc'd (NULL when n == 0). */
int codec_fps_from_json(const json_t *v, uint64_t **out, size_t *n, struct error *err);

/* The alert objects inside an encoded job or alert row. */
json_t *codec_alert_to_json(const struct alert *a);
int codec_alert_from_json(const json_t *o, struct alert *a, struct error *err);

#endif
