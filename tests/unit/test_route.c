/*
 * test_route.c - route matching (depth first, continue, fallback to the node,
 * anchored regexes, missing labels as ""), group labels and AM's group keys.
 */
#include "router/route.h"

#include "test_router_fixture.h"

/* Matches labels against fx's tree and returns the receivers joined by ",". */
static const char *match_names(struct fx *fx, const char *labels)
{
    static char out[256];
    struct route_list l = ROUTE_LIST_INIT;
    struct labels ls;
    size_t o = 0;

    fx_labels(&ls, labels);
    assert_int_equal(route_match(fx->cfg.root, &ls, &l), 0);
    out[0] = '\0';
    for (size_t i = 0; i < l.n; i++)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? "," : "",
                              l.v[i]->receiver->name);
    route_list_release(&l);
    labels_release(&ls);
    return out;
}

/*
 * root(default)
 *   [0] team=db            -> db       (continue)
 *       [0] severity=page  -> db-page
 *   [1] team=~"web|api"    -> web
 *   [2] team=db            -> db2      (reached only because [0] continues)
 *   [3] env!=""            -> env
 */
static struct fx *tree(void)
{
    struct fx *fx = fx_new("default");
    struct route *c, *cc;

    fx_receiver(fx, "db", 1, true);
    fx_receiver(fx, "db-page", 1, true);
    fx_receiver(fx, "web", 1, true);
    fx_receiver(fx, "db2", 1, true);
    fx_receiver(fx, "env", 1, true);
    c = fx_children(fx->cfg.root, 4);
    fx_route(&c[0], "team=\"db\"", "db", true, fx);
    cc = fx_children(&c[0], 1);
    fx_route(&cc[0], "severity=\"page\"", "db-page", false, fx);
    fx_route(&c[1], "team=~\"web|api\"", "web", false, fx);
    fx_route(&c[2], "team=\"db\"", "db2", false, fx);
    fx_route(&c[3], "env!=\"\"", "env", false, fx);
    return fx;
}

static void test_match_first_child_wins(void **state)
{
    struct fx *fx = tree();

    (void)state;
    assert_string_equal(match_names(fx, "team=web"), "web");
    assert_string_equal(match_names(fx, "team=api,env=prod"), "web"); /* [3] not tried */
    assert_string_equal(match_names(fx, "env=prod"), "env");
    fx_free(fx);
}

static void test_match_continue_and_nesting(void **state)
{
    struct fx *fx = tree();

    (void)state;
    /* [0] matches (its node, no child matches) and continues to [2]. */
    assert_string_equal(match_names(fx, "team=db"), "db,db2");
    /* The nested child wins inside [0]; [0] continues, so [2] too. */
    assert_string_equal(match_names(fx, "team=db,severity=page"), "db-page,db2");
    fx_free(fx);
}

static void test_match_fallback_to_root(void **state)
{
    struct fx *fx = tree();

    (void)state;
    assert_string_equal(match_names(fx, "alertname=x"), "default");
    fx_free(fx);
}

static void test_regex_is_anchored(void **state)
{
    struct fx *fx = tree();

    (void)state;
    /* "web|api" must match the whole value: ^(?:web|api)$ */
    assert_string_equal(match_names(fx, "team=webapp"), "default");
    assert_string_equal(match_names(fx, "team=myapi"), "default");
    assert_string_equal(match_names(fx, "team=api"), "web");
    fx_free(fx);
}

static void test_continue_on_last_matching_child_skips_node(void **state)
{
    struct fx *fx = fx_new("default");
    struct route *c;

    (void)state;
    fx_receiver(fx, "a", 1, true);
    c = fx_children(fx->cfg.root, 1);
    fx_route(&c[0], "x=\"1\"", "a", true, fx);
    /* A continuing child that matched still counts: the root is not added. */
    assert_string_equal(match_names(fx, "x=1"), "a");
    assert_string_equal(match_names(fx, "x=2"), "default");
    fx_free(fx);
}

static void test_group_labels_and_key(void **state)
{
    struct fx *fx = fx_new("default");
    struct route *c;
    struct labels ls, gl = LABELS_INIT;
    struct buf b;

    (void)state;
    fx_receiver(fx, "pager", 1, true);
    c = fx_children(fx->cfg.root, 2);
    fx_route(&c[0], "severity=\"page\"", "pager", false, fx);
    fx_set_group_by(&c[0], "alertname");
    fx_route(&c[1], "team=\"x\"", NULL, false, fx);
    fx_set_group_by(&c[1], "...");
    fx_labels(&ls, "alertname=Test,instance=i1,severity=page");

    assert_int_equal(route_group_labels(&c[0], &ls, &gl), 0);
    buf_init(&b, 1024);
    assert_int_equal(route_group_key(&c[0], &gl, &b), 0);
    assert_string_equal(buf_str(&b), "{}/{severity=\"page\"}:{alertname=\"Test\"}");

    /* group_by ... takes every label. */
    buf_reset(&b);
    assert_int_equal(route_group_labels(&c[1], &ls, &gl), 0);
    assert_int_equal(gl.n, 3);
    assert_int_equal(route_group_key(&c[1], &gl, &b), 0);
    assert_string_equal(buf_str(&b),
                        "{}/{team=\"x\"}:{alertname=\"Test\", instance=\"i1\", severity=\"page\"}");

    /* The root with no group_by: one group, key "{}:{}". */
    buf_reset(&b);
    assert_int_equal(route_group_labels(fx->cfg.root, &ls, &gl), 0);
    assert_int_equal(gl.n, 0);
    assert_int_equal(route_group_key(fx->cfg.root, &gl, &b), 0);
    assert_string_equal(buf_str(&b), "{}:{}");

    /* A group_by label the alert lacks is simply absent. */
    fx_set_group_by(&c[0], "alertname,cluster");
    assert_int_equal(route_group_labels(&c[0], &ls, &gl), 0);
    assert_int_equal(gl.n, 1);

    assert_ptr_equal(route_find_id(fx->cfg.root, c[1].id), &c[1]);
    assert_null(route_find_id(fx->cfg.root, "nope"));
    buf_release(&b);
    labels_release(&gl);
    labels_release(&ls);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_first_child_wins),
        cmocka_unit_test(test_match_continue_and_nesting),
        cmocka_unit_test(test_match_fallback_to_root),
        cmocka_unit_test(test_regex_is_anchored),
        cmocka_unit_test(test_continue_on_last_matching_child_skips_node),
        cmocka_unit_test(test_group_labels_and_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
