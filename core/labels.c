/*
 * labels.c - sorted label sets, Alertmanager fingerprints, name and UTF-8 checks.
 *
 * Invariants of struct labels: v[0..n) is sorted by name (strcmp order), names
 * are unique, no value is empty. labels_set() is the only way in, so the
 * invariants hold by construction; it does not validate names or UTF-8
 * (callers that take input from outside run labels_validate() or
 * label_name_valid()/utf8_valid()).
 *
 * Memory (the router keeps one or two label sets per active alert, so this is
 * most of amrouter's memory): a set is ONE malloc'd block,
 *
 *     struct lhdr | struct label v[cap] | string area (ssize bytes)
 *
 * and ls->v points just past the header. Every name and value is either a
 * NUL-terminated copy in the block's string area or a pointer into the
 * process-wide intern table. labels_release() frees the block and nothing
 * else. labels_set() appends to the string area; a replaced or removed string
 * stays there as garbage until the next repack (growth, labels_copy(),
 * labels_compact()), which copies only live strings. labels_copy() and
 * labels_compact() produce exact-fit blocks (cap == n, no spare bytes): that is
 * the form in which long-lived sets are kept.
 *
 * The intern table holds strings seen at least twice (a small filter of hashes
 * remembers the first sighting, so unique values such as instance names never
 * enter it). Interned strings are immutable and live until the process exits;
 * the table is bounded (INTERN_MAX strings of at most INTERN_MAX_LEN bytes), so
 * an adversary posting random names only fills it once. It is guarded by a
 * mutex: request threads build sets while the engine thread keeps them.
 *
 * The fingerprint reproduces Prometheus' model.LabelSet.Fingerprint(), which
 * Alertmanager uses as the alert identity: FNV-1a 64 over name, 0xFF, value,
 * 0xFF for every pair in name order.
 */
#include "core/labels.h"

#include "core/buf.h"
#include "core/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME  1099511628211ULL

/* ------------------------------------------------------------------ intern */

#define INTERN_MAX_LEN 64
#define INTERN_MAX     (1u << 16)   /* strings */
#define INTERN_SLOTS0  1024u        /* open addressing, load <= 0.5, doubling */
#define INTERN_SEEN    (1u << 12)   /* first-sighting filter */
#define INTERN_CHUNK   (64u * 1024) /* arena chunk */

struct intern_chunk {
    struct intern_chunk *next;
    size_t used;
    char data[];
};

static pthread_mutex_t intern_mu = PTHREAD_MUTEX_INITIALIZER;
static const char **intern_tab; /* intern_slots entries, NULL = empty */
static size_t intern_slots;
static uint64_t intern_seen[INTERN_SEEN]; /* hash of a first sighting */
static unsigned intern_n;
static struct intern_chunk *intern_arena;

static uint64_t str_hash(const char *s, size_t len)
{
    uint64_t h = FNV_OFFSET;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    return h | 1; /* never 0: 0 marks an empty filter slot */
}

/* A copy of s (len bytes) in the arena; caller holds intern_mu. */
static const char *intern_store(const char *s, size_t len)
{
    struct intern_chunk *c = intern_arena;
    char *p;

    if (c == NULL || INTERN_CHUNK - c->used < len + 1) {
        c = malloc(sizeof(*c) + INTERN_CHUNK);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->next = intern_arena;
        intern_arena = c;
    }
    p = c->data + c->used;
    memcpy(p, s, len);
    p[len] = '\0';
    c->used += len + 1;
    return p;
}

/* Doubles the table (caller holds intern_mu). */
static int intern_grow(void)
{
    size_t ns = intern_slots == 0 ? INTERN_SLOTS0 : intern_slots * 2;
    const char **t = calloc(ns, sizeof(*t));

    if (t == NULL)
        return -1;
    for (size_t i = 0; i < intern_slots; i++) {
        const char *p = intern_tab[i];
        size_t j;

        if (p == NULL)
            continue;
        for (j = str_hash(p, strlen(p)) & (ns - 1); t[j] != NULL; j = (j + 1) & (ns - 1))
            ;
        t[j] = p;
    }
    free(intern_tab);
    intern_tab = t;
    intern_slots = ns;
    return 0;
}

const char *labels_intern(const char *s)
{
    size_t len = strlen(s);
    uint64_t h;
    size_t i;
    const char *out = NULL;

    if (len == 0 || len > INTERN_MAX_LEN)
        return NULL;
    h = str_hash(s, len);
    pthread_mutex_lock(&intern_mu);
    if ((intern_n + 1) * 2 > intern_slots && intern_grow() < 0)
        goto out;
    for (i = h & (intern_slots - 1); intern_tab[i] != NULL; i = (i + 1) & (intern_slots - 1)) {
        if (strcmp(intern_tab[i], s) == 0) {
            out = intern_tab[i];
            goto out;
        }
    }
    if (intern_n >= INTERN_MAX)
        goto out;
    if (intern_seen[h & (INTERN_SEEN - 1)] != h) {
        intern_seen[h & (INTERN_SEEN - 1)] = h; /* first sighting: not yet */
        goto out;
    }
    out = intern_store(s, len);
    if (out != NULL) {
        intern_tab[i] = out;
        intern_n++;
    }
out:
    pthread_mutex_unlock(&intern_mu);
    return out;
}

bool labels_is_interned(const char *s)
{
    bool yes = false;

    pthread_mutex_lock(&intern_mu);
    for (const struct intern_chunk *c = intern_arena; c != NULL && !yes; c = c->next)
        yes = (uintptr_t)s >= (uintptr_t)c->data && (uintptr_t)s < (uintptr_t)(c->data + c->used);
    pthread_mutex_unlock(&intern_mu);
    return yes;
}

/* ------------------------------------------------------------------ blocks */

struct lhdr {
    uint32_t cap;   /* pair slots */
    uint32_t sused; /* bytes used in the string area (live + garbage) */
    uint32_t ssize; /* bytes in the string area */
    uint32_t flags; /* LBLK_* */
};

/* The block lives inside memory someone else owns (labels_pack_into()): it is
 * never freed here; a change that needs room moves the set out of it. */
#define LBLK_BORROWED 1u

static struct lhdr *hdr_of(const struct labels *ls)
{
    return ls->v == NULL ? NULL : (struct lhdr *)(void *)((char *)ls->v - sizeof(struct lhdr));
}

static char *strs_of(const struct labels *ls, const struct lhdr *h)
{
    return (char *)(ls->v + h->cap);
}

/* True when p points into ls's own string area (not interned). */
static bool owned(const struct labels *ls, const char *p)
{
    const struct lhdr *h = hdr_of(ls);
    const char *s;

    if (h == NULL)
        return false;
    s = strs_of(ls, h);
    return (uintptr_t)p >= (uintptr_t)s && (uintptr_t)p < (uintptr_t)(s + h->ssize);
}

/* Bytes ls's live strings take in its string area. */
static size_t live_bytes(const struct labels *ls)
{
    size_t b = 0;

    for (size_t i = 0; i < ls->n; i++) {
        if (owned(ls, ls->v[i].name))
            b += strlen(ls->v[i].name) + 1;
        if (owned(ls, ls->v[i].value))
            b += strlen(ls->v[i].value) + 1;
    }
    return b;
}

static struct label *block_new(size_t cap, size_t ssize)
{
    struct lhdr *h;

    if (cap > UINT32_MAX || ssize > UINT32_MAX)
        return NULL;
    h = malloc(sizeof(*h) + cap * sizeof(struct label) + ssize);
    if (h == NULL)
        return NULL;
    h->cap = (uint32_t)cap;
    h->sused = 0;
    h->ssize = (uint32_t)ssize;
    h->flags = 0;
    return (struct label *)(void *)(h + 1);
}

static void block_free(struct label *v)
{
    struct lhdr *h;

    if (v == NULL)
        return;
    h = (struct lhdr *)(void *)((char *)v - sizeof(struct lhdr));
    if ((h->flags & LBLK_BORROWED) == 0)
        free(h);
}

/* Copies s into v's string area (or keeps it when interned_ptr). */
static char *block_put(struct label *v, const char *s, bool keep_ptr)
{
    struct lhdr *h = (struct lhdr *)(void *)((char *)v - sizeof(struct lhdr));
    char *dst;
    size_t len;

    if (keep_ptr)
        return (char *)s;
    len = strlen(s) + 1;
    dst = (char *)(v + h->cap) + h->sused;
    memcpy(dst, s, len);
    h->sused += (uint32_t)len;
    return dst;
}

/* A new block holding src's pairs (live strings copied, interned ones shared)
 * with room for cap pairs and extra more string bytes. Does not free src. */
static struct label *repack(const struct labels *src, size_t cap, size_t extra)
{
    struct label *v = block_new(cap, live_bytes(src) + extra);

    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < src->n; i++) {
        v[i].name = block_put(v, src->v[i].name, !owned(src, src->v[i].name));
        v[i].value = block_put(v, src->v[i].value, !owned(src, src->v[i].value));
    }
    return v;
}

void labels_init(struct labels *ls)
{
    ls->v = NULL;
    ls->n = 0;
}

void labels_release(struct labels *ls)
{
    block_free(ls->v);
    labels_init(ls);
}

/* Index of name, or of the place it would be inserted; *found says which. */
static size_t labels_find(const struct labels *ls, const char *name, bool *found)
{
    size_t lo = 0, hi = ls->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ls->v[mid].name, name);

        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int labels_set(struct labels *ls, const char *name, const char *value)
{
    bool found;
    size_t i = labels_find(ls, name, &found);
    const char *iv, *in = NULL;
    size_t need = 0;
    struct lhdr *h = hdr_of(ls);
    struct label *v = ls->v, *old = NULL;

    if (value == NULL || value[0] == '\0') {
        if (found) {
            memmove(&ls->v[i], &ls->v[i + 1], (ls->n - i - 1) * sizeof(ls->v[0]));
            ls->n--;
        }
        return 0;
    }
    if (found && strcmp(ls->v[i].value, value) == 0)
        return 0;
    iv = labels_intern(value);
    if (iv == NULL)
        need += strlen(value) + 1;
    if (!found) {
        in = labels_intern(name);
        if (in == NULL)
            need += strlen(name) + 1;
    }
    if (h == NULL || (!found && ls->n == h->cap) || h->ssize - h->sused < need) {
        size_t cap = h == NULL ? 4 : h->cap;
        size_t extra = need;

        if (!found && ls->n == cap)
            cap = cap < 4 ? 4 : cap * 2;
        /* Amortise: room for about as many bytes again as are live. */
        extra += h == NULL ? 32 : live_bytes(ls);
        v = repack(ls, cap, extra);
        if (v == NULL)
            return -1;
        old = ls->v; /* name/value may point into it: free after copying */
    }
    if (found) {
        v[i].value = block_put(v, iv != NULL ? iv : value, iv != NULL);
    } else {
        memmove(&v[i + 1], &v[i], (ls->n - i) * sizeof(v[0]));
        v[i].name = block_put(v, in != NULL ? in : name, in != NULL);
        v[i].value = block_put(v, iv != NULL ? iv : value, iv != NULL);
        ls->n++;
    }
    ls->v = v;
    block_free(old);
    return 0;
}

const char *labels_get(const struct labels *ls, const char *name)
{
    bool found;
    size_t i = labels_find(ls, name, &found);

    return found ? ls->v[i].value : NULL;
}

int labels_copy(struct labels *dst, const struct labels *src)
{
    struct label *v = NULL;

    if (dst == src)
        return 0;
    if (src->n > 0) {
        v = repack(src, src->n, 0);
        if (v == NULL)
            return -1;
    }
    block_free(dst->v);
    dst->v = v;
    dst->n = src->n;
    return 0;
}

void labels_compact(struct labels *ls)
{
    const struct lhdr *h = hdr_of(ls);
    struct label *v;

    if (h == NULL)
        return;
    if (ls->n == 0) {
        labels_release(ls);
        return;
    }
    if (h->cap == ls->n && h->sused == h->ssize && live_bytes(ls) == h->ssize)
        return;
    v = repack(ls, ls->n, 0);
    if (v == NULL)
        return; /* out of memory: the set stays as it is, still valid */
    block_free(ls->v);
    ls->v = v;
}

size_t labels_packed_size(const struct labels *ls)
{
    size_t b;

    if (ls->n == 0)
        return 0;
    b = sizeof(struct lhdr) + ls->n * sizeof(struct label) + live_bytes(ls);
    return (b + 7) & ~(size_t)7;
}

void labels_pack_into(struct labels *ls, void *mem)
{
    struct lhdr *h = mem;
    struct label *v;

    if (ls->n == 0) {
        labels_release(ls);
        return;
    }
    h->cap = (uint32_t)ls->n;
    h->sused = 0;
    h->ssize = (uint32_t)live_bytes(ls);
    h->flags = LBLK_BORROWED;
    v = (struct label *)(void *)(h + 1);
    for (size_t i = 0; i < ls->n; i++) {
        v[i].name = block_put(v, ls->v[i].name, !owned(ls, ls->v[i].name));
        v[i].value = block_put(v, ls->v[i].value, !owned(ls, ls->v[i].value));
    }
    block_free(ls->v);
    ls->v = v;
}

bool labels_within(const struct labels *ls, const void *mem, size_t size)
{
    const char *p = (const char *)ls->v;

    return ls->v == NULL ||
           ((uintptr_t)p >= (uintptr_t)mem && (uintptr_t)p < (uintptr_t)((const char *)mem + size));
}

size_t labels_mem(const struct labels *ls)
{
    const struct lhdr *h = hdr_of(ls);

    if (h == NULL)
        return 0;
    return sizeof(*h) + h->cap * sizeof(struct label) + h->ssize;
}

/* Prometheus' LabelSet.Before: fewer labels first; then, walking the union of
 * names in order, a set lacking the first differing name sorts first; else the
 * first differing value decides. */
int labels_compare(const struct labels *a, const struct labels *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (size_t i = 0; i < a->n; i++) {
        int c = strcmp(a->v[i].name, b->v[i].name);

        if (c != 0)
            return c < 0 ? 1 : -1;
        c = strcmp(a->v[i].value, b->v[i].value);
        if (c != 0)
            return c < 0 ? -1 : 1;
    }
    return 0;
}

bool labels_equal(const struct labels *a, const struct labels *b)
{
    return labels_compare(a, b) == 0;
}

static uint64_t fnv_add(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= FNV_PRIME;
    }
    return h;
}

static uint64_t fnv_add_byte(uint64_t h, unsigned char c)
{
    h ^= c;
    h *= FNV_PRIME;
    return h;
}

uint64_t labels_fingerprint(const struct labels *ls)
{
    uint64_t h = FNV_OFFSET;

    for (size_t i = 0; i < ls->n; i++) {
        h = fnv_add(h, ls->v[i].name);
        h = fnv_add_byte(h, 0xff);
        h = fnv_add(h, ls->v[i].value);
        h = fnv_add_byte(h, 0xff);
    }
    return h;
}

void fingerprint_format(uint64_t fp, char out[FINGERPRINT_STRLEN])
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 15; i >= 0; i--) {
        out[i] = hex[fp & 0xf];
        fp >>= 4;
    }
    out[16] = '\0';
}

int fingerprint_parse(const char *s, uint64_t *fp)
{
    uint64_t v = 0;

    for (int i = 0; i < 16; i++) {
        char c = s[i];
        unsigned d;

        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    if (s[16] != '\0')
        return -1;
    *fp = v;
    return 0;
}

bool label_name_valid(const char *name)
{
    const char *p = name;

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
        return false;
    for (p++; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
              (*p >= '0' && *p <= '9')))
            return false;
    }
    return true;
}

size_t utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c;
    size_t n;

    if (len == 0)
        return 0;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        c = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        c = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        c = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

bool utf8_valid(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);

        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* Go's unicode.IsPrint for the code points that matter in label values: control
 * characters, non-ASCII spaces, format characters, separators, private use and
 * noncharacters are not printable and get escaped. */
static bool go_printable(uint32_t c)
{
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0xa0) || c == 0xad)
        return false;
    if (c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
        (c >= 0x205f && c <= 0x206f) || c == 0x3000 || c == 0xfeff)
        return false;
    if ((c >= 0xe000 && c <= 0xf8ff) || (c >= 0xfff9 && c <= 0xfffb) || c == 0xfffe ||
        c == 0xffff || c >= 0xf0000)
        return false;
    return true;
}

int quote_go(struct buf *out, const char *s, size_t len)
{
    size_t i = 0;
    int rc = buf_appendc(out, '"');

    while (rc == 0 && i < len) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t n;

        switch (c) {
        case '"':
            rc = buf_appends(out, "\\\"");
            i++;
            continue;
        case '\\':
            rc = buf_appends(out, "\\\\");
            i++;
            continue;
        case '\a':
            rc = buf_appends(out, "\\a");
            i++;
            continue;
        case '\b':
            rc = buf_appends(out, "\\b");
            i++;
            continue;
        case '\f':
            rc = buf_appends(out, "\\f");
            i++;
            continue;
        case '\n':
            rc = buf_appends(out, "\\n");
            i++;
            continue;
        case '\r':
            rc = buf_appends(out, "\\r");
            i++;
            continue;
        case '\t':
            rc = buf_appends(out, "\\t");
            i++;
            continue;
        case '\v':
            rc = buf_appends(out, "\\v");
            i++;
            continue;
        default:
            break;
        }
        n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            rc = buf_printf(out, "\\x%02x", c);
            i++;
        } else if (go_printable(cp)) {
            rc = buf_append(out, s + i, n);
            i += n;
        } else {
            if (cp < 0x80)
                rc = buf_printf(out, "\\x%02x", (unsigned)cp);
            else if (cp < 0x10000)
                rc = buf_printf(out, "\\u%04x", (unsigned)cp);
            else
                rc = buf_printf(out, "\\U%08x", (unsigned)cp);
            i += n;
        }
    }
    if (rc == 0)
        rc = buf_appendc(out, '"');
    return rc;
}

const char *quote_for_error(const char *s, char *out, size_t outsz)
{
    struct buf b;
    size_t len = strlen(s);
    bool cut = false;

    if (len > 80) {
        len = 80;
        cut = true;
    }
    buf_init(&b, 4096);
    if (quote_go(&b, s, len) < 0 || (cut && buf_appends(&b, "...") < 0)) {
        snprintf(out, outsz, "\"?\"");
    } else {
        snprintf(out, outsz, "%s", buf_str(&b));
    }
    buf_release(&b);
    return out;
}

int labels_validate(const struct labels *ls, struct error *err)
{
    char q[QUOTE_ERR_MAX];

    for (size_t i = 0; i < ls->n; i++) {
        if (!label_name_valid(ls->v[i].name))
            return error_set(err, "invalid label name %s",
                             quote_for_error(ls->v[i].name, q, sizeof(q)));
        if (!utf8_valid(ls->v[i].value, strlen(ls->v[i].value)))
            return error_set(err, "label %s: label value is not valid UTF-8",
                             quote_for_error(ls->v[i].name, q, sizeof(q)));
    }
    return 0;
}

/* Go's LabelSet.String() sorts the printed `name="value"` strings, not the names,
 * so "a0" comes before "a" ('0' < '='). Names are unique and hold no '=', so
 * comparing name + "=" decides the order. */
static int printed_name_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char ca = *a ? (unsigned char)*a : '=';
        unsigned char cb = *b ? (unsigned char)*b : '=';

        if (ca != cb)
            return ca < cb ? -1 : 1;
        if (*a == '\0' || *b == '\0')
            return 0;
    }
}

int labels_format(const struct labels *ls, struct buf *out)
{
    size_t *order = NULL;
    int rc = -1;

    if (ls->n > 0) {
        order = malloc(ls->n * sizeof(*order));
        if (order == NULL)
            return -1;
    }
    /* Insertion sort: label sets are small and already almost in this order. */
    for (size_t i = 0; i < ls->n; i++) {
        size_t j = i;

        while (j > 0 && printed_name_cmp(ls->v[order[j - 1]].name, ls->v[i].name) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    if (buf_appendc(out, '{') < 0)
        goto out;
    for (size_t k = 0; k < ls->n; k++) {
        const struct label *l = &ls->v[order[k]];

        if (k > 0 && buf_appends(out, ", ") < 0)
            goto out;
        if (buf_appends(out, l->name) < 0 || buf_appendc(out, '=') < 0 ||
            quote_go(out, l->value, strlen(l->value)) < 0)
            goto out;
    }
    if (buf_appendc(out, '}') < 0)
        goto out;
    rc = 0;
out:
    free(order);
    return rc;
}
