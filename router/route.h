/*
 * route.h - Alertmanager's route matching and group keys, on the loaded config tree.
 *
 * Matching is Alertmanager's Route.Match: a node whose matchers do not match
 * the label set yields nothing; otherwise its children are tried depth first,
 * left to right, and the first child that yields something stops the scan
 * unless that child has `continue: true`; when no child yields anything the
 * node itself is the match. One label set can therefore land in several
 * routes, reported in tree order.
 *
 * Group labels are the alert's labels restricted to the route's group_by (all
 * of them for `...`); the group key is `route->key + ":" + {a="x", b="y"}`,
 * byte for byte Alertmanager's aggrGroup.GroupKey().
 *
 * Nothing here allocates a route: the results point into the config, which
 * the caller keeps alive.
 */
#ifndef AMR_ROUTER_ROUTE_H
#define AMR_ROUTER_ROUTE_H

#include <stddef.h>

struct buf;
struct labels;
struct route;

/* A growable list of matched routes (pointers into the config). */
struct route_list {
    const struct route **v;
    size_t n;
    size_t cap;
};

#define ROUTE_LIST_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void route_list_release(struct route_list *l);

/* Appends to out (which the caller initialised, and may reuse after setting n = 0)
 * every route of the tree under root that matches ls, in Alertmanager's order.
 * Returns -1 only when memory runs out. */
int route_match(const struct route *root, const struct labels *ls, struct route_list *out);

/* Fills out (initialised, emptied first) with the labels of ls that the route groups by.
 * Returns -1 only when memory runs out. */
int route_group_labels(const struct route *r, const struct labels *ls, struct labels *out);

/* Appends the group key of (route, group labels) to out:
 * `{}/{severity="page"}:{alertname="Test"}`. Returns -1 when out's cap or memory
 * runs out. */
int route_group_key(const struct route *r, const struct labels *group_labels, struct buf *out);

/* Finds the route whose `id` is id in the tree under root, or NULL. */
const struct route *route_find_id(const struct route *root, const char *id);

/* The key the router files a group under: route_group_key(), plus "\x1f<index>" when
 * an earlier or later sibling route has the same route key. Alertmanager keeps the
 * groups of such routes apart (it maps groups per route) although their groupKeys
 * are equal; this keeps them apart in the router's maps and in storage. */
int route_group_file_key(const struct route *r, const struct labels *group_labels, struct buf *out);

#endif
