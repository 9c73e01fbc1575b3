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

/* Members come and go one row each; the head leaves them alone; deleting the
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
                                       "'[\"00000000000000aa\",\"00000000000000bb\"]');",
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
        cmocka_unit_test(test_router_head_and_reload_members),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
