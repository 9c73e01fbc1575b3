/*
 * error.h - the one error convention of amrouter.
 *
 * A function that can fail returns int: 0 on success, -1 on failure, and
 * fills the caller's struct error with a human sentence. Where it applies the
 * message starts with the place the bad input came from: "file:line:col: "
 * for config files, a JSON field path such as "alerts[3].labels" for API
 * bodies. The struct is caller-owned and fixed-size, so filling it never
 * allocates and never fails.
 */
#ifndef AMR_ERROR_H
#define AMR_ERROR_H

#include <stddef.h>

#define ERROR_MSG_MAX 512

struct error {
    char msg[ERROR_MSG_MAX];
};

/* Formats the message into err (truncated to fit). err may be NULL. Returns -1 so that
 * callers can write `return error_set(err, "...")`. */
int error_set(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to the message already in err (for adding context on the way up).
 * Returns -1. */
int error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to an empty message. */
void error_clear(struct error *err);

/* fatal() logs and exits(1): only at start-up. BUG() marks a broken invariant and aborts. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void bug_at(const char *file, int line, const char *what) __attribute__((noreturn));
#define BUG(what) bug_at(__FILE__, __LINE__, (what))

#endif
