/*
 * duration.h - Prometheus durations: "500ms", "30s", "5m", "1h30m", "2d", "1w", "1y".
 *
 * Units y (365d), w, d, h, m, s, ms, each at most once and in that order, as
 * Prometheus' model.ParseDuration. "0" is allowed and means zero. Values are
 * int64 milliseconds. Printing gives the canonical form Prometheus prints
 * (largest units first, "0s" for zero), so parse(print(x)) == x.
 */
#ifndef AMR_DURATION_H
#define AMR_DURATION_H

#include <stddef.h>
#include <stdint.h>

struct error;

/* Returns 0 and sets *ms, or -1 with err = `invalid duration "5x"`. */
int duration_parse(const char *s, int64_t *ms, struct error *err);

#define DURATION_STRMAX 64
/* Writes the canonical form into out (DURATION_STRMAX bytes). Returns out. */
char *duration_format(int64_t ms, char *out, size_t outsz);

#endif
