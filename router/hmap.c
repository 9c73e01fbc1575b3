/*
 * hmap.c - hash maps for router/ (see hmap.h).
 *
 * smap: chained, buckets double when the load passes 1. umap and emap (emap:
 * one slot per active alert in the store and again in each group holding it,
 * so its size is per-alert memory) share one core: open addressing with
 * linear probing over 16-byte slots {key, value}, load kept at most 3/4
 * (doubling), quartered when it falls under 1/8, freed when empty; deletion
 * shifts the probe run back, so there are no tombstones. The key sits in the
 * slot (emap copies it out of the object at put) so a probe reads only the
 * slot array: an emap that kept just the object pointer (8-byte slots) paid a
 * cache miss on every probed object to compare keys, about 6% of the engine
 * thread's ingest CPU at 100k alerts, for 8 bytes less per slot. String
 * keys hash with FNV-1a 64 and 64-bit keys with a multiplicative mix
 * (fingerprints are already FNV hashes, the mix only spreads the low bits).
 */
#include "router/hmap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint64_t str_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t u64_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

void smap_init(struct smap *m)
{
    m->b = NULL;
    m->nb = 0;
    m->n = 0;
}

void smap_release(struct smap *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        struct smap_entry *e = m->b[i];
        while (e != NULL) {
            struct smap_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->b);
    smap_init(m);
}

static struct smap_entry *smap_find(const struct smap *m, const char *key, uint64_t h)
{
    struct smap_entry *e;

    if (m->nb == 0)
        return NULL;
    for (e = m->b[h & (m->nb - 1)]; e != NULL; e = e->next) {
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

void *smap_get(const struct smap *m, const char *key)
{
    struct smap_entry *e = smap_find(m, key, str_hash(key));

    return e != NULL ? e->val : NULL;
}

const char *smap_key(const struct smap *m, const char *key)
{
    struct smap_entry *e = smap_find(m, key, str_hash(key));

    return e != NULL ? e->key : NULL;
}

static int smap_grow(struct smap *m)
{
    size_t nb = m->nb == 0 ? 16 : m->nb * 2;
    struct smap_entry **b = calloc(nb, sizeof(*b));

    if (b == NULL)
        return -1;
    for (size_t i = 0; i < m->nb; i++) {
        struct smap_entry *e = m->b[i];
        while (e != NULL) {
            struct smap_entry *next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
    return 0;
}

int smap_put(struct smap *m, const char *key, void *val)
{
    uint64_t h = str_hash(key);
    struct smap_entry *e = smap_find(m, key, h);
    size_t len;

    if (e != NULL) {
        e->val = val;
        return 0;
    }
    if (m->n >= m->nb && smap_grow(m) < 0)
        return -1;
    len = strlen(key);
    e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
        return -1;
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->val = val;
    e->next = m->b[h & (m->nb - 1)];
    m->b[h & (m->nb - 1)] = e;
    m->n++;
    return 0;
}

void *smap_del(struct smap *m, const char *key)
{
    uint64_t h = str_hash(key);
    struct smap_entry **pp;

    if (m->nb == 0)
        return NULL;
    for (pp = &m->b[h & (m->nb - 1)]; *pp != NULL; pp = &(*pp)->next) {
        struct smap_entry *e = *pp;
        if (e->hash == h && strcmp(e->key, key) == 0) {
            void *val = e->val;
            *pp = e->next;
            free(e);
            m->n--;
            return val;
        }
    }
    return NULL;
}

struct smap_entry *smap_first(const struct smap *m, size_t *it)
{
    for (*it = 0; *it < m->nb; (*it)++) {
        if (m->b[*it] != NULL)
            return m->b[*it];
    }
    return NULL;
}

struct smap_entry *smap_next(const struct smap *m, struct smap_entry *e, size_t *it)
{
    if (e->next != NULL)
        return e->next;
    for ((*it)++; *it < m->nb; (*it)++) {
        if (m->b[*it] != NULL)
            return m->b[*it];
    }
    return NULL;
}

/* Open-addressing core shared by umap and emap: nb slots (0 or a power of
 * two), n used; val == NULL marks an empty slot. */

/* The slot holding key, or the empty slot where it would go (nb > 0). Reads
 * only the slot array: the key is stored next to the value. */
static size_t oa_slot(const struct umap_entry *b, size_t nb, uint64_t key)
{
    size_t mask = nb - 1, i = u64_hash(key) & mask;

    while (b[i].val != NULL && b[i].key != key)
        i = (i + 1) & mask;
    return i;
}

static void *oa_get(const struct umap_entry *b, size_t nb, uint64_t key)
{
    if (nb == 0)
        return NULL;
    return b[oa_slot(b, nb, key)].val;
}

/* Rehashes into nnb slots (a power of two, > n). */
static int oa_resize(struct umap_entry **b, size_t *nb, size_t nnb)
{
    struct umap_entry *old = *b, *nw = calloc(nnb, sizeof(*nw));

    if (nw == NULL)
        return -1;
    for (size_t i = 0; i < *nb; i++) {
        if (old[i].val != NULL)
            nw[oa_slot(nw, nnb, old[i].key)] = old[i];
    }
    free(old);
    *b = nw;
    *nb = nnb;
    return 0;
}

static int oa_put(struct umap_entry **b, size_t *nb, size_t *n, uint64_t key, void *val)
{
    size_t i;

    if (val == NULL)
        return -1; /* NULL marks an empty slot */
    /* Load at most 3/4: linear probing stays short, slots stay dense. */
    if ((*n + 1) * 4 > *nb * 3 && oa_get(*b, *nb, key) == NULL &&
        oa_resize(b, nb, *nb == 0 ? 8 : *nb * 2) < 0)
        return -1;
    i = oa_slot(*b, *nb, key);
    if ((*b)[i].val == NULL)
        (*n)++;
    (*b)[i].key = key;
    (*b)[i].val = val;
    return 0;
}

static void *oa_del(struct umap_entry **b, size_t *nb, size_t *n, uint64_t key)
{
    struct umap_entry *s = *b;
    size_t mask, i, j;
    void *val;

    if (*nb == 0)
        return NULL;
    mask = *nb - 1;
    i = oa_slot(s, *nb, key);
    val = s[i].val;
    if (val == NULL)
        return NULL;
    /* Backward-shift deletion: move later entries of the probe run into the
     * hole when their home slot does not lie cyclically in (i, j]. */
    for (j = (i + 1) & mask; s[j].val != NULL; j = (j + 1) & mask) {
        size_t k = u64_hash(s[j].key) & mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);

        if (!stays) {
            s[i] = s[j];
            i = j;
        }
    }
    s[i].val = NULL;
    (*n)--;
    /* Give memory back after a mass removal (resolved alerts going). */
    if (*n == 0) {
        free(*b);
        *b = NULL;
        *nb = 0;
    } else if (*nb > 64 && *n * 8 < *nb) {
        (void)oa_resize(b, nb, *nb / 4); /* keeps working at the old size on OOM */
    }
    return val;
}

/* The next used slot after *it (start with *it = (size_t)-1), or NULL. */
static struct umap_entry *oa_next(const struct umap_entry *b, size_t nb, size_t *it)
{
    for ((*it)++; *it < nb; (*it)++) {
        if (b[*it].val != NULL)
            return (struct umap_entry *)&b[*it];
    }
    return NULL;
}

void umap_init(struct umap *m)
{
    m->b = NULL;
    m->nb = 0;
    m->n = 0;
}

void umap_release(struct umap *m)
{
    free(m->b);
    umap_init(m);
}

void *umap_get(const struct umap *m, uint64_t key)
{
    return oa_get(m->b, m->nb, key);
}

int umap_put(struct umap *m, uint64_t key, void *val)
{
    return oa_put(&m->b, &m->nb, &m->n, key, val);
}

void *umap_del(struct umap *m, uint64_t key)
{
    return oa_del(&m->b, &m->nb, &m->n, key);
}

struct umap_entry *umap_first(const struct umap *m, size_t *it)
{
    *it = (size_t)-1;
    return oa_next(m->b, m->nb, it);
}

struct umap_entry *umap_next(const struct umap *m, struct umap_entry *e, size_t *it)
{
    (void)e;
    return oa_next(m->b, m->nb, it);
}

void emap_init(struct emap *m, size_t key_off)
{
    m->b = NULL;
    m->nb = 0;
    m->n = 0;
    m->key_off = key_off;
}

void emap_release(struct emap *m)
{
    free(m->b);
    emap_init(m, m->key_off);
}

void *emap_get(const struct emap *m, uint64_t key)
{
    return oa_get(m->b, m->nb, key);
}

int emap_put(struct emap *m, void *val)
{
    uint64_t key;

    if (val == NULL)
        return -1;
    memcpy(&key, (const char *)val + m->key_off, sizeof(key));
    return oa_put(&m->b, &m->nb, &m->n, key, val);
}

void *emap_del(struct emap *m, uint64_t key)
{
    return oa_del(&m->b, &m->nb, &m->n, key);
}

void *emap_first(const struct emap *m, size_t *it)
{
    *it = (size_t)-1;
    return emap_next(m, it);
}

void *emap_next(const struct emap *m, size_t *it)
{
    struct umap_entry *e = oa_next(m->b, m->nb, it);

    return e != NULL ? e->val : NULL;
}
