/*
 * buf.h - a growable byte buffer with a hard size cap (after curl's dynbuf).
 *
 * Every buffer that holds untrusted or rendered data has a maximum size. An
 * append that would cross it fails with -1 and leaves the buffer as it was, so
 * a hostile request or a runaway template can never grow memory without bound.
 * The content is always NUL-terminated (the NUL is not counted in len).
 *
 * Ownership: the buffer owns ptr; buf_release() frees it, buf_detach() hands it
 * to the caller.
 */
#ifndef AMR_BUF_H
#define AMR_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *ptr;  /* NULL until the first append */
    size_t len; /* bytes used, not counting the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* largest len allowed */
};

/* Starts an empty buffer that may hold up to max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Frees the content; the buffer is empty and reusable with the same max afterwards. */
void buf_release(struct buf *b);

/* Empties the buffer but keeps its allocation. */
void buf_reset(struct buf *b);

/* Makes room for n more bytes now, so that appends up to that size do not
 * reallocate. Returns -1 (buffer unchanged) past the cap or out of memory. */
int buf_grow(struct buf *b, size_t n);

/* Appends n bytes. Returns -1 (buffer unchanged) when the cap would be passed or
 * memory runs out. */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_appends(struct buf *b, const char *s);
int buf_appendc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* Returns the content (never NULL: "" for an empty buffer). Valid until the next change. */
const char *buf_str(const struct buf *b);

/* Hands the content to the caller, who frees it; the buffer is left empty. Never NULL
 * unless memory runs out. */
char *buf_detach(struct buf *b);

#endif
