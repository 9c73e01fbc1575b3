/*
 * test_group_members.c - group membership stored one row per member (schema
 * version 3): the engine writes a group's head and only the memberships a
 * batch changed, so a commit costs what it changed, not the size of the
 * groups it touched (the ingest benchmark's quadratic hot spot). Checks the
 * storage functions, the migration of a version-2 file's JSON lists, and the
 * router side: router_get_group_head and the change log listing every member
 * of a dropped group.
 */
#include "config/config.h"
#include "core/alert.h"
#include "core/error.h"
#include "core/labels.h"
#include "router/router.h"
#include "storage/codec.h"
#include "storage/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define T0   1700000000000LL
#define SEC  1000LL
#define HOUR (3600 * SEC)

static const char *cfg_text = "route:\n"
                              "  receiver: hook\n"
                              "  group_by: [alertname]\n"
                              "  group_wait: 1s\n"
                              "receivers:\n"
                              "  - name: hook\n"
                              "    webhook_configs:\n"
                              "      - url: http://127.0.0.1:1/\n";

static const char *cfg_by_instance = "route:\n"
                                     "  receiver: hook\n"
                                     "  group_by: [instance]\n"
                                     "  group_wait: 1s\n"
                                     "receivers:\n"
                                     "  - name: hook\n"
                                     "    webhook_configs:\n"
                                     "      - url: http://127.0.0.1:1/\n";

/* mk_tmpdir, rm_tmpdir, open_ok */
#include "tests/unit/test_storage_fixture.h"

/* What storage_load hands the group callback, for one group. */
struct got {
    size_t n_groups;
    char key[256];
    uint64_t fps[8];
    size_t n_fps;
};

static int g_group(void *ctx, const char *key, const char *route_id, const struct labels *labels,
                   int64_t next_flush, bool has_flushed, uint64_t incident_id, const uint64_t *fps,
                   size_t n_fps, struct error *err)
{
    struct got *g = ctx;

    (void)route_id;
    (void)labels;
    (void)next_flush;
    (void)has_flushed;
    (void)incident_id;
    (void)err;
    g->n_groups++;
    snprintf(g->key, sizeof(g->key), "%s", key);
    assert_true(n_fps <= 8);
    if (n_fps > 0)
        memcpy(g->fps, fps, n_fps * sizeof(*fps));
    g->n_fps = n_fps;
    return 0;
}

static void load_groups(struct storage *st, struct got *g)
{
    struct storage_loader ld;
    struct error err = {{0}};

    memset(&ld, 0, sizeof(ld));
    memset(g, 0, sizeof(*g));
    ld.group = g_group;
    if (storage_load(st, &ld, g, &err) < 0)
        fail_msg("storage_load: %s", err.msg);
}

static bool has_fp(const struct got *g, uint64_t fp)
{
    for (size_t i = 0; i < g->n_fps; i++) {
        if (g->fps[i] == fp)
            return true;
    }
    return false;
}

static void head_view(struct group_view *gv, const struct labels *ls)
{
    memset(gv, 0, sizeof(*gv));
    gv->key = "{}:{alertname=\"A\"}";
    gv->labels = ls;
    gv->next_flush = T0;
}

/* Stores an alert row with that fingerprint: since schema 5 a membership is
 * kept in its alert's row, so the alert is stored first (as the engine does). */
static void put_alert_fp(struct storage *st, uint64_t fp)
{
    struct error err = {{0}};
    struct alert a;

    alert_init(&a);
    assert_int_equal(labels_set(&a.labels, "alertname", "A"), 0);
    a.starts_at = T0;
    a.ends_at = T0 + HOUR;
    a.updated_at = T0;
    a.fingerprint = fp;
    if (storage_put_alert(st, &a, &err) < 0)
        fail_msg("storage_put_alert: %s", err.msg);
    alert_release(&a);
}

/* Members come and go one at a time; the head leaves them alone; deleting the
 * group takes them. */
static void test_member_rows(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct labels ls = LABELS_INIT;
    struct group_view gv;
    struct got g;

    (void)state;
    assert_int_equal(labels_set(&ls, "alertname", "A"), 0);
    head_view(&gv, &ls);
    assert_int_equal(storage_begin(st, &err), 0);
    put_alert_fp(st, 0x1111);
    put_alert_fp(st, 0x2222);
    put_alert_fp(st, 0x3333);
    put_alert_fp(st, 0x4444);
    put_alert_fp(st, 0x5555);
    assert_int_equal(storage_put_group_head(st, &gv, &err), 0);
    assert_int_equal(storage_put_member(st, gv.key, 0x1111, &err), 0);
    assert_int_equal(storage_put_member(st, gv.key, 0x2222, &err), 0);
    assert_int_equal(storage_put_member(st, gv.key, 0x2222, &err), 0); /* no-op */
    assert_int_equal(storage_put_member(st, "{}:{alertname=\"B\"}", 0x3333, &err), 0);
    assert_int_equal(storage_commit(st, &err), 0);
    load_groups(st, &g);
    assert_int_equal(g.n_groups, 1);
    assert_int_equal(g.n_fps, 2);
    assert_true(has_fp(&g, 0x1111) && has_fp(&g, 0x2222));

    /* A new head (timer moved) keeps the members; a delete removes one. */
    gv.next_flush = T0 + HOUR;
    assert_int_equal(storage_put_group_head(st, &gv, &err), 0);
    assert_int_equal(storage_delete_member(st, gv.key, 0x1111, &err), 0);
    assert_int_equal(storage_delete_member(st, gv.key, 0x9999, &err), 0); /* no-op */
    load_groups(st, &g);
    assert_int_equal(g.n_fps, 1);
    assert_true(has_fp(&g, 0x2222));

    /* The group goes with its members: made again, it starts empty. */
    assert_int_equal(storage_delete_group(st, gv.key, &err), 0);
    load_groups(st, &g);
    assert_int_equal(g.n_groups, 0);
    assert_int_equal(storage_put_group_head(st, &gv, &err), 0);
    load_groups(st, &g);
    assert_int_equal(g.n_groups, 1);
    assert_int_equal(g.n_fps, 0);

    /* storage_put_group replaces the member set by the view's alerts. */
    {
        struct alert a;
        const struct alert *al[1] = {&a};

        alert_init(&a);
        a.fingerprint = 0x4444;
        assert_int_equal(storage_put_member(st, gv.key, 0x5555, &err), 0);
        gv.alerts = al;
        gv.n_alerts = 1;
        assert_int_equal(storage_put_group(st, &gv, &err), 0);
        load_groups(st, &g);
        assert_int_equal(g.n_fps, 1);
        assert_true(has_fp(&g, 0x4444));
    }
    labels_release(&ls);
    storage_close(st);
    rm_tmpdir(dir);
}

/* A version-2 file keeps its members in aggr_groups.alerts as a JSON list:
 * opening it moves them into rows, and they load as before. */
/* Schema version 2 as released (storage/sqlite.c steps 0->1 and 1->2). */
static const char *v2_schema =
    "CREATE TABLE alerts (fingerprint TEXT PRIMARY KEY, ends_at INTEGER NOT NULL,"
    "  data TEXT NOT NULL);"
    "CREATE TABLE silences (id TEXT PRIMARY KEY, ends_at INTEGER NOT NULL, data TEXT NOT NULL);"
    "CREATE TABLE aggr_groups (key TEXT PRIMARY KEY, route_id TEXT NOT NULL,"
    "  labels TEXT NOT NULL, next_flush INTEGER NOT NULL, has_flushed INTEGER NOT NULL,"
    "  incident_id INTEGER NOT NULL DEFAULT 0, alerts TEXT NOT NULL);"
    "CREATE TABLE nflog (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, data TEXT NOT NULL);"
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY, receiver TEXT NOT NULL, state TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT, created_at INTEGER NOT NULL, job TEXT NOT NULL);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE incidents (id INTEGER PRIMARY KEY, state TEXT NOT NULL,"
    "  group_key TEXT NOT NULL, resolved_at INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);"
    "PRAGMA user_version = 2;";

/* A version-2 file keeps its members in aggr_groups.alerts as a JSON list:
 * opening it moves them into rows, and they load as before. */
static void test_migration_from_json_lists(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st;
    struct error err = {{0}};
    struct got g;

    (void)state;
    assert_true(storage_schema_version() >= 3);
    if (storage_test_exec(dir, v2_schema, &err) < 0)
        fail_msg("v2 schema: %s", err.msg);
    assert_int_equal(storage_test_exec(dir,
                                       "INSERT INTO aggr_groups VALUES ('{}:{alertname=\"A\"}', "
                                       "'r', '{\"alertname\":\"A\"}', 1, 0, 0, "
                                       "'[\"00000000000000aa\",\"00000000000000bb\"]');"
                                       "INSERT INTO alerts VALUES ('00000000000000aa', 0, '{}');"
                                       "INSERT INTO alerts VALUES ('00000000000000bb', 0, '{}');",
                                       &err),
                     0);
    st = open_ok(dir);
    assert_int_equal(storage_test_user_version(st), storage_schema_version());
    load_groups(st, &g);
    assert_int_equal(g.n_groups, 1);
    assert_int_equal(g.n_fps, 2);
    assert_true(has_fp(&g, 0xaa) && has_fp(&g, 0xbb));
    /* The list now lives in rows: a member delete sticks. */
    assert_int_equal(storage_delete_member(st, g.key, 0xaa, &err), 0);
    load_groups(st, &g);
    assert_int_equal(g.n_fps, 1);
    assert_true(has_fp(&g, 0xbb));
    storage_close(st);
    rm_tmpdir(dir);
}

static void mk_alert(struct alert *a, const char *name, const char *inst)
{
    alert_init(a);
    assert_int_equal(labels_set(&a->labels, "alertname", name), 0);
    assert_int_equal(labels_set(&a->labels, "instance", inst), 0);
    a->starts_at = T0;
    a->ends_at = T0 + HOUR;
    a->updated_at = T0;
    alert_update_fingerprint(a);
}

/* What storage_load hands over, all groups and alerts. */
struct got_all {
    size_t n_alerts;
    uint64_t alert_fps[8];
    size_t n_groups;
    char keys[4][64];
    uint64_t fps[4][8];
    size_t n_fps[4];
};

static int ga_alert(void *ctx, struct alert *a, struct error *err)
{
    struct got_all *g = ctx;

    (void)err;
    assert_true(g->n_alerts < 8);
    g->alert_fps[g->n_alerts++] = a->fingerprint;
    alert_release(a);
    return 0;
}

static int ga_group(void *ctx, const char *key, const char *route_id, const struct labels *labels,
                    int64_t next_flush, bool has_flushed, uint64_t incident_id, const uint64_t *fps,
                    size_t n_fps, struct error *err)
{
    struct got_all *g = ctx;

    (void)route_id;
    (void)labels;
    (void)next_flush;
    (void)has_flushed;
    (void)incident_id;
    (void)err;
    assert_true(g->n_groups < 4 && n_fps <= 8);
    snprintf(g->keys[g->n_groups], sizeof(g->keys[0]), "%s", key);
    if (n_fps > 0)
        memcpy(g->fps[g->n_groups], fps, n_fps * sizeof(*fps));
    g->n_fps[g->n_groups++] = n_fps;
    return 0;
}

static void load_all(struct storage *st, struct got_all *g)
{
    struct storage_loader ld;
    struct error err = {{0}};

    memset(&ld, 0, sizeof(ld));
    memset(g, 0, sizeof(*g));
    ld.alert = ga_alert;
    ld.group = ga_group;
    if (storage_load(st, &ld, g, &err) < 0)
        fail_msg("storage_load: %s", err.msg);
}

static bool fps_have(const uint64_t *v, size_t n, uint64_t fp)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] == fp)
            return true;
    }
    return false;
}

/* The group_alerts table and the audit log of schema steps 3 and 4 as released. */
static const char *v4_steps =
    "CREATE TABLE group_alerts (group_key TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  PRIMARY KEY (group_key, fingerprint)) WITHOUT ROWID;"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    "  who TEXT NOT NULL, action TEXT NOT NULL,"
    "  target TEXT NOT NULL DEFAULT '', details TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_at ON audit(at);"
    "PRAGMA user_version = 4;";

/* A version-4 file (text fingerprints, one group_alerts row per member) opens
 * as version 5: every alert is there under its integer fingerprint (one whose
 * fingerprint is not hex cannot have been written by amrouter and is left
 * out), memberships move into the alerts' rows (a membership of an alert that
 * is not stored goes: a load always dropped it), and the moved memberships
 * behave like new ones. */
static void test_migration_from_v4(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st;
    struct error err = {{0}};
    struct alert a[3];
    struct got_all g;
    char sql[4096];
    char hex[3][FINGERPRINT_STRLEN];
    char *enc[3];
    const char *g1 = "{}:{alertname=\"A\"}", *g2 = "{}/{}:{alertname=\"A\"}";

    (void)state;
    mk_alert(&a[0], "A", "i1");
    mk_alert(&a[1], "A", "i2");
    mk_alert(&a[2], "B", "i3");
    for (size_t i = 0; i < 3; i++) {
        fingerprint_format(a[i].fingerprint, hex[i]);
        enc[i] = codec_encode_alert(&a[i]);
        assert_non_null(enc[i]);
        assert_null(strchr(enc[i], '\''));
    }
    if (storage_test_exec(dir, v2_schema, &err) < 0 || storage_test_exec(dir, v4_steps, &err) < 0)
        fail_msg("v4 schema: %s", err.msg);
    snprintf(sql, sizeof(sql),
             "INSERT INTO alerts VALUES ('%s', 1, '%s'), ('%s', 2, '%s'), ('%s', 3, '%s'),"
             "  ('not-hex', 4, '{}');"
             "INSERT INTO aggr_groups VALUES ('%s', 'r', '{\"alertname\":\"A\"}', 1, 0, 0, '[]'),"
             "  ('%s', 'r2', '{\"alertname\":\"A\"}', 1, 0, 0, '[]');"
             "INSERT INTO group_alerts VALUES ('%s', '%s'), ('%s', '%s'), ('%s', '%s'),"
             "  ('%s', '00000000000000ff');",
             hex[0], enc[0], hex[1], enc[1], hex[2], enc[2], g1, g2, g1, hex[0], g1, hex[1], g2,
             hex[0], g1);
    if (storage_test_exec(dir, sql, &err) < 0)
        fail_msg("v4 rows: %s", err.msg);

    st = open_ok(dir);
    assert_int_equal(storage_test_user_version(st), storage_schema_version());
    assert_true(storage_schema_version() >= 5);
    load_all(st, &g);
    assert_int_equal(g.n_alerts, 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(fps_have(g.alert_fps, g.n_alerts, a[i].fingerprint));
    /* Groups come sorted by key: g2 ("{}/...") before g1 ("{}:..."). */
    assert_int_equal(g.n_groups, 2);
    assert_string_equal(g.keys[0], g2);
    assert_int_equal(g.n_fps[0], 1);
    assert_true(fps_have(g.fps[0], 1, a[0].fingerprint));
    assert_string_equal(g.keys[1], g1);
    assert_int_equal(g.n_fps[1], 2);
    assert_true(fps_have(g.fps[1], 2, a[0].fingerprint) && fps_have(g.fps[1], 2, a[1].fingerprint));

    /* Moved memberships are ordinary ones: a delete sticks, a re-put of the
     * alert keeps the others, deleting the alert takes its memberships. */
    assert_int_equal(storage_delete_member(st, g1, a[0].fingerprint, &err), 0);
    assert_int_equal(storage_put_alert(st, &a[0], &err), 0);
    load_all(st, &g);
    assert_int_equal(g.n_fps[0], 1);
    assert_int_equal(g.n_fps[1], 1);
    assert_true(fps_have(g.fps[1], 1, a[1].fingerprint));
    assert_int_equal(storage_delete_alert(st, a[0].fingerprint, &err), 0);
    assert_int_equal(storage_put_alert(st, &a[0], &err), 0);
    load_all(st, &g);
    assert_int_equal(g.n_alerts, 3);
    assert_int_equal(g.n_fps[0], 0);
    storage_close(st);
    for (size_t i = 0; i < 3; i++) {
        free(enc[i]);
        alert_release(&a[i]);
    }
    rm_tmpdir(dir);
}

/* storage_put_alert_in: a new alert and its membership in one go; an alert
 * already stored keeps its memberships and gains the new ones; several groups
 * at once. */
static void test_put_alert_in(void **state)
{
    char *dir = mk_tmpdir();
    struct storage *st = open_ok(dir);
    struct error err = {{0}};
    struct alert a[2];
    struct got_all g;
    const char *g1 = "{}:{alertname=\"A\"}", *g2 = "{}/{}:{alertname=\"A\"}";
    const char *both[2] = {g1, g2};

    (void)state;
    mk_alert(&a[0], "A", "i1");
    mk_alert(&a[1], "A", "i2");
    assert_int_equal(storage_put_alert_in(st, &a[0], &g1, 1, &err), 0);
    assert_int_equal(storage_put_alert_in(st, &a[1], both, 2, &err), 0);
    load_all(st, &g);
    assert_int_equal(g.n_alerts, 2);
    assert_int_equal(g.n_groups, 0); /* no group rows: memberships wait for them */
    {
        struct labels ls = LABELS_INIT;
        struct group_view gv;

        assert_int_equal(labels_set(&ls, "alertname", "A"), 0);
        head_view(&gv, &ls);
        assert_int_equal(storage_put_group_head(st, &gv, &err), 0);
        gv.key = g2;
        assert_int_equal(storage_put_group_head(st, &gv, &err), 0);
        labels_release(&ls);
    }
    load_all(st, &g);
    assert_int_equal(g.n_groups, 2);
    assert_string_equal(g.keys[0], g2);
    assert_int_equal(g.n_fps[0], 1);
    assert_true(fps_have(g.fps[0], 1, a[1].fingerprint));
    assert_int_equal(g.n_fps[1], 2);

    /* Stored already: the re-put keeps g1 and adds g2 (once, however often). */
    assert_int_equal(storage_put_alert_in(st, &a[0], &g2, 1, &err), 0);
    assert_int_equal(storage_put_alert_in(st, &a[0], &g2, 1, &err), 0);
    load_all(st, &g);
    assert_int_equal(g.n_alerts, 2);
    assert_int_equal(g.n_fps[0], 2);
    assert_int_equal(g.n_fps[1], 2);
    storage_close(st);
    alert_release(&a[0]);
    alert_release(&a[1]);
    rm_tmpdir(dir);
}

/* router_get_group_head: the group without its alerts; a reload lists every
 * member of the groups it drops, so none is left stale in storage. */
static void test_router_head_and_reload_members(void **state)
{
    struct error err = {{0}};
    struct config *cfg = config_load_string(cfg_text, "test.yml", NULL, &err);
    struct config *cfg2 = config_load_string(cfg_by_instance, "test.yml", NULL, &err);
    struct router *r;
    struct alert a[3];
    const struct router_changes *ch;
    struct group_view gv;

    (void)state;
    assert_non_null(cfg);
    assert_non_null(cfg2);
    r = router_new(cfg);
    mk_alert(&a[0], "A", "i1");
    mk_alert(&a[1], "A", "i2");
    mk_alert(&a[2], "B", "i1");
    assert_int_equal(router_put_alerts(r, a, 3, T0, &err), 0);
    ch = router_changes(r);
    assert_int_equal(ch->n_members, 3);

    assert_int_equal(router_get_group_head(r, "{}:{alertname=\"A\"}", &gv), 1);
    assert_string_equal(gv.key, "{}:{alertname=\"A\"}");
    assert_int_equal(gv.n_alerts, 0);
    assert_null(gv.alerts);
    assert_string_equal(labels_get(gv.labels, "alertname"), "A");
    group_view_release(&gv);
    assert_int_equal(router_get_group(r, "{}:{alertname=\"A\"}", &gv), 1);
    assert_int_equal(gv.n_alerts, 2);
    group_view_release(&gv);
    assert_int_equal(router_get_group_head(r, "{}:{alertname=\"C\"}", &gv), 0);
    group_view_release(&gv);

    /* Regrouped by instance: the 3 old memberships are listed as gone, the 3
     * new ones as there. */
    router_changes_clear(r);
    assert_int_equal(router_set_config(r, cfg2, T0 + SEC, &err), 0);
    ch = router_changes(r);
    assert_int_equal(ch->n_members, 6);
    {
        size_t in = 0;

        for (size_t i = 0; i < ch->n_members; i++) {
            bool has =
                router_group_has_alert(r, ch->members[i].group_key, ch->members[i].fingerprint);

            assert_true(has == (strstr(ch->members[i].group_key, "instance") != NULL));
            in += has;
        }
        assert_int_equal(in, 3);
    }
    router_free(r);
    config_free(cfg);
    config_free(cfg2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_rows),
        cmocka_unit_test(test_migration_from_json_lists),
        cmocka_unit_test(test_migration_from_v4),
        cmocka_unit_test(test_put_alert_in),
        cmocka_unit_test(test_router_head_and_reload_members),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
