/*
 * test_storage_fixture.h - what the storage unit tests share: a fresh temporary
 * directory for a database and opening storage in it (the test fails with
 * storage_open's message otherwise).
 *
 * Include after <cmocka.h> (with its prerequisites) and storage/storage.h.
 * Static functions: each test binary gets its own copy. The caller owns the
 * directory name (storage_fixture_rmdir frees it) and the storage (storage_close).
 */
#ifndef AMR_TEST_STORAGE_FIXTURE_H
#define AMR_TEST_STORAGE_FIXTURE_H

#include "core/error.h"
#include "storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A new empty directory /tmp/amr-test-<what>-XXXXXX (malloc'd name). */
static inline char *storage_fixture_mkdir(const char *what)
{
    char tmpl[128];
    char *d;

    snprintf(tmpl, sizeof(tmpl), "/tmp/amr-test-%s-XXXXXX", what);
    d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

/* Removes the directory and everything in it; frees the name. */
static inline void storage_fixture_rmdir(char *dir)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* storage_open(dir) with default options, or the test fails with the reason. */
static inline struct storage *storage_fixture_open(const char *dir)
{
    struct error err = {{0}};
    struct storage *st = storage_open(dir, NULL, &err);

    if (st == NULL)
        fail_msg("storage_open: %s", err.msg);
    return st;
}

#endif
