/*
 * yaml.h - a small YAML node tree that remembers where every node came from.
 *
 * libyaml parses the text; this module turns its document into a tree of
 * struct ynode (scalars, sequences, mappings) in which every node, keys
 * included, carries the file name, line and column (1-based) it started at,
 * so config errors can say exactly where the bad value is. Aliases are
 * expanded into copies, with a cap on the total number of nodes and on depth
 * so a hostile "billion laughs" document cannot exhaust memory. Duplicate
 * keys in one mapping are an error, as in Go's yaml.v2 that Alertmanager uses.
 *
 * Ownership: the tree owns every node and string; ynode_free() frees it all.
 * `file` is a copy shared by all nodes of one tree (owned by the root).
 */
#ifndef AMR_CONFIG_YAML_H
#define AMR_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>

struct error;

enum ynode_kind { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode;

struct ypair {
    struct ynode *key; /* always a scalar */
    struct ynode *value;
};

struct ynode {
    enum ynode_kind kind;
    const char *file; /* shared, owned by the tree's root */
    int line, col;    /* 1-based */
    /* YNODE_SCALAR */
    char *value;
    bool plain; /* unquoted: "~", "null" and "" mean null, true/false are booleans */
    /* YNODE_SEQ */
    struct ynode **items;
    size_t n_items;
    /* YNODE_MAP, in document order */
    struct ypair *pairs;
    size_t n_pairs;
    /* internal */
    char *owned_file;
};

/* Parses the first document of text (len bytes) into a tree whose nodes name
 * `file`. An empty document gives an empty mapping. On a syntax error returns
 * -1 with err = "file:line:col: yaml: <libyaml's reason>". */
int yaml_parse(const char *text, size_t len, const char *file, struct ynode **out,
               struct error *err);

void ynode_free(struct ynode *n);

/* True for a plain scalar "", "~", "null", "Null" or "NULL". */
bool ynode_is_null(const struct ynode *n);

/* The value of key in a mapping, or NULL when absent (or when n is not a mapping).
 * A null value is returned as is: callers decide what null means. */
const struct ypair *ynode_get(const struct ynode *map, const char *key);

/* "a string", "a list", "a mapping", "null": for messages. */
const char *ynode_kind_name(const struct ynode *n);

#endif
