/*
 * incident.h - incidents: one aggregation group's life from its first firing
 * alert until all its alerts resolved, with a short numeric id humans type
 * (`amctl ack 42`), its acknowledgement and its escalation progress.
 *
 * This header holds the plain data (struct incident and its history) and its
 * JSON form, which is both the storage row and the API's incident object
 * (docs/escalation.md). The state machine that opens, escalates, acknowledges
 * and resolves incidents lives in router/escalation.c and is driven through
 * router.h (router_ack_incident, router_tick, ...).
 *
 * Invariants: ids are unique and never reused (a counter the engine persists);
 * state only moves firing <-> acknowledged and {firing, acknowledged} ->
 * resolved (a resolved incident never reopens: new firing alerts open a new
 * one); every transition appends a history event; `ack` fields are set exactly
 * while the state is acknowledged.
 *
 * Escalation progress: the steps of the route's policy form one sequence over
 * all runs (first pass and `repeat` passes): global index k is step k % n of
 * run k / n, due at base_at + (k / n) * period + after[k % n]. next_step is the
 * next index to reach (== total when the ladder is finished), step_due its
 * absolute deadline (0 when none is pending). See docs/escalation.md.
 *
 * Ownership: an incident owns every string and its history.
 */
#ifndef AMR_INCIDENT_H
#define AMR_INCIDENT_H

#include "core/labels.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;

enum incident_state {
    INCIDENT_FIRING = 1,
    INCIDENT_ACKNOWLEDGED = 2,
    INCIDENT_RESOLVED = 3,
};

enum incident_event_kind {
    IEV_OPENED = 1,
    IEV_NOTIFIED,     /* step reached: step, run, receivers */
    IEV_ACKNOWLEDGED, /* by, via, comment */
    IEV_UNACKNOWLEDGED,
    IEV_ACK_EXPIRED,
    IEV_REOPENED, /* a new firing alert joined an acknowledged incident: fingerprint */
    IEV_RESOLVED, /* comment may say why (e.g. the route went away in a reload) */
};

/* Why a notification job exists (notify_job.incident_notice). */
enum incident_notice {
    NOTICE_UPDATE = 0, /* a group flush: group_wait, group_interval, repeat */
    NOTICE_STEP = 1,   /* an escalation step reached these receivers */
    NOTICE_ACK = 2,    /* tells a receiver already notified that someone acknowledged */
    NOTICE_UNACK = 3,  /* tells them the incident fires again (unack, ack_timeout) */
};

struct incident_event {
    int64_t at;
    enum incident_event_kind kind;
    int step; /* 1-based step within its run (IEV_NOTIFIED); 0 otherwise */
    int run;  /* 0 = first pass */
    char *by; /* who acked/unacked */
    char *via;
    char *comment;
    char **receivers; /* IEV_NOTIFIED */
    size_t n_receivers;
    uint64_t fingerprint; /* IEV_REOPENED */
};

/* Longest history kept: older events after the first are dropped. */
#define INCIDENT_HISTORY_MAX 200

struct incident {
    uint64_t id;
    char *group_key;
    char *route_id;
    char *team;     /* NULL = not a team's route */
    char *policy;   /* escalation policy name; NULL = plain route */
    char *receiver; /* the route's receiver on a plain route; NULL otherwise */
    struct labels group_labels;
    enum incident_state state;
    int64_t opened_at;
    int64_t resolved_at; /* 0 while open */

    /* acknowledgement (set while acknowledged) */
    char *acked_by;
    char *ack_via; /* "api", "amctl", "web", "sms" */
    char *ack_comment;
    int64_t acked_at;
    int64_t ack_expires_at; /* 0 = never */

    /* escalation */
    uint64_t generation; /* bumped by ack, unack, reopen, resolve: older work is stale */
    int64_t base_at;     /* origin of the step deadlines (opened_at until a restart) */
    size_t next_step;    /* global step index next to reach */
    int64_t step_due;    /* its absolute deadline; 0 = none pending */
    int last_step;       /* last step reached, 1-based within its run; 0 = none */
    int last_run;
    char **reached; /* receiver names notified so far, sorted, unique */
    size_t n_reached;

    struct incident_event *history;
    size_t n_history;

    /* router bookkeeping, not persisted */
    size_t heap_idx;
    int64_t due; /* key in the router's incident timer heap */
};

/* "firing", "acknowledged", "resolved". */
const char *incident_state_name(enum incident_state st);
/* Parses a state name; -1 when unknown. */
int incident_state_parse(const char *s);
/* "opened", "notified", "acknowledged", "unacknowledged", "ack_expired", "reopened",
 * "resolved". */
const char *incident_event_name(enum incident_event_kind k);
/* "update", "step", "ack", "unack". */
const char *incident_notice_name(enum incident_notice n);

/* A new zeroed incident (labels initialised, not in any heap). NULL on OOM. */
struct incident *incident_new(void);
void incident_free(struct incident *inc);
void incident_event_release(struct incident_event *ev);

/* True when name is in inc->reached. */
bool incident_reached(const struct incident *inc, const char *name);
/* Adds a receiver name to reached (kept sorted, unique). 1 added, 0 already there,
 * -1 OOM. */
int incident_add_reached(struct incident *inc, const char *name);
/* Appends a history event (takes ownership of ev's strings, even on failure),
 * dropping the oldest events after the first beyond INCIDENT_HISTORY_MAX.
 * -1 on OOM. */
int incident_add_event(struct incident *inc, struct incident_event *ev);

/*
 * The JSON form (docs/escalation.md, "The incident object"). With `internal`
 * the escalation bookkeeping needed to restore it (generation, baseAt,
 * nextStep, stepDue, lastRun) and the full history are included too: that is
 * the storage row. Without, history is left out (the API adds it for a single
 * incident with incident_history_json). Returns a new reference, NULL on OOM.
 */
json_t *incident_to_json(const struct incident *inc, bool internal);
json_t *incident_history_json(const struct incident *inc);
/* Reads what incident_to_json(inc, true) wrote. On success *out is a new incident.
 * -1 with err naming the field otherwise. */
int incident_from_json(const json_t *o, struct incident **out, struct error *err);

#endif
