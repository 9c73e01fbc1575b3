/*
 * labels.h - label sets and Alertmanager-compatible fingerprints.
 *
 * A struct labels is a set of name/value pairs kept sorted by name (bytewise),
 * with unique names and no empty values (setting "" removes the name, as
 * Alertmanager drops empty label values). The set owns its strings.
 *
 * The fingerprint is Alertmanager's (Prometheus model.LabelSet.Fingerprint):
 * FNV-1a 64 over "name" 0xFF "value" 0xFF for each pair in sorted order, so
 * it is stable across restarts and identical to Alertmanager's for the same
 * labels. {} hashes to cbf29ce484222325.
 */
#ifndef AMR_LABELS_H
#define AMR_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;

struct label {
    char *name;
    char *value;
};

struct labels {
    struct label *v; /* sorted by name */
    size_t n;
    size_t cap;
};

#define LABELS_INIT {NULL, 0, 0}

void labels_init(struct labels *ls);
/* Frees every name and value; the set is empty afterwards. */
void labels_release(struct labels *ls);

/* Inserts or replaces name=value (both copied). An empty value removes the name.
 * Returns -1 only when memory runs out. Does not validate: see label_name_valid(). */
int labels_set(struct labels *ls, const char *name, const char *value);

/* The value of name, or NULL when absent. */
const char *labels_get(const struct labels *ls, const char *name);

/* Deep copy into dst (which must be initialised and is emptied first). */
int labels_copy(struct labels *dst, const struct labels *src);

/* 0 when equal; otherwise orders as Alertmanager sorts label sets. */
int labels_compare(const struct labels *a, const struct labels *b);
bool labels_equal(const struct labels *a, const struct labels *b);

/* Alertmanager's fingerprint of the set. */
uint64_t labels_fingerprint(const struct labels *ls);

/* 16 lowercase hex digits + NUL. */
#define FINGERPRINT_STRLEN 17
void fingerprint_format(uint64_t fp, char out[FINGERPRINT_STRLEN]);
/* Parses 16 hex digits. Returns -1 on anything else. */
int fingerprint_parse(const char *s, uint64_t *fp);

/* True when name matches [a-zA-Z_][a-zA-Z0-9_]*. */
bool label_name_valid(const char *name);
/* True when s (len bytes) is valid UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t len);

/* Validates a whole set: every name valid, every value valid UTF-8. Fills err with
 * e.g. `invalid label name "1x"`. */
int labels_validate(const struct labels *ls, struct error *err);

/* Formats as Alertmanager prints a label set: {a="x", b="y"} (values Go-quoted). */
struct buf;
int labels_format(const struct labels *ls, struct buf *out);

#endif
