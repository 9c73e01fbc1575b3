/*
 * router_int.h - the inside of struct router, shared by router.c (store,
 * silences, queries, change log, restore), dispatch.c (groups, flushes, the
 * notification log, jobs) and inhibit.c. Not for use outside router/ except by
 * its unit tests.
 *
 * Ownership: the router owns every entry, group, nflog entry, pending job and
 * flush record. Groups hold pointers to store entries; an entry counts the
 * groups that hold it (n_groups) and is never freed while that count is
 * non-zero. Group keys in flush records and pending jobs are copies, so groups
 * can be deleted while jobs are in flight.
 */
#ifndef AMR_ROUTER_INT_H
#define AMR_ROUTER_INT_H

#include "router/hmap.h"
#include <stddef.h>
#include "router/route.h"
#include "router/router.h"

/* A stored alert. */
#define RENTRY_KEY_OFF (offsetof(struct rentry, a) + offsetof(struct alert, fingerprint))
struct rentry {
    struct alert a;
    unsigned n_groups;    /* aggregation groups holding this entry */
    bool in_group_before; /* scratch for reload */
};

struct rgroup {
    char *key;       /* filing key (route_group_file_key): unique */
    char *group_key; /* Alertmanager's groupKey (payloads, notification log) */
    char *route_id;
    const struct route *route;
    struct labels labels;
    struct emap alerts; /* members: struct rentry * keyed by a.fingerprint */
    int64_t next_flush;
    bool has_flushed;
    uint64_t incident_id;
    size_t heap_idx;
};

/* An outstanding job: what its success has to write. */
struct pending_job {
    uint64_t id;
    uint64_t flush_id;
    char *nflog_key;
    char *group_key;
    char *receiver_name;
    size_t integration;
    uint64_t *firing;
    size_t n_firing;
    uint64_t *resolved;
    size_t n_resolved;
    int64_t created_at;
    int64_t repeat_interval;
};

struct fp_stamp {
    uint64_t fp;
    int64_t updated_at;
};

/* One flush waiting for its jobs: on full success its resolved alerts go. */
struct flush_rec {
    uint64_t id;
    char *group_key;
    size_t n_pending;
    bool failed;
    struct fp_stamp *resolved;
    size_t n_resolved;
};

struct router {
    const struct config *cfg;
    struct emap alerts; /* struct rentry * keyed by a.fingerprint */
    struct silences *silences;
    struct smap groups;   /* key -> struct rgroup * */
    struct rgroup **heap; /* min-heap on next_flush */
    size_t heap_n, heap_cap;
    struct smap nflog;   /* key -> struct nflog_entry * */
    struct umap jobs;    /* id -> struct pending_job * */
    struct smap latest;  /* nflog key -> struct pending_job * (newest outstanding) */
    struct umap flushes; /* id -> struct flush_rec * */
    uint64_t last_job_id;
    uint64_t last_flush_id;
    int64_t next_gc;
    struct smap *inhibit_src; /* per inhibit rule: equal-values key -> struct umap * of sources */
    size_t n_inhibit_src;
    struct route_list scratch;
    bool loading; /* restore in progress: no change log */

    /* incidents (escalation.c) */
    struct umap incidents;      /* id -> struct incident * (open and resolved) */
    struct smap open_incidents; /* group key -> struct incident * (firing or acknowledged) */
    struct incident **iheap;    /* min-heap on incident->due */
    size_t iheap_n, iheap_cap;
    uint64_t last_incident_id;
    bool reinserting; /* reload/restore re-dispatch: alerts re-joining do not re-open */

    /* change log */
    struct router_changes ch;
    size_t cap_alerts, cap_silences, cap_groups, cap_nflog, cap_members;
    struct umap ch_alerts;
    struct smap ch_silences, ch_groups, ch_nflog, ch_members;
    struct umap ch_incidents;
    size_t cap_incidents;
};

#define ROUTER_GC_INTERVAL ((int64_t)60 * 1000)

/* router.c */
void router_touch_alert(struct router *r, uint64_t fp);
void router_touch_silence(struct router *r, const char *id);
void router_touch_group(struct router *r, const char *key);
void router_touch_nflog(struct router *r, const char *key);
void router_touch_member(struct router *r, const char *group_key, uint64_t fp);
int64_t router_alert_retention(const struct router *r);
/* Makes sure a GC pass runs no later than due. */
void router_gc_due(struct router *r, int64_t due);

/* dispatch.c */
int dispatch_insert(struct router *r, struct rentry *e, int64_t now);
int dispatch_flush_due(struct router *r, int64_t now, struct job_list *out);
void dispatch_drop_groups(struct router *r);
void group_free(struct router *r, struct rgroup *g);
struct rgroup *group_new(struct router *r, const struct route *rt, struct labels *labels,
                         const char *key);
int heap_push(struct router *r, struct rgroup *g);
void heap_remove(struct router *r, struct rgroup *g);
void heap_fix(struct router *r, struct rgroup *g);
/* 1 when e joined g, 0 when it was already there, -1 when memory runs out. */
int group_add(struct rgroup *g, struct rentry *e);
void pending_job_free(struct pending_job *pj);
void flush_rec_free(struct flush_rec *f);
char *nflog_key_make(const char *group_key, const char *receiver, size_t integration);
int alert_slice_cmp(const struct alert *a, const struct alert *b);
void dispatch_gc_nflog(struct router *r, int64_t now);
/* Registers an outstanding job; counts it in f when f is not NULL. */
int dispatch_track_job(struct router *r, const struct notify_job *j, struct flush_rec *f);

/* escalation.c */
void router_touch_incident(struct router *r, uint64_t id);
/* A new group: re-attaches the open incident of its key (reload, restore). */
void esc_group_created(struct router *r, struct rgroup *g);
/* Alert e is in group g (joined says it just joined): opens an incident when e
 * fires and none is open, re-opens an acknowledged one. -1 on OOM. */
int esc_alert_in_group(struct router *r, struct rgroup *g, const struct rentry *e, bool joined,
                       int64_t now);
/* Before a regular flush of g: resolves its incident when nothing fires, else
 * reaches the steps that are due. Returns the group's incident (NULL when none). */
struct incident *esc_before_flush(struct router *r, struct rgroup *g, bool any_firing, int64_t now,
                                  int *rc);
/* The receivers a regular flush of g notifies: the route's receiver on a plain
 * route, else the receivers the incident reached. *v is malloc'd (free it). */
int esc_flush_targets(struct router *r, const struct rgroup *g, const struct incident *inc,
                      const struct receiver ***v, size_t *n);
/* The group is being deleted: its open incident resolves. */
void esc_group_deleted(struct router *r, struct rgroup *g, int64_t now);
/* Runs the incident timers due at now (steps, ack_timeout). -1 on OOM. */
int esc_tick(struct router *r, int64_t now, struct job_list *out);
int64_t esc_next_wakeup(const struct router *r);
/* Resolves open incidents whose group is gone (after a reload or restore). */
void esc_resolve_orphans(struct router *r, int64_t now, const char *why);
void esc_gc(struct router *r, int64_t now);
void esc_release(struct router *r);

/* dispatch.c, for escalation.c */
enum emit_mode {
    EMIT_FLUSH,  /* a regular flush: nflog dedup, tracked jobs */
    EMIT_STEP,   /* an escalation step: sent whenever something unmuted fires; tracked */
    EMIT_NOTICE, /* an ack/unack notice: sent whenever something unmuted fires; untracked */
};
/* Makes the jobs of g for the given receivers (see enum emit_mode), stamped with
 * inc and notice; *n_sent (may be NULL) counts receivers that got a job. -1 on OOM. */
int dispatch_emit(struct router *r, struct rgroup *g, int64_t now, struct job_list *out,
                  const struct receiver *const *targets, size_t n_targets, enum emit_mode mode,
                  const struct incident *inc, enum incident_notice notice, size_t *n_sent);

/* inhibit.c */
int inhibit_rebuild(struct router *r);
int inhibit_add(struct router *r, struct rentry *e);
void inhibit_remove(struct router *r, struct rentry *e);
/* The fingerprint of a firing source alert muting ls at now; false when none. */
bool inhibit_mutes(const struct router *r, const struct labels *ls, int64_t now, uint64_t *by);
void inhibit_release(struct router *r);

#endif
