/*
 * labels.h - label sets and Alertmanager-compatible fingerprints.
 *
 * A struct labels is a set of name/value pairs kept sorted by name (bytewise),
 * with unique names and no empty values (setting "" removes the name, as
 * Alertmanager drops empty label values).
 *
 * Representation: the pairs and the strings live in ONE malloc'd block owned by
 * the set; frequent strings (seen at least twice, at most 64 bytes) point into
 * a process-wide, thread-safe intern table instead. Callers read v[i].name and
 * v[i].value directly but must never write, free or keep them past the set's
 * next change (a labels_set() may move the block). Moving a set by struct
 * assignment is fine (the block moves with v); the source must then be
 * re-initialised, never released.
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
    char *name;  /* read-only: in the set's block or interned */
    char *value; /* read-only: in the set's block or interned */
};

struct labels {
    struct label *v; /* sorted by name; points just past the block's header */
    size_t n;
};

#define LABELS_INIT                                                                                \
    {                                                                                              \
        NULL, 0                                                                                    \
    }

void labels_init(struct labels *ls);
/* Frees every name and value; the set is empty afterwards. */
void labels_release(struct labels *ls);

/* Inserts or replaces name=value (both copied). An empty value removes the name.
 * Returns -1 only when memory runs out. Does not validate: see label_name_valid(). */
int labels_set(struct labels *ls, const char *name, const char *value);

/* The value of name, or NULL when absent. */
const char *labels_get(const struct labels *ls, const char *name);

/* Deep copy into dst (which must be initialised and is emptied first). The copy
 * is exact-fit (no spare room) and shares interned strings with src. -1 on OOM
 * (dst unchanged). */
int labels_copy(struct labels *dst, const struct labels *src);

/* Repacks ls into an exact-fit block (drops spare pair slots, spare bytes and
 * strings left behind by replaced or removed labels). Call on sets that are
 * kept long. Out of memory leaves ls as it was (still valid). */
void labels_compact(struct labels *ls);

/* Bytes labels_pack_into() needs for ls (a multiple of 8; 0 for an empty set). */
size_t labels_packed_size(const struct labels *ls);
/* Rebuilds ls as an exact-fit block at mem (8-byte aligned, at least
 * labels_packed_size(ls) bytes, not overlapping ls's current block) and frees
 * ls's old block. Afterwards ls borrows mem: labels_release() does not free it,
 * and a change that needs room moves ls into a block of its own. The owner of
 * mem frees it only after releasing ls. Used by alert_compact(). */
void labels_pack_into(struct labels *ls, void *mem);
/* True when ls has no block or its block lies in [mem, mem + size). */
bool labels_within(const struct labels *ls, const void *mem, size_t size);

/* Bytes ls's block takes (header, pair slots, string area), malloc overhead not
 * counted. 0 for an empty set without a block. For tests and accounting. */
size_t labels_mem(const struct labels *ls);

/* The interned copy of s, or NULL when s is not (yet) interned: a string is
 * interned on its second sighting when it is 1..64 bytes and the table (64Ki
 * strings, never freed) has room. Thread-safe; the result lives until exit. */
const char *labels_intern(const char *s);
/* True when s points into the intern table (tests). */
bool labels_is_interned(const char *s);

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
 * `invalid label name "1x"` or `label "x": label value is not valid UTF-8`. */
int labels_validate(const struct labels *ls, struct error *err);

/* Formats as Alertmanager prints a label set (Prometheus LabelSet.String(), used
 * in group keys): {a="x", b="y"}, values quoted as Go's strconv.Quote, pairs in
 * the order of the printed strings (so `a0="1"` sorts before `a="2"`).
 * Returns -1 when out's cap is reached or memory runs out. */
struct buf;
int labels_format(const struct labels *ls, struct buf *out);

/* Decodes one UTF-8 sequence at s (len bytes available): returns its length
 * (1-4) and sets *cp, or 0 when the bytes are not valid UTF-8. */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Appends s (len bytes) quoted as Go's strconv.Quote: \" \\ \n \t ..., \xNN for
 * bytes that are not UTF-8, \uNNNN for non-printable code points. */
int quote_go(struct buf *out, const char *s, size_t len);

/* Go-quotes s for an error message into out (QUOTE_ERR_MAX bytes), cutting it
 * after 80 bytes with "...". Never fails; returns out. */
#define QUOTE_ERR_MAX 400
const char *quote_for_error(const char *s, char *out, size_t outsz);

#endif
