/*
 * hmap.c - chained hash maps for router/ (see hmap.h).
 *
 * Buckets double when the load passes 1; string keys hash with FNV-1a 64 and
 * 64-bit keys with a multiplicative mix (fingerprints are already FNV hashes,
 * the mix only spreads the low bits).
 */
#include "router/hmap.h"

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
    for (size_t i = 0; i < m->nb; i++) {
        struct umap_entry *e = m->b[i];
        while (e != NULL) {
            struct umap_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->b);
    umap_init(m);
}

static struct umap_entry *umap_find(const struct umap *m, uint64_t key)
{
    struct umap_entry *e;

    if (m->nb == 0)
        return NULL;
    for (e = m->b[u64_hash(key) & (m->nb - 1)]; e != NULL; e = e->next) {
        if (e->key == key)
            return e;
    }
    return NULL;
}

void *umap_get(const struct umap *m, uint64_t key)
{
    struct umap_entry *e = umap_find(m, key);

    return e != NULL ? e->val : NULL;
}

static int umap_grow(struct umap *m)
{
    size_t nb = m->nb == 0 ? 16 : m->nb * 2;
    struct umap_entry **b = calloc(nb, sizeof(*b));

    if (b == NULL)
        return -1;
    for (size_t i = 0; i < m->nb; i++) {
        struct umap_entry *e = m->b[i];
        while (e != NULL) {
            struct umap_entry *next = e->next;
            size_t j = u64_hash(e->key) & (nb - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
    return 0;
}

int umap_put(struct umap *m, uint64_t key, void *val)
{
    struct umap_entry *e = umap_find(m, key);
    size_t j;

    if (e != NULL) {
        e->val = val;
        return 0;
    }
    if (m->n >= m->nb && umap_grow(m) < 0)
        return -1;
    e = malloc(sizeof(*e));
    if (e == NULL)
        return -1;
    j = u64_hash(key) & (m->nb - 1);
    e->key = key;
    e->val = val;
    e->next = m->b[j];
    m->b[j] = e;
    m->n++;
    return 0;
}

void *umap_del(struct umap *m, uint64_t key)
{
    struct umap_entry **pp;

    if (m->nb == 0)
        return NULL;
    for (pp = &m->b[u64_hash(key) & (m->nb - 1)]; *pp != NULL; pp = &(*pp)->next) {
        struct umap_entry *e = *pp;
        if (e->key == key) {
            void *val = e->val;
            *pp = e->next;
            free(e);
            m->n--;
            return val;
        }
    }
    return NULL;
}

struct umap_entry *umap_first(const struct umap *m, size_t *it)
{
    for (*it = 0; *it < m->nb; (*it)++) {
        if (m->b[*it] != NULL)
            return m->b[*it];
    }
    return NULL;
}

struct umap_entry *umap_next(const struct umap *m, struct umap_entry *e, size_t *it)
{
    if (e->next != NULL)
        return e->next;
    for ((*it)++; *it < m->nb; (*it)++) {
        if (m->b[*it] != NULL)
            return m->b[*it];
    }
    return NULL;
}
