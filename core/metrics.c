/*
 * metrics.c - the metric families and their series.
 *
 * Invariants: a family's series[0..n) are immutable once published except for
 * their atomic values; n only grows and is published with release order after
 * the series is written, so readers scanning with acquire order see complete
 * series. mu serialises publishing only.
 */
#include "core/metrics.h"

#include "core/buf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LABEL_MAX 128
#define N_BUCKETS 12

enum mtype { M_COUNTER, M_GAUGE, M_HIST };

struct series {
    char l1[LABEL_MAX];
    char l2[LABEL_MAX];
    _Atomic int64_t value;                  /* counter/gauge; histogram: count */
    _Atomic int64_t sum_us;                 /* histogram */
    _Atomic int64_t buckets[N_BUCKETS + 1]; /* histogram, non-cumulative; last = +Inf */
};

struct family {
    const char *name;
    const char *help;
    enum mtype type;
    const char *label1; /* NULL = no labels */
    const char *label2;
    struct series *series; /* METRICS_MAX_SERIES, allocated at first use */
    _Atomic size_t n;
};

static const double bucket_le[N_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,   0.25,   0.5,   1,    2.5,   10};

static struct family fams[MET_N] = {
    [MET_ALERTS_RECEIVED] = {"amrouter_alerts_received_total",
                             "Alerts received through the API, by status.", M_COUNTER, "status",
                             NULL, NULL, 0},
    [MET_ALERTS_REJECTED] = {"amrouter_alerts_rejected_total",
                             "Alert batches refused by the API, by reason.", M_COUNTER, "reason",
                             NULL, NULL, 0},
    [MET_NOTIFY_SENT] = {"amrouter_notifications_total",
                         "Notifications delivered, by integration and receiver.", M_COUNTER,
                         "integration", "receiver", NULL, 0},
    [MET_NOTIFY_FAILED] = {"amrouter_notifications_failed_total",
                           "Notifications given up on, by integration and receiver.", M_COUNTER,
                           "integration", "receiver", NULL, 0},
    [MET_NOTIFY_RETRIED] = {"amrouter_notification_retries_total",
                            "Notification attempts scheduled for a retry.", M_COUNTER,
                            "integration", "receiver", NULL, 0},
    [MET_NOTIFY_THROTTLED] = {"amrouter_notifications_throttled_total",
                              "Notification attempts held back by a rate limit.", M_COUNTER,
                              "integration", "receiver", NULL, 0},
    [MET_NOTIFY_LATENCY] = {"amrouter_notification_latency_seconds",
                            "Duration of one notification attempt (the transfer).", M_HIST,
                            "integration", NULL, NULL, 0},
    [MET_ESCALATION_STEPS] =
        {"amrouter_escalation_steps_fired_total",
         "Escalation steps reached after the first notification, by receiver notified "
         "(one per integration).",
         M_COUNTER, "receiver", NULL, NULL, 0},
    [MET_ENGINE_QUEUE] = {"amrouter_engine_queue_depth", "Requests waiting for the engine thread.",
                          M_GAUGE, NULL, NULL, NULL, 0},
    [MET_SQLITE_COMMIT] = {"amrouter_sqlite_commit_duration_seconds",
                           "Duration of the engine's SQLite commits.", M_HIST, NULL, NULL, NULL, 0},
    [MET_RELOAD_OK] = {"amrouter_config_last_reload_successful",
                       "Whether the last configuration reload attempt was successful.", M_GAUGE,
                       NULL, NULL, NULL, 0},
    [MET_RELOAD_TIME] = {"amrouter_config_last_reload_success_timestamp_seconds",
                         "Timestamp of the last successful configuration load.", M_GAUGE, NULL,
                         NULL, NULL, 0},
    [MET_HTTP_REQUESTS] = {"amrouter_http_requests_total",
                           "HTTP requests answered, by status code.", M_COUNTER, "code", NULL, NULL,
                           0},
};

static pthread_mutex_t publish_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int64_t dropped;

/* "webhook[0]" (the delivery's name for an integration) is labelled "webhook". */
static bool integration_label(const struct family *f)
{
    return f->label1 != NULL && strcmp(f->label1, "integration") == 0;
}

static bool same(const struct family *f, const struct series *s, const char *l1, const char *l2)
{
    const char *v1 = l1 != NULL ? l1 : "";
    size_t n1 = integration_label(f) ? strcspn(v1, "[") : strlen(v1);

    if (n1 > LABEL_MAX - 1)
        n1 = LABEL_MAX - 1; /* stored values are truncated the same way */

    return strlen(s->l1) == n1 && strncmp(s->l1, v1, n1) == 0 &&
           strncmp(s->l2, l2 != NULL ? l2 : "", LABEL_MAX - 1) == 0;
}

static struct series *find(struct family *f, const char *l1, const char *l2)
{
    size_t n = atomic_load_explicit(&f->n, memory_order_acquire);

    for (size_t i = 0; i < n; i++) {
        if (same(f, &f->series[i], l1, l2))
            return &f->series[i];
    }
    return NULL;
}

static struct series *get(enum metric_id id, const char *l1, const char *l2, bool create)
{
    struct family *f;
    struct series *s;
    size_t n;

    if ((unsigned)id >= MET_N)
        return NULL;
    f = &fams[id];
    if (atomic_load_explicit(&f->n, memory_order_acquire) > 0) {
        s = find(f, l1, l2);
        if (s != NULL || !create)
            return s;
    } else if (!create) {
        return NULL;
    }
    pthread_mutex_lock(&publish_mu);
    if (f->series == NULL)
        f->series = calloc(METRICS_MAX_SERIES, sizeof(*f->series));
    s = f->series != NULL ? find(f, l1, l2) : NULL;
    n = atomic_load_explicit(&f->n, memory_order_relaxed);
    if (s == NULL && f->series != NULL && n < METRICS_MAX_SERIES) {
        s = &f->series[n];
        snprintf(s->l1, sizeof(s->l1), "%s", l1 != NULL ? l1 : "");
        if (integration_label(f))
            s->l1[strcspn(s->l1, "[")] = '\0';
        snprintf(s->l2, sizeof(s->l2), "%s", l2 != NULL ? l2 : "");
        atomic_store_explicit(&f->n, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&publish_mu);
    if (s == NULL)
        atomic_fetch_add(&dropped, 1);
    return s;
}

void metrics_add(enum metric_id id, const char *l1, const char *l2, int64_t n)
{
    struct series *s = get(id, l1, l2, true);

    if (s != NULL)
        atomic_fetch_add(&s->value, n);
}

void metrics_set(enum metric_id id, const char *l1, const char *l2, int64_t v)
{
    struct series *s = get(id, l1, l2, true);

    if (s != NULL)
        atomic_store(&s->value, v);
}

void metrics_observe(enum metric_id id, const char *l1, const char *l2, double seconds)
{
    struct series *s = get(id, l1, l2, true);
    size_t b = 0;

    if (s == NULL)
        return;
    if (seconds < 0)
        seconds = 0;
    while (b < N_BUCKETS && seconds > bucket_le[b])
        b++;
    atomic_fetch_add(&s->buckets[b], 1);
    atomic_fetch_add(&s->sum_us, (int64_t)(seconds * 1e6));
    atomic_fetch_add(&s->value, 1);
}

int64_t metrics_get(enum metric_id id, const char *l1, const char *l2)
{
    struct series *s = get(id, l1, l2, false);

    return s != NULL ? atomic_load(&s->value) : 0;
}

int64_t metrics_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void metrics_escape(struct buf *out, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\')
            buf_appends(out, "\\\\");
        else if (*v == '"')
            buf_appends(out, "\\\"");
        else if (*v == '\n')
            buf_appends(out, "\\n");
        else
            buf_appendc(out, *v);
    }
}

/* {l1="v1",l2="v2"[,extra]} or "" when there are no labels at all. */
static void labels(struct buf *out, const struct family *f, const struct series *s,
                   const char *extra)
{
    bool any = f->label1 != NULL || extra != NULL;

    if (!any)
        return;
    buf_appendc(out, '{');
    if (f->label1 != NULL) {
        buf_printf(out, "%s=\"", f->label1);
        metrics_escape(out, s->l1);
        buf_appendc(out, '"');
    }
    if (f->label2 != NULL) {
        buf_printf(out, ",%s=\"", f->label2);
        metrics_escape(out, s->l2);
        buf_appendc(out, '"');
    }
    if (extra != NULL)
        buf_printf(out, "%s%s", f->label1 != NULL ? "," : "", extra);
    buf_appendc(out, '}');
}

void metrics_render(struct buf *out)
{
    static const char *const tnames[] = {"counter", "gauge", "histogram"};

    for (size_t i = 0; i < MET_N; i++) {
        struct family *f = &fams[i];
        size_t n = atomic_load_explicit(&f->n, memory_order_acquire);

        buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, tnames[f->type]);
        if (n == 0 && f->label1 == NULL && f->type != M_HIST) {
            buf_printf(out, "%s 0\n", f->name);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            const struct series *s = &f->series[k];

            if (f->type != M_HIST) {
                buf_appends(out, f->name);
                labels(out, f, s, NULL);
                buf_printf(out, " %lld\n", (long long)atomic_load(&s->value));
                continue;
            }
            int64_t cum = 0;
            for (size_t b = 0; b <= N_BUCKETS; b++) {
                char le[48];

                cum += atomic_load(&s->buckets[b]);
                if (b < N_BUCKETS)
                    snprintf(le, sizeof(le), "le=\"%g\"", bucket_le[b]);
                else
                    snprintf(le, sizeof(le), "le=\"+Inf\"");
                buf_printf(out, "%s_bucket", f->name);
                labels(out, f, s, le);
                buf_printf(out, " %lld\n", (long long)cum);
            }
            buf_printf(out, "%s_sum", f->name);
            labels(out, f, s, NULL);
            buf_printf(out, " %.6f\n", (double)atomic_load(&s->sum_us) / 1e6);
            buf_printf(out, "%s_count", f->name);
            labels(out, f, s, NULL);
            buf_printf(out, " %lld\n", (long long)cum);
        }
    }
    buf_printf(out,
               "# HELP amrouter_metrics_series_dropped_total Metric updates dropped because "
               "a family had too many label combinations.\n"
               "# TYPE amrouter_metrics_series_dropped_total counter\n"
               "amrouter_metrics_series_dropped_total %lld\n",
               (long long)atomic_load(&dropped));
}
