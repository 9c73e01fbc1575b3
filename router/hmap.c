/*
 * hmap.c - chained hash maps for router/ (see hmap.h).
 *
 * smap: chained, buckets double when the load passes 1. umap (one entry per
 * active alert in the store and again in each group holding it, so its size
 * is per-alert memory): open addressing with linear probing over 16-byte
 * slots, load kept at most 3/4 (doubling), quartered when it falls under 1/8,
 * freed when empty; deletion shifts the probe run back, so there are no
 * tombstones. String keys hash with FNV-1a 64 and 64-bit keys with a
 * multiplicative mix (fingerprints are already FNV hashes, the mix only
 * spreads the low bits).
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

/* The slot holding key, or the empty slot where it would go (m->nb > 0). */
static size_t umap_slot(const struct umap *m, uint64_t key)
{
    size_t mask = m->nb - 1, i = u64_hash(key) & mask;

    while (m->b[i].val != NULL && m->b[i].key != key)
        i = (i + 1) & mask;
    return i;
}

void *umap_get(const struct umap *m, uint64_t key)
{
    if (m->nb == 0)
        return NULL;
    return m->b[umap_slot(m, key)].val;
}

/* Rehashes into nb slots (a power of two, > n). */
static int umap_resize(struct umap *m, size_t nb)
{
    struct umap_entry *old = m->b;
    size_t onb = m->nb;

    m->b = calloc(nb, sizeof(*m->b));
    if (m->b == NULL) {
        m->b = old;
        return -1;
    }
    m->nb = nb;
    for (size_t i = 0; i < onb; i++) {
        if (old[i].val != NULL)
            m->b[umap_slot(m, old[i].key)] = old[i];
    }
    free(old);
    return 0;
}

int umap_put(struct umap *m, uint64_t key, void *val)
{
    size_t i;

    if (val == NULL)
        return -1; /* NULL marks an empty slot */
    /* Load at most 3/4: linear probing stays short, slots stay dense. */
    if ((m->n + 1) * 4 > m->nb * 3 && umap_get(m, key) == NULL &&
        umap_resize(m, m->nb == 0 ? 8 : m->nb * 2) < 0)
        return -1;
    i = umap_slot(m, key);
    if (m->b[i].val == NULL)
        m->n++;
    m->b[i].key = key;
    m->b[i].val = val;
    return 0;
}

void *umap_del(struct umap *m, uint64_t key)
{
    size_t mask, i, j;
    void *val;

    if (m->nb == 0)
        return NULL;
    mask = m->nb - 1;
    i = umap_slot(m, key);
    val = m->b[i].val;
    if (val == NULL)
        return NULL;
    /* Backward-shift deletion: move later entries of the probe run into the
     * hole when their home slot does not lie cyclically in (i, j]. */
    for (j = (i + 1) & mask; m->b[j].val != NULL; j = (j + 1) & mask) {
        size_t k = u64_hash(m->b[j].key) & mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);

        if (!stays) {
            m->b[i] = m->b[j];
            i = j;
        }
    }
    m->b[i].val = NULL;
    m->n--;
    /* Give memory back after a mass removal (resolved alerts going). */
    if (m->n == 0) {
        umap_release(m);
    } else if (m->nb > 64 && m->n * 8 < m->nb) {
        (void)umap_resize(m, m->nb / 4); /* keeps working at the old size on OOM */
    }
    return val;
}

struct umap_entry *umap_first(const struct umap *m, size_t *it)
{
    for (*it = 0; *it < m->nb; (*it)++) {
        if (m->b[*it].val != NULL)
            return &m->b[*it];
    }
    return NULL;
}

struct umap_entry *umap_next(const struct umap *m, struct umap_entry *e, size_t *it)
{
    (void)e;
    for ((*it)++; *it < m->nb; (*it)++) {
        if (m->b[*it].val != NULL)
            return &m->b[*it];
    }
    return NULL;
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

static uint64_t emap_key(const struct emap *m, const void *val)
{
    uint64_t k;

    memcpy(&k, (const char *)val + m->key_off, sizeof(k));
    return k;
}

/* The slot holding key, or the empty slot where it would go (m->nb > 0). */
static size_t emap_slot(const struct emap *m, uint64_t key)
{
    size_t mask = m->nb - 1, i = u64_hash(key) & mask;

    while (m->b[i] != NULL && emap_key(m, m->b[i]) != key)
        i = (i + 1) & mask;
    return i;
}

void *emap_get(const struct emap *m, uint64_t key)
{
    if (m->nb == 0)
        return NULL;
    return m->b[emap_slot(m, key)];
}

static int emap_resize(struct emap *m, size_t nb)
{
    void **old = m->b;
    size_t onb = m->nb;

    m->b = calloc(nb, sizeof(*m->b));
    if (m->b == NULL) {
        m->b = old;
        return -1;
    }
    m->nb = nb;
    for (size_t i = 0; i < onb; i++) {
        if (old[i] != NULL)
            m->b[emap_slot(m, emap_key(m, old[i]))] = old[i];
    }
    free(old);
    return 0;
}

int emap_put(struct emap *m, void *val)
{
    uint64_t key;
    size_t i;

    if (val == NULL)
        return -1;
    key = emap_key(m, val);
    if ((m->n + 1) * 4 > m->nb * 3 && emap_get(m, key) == NULL &&
        emap_resize(m, m->nb == 0 ? 8 : m->nb * 2) < 0)
        return -1;
    i = emap_slot(m, key);
    if (m->b[i] == NULL)
        m->n++;
    m->b[i] = val;
    return 0;
}

void *emap_del(struct emap *m, uint64_t key)
{
    size_t mask, i, j;
    void *val;

    if (m->nb == 0)
        return NULL;
    mask = m->nb - 1;
    i = emap_slot(m, key);
    val = m->b[i];
    if (val == NULL)
        return NULL;
    for (j = (i + 1) & mask; m->b[j] != NULL; j = (j + 1) & mask) {
        size_t k = u64_hash(emap_key(m, m->b[j])) & mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);

        if (!stays) {
            m->b[i] = m->b[j];
            i = j;
        }
    }
    m->b[i] = NULL;
    m->n--;
    if (m->n == 0) {
        emap_release(m);
    } else if (m->nb > 64 && m->n * 8 < m->nb) {
        (void)emap_resize(m, m->nb / 4);
    }
    return val;
}

void *emap_first(const struct emap *m, size_t *it)
{
    *it = (size_t)-1;
    return emap_next(m, it);
}

void *emap_next(const struct emap *m, size_t *it)
{
    for ((*it)++; *it < m->nb; (*it)++) {
        if (m->b[*it] != NULL)
            return m->b[*it];
    }
    return NULL;
}
