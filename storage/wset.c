/*
 * wset.c - a write set: a batch's storage operations recorded with owned
 * copies, to be written later by another thread (storage.h, "write sets").
 *
 * The engine thread records what a batch changed (storage_wset_put_* and
 * friends, the same operations as storage_put_* / storage_delete_* / meta /
 * job / gc) while it owns the router; the storage thread replays them with
 * storage_wset_write() inside its transaction. Every record copies what it is
 * given, so the set never points into router memory: alerts are encoded at
 * once (codec_encode_alert: the text the row stores, which is also the
 * cheapest copy, and it moves the encoding off the writing thread), silences
 * are copied with silence_copy, incidents through their stored JSON form, jobs
 * with notify_job_copy, group heads as key, labels and timer. The one
 * borrowed pointer is a group head's route (g->route, read for its id): routes
 * live in configs, which are immutable and outlive every write set (the
 * engine keeps replaced configs until engine_free).
 *
 * Replay calls the storage_put_* functions in recording order, so a write set
 * stores exactly what the same calls made directly would have stored.
 *
 * Ownership: the write set owns every op and what it holds; storage_wset_free
 * releases them. A write set is used by one thread at a time.
 */
#include "storage/storage.h"

#include "core/alert.h"
#include "core/error.h"
#include "core/labels.h"
#include "router/incident.h"
#include "router/silence.h"
#include "storage/audit.h"
#include "storage/codec.h"

#include <stdlib.h>
#include <string.h>

enum ws_kind {
    WS_PUT_ALERT_IN,
    WS_DEL_ALERT,
    WS_PUT_MEMBER,
    WS_DEL_MEMBER,
    WS_PUT_SILENCE,
    WS_DEL_SILENCE,
    WS_PUT_GROUP_HEAD,
    WS_DEL_GROUP_HEAD,
    WS_PUT_NFLOG,
    WS_DEL_NFLOG,
    WS_PUT_INCIDENT,
    WS_DEL_INCIDENT,
    WS_PUT_JOB,
    WS_UPD_JOB,
    WS_DEL_JOB,
    WS_META_PUT,
    WS_GC
};

struct ws_group {
    struct labels labels;
    const struct route *route; /* borrowed: configs outlive write sets */
    int64_t next_flush;
    bool has_flushed;
    uint64_t incident_id;
};

struct ws_op {
    enum ws_kind kind;
    uint64_t id; /* fingerprint, incident id or job id */
    char *key;   /* group key, silence id, nflog key, meta key, job state */
    char *text;  /* an encoded alert; a job's last error; a meta value (len bytes) */
    size_t len;  /* meta value length */
    char **keys; /* WS_PUT_ALERT_IN: group keys (one block: pointers, then strings) */
    size_t n_keys;
    int attempts;
    int64_t t1, t2, t3; /* alert ends_at; job next attempt; gc now, silence and audit
                           retention */
    union {
        struct silence sil;
        struct nflog_entry nf;
        struct incident *inc;
        struct notify_job *job;
        struct ws_group group;
    } u;
};

struct storage_wset {
    struct ws_op *v;
    size_t n, cap;
};

struct storage_wset *storage_wset_new(void)
{
    return calloc(1, sizeof(struct storage_wset));
}

static void op_release(struct ws_op *op)
{
    switch (op->kind) {
    case WS_PUT_SILENCE:
        silence_release(&op->u.sil);
        break;
    case WS_PUT_NFLOG:
        nflog_entry_release(&op->u.nf);
        break;
    case WS_PUT_INCIDENT:
        incident_free(op->u.inc);
        break;
    case WS_PUT_JOB:
        notify_job_free(op->u.job);
        break;
    case WS_PUT_GROUP_HEAD:
        labels_release(&op->u.group.labels);
        break;
    default:
        break;
    }
    free(op->key);
    free(op->text);
    free(op->keys);
}

void storage_wset_free(struct storage_wset *ws)
{
    if (ws == NULL)
        return;
    for (size_t i = 0; i < ws->n; i++)
        op_release(&ws->v[i]);
    free(ws->v);
    free(ws);
}

size_t storage_wset_size(const struct storage_wset *ws)
{
    return ws != NULL ? ws->n : 0;
}

/* A new zeroed op at the end, or NULL (err set) when memory runs out. The
 * caller fills it; on a later failure it calls drop_last(). */
static struct ws_op *push(struct storage_wset *ws, enum ws_kind kind, struct error *err)
{
    struct ws_op *op;

    if (ws->n == ws->cap) {
        size_t cap = ws->cap == 0 ? 64 : ws->cap * 2;
        struct ws_op *v = realloc(ws->v, cap * sizeof(*v));

        if (v == NULL) {
            error_set(err, "out of memory recording a storage write");
            return NULL;
        }
        ws->v = v;
        ws->cap = cap;
    }
    op = &ws->v[ws->n++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    return op;
}

/* Forgets the last op (its union part must still be empty). */
static int drop_last(struct storage_wset *ws, struct error *err)
{
    struct ws_op *op = &ws->v[--ws->n];

    free(op->key);
    free(op->text);
    free(op->keys);
    return error_set(err, "out of memory recording a storage write");
}

/* An op with a copy of key (may be NULL: no key). */
static struct ws_op *push_key(struct storage_wset *ws, enum ws_kind kind, const char *key,
                              struct error *err)
{
    struct ws_op *op = push(ws, kind, err);

    if (op == NULL || key == NULL)
        return op;
    op->key = strdup(key);
    if (op->key == NULL) {
        drop_last(ws, err);
        return NULL;
    }
    return op;
}

/* Copies n strings into one block: n pointers followed by the strings. */
static char **copy_keys(const char *const *keys, size_t n)
{
    size_t bytes = n * sizeof(char *);
    char **v;
    char *p;

    for (size_t i = 0; i < n; i++)
        bytes += strlen(keys[i]) + 1;
    v = malloc(bytes > 0 ? bytes : 1);
    if (v == NULL)
        return NULL;
    p = (char *)(v + n);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(keys[i]) + 1;

        memcpy(p, keys[i], l);
        v[i] = p;
        p += l;
    }
    return v;
}

int storage_wset_put_alert_in(struct storage_wset *ws, const struct alert *a,
                              const char *const *group_keys, size_t n, struct error *err)
{
    struct ws_op *op = push(ws, WS_PUT_ALERT_IN, err);

    if (op == NULL)
        return -1;
    if (n > 0) {
        op->keys = copy_keys(group_keys, n);
        if (op->keys == NULL)
            return drop_last(ws, err);
        op->n_keys = n;
    }
    op->id = a->fingerprint;
    op->t1 = a->ends_at;
    op->text = codec_encode_alert(a);
    if (op->text == NULL)
        return drop_last(ws, err);
    return 0;
}

int storage_wset_put_alert(struct storage_wset *ws, const struct alert *a, struct error *err)
{
    return storage_wset_put_alert_in(ws, a, NULL, 0, err);
}

int storage_wset_delete_alert(struct storage_wset *ws, uint64_t fingerprint, struct error *err)
{
    struct ws_op *op = push(ws, WS_DEL_ALERT, err);

    if (op == NULL)
        return -1;
    op->id = fingerprint;
    return 0;
}

static int member(struct storage_wset *ws, enum ws_kind kind, const char *key, uint64_t fp,
                  struct error *err)
{
    struct ws_op *op = push_key(ws, kind, key, err);

    if (op == NULL)
        return -1;
    op->id = fp;
    return 0;
}

int storage_wset_put_member(struct storage_wset *ws, const char *group_key, uint64_t fp,
                            struct error *err)
{
    return member(ws, WS_PUT_MEMBER, group_key, fp, err);
}

int storage_wset_delete_member(struct storage_wset *ws, const char *group_key, uint64_t fp,
                               struct error *err)
{
    return member(ws, WS_DEL_MEMBER, group_key, fp, err);
}

int storage_wset_put_silence(struct storage_wset *ws, const struct silence *s, struct error *err)
{
    struct ws_op *op = push(ws, WS_PUT_SILENCE, err);

    if (op == NULL)
        return -1;
    if (silence_copy(&op->u.sil, s) < 0)
        return drop_last(ws, err);
    return 0;
}

int storage_wset_delete_silence(struct storage_wset *ws, const char *id, struct error *err)
{
    return push_key(ws, WS_DEL_SILENCE, id, err) != NULL ? 0 : -1;
}

int storage_wset_put_group_head(struct storage_wset *ws, const struct group_view *g,
                                struct error *err)
{
    struct ws_op *op = push_key(ws, WS_PUT_GROUP_HEAD, g->key, err);

    if (op == NULL)
        return -1;
    labels_init(&op->u.group.labels);
    if (g->labels != NULL && labels_copy(&op->u.group.labels, g->labels) < 0)
        return drop_last(ws, err);
    op->u.group.route = g->route;
    op->u.group.next_flush = g->next_flush;
    op->u.group.has_flushed = g->has_flushed;
    op->u.group.incident_id = g->incident_id;
    return 0;
}

int storage_wset_delete_group_head(struct storage_wset *ws, const char *key, struct error *err)
{
    return push_key(ws, WS_DEL_GROUP_HEAD, key, err) != NULL ? 0 : -1;
}

static int copy_fps(uint64_t **dst, const uint64_t *src, size_t n)
{
    *dst = NULL;
    if (n == 0)
        return 0;
    *dst = malloc(n * sizeof(**dst));
    if (*dst == NULL)
        return -1;
    memcpy(*dst, src, n * sizeof(**dst));
    return 0;
}

int storage_wset_put_nflog(struct storage_wset *ws, const struct nflog_entry *e, struct error *err)
{
    struct ws_op *op = push(ws, WS_PUT_NFLOG, err);
    struct nflog_entry *c;

    if (op == NULL)
        return -1;
    c = &op->u.nf;
    *c = *e;
    c->key = e->key != NULL ? strdup(e->key) : NULL;
    c->group_key = e->group_key != NULL ? strdup(e->group_key) : NULL;
    c->receiver_name = e->receiver_name != NULL ? strdup(e->receiver_name) : NULL;
    c->firing = c->resolved = NULL;
    if ((e->key != NULL && c->key == NULL) || (e->group_key != NULL && c->group_key == NULL) ||
        (e->receiver_name != NULL && c->receiver_name == NULL) ||
        copy_fps(&c->firing, e->firing, e->n_firing) < 0 ||
        copy_fps(&c->resolved, e->resolved, e->n_resolved) < 0) {
        nflog_entry_release(c);
        memset(c, 0, sizeof(*c));
        return drop_last(ws, err);
    }
    return 0;
}

int storage_wset_delete_nflog(struct storage_wset *ws, const char *key, struct error *err)
{
    return push_key(ws, WS_DEL_NFLOG, key, err) != NULL ? 0 : -1;
}

int storage_wset_put_incident(struct storage_wset *ws, const struct incident *inc,
                              struct error *err)
{
    struct ws_op *op = push(ws, WS_PUT_INCIDENT, err);
    json_t *o;
    int rc;

    if (op == NULL)
        return -1;
    /* The stored form is the copy: what a load would read back. */
    o = incident_to_json(inc, true);
    rc = o != NULL ? incident_from_json(o, &op->u.inc, err) : -1;
    json_decref(o);
    if (rc < 0) {
        op->u.inc = NULL;
        return drop_last(ws, err);
    }
    return 0;
}

int storage_wset_delete_incident(struct storage_wset *ws, uint64_t id, struct error *err)
{
    struct ws_op *op = push(ws, WS_DEL_INCIDENT, err);

    if (op == NULL)
        return -1;
    op->id = id;
    return 0;
}

int storage_wset_put_job(struct storage_wset *ws, const struct notify_job *job, struct error *err)
{
    struct ws_op *op = push(ws, WS_PUT_JOB, err);

    if (op == NULL)
        return -1;
    op->u.job = notify_job_copy(job);
    if (op->u.job == NULL)
        return drop_last(ws, err);
    return 0;
}

int storage_wset_update_job(struct storage_wset *ws, uint64_t id, const char *state, int attempts,
                            int64_t next_attempt_at, const char *last_error, struct error *err)
{
    struct ws_op *op = push_key(ws, WS_UPD_JOB, state, err);

    if (op == NULL)
        return -1;
    op->id = id;
    op->attempts = attempts;
    op->t1 = next_attempt_at;
    if (last_error != NULL) {
        op->text = strdup(last_error);
        if (op->text == NULL)
            return drop_last(ws, err);
    }
    return 0;
}

int storage_wset_delete_job(struct storage_wset *ws, uint64_t id, struct error *err)
{
    struct ws_op *op = push(ws, WS_DEL_JOB, err);

    if (op == NULL)
        return -1;
    op->id = id;
    return 0;
}

int storage_wset_meta_put(struct storage_wset *ws, const char *key, const void *val, size_t len,
                          struct error *err)
{
    struct ws_op *op = push_key(ws, WS_META_PUT, key, err);

    if (op == NULL)
        return -1;
    op->text = malloc(len > 0 ? len : 1);
    if (op->text == NULL)
        return drop_last(ws, err);
    if (len > 0)
        memcpy(op->text, val, len);
    op->len = len;
    return 0;
}

int storage_wset_gc(struct storage_wset *ws, int64_t now, int64_t silence_retention,
                    int64_t audit_retention, struct error *err)
{
    struct ws_op *op = push(ws, WS_GC, err);

    if (op == NULL)
        return -1;
    op->t1 = now;
    op->t2 = silence_retention;
    op->t3 = audit_retention;
    return 0;
}

static int write_op(struct storage *st, const struct ws_op *op, struct error *err)
{
    switch (op->kind) {
    case WS_PUT_ALERT_IN:
        return storage_put_alert_text_in(st, op->id, op->t1, op->text,
                                         (const char *const *)op->keys, op->n_keys, err);
    case WS_DEL_ALERT:
        return storage_delete_alert(st, op->id, err);
    case WS_PUT_MEMBER:
        return storage_put_member(st, op->key, op->id, err);
    case WS_DEL_MEMBER:
        return storage_delete_member(st, op->key, op->id, err);
    case WS_PUT_SILENCE:
        return storage_put_silence(st, &op->u.sil, err);
    case WS_DEL_SILENCE:
        return storage_delete_silence(st, op->key, err);
    case WS_PUT_GROUP_HEAD: {
        struct group_view gv;

        memset(&gv, 0, sizeof(gv));
        gv.key = op->key;
        gv.route = op->u.group.route;
        gv.labels = &op->u.group.labels;
        gv.next_flush = op->u.group.next_flush;
        gv.has_flushed = op->u.group.has_flushed;
        gv.incident_id = op->u.group.incident_id;
        return storage_put_group_head(st, &gv, err);
    }
    case WS_DEL_GROUP_HEAD:
        return storage_delete_group_head(st, op->key, err);
    case WS_PUT_NFLOG:
        return storage_put_nflog(st, &op->u.nf, err);
    case WS_DEL_NFLOG:
        return storage_delete_nflog(st, op->key, err);
    case WS_PUT_INCIDENT:
        return storage_put_incident(st, op->u.inc, err);
    case WS_DEL_INCIDENT:
        return storage_delete_incident(st, op->id, err);
    case WS_PUT_JOB:
        return storage_put_job(st, op->u.job, err);
    case WS_UPD_JOB:
        return storage_update_job(st, op->id, op->key, op->attempts, op->t1, op->text, err);
    case WS_DEL_JOB:
        return storage_delete_job(st, op->id, err);
    case WS_META_PUT:
        return storage_meta_put(st, op->key, op->text, op->len, err);
    case WS_GC:
        if (storage_gc(st, op->t1, op->t2, err) < 0)
            return -1;
        return audit_gc(st, op->t1, op->t3, err) < 0 ? -1 : 0;
    }
    return 0;
}

int storage_wset_write(struct storage *st, const struct storage_wset *ws, struct error *err)
{
    for (size_t i = 0; ws != NULL && i < ws->n; i++) {
        if (write_op(st, &ws->v[i], err) < 0)
            return -1;
    }
    return 0;
}

int storage_wset_apply(struct storage *st, const struct storage_wset *ws, struct error *err)
{
    if (storage_begin(st, err) < 0)
        return -1;
    if (storage_wset_write(st, ws, err) < 0) {
        storage_rollback(st);
        return -1;
    }
    return storage_commit(st, err);
}
