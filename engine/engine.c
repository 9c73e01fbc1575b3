/*
 * engine.c - the engine thread and its storage thread (see engine.h for the
 * contract).
 *
 * The engine thread owns the router and the config. HTTP threads and the
 * delivery thread talk to it only through the request queue (mutex + condvar).
 * It takes everything queued as one batch and pipelines it with a second
 * thread, the storage thread, which owns the SQLite handle while the engine
 * runs:
 *
 *   engine thread                          storage thread
 *   1. apply every change of batch N+1 to  1. BEGIN; write batch N's write set
 *      the router, in order, with one         (alerts, silences, groups, nflog,
 *      now = clock_now_ms(); run due          incidents, outbox rows, job
 *      timers;                                updates, GC); COMMIT;
 *   2. record what the router's change     2. on success hand batch N's new
 *      log names into a write set             jobs to the delivery thread and
 *      (storage/wset.c: owned copies,         wake its callers (done = true);
 *      never pointers into the router);       on failure mark N failed and
 *   3. while the storage thread is still      every batch after it too, unwritten,
 *      busy with N, take what arrives         and wake the engine thread.
 *      into the queue and apply and record
 *      it as part of N+1 (absorb(), at
 *      most UNIT_MAX_REQS requests or
 *      UNIT_MAX_OPS writes);
 *   4. record the new jobs (outbox), build
 *      their delivery items, answer the
 *      batch's queries and hand N+1 (a
 *      `struct unit`) over.
 *
 * So batch N+1 is applied in memory while batch N commits, and it holds
 * everything that arrived during that commit: commits stay as large as
 * without the pipeline. A unit of fewer than INLINE_OPS writes that finds the
 * storage thread idle is written by the engine thread itself, with the same
 * code (write_and_finish), as before the pipeline: tiny batches (alerts
 * posted one by one) would pay two thread wake-ups for nothing. When a commit
 * fails, the engine thread waits until the storage thread is idle (drained),
 * answers every failed batch's changes with -1 (HTTP 503), keeps their
 * delivery reports for a retry, rebuilds the router from the database (so
 * memory never holds what the disk does not) and answers their queries again
 * from the rebuilt state (recover()).
 *
 * Invariants:
 *   - a change's caller is woken (done = true, rc) only after the transaction
 *     holding its changes committed, or failed; units complete in hand-over
 *     order, so callers are answered in batch order;
 *   - a new job goes to the delivery thread only after its outbox row
 *     committed;
 *   - a query is answered with the state after its batch was applied, and
 *     released only when that batch (and so every one before it) committed;
 *     if one of them fails it is answered again from the rebuilt router, so
 *     no answer shows a change that did not commit;
 *   - only the engine thread touches e->r and e->cfg; the storage thread
 *     touches e->st and the units handed to it; the engine thread uses e->st
 *     itself (start-up load, rebuild, a small unit written inline,
 *     engine_test_storage) only when the storage thread is drained
 *     (s_pending == 0, and only the engine thread hands it units);
 *   - at most PIPE_DEPTH units are handed and not done, so memory stays
 *     bounded under load; engine_stop drains both threads and joins them;
 *   - configs replaced by a reload are kept until engine_free, because other
 *     threads may still hold pointers into them (the HTTP server read its
 *     limits from the first one; a write set's group heads point at routes).
 *
 * Between batches the engine thread sleeps until the router's next wake-up,
 * the next request, a failure report, or at most a second.
 */
#include "engine/engine.h"

#include "config/config.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/jsonutil.h"
#include "core/labels.h"
#include "core/metrics.h"
#include "core/log.h"
#include "core/testable.h"
#include "core/timefmt.h"
#include "core/token.h"
#include "notifiers/delivery.h"
#include "notifiers/notifier.h"
#include "router/router.h"
#include "storage/audit.h"
#include "storage/storage.h"
#include "templates/context.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MAX_SLEEP_MS       1000
#define BROKEN_RETRY_MS    1000
#define STORAGE_GC_EVERY   ((int64_t)3600 * 1000)
#define DEFAULT_SIL_RETAIN ((int64_t)120 * 3600 * 1000)
/* Units handed to the storage thread and not yet done: one committing while
 * the engine thread applies the next batch. */
#define PIPE_DEPTH 1
/* Requests the engine thread gathers into one unit while the storage thread
 * is busy (absorb()): bounds a unit's memory. */
#define UNIT_MAX_REQS 256
/* ... and stops at this many recorded writes (an encoded alert is about 0.5
 * KiB, so a unit holds at most about 8 MiB). */
#define UNIT_MAX_OPS 16384
/* A unit with fewer writes is committed on the engine thread when the storage
 * thread is idle (hand_over). */
#define INLINE_OPS 32

#ifdef UNIT_TEST
TESTABLE int engine_fail_next_commits;
TESTABLE int engine_test_commit_delay_ms;
TESTABLE int engine_test_committing;
#endif

enum req_kind {
    REQ_ALERTS,
    REQ_SILENCE,
    REQ_EXPIRE,
    REQ_RELOAD,
    REQ_QUERY,
    REQ_RESULT,
    REQ_PROGRESS,
    REQ_ACK,       /* issue 6: ack / unack one incident */
    REQ_ACK_MATCH, /* ack every open incident matching */
    REQ_SMS_ACK    /* ack from an SMS reply, if that number was paged */
};

typedef json_t *(*query_fn)(struct engine *e, const void *arg, int64_t now);

struct ereq {
    struct ereq *next;
    enum req_kind kind;
    bool async; /* nobody waits: the engine frees it */
    bool done;
    int rc;
    int http_status;
    struct error err;
    /* REQ_ALERTS */
    struct alert *alerts;
    size_t n_alerts;
    /* REQ_SILENCE / REQ_EXPIRE */
    struct silence sil;
    char id[SILENCE_ID_LEN];
    /* REQ_RELOAD */
    struct config *cfg;
    /* REQ_QUERY */
    query_fn query;
    const void *arg;
    json_t *answer;
    /* REQ_RESULT / REQ_PROGRESS */
    uint64_t job_id;
    bool ok;
    char state[16];
    int attempts;
    int64_t next_attempt_at;
    char *last_error;
    /* REQ_ACK / REQ_ACK_MATCH / REQ_SMS_ACK (answer holds the result JSON) */
    uint64_t inc_id;
    bool unack;
    const struct ack_in *ack;
    const struct matchers *ack_m;
    const char *from;
    int result;
};

/* A batch on its way through the storage thread. */
struct unit {
    struct unit *next;
    struct storage_wset *ws;      /* NULL: nothing to write */
    struct ereq *sync;            /* callers, woken when the unit is done */
    struct ereq *async;           /* delivery reports ws writes; kept on failure */
    struct delivery_item **items; /* the new jobs' deliveries, handed over after COMMIT */
    bool *steps;                  /* items[i] is an escalation step (a metric) */
    size_t n_items;
    bool gc;          /* ws runs the hourly GC */
    struct error err; /* why it failed */
};

struct engine {
    char *storage_path;
    char *external_url;
    char *config_file;
    struct config *cfg;
    struct config **retired;
    size_t n_retired;
    struct storage *st;
    struct router *r;
    struct delivery *dl;
    struct delivery_item **startup_items; /* outbox rows loaded at start */
    size_t n_startup_items;

    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t done;
    struct ereq *head, *tail;
    struct ereq *deferred; /* engine thread only: reports of a batch that did not commit */
    pthread_t thread;
    bool thread_running;
    bool stopping; /* changes refused */
    bool exiting;  /* thread leaves once the queue is empty */
    bool stopped;
    bool ready;

    int64_t started_at;
    uint8_t *ack_secret; /* issue 6: fixed at engine_new */
    size_t ack_secret_len;
    int64_t ack_expiry;
    bool broken; /* the router must be rebuilt from storage before changes */
    int64_t next_gc;
    int64_t commit_retry_at;

    /* The storage thread; the fields below are guarded by mu. */
    pthread_t sthread;
    bool sthread_running;
    bool s_exit;                  /* the storage thread leaves once idle */
    struct unit *s_head, *s_tail; /* handed, not yet taken */
    size_t s_pending;             /* handed and not yet done */
    bool s_failing;               /* a unit failed: later ones fail unwritten */
    struct error s_first_err;     /* the failure that started it */
    struct unit *failed;          /* failed units, in order, for recover() */
    struct unit *spent;           /* written units, freed by the engine thread */
    struct unit **failed_tail;
    pthread_cond_t s_wake; /* the storage thread: a unit or exit */
    pthread_cond_t s_idle; /* s_pending went down */
};

/* ------------------------------------------------------------------ loading */

struct load_ctx {
    struct engine *e;
    struct router *r;
    bool startup;
};

static int ld_alert(void *ctx, struct alert *a, struct error *err)
{
    struct load_ctx *c = ctx;

    return router_load_alert(c->r, a, err);
}

static int ld_silence(void *ctx, struct silence *s, struct error *err)
{
    struct load_ctx *c = ctx;

    return router_load_silence(c->r, s, err);
}

static int ld_nflog(void *ctx, struct nflog_entry *en, struct error *err)
{
    struct load_ctx *c = ctx;

    return router_load_nflog(c->r, en, err);
}

static int ld_group(void *ctx, const char *key, const char *route_id, const struct labels *labels,
                    int64_t next_flush, bool has_flushed, uint64_t incident_id, const uint64_t *fps,
                    size_t n_fps, struct error *err)
{
    struct load_ctx *c = ctx;

    (void)key;
    return router_load_group(c->r, route_id, labels, next_flush, has_flushed, incident_id, fps,
                             n_fps, err);
}

static int ld_incident(void *ctx, struct incident *inc, struct error *err)
{
    struct load_ctx *c = ctx;

    return router_load_incident(c->r, inc, err);
}

static struct delivery_item *make_item(struct engine *e, const struct notify_job *job, int attempts,
                                       int64_t next_attempt_at);

static int push_startup_item(struct engine *e, struct delivery_item *it)
{
    struct delivery_item **v =
        realloc(e->startup_items, (e->n_startup_items + 1) * sizeof(*e->startup_items));

    if (v == NULL)
        return -1;
    e->startup_items = v;
    e->startup_items[e->n_startup_items++] = it;
    return 0;
}

static int ld_job(void *ctx, struct outbox_row *row, struct error *err)
{
    struct load_ctx *c = ctx;
    int rc = router_load_job(c->r, row->job, err);

    if (rc == 0 && c->startup) {
        struct delivery_item *it = make_item(c->e, row->job, row->attempts, row->next_attempt_at);

        /* A step or update made before an ack that came later is not sent. */
        if (it != NULL && it->build_error == NULL && router_job_stale(c->r, row->job)) {
            it->build_error = strdup("stale: the incident was acknowledged after this job");
            if (it->build_error == NULL) {
                delivery_item_free(it);
                it = NULL;
            }
        }

        if (it == NULL || push_startup_item(c->e, it) < 0) {
            delivery_item_free(it);
            rc = error_set(err, "out of memory");
        }
    }
    notify_job_free(row->job);
    row->job = NULL;
    return rc;
}

static const struct storage_loader loader = {ld_alert, ld_silence, ld_nflog,
                                             ld_group, ld_job,     ld_incident};

#define META_INCIDENT_SEQ "incident_seq"
#define META_ACK_SECRET   "ack_secret"

/* A new router holding what the database holds. */
static struct router *load_router(struct engine *e, bool startup, int64_t now, struct error *err)
{
    struct load_ctx c = {e, router_new(e->cfg), startup};

    void *seq = NULL;
    size_t seq_len = 0;

    if (c.r == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    /* Incident ids never repeat: the counter outlives deleted incidents. */
    if (storage_meta_get(e->st, META_INCIDENT_SEQ, &seq, &seq_len, err) < 0) {
        router_free(c.r);
        return NULL;
    }
    if (seq != NULL) {
        char num[32];

        snprintf(num, sizeof(num), "%.*s", (int)(seq_len < 31 ? seq_len : 31), (char *)seq);
        router_load_incident_seq(c.r, strtoull(num, NULL, 10));
        free(seq);
    }
    if (storage_load(e->st, &loader, &c, err) < 0 || router_load_done(c.r, now, err) < 0) {
        router_free(c.r);
        return NULL;
    }
    return c.r;
}

/* After a failed commit: replace the router by what the database holds. */
static void rebuild(struct engine *e, int64_t now)
{
    struct error err = {{0}};
    struct router *nr = load_router(e, false, now, &err);

    if (nr == NULL) {
        log_error("cannot reload state from storage; changes are refused until it works", "err",
                  err.msg, NULL);
        e->broken = true;
        e->commit_retry_at = now + BROKEN_RETRY_MS;
        return;
    }
    router_free(e->r);
    e->r = nr;
    e->broken = false;
    log_info("state reloaded from storage after a failed commit", NULL);
}

/* ------------------------------------------------------------------ delivery glue */

static struct delivery_item *make_item(struct engine *e, const struct notify_job *job, int attempts,
                                       int64_t next_attempt_at)
{
    struct delivery_item *it = calloc(1, sizeof(*it));
    const struct receiver *rcv = config_find_receiver(e->cfg, job->receiver_name);
    const struct notifier_config *nc = NULL;
    const struct notifier_ops *ops = NULL;
    struct notifier_env env = {e->cfg, e->external_url, e->ack_secret, e->ack_secret_len,
                               e->ack_expiry};
    struct error err = {{0}};
    char integ[96];

    if (it == NULL)
        return NULL;
    it->job_id = job->id;
    it->supersedes = job->supersedes;
    it->attempts = attempts;
    it->next_attempt_at = next_attempt_at;
    if (rcv != NULL && job->integration < rcv->n_configs)
        nc = &rcv->configs[job->integration];
    snprintf(integ, sizeof(integ), "%s[%zu]", nc != NULL ? notifier_kind_name(nc->kind) : "unknown",
             job->integration);
    it->receiver = strdup(job->receiver_name);
    it->integration = strdup(integ);
    it->group_key = strdup(job->group_key);
    if (it->receiver == NULL || it->integration == NULL || it->group_key == NULL)
        goto nomem;
    if (nc == NULL) {
        error_set(&err, "receiver %s (integration %zu) is no longer in the config",
                  job->receiver_name, job->integration);
    } else {
        ops = notifier_for(nc->kind);
        if (ops == NULL)
            error_set(&err, "%s notifications are not implemented yet",
                      notifier_kind_name(nc->kind));
        else if (ops->build(&env, rcv, nc, job, &it->req, &err) < 0)
            notifier_request_release(&it->req);
        else
            return it;
    }
    it->build_error = strdup(err.msg);
    if (it->build_error == NULL)
        goto nomem;
    return it;
nomem:
    delivery_item_free(it);
    return NULL;
}

static void enqueue_async(struct engine *e, struct ereq *q)
{
    pthread_mutex_lock(&e->mu);
    if (e->stopped || (e->exiting && !e->thread_running)) {
        pthread_mutex_unlock(&e->mu);
        free(q->last_error);
        free(q);
        return;
    }
    q->next = NULL;
    metrics_add(MET_ENGINE_QUEUE, NULL, NULL, 1); /* ops */
    if (e->tail != NULL)
        e->tail->next = q;
    else
        e->head = q;
    e->tail = q;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
}

static void on_result(void *ctx, uint64_t job_id, bool ok)
{
    struct ereq *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return; /* the outbox row stays; it is retried after a restart */
    q->kind = REQ_RESULT;
    q->async = true;
    q->job_id = job_id;
    q->ok = ok;
    enqueue_async(ctx, q);
}

static void on_progress(void *ctx, uint64_t job_id, const char *state, int attempts,
                        int64_t next_attempt_at, const char *last_error)
{
    struct ereq *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return;
    q->kind = REQ_PROGRESS;
    q->async = true;
    q->job_id = job_id;
    snprintf(q->state, sizeof(q->state), "%s", state);
    q->attempts = attempts;
    q->next_attempt_at = next_attempt_at;
    q->last_error = last_error != NULL ? strndup(last_error, 1024) : NULL;
    enqueue_async(ctx, q);
}

/* ------------------------------------------------------------------ one batch */

static int persist_rest(struct engine *e, struct storage_wset *ws, const struct router_changes *ch,
                        struct error *err);

static int cmp_member_fp(const void *x, const void *y)
{
    uint64_t a = (*(const struct router_member_change *const *)x)->fingerprint;
    uint64_t b = (*(const struct router_member_change *const *)y)->fingerprint;

    return a < b ? -1 : a > b ? 1 : 0;
}

#define MAX_JOINED 8 /* groups an alert joins that go with its own row write */

/* Writes a stored alert and the groups it joined in this batch: a new alert
 * and its one membership are one statement (the ingest path). by_fp holds the
 * member changes sorted by fingerprint; the ones written here are marked in
 * done (indexed like ch->members) so the member loop skips them. */
static int put_alert_joined(struct engine *e, struct storage_wset *ws, const struct alert *a,
                            const struct router_member_change *const *by_fp, size_t nm,
                            const struct router_member_change *base, bool *done, struct error *err)
{
    const char *keys[MAX_JOINED];
    size_t lo = 0, hi = nm, nk = 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (by_fp[mid]->fingerprint < a->fingerprint)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < nm && by_fp[i]->fingerprint == a->fingerprint && nk < MAX_JOINED; i++) {
        if (router_group_has_alert(e->r, by_fp[i]->group_key, a->fingerprint)) {
            keys[nk++] = by_fp[i]->group_key;
            done[by_fp[i] - base] = true;
        }
    }
    return storage_wset_put_alert_in(ws, a, keys, nk, err);
}

/* Records what the router's change log names into ws. */
static int persist_changes(struct engine *e, struct storage_wset *ws, struct error *err)
{
    const struct router_changes *ch = router_changes(e->r);
    const struct router_member_change **by_fp = NULL;
    bool *done = NULL;
    size_t nm = ch->n_members;
    int rc = -1;

    if (nm > 0) {
        by_fp = malloc(nm * sizeof(*by_fp));
        done = calloc(nm, sizeof(*done));
        if (by_fp == NULL || done == NULL) {
            error_set(err, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < nm; i++)
            by_fp[i] = &ch->members[i];
        qsort(by_fp, nm, sizeof(*by_fp), cmp_member_fp);
    }
    for (size_t i = 0; i < ch->n_alerts; i++) {
        const struct alert *a = router_get_alert(e->r, ch->alerts[i]);

        if ((a != NULL ? put_alert_joined(e, ws, a, by_fp, nm, ch->members, done, err)
                       : storage_wset_delete_alert(ws, ch->alerts[i], err)) < 0)
            goto out;
    }
    for (size_t i = 0; i < nm; i++) {
        const struct router_member_change *m = &ch->members[i];

        if (done[i])
            continue;
        if ((router_group_has_alert(e->r, m->group_key, m->fingerprint)
                 ? storage_wset_put_member(ws, m->group_key, m->fingerprint, err)
                 : storage_wset_delete_member(ws, m->group_key, m->fingerprint, err)) < 0)
            goto out;
    }
    rc = persist_rest(e, ws, ch, err);
out:
    free(by_fp);
    free(done);
    return rc;
}

/* Everything but alerts and memberships. */
static int persist_rest(struct engine *e, struct storage_wset *ws, const struct router_changes *ch,
                        struct error *err)
{
    for (size_t i = 0; i < ch->n_silences; i++) {
        const struct silence *s = router_get_silence(e->r, ch->silences[i]);

        if ((s != NULL ? storage_wset_put_silence(ws, s, err)
                       : storage_wset_delete_silence(ws, ch->silences[i], err)) < 0)
            return -1;
    }
    for (size_t i = 0; i < ch->n_groups; i++) {
        struct group_view gv;
        /* The head only: memberships were written with the alerts (see
         * persist_changes), so a batch costs what it changed, not the size of
         * the groups it touched. */
        int found = router_get_group_head(e->r, ch->groups[i], &gv);
        int rc;

        if (found < 0) {
            group_view_release(&gv);
            return error_set(err, "out of memory");
        }
        /* A dropped group's members were listed as leaving, one delete each. */
        rc = found ? storage_wset_put_group_head(ws, &gv, err)
                   : storage_wset_delete_group_head(ws, ch->groups[i], err);
        group_view_release(&gv);
        if (rc < 0)
            return -1;
    }
    for (size_t i = 0; i < ch->n_nflog; i++) {
        const struct nflog_entry *en = router_get_nflog(e->r, ch->nflog[i]);

        if ((en != NULL ? storage_wset_put_nflog(ws, en, err)
                        : storage_wset_delete_nflog(ws, ch->nflog[i], err)) < 0)
            return -1;
    }
    for (size_t i = 0; i < ch->n_incidents; i++) {
        const struct incident *inc = router_get_incident(e->r, ch->incidents[i]);

        if ((inc != NULL ? storage_wset_put_incident(ws, inc, err)
                         : storage_wset_delete_incident(ws, ch->incidents[i], err)) < 0)
            return -1;
    }
    if (ch->incident_seq) {
        char num[32];
        int n =
            snprintf(num, sizeof(num), "%llu", (unsigned long long)router_last_incident_id(e->r));

        if (storage_wset_meta_put(ws, META_INCIDENT_SEQ, num, (size_t)n, err) < 0)
            return -1;
    }
    return 0;
}

static void fill_random(uint8_t out[16])
{
    if (getrandom(out, 16, 0) != 16) {
        /* getrandom on Linux does not fail for 16 bytes once booted; be safe anyway. */
        int64_t t = clock_mono_ms() ^ clock_now_ms();

        for (int i = 0; i < 16; i++)
            out[i] = (uint8_t)((t >> ((i % 8) * 8)) ^ (uint64_t)rand());
    }
}

/* Applies one change request to the router, recording its own storage writes
 * (delivery reports) into ws. Returns -1 only when the batch must be abandoned
 * (out of memory). */
static int apply_incident(struct engine *e, struct ereq *q, int64_t now, struct job_list *jobs,
                          struct error *err);

static int apply(struct engine *e, struct ereq *q, int64_t now, struct job_list *jobs,
                 struct storage_wset *ws, struct error *err)
{
    enum silence_status ss;
    uint8_t rnd[16];

    switch (q->kind) {
    case REQ_ALERTS:
        q->rc = router_put_alerts(e->r, q->alerts, q->n_alerts, now, &q->err);
        for (size_t i = 0; i < q->n_alerts; i++)
            alert_release(&q->alerts[i]);
        free(q->alerts);
        q->alerts = NULL;
        q->n_alerts = 0;
        if (q->rc < 0)
            return error_set(err, "%s", q->err.msg);
        return 0;
    case REQ_SILENCE:
        fill_random(rnd);
        ss = router_put_silence(e->r, &q->sil, now, rnd, q->id, &q->err);
        q->http_status = (int)ss;
        q->rc = ss == SILENCE_OK ? 0 : -1;
        return 0;
    case REQ_EXPIRE:
        ss = router_expire_silence(e->r, q->id, now, &q->err);
        q->http_status = (int)ss;
        q->rc = ss == SILENCE_OK ? 0 : -1;
        return 0;
    case REQ_RELOAD:
        if (router_set_config(e->r, q->cfg, now, &q->err) < 0) {
            /* The router runs on the new config anyway (see router.h). */
            log_warn("reload: some alerts could not be regrouped", "err", q->err.msg, NULL);
        }
        {
            struct config **v = realloc(e->retired, (e->n_retired + 1) * sizeof(*v));

            if (v != NULL) {
                e->retired = v;
                e->retired[e->n_retired++] = e->cfg;
            } else {
                /* Cannot keep it: leak it rather than free it under a reader. */
                log_warn("reload: out of memory keeping the old config", NULL);
            }
        }
        e->cfg = q->cfg;
        q->cfg = NULL;
        q->rc = 0;
        return 0;
    case REQ_RESULT:
        if (router_notify_result(e->r, q->job_id, q->ok, now, err) < 0)
            return -1;
        return storage_wset_delete_job(ws, q->job_id, err);
    case REQ_PROGRESS:
        return storage_wset_update_job(ws, q->job_id, q->state, q->attempts, q->next_attempt_at,
                                       q->last_error, err);
    case REQ_ACK:
    case REQ_ACK_MATCH:
    case REQ_SMS_ACK:
        return apply_incident(e, q, now, jobs, err);
    case REQ_QUERY:
        return 0;
    }
    return 0;
}

static bool is_change(const struct ereq *q)
{
    return q->kind != REQ_QUERY;
}

static void fail_changes(struct ereq *batch, const struct error *why)
{
    for (struct ereq *q = batch; q != NULL; q = q->next) {
        if (!is_change(q) || q->async || q->kind == REQ_RELOAD)
            continue;
        if (q->kind == REQ_ALERTS) {
            for (size_t i = 0; i < q->n_alerts; i++)
                alert_release(&q->alerts[i]);
            free(q->alerts);
            q->alerts = NULL;
            q->n_alerts = 0;
        }
        if (q->kind == REQ_SILENCE)
            silence_release(&q->sil);
        q->rc = -1;
        q->http_status = 503;
        error_set(&q->err, "storage unavailable: %s", why->msg);
    }
}

static void free_async(struct ereq *list)
{
    struct ereq *q, *next;

    for (q = list; q != NULL; q = next) {
        next = q->next;
        free(q->last_error);
        free(q);
    }
}

/* Keeps delivery results of a batch that did not commit for the next try, so
 * that a failed commit does not lose them. */
static void defer_async(struct engine *e, struct ereq *async)
{
    struct ereq **tail = &e->deferred;

    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = async;
}

/* ------------------------------------------------------------------ the pipeline */

/* Frees what the unit owns (not its requests). NULL ok. */
static void unit_free(struct unit *u)
{
    if (u == NULL)
        return;
    storage_wset_free(u->ws);
    for (size_t i = 0; i < u->n_items; i++)
        delivery_item_free(u->items[i]);
    free(u->items);
    free(u->steps);
    free(u);
}

static void free_units(struct unit *list)
{
    struct unit *u, *next;

    for (u = list; u != NULL; u = next) {
        next = u->next;
        unit_free(u);
    }
}

/* Wakes every caller of list. Call with e->mu held; q may vanish once done. */
static void wake_callers(struct ereq *list)
{
    for (struct ereq *q = list; q != NULL;) {
        struct ereq *next = q->next;

        q->done = true;
        q = next;
    }
}

/* Answers the queries of sync from the router as it is now. */
static void answer_queries(struct engine *e, struct ereq *sync, int64_t now)
{
    for (struct ereq *q = sync; q != NULL; q = q->next) {
        if (q->kind == REQ_QUERY) {
            json_decref(q->answer);
            q->answer = q->query(e, q->arg, now);
        }
    }
}

/* Answers the queries of sync and wakes every caller in it, now. */
static void answer_now(struct engine *e, struct ereq *sync, int64_t now)
{
    answer_queries(e, sync, now);
    pthread_mutex_lock(&e->mu);
    wake_callers(sync);
    pthread_cond_broadcast(&e->done);
    pthread_mutex_unlock(&e->mu);
}

/* Storage thread: BEGIN, the unit's writes, COMMIT. */
static int write_unit(struct engine *e, struct unit *u, struct error *err)
{
    int64_t t0;
    int rc;

    if (storage_begin(e->st, err) < 0)
        return -1;
    if (storage_wset_write(e->st, u->ws, err) < 0) {
        storage_rollback(e->st);
        return -1;
    }
#ifdef UNIT_TEST
    if (engine_test_commit_delay_ms > 0) {
        struct timespec ts = {engine_test_commit_delay_ms / 1000,
                              (long)(engine_test_commit_delay_ms % 1000) * 1000000L};

        __atomic_store_n(&engine_test_committing, 1, __ATOMIC_SEQ_CST);
        nanosleep(&ts, NULL);
        __atomic_store_n(&engine_test_committing, 0, __ATOMIC_SEQ_CST);
    }
    if (engine_fail_next_commits > 0) {
        engine_fail_next_commits--;
        storage_rollback(e->st);
        return error_set(err, "injected commit failure");
    }
#endif
    t0 = metrics_now_us(); /* ops: commit latency */
    rc = storage_commit(e->st, err);
    metrics_observe(MET_SQLITE_COMMIT, NULL, NULL, (double)(metrics_now_us() - t0) / 1e6);
    return rc;
}

/*
 * Writes u (unless failing: then u fails unwritten, after an earlier one) and
 * finishes it: on success its jobs go to delivery and its callers are woken;
 * on failure it joins e->failed for recover(). Then s_pending goes down. Runs
 * on the storage thread, or on the engine thread for a small unit while the
 * storage thread is idle (hand_over). Called without e->mu; u was counted in
 * s_pending.
 */
static void write_and_finish(struct engine *e, struct unit *u, bool failing)
{
    int rc = 0;

    if (failing) {
        pthread_mutex_lock(&e->mu);
        rc = error_set(&u->err, "an earlier batch did not commit (%s)", e->s_first_err.msg);
        pthread_mutex_unlock(&e->mu);
    } else if (u->ws != NULL) {
        rc = write_unit(e, u, &u->err);
        if (rc < 0)
            log_error("storage commit failed; the batch is rolled back", "err", u->err.msg, NULL);
    }
    if (rc == 0) {
        for (size_t i = 0; i < u->n_items; i++) {
            if (u->items[i] == NULL)
                continue;
            if (u->steps[i]) /* ops */
                metrics_add(MET_ESCALATION_STEPS, u->items[i]->receiver, NULL, 1);
            delivery_submit(e->dl, u->items[i]);
            u->items[i] = NULL;
        }
        free_async(u->async);
        u->async = NULL;
    }

    pthread_mutex_lock(&e->mu);
    if (rc == 0) {
        wake_callers(u->sync);
        pthread_cond_broadcast(&e->done);
        /* Freed where it was allocated (glibc's arenas like that better). */
        u->next = e->spent;
        e->spent = u;
    } else {
        if (!e->s_failing) {
            e->s_failing = true;
            e->s_first_err = u->err;
        }
        u->next = NULL;
        *e->failed_tail = u;
        e->failed_tail = &u->next;
    }
    e->s_pending--;
    pthread_cond_broadcast(&e->s_idle);
    pthread_cond_signal(&e->wake); /* absorb() and a failure's recover() wait for this */
    pthread_mutex_unlock(&e->mu);
}

/*
 * The storage thread: takes handed units in order and writes each in one
 * transaction (write_and_finish). After a failure, every unit until the
 * engine thread has recovered fails unwritten.
 */
static void *storage_main(void *arg)
{
    struct engine *e = arg;

    pthread_mutex_lock(&e->mu);
    for (;;) {
        struct unit *u;
        bool failing;

        while (e->s_head == NULL && !e->s_exit)
            pthread_cond_wait(&e->s_wake, &e->mu);
        if (e->s_head == NULL)
            break;
        u = e->s_head;
        e->s_head = u->next;
        if (e->s_head == NULL)
            e->s_tail = NULL;
        u->next = NULL;
        failing = e->s_failing;
        pthread_mutex_unlock(&e->mu);
        write_and_finish(e, u, failing);
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* Engine thread: hands u to the storage thread, first waiting while
 * PIPE_DEPTH units are not done. A unit of fewer than INLINE_OPS writes that
 * finds the storage thread idle is written right here instead: a hand-over
 * (two thread wake-ups) costs more than the overlap it would buy, and while
 * this thread commits, requests gather into the next batch as they did
 * before the pipeline (batches of 1 alert depend on that). */
static void hand_over(struct engine *e, struct unit *u)
{
    struct unit *spent;

    u->next = NULL;
    pthread_mutex_lock(&e->mu);
    if (storage_wset_size(u->ws) < INLINE_OPS && e->s_pending == 0 && !e->s_failing) {
        e->s_pending++; /* the storage thread is idle and only gets units from us */
        spent = e->spent;
        e->spent = NULL;
        pthread_mutex_unlock(&e->mu);
        free_units(spent);
        write_and_finish(e, u, false);
        return;
    }
    while (e->s_pending >= PIPE_DEPTH)
        pthread_cond_wait(&e->s_idle, &e->mu);
    e->s_pending++;
    if (e->s_tail != NULL)
        e->s_tail->next = u;
    else
        e->s_head = u;
    e->s_tail = u;
    pthread_cond_signal(&e->s_wake);
    spent = e->spent;
    e->spent = NULL;
    pthread_mutex_unlock(&e->mu);
    free_units(spent);
}

/* Waits until the storage thread has finished every handed unit. Call with
 * e->mu held. */
static void drain_locked(struct engine *e)
{
    while (e->s_pending > 0)
        pthread_cond_wait(&e->s_idle, &e->mu);
}

/*
 * Engine thread: after a failure (or to wait for the storage thread). Drains
 * the storage thread, then answers every failed unit's changes with -1 (503),
 * keeps their delivery reports for the next try, rebuilds the router from the
 * database and answers their queries from it. Without failures it only drains.
 */
static void recover(struct engine *e)
{
    struct unit *list, *u;
    int64_t now;

    pthread_mutex_lock(&e->mu);
    drain_locked(e);
    list = e->failed;
    e->failed = NULL;
    e->failed_tail = &e->failed;
    e->s_failing = false;
    pthread_mutex_unlock(&e->mu);
    if (list == NULL)
        return;
    now = clock_now_ms();
    for (u = list; u != NULL; u = u->next) {
        fail_changes(u->sync, &u->err);
        defer_async(e, u->async);
        u->async = NULL;
        if (u->gc)
            e->next_gc = now; /* the GC did not commit: again at the next batch */
    }
    e->commit_retry_at = now + BROKEN_RETRY_MS;
    rebuild(e, now);
    for (u = list; u != NULL; u = u->next)
        answer_queries(e, u->sync, now);
    pthread_mutex_lock(&e->mu);
    for (u = list; u != NULL; u = u->next)
        wake_callers(u->sync);
    pthread_cond_broadcast(&e->done);
    pthread_mutex_unlock(&e->mu);
    free_units(list);
}

/* Engine thread: u cannot be written (out of memory while recording it): it
 * fails like a failed commit, after the units before it. */
static void fail_unit(struct engine *e, struct unit *u, const struct error *why)
{
    log_error("batch abandoned; state is reloaded from storage", "err", why->msg, NULL);
    u->err = *why;
    u->next = NULL;
    pthread_mutex_lock(&e->mu);
    if (!e->s_failing) {
        e->s_failing = true;
        e->s_first_err = *why;
    }
    *e->failed_tail = u;
    e->failed_tail = &u->next;
    pthread_mutex_unlock(&e->mu);
    recover(e);
}

/* The new jobs' delivery items, built on the engine thread (they read the config). */
static int build_items(struct engine *e, struct unit *u, const struct job_list *jobs,
                       struct error *err)
{
    if (jobs->n == 0)
        return 0;
    u->items = calloc(jobs->n, sizeof(*u->items));
    u->steps = calloc(jobs->n, sizeof(*u->steps));
    if (u->items == NULL || u->steps == NULL)
        return error_set(err, "out of memory");
    u->n_items = jobs->n;
    for (size_t i = 0; i < jobs->n; i++) {
        u->items[i] = make_item(e, jobs->v[i], 0, 0);
        u->steps[i] = jobs->v[i]->incident_notice == NOTICE_STEP;
        if (u->items[i] == NULL)
            log_error("out of memory: notification left in the outbox until restart", NULL);
    }
    return 0;
}

/* Splits a taken queue into callers' requests and delivery reports, appending
 * them (in order) at *st and *at; returns how many there were. */
static size_t split_queue(struct ereq *batch, struct ereq ***st, struct ereq ***at)
{
    struct ereq *q, *next;
    size_t n = 0;

    for (q = batch; q != NULL; q = next, n++) {
        next = q->next;
        q->next = NULL;
        if (q->async) {
            **at = q;
            *at = &q->next;
        } else {
            **st = q;
            *st = &q->next;
        }
    }
    return n;
}

/* Applies the changes of sync and the reports of async to the router with one
 * now, recording their own writes into u->ws, then runs due timers. */
static int apply_part(struct engine *e, struct unit *u, struct ereq *sync, struct ereq *async,
                      int64_t now, struct job_list *jobs, struct error *err)
{
    struct ereq *q;

    for (q = sync; q != NULL; q = q->next) {
        if (is_change(q) && apply(e, q, now, jobs, u->ws, err) < 0)
            return -1;
    }
    for (q = async; q != NULL; q = q->next) {
        if (apply(e, q, now, jobs, u->ws, err) < 0)
            return -1;
    }
    if (router_next_wakeup(e->r) <= now && router_tick(e->r, now, jobs, err) < 0)
        return -1;
    return 0;
}

/*
 * While the storage thread is still writing the unit before, takes what
 * arrives into the queue (up to UNIT_MAX_REQS requests or UNIT_MAX_OPS
 * recorded writes in all), so the unit
 * handed next holds everything that came during that commit: batches stay as
 * large as without the pipeline. Returns true with *sync / *async set when it
 * took requests, false when the storage thread is ready for u (or failing, or
 * u is full).
 */
static bool absorb(struct engine *e, size_t n_reqs, size_t n_ops, struct ereq **sync,
                   struct ereq **async)
{
    struct ereq *batch = NULL, **st = sync, **at = async;

    *sync = *async = NULL;
    pthread_mutex_lock(&e->mu);
    while (e->s_pending >= PIPE_DEPTH && !e->s_failing && n_reqs < UNIT_MAX_REQS &&
           n_ops < UNIT_MAX_OPS) {
        if (e->head != NULL) {
            batch = e->head;
            e->head = e->tail = NULL;
            metrics_set(MET_ENGINE_QUEUE, NULL, NULL, 0); /* ops */
            break;
        }
        pthread_cond_wait(&e->wake, &e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    if (batch == NULL)
        return false;
    split_queue(batch, &st, &at);
    return true;
}

/*
 * One batch: `sync` are the callers' requests in arrival order (changes and
 * queries), `async` the delivery thread's reports. Applies it (and what
 * arrives while the storage thread is busy, see absorb()), records its writes
 * and hands it to the storage thread, which answers the callers once it
 * committed; answers at once what needs no writing when nothing is in
 * flight. Async reports are freed or deferred.
 */
static void run_batch(struct engine *e, struct ereq *sync, struct ereq *async)
{
    int64_t now = clock_now_ms();
    struct job_list jobs = JOB_LIST_INIT;
    struct error err = {{0}};
    bool has_change = async != NULL;
    struct ereq **sync_tail, **async_tail;
    size_t n_reqs = 0;
    struct unit *u;
    struct ereq *q;

    for (q = sync; q != NULL; q = q->next)
        has_change |= is_change(q);
    if (e->broken && now >= e->commit_retry_at) {
        recover(e); /* drains: the rebuild reads the database */
        rebuild(e, now);
    }
    u = calloc(1, sizeof(*u));
    if (e->broken || u == NULL) {
        free(u);
        error_set(&err, e->broken ? "state could not be reloaded from storage" : "out of memory");
        fail_changes(sync, &err);
        defer_async(e, async);
        answer_now(e, sync, now);
        return;
    }
    u->sync = sync;
    u->async = async;
    if (!has_change && (router_next_wakeup(e->r) > now || now < e->commit_retry_at) &&
        now < e->next_gc) {
        bool idle;

        /* Queries only: at once, unless a batch they could see is in flight. */
        answer_queries(e, sync, now);
        pthread_mutex_lock(&e->mu);
        idle = e->s_pending == 0 && !e->s_failing;
        if (idle) {
            wake_callers(sync);
            pthread_cond_broadcast(&e->done);
        }
        pthread_mutex_unlock(&e->mu);
        if (idle)
            unit_free(u);
        else
            hand_over(e, u);
        return;
    }
    u->ws = storage_wset_new();
    if (u->ws == NULL) {
        error_set(&err, "out of memory");
        goto failed;
    }
    sync_tail = &u->sync;
    async_tail = &u->async;
    for (;;) {
        while (*sync_tail != NULL) {
            sync_tail = &(*sync_tail)->next;
            n_reqs++;
        }
        while (*async_tail != NULL) {
            async_tail = &(*async_tail)->next;
            n_reqs++;
        }
        /* Recorded part by part, so that only the last part's recording is
         * left to do once the storage thread is ready for u. */
        if (apply_part(e, u, sync, async, now, &jobs, &err) < 0 ||
            persist_changes(e, u->ws, &err) < 0)
            goto failed;
        router_changes_clear(e->r);
        if (!absorb(e, n_reqs, storage_wset_size(u->ws), &sync, &async))
            break;
        *sync_tail = sync;
        *async_tail = async;
        now = clock_now_ms();
    }
    for (size_t i = 0; i < jobs.n; i++) {
        if (storage_wset_put_job(u->ws, jobs.v[i], &err) < 0)
            goto failed;
    }
    if (now >= e->next_gc) {
        const struct config *c = e->cfg;
        int64_t ret = c->retention.silences > 0 ? c->retention.silences : DEFAULT_SIL_RETAIN;

        /* faults: audit retention runs in the same transaction */
        if (storage_wset_gc(u->ws, now, ret, c->retention.audit, &err) < 0)
            goto failed;
        u->gc = true;
        e->next_gc = now + STORAGE_GC_EVERY;
    }
    if (build_items(e, u, &jobs, &err) < 0)
        goto failed;
    job_list_release(&jobs);
    e->commit_retry_at = 0;
    if (storage_wset_size(u->ws) == 0) {
        storage_wset_free(u->ws);
        u->ws = NULL;
    }
    answer_queries(e, u->sync, now);
    hand_over(e, u);
    return;

failed:
    job_list_release(&jobs);
    fail_unit(e, u, &err);
}

static void *engine_main(void *arg)
{
    struct engine *e = arg;

    for (;;) {
        struct ereq *batch, *sync = NULL, *async = NULL, **st = &sync, **at = &async;
        int64_t now = clock_now_ms();
        int64_t wake;

        if (e->commit_retry_at > now) {
            wake = e->commit_retry_at;
        } else {
            wake = router_next_wakeup(e->r);
            if (e->next_gc < wake)
                wake = e->next_gc;
            if (e->deferred != NULL)
                wake = now;
        }
        pthread_mutex_lock(&e->mu);
        if (e->head == NULL && !e->exiting && !e->s_failing && wake > now) {
            int64_t sleep_ms = wake - now < MAX_SLEEP_MS ? wake - now : MAX_SLEEP_MS;
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += sleep_ms / 1000;
            ts.tv_nsec += (long)(sleep_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&e->wake, &e->mu, &ts);
        }
        if (e->s_failing) {
            pthread_mutex_unlock(&e->mu);
            recover(e);
            continue;
        }
        if (e->head == NULL && e->exiting) {
            if (e->s_pending > 0) {
                /* Let the storage thread finish (and answer) what it holds. */
                pthread_mutex_unlock(&e->mu);
                recover(e);
                continue;
            }
            e->thread_running = false;
            pthread_mutex_unlock(&e->mu);
            break;
        }
        batch = e->head;
        e->head = e->tail = NULL;
        metrics_set(MET_ENGINE_QUEUE, NULL, NULL, 0); /* ops */
        pthread_mutex_unlock(&e->mu);
        if (e->deferred != NULL && clock_now_ms() >= e->commit_retry_at) {
            *at = e->deferred;
            while (*at != NULL)
                at = &(*at)->next;
            e->deferred = NULL;
        }
        split_queue(batch, &st, &at);
        run_batch(e, sync, async);
    }
    return NULL;
}

/* Enqueues q and waits for it. -1 when the engine does not run. */
static int call(struct engine *e, struct ereq *q, bool is_change_req)
{
    pthread_mutex_lock(&e->mu);
    if (!e->thread_running || e->exiting || (is_change_req && e->stopping)) {
        pthread_mutex_unlock(&e->mu);
        q->http_status = 503;
        return error_set(&q->err, "amrouter is shutting down");
    }
    q->next = NULL;
    metrics_add(MET_ENGINE_QUEUE, NULL, NULL, 1); /* ops */
    if (e->tail != NULL)
        e->tail->next = q;
    else
        e->head = q;
    e->tail = q;
    pthread_cond_signal(&e->wake);
    while (!q->done)
        pthread_cond_wait(&e->done, &e->mu);
    pthread_mutex_unlock(&e->mu);
    return 0;
}

/* ------------------------------------------------------------------ lifecycle */

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

/* The ack-link key: from the config, else from SQLite, else made now and stored. */
static int setup_ack_secret(struct engine *e, struct error *err)
{
    const char *cfg_secret = e->cfg->ack.secret.value;
    void *val = NULL;
    size_t len = 0;

    e->ack_expiry =
        e->cfg->ack.link_expiry > 0 ? e->cfg->ack.link_expiry : (int64_t)7 * 24 * 3600 * 1000;
    if (cfg_secret != NULL && cfg_secret[0] != '\0') {
        e->ack_secret = (uint8_t *)strdup(cfg_secret);
        e->ack_secret_len = strlen(cfg_secret);
        return e->ack_secret == NULL ? error_set(err, "out of memory") : 0;
    }
    if (storage_meta_get(e->st, META_ACK_SECRET, &val, &len, err) < 0)
        return -1;
    if (val != NULL && len >= 16) {
        e->ack_secret = val;
        e->ack_secret_len = len;
        return 0;
    }
    free(val);
    e->ack_secret = malloc(TOKEN_SECRET_LEN);
    if (e->ack_secret == NULL)
        return error_set(err, "out of memory");
    e->ack_secret_len = TOKEN_SECRET_LEN;
    if (token_generate_secret(e->ack_secret) < 0)
        return error_set(err, "cannot generate the ack link secret");
    if (storage_meta_put(e->st, META_ACK_SECRET, e->ack_secret, e->ack_secret_len, err) < 0)
        return error_prefix(err, "storing the generated ack link secret");
    log_info("generated the ack link secret and stored it in the database", NULL);
    return 0;
}

struct engine *engine_new(const struct engine_opts *opts, struct config *cfg, struct error *err)
{
    struct engine *e = calloc(1, sizeof(*e));
    static const struct delivery_callbacks cbs = {on_result, on_progress};
    int64_t now = clock_now_ms();

    if (e == NULL) {
        config_free(cfg);
        error_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->wake, NULL);
    pthread_cond_init(&e->done, NULL);
    pthread_cond_init(&e->s_wake, NULL);
    pthread_cond_init(&e->s_idle, NULL);
    e->failed_tail = &e->failed;
    e->cfg = cfg;
    e->storage_path = dup_or_empty(opts->storage_path);
    e->external_url = dup_or_empty(opts->external_url);
    e->config_file = opts->config_file != NULL ? strdup(opts->config_file) : NULL;
    if (e->storage_path == NULL || e->external_url == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    e->st = storage_open(e->storage_path[0] ? e->storage_path : "data", NULL, err);
    if (e->st == NULL)
        goto fail;
    if (setup_ack_secret(e, err) < 0)
        goto fail;
    e->r = load_router(e, true, now, err);
    if (e->r == NULL) {
        error_prefix(err, "loading state from %s", e->storage_path);
        goto fail;
    }
    e->dl = delivery_new(NULL, &cbs, e, err);
    if (e->dl == NULL)
        goto fail;
    e->started_at = now;
    e->next_gc = now + 60 * 1000;
    {
        char n[32];

        snprintf(n, sizeof(n), "%zu", router_alert_count(e->r));
        log_info("state loaded", "storage", e->storage_path, "alerts", n, NULL);
    }
    return e;
fail:
    engine_free(e);
    return NULL;
}

/* Joins the storage thread (the engine thread has drained it). */
static void stop_storage_thread(struct engine *e)
{
    bool join;

    pthread_mutex_lock(&e->mu);
    e->s_exit = true;
    join = e->sthread_running;
    e->sthread_running = false;
    pthread_cond_signal(&e->s_wake);
    pthread_mutex_unlock(&e->mu);
    if (join)
        pthread_join(e->sthread, NULL);
}

int engine_start(struct engine *e, struct error *err)
{
    if (delivery_start(e->dl, err) < 0)
        return -1;
    for (size_t i = 0; i < e->n_startup_items; i++)
        delivery_submit(e->dl, e->startup_items[i]);
    free(e->startup_items);
    e->startup_items = NULL;
    e->n_startup_items = 0;
    if (pthread_create(&e->sthread, NULL, storage_main, e) != 0)
        return error_set(err, "cannot start the storage thread");
    (void)pthread_setname_np(e->sthread, "amr-storage"); /* ops: top -H */
    pthread_mutex_lock(&e->mu);
    e->sthread_running = true;
    e->thread_running = true;
    pthread_mutex_unlock(&e->mu);
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        pthread_mutex_lock(&e->mu);
        e->thread_running = false;
        pthread_mutex_unlock(&e->mu);
        stop_storage_thread(e);
        return error_set(err, "cannot start the engine thread");
    }
    (void)pthread_setname_np(e->thread, "amr-engine");
    pthread_mutex_lock(&e->mu);
    e->ready = true;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

void engine_stop(struct engine *e, int64_t timeout_ms)
{
    bool join;

    if (e == NULL)
        return;
    pthread_mutex_lock(&e->mu);
    if (e->stopped) {
        pthread_mutex_unlock(&e->mu);
        return;
    }
    e->stopping = true;
    e->ready = false;
    pthread_mutex_unlock(&e->mu);
    /* Deliveries in flight finish first; their results go through the queue. */
    delivery_stop(e->dl, timeout_ms);
    pthread_mutex_lock(&e->mu);
    e->exiting = true;
    join = e->thread_running;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
    if (join)
        pthread_join(e->thread, NULL);
    /* The engine thread drained the storage thread before it left. */
    stop_storage_thread(e);
    pthread_mutex_lock(&e->mu);
    e->stopped = true;
    e->thread_running = false;
    pthread_mutex_unlock(&e->mu);
}

void engine_free(struct engine *e)
{
    struct ereq *q, *next;

    if (e == NULL)
        return;
    engine_stop(e, 0);
    delivery_free(e->dl);
    for (q = e->head; q != NULL; q = next) {
        next = q->next;
        if (q->async) {
            free(q->last_error);
            free(q);
        }
    }
    free_async(e->deferred);
    free_units(e->failed);
    free_units(e->spent);
    for (size_t i = 0; i < e->n_startup_items; i++)
        delivery_item_free(e->startup_items[i]);
    free(e->startup_items);
    router_free(e->r);
    storage_close(e->st);
    config_free(e->cfg);
    for (size_t i = 0; i < e->n_retired; i++)
        config_free(e->retired[i]);
    free(e->retired);
    if (e->ack_secret != NULL)
        memset(e->ack_secret, 0, e->ack_secret_len);
    free(e->ack_secret);
    free(e->storage_path);
    free(e->external_url);
    free(e->config_file);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->done);
    pthread_cond_destroy(&e->s_wake);
    pthread_cond_destroy(&e->s_idle);
    free(e);
}

bool engine_ready(struct engine *e)
{
    bool r;

    pthread_mutex_lock(&e->mu);
    r = e->ready;
    pthread_mutex_unlock(&e->mu);
    return r;
}

/* ------------------------------------------------------------------ changes */

int engine_post_alerts(struct engine *e, struct alert *alerts, size_t n, struct error *err)
{
    struct ereq q;

    memset(&q, 0, sizeof(q));
    q.kind = REQ_ALERTS;
    q.alerts = alerts;
    q.n_alerts = n;
    if (call(e, &q, true) < 0 || q.rc < 0) {
        /* Not applied: the alerts are still ours to free. */
        for (size_t i = 0; i < q.n_alerts; i++)
            alert_release(&q.alerts[i]);
        free(q.alerts);
        error_set(err, "%s", q.err.msg);
        return -1;
    }
    return 0;
}

int engine_put_silence(struct engine *e, struct silence_in *in, char id_out[37], int *http_status,
                       struct error *err)
{
    struct ereq q;

    memset(&q, 0, sizeof(q));
    q.kind = REQ_SILENCE;
    silence_init(&q.sil);
    if (in->id != NULL)
        snprintf(q.sil.id, sizeof(q.sil.id), "%s", in->id);
    q.sil.matchers = in->matchers;
    matchers_init(&in->matchers);
    q.sil.starts_at = in->starts_at;
    q.sil.ends_at = in->ends_at;
    q.sil.created_by = in->created_by != NULL ? in->created_by : strdup("");
    q.sil.comment = in->comment != NULL ? in->comment : strdup("");
    in->created_by = NULL;
    in->comment = NULL;
    free(in->id);
    in->id = NULL;
    if (call(e, &q, true) < 0 || q.rc < 0) {
        silence_release(&q.sil);
        *http_status = q.http_status != 0 ? q.http_status : 500;
        error_set(err, "%s", q.err.msg);
        return -1;
    }
    *http_status = 200;
    memcpy(id_out, q.id, SILENCE_ID_LEN);
    return 0;
}

int engine_expire_silence(struct engine *e, const char *id, int *http_status, struct error *err)
{
    struct ereq q;

    memset(&q, 0, sizeof(q));
    q.kind = REQ_EXPIRE;
    snprintf(q.id, sizeof(q.id), "%s", id);
    if (call(e, &q, true) < 0 || q.rc < 0) {
        *http_status = q.http_status != 0 ? q.http_status : 500;
        error_set(err, "%s", q.err.msg);
        return -1;
    }
    *http_status = 200;
    return 0;
}

int engine_reload(struct engine *e, struct error *err)
{
    struct config *cfg;
    struct ereq q;

    if (e->config_file == NULL)
        return error_set(err, "no configuration file to reload");
    cfg = config_load(e->config_file, err);
    if (cfg == NULL)
        return -1;
    memset(&q, 0, sizeof(q));
    q.kind = REQ_RELOAD;
    q.cfg = cfg;
    if (call(e, &q, true) < 0 || q.rc < 0) {
        config_free(q.cfg);
        error_set(err, "%s", q.err.msg);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ queries */

static json_t *run_query(struct engine *e, query_fn fn, const void *arg)
{
    struct ereq q;

    memset(&q, 0, sizeof(q));
    q.kind = REQ_QUERY;
    q.query = fn;
    q.arg = arg;
    if (call(e, &q, false) < 0)
        return NULL;
    return q.answer;
}

/* Appends v to arr, consuming v; -1 when either is NULL or memory runs out. */
static int append(json_t *arr, json_t *v)
{
    if (arr == NULL || v == NULL) {
        json_decref(v);
        return -1;
    }
    return json_array_append_new(arr, v);
}

static int set(json_t *o, const char *k, json_t *v)
{
    if (o == NULL || v == NULL) {
        json_decref(v);
        return -1;
    }
    return json_object_set_new(o, k, v);
}

static json_t *fp_json(uint64_t fp)
{
    char hex[FINGERPRINT_STRLEN];

    fingerprint_format(fp, hex);
    return json_string(hex);
}

/* GettableAlert in Alertmanager's field order. receivers is consumed. */
static json_t *alert_json(const struct alert *a, const struct alert_status *st, json_t *receivers)
{
    json_t *o = json_object();
    json_t *status = json_object();
    json_t *inh = json_array();
    json_t *sil = json_array();
    int bad = 0;

    for (size_t i = 0; i < st->n_inhibited_by; i++)
        bad |= append(inh, fp_json(st->inhibited_by[i]));
    for (size_t i = 0; i < st->n_silenced_by; i++)
        bad |= append(sil, json_string(st->silenced_by[i]));
    bad |= set(status, "inhibitedBy", inh);
    bad |= set(status, "silencedBy", sil);
    bad |= set(status, "state", json_string(alert_state_name(st->state)));
    bad |= set(o, "annotations", labels_to_json(&a->annotations));
    bad |= set(o, "endsAt", time_to_json(a->ends_at));
    bad |= set(o, "fingerprint", fp_json(a->fingerprint));
    bad |= set(o, "receivers", receivers);
    bad |= set(o, "startsAt", time_to_json(a->starts_at));
    bad |= set(o, "status", status);
    bad |= set(o, "updatedAt", time_to_json(a->updated_at));
    if (a->generator_url != NULL && a->generator_url[0] != '\0')
        bad |= set(o, "generatorURL", json_string(a->generator_url));
    bad |= set(o, "labels", labels_to_json(&a->labels));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static bool re_match(void *re, const char *s)
{
    pcre2_match_data *md;
    int rc;

    if (re == NULL)
        return true;
    md = pcre2_match_data_create_from_pattern(re, NULL);
    if (md == NULL)
        return false;
    rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* Alertmanager's alertFilter (api/v2): state flags, then matchers. */
static bool alert_passes(const struct alert_query *q, const struct alert *a,
                         const struct alert_status *st, int64_t now)
{
    if (alert_resolved_at(a, now))
        return false;
    if (!q->active && st->state == ALERT_STATE_ACTIVE)
        return false;
    if (!q->unprocessed && st->state == ALERT_STATE_UNPROCESSED)
        return false;
    if (!q->silenced && st->n_silenced_by > 0)
        return false;
    if (!q->inhibited && st->n_inhibited_by > 0)
        return false;
    return matchers_match(&q->filter, &a->labels);
}

static json_t *receivers_json(const struct alert_view *v)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < v->n_routes; i++) {
        const struct receiver *r = v->routes[i]->receiver;

        if (append(arr, json_pack("{s:s}", "name", r != NULL ? r->name : "")) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

struct alerts_ctx {
    const struct alert_query *q;
    int64_t now;
    json_t *out;
};

static int alerts_cb(void *ctx, const struct alert_view *v)
{
    struct alerts_ctx *c = ctx;
    bool rcv_ok = c->q->receiver_re == NULL;

    if (v->resolved || !alert_passes(c->q, v->alert, v->status, c->now))
        return 0;
    for (size_t i = 0; i < v->n_routes && !rcv_ok; i++) {
        const struct receiver *r = v->routes[i]->receiver;

        rcv_ok = r != NULL && re_match(c->q->receiver_re, r->name);
    }
    if (!rcv_ok)
        return 0;
    return append(c->out, alert_json(v->alert, v->status, receivers_json(v))) < 0 ? -1 : 0;
}

static json_t *q_alerts(struct engine *e, const void *arg, int64_t now)
{
    struct alerts_ctx c = {arg, now, json_array()};

    if (c.out == NULL || router_foreach_alert(e->r, now, alerts_cb, &c) != 0) {
        json_decref(c.out);
        return NULL;
    }
    return c.out;
}

json_t *engine_query_alerts(struct engine *e, const struct alert_query *q)
{
    return run_query(e, q_alerts, q);
}

/* Receivers per fingerprint (from route matching), for the groups answer. */
struct fp_recv {
    uint64_t fp;
    json_t *receivers;
};

struct recv_ctx {
    struct fp_recv *v;
    size_t n, cap;
};

static int recv_cb(void *ctx, const struct alert_view *v)
{
    struct recv_ctx *c = ctx;

    if (c->n == c->cap) {
        size_t cap = c->cap == 0 ? 64 : c->cap * 2;
        struct fp_recv *p = realloc(c->v, cap * sizeof(*p));

        if (p == NULL)
            return -1;
        c->v = p;
        c->cap = cap;
    }
    c->v[c->n].fp = v->alert->fingerprint;
    c->v[c->n].receivers = receivers_json(v);
    if (c->v[c->n].receivers == NULL)
        return -1;
    c->n++;
    return 0;
}

static json_t *recv_for(const struct recv_ctx *c, uint64_t fp)
{
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->v[mid].fp == fp)
            return json_deep_copy(c->v[mid].receivers);
        if (c->v[mid].fp < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return json_array();
}

struct groups_ctx {
    const struct alert_query *q;
    int64_t now;
    struct recv_ctx recv;
    json_t *out;
};

static int groups_cb(void *ctx, const struct group_view *g)
{
    struct groups_ctx *c = ctx;
    json_t *alerts, *grp;
    const char *rname = g->receiver != NULL ? g->receiver->name : "";

    if (!re_match(c->q->receiver_re, rname))
        return 0;
    alerts = json_array();
    if (alerts == NULL)
        return -1;
    for (size_t i = 0; i < g->n_alerts; i++) {
        const struct alert *a = g->alerts[i];

        if (!alert_passes(c->q, a, &g->statuses[i], c->now))
            continue;
        if (append(alerts, alert_json(a, &g->statuses[i], recv_for(&c->recv, a->fingerprint))) <
            0) {
            json_decref(alerts);
            return -1;
        }
    }
    if (json_array_size(alerts) == 0) {
        json_decref(alerts);
        return 0;
    }
    grp = json_object();
    if (set(grp, "alerts", alerts) < 0 || set(grp, "labels", labels_to_json(g->labels)) < 0 ||
        set(grp, "receiver", json_pack("{s:s}", "name", rname)) < 0) {
        json_decref(grp);
        return -1;
    }
    return append(c->out, grp) < 0 ? -1 : 0;
}

static json_t *q_groups(struct engine *e, const void *arg, int64_t now)
{
    struct groups_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.q = arg;
    c.now = now;
    c.out = json_array();
    rc = c.out == NULL ? -1 : router_foreach_alert(e->r, now, recv_cb, &c.recv);
    if (rc == 0)
        rc = router_foreach_group(e->r, now, groups_cb, &c);
    for (size_t i = 0; i < c.recv.n; i++)
        json_decref(c.recv.v[i].receivers);
    free(c.recv.v);
    if (rc != 0) {
        json_decref(c.out);
        return NULL;
    }
    return c.out;
}

json_t *engine_query_groups(struct engine *e, const struct alert_query *q)
{
    return run_query(e, q_groups, q);
}

/* GettableSilence in Alertmanager's field order. */
static json_t *silence_json(const struct silence *s, enum silence_state st)
{
    json_t *o = json_object();
    json_t *ms = json_array();
    int bad = 0;

    for (size_t i = 0; i < s->matchers.n; i++) {
        const struct matcher *m = &s->matchers.v[i];
        json_t *jm = json_object();

        bad |= set(jm, "isEqual", json_boolean(m->op == MATCH_EQ || m->op == MATCH_RE));
        bad |= set(jm, "isRegex", json_boolean(m->op == MATCH_RE || m->op == MATCH_NRE));
        bad |= set(jm, "name", json_string(m->name));
        bad |= set(jm, "value", json_string(m->value));
        bad |= append(ms, jm);
    }
    bad |= set(o, "id", json_string(s->id));
    bad |= set(o, "status", json_pack("{s:s}", "state", silence_state_name(st)));
    bad |= set(o, "updatedAt", time_to_json(s->updated_at));
    bad |= set(o, "comment", json_string(s->comment != NULL ? s->comment : ""));
    bad |= set(o, "createdBy", json_string(s->created_by != NULL ? s->created_by : ""));
    bad |= set(o, "endsAt", time_to_json(s->ends_at));
    bad |= set(o, "matchers", ms);
    bad |= set(o, "startsAt", time_to_json(s->starts_at));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

struct sil_ctx {
    const struct matchers *filter;
    json_t *out;
};

/* Every filter matcher must equal one of the silence's matchers. */
static bool silence_passes(const struct matchers *filter, const struct silence *s)
{
    for (size_t i = 0; filter != NULL && i < filter->n; i++) {
        const struct matcher *f = &filter->v[i];
        bool found = false;

        for (size_t k = 0; k < s->matchers.n && !found; k++) {
            const struct matcher *m = &s->matchers.v[k];

            found =
                m->op == f->op && strcmp(m->name, f->name) == 0 && strcmp(m->value, f->value) == 0;
        }
        if (!found)
            return false;
    }
    return true;
}

static int sil_cb(void *ctx, const struct silence *s, enum silence_state st)
{
    struct sil_ctx *c = ctx;

    if (!silence_passes(c->filter, s))
        return 0;
    return append(c->out, silence_json(s, st)) < 0 ? -1 : 0;
}

static json_t *q_silences(struct engine *e, const void *arg, int64_t now)
{
    struct sil_ctx c = {arg, json_array()};

    if (c.out == NULL || router_foreach_silence(e->r, now, sil_cb, &c) != 0) {
        json_decref(c.out);
        return NULL;
    }
    return c.out;
}

json_t *engine_query_silences(struct engine *e, const struct matchers *filter)
{
    return run_query(e, q_silences, filter);
}

static json_t *q_silence(struct engine *e, const void *arg, int64_t now)
{
    const struct silence *s = router_get_silence(e->r, arg);

    return s != NULL ? silence_json(s, silence_state_at(s, now)) : NULL;
}

json_t *engine_get_silence(struct engine *e, const char *id)
{
    return run_query(e, q_silence, id);
}

/* versionInfo.version is the Alertmanager API level we serve, "0.25.0": amtool
 * compares it with its own version and warns on every command otherwise. amrouter's
 * own version and revision are in versionInfo.revision and branch. */
static json_t *q_status(struct engine *e, const void *arg, int64_t now)
{
    (void)arg;
    (void)now;
    return json_pack("{s:{s:[], s:s}, s:{s:s}, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "cluster",
                     "peers", "status", "disabled", "config", "original",
                     e->cfg->original != NULL ? e->cfg->original : "", "uptime",
                     time_to_json(e->started_at), "versionInfo", "branch", "amrouter-" AMR_VERSION,
                     "buildDate", "", "buildUser", "amrouter", "goVersion", "none (C)", "revision",
                     AMR_REVISION, "version", "0.25.0");
}

json_t *engine_status(struct engine *e)
{
    return run_query(e, q_status, NULL);
}

static json_t *q_receivers(struct engine *e, const void *arg, int64_t now)
{
    json_t *out = json_array();

    (void)arg;
    (void)now;
    for (size_t i = 0; i < e->cfg->n_receivers; i++) {
        if (append(out, json_pack("{s:s}", "name", e->cfg->receivers[i].name)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

json_t *engine_receivers(struct engine *e)
{
    return run_query(e, q_receivers, NULL);
}

#ifdef UNIT_TEST
struct storage *engine_test_storage(struct engine *e)
{
    pthread_mutex_lock(&e->mu);
    drain_locked(e);
    pthread_mutex_unlock(&e->mu);
    return e->st;
}
#endif

/* ------------------------------------------------------------------ incidents (issue 6) */

static json_t *incident_alert_json(const struct alert *a, int64_t now)
{
    char fp[FINGERPRINT_STRLEN];
    bool resolved = alert_resolved_at(a, now);

    fingerprint_format(a->fingerprint, fp);
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "fingerprint", fp, "status",
                     resolved ? "resolved" : "firing", "labels", labels_to_json(&a->labels),
                     "annotations", labels_to_json(&a->annotations), "startsAt",
                     time_to_json(a->starts_at), "endsAt",
                     resolved ? time_to_json(a->ends_at) : json_null(), "generatorURL",
                     a->generator_url != NULL ? a->generator_url : "");
}

/* The API's incident object; with detail also its alerts and history. */
static json_t *incident_api_json(struct engine *e, const struct incident *inc, int64_t now,
                                 bool detail)
{
    json_t *o = incident_to_json(inc, false);
    json_t *alerts = detail ? json_array() : NULL;
    struct group_view gv;
    size_t firing = 0, resolved = 0;
    int found;

    if (o == NULL || (detail && alerts == NULL))
        goto fail;
    found = router_incident_group(e->r, inc, &gv);
    if (found < 0) {
        group_view_release(&gv);
        goto fail;
    }
    for (size_t i = 0; found && i < gv.n_alerts; i++) {
        if (alert_resolved_at(gv.alerts[i], now))
            resolved++;
        else
            firing++;
        if (detail && append(alerts, incident_alert_json(gv.alerts[i], now)) < 0) {
            group_view_release(&gv);
            goto fail;
        }
    }
    group_view_release(&gv);
    if (set(o, "steps", json_integer((json_int_t)router_incident_steps(e->r, inc))) < 0 ||
        set(o, "alertsFiring", json_integer((json_int_t)firing)) < 0 ||
        set(o, "alertsResolved", json_integer((json_int_t)resolved)) < 0)
        goto fail;
    if (detail) {
        if (set(o, "alerts", alerts) < 0 || set(o, "history", incident_history_json(inc)) < 0) {
            alerts = NULL;
            goto fail;
        }
    }
    return o;
fail:
    json_decref(alerts);
    json_decref(o);
    return NULL;
}

struct inc_list_ctx {
    struct engine *e;
    const struct incident_query *q;
    int64_t now;
    json_t *arr;
};

static int inc_list_cb(void *ctx, const struct incident *inc)
{
    struct inc_list_ctx *c = ctx;
    unsigned states =
        c->q->states != 0 ? c->q->states : (1u << INCIDENT_FIRING) | (1u << INCIDENT_ACKNOWLEDGED);

    if ((states & (1u << inc->state)) == 0)
        return 0;
    if (c->q->team != NULL &&
        (c->q->team[0] == '\0' ? inc->team != NULL
                               : inc->team == NULL || strcmp(inc->team, c->q->team) != 0))
        return 0;
    if (!router_incident_matches(c->e->r, inc, &c->q->filter))
        return 0;
    return append(c->arr, incident_api_json(c->e, inc, c->now, false));
}

static json_t *q_incidents(struct engine *e, const void *arg, int64_t now)
{
    struct inc_list_ctx c = {e, arg, now, json_array()};

    if (c.arr == NULL || router_foreach_incident(e->r, inc_list_cb, &c) != 0) {
        json_decref(c.arr);
        return NULL;
    }
    return c.arr;
}

json_t *engine_query_incidents(struct engine *e, const struct incident_query *q)
{
    return run_query(e, q_incidents, q);
}

static int count_inc_cb(void *ctx, const struct incident *inc)
{
    struct engine_state_counts *out = ctx;

    if ((size_t)inc->state < sizeof(out->incidents) / sizeof(out->incidents[0]))
        out->incidents[inc->state]++;
    return 0;
}

/* arg: struct engine_state_counts *const * (the answer is written there). */
static json_t *q_counts(struct engine *e, const void *arg, int64_t now)
{
    struct engine_state_counts *out = *(struct engine_state_counts *const *)arg;

    router_count_alerts(e->r, now, out->alerts);
    if (router_foreach_incident(e->r, count_inc_cb, out) != 0)
        return NULL;
    return json_true();
}

int engine_count_states(struct engine *e, struct engine_state_counts *out)
{
    json_t *ok;

    memset(out, 0, sizeof(*out));
    ok = run_query(e, q_counts, &out);
    if (ok == NULL) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    json_decref(ok);
    return 0;
}

/* json null = unknown incident (NULL = out of memory). */
static json_t *q_incident(struct engine *e, const void *arg, int64_t now)
{
    const struct incident *inc = router_get_incident(e->r, *(const uint64_t *)arg);

    return inc != NULL ? incident_api_json(e, inc, now, true) : json_null();
}

static int unknown_or_down(json_t *j, uint64_t id, json_t **out, int *http_status,
                           struct error *err)
{
    *out = NULL;
    if (j == NULL) {
        *http_status = 503;
        return error_set(err, "the engine could not answer (stopping or out of memory)");
    }
    if (json_is_null(j)) {
        json_decref(j);
        *http_status = 404;
        return error_set(err, "incident %llu not found", (unsigned long long)id);
    }
    *out = j;
    *http_status = 200;
    return 0;
}

int engine_get_incident(struct engine *e, uint64_t id, json_t **out, int *http_status,
                        struct error *err)
{
    return unknown_or_down(run_query(e, q_incident, &id), id, out, http_status, err);
}

struct ack_page_arg {
    uint64_t id;
    const char *ack_url;
};

static json_t *q_ack_page(struct engine *e, const void *arg, int64_t now)
{
    const struct ack_page_arg *a = arg;
    const struct incident *inc = router_get_incident(e->r, a->id);
    struct notify_incident ni;
    struct notify_data d;
    struct group_view gv;
    json_t *ctx;
    int found;

    if (inc == NULL)
        return json_null();
    memset(&ni, 0, sizeof(ni));
    ni.id = (int64_t)inc->id;
    ni.status = inc->state == INCIDENT_ACKNOWLEDGED ? "acknowledged"
                : inc->state == INCIDENT_RESOLVED   ? "resolved"
                                                    : "open";
    ni.acked_by = inc->acked_by;
    ni.acked_at = inc->acked_at;
    ni.comment = inc->ack_comment;
    ni.step = inc->last_step;
    ni.ack_url = a->ack_url;
    found = router_incident_group(e->r, inc, &gv);
    if (found < 0) {
        group_view_release(&gv);
        return NULL;
    }
    memset(&d, 0, sizeof(d));
    d.receiver = inc->policy != NULL ? inc->policy : inc->receiver;
    d.group_key = inc->group_key;
    d.group_labels = &inc->group_labels;
    d.alerts = gv.alerts;
    d.n_alerts = gv.n_alerts;
    d.now = now;
    d.external_url = e->external_url;
    d.incident = &ni;
    ctx = context_template(&d);
    group_view_release(&gv);
    return ctx;
}

int engine_ack_page_context(struct engine *e, uint64_t id, const char *ack_url, json_t **out,
                            int *http_status, struct error *err)
{
    struct ack_page_arg a = {id, ack_url};

    return unknown_or_down(run_query(e, q_ack_page, &a), id, out, http_status, err);
}

static json_t *ids_json(const uint64_t *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < n; i++) {
        if (append(a, json_integer((json_int_t)v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int apply_incident(struct engine *e, struct ereq *q, int64_t now, struct job_list *jobs,
                          struct error *err)
{
    const struct incident *inc;
    uint64_t *acked = NULL, *already = NULL;
    size_t n_acked = 0, n_already = 0;
    int r;

    q->rc = 0;
    q->http_status = 200;
    switch (q->kind) {
    case REQ_ACK:
        r = q->unack ? router_unack_incident(e->r, q->inc_id, q->ack, now, jobs, &q->err)
                     : router_ack_incident(e->r, q->inc_id, q->ack, now, jobs, &q->err);
        if (r < 0)
            return error_set(err, "%s", q->err.msg);
        if (r == ACK_NOT_FOUND || r == ACK_RESOLVED) {
            q->rc = -1;
            q->http_status = r == ACK_NOT_FOUND ? 404 : 409;
            error_set(&q->err,
                      r == ACK_NOT_FOUND ? "incident %llu not found" : "incident %llu is resolved",
                      (unsigned long long)q->inc_id);
            return 0;
        }
        q->answer = incident_api_json(e, router_get_incident(e->r, q->inc_id), now, false);
        return q->answer == NULL ? error_set(err, "out of memory") : 0;
    case REQ_ACK_MATCH:
        if (router_ack_matching(e->r, q->ack_m, q->ack, now, jobs, &acked, &n_acked, &already,
                                &n_already, &q->err) < 0) {
            free(acked);
            free(already);
            return error_set(err, "%s", q->err.msg);
        }
        q->answer = json_pack("{s:o, s:o}", "acknowledged", ids_json(acked, n_acked),
                              "alreadyAcknowledged", ids_json(already, n_already));
        free(acked);
        free(already);
        return q->answer == NULL ? error_set(err, "out of memory") : 0;
    case REQ_SMS_ACK:
        inc = router_get_incident(e->r, q->inc_id);
        if (inc == NULL || inc->state == INCIDENT_RESOLVED) {
            q->result = 2;
        } else if (!router_incident_paged(e->r, q->inc_id, q->from)) {
            q->result = 3;
        } else if (inc->state == INCIDENT_ACKNOWLEDGED) {
            q->result = 1;
        } else {
            struct ack_in in = {q->from, "sms", NULL};
            if (router_ack_incident(e->r, q->inc_id, &in, now, jobs, &q->err) < 0)
                return error_set(err, "%s", q->err.msg);
            q->result = 0;
        }
        return 0;
    default:
        return 0;
    }
}

int engine_ack_incident(struct engine *e, uint64_t id, bool unack, const struct ack_in *in,
                        json_t **out, int *http_status, struct error *err)
{
    struct ereq q;

    memset(&q, 0, sizeof(q));
    q.kind = REQ_ACK;
    q.inc_id = id;
    q.unack = unack;
    q.ack = in;
    *out = NULL;
    if (call(e, &q, true) < 0 || q.rc < 0) {
        json_decref(q.answer);
        *http_status = q.http_status != 0 ? q.http_status : 503;
        return error_set(err, "%s", q.err.msg);
    }
    *http_status = 200;
    *out = q.answer;
    return 0;
}

int engine_ack_matching(struct engine *e, const struct matchers *m, const struct ack_in *in,
                        json_t **out, struct error *err)
{
    struct ereq q;

    memset(&q, 0, sizeof(q));
    q.kind = REQ_ACK_MATCH;
    q.ack_m = m;
    q.ack = in;
    *out = NULL;
    if (call(e, &q, true) < 0 || q.rc < 0) {
        json_decref(q.answer);
        return error_set(err, "%s", q.err.msg);
    }
    *out = q.answer;
    return 0;
}

int engine_sms_ack(struct engine *e, uint64_t id, const char *from, int *result, struct error *err)
{
    struct ereq q;

    memset(&q, 0, sizeof(q));
    q.kind = REQ_SMS_ACK;
    q.inc_id = id;
    q.from = from;
    if (call(e, &q, true) < 0 || q.rc < 0)
        return error_set(err, "%s", q.err.msg);
    *result = q.result;
    return 0;
}

void engine_ack_secret(struct engine *e, const uint8_t **secret, size_t *len)
{
    *secret = e->ack_secret;
    *len = e->ack_secret_len;
}

int64_t engine_ack_link_expiry(struct engine *e)
{
    return e->ack_expiry;
}

static json_t *q_twilio_token(struct engine *e, const void *arg, int64_t now)
{
    const char *sid = arg;

    (void)now;
    for (size_t i = 0; i < e->cfg->n_receivers; i++) {
        const struct receiver *rcv = &e->cfg->receivers[i];
        for (size_t k = 0; k < rcv->n_configs; k++) {
            const struct notifier_config *nc = &rcv->configs[k];
            if (nc->kind == NOTIFIER_SMS && nc->account_sid != NULL &&
                strcmp(nc->account_sid, sid) == 0 && nc->auth_token.value != NULL)
                return json_string(nc->auth_token.value);
        }
    }
    return json_null();
}

char *engine_twilio_auth_token(struct engine *e, const char *account_sid)
{
    json_t *j;
    char *tok = NULL;

    if (account_sid == NULL || account_sid[0] == '\0')
        return NULL;
    j = run_query(e, q_twilio_token, account_sid);
    if (json_is_string(j))
        tok = strdup(json_string_value(j));
    json_decref(j);
    return tok;
}
