/*
 * test_storage_wal.c - the storage's background WAL checkpointer (storage/
 * sqlite.c): with SQLite's autocheckpoint off, the thread's PASSIVE
 * checkpoints keep the WAL file bounded while commits go on, a WAL past the
 * truncate mark is reset to empty, nothing committed is lost across close and
 * reopen, and close joins the thread (the sanitizer build reports a leak or a
 * use after free otherwise). Thresholds are lowered through
 * storage_test_checkpoint_pages so a few hundred KiB exercise them.
 */
#include "core/alert.h"
#include "core/error.h"
#include "core/labels.h"
#include "storage/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#define T0   1700000000000LL
#define HOUR 3600000LL

/* mk_tmpdir, rm_tmpdir, open_ok */
#include "tests/unit/test_storage_fixture.h"

/* Alert number i with a ~1.5 KiB annotation: a few alerts fill a page. */
static void mk_big_alert(struct alert *a, int i)
{
    char inst[32], pad[1500];

    alert_init(a);
    snprintf(inst, sizeof(inst), "host-%d", i);
    memset(pad, 'a' + i % 26, sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    assert_int_equal(labels_set(&a->labels, "alertname", "Big"), 0);
    assert_int_equal(labels_set(&a->labels, "instance", inst), 0);
    assert_int_equal(labels_set(&a->annotations, "pad", pad), 0);
    a->starts_at = T0;
    a->ends_at = T0 + HOUR;
    a->updated_at = T0;
    alert_update_fingerprint(a);
}

/* Commits alerts first .. first + n - 1 in one transaction. */
static void put_range(struct storage *st, int first, int n)
{
    struct error err = {{0}};

    assert_int_equal(storage_begin(st, &err), 0);
    for (int i = first; i < first + n; i++) {
        struct alert a;

        mk_big_alert(&a, i);
        assert_int_equal(storage_put_alert(st, &a, &err), 0);
        alert_release(&a);
    }
    if (storage_commit(st, &err) < 0)
        fail_msg("commit: %s", err.msg);
}

static long wal_bytes(const char *dir)
{
    char path[512];
    struct stat sb;

    snprintf(path, sizeof(path), "%s/%s-wal", dir, STORAGE_DB_NAME);
    return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

static void wait_idle(struct storage *st, long *passive, long *truncate)
{
    assert_int_equal(storage_test_checkpoint_idle(st, 20000, passive, truncate), 0);
}

static size_t stored_alerts(struct storage *st)
{
    struct error err = {{0}};
    struct storage_counts n;

    assert_int_equal(storage_count(st, &n, &err), 0);
    return n.alerts;
}

static void test_passive_checkpoints_bound_the_wal(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st;
    long passive = 0, truncate = 0, max_wal = 0;

    (void)state;
    /* A checkpoint per 64 frames; no truncation. */
    storage_test_checkpoint_pages(64, 1 << 30);
    st = open_ok(dir);
    /* 3000 alerts, about 1200 pages of row data alone: without checkpoints
     * (autocheckpoint is off) the WAL would hold them all. */
    for (int k = 0; k < 150; k++) {
        put_range(st, k * 20, 20);
        /* The thread copies what was committed before its request; the next
         * commit after a complete copy starts the WAL over. */
        wait_idle(st, &passive, &truncate);
        if (wal_bytes(dir) > max_wal)
            max_wal = wal_bytes(dir);
    }
    assert_true(passive >= 10);
    assert_int_equal(truncate, 0);
    /* Bounded: a threshold's worth plus one transaction plus its index pages,
     * far below the ~5 MiB written. */
    assert_true(max_wal < 1024L * 1024L);
    assert_int_equal(stored_alerts(st), 3000);
    storage_close(st);
    /* Reopen: every committed row is there. */
    st = open_ok(dir);
    assert_int_equal(stored_alerts(st), 3000);
    storage_close(st);
    storage_test_checkpoint_pages(0, 0);
    rm_tmpdir(dir);
}

static void test_long_wal_is_truncated(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st;
    long passive = 0, truncate = 0;

    (void)state;
    storage_test_checkpoint_pages(32, 64);
    st = open_ok(dir);
    /* One transaction of ~120 pages: past the truncate mark at once. */
    put_range(st, 0, 300);
    wait_idle(st, &passive, &truncate);
    assert_true(truncate >= 1);
    assert_int_equal(wal_bytes(dir), 0);
    /* Writing goes on after the reset. */
    put_range(st, 300, 10);
    assert_int_equal(stored_alerts(st), 310);
    storage_close(st);
    st = open_ok(dir);
    assert_int_equal(stored_alerts(st), 310);
    storage_close(st);
    storage_test_checkpoint_pages(0, 0);
    rm_tmpdir(dir);
}

static void test_close_with_checkpoint_pending(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st;

    (void)state;
    /* Close right after commits that asked for checkpoints: the thread is
     * stopped and joined whatever it was doing, and nothing is lost. */
    storage_test_checkpoint_pages(8, 16);
    for (int round = 0; round < 5; round++) {
        st = open_ok(dir);
        put_range(st, round * 40, 40);
        storage_close(st);
    }
    st = open_ok(dir);
    assert_int_equal(stored_alerts(st), 200);
    storage_close(st);
    storage_test_checkpoint_pages(0, 0);
    rm_tmpdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passive_checkpoints_bound_the_wal),
        cmocka_unit_test(test_long_wal_is_truncated),
        cmocka_unit_test(test_close_with_checkpoint_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
