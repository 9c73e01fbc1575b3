/*
 * test_storage_fixture.h - what the storage unit tests share: a fresh temporary
 * directory for a database and opening storage in it (the test fails with
 * storage_open's message otherwise).
 *
 * Include after <cmocka.h> (with its prerequisites) and storage/storage.h.
 * Static functions (named as the tests had them): each test binary gets its own
 * copy. The caller owns the directory name (rm_tmpdir frees it) and the storage
 * (storage_close). Used by test_storage.c, test_group_members.c and
 * test_audit_retention.c.
 */
#ifndef AMR_TEST_STORAGE_FIXTURE_H
#define AMR_TEST_STORAGE_FIXTURE_H

#include "core/error.h"
#include "storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A new empty directory /tmp/amr-test-storage-XXXXXX (malloc'd name). */
static inline char *mk_tmpdir(void)
{
    char tmpl[] = "/tmp/amr-test-storage-XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return strdup(d);
}

/* Removes the directory and everything in it; frees the name. */
static inline void rm_tmpdir(char *dir)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* storage_open(dir) with default options, or the test fails with the reason. */
static inline struct storage *open_ok(const char *dir)
{
    struct error err = {{0}};
    struct storage *st = storage_open(dir, NULL, &err);

    if (st == NULL)
        fail_msg("storage_open: %s", err.msg);
    return st;
}

#endif
