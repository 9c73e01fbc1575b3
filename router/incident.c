/*
 * incident.c - the incident record: names, lifetime, reached receivers,
 * history, and its JSON form (storage row and API object). No state machine
 * here (router/escalation.c) and no clock.
 */
#include "router/incident.h"

#include "core/error.h"
#include "core/jsonutil.h"
#include "core/timefmt.h"

#include <stdlib.h>
#include <string.h>

const char *incident_state_name(enum incident_state st)
{
    switch (st) {
    case INCIDENT_FIRING:
        return "firing";
    case INCIDENT_ACKNOWLEDGED:
        return "acknowledged";
    case INCIDENT_RESOLVED:
        return "resolved";
    }
    return "firing";
}

int incident_state_parse(const char *s)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "firing") == 0)
        return INCIDENT_FIRING;
    if (strcmp(s, "acknowledged") == 0)
        return INCIDENT_ACKNOWLEDGED;
    if (strcmp(s, "resolved") == 0)
        return INCIDENT_RESOLVED;
    return -1;
}

static const char *const event_names[] = {
    NULL,          "opened",   "notified", "acknowledged", "unacknowledged",
    "ack_expired", "reopened", "resolved",
};

const char *incident_event_name(enum incident_event_kind k)
{
    if ((int)k < IEV_OPENED || (int)k > IEV_RESOLVED)
        return "unknown";
    return event_names[k];
}

static int event_parse(const char *s)
{
    for (int k = IEV_OPENED; k <= IEV_RESOLVED; k++) {
        if (s != NULL && strcmp(s, event_names[k]) == 0)
            return k;
    }
    return -1;
}

const char *incident_notice_name(enum incident_notice n)
{
    switch (n) {
    case NOTICE_UPDATE:
        return "update";
    case NOTICE_STEP:
        return "step";
    case NOTICE_ACK:
        return "ack";
    case NOTICE_UNACK:
        return "unack";
    }
    return "update";
}

struct incident *incident_new(void)
{
    struct incident *inc = calloc(1, sizeof(*inc));

    if (inc == NULL)
        return NULL;
    labels_init(&inc->group_labels);
    inc->state = INCIDENT_FIRING;
    inc->heap_idx = (size_t)-1;
    return inc;
}

void incident_event_release(struct incident_event *ev)
{
    if (ev == NULL)
        return;
    free(ev->by);
    free(ev->via);
    free(ev->comment);
    for (size_t i = 0; i < ev->n_receivers; i++)
        free(ev->receivers[i]);
    free(ev->receivers);
    memset(ev, 0, sizeof(*ev));
}

void incident_free(struct incident *inc)
{
    if (inc == NULL)
        return;
    free(inc->group_key);
    free(inc->route_id);
    free(inc->team);
    free(inc->policy);
    free(inc->receiver);
    labels_release(&inc->group_labels);
    free(inc->acked_by);
    free(inc->ack_via);
    free(inc->ack_comment);
    for (size_t i = 0; i < inc->n_reached; i++)
        free(inc->reached[i]);
    free(inc->reached);
    for (size_t i = 0; i < inc->n_history; i++)
        incident_event_release(&inc->history[i]);
    free(inc->history);
    free(inc);
}

/* Index of name in the sorted reached list, or where it would go (*found false). */
static size_t reached_pos(const struct incident *inc, const char *name, bool *found)
{
    size_t lo = 0, hi = inc->n_reached;

    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(inc->reached[mid], name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool incident_reached(const struct incident *inc, const char *name)
{
    bool found;

    (void)reached_pos(inc, name, &found);
    return found;
}

int incident_add_reached(struct incident *inc, const char *name)
{
    bool found;
    size_t pos = reached_pos(inc, name, &found);
    char **v, *dup;

    if (found)
        return 0;
    dup = strdup(name);
    if (dup == NULL)
        return -1;
    v = realloc(inc->reached, (inc->n_reached + 1) * sizeof(*v));
    if (v == NULL) {
        free(dup);
        return -1;
    }
    inc->reached = v;
    memmove(&v[pos + 1], &v[pos], (inc->n_reached - pos) * sizeof(*v));
    v[pos] = dup;
    inc->n_reached++;
    return 1;
}

int incident_add_event(struct incident *inc, struct incident_event *ev)
{
    struct incident_event *v;

    if (inc->n_history >= INCIDENT_HISTORY_MAX) {
        /* Keep "opened" (the first event); drop the oldest after it. */
        incident_event_release(&inc->history[1]);
        memmove(&inc->history[1], &inc->history[2], (inc->n_history - 2) * sizeof(*inc->history));
        inc->n_history--;
    }
    v = realloc(inc->history, (inc->n_history + 1) * sizeof(*v));
    if (v == NULL) {
        incident_event_release(ev);
        return -1;
    }
    inc->history = v;
    v[inc->n_history++] = *ev;
    memset(ev, 0, sizeof(*ev));
    return 0;
}

/* ------------------------------------------------------------------ JSON */

static int set(json_t *o, const char *k, json_t *v)
{
    return v == NULL ? -1 : json_object_set_new(o, k, v);
}

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t ms)
{
    return ms != 0 ? time_to_json(ms) : json_null();
}

static json_t *strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *event_json(const struct incident_event *ev)
{
    json_t *o = json_object();

    if (o == NULL || set(o, "at", time_to_json(ev->at)) < 0 ||
        set(o, "event", json_string(incident_event_name(ev->kind))) < 0)
        goto fail;
    if (ev->kind == IEV_NOTIFIED &&
        (set(o, "step", json_integer(ev->step)) < 0 || set(o, "run", json_integer(ev->run)) < 0 ||
         set(o, "receivers", strv_json(ev->receivers, ev->n_receivers)) < 0))
        goto fail;
    if (ev->by != NULL && set(o, "by", json_string(ev->by)) < 0)
        goto fail;
    if (ev->via != NULL && set(o, "via", json_string(ev->via)) < 0)
        goto fail;
    if (ev->comment != NULL && set(o, "comment", json_string(ev->comment)) < 0)
        goto fail;
    if (ev->kind == IEV_REOPENED) {
        char fp[FINGERPRINT_STRLEN];
        fingerprint_format(ev->fingerprint, fp);
        if (set(o, "fingerprint", json_string(fp)) < 0)
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *incident_history_json(const struct incident *inc)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < inc->n_history; i++) {
        if (json_array_append_new(a, event_json(&inc->history[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *ack_json(const struct incident *inc)
{
    json_t *o;

    if (inc->state != INCIDENT_ACKNOWLEDGED)
        return json_null();
    o = json_object();
    if (o == NULL || set(o, "by", str_or_null(inc->acked_by)) < 0 ||
        set(o, "at", time_or_null(inc->acked_at)) < 0 ||
        set(o, "via", str_or_null(inc->ack_via)) < 0 ||
        set(o, "comment", str_or_null(inc->ack_comment)) < 0 ||
        set(o, "expiresAt", time_or_null(inc->ack_expires_at)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *incident_to_json(const struct incident *inc, bool internal)
{
    json_t *o = json_object();

    if (o == NULL || set(o, "id", json_integer((json_int_t)inc->id)) < 0 ||
        set(o, "state", json_string(incident_state_name(inc->state))) < 0 ||
        set(o, "groupKey", str_or_null(inc->group_key)) < 0 ||
        set(o, "groupLabels", labels_to_json(&inc->group_labels)) < 0 ||
        set(o, "route", str_or_null(inc->route_id)) < 0 ||
        set(o, "team", str_or_null(inc->team)) < 0 ||
        set(o, "policy", str_or_null(inc->policy)) < 0 ||
        set(o, "receiver", str_or_null(inc->receiver)) < 0 ||
        set(o, "openedAt", time_to_json(inc->opened_at)) < 0 ||
        set(o, "resolvedAt", time_or_null(inc->resolved_at)) < 0 ||
        set(o, "step", json_integer(inc->last_step)) < 0 ||
        set(o, "run", json_integer(inc->last_run)) < 0 ||
        set(o, "nextStepAt", time_or_null(inc->state == INCIDENT_FIRING ? inc->step_due : 0)) < 0 ||
        set(o, "reached", strv_json(inc->reached, inc->n_reached)) < 0 ||
        set(o, "ack", ack_json(inc)) < 0)
        goto fail;
    if (internal) {
        json_t *in = json_object();
        if (set(o, "internal", in) < 0 ||
            set(in, "generation", json_integer((json_int_t)inc->generation)) < 0 ||
            set(in, "baseAt", json_integer(inc->base_at)) < 0 ||
            set(in, "nextStep", json_integer((json_int_t)inc->next_step)) < 0 ||
            set(in, "stepDue", json_integer(inc->step_due)) < 0 ||
            set(in, "ackedBy", str_or_null(inc->acked_by)) < 0 ||
            set(in, "ackVia", str_or_null(inc->ack_via)) < 0 ||
            set(in, "ackComment", str_or_null(inc->ack_comment)) < 0 ||
            set(in, "ackedAt", json_integer(inc->acked_at)) < 0 ||
            set(in, "ackExpiresAt", json_integer(inc->ack_expires_at)) < 0 ||
            set(o, "history", incident_history_json(inc)) < 0)
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

/* ------------------------------------------------------------------ decode */

static int get_int(const json_t *o, const char *k, const char *path, int64_t *out,
                   struct error *err)
{
    const json_t *v = json_object_get(o, k);

    if (v == NULL || json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v))
        return error_set(err, "%s.%s: must be an integer", path, k);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int get_str(const json_t *o, const char *k, const char *path, char **out, struct error *err)
{
    const json_t *v = json_object_get(o, k);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return error_set(err, "%s.%s: must be a string", path, k);
    *out = strdup(json_string_value(v));
    return *out == NULL ? error_set(err, "%s: out of memory", path) : 0;
}

static int get_time(const json_t *o, const char *k, const char *path, int64_t *out,
                    struct error *err)
{
    char p[64];

    snprintf(p, sizeof(p), "%s.%s", path, k);
    return time_from_json(json_object_get(o, k), p, out, err);
}

static int get_strv(const json_t *o, const char *k, const char *path, char ***v, size_t *n,
                    struct error *err)
{
    const json_t *a = json_object_get(o, k);
    size_t i;
    json_t *it;

    *v = NULL;
    *n = 0;
    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return error_set(err, "%s.%s: must be an array of strings", path, k);
    *v = calloc(json_array_size(a) + 1, sizeof(char *));
    if (*v == NULL)
        return error_set(err, "%s: out of memory", path);
    json_array_foreach(a, i, it)
    {
        if (!json_is_string(it))
            return error_set(err, "%s.%s[%zu]: must be a string", path, k, i);
        (*v)[i] = strdup(json_string_value(it));
        if ((*v)[i] == NULL)
            return error_set(err, "%s: out of memory", path);
        *n = i + 1;
    }
    return 0;
}

static int event_from_json(const json_t *o, const char *path, struct incident_event *ev,
                           struct error *err)
{
    const json_t *e = json_object_get(o, "event");
    const json_t *fp = json_object_get(o, "fingerprint");
    int64_t step = 0, run = 0;
    int k;

    memset(ev, 0, sizeof(*ev));
    if (!json_is_object(o))
        return error_set(err, "%s: must be an object", path);
    k = event_parse(json_is_string(e) ? json_string_value(e) : NULL);
    if (k < 0)
        return error_set(err, "%s.event: unknown event", path);
    ev->kind = (enum incident_event_kind)k;
    if (get_time(o, "at", path, &ev->at, err) < 0 || get_int(o, "step", path, &step, err) < 0 ||
        get_int(o, "run", path, &run, err) < 0 || get_str(o, "by", path, &ev->by, err) < 0 ||
        get_str(o, "via", path, &ev->via, err) < 0 ||
        get_str(o, "comment", path, &ev->comment, err) < 0 ||
        get_strv(o, "receivers", path, &ev->receivers, &ev->n_receivers, err) < 0)
        return -1;
    ev->step = (int)step;
    ev->run = (int)run;
    if (json_is_string(fp) && fingerprint_parse(json_string_value(fp), &ev->fingerprint) < 0)
        return error_set(err, "%s.fingerprint: invalid", path);
    return 0;
}

int incident_from_json(const json_t *o, struct incident **out, struct error *err)
{
    struct incident *inc = incident_new();
    const json_t *in = json_object_get(o, "internal");
    const json_t *st = json_object_get(o, "state");
    const json_t *h = json_object_get(o, "history");
    int64_t id = 0, gen = 0, next = 0, step = 0, run = 0;
    int s;

    *out = NULL;
    if (inc == NULL)
        return error_set(err, "incident: out of memory");
    if (!json_is_object(o) || !json_is_object(in)) {
        error_set(err, "incident: must be an object with an internal part");
        goto fail;
    }
    s = incident_state_parse(json_is_string(st) ? json_string_value(st) : NULL);
    if (s < 0) {
        error_set(err, "incident.state: unknown state");
        goto fail;
    }
    inc->state = (enum incident_state)s;
    if (get_int(o, "id", "incident", &id, err) < 0 ||
        get_str(o, "groupKey", "incident", &inc->group_key, err) < 0 ||
        get_str(o, "route", "incident", &inc->route_id, err) < 0 ||
        get_str(o, "team", "incident", &inc->team, err) < 0 ||
        get_str(o, "policy", "incident", &inc->policy, err) < 0 ||
        get_str(o, "receiver", "incident", &inc->receiver, err) < 0 ||
        (json_object_get(o, "groupLabels") != NULL &&
         labels_from_json(&inc->group_labels, json_object_get(o, "groupLabels"),
                          "incident.groupLabels", err) < 0) ||
        get_time(o, "openedAt", "incident", &inc->opened_at, err) < 0 ||
        get_time(o, "resolvedAt", "incident", &inc->resolved_at, err) < 0 ||
        get_int(o, "step", "incident", &step, err) < 0 ||
        get_int(o, "run", "incident", &run, err) < 0 ||
        get_strv(o, "reached", "incident", &inc->reached, &inc->n_reached, err) < 0 ||
        get_int(in, "generation", "incident.internal", &gen, err) < 0 ||
        get_int(in, "baseAt", "incident.internal", &inc->base_at, err) < 0 ||
        get_int(in, "nextStep", "incident.internal", &next, err) < 0 ||
        get_int(in, "stepDue", "incident.internal", &inc->step_due, err) < 0 ||
        get_str(in, "ackedBy", "incident.internal", &inc->acked_by, err) < 0 ||
        get_str(in, "ackVia", "incident.internal", &inc->ack_via, err) < 0 ||
        get_str(in, "ackComment", "incident.internal", &inc->ack_comment, err) < 0 ||
        get_int(in, "ackedAt", "incident.internal", &inc->acked_at, err) < 0 ||
        get_int(in, "ackExpiresAt", "incident.internal", &inc->ack_expires_at, err) < 0)
        goto fail;
    if (id <= 0 || inc->group_key == NULL || next < 0) {
        error_set(err, "incident: id, groupKey and nextStep required");
        goto fail;
    }
    inc->id = (uint64_t)id;
    inc->generation = (uint64_t)gen;
    inc->next_step = (size_t)next;
    inc->last_step = (int)step;
    inc->last_run = (int)run;
    if (h != NULL && !json_is_array(h)) {
        error_set(err, "incident.history: must be an array");
        goto fail;
    }
    for (size_t i = 0; h != NULL && i < json_array_size(h); i++) {
        struct incident_event ev;
        char p[48];
        snprintf(p, sizeof(p), "incident.history[%zu]", i);
        if (event_from_json(json_array_get(h, i), p, &ev, err) < 0) {
            incident_event_release(&ev);
            goto fail;
        }
        if (incident_add_event(inc, &ev) < 0) {
            error_set(err, "incident: out of memory");
            goto fail;
        }
    }
    *out = inc;
    return 0;
fail:
    incident_free(inc);
    return -1;
}
