/*
 * route.c - route matching, group labels and group keys (see route.h).
 *
 * The config tree is immutable and owned by the caller; this file only reads
 * it and fills caller-owned lists.
 */
#include "router/route.h"

#include "config/config.h"
#include "core/buf.h"
#include "core/labels.h"
#include "core/matcher.h"

#include <stdlib.h>
#include <string.h>

void route_list_release(struct route_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
    l->cap = 0;
}

static int route_list_push(struct route_list *l, const struct route *r)
{
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 4 : l->cap * 2;
        const struct route **v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = r;
    return 0;
}

/* Returns how many routes it appended, or -1 on memory exhaustion. */
static long match_node(const struct route *r, const struct labels *ls, struct route_list *out)
{
    long total = 0;

    if (!matchers_match(&r->matchers, ls))
        return 0;
    for (size_t i = 0; i < r->n_routes; i++) {
        const struct route *child = &r->routes[i];
        long got = match_node(child, ls, out);
        if (got < 0)
            return -1;
        total += got;
        /* The first matching child ends the scan unless it continues. */
        if (got > 0 && !child->cont)
            break;
    }
    if (total == 0) {
        if (route_list_push(out, r) < 0)
            return -1;
        total = 1;
    }
    return total;
}

int route_match(const struct route *root, const struct labels *ls, struct route_list *out)
{
    if (root == NULL)
        return 0;
    return match_node(root, ls, out) < 0 ? -1 : 0;
}

static bool groups_by(const struct route *r, const char *name)
{
    if (r->group_by_all)
        return true;
    for (size_t i = 0; i < r->n_group_by; i++) {
        if (strcmp(r->group_by[i], name) == 0)
            return true;
    }
    return false;
}

int route_group_labels(const struct route *r, const struct labels *ls, struct labels *out)
{
    labels_release(out);
    for (size_t i = 0; i < ls->n; i++) {
        if (groups_by(r, ls->v[i].name) && labels_set(out, ls->v[i].name, ls->v[i].value) < 0)
            return -1;
    }
    return 0;
}

int route_group_key(const struct route *r, const struct labels *group_labels, struct buf *out)
{
    if (buf_appends(out, r->key != NULL ? r->key : "{}") < 0 || buf_appendc(out, ':') < 0)
        return -1;
    return labels_format(group_labels, out);
}

int route_group_file_key(const struct route *r, const struct labels *group_labels, struct buf *out)
{
    bool twin = false;

    if (route_group_key(r, group_labels, out) < 0)
        return -1;
    for (size_t i = 0; r->parent != NULL && i < r->parent->n_routes && !twin; i++) {
        const struct route *s = &r->parent->routes[i];

        twin = s != r && s->key != NULL && r->key != NULL && strcmp(s->key, r->key) == 0;
    }
    if (twin && buf_printf(out, "\x1f%zu", r->index) < 0)
        return -1;
    return 0;
}

const struct route *route_find_id(const struct route *root, const char *id)
{
    if (root == NULL)
        return NULL;
    if (root->id != NULL && strcmp(root->id, id) == 0)
        return root;
    for (size_t i = 0; i < root->n_routes; i++) {
        const struct route *f = route_find_id(&root->routes[i], id);
        if (f != NULL)
            return f;
    }
    return NULL;
}
