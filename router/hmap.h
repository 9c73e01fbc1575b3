/*
 * hmap.h - small hash maps used inside router/: string keys (smap, chained),
 * 64-bit keys (umap, open addressing) mapping to a void pointer, and sets of
 * objects keyed by a 64-bit field of their own (emap).
 *
 * The map owns its entries and, for smap, a copy of each key; it never owns the
 * values (callers free them). Iteration order is unspecified. Deleting while
 * iterating is not allowed: collect keys first. umap and emap store their
 * entries in place (open addressing, see hmap.c).
 */
#ifndef AMR_ROUTER_HMAP_H
#define AMR_ROUTER_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct smap_entry {
    struct smap_entry *next;
    uint64_t hash;
    void *val;
    char key[]; /* NUL-terminated copy */
};

struct smap {
    struct smap_entry **b;
    size_t nb; /* bucket count, 0 or a power of two */
    size_t n;
};

/* A umap slot: val == NULL marks it empty (so values are never NULL). */
struct umap_entry {
    uint64_t key;
    void *val;
};

struct umap {
    struct umap_entry *b; /* open addressing, nb slots */
    size_t nb;            /* 0 or a power of two */
    size_t n;
};

#define SMAP_INIT                                                                                  \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }
#define UMAP_INIT                                                                                  \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void smap_init(struct smap *m);
/* Frees the entries (not the values). */
void smap_release(struct smap *m);
void *smap_get(const struct smap *m, const char *key);
/* The map's own copy of key, or NULL when absent (stable until deleted). */
const char *smap_key(const struct smap *m, const char *key);
/* Inserts or replaces. -1 when memory runs out (map unchanged). */
int smap_put(struct smap *m, const char *key, void *val);
/* Removes key; returns its value (NULL when absent). */
void *smap_del(struct smap *m, const char *key);

void umap_init(struct umap *m);
void umap_release(struct umap *m);
void *umap_get(const struct umap *m, uint64_t key);
/* Inserts or replaces. val must not be NULL. -1 when memory runs out or val is
 * NULL (map unchanged). May move every entry: umap_entry pointers from an
 * iteration are invalid after a put or a del. */
int umap_put(struct umap *m, uint64_t key, void *val);
void *umap_del(struct umap *m, uint64_t key);

/* Iteration: for (e = smap_first(m, &i); e; e = smap_next(m, e, &i)) */
struct smap_entry *smap_first(const struct smap *m, size_t *it);
struct smap_entry *smap_next(const struct smap *m, struct smap_entry *e, size_t *it);
struct umap_entry *umap_first(const struct umap *m, size_t *it);
struct umap_entry *umap_next(const struct umap *m, struct umap_entry *e, size_t *it);

/* emap: a set of objects that carry their own 64-bit key at byte offset
 * key_off (the store's and the groups' alert entries, keyed by fingerprint).
 * Open addressing with the same 16-byte slots as umap: the key is copied
 * into the slot at put, so lookups never touch the objects. The map never
 * owns the objects; an object's key must not change while it is in the map.
 * Same rules as umap otherwise. */
struct emap {
    struct umap_entry *b; /* nb slots; val is the object */
    size_t nb;            /* 0 or a power of two */
    size_t n;
    size_t key_off;
};

void emap_init(struct emap *m, size_t key_off);
/* Frees the slots (not the objects); the map stays usable (key_off kept). */
void emap_release(struct emap *m);
void *emap_get(const struct emap *m, uint64_t key);
/* Inserts val, or replaces the object with val's key. -1 when memory runs out
 * or val is NULL (map unchanged). */
int emap_put(struct emap *m, void *val);
/* Removes the object with key; returns it (NULL when absent). */
void *emap_del(struct emap *m, uint64_t key);
/* Iteration: for (v = emap_first(m, &i); v; v = emap_next(m, &i)) */
void *emap_first(const struct emap *m, size_t *it);
void *emap_next(const struct emap *m, size_t *it);

#endif
