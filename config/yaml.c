/*
 * yaml.c - libyaml's document model turned into our own positioned node tree.
 *
 * libyaml's loader resolves aliases to shared node ids; we copy them into a
 * plain tree, counting nodes against YAML_MAX_NODES and nesting against
 * YAML_MAX_DEPTH (an alias to an enclosing anchor would otherwise recurse for
 * ever). Keys must be scalars and unique within a mapping.
 */
#include "config/yaml.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_NODES 200000
#define YAML_MAX_DEPTH 64

struct conv {
    yaml_document_t *doc;
    const char *file;
    size_t budget;
    struct error *err;
};

static struct ynode *node_new(enum ynode_kind kind, const char *file, const yaml_mark_t *m)
{
    struct ynode *n = calloc(1, sizeof(*n));

    if (n == NULL)
        return NULL;
    n->kind = kind;
    n->file = file;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return n;
}

static int conv_err(struct conv *c, const yaml_mark_t *m, const char *what)
{
    return error_set(c->err, "%s:%d:%d: yaml: %s", c->file, (int)m->line + 1, (int)m->column + 1,
                     what);
}

static struct ynode *convert(struct conv *c, yaml_node_t *yn, int depth)
{
    struct ynode *n = NULL;

    if (depth > YAML_MAX_DEPTH) {
        conv_err(c, &yn->start_mark, "nesting too deep (or a recursive alias)");
        return NULL;
    }
    if (c->budget == 0) {
        conv_err(c, &yn->start_mark, "document too large (too many nodes after aliases)");
        return NULL;
    }
    c->budget--;
    switch (yn->type) {
    case YAML_SCALAR_NODE:
        n = node_new(YNODE_SCALAR, c->file, &yn->start_mark);
        if (n == NULL)
            goto oom;
        n->value = malloc(yn->data.scalar.length + 1);
        if (n->value == NULL)
            goto oom;
        memcpy(n->value, yn->data.scalar.value, yn->data.scalar.length);
        n->value[yn->data.scalar.length] = '\0';
        if (strlen(n->value) != yn->data.scalar.length) {
            conv_err(c, &yn->start_mark, "NUL byte in a string");
            goto fail;
        }
        n->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
                   yn->data.scalar.style == YAML_ANY_SCALAR_STYLE;
        return n;
    case YAML_SEQUENCE_NODE: {
        size_t cnt = (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);

        n = node_new(YNODE_SEQ, c->file, &yn->start_mark);
        if (n == NULL)
            goto oom;
        if (cnt > 0) {
            n->items = calloc(cnt, sizeof(*n->items));
            if (n->items == NULL)
                goto oom;
        }
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_t *child = yaml_document_get_node(c->doc, yn->data.sequence.items.start[i]);

            if (child == NULL)
                goto fail;
            n->items[i] = convert(c, child, depth + 1);
            if (n->items[i] == NULL)
                goto fail;
            n->n_items++;
        }
        return n;
    }
    case YAML_MAPPING_NODE: {
        size_t cnt = (size_t)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);

        n = node_new(YNODE_MAP, c->file, &yn->start_mark);
        if (n == NULL)
            goto oom;
        if (cnt > 0) {
            n->pairs = calloc(cnt, sizeof(*n->pairs));
            if (n->pairs == NULL)
                goto oom;
        }
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_pair_t *p = &yn->data.mapping.pairs.start[i];
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            yaml_node_t *v = yaml_document_get_node(c->doc, p->value);

            if (k == NULL || v == NULL)
                goto fail;
            if (k->type != YAML_SCALAR_NODE) {
                conv_err(c, &k->start_mark, "mapping keys must be strings");
                goto fail;
            }
            n->pairs[i].key = convert(c, k, depth + 1);
            if (n->pairs[i].key == NULL)
                goto fail;
            n->n_pairs++;
            for (size_t j = 0; j < i; j++) {
                if (strcmp(n->pairs[j].key->value, n->pairs[i].key->value) == 0) {
                    char msg[300];

                    snprintf(msg, sizeof(msg), "key \"%.200s\" already defined at line %d",
                             n->pairs[i].key->value, n->pairs[j].key->line);
                    conv_err(c, &k->start_mark, msg);
                    goto fail;
                }
            }
            n->pairs[i].value = convert(c, v, depth + 1);
            if (n->pairs[i].value == NULL)
                goto fail;
        }
        return n;
    }
    default:
        conv_err(c, &yn->start_mark, "unexpected node");
        return NULL;
    }
oom:
    error_set(c->err, "%s: out of memory", c->file);
fail:
    ynode_free(n);
    return NULL;
}

int yaml_parse(const char *text, size_t len, const char *file, struct ynode **out,
               struct error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    struct conv c;
    char *fcopy = NULL;
    int rc = -1;

    *out = NULL;
    fcopy = strdup(file);
    if (fcopy == NULL)
        return error_set(err, "%s: out of memory", file);
    if (!yaml_parser_initialize(&parser)) {
        free(fcopy);
        return error_set(err, "%s: cannot initialise the YAML parser", file);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        const yaml_mark_t *m = &parser.problem_mark;

        if (parser.context != NULL)
            error_set(err, "%s:%d:%d: yaml: %s %s", file, (int)m->line + 1, (int)m->column + 1,
                      parser.problem ? parser.problem : "syntax error", parser.context);
        else
            error_set(err, "%s:%d:%d: yaml: %s", file, (int)m->line + 1, (int)m->column + 1,
                      parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        free(fcopy);
        return -1;
    }
    c.doc = &doc;
    c.file = fcopy;
    c.budget = YAML_MAX_NODES;
    c.err = err;
    root = yaml_document_get_root_node(&doc);
    if (root == NULL) {
        yaml_mark_t m = {0, 0, 0};

        *out = node_new(YNODE_MAP, fcopy, &m);
    } else {
        *out = convert(&c, root, 0);
    }
    if (*out == NULL) {
        if (root == NULL)
            error_set(err, "%s: out of memory", file);
        free(fcopy);
        goto out;
    }
    (*out)->owned_file = fcopy;
    rc = 0;
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

void ynode_free(struct ynode *n)
{
    if (n == NULL)
        return;
    free(n->value);
    for (size_t i = 0; i < n->n_items; i++)
        ynode_free(n->items[i]);
    free(n->items);
    for (size_t i = 0; i < n->n_pairs; i++) {
        ynode_free(n->pairs[i].key);
        ynode_free(n->pairs[i].value);
    }
    free(n->pairs);
    free(n->owned_file);
    free(n);
}

bool ynode_is_null(const struct ynode *n)
{
    if (n == NULL)
        return true;
    if (n->kind != YNODE_SCALAR || !n->plain)
        return false;
    return n->value[0] == '\0' || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
           strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

const struct ypair *ynode_get(const struct ynode *map, const char *key)
{
    if (map == NULL || map->kind != YNODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n_pairs; i++)
        if (strcmp(map->pairs[i].key->value, key) == 0)
            return &map->pairs[i];
    return NULL;
}

const char *ynode_kind_name(const struct ynode *n)
{
    if (ynode_is_null(n))
        return "null";
    switch (n->kind) {
    case YNODE_SCALAR:
        return "a string";
    case YNODE_SEQ:
        return "a list";
    case YNODE_MAP:
        return "a mapping";
    }
    return "?";
}
