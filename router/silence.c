/*
 * silence.c - the silence store with Alertmanager 0.25's rules (see silence.h).
 *
 * Invariants: every stored silence has a non-empty unique id, valid matchers
 * and non-NULL created_by/comment. A failed put or expire changes nothing: the
 * new silence is validated before the old one is touched (AM would expire the
 * old one first and then reject the new one; a rejected request must not
 * change state here).
 */
#include "router/silence.h"

#include "core/error.h"
#include "core/labels.h"
#include "router/hmap.h"

#include <stdlib.h>
#include <string.h>

struct silences {
    struct smap by_id; /* id -> struct silence * */
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

    if (ss != NULL)
        smap_init(&ss->by_id);
    return ss;
}

static void silence_free(struct silence *s)
{
    silence_release(s);
    free(s);
}

void silences_free(struct silences *ss)
{
    struct smap_entry *e;
    size_t it;

    if (ss == NULL)
        return;
    for (e = smap_first(&ss->by_id, &it); e != NULL; e = smap_next(&ss->by_id, e, &it))
        silence_free(e->val);
    smap_release(&ss->by_id);
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

/* Moves in's contents into a fresh heap silence. */
static struct silence *silence_move(struct silence *in)
{
    struct silence *s = malloc(sizeof(*s));

    if (s == NULL)
        return NULL;
    *s = *in;
    silence_init(in);
    return s;
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
        /* Same id: swap the contents, free the old ones. */
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
    if (smap_put(&ss->by_id, s->id, s) < 0) {
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
    if (smap_put(&ss->by_id, s->id, s) < 0)
        goto nomem;
    if (old != NULL)
        silence_free(old);
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

size_t silences_active_matching(const struct silences *ss, const struct labels *ls, int64_t now,
                                char (**ids_out)[SILENCE_ID_LEN])
{
    struct smap_entry *e;
    size_t it, n = 0, cap = 0;
    char(*ids)[SILENCE_ID_LEN] = NULL;

    *ids_out = NULL;
    for (e = smap_first(&ss->by_id, &it); e != NULL; e = smap_next(&ss->by_id, e, &it)) {
        const struct silence *s = e->val;
        if (silence_state_at(s, now) != SILENCE_ACTIVE || !silence_matches(s, ls))
            continue;
        if (n == cap) {
            size_t ncap = cap == 0 ? 4 : cap * 2;
            char(*v)[SILENCE_ID_LEN] = realloc(ids, ncap * sizeof(*v));
            if (v == NULL) {
                free(ids);
                return (size_t)-1;
            }
            ids = v;
            cap = ncap;
        }
        memcpy(ids[n++], s->id, SILENCE_ID_LEN);
    }
    if (n > 1)
        qsort(ids, n, sizeof(*ids), cmp_id);
    *ids_out = ids;
    return n;
}

bool silences_mutes(const struct silences *ss, const struct labels *ls, int64_t now)
{
    struct smap_entry *e;
    size_t it;

    for (e = smap_first(&ss->by_id, &it); e != NULL; e = smap_next(&ss->by_id, e, &it)) {
        const struct silence *s = e->val;
        if (silence_state_at(s, now) == SILENCE_ACTIVE && silence_matches(s, ls))
            return true;
    }
    return false;
}

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
