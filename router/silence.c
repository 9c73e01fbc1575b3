/*
 * silence.c - the silence store with Alertmanager 0.25's rules (see silence.h).
 *
 * Invariants: every stored silence has a non-empty unique id, valid matchers
 * and non-NULL created_by/comment. A failed put or expire changes nothing: the
 * new silence is validated before the old one is touched (AM would expire the
 * old one first and then reject the new one; a rejected request must not
 * change state here).
 *
 * Matching index: answering "which active silences match this label set" by
 * scanning every silence costs silences x matchers per alert (10k silences x
 * 100k alerts on GET /api/v2/alerts). So every stored silence is also filed
 * under ONE of its equality matchers, name="value" with a non-empty value
 * (op MATCH_EQ; `foo=""` matches an absent label, so it cannot be a key), in a
 * two-level map name -> value -> bucket. A label set can only be matched by the
 * silences in the buckets of its own (name, value) pairs, plus those without any
 * usable equality matcher (regex, negated or empty-value only), which live in
 * the `always` bucket and are checked for every label set. Which matcher: the
 * usable one whose bucket currently holds the fewest silences (ties: the first
 * in the silence's matcher list), so a common key such as alertname="X" shared
 * by many silences is avoided when the silence has a rarer one (instance=...).
 * The candidates are then checked with the full matchers and their state, so
 * results are exactly the linear scan's; callers sort the ids.
 *
 * Index invariants: every stored silence sits in exactly one bucket (all
 * states: state is checked at query time, since it changes with `now`), at
 * node->pos, filed under node->key_m (its matcher index, -1 = always). A
 * silence's matchers change only through silences_put's in-place update (same
 * matchers by AM's rules, re-filed anyway) and silences_load (replace); GC
 * unfiles before freeing. Empty buckets and empty name maps are freed.
 */
#include "router/silence.h"

#include "core/error.h"
#include "core/labels.h"
#include "router/hmap.h"

#include <stdlib.h>
#include <string.h>

/* A stored silence: the public struct plus its place in the index. Every
 * struct silence * in by_id points at a node (s is its first member). */
struct sil_node {
    struct silence s;
    int key_m;  /* index of the matcher it is filed under, -1 = always bucket */
    size_t pos; /* position in its bucket */
};

struct sil_bucket {
    struct sil_node **v;
    size_t n, cap;
};

struct silences {
    struct smap by_id;        /* id -> struct sil_node * (as struct silence *) */
    struct smap by_name;      /* label name -> struct smap * (value -> struct sil_bucket *) */
    struct sil_bucket always; /* silences without a usable equality matcher */
};

void silence_init(struct silence *s)
{
    memset(s, 0, sizeof(*s));
    matchers_init(&s->matchers);
}

void silence_release(struct silence *s)
{
    if (s == NULL)
        return;
    matchers_release(&s->matchers);
    free(s->created_by);
    free(s->comment);
    silence_init(s);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

int silence_copy(struct silence *dst, const struct silence *src)
{
    silence_init(dst);
    memcpy(dst->id, src->id, sizeof(dst->id));
    dst->starts_at = src->starts_at;
    dst->ends_at = src->ends_at;
    dst->updated_at = src->updated_at;
    dst->created_by = dup_or_empty(src->created_by);
    dst->comment = dup_or_empty(src->comment);
    if (dst->created_by == NULL || dst->comment == NULL ||
        matchers_copy(&dst->matchers, &src->matchers) < 0) {
        silence_release(dst);
        return -1;
    }
    return 0;
}

const char *silence_state_name(enum silence_state st)
{
    switch (st) {
    case SILENCE_PENDING:
        return "pending";
    case SILENCE_ACTIVE:
        return "active";
    case SILENCE_EXPIRED:
        return "expired";
    }
    return "expired";
}

enum silence_state silence_state_at(const struct silence *s, int64_t now)
{
    if (now < s->starts_at)
        return SILENCE_PENDING;
    if (now >= s->ends_at)
        return SILENCE_EXPIRED;
    return SILENCE_ACTIVE;
}

bool silence_matches(const struct silence *s, const struct labels *ls)
{
    return matchers_match(&s->matchers, ls);
}

int silence_validate(const struct silence *s, struct error *err)
{
    bool all_empty = true;

    if (s->matchers.n == 0)
        return error_set(err, "silence invalid: at least one matcher required");
    for (size_t i = 0; i < s->matchers.n; i++) {
        if (!label_name_valid(s->matchers.v[i].name))
            return error_set(err,
                             "silence invalid: invalid label matcher %zu: invalid label "
                             "name \"%s\"",
                             i, s->matchers.v[i].name);
        if (!matcher_matches_empty(&s->matchers.v[i]))
            all_empty = false;
    }
    if (all_empty)
        return error_set(err,
                         "silence invalid: at least one matcher must not match the empty string");
    if (s->starts_at == 0)
        return error_set(err, "silence invalid: invalid zero start timestamp");
    if (s->ends_at == 0)
        return error_set(err, "silence invalid: invalid zero end timestamp");
    if (s->ends_at < s->starts_at)
        return error_set(err, "silence invalid: end time must not be before start time");
    if (s->updated_at == 0)
        return error_set(err, "silence invalid: invalid zero update timestamp");
    return 0;
}

void silence_uuid_format(const uint8_t random16[16], char out[SILENCE_ID_LEN])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    size_t o = 0;

    memcpy(b, random16, 16);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

struct silences *silences_new(void)
{
    struct silences *ss = calloc(1, sizeof(*ss));

    if (ss != NULL) {
        smap_init(&ss->by_id);
        smap_init(&ss->by_name);
    }
    return ss;
}

static void silence_free(struct silence *s)
{
    silence_release(s);
    free(s); /* s is the first member of its struct sil_node */
}

static bool usable_key(const struct matcher *m)
{
    return m->op == MATCH_EQ && m->value != NULL && m->value[0] != '\0';
}

static struct sil_bucket *bucket_get(const struct silences *ss, const char *name, const char *value)
{
    const struct smap *vals = smap_get(&ss->by_name, name);

    return vals != NULL ? smap_get(vals, value) : NULL;
}

static int bucket_push(struct sil_bucket *b, struct sil_node *nd)
{
    if (b->n == b->cap) {
        size_t cap = b->cap == 0 ? 2 : b->cap * 2;
        struct sil_node **v = realloc(b->v, cap * sizeof(*v));

        if (v == NULL)
            return -1;
        b->v = v;
        b->cap = cap;
    }
    nd->pos = b->n;
    b->v[b->n++] = nd;
    return 0;
}

/* The bucket for name=value, made when absent. NULL when memory runs out. */
static struct sil_bucket *bucket_make(struct silences *ss, const char *name, const char *value)
{
    struct smap *vals = smap_get(&ss->by_name, name);
    struct sil_bucket *b;

    if (vals == NULL) {
        vals = malloc(sizeof(*vals));
        if (vals == NULL)
            return NULL;
        smap_init(vals);
        if (smap_put(&ss->by_name, name, vals) < 0) {
            free(vals);
            return NULL;
        }
    }
    b = smap_get(vals, value);
    if (b != NULL)
        return b;
    b = calloc(1, sizeof(*b));
    if (b == NULL || smap_put(vals, value, b) < 0) {
        free(b);
        if (vals->n == 0) {
            smap_del(&ss->by_name, name);
            smap_release(vals);
            free(vals);
        }
        return NULL;
    }
    return b;
}

/* Frees b (the bucket of name=value) when it is empty, and the name's value map
 * when that empties too. */
static void bucket_drop_if_empty(struct silences *ss, const char *name, const char *value,
                                 struct sil_bucket *b)
{
    struct smap *vals;

    if (b->n > 0)
        return;
    vals = smap_get(&ss->by_name, name);
    smap_del(vals, value);
    free(b->v);
    free(b);
    if (vals->n == 0) {
        smap_del(&ss->by_name, name);
        smap_release(vals);
        free(vals);
    }
}

/* Files nd under its rarest usable equality matcher (see the top comment).
 * -1 when memory runs out (nd is then in no bucket and the index unchanged). */
static int index_add(struct silences *ss, struct sil_node *nd)
{
    const struct matchers *ms = &nd->s.matchers;
    struct sil_bucket *b;
    size_t best_n = (size_t)-1;
    int best = -1;

    for (size_t i = 0; i < ms->n && best_n > 0; i++) {
        const struct sil_bucket *cur;
        size_t n;

        if (!usable_key(&ms->v[i]))
            continue;
        cur = bucket_get(ss, ms->v[i].name, ms->v[i].value);
        n = cur != NULL ? cur->n : 0;
        if (n < best_n) {
            best_n = n;
            best = (int)i;
        }
    }
    nd->key_m = best;
    if (best < 0)
        return bucket_push(&ss->always, nd);
    b = bucket_make(ss, ms->v[best].name, ms->v[best].value);
    if (b == NULL)
        return -1;
    if (bucket_push(b, nd) < 0) {
        bucket_drop_if_empty(ss, ms->v[best].name, ms->v[best].value, b);
        return -1;
    }
    return 0;
}

/* Removes nd from its bucket (freeing the bucket and its name map when empty). */
static void index_del(struct silences *ss, struct sil_node *nd)
{
    struct sil_bucket *b;
    const struct matcher *m = NULL;

    if (nd->key_m < 0) {
        b = &ss->always;
    } else {
        m = &nd->s.matchers.v[nd->key_m];
        b = bucket_get(ss, m->name, m->value);
    }
    b->v[nd->pos] = b->v[b->n - 1];
    b->v[nd->pos]->pos = nd->pos;
    b->n--;
    if (m != NULL)
        bucket_drop_if_empty(ss, m->name, m->value, b);
}

void silences_free(struct silences *ss)
{
    struct smap_entry *e, *f;
    size_t it, jt;

    if (ss == NULL)
        return;
    for (e = smap_first(&ss->by_id, &it); e != NULL; e = smap_next(&ss->by_id, e, &it))
        silence_free(e->val);
    smap_release(&ss->by_id);
    for (e = smap_first(&ss->by_name, &it); e != NULL; e = smap_next(&ss->by_name, e, &it)) {
        struct smap *vals = e->val;

        for (f = smap_first(vals, &jt); f != NULL; f = smap_next(vals, f, &jt)) {
            struct sil_bucket *b = f->val;

            free(b->v);
            free(b);
        }
        smap_release(vals);
        free(vals);
    }
    smap_release(&ss->by_name);
    free(ss->always.v);
    free(ss);
}

size_t silences_count(const struct silences *ss)
{
    return ss->by_id.n;
}

const struct silence *silences_get(const struct silences *ss, const char *id)
{
    if (id == NULL || id[0] == '\0')
        return NULL;
    return smap_get(&ss->by_id, id);
}

static bool matchers_same(const struct matchers *a, const struct matchers *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].op != b->v[i].op || strcmp(a->v[i].name, b->v[i].name) != 0 ||
            strcmp(a->v[i].value, b->v[i].value) != 0)
            return false;
    }
    return true;
}

/* AM's canUpdate: may `next` replace `prev` in place at now? */
static bool can_update(const struct silence *prev, const struct silence *next, int64_t now)
{
    if (!matchers_same(&prev->matchers, &next->matchers))
        return false;
    switch (silence_state_at(prev, now)) {
    case SILENCE_ACTIVE:
        return next->starts_at == prev->starts_at && next->ends_at >= now;
    case SILENCE_PENDING:
        return next->starts_at >= now;
    case SILENCE_EXPIRED:
        return false;
    }
    return false;
}

/* Moves in's contents into a fresh node (not yet filed in the index). */
static struct silence *silence_move(struct silence *in)
{
    struct sil_node *nd = malloc(sizeof(*nd));

    if (nd == NULL)
        return NULL;
    nd->s = *in;
    nd->key_m = -1;
    nd->pos = 0;
    silence_init(in);
    return &nd->s;
}

static void expire_in_place(struct silence *s, int64_t now)
{
    if (silence_state_at(s, now) == SILENCE_PENDING)
        s->starts_at = now;
    s->ends_at = now;
    s->updated_at = now;
}

enum silence_status silences_put(struct silences *ss, struct silence *in, int64_t now,
                                 const uint8_t random16[16], char id_out[SILENCE_ID_LEN],
                                 void (*changed)(void *ctx, const char *id), void *ctx,
                                 struct error *err)
{
    enum silence_status st = SILENCE_BAD;
    struct silence *prev = NULL;
    struct silence *s = NULL;
    bool update;

    if (in->created_by == NULL)
        in->created_by = strdup("");
    if (in->comment == NULL)
        in->comment = strdup("");
    if (in->created_by == NULL || in->comment == NULL) {
        error_set(err, "out of memory");
        st = SILENCE_FAILED;
        goto out;
    }
    if (in->starts_at >= in->ends_at) {
        error_set(err, "Failed to create silence: start time must be before end time");
        goto out;
    }
    if (in->ends_at < now) {
        error_set(err, "Failed to create silence: end time can't be in the past");
        goto out;
    }
    if (in->id[0] != '\0') {
        prev = smap_get(&ss->by_id, in->id);
        if (prev == NULL) {
            error_set(err, "silence not found");
            st = SILENCE_NOT_FOUND;
            goto out;
        }
    }
    in->updated_at = now;
    update = prev != NULL && can_update(prev, in, now);
    if (!update) {
        silence_uuid_format(random16, in->id);
        if (in->starts_at < now)
            in->starts_at = now;
        if (smap_get(&ss->by_id, in->id) != NULL) {
            error_set(err, "silence id collision: %s", in->id);
            st = SILENCE_FAILED;
            goto out;
        }
    }
    if (silence_validate(in, err) < 0)
        goto out;
    s = silence_move(in);
    if (s == NULL) {
        error_set(err, "out of memory");
        st = SILENCE_FAILED;
        goto out;
    }
    if (update) {
        /* Same id: swap the contents, free the old ones. The matchers are
         * identical (can_update), so prev stays filed where it is: the index
         * looks its key up by the matcher's name and value strings. */
        struct silence old = *prev;
        *prev = *s;
        free(s);
        s = NULL;
        silence_release(&old);
        memcpy(id_out, prev->id, SILENCE_ID_LEN);
        if (changed != NULL)
            changed(ctx, prev->id);
        return SILENCE_OK;
    }
    if (index_add(ss, (struct sil_node *)s) < 0) {
        error_set(err, "out of memory");
        st = SILENCE_FAILED;
        goto out;
    }
    if (smap_put(&ss->by_id, s->id, s) < 0) {
        index_del(ss, (struct sil_node *)s);
        error_set(err, "out of memory");
        st = SILENCE_FAILED;
        goto out;
    }
    if (prev != NULL && silence_state_at(prev, now) != SILENCE_EXPIRED) {
        expire_in_place(prev, now);
        if (changed != NULL)
            changed(ctx, prev->id);
    }
    memcpy(id_out, s->id, SILENCE_ID_LEN);
    if (changed != NULL)
        changed(ctx, s->id);
    return SILENCE_OK;
out:
    if (s != NULL)
        silence_free(s);
    silence_release(in);
    return st;
}

enum silence_status silences_expire(struct silences *ss, const char *id, int64_t now,
                                    struct error *err)
{
    struct silence *s = id != NULL && id[0] != '\0' ? smap_get(&ss->by_id, id) : NULL;

    if (s == NULL) {
        error_set(err, "silence not found");
        return SILENCE_FAILED;
    }
    if (silence_state_at(s, now) != SILENCE_EXPIRED)
        expire_in_place(s, now);
    return SILENCE_OK;
}

int silences_load(struct silences *ss, struct silence *in, struct error *err)
{
    struct silence *s, *old;

    if (in->id[0] == '\0') {
        silence_release(in);
        return error_set(err, "silence without id");
    }
    if (in->created_by == NULL)
        in->created_by = strdup("");
    if (in->comment == NULL)
        in->comment = strdup("");
    s = silence_move(in);
    if (s == NULL || s->created_by == NULL || s->comment == NULL)
        goto nomem;
    old = smap_get(&ss->by_id, s->id);
    if (index_add(ss, (struct sil_node *)s) < 0)
        goto nomem;
    if (smap_put(&ss->by_id, s->id, s) < 0) {
        index_del(ss, (struct sil_node *)s);
        goto nomem;
    }
    if (old != NULL) {
        index_del(ss, (struct sil_node *)old);
        silence_free(old);
    }
    return 0;
nomem:
    if (s != NULL)
        silence_free(s);
    silence_release(in);
    return error_set(err, "out of memory");
}

size_t silences_gc(struct silences *ss, int64_t now, int64_t retention,
                   void (*deleted)(void *ctx, const char *id), void *ctx)
{
    struct smap_entry *e;
    size_t it, n = 0, cap = 0, done = 0;
    struct silence **dead = NULL;

    for (e = smap_first(&ss->by_id, &it); e != NULL; e = smap_next(&ss->by_id, e, &it)) {
        struct silence *s = e->val;
        if (s->ends_at + retention > now)
            continue;
        if (n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            struct silence **v = realloc(dead, ncap * sizeof(*v));
            if (v == NULL)
                break; /* collect the rest next time */
            dead = v;
            cap = ncap;
        }
        dead[n++] = s;
    }
    for (size_t i = 0; i < n; i++) {
        if (deleted != NULL)
            deleted(ctx, dead[i]->id);
        smap_del(&ss->by_id, dead[i]->id);
        index_del(ss, (struct sil_node *)dead[i]);
        silence_free(dead[i]);
        done++;
    }
    free(dead);
    return done;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Calls fn(ctx, s) for every silence that may match ls: the always bucket and
 * the buckets of ls's own name=value pairs. Each silence is visited at most once
 * (it sits in one bucket; label names in ls are unique). Stops when fn returns
 * non-zero and returns that value. */
static int foreach_candidate(const struct silences *ss, const struct labels *ls,
                             int (*fn)(void *ctx, const struct silence *s), void *ctx)
{
    int rc;

    for (size_t i = 0; i < ss->always.n; i++) {
        rc = fn(ctx, &ss->always.v[i]->s);
        if (rc != 0)
            return rc;
    }
    if (ss->by_name.n == 0)
        return 0;
    for (size_t l = 0; l < ls->n; l++) {
        const struct smap *vals = smap_get(&ss->by_name, ls->v[l].name);
        const struct sil_bucket *b;

        if (vals == NULL)
            continue;
        b = smap_get(vals, ls->v[l].value);
        for (size_t i = 0; b != NULL && i < b->n; i++) {
            rc = fn(ctx, &b->v[i]->s);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

struct match_ctx {
    const struct labels *ls;
    int64_t now;
    char (*ids)[SILENCE_ID_LEN];
    size_t n, cap;
};

static int collect_cb(void *ctx, const struct silence *s)
{
    struct match_ctx *c = ctx;

    if (silence_state_at(s, c->now) != SILENCE_ACTIVE || !silence_matches(s, c->ls))
        return 0;
    if (c->n == c->cap) {
        size_t ncap = c->cap == 0 ? 4 : c->cap * 2;
        char(*v)[SILENCE_ID_LEN] = realloc(c->ids, ncap * sizeof(*v));

        if (v == NULL)
            return -1;
        c->ids = v;
        c->cap = ncap;
    }
    memcpy(c->ids[c->n++], s->id, SILENCE_ID_LEN);
    return 0;
}

size_t silences_active_matching(const struct silences *ss, const struct labels *ls, int64_t now,
                                char (**ids_out)[SILENCE_ID_LEN])
{
    struct match_ctx c = {ls, now, NULL, 0, 0};

    *ids_out = NULL;
    if (foreach_candidate(ss, ls, collect_cb, &c) != 0) {
        free(c.ids);
        return (size_t)-1;
    }
    if (c.n > 1)
        qsort(c.ids, c.n, sizeof(*c.ids), cmp_id);
    *ids_out = c.ids;
    return c.n;
}

static int mutes_cb(void *ctx, const struct silence *s)
{
    const struct match_ctx *c = ctx;

    return silence_state_at(s, c->now) == SILENCE_ACTIVE && silence_matches(s, c->ls) ? 1 : 0;
}

bool silences_mutes(const struct silences *ss, const struct labels *ls, int64_t now)
{
    struct match_ctx c = {ls, now, NULL, 0, 0};

    return foreach_candidate(ss, ls, mutes_cb, &c) == 1;
}

#ifdef UNIT_TEST
size_t silences_index_always(const struct silences *ss)
{
    return ss->always.n;
}

size_t silences_index_buckets(const struct silences *ss)
{
    struct smap_entry *e;
    size_t it, n = 0;

    for (e = smap_first(&ss->by_name, &it); e != NULL; e = smap_next(&ss->by_name, e, &it))
        n += ((const struct smap *)e->val)->n;
    return n;
}
#endif

struct sorted_sil {
    const struct silence *s;
    enum silence_state st;
};

static int state_rank(enum silence_state st)
{
    return st == SILENCE_ACTIVE ? 0 : st == SILENCE_PENDING ? 1 : 2;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_sorted(const void *pa, const void *pb)
{
    const struct sorted_sil *a = pa, *b = pb;
    int c = state_rank(a->st) - state_rank(b->st);

    if (c != 0)
        return c;
    if (a->st == SILENCE_EXPIRED)
        c = cmp_i64(b->s->ends_at, a->s->ends_at);
    else if (a->st == SILENCE_PENDING)
        c = cmp_i64(a->s->starts_at, b->s->starts_at);
    else
        c = cmp_i64(a->s->ends_at, b->s->ends_at);
    return c != 0 ? c : strcmp(a->s->id, b->s->id);
}

int silences_foreach(const struct silences *ss, int64_t now,
                     int (*fn)(void *ctx, const struct silence *s, enum silence_state st),
                     void *ctx)
{
    struct sorted_sil *v;
    struct smap_entry *e;
    size_t it, n = 0;
    int rc = 0;

    if (ss->by_id.n == 0)
        return 0;
    v = malloc(ss->by_id.n * sizeof(*v));
    if (v == NULL)
        return -1;
    for (e = smap_first(&ss->by_id, &it); e != NULL; e = smap_next(&ss->by_id, e, &it)) {
        v[n].s = e->val;
        v[n].st = silence_state_at(e->val, now);
        n++;
    }
    qsort(v, n, sizeof(*v), cmp_sorted);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fn(ctx, v[i].s, v[i].st);
    free(v);
    return rc;
}
