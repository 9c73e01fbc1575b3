/*
 * metrics.h - process-wide Prometheus metrics any thread can update.
 *
 * The families are fixed (enum metric_id, defined in core/metrics.c with their
 * names, help, type and up to two label names). Updating an existing series
 * is lock-free (an atomic add after a scan of published series); the first
 * update of a new label combination takes a mutex to publish it. Each family
 * holds at most METRICS_MAX_SERIES label combinations; updates for more are
 * counted in amrouter_metrics_series_dropped_total instead of being lost
 * silently.
 *
 * Label values are copied. Pass NULL for labels a family does not have.
 * Gauges whose value is only known at scrape time (active alerts, open
 * incidents) are filled by the /metrics handler (api/metrics.c).
 *
 * Who calls what: api (alerts received / rejected), notifiers/delivery.c
 * (notifications sent / failed / retried / throttled, latency), engine
 * (queue depth, commit latency, escalation steps), cmd/amrouter.c (reloads).
 */
#ifndef AMR_CORE_METRICS_H
#define AMR_CORE_METRICS_H

#include <stdint.h>

struct buf;

#define METRICS_MAX_SERIES 512

enum metric_id {
    MET_ALERTS_RECEIVED,  /* counter {status}: firing | resolved */
    MET_ALERTS_REJECTED,  /* counter {reason}: invalid | unavailable */
    MET_NOTIFY_SENT,      /* counter {integration, receiver} */
    MET_NOTIFY_FAILED,    /* counter {integration, receiver} */
    MET_NOTIFY_RETRIED,   /* counter {integration, receiver} */
    MET_NOTIFY_THROTTLED, /* counter {integration, receiver} */
    MET_NOTIFY_LATENCY,   /* histogram seconds {integration} */
    MET_ESCALATION_STEPS, /* counter {receiver}: NOTICE_STEP jobs (steps after the first flush) */
    MET_ENGINE_QUEUE,     /* gauge */
    MET_SQLITE_COMMIT,    /* histogram seconds */
    MET_RELOAD_OK,        /* gauge: 1 = the last reload succeeded */
    MET_RELOAD_TIME,      /* gauge: unix seconds of the last successful reload */
    MET_HTTP_REQUESTS,    /* counter {code} */
    MET_N
};

/* Adds n to a counter (or gauge). */
void metrics_add(enum metric_id id, const char *l1, const char *l2, int64_t n);
/* Sets a gauge. */
void metrics_set(enum metric_id id, const char *l1, const char *l2, int64_t v);
/* Records one observation of seconds (kept in microseconds) in a histogram. */
void metrics_observe(enum metric_id id, const char *l1, const char *l2, double seconds);
/* The current value of a counter/gauge series (0 when it does not exist). For tests. */
int64_t metrics_get(enum metric_id id, const char *l1, const char *l2);

/* A monotonic clock in microseconds, for timing what is observed. */
int64_t metrics_now_us(void);

/* Appends every family in Prometheus text format 0.0.4 (HELP, TYPE, series;
 * histograms with cumulative _bucket{le}, _sum, _count) to out. */
void metrics_render(struct buf *out);

/* Appends a label value escaped for the text format (\\, \", \n). */
void metrics_escape(struct buf *out, const char *v);

#endif
