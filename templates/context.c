/*
 * context.c - builds the webhook payload and the template context (see context.h).
 *
 * One builder makes both: the webhook payload is the template context without
 * the extras, so the two can never disagree on a field they share. Every
 * json_t made here is owned by the object it is set into; on any allocation
 * failure the partial result is dropped and NULL returned.
 *
 * Speed: the alerts of a group mostly share their labels and annotations, so the
 * builder interns (struct intern) the string values and the {name, value, last}
 * list entries: one json_t per distinct one, referenced from every place it
 * appears. The result is therefore a DAG, not a tree: callers may add or replace
 * keys of the root object, but must not modify anything below it in place.
 */
#include "templates/context.h"
#include "templates/mustache.h"

#include "core/alert.h"
#include "core/jsonutil.h"
#include "core/labels.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/testable.h"
#include "core/timefmt.h"

#include <pthread.h>
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

/* Interned values of one build: strings (kind 0) and list entries (kind 1: not
 * last, 2: last), keyed by the strings' contents. The table holds one reference to
 * each json_t; name and value point into the build's input. */
struct ientry {
    uint64_t h;
    const char *name; /* NULL for strings */
    const char *value;
    int kind;
    json_t *j;
};

struct intern {
    struct ientry *v;
    size_t n, cap; /* cap: a power of two, or 0 */
    json_t *unset; /* endsAt of every firing alert, "0001-01-01T00:00:00Z" */
};

static void intern_release(struct intern *in)
{
    json_decref(in->unset);
    for (size_t i = 0; i < in->cap; i++)
        json_decref(in->v[i].j);
    free(in->v);
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL;
}

static int intern_grow(struct intern *in)
{
    size_t ncap = in->cap ? in->cap * 2 : 256;
    struct ientry *nv = calloc(ncap, sizeof(*nv));

    if (nv == NULL)
        return -1;
    for (size_t i = 0; i < in->cap; i++) {
        size_t k;

        if (in->v[i].j == NULL)
            continue;
        for (k = in->v[i].h & (ncap - 1); nv[k].j != NULL; k = (k + 1) & (ncap - 1))
            ;
        nv[k] = in->v[i];
    }
    free(in->v);
    in->v = nv;
    in->cap = ncap;
    return 0;
}

static json_t *make_entry(struct intern *in, const char *name, const char *value, bool last);

/* The interned json_t for (kind, name, value), made on first use; a borrowed
 * reference (the table keeps it alive), NULL when memory runs out. */
static json_t *intern_get(struct intern *in, int kind, const char *name, const char *value)
{
    uint64_t h = fnv(fnv(0xcbf29ce484222325ULL + (uint64_t)kind, name ? name : ""), value);
    size_t k;
    json_t *j;

    if (2 * (in->n + 1) > in->cap && intern_grow(in) < 0)
        return NULL;
    for (k = h & (in->cap - 1); in->v[k].j != NULL; k = (k + 1) & (in->cap - 1)) {
        const struct ientry *e = &in->v[k];

        if (e->h == h && e->kind == kind && strcmp(e->value, value) == 0 &&
            (name == NULL || strcmp(e->name, name) == 0))
            return e->j;
    }
    j = kind == 0 ? json_string(value) : make_entry(in, name, value, kind == 2);
    if (j == NULL)
        return NULL;
    /* make_entry() may have grown the table: find the free slot again. */
    for (k = h & (in->cap - 1); in->v[k].j != NULL; k = (k + 1) & (in->cap - 1))
        ;
    in->v[k].h = h;
    in->v[k].name = name;
    in->v[k].value = value;
    in->v[k].kind = kind;
    in->v[k].j = j;
    in->n++;
    return j;
}

/* Sets key to an interned (borrowed) value, taking a reference. */
static int put_shared(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL)
        return -1;
    return json_object_set(obj, key, v);
}

static json_t *make_entry(struct intern *in, const char *name, const char *value, bool last)
{
    json_t *o = json_object();

    if (o == NULL || put_shared(o, "name", intern_get(in, 0, NULL, name)) < 0 ||
        put_shared(o, "value", intern_get(in, 0, NULL, value)) < 0 ||
        put(o, "last", json_boolean(last)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* [{"name": n, "value": v, "last": false}, ...] in name order; "last" is true on the
 * final pair, so a template can write separators: {{^last}}, {{/last}}. */
static json_t *labels_list(struct intern *in, const struct labels *ls)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; ls != NULL && i < ls->n; i++) {
        json_t *e = intern_get(in, i + 1 == ls->n ? 2 : 1, ls->v[i].name, ls->v[i].value);

        if (e == NULL || json_array_append(arr, e) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *labels_obj(struct intern *in, const struct labels *ls)
{
    json_t *obj = json_object();

    if (obj == NULL)
        return NULL;
    for (size_t i = 0; ls != NULL && i < ls->n; i++) {
        if (put_shared(obj, ls->v[i].name, intern_get(in, 0, NULL, ls->v[i].value)) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* Times are formatted by hand: strftime() and snprintf() were a tenth of the build.
 * Only years 1..9999 and times after 1970 take the fast path; anything else goes
 * through the general code, so the text is the same either way (the unit test
 * compares both over many times). */
struct civil {
    int y, mo, d, h, mi, s, ms;
};

/* ms (>= 0) as a UTC calendar time; -1 outside years 1970..9999. */
static int civil_of(int64_t ms, struct civil *c)
{
    int64_t days, secs, z, era, doe, yoe, doy, mp;

    if (ms < 0 || ms >= 253402300800000LL) /* 10000-01-01 */
        return -1;
    days = ms / 86400000;
    secs = (ms % 86400000) / 1000;
    c->ms = (int)(ms % 1000);
    c->h = (int)(secs / 3600);
    c->mi = (int)(secs / 60 % 60);
    c->s = (int)(secs % 60);
    /* Howard Hinnant's days_from_civil, inverted. */
    z = days + 719468;
    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->mo = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->y = (int)(yoe + era * 400 + (c->mo <= 2));
    return 0;
}

static char *digits(char *p, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* "2026-11-23?12:00:00" with sep between date and time; returns the end. */
static char *date_time(char *p, const struct civil *c, char sep)
{
    p = digits(p, c->y, 4);
    *p++ = '-';
    p = digits(p, c->mo, 2);
    *p++ = '-';
    p = digits(p, c->d, 2);
    *p++ = sep;
    p = digits(p, c->h, 2);
    *p++ = ':';
    p = digits(p, c->mi, 2);
    *p++ = ':';
    return digits(p, c->s, 2);
}

/* "2026-11-23 12:00:00 UTC"; "" for TIME_UNSET. out has 64 bytes. */
TESTABLE const char *context_time_text(int64_t ms, char *out)
{
    struct civil c;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms == TIME_UNSET)
        return "";
    if (civil_of(ms, &c) == 0) {
        memcpy(date_time(out, &c, ' '), " UTC", 5);
        return out;
    }
    if (gmtime_r(&t, &tm) == NULL)
        return "";
    strftime(out, 64, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return out;
}

/* Go's RFC3339Nano for a time in ms, as time_format_rfc3339nano() writes it
 * ("2026-11-23T12:00:00.5Z": trailing zeros of the fraction dropped). out has
 * TIME_STRMAX bytes. */
TESTABLE const char *context_time_nano(int64_t ms, char *out)
{
    struct civil c;
    char *p;

    if (ms == TIME_UNSET || civil_of(ms, &c) < 0)
        return time_format_rfc3339nano(ms, out, TIME_STRMAX);
    p = date_time(out, &c, 'T');
    if (c.ms != 0) {
        int v = c.ms, n = 3;

        while (v % 10 == 0) {
            v /= 10;
            n--;
        }
        *p++ = '.';
        p = digits(p, v, n);
    }
    memcpy(p, "Z", 2);
    return out;
}

static json_t *time_text(int64_t ms)
{
    char out[64];

    return json_string(context_time_text(ms, out));
}

static json_t *time_nano(int64_t ms)
{
    char out[TIME_STRMAX];

    return json_string(context_time_nano(ms, out));
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

static json_t *alert_obj(struct intern *in, const struct alert *a, int64_t now, bool extras)
{
    json_t *o = json_object();
    bool resolved = alert_resolved_at(a, now);
    char fp[FINGERPRINT_STRLEN];

    if (o == NULL)
        return NULL;
    fingerprint_format(a->fingerprint, fp);
    if (put(o, "status", json_string(resolved ? "resolved" : "firing")) < 0 ||
        put(o, "labels", labels_obj(in, &a->labels)) < 0 ||
        put(o, "annotations", labels_obj(in, &a->annotations)) < 0 ||
        put(o, "startsAt", time_nano(a->starts_at)) < 0 ||
        put(o, "endsAt", resolved ? time_nano(a->ends_at) : json_incref(in->unset)) < 0 ||
        put_shared(o, "generatorURL",
                   intern_get(in, 0, NULL, a->generator_url ? a->generator_url : "")) < 0 ||
        put(o, "fingerprint", json_string(fp)) < 0)
        goto fail;
    if (extras && (put(o, "firing", json_boolean(!resolved)) < 0 ||
                   put(o, "resolved", json_boolean(resolved)) < 0 ||
                   put(o, "labelsList", labels_list(in, &a->labels)) < 0 ||
                   put(o, "annotationsList", labels_list(in, &a->annotations)) < 0 ||
                   put(o, "startsAtText", time_text(a->starts_at)) < 0 ||
                   (resolved ? put(o, "endsAtText", time_text(a->ends_at))
                             : put_shared(o, "endsAtText", intern_get(in, 0, NULL, ""))) < 0))
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
    struct intern in = {NULL, 0, 0, time_nano(TIME_UNSET)};

    if (o == NULL || alerts == NULL || in.unset == NULL ||
        (extras && (firing_list == NULL || resolved_list == NULL)))
        goto out;
    if (d->max_alerts > 0 && shown > d->max_alerts)
        shown = d->max_alerts;
    for (size_t i = 0; i < d->n_alerts; i++)
        if (!alert_resolved_at(d->alerts[i], d->now))
            n_firing++;
    for (size_t i = 0; i < shown; i++) {
        json_t *a = alert_obj(&in, d->alerts[i], d->now, extras);

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
        put(o, "groupLabels", labels_obj(&in, d->group_labels)) < 0 ||
        put(o, "commonLabels", labels_obj(&in, &common_l)) < 0 ||
        put(o, "commonAnnotations", labels_obj(&in, &common_a)) < 0 ||
        put(o, "externalURL", str_or_empty(d->external_url)) < 0 ||
        put(o, "version", json_string("4")) < 0 ||
        put(o, "groupKey", str_or_empty(d->group_key)) < 0 ||
        put(o, "truncatedAlerts", json_integer((json_int_t)(d->n_alerts - shown))) < 0)
        goto out;
    if (extras &&
        (put(o, "groupLabelsList", labels_list(&in, d->group_labels)) < 0 ||
         put(o, "commonLabelsList", labels_list(&in, &common_l)) < 0 ||
         put(o, "commonAnnotationsList", labels_list(&in, &common_a)) < 0 ||
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
    /* After the tree took its references; common_l/common_a must outlive the table's
     * use of their strings, which ends here too. */
    intern_release(&in);
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

/* ----------------------------------------------------------------- shared */

/* The jobs of one notification (one per integration of a receiver) have the same
 * inputs, so the context and its prepared data are built for the first and found
 * again by the others: a few slots keyed by every input, byte for byte. */
struct context_shared {
    char *key;
    size_t key_len;
    json_t *ctx;
    struct mustache_data *data;
    unsigned refs; /* holders, plus one while in a slot */
};

#define SHARED_SLOTS 4
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static struct context_shared *shared_slot[SHARED_SLOTS];
static unsigned shared_next;

/* NULL and "" differ for some fields (acked_by), so strings carry a marker. */
static int key_str(struct buf *b, const char *s)
{
    if (s == NULL)
        return buf_appendc(b, '\0');
    if (buf_appendc(b, '\1') < 0)
        return -1;
    return buf_append(b, s, strlen(s) + 1);
}

static int key_int(struct buf *b, int64_t v)
{
    return buf_append(b, &v, sizeof(v));
}

static int key_labels(struct buf *b, const struct labels *ls)
{
    if (key_int(b, ls != NULL ? (int64_t)ls->n : -1) < 0)
        return -1;
    for (size_t i = 0; ls != NULL && i < ls->n; i++)
        if (key_str(b, ls->v[i].name) < 0 || key_str(b, ls->v[i].value) < 0)
            return -1;
    return 0;
}

/* Every input context_template() reads, in a fixed order. */
static int shared_key(const struct notify_data *d, struct buf *b)
{
    const struct notify_incident *in = d->incident;

    if (key_str(b, d->receiver) < 0 || key_str(b, d->group_key) < 0 ||
        key_str(b, d->external_url) < 0 || key_int(b, d->now) < 0 ||
        key_int(b, (int64_t)d->max_alerts) < 0 || key_labels(b, d->group_labels) < 0 ||
        key_int(b, in != NULL) < 0)
        return -1;
    if (in != NULL &&
        (key_int(b, in->id) < 0 || key_str(b, in->url) < 0 || key_str(b, in->ack_url) < 0 ||
         key_str(b, in->status) < 0 || key_str(b, in->acked_by) < 0 ||
         key_int(b, in->acked_at) < 0 || key_str(b, in->comment) < 0 || key_int(b, in->step) < 0))
        return -1;
    if (key_int(b, (int64_t)d->n_alerts) < 0)
        return -1;
    for (size_t i = 0; i < d->n_alerts; i++) {
        const struct alert *a = d->alerts[i];

        if (key_int(b, (int64_t)a->fingerprint) < 0 || key_int(b, a->starts_at) < 0 ||
            key_int(b, a->ends_at) < 0 || key_str(b, a->generator_url) < 0 ||
            key_labels(b, &a->labels) < 0 || key_labels(b, &a->annotations) < 0)
            return -1;
    }
    return 0;
}

static void shared_unref(struct context_shared *s)
{
    /* Called with shared_mu held. */
    if (s == NULL || --s->refs > 0)
        return;
    mustache_data_free(s->data);
    json_decref(s->ctx);
    free(s->key);
    free(s);
}

struct context_shared *context_shared_get(const struct notify_data *d)
{
    struct context_shared *s = NULL, *old;
    struct buf key;
    struct error err;

    buf_init(&key, (size_t)1 << 30);
    if (shared_key(d, &key) < 0 || key.ptr == NULL)
        goto out;
    pthread_mutex_lock(&shared_mu);
    for (unsigned i = 0; i < SHARED_SLOTS; i++) {
        struct context_shared *x = shared_slot[i];

        if (x != NULL && x->key_len == key.len && memcmp(x->key, key.ptr, key.len) == 0) {
            x->refs++;
            s = x;
            break;
        }
    }
    pthread_mutex_unlock(&shared_mu);
    if (s != NULL)
        goto out;
    /* Built outside the lock; two threads may build the same one, which is fine. */
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto out;
    s->ctx = context_template(d);
    s->data = s->ctx != NULL ? mustache_data_new(s->ctx, &err) : NULL;
    if (s->data == NULL) {
        json_decref(s->ctx);
        free(s);
        s = NULL;
        goto out;
    }
    s->key_len = key.len;
    s->key = buf_detach(&key);
    s->refs = s->key != NULL ? 2 : 1;
    if (s->key != NULL) {
        pthread_mutex_lock(&shared_mu);
        old = shared_slot[shared_next];
        shared_slot[shared_next] = s;
        shared_next = (shared_next + 1) % SHARED_SLOTS;
        shared_unref(old);
        pthread_mutex_unlock(&shared_mu);
    }
out:
    buf_release(&key);
    return s;
}

json_t *context_shared_json(const struct context_shared *s)
{
    return s->ctx;
}

const struct mustache_data *context_shared_data(const struct context_shared *s)
{
    return s->data;
}

void context_shared_release(struct context_shared *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&shared_mu);
    shared_unref(s);
    pthread_mutex_unlock(&shared_mu);
}

void context_shared_flush(void)
{
    pthread_mutex_lock(&shared_mu);
    for (unsigned i = 0; i < SHARED_SLOTS; i++) {
        shared_unref(shared_slot[i]);
        shared_slot[i] = NULL;
    }
    pthread_mutex_unlock(&shared_mu);
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
