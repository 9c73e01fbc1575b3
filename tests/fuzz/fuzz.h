/*
 * fuzz.h - what every tests/fuzz/fuzz_<name>.c target shares.
 * A target defines LLVMFuzzerTestOneInput() (libFuzzer's entry point) and
 * nothing else global. It is linked two ways: with clang -fsanitize=fuzzer
 * for `make fuzz`, and with replay.c (a plain main() that feeds it every file
 * of its corpus and regression directories) for `make test` / `make check`.
 * A target must accept any bytes, free everything it made (LeakSanitizer
 * checks) and abort() only when an invariant of the code under test breaks
 * (FUZZ_CHECK), which is what makes an input a crash worth keeping.
 * fuzz_strndup() gives the NUL-terminated copy most parsers want.
 */
#ifndef AMR_FUZZ_H
#define AMR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd NUL-terminated copy of data (embedded NULs cut the string short, which
 * is what the C API of the code under test would see). Aborts when memory runs out. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* An invariant of the code under test: report it and abort, so the fuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
