/*
 * context.c - builds the webhook payload and the template context (see context.h).
 *
 * One builder makes both: the webhook payload is the template context without
 * the extras, so the two can never disagree on a field they share. Every
 * json_t made here is owned by the object it is set into; on any allocation
 * failure the partial result is dropped and NULL returned.
 */
#include "templates/context.h"

#include "core/alert.h"
#include "core/jsonutil.h"
#include "core/labels.h"
#include "core/timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Sets key to v (stealing the reference). Returns -1 when v is NULL (an earlier
 * allocation failed) or the set fails. */
static int put(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL)
        return -1;
    return json_object_set_new(obj, key, v);
}

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

/* [{"name": n, "value": v, "last": false}, ...] in name order; "last" is true on the
 * final pair, so a template can write separators: {{^last}}, {{/last}}. */
static json_t *labels_list(const struct labels *ls)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; ls != NULL && i < ls->n; i++) {
        json_t *o = json_object();

        if (o == NULL || json_array_append_new(arr, o) < 0 ||
            put(o, "name", json_string(ls->v[i].name)) < 0 ||
            put(o, "value", json_string(ls->v[i].value)) < 0 ||
            put(o, "last", json_boolean(i + 1 == ls->n)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *labels_obj(const struct labels *ls)
{
    struct labels empty = LABELS_INIT;

    return labels_to_json(ls ? ls : &empty);
}

/* "2026-11-23 12:00:00 UTC" */
static json_t *time_text(int64_t ms)
{
    char out[64];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms == TIME_UNSET || gmtime_r(&t, &tm) == NULL)
        return json_string("");
    strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return json_string(out);
}

/* The pairs of `which` (labels or annotations) every alert shares. */
static int common_pairs(const struct notify_data *d, bool annotations, struct labels *out)
{
    const struct labels *first;

    if (d->n_alerts == 0)
        return 0;
    first = annotations ? &d->alerts[0]->annotations : &d->alerts[0]->labels;
    for (size_t i = 0; i < first->n; i++) {
        bool all = true;

        for (size_t k = 1; k < d->n_alerts && all; k++) {
            const struct labels *ls =
                annotations ? &d->alerts[k]->annotations : &d->alerts[k]->labels;
            const char *v = labels_get(ls, first->v[i].name);

            all = v != NULL && strcmp(v, first->v[i].value) == 0;
        }
        if (all && labels_set(out, first->v[i].name, first->v[i].value) < 0)
            return -1;
    }
    return 0;
}

static json_t *alert_obj(const struct alert *a, int64_t now, bool extras)
{
    json_t *o = json_object();
    bool resolved = alert_resolved_at(a, now);
    char fp[FINGERPRINT_STRLEN];

    if (o == NULL)
        return NULL;
    fingerprint_format(a->fingerprint, fp);
    if (put(o, "status", json_string(resolved ? "resolved" : "firing")) < 0 ||
        put(o, "labels", labels_obj(&a->labels)) < 0 ||
        put(o, "annotations", labels_obj(&a->annotations)) < 0 ||
        put(o, "startsAt", time_to_json_nano(a->starts_at)) < 0 ||
        put(o, "endsAt", time_to_json_nano(resolved ? a->ends_at : TIME_UNSET)) < 0 ||
        put(o, "generatorURL", str_or_empty(a->generator_url)) < 0 ||
        put(o, "fingerprint", json_string(fp)) < 0)
        goto fail;
    if (extras && (put(o, "firing", json_boolean(!resolved)) < 0 ||
                   put(o, "resolved", json_boolean(resolved)) < 0 ||
                   put(o, "labelsList", labels_list(&a->labels)) < 0 ||
                   put(o, "annotationsList", labels_list(&a->annotations)) < 0 ||
                   put(o, "startsAtText", time_text(a->starts_at)) < 0 ||
                   put(o, "endsAtText", time_text(resolved ? a->ends_at : TIME_UNSET)) < 0))
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *incident_obj(const struct notify_incident *inc)
{
    json_t *o = json_object();
    bool acked = inc->acked_by != NULL || inc->acked_at != TIME_UNSET;

    if (o == NULL)
        return NULL;
    if (put(o, "id", json_integer(inc->id)) < 0 || put(o, "url", str_or_empty(inc->url)) < 0 ||
        put(o, "ack_url", str_or_empty(inc->ack_url)) < 0 ||
        put(o, "status", str_or_empty(inc->status)) < 0 ||
        put(o, "acked", json_boolean(acked)) < 0 ||
        put(o, "acked_by", str_or_empty(inc->acked_by)) < 0 ||
        put(o, "acked_at",
            inc->acked_at != TIME_UNSET ? time_to_json_nano(inc->acked_at) : json_string("")) < 0 ||
        put(o, "acked_at_text", time_text(inc->acked_at)) < 0 ||
        put(o, "comment", str_or_empty(inc->comment)) < 0 ||
        put(o, "step", json_integer(inc->step)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *build(const struct notify_data *d, bool extras)
{
    json_t *o = json_object();
    json_t *alerts = json_array();
    json_t *firing_list = extras ? json_array() : NULL;
    json_t *resolved_list = extras ? json_array() : NULL;
    struct labels common_l = LABELS_INIT, common_a = LABELS_INIT;
    size_t n_firing = 0;
    size_t shown = d->n_alerts;
    bool ok = false;

    if (o == NULL || alerts == NULL || (extras && (firing_list == NULL || resolved_list == NULL)))
        goto out;
    if (d->max_alerts > 0 && shown > d->max_alerts)
        shown = d->max_alerts;
    for (size_t i = 0; i < d->n_alerts; i++)
        if (!alert_resolved_at(d->alerts[i], d->now))
            n_firing++;
    for (size_t i = 0; i < shown; i++) {
        json_t *a = alert_obj(d->alerts[i], d->now, extras);

        if (a == NULL || json_array_append_new(alerts, a) < 0)
            goto out;
        if (extras && json_array_append(json_is_true(json_object_get(a, "firing")) ? firing_list
                                                                                   : resolved_list,
                                        a) < 0)
            goto out;
    }
    if (common_pairs(d, false, &common_l) < 0 || common_pairs(d, true, &common_a) < 0)
        goto out;
    if (put(o, "receiver", str_or_empty(d->receiver)) < 0 ||
        put(o, "status", json_string(n_firing > 0 ? "firing" : "resolved")) < 0 ||
        json_object_set(o, "alerts", alerts) < 0 ||
        put(o, "groupLabels", labels_obj(d->group_labels)) < 0 ||
        put(o, "commonLabels", labels_obj(&common_l)) < 0 ||
        put(o, "commonAnnotations", labels_obj(&common_a)) < 0 ||
        put(o, "externalURL", str_or_empty(d->external_url)) < 0 ||
        put(o, "version", json_string("4")) < 0 ||
        put(o, "groupKey", str_or_empty(d->group_key)) < 0 ||
        put(o, "truncatedAlerts", json_integer((json_int_t)(d->n_alerts - shown))) < 0)
        goto out;
    if (extras &&
        (put(o, "groupLabelsList", labels_list(d->group_labels)) < 0 ||
         put(o, "commonLabelsList", labels_list(&common_l)) < 0 ||
         put(o, "commonAnnotationsList", labels_list(&common_a)) < 0 ||
         put(o, "firing", json_boolean(n_firing > 0)) < 0 ||
         put(o, "resolved", json_boolean(n_firing == 0)) < 0 ||
         put(o, "alertsCount", json_integer((json_int_t)d->n_alerts)) < 0 ||
         put(o, "firingCount", json_integer((json_int_t)n_firing)) < 0 ||
         put(o, "resolvedCount", json_integer((json_int_t)(d->n_alerts - n_firing))) < 0 ||
         json_object_set(o, "alertsFiring", firing_list) < 0 ||
         json_object_set(o, "alertsResolved", resolved_list) < 0))
        goto out;
    if (extras && d->incident != NULL && put(o, "incident", incident_obj(d->incident)) < 0)
        goto out;
    ok = true;
out:
    json_decref(alerts);
    json_decref(firing_list);
    json_decref(resolved_list);
    labels_release(&common_l);
    labels_release(&common_a);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *context_webhook(const struct notify_data *d)
{
    return build(d, false);
}

json_t *context_template(const struct notify_data *d)
{
    return build(d, true);
}

/* ---------------------------------------------------------------- example */

#define EXAMPLE_NOW 1795435200000LL /* 2026-11-23T12:00:00Z */

static int example_alert(struct alert *a, size_t i, bool all_resolved)
{
    static const char *const instances[] = {"db-1.prod:9187", "db-2.prod:9187", "db-3.prod:9187"};
    char inst[64], summary[160];
    bool resolved = i == 2 || all_resolved;

    if (i < 3)
        snprintf(inst, sizeof(inst), "%s", instances[i]);
    else
        snprintf(inst, sizeof(inst), "db-%zu.prod:9187", i + 1);
    snprintf(summary, sizeof(summary), "PostgreSQL on %s is down", inst);
    alert_init(a);
    if (labels_set(&a->labels, "alertname", "PostgresDown") < 0 ||
        labels_set(&a->labels, "cluster", "prod-eu") < 0 ||
        labels_set(&a->labels, "instance", inst) < 0 ||
        labels_set(&a->labels, "job", "postgres") < 0 ||
        labels_set(&a->labels, "severity", "critical") < 0 ||
        labels_set(&a->labels, "team", "db") < 0 ||
        labels_set(&a->annotations, "summary", summary) < 0 ||
        labels_set(&a->annotations, "runbook_url", "https://runbooks.example.com/postgres") < 0 ||
        alert_set_generator_url(a, "http://prometheus.example.com:9090/graph?g0.expr=up%7Bjob%"
                                   "3D%22postgres%22%7D+%3D%3D+0") < 0)
        return -1;
    if (labels_set(&a->annotations, "description",
                   "The exporter has reported pg_up == 0 for 2 minutes.") < 0)
        return -1;
    a->starts_at = EXAMPLE_NOW - (int64_t)(15 + i) * 60 * 1000;
    a->ends_at = resolved ? EXAMPLE_NOW - 60 * 1000 : EXAMPLE_NOW + 4 * 60 * 1000;
    a->updated_at = EXAMPLE_NOW - 30 * 1000;
    alert_update_fingerprint(a);
    return 0;
}

/* The inputs of an example notification; owns everything d points to. */
struct context_example_data {
    struct notify_data d;
    struct alert *alerts;
    const struct alert **ptrs;
    size_t made;
    struct labels group;
    struct notify_incident inc;
};

void context_example_data_free(struct context_example_data *x)
{
    if (x == NULL)
        return;
    for (size_t i = 0; i < x->made; i++)
        alert_release(&x->alerts[i]);
    free(x->alerts);
    free(x->ptrs);
    labels_release(&x->group);
    free(x);
}

struct context_example_data *context_example_data_new(size_t n_alerts,
                                                      enum context_example_notice notice)
{
    struct context_example_data *x = calloc(1, sizeof(*x));
    static const struct notify_incident inc = {
        42,
        "http://amrouter.example.com:9093/incidents/42",
        "http://amrouter.example.com:9093/ack/42.1796040000.3q2-7Ld9fT0yWb1kVxNcRg",
        "open",
        NULL,
        TIME_UNSET,
        NULL,
        2,
    };

    if (x == NULL)
        return NULL;
    labels_init(&x->group);
    if (n_alerts < 3)
        n_alerts = 3;
    x->alerts = calloc(n_alerts, sizeof(*x->alerts));
    x->ptrs = calloc(n_alerts, sizeof(*x->ptrs));
    if (x->alerts == NULL || x->ptrs == NULL)
        goto fail;
    for (; x->made < n_alerts; x->made++) {
        if (example_alert(&x->alerts[x->made], x->made, notice == EXAMPLE_RESOLVED) < 0) {
            alert_release(&x->alerts[x->made]);
            goto fail;
        }
        x->ptrs[x->made] = &x->alerts[x->made];
    }
    if (labels_set(&x->group, "alertname", "PostgresDown") < 0 ||
        labels_set(&x->group, "cluster", "prod-eu") < 0)
        goto fail;
    x->inc = inc;
    if (notice == EXAMPLE_ACKNOWLEDGED) {
        x->inc.status = "acknowledged";
        x->inc.acked_by = "alice";
        x->inc.acked_at = EXAMPLE_NOW - 2 * 60 * 1000;
        x->inc.comment = "on it";
    } else if (notice == EXAMPLE_RESOLVED) {
        x->inc.status = "resolved";
    }
    x->d.receiver = "team-db";
    x->d.group_key = "{}/{team=\"db\"}:{alertname=\"PostgresDown\", cluster=\"prod-eu\"}";
    x->d.group_labels = &x->group;
    x->d.alerts = x->ptrs;
    x->d.n_alerts = n_alerts;
    x->d.now = EXAMPLE_NOW;
    x->d.external_url = "http://amrouter.example.com:9093";
    x->d.incident = &x->inc;
    return x;
fail:
    context_example_data_free(x);
    return NULL;
}

const struct notify_data *context_example_data_get(const struct context_example_data *x)
{
    return &x->d;
}

json_t *context_example(size_t n_alerts)
{
    return context_example_notice(n_alerts, EXAMPLE_FIRING);
}

json_t *context_example_notice(size_t n_alerts, enum context_example_notice notice)
{
    struct context_example_data *x = context_example_data_new(n_alerts, notice);
    json_t *ctx;

    if (x == NULL)
        return NULL;
    ctx = context_template(&x->d);
    context_example_data_free(x);
    return ctx;
}
