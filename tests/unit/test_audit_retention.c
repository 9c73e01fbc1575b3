/*
 * test_audit_retention.c - retention of the audit table (storage/audit.h
 * audit_gc, config key retention.audit): records older than the retention go,
 * newer ones and those exactly at the limit stay, a retention of 0 keeps all,
 * the delete is part of the engine's transaction (rolled back with it), and the
 * config key has its default, parses durations and refuses non-positive ones.
 */
#include "config/config.h"
#include "core/error.h"
#include "storage/audit.h"
#include "storage/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/test_storage_fixture.h"

#define T0  1700000000000LL
#define DAY (24 * 3600 * 1000LL)

static const char *base_cfg = "route:\n"
                              "  receiver: hook\n"
                              "receivers:\n"
                              "  - name: hook\n"
                              "    webhook_configs:\n"
                              "      - url: http://127.0.0.1:1/\n";

/* One record per age in days (at = now - age), targets "d<age>". */
static void record_ages(struct audit *au, int64_t now, const int *ages, size_t n)
{
    struct error err = {{0}};

    for (size_t i = 0; i < n; i++) {
        char target[32];

        snprintf(target, sizeof(target), "d%d", ages[i]);
        if (audit_record(au, now - ages[i] * DAY, "alice", "incident.ack", target, "", &err) < 0)
            fail_msg("audit_record: %s", err.msg);
    }
}

/* The targets left, newest record first, joined with spaces. */
static void targets_left(struct audit *au, char *out, size_t outsz)
{
    struct error err = {{0}};
    json_t *rows = audit_query(au, 0, NULL, 1000, &err);
    size_t i;
    json_t *r;

    if (rows == NULL)
        fail_msg("audit_query: %s", err.msg);
    out[0] = '\0';
    json_array_foreach(rows, i, r)
    {
        size_t len = strlen(out);

        snprintf(out + len, outsz - len, "%s%s", len > 0 ? " " : "",
                 json_string_value(json_object_get(r, "target")));
    }
    json_decref(rows);
}

static void test_old_records_deleted(void **state)
{
    static const int ages[] = {400, 91, 90, 89, 1, 0};
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct audit *au = audit_open(dir, &err);
    char left[256];

    (void)state;
    assert_non_null(au);
    record_ages(au, T0, ages, 6);

    /* 0 (and below) keeps everything */
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(audit_gc(st, T0, 0, &err), 0);
    assert_int_equal(storage_commit(st, &err), 0);
    targets_left(au, left, sizeof(left));
    assert_string_equal(left, "d0 d1 d89 d90 d91 d400");

    /* rolled back with the engine's transaction: nothing goes */
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(audit_gc(st, T0, 90 * DAY, &err), 2);
    storage_rollback(st);
    targets_left(au, left, sizeof(left));
    assert_string_equal(left, "d0 d1 d89 d90 d91 d400");

    /* 90 days: older ones go, the one exactly 90 days old stays */
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(audit_gc(st, T0, 90 * DAY, &err), 2);
    assert_int_equal(storage_commit(st, &err), 0);
    targets_left(au, left, sizeof(left));
    assert_string_equal(left, "d0 d1 d89 d90");

    /* again a day later with 1 day */
    assert_int_equal(storage_begin(st, &err), 0);
    assert_int_equal(audit_gc(st, T0 + DAY, DAY, &err), 3);
    assert_int_equal(storage_commit(st, &err), 0);
    targets_left(au, left, sizeof(left));
    assert_string_equal(left, "d0");

    audit_close(au);
    storage_close(st);
    rm_tmpdir(dir);
}

static struct config *load(const char *extra, struct error *err)
{
    char text[1024];

    snprintf(text, sizeof(text), "%s%s", base_cfg, extra);
    return config_load_string(text, "amrouter.yml", NULL, err);
}

static void test_config_key(void **state)
{
    struct error err = {{0}};
    struct config *c;

    (void)state;
    c = load("", &err);
    assert_non_null(c);
    assert_int_equal(c->retention.audit, 90 * DAY);
    config_free(c);

    c = load("retention:\n  audit: 30d\n", &err);
    if (c == NULL)
        fail_msg("load: %s", err.msg);
    assert_int_equal(c->retention.audit, 30 * DAY);
    assert_int_equal(c->retention.incidents, 30 * DAY); /* others keep their defaults */
    config_free(c);

    c = load("retention:\n  audit: 0s\n", &err);
    assert_null(c);
    assert_non_null(strstr(err.msg, "retention.audit"));
    assert_non_null(strstr(err.msg, "must be positive"));

    memset(&err, 0, sizeof(err));
    c = load("retention:\n  audit: soon\n", &err);
    assert_null(c);
    assert_non_null(strstr(err.msg, "audit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_records_deleted),
        cmocka_unit_test(test_config_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
