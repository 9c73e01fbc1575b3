/*
 * error.c - struct error helpers, fatal() and BUG().
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int error_set(struct error *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
    char joined[2 * ERROR_MSG_MAX + 2];
    size_t n;
    va_list ap;

    if (err == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(joined, ERROR_MSG_MAX, fmt, ap);
    va_end(ap);
    n = strlen(joined);
    memcpy(joined + n, ": ", 2);
    memcpy(joined + n + 2, err->msg, strnlen(err->msg, ERROR_MSG_MAX - 1) + 1);
    joined[n + 2 + strnlen(err->msg, ERROR_MSG_MAX - 1)] = '\0';
    n = strnlen(joined, ERROR_MSG_MAX - 1);
    memcpy(err->msg, joined, n);
    err->msg[n] = '\0';
    return -1;
}

void error_clear(struct error *err)
{
    if (err != NULL)
        err->msg[0] = '\0';
}

void fatal(const char *fmt, ...)
{
    va_list ap;

    fputs("amrouter: fatal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void bug_at(const char *file, int line, const char *what)
{
    fprintf(stderr, "amrouter: BUG at %s:%d: %s\n", file, line, what);
    abort();
}
