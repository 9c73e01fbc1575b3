/*
 * codec.c - JSON encoding of the values storage keeps (see codec.h).
 *
 * Every decoder is strict about types (a stored row was written by an encoder
 * here, so anything else is corruption and is reported with the field name)
 * and lenient about missing optional keys, so older rows decode after a field
 * is added.
 */
#include "storage/codec.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/jsonutil.h"
#include "core/labels.h"
#include "core/matcher.h"
#include "core/timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dump(json_t *o)
{
    char *s;

    if (o == NULL)
        return NULL;
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static json_t *load(const char *text, const char *what, struct error *err)
{
    json_error_t je;
    json_t *o = json_loads(text != NULL ? text : "", 0, &je);

    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        error_set(err, "%s: not a JSON object: %s", what, o == NULL ? je.text : "wrong type");
        return NULL;
    }
    return o;
}

static int get_int(const json_t *o, const char *key, int64_t *out, struct error *err)
{
    const json_t *v = json_object_get(o, key);

    if (v == NULL) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v))
        return error_set(err, "%s: must be an integer", key);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* A copy of an optional string field (NULL when missing or null). */
static int get_str(const json_t *o, const char *key, char **out, struct error *err)
{
    const json_t *v = json_object_get(o, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return error_set(err, "%s: must be a string", key);
    *out = strdup(json_string_value(v));
    return *out == NULL ? error_set(err, "%s: out of memory", key) : 0;
}

static int get_labels(const json_t *o, const char *key, struct labels *ls, struct error *err)
{
    const json_t *v = json_object_get(o, key);

    if (v == NULL)
        return 0;
    return labels_from_json(ls, v, key, err);
}

json_t *codec_fps_to_json(const uint64_t *fps, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < n; i++) {
        char hex[FINGERPRINT_STRLEN];

        fingerprint_format(fps[i], hex);
        if (json_array_append_new(a, json_string(hex)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int codec_fps_from_json(const json_t *v, uint64_t **out, size_t *n, struct error *err)
{
    uint64_t *fps = NULL;
    size_t cnt;

    *out = NULL;
    *n = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return error_set(err, "fingerprints: must be an array");
    cnt = json_array_size(v);
    if (cnt == 0)
        return 0;
    fps = calloc(cnt, sizeof(*fps));
    if (fps == NULL)
        return error_set(err, "fingerprints: out of memory");
    for (size_t i = 0; i < cnt; i++) {
        const json_t *e = json_array_get(v, i);

        if (!json_is_string(e) || fingerprint_parse(json_string_value(e), &fps[i]) < 0) {
            free(fps);
            return error_set(err, "fingerprints[%zu]: not a fingerprint", i);
        }
    }
    *out = fps;
    *n = cnt;
    return 0;
}

/* ------------------------------------------------------------------ alerts */

json_t *codec_alert_to_json(const struct alert *a)
{
    json_t *o = json_object();
    json_t *lab = labels_to_json(&a->labels);
    json_t *ann = labels_to_json(&a->annotations);

    if (o == NULL || lab == NULL || ann == NULL)
        goto fail;
    if (json_object_set_new(o, "labels", lab) < 0) {
        lab = NULL;
        goto fail;
    }
    lab = NULL;
    if (json_object_set_new(o, "annotations", ann) < 0) {
        ann = NULL;
        goto fail;
    }
    ann = NULL;
    if (json_object_set_new(o, "startsAt", json_integer(a->starts_at)) < 0 ||
        json_object_set_new(o, "endsAt", json_integer(a->ends_at)) < 0 ||
        json_object_set_new(o, "updatedAt", json_integer(a->updated_at)) < 0 ||
        json_object_set_new(o, "timeout", json_boolean(a->timeout)) < 0)
        goto fail;
    if (a->generator_url != NULL &&
        json_object_set_new(o, "generatorURL", json_string(a->generator_url)) < 0)
        goto fail;
    return o;
fail:
    json_decref(o);
    json_decref(lab);
    json_decref(ann);
    return NULL;
}

int codec_alert_from_json(const json_t *o, struct alert *a, struct error *err)
{
    const json_t *t;
    char *url = NULL;

    alert_release(a);
    if (!json_is_object(o))
        return error_set(err, "alert: must be an object");
    if (get_labels(o, "labels", &a->labels, err) < 0 ||
        get_labels(o, "annotations", &a->annotations, err) < 0 ||
        get_int(o, "startsAt", &a->starts_at, err) < 0 ||
        get_int(o, "endsAt", &a->ends_at, err) < 0 ||
        get_int(o, "updatedAt", &a->updated_at, err) < 0 ||
        get_str(o, "generatorURL", &url, err) < 0)
        goto fail;
    t = json_object_get(o, "timeout");
    a->timeout = json_is_true(t);
    a->generator_url = url;
    alert_update_fingerprint(a);
    return 0;
fail:
    free(url);
    alert_release(a);
    return -1;
}

/* Bytes put_jstr must look at: '"', '\\', control characters, and non-ASCII
 * (validated as UTF-8); every other byte is copied as part of a run. */
#define ONES16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char jstr_special[256] = {
    ONES16, ONES16, ['"'] = 1, ['\\'] = 1, [0x80] = ONES16, ONES16,
    ONES16, ONES16, ONES16,    ONES16,     ONES16,          ONES16,
};
#undef ONES16

/* Appends s as a JSON string the way jansson's compact dump writes it ('"',
 * '\\' and control characters escaped, UTF-8 as is). -1 when s is not valid
 * UTF-8 (the caller falls back to jansson, which refuses it) or on OOM. */
static int put_jstr(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;

    if (buf_appendc(b, '"') < 0)
        return -1;
    for (;;) {
        unsigned char c;
        const char *esc = NULL;
        char u[8];
        size_t n;

        while (!jstr_special[*p])
            p++;
        c = *p;
        if (c == '\0')
            break;
        if (c >= 0x80) {
            /* One UTF-8 sequence: lead byte, then 1..3 continuation bytes. */
            uint32_t cp;

            n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
            if (n == 0 || c > 0xf4)
                return -1;
            cp = c & (0x3f >> (n - 1));
            for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                    return -1;
                cp = (cp << 6) | (p[i] & 0x3f);
            }
            if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                (cp >= 0xd800 && cp <= 0xdfff))
                return -1;
            p += n;
            continue;
        }
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else {
            snprintf(u, sizeof(u), "\\u%04X", c);
            esc = u;
        }
        if (buf_append(b, run, (size_t)(p - run)) < 0 || buf_appends(b, esc) < 0)
            return -1;
        p++;
        run = p;
    }
    if (buf_append(b, run, (size_t)(p - run)) < 0 || buf_appendc(b, '"') < 0)
        return -1;
    return 0;
}

static int put_jlabels(struct buf *b, const char *key, const struct labels *ls)
{
    if (buf_appendc(b, '"') < 0 || buf_appends(b, key) < 0 || buf_appends(b, "\":{") < 0)
        return -1;
    for (size_t i = 0; i < ls->n; i++) {
        if ((i > 0 && buf_appendc(b, ',') < 0) || put_jstr(b, ls->v[i].name) < 0 ||
            buf_appendc(b, ':') < 0 || put_jstr(b, ls->v[i].value) < 0)
            return -1;
    }
    return buf_appendc(b, '}');
}

/*
 * The same text as dump(codec_alert_to_json(a)) (a unit test compares them),
 * written straight into a buffer: this runs for every stored alert on the
 * engine thread, where building and dumping a jansson tree was about a sixth
 * of the ingest time. Falls back to jansson for anything unusual (a string
 * that is not UTF-8, a duplicate label name), so what is refused stays refused.
 */
/* Appends v in decimal (what "%" PRId64 prints), without stdio. */
static int put_i64(struct buf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    return buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* The encoded size of an alert without escapes: keys, quotes and separators
 * of every pair, the three times at their widest, the URL. */
static size_t encoded_size(const struct alert *a)
{
    size_t n = 160;

    for (size_t i = 0; i < a->labels.n; i++)
        n += strlen(a->labels.v[i].name) + strlen(a->labels.v[i].value) + 6;
    for (size_t i = 0; i < a->annotations.n; i++)
        n += strlen(a->annotations.v[i].name) + strlen(a->annotations.v[i].value) + 6;
    if (a->generator_url != NULL)
        n += strlen(a->generator_url) + 20;
    return n;
}

char *codec_encode_alert(const struct alert *a)
{
    struct buf b;

    buf_init(&b, (size_t)1 << 30);
    /* One allocation instead of doubling from 64 bytes (five reallocs for a
     * typical alert); an escape-heavy alert still grows as needed. */
    if (buf_grow(&b, encoded_size(a)) < 0)
        goto slow;
    for (size_t i = 1; i < a->labels.n; i++) {
        if (strcmp(a->labels.v[i - 1].name, a->labels.v[i].name) == 0)
            goto slow;
    }
    for (size_t i = 1; i < a->annotations.n; i++) {
        if (strcmp(a->annotations.v[i - 1].name, a->annotations.v[i].name) == 0)
            goto slow;
    }
    if (buf_appendc(&b, '{') < 0 || put_jlabels(&b, "labels", &a->labels) < 0 ||
        buf_appendc(&b, ',') < 0 || put_jlabels(&b, "annotations", &a->annotations) < 0 ||
        buf_appends(&b, ",\"startsAt\":") < 0 || put_i64(&b, a->starts_at) < 0 ||
        buf_appends(&b, ",\"endsAt\":") < 0 || put_i64(&b, a->ends_at) < 0 ||
        buf_appends(&b, ",\"updatedAt\":") < 0 || put_i64(&b, a->updated_at) < 0 ||
        buf_appends(&b, a->timeout ? ",\"timeout\":true" : ",\"timeout\":false") < 0)
        goto slow;
    if (a->generator_url != NULL &&
        (buf_appends(&b, ",\"generatorURL\":") < 0 || put_jstr(&b, a->generator_url) < 0))
        goto slow;
    if (buf_appendc(&b, '}') < 0)
        goto slow;
    return buf_detach(&b);
slow:
    buf_release(&b);
    return dump(codec_alert_to_json(a));
}

/*
 * A reader for exactly what codec_encode_alert writes (compact, keys in its
 * order, strings without escapes), used first when loading alert rows: with
 * 100k alerts stored, jansson's tree was over half of the start-up time.
 * Works in place on a copy of the text. Returns 1 when it decoded the row into
 * *a, 0 when the row is anything else (the caller then uses jansson, which also
 * gives the error messages), -1 when memory runs out.
 */
struct scan {
    char *p;
};

static bool lit(struct scan *sc, const char *s)
{
    size_t n = strlen(s);

    if (strncmp(sc->p, s, n) != 0)
        return false;
    sc->p += n;
    return true;
}

/* A string without escapes or control characters, NUL-terminated in place. */
static char *scan_str(struct scan *sc)
{
    char *start, *q;

    if (*sc->p != '"')
        return NULL;
    start = q = sc->p + 1;
    while (*q != '"') {
        if (*q == '\0' || *q == '\\' || (unsigned char)*q < 0x20)
            return NULL;
        q++;
    }
    if (!utf8_valid(start, (size_t)(q - start)))
        return NULL;
    *q = '\0';
    sc->p = q + 1;
    return start;
}

static bool scan_int(struct scan *sc, int64_t *out)
{
    char *end;
    long long v;

    if (!(*sc->p == '-' || (*sc->p >= '0' && *sc->p <= '9')))
        return false;
    errno = 0;
    v = strtoll(sc->p, &end, 10);
    if (errno != 0 || end == sc->p || *end == '.' || *end == 'e' || *end == 'E')
        return false;
    sc->p = end;
    *out = (int64_t)v;
    return true;
}

/* 1 ok, 0 not this format, -1 OOM. */
static int scan_labels(struct scan *sc, struct labels *ls)
{
    if (!lit(sc, "{"))
        return 0;
    if (lit(sc, "}"))
        return 1;
    for (;;) {
        char *name = scan_str(sc);
        char *value;

        if (name == NULL || !label_name_valid(name) || !lit(sc, ":"))
            return 0;
        value = scan_str(sc);
        if (value == NULL)
            return 0;
        if (labels_set(ls, name, value) < 0)
            return -1;
        if (lit(sc, "}"))
            return 1;
        if (!lit(sc, ","))
            return 0;
    }
}

static int fast_decode_alert(const char *text, struct alert *a)
{
    struct scan sc;
    char *copy = strdup(text);
    char *url = NULL;
    int rc = 0;

    if (copy == NULL)
        return -1;
    sc.p = copy;
    if (!lit(&sc, "{\"labels\":") || (rc = scan_labels(&sc, &a->labels)) != 1)
        goto out;
    rc = 0;
    if (!lit(&sc, ",\"annotations\":") || (rc = scan_labels(&sc, &a->annotations)) != 1)
        goto out;
    rc = 0;
    if (!lit(&sc, ",\"startsAt\":") || !scan_int(&sc, &a->starts_at) || !lit(&sc, ",\"endsAt\":") ||
        !scan_int(&sc, &a->ends_at) || !lit(&sc, ",\"updatedAt\":") ||
        !scan_int(&sc, &a->updated_at) || !lit(&sc, ",\"timeout\":"))
        goto out;
    if (lit(&sc, "true"))
        a->timeout = true;
    else if (lit(&sc, "false"))
        a->timeout = false;
    else
        goto out;
    if (lit(&sc, ",\"generatorURL\":")) {
        url = scan_str(&sc);
        if (url == NULL)
            goto out;
    }
    if (!lit(&sc, "}") || *sc.p != '\0')
        goto out;
    if (url != NULL) {
        a->generator_url = strdup(url);
        if (a->generator_url == NULL) {
            rc = -1;
            goto out;
        }
    }
    alert_update_fingerprint(a);
    rc = 1;
out:
    free(copy);
    if (rc != 1)
        alert_release(a);
    return rc;
}

int codec_decode_alert(const char *text, struct alert *a, struct error *err)
{
    json_t *o;
    int rc;

    alert_release(a);
    rc = fast_decode_alert(text, a);
    if (rc != 0)
        return rc == 1 ? 0 : error_set(err, "alert: out of memory");
    o = load(text, "alert", err);
    if (o == NULL)
        return -1;
    rc = codec_alert_from_json(o, a, err);
    json_decref(o);
    return rc;
}

/* ------------------------------------------------------------------ silences */

char *codec_encode_silence(const struct silence *s)
{
    json_t *o = json_object();
    json_t *ms = json_array();

    if (o == NULL || ms == NULL)
        goto fail;
    for (size_t i = 0; i < s->matchers.n; i++) {
        const struct matcher *m = &s->matchers.v[i];
        json_t *jm = json_pack("{s:s, s:s, s:s}", "name", m->name, "op", match_op_str(m->op),
                               "value", m->value);

        if (jm == NULL || json_array_append_new(ms, jm) < 0)
            goto fail;
    }
    if (json_object_set_new(o, "id", json_string(s->id)) < 0 ||
        json_object_set_new(o, "matchers", ms) < 0) {
        ms = NULL;
        goto fail;
    }
    ms = NULL;
    if (json_object_set_new(o, "startsAt", json_integer(s->starts_at)) < 0 ||
        json_object_set_new(o, "endsAt", json_integer(s->ends_at)) < 0 ||
        json_object_set_new(o, "updatedAt", json_integer(s->updated_at)) < 0 ||
        json_object_set_new(o, "createdBy", json_string(s->created_by ? s->created_by : "")) < 0 ||
        json_object_set_new(o, "comment", json_string(s->comment ? s->comment : "")) < 0)
        goto fail;
    return dump(o);
fail:
    json_decref(o);
    json_decref(ms);
    return NULL;
}

static int op_parse(const char *s, enum match_op *op)
{
    static const enum match_op ops[] = {MATCH_EQ, MATCH_NE, MATCH_RE, MATCH_NRE};

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(s, match_op_str(ops[i])) == 0) {
            *op = ops[i];
            return 0;
        }
    }
    return -1;
}

int codec_decode_silence(const char *text, struct silence *s, struct error *err)
{
    json_t *o = load(text, "silence", err);
    const json_t *id, *ms, *jm;
    size_t i;

    silence_release(s);
    silence_init(s);
    if (o == NULL)
        return -1;
    id = json_object_get(o, "id");
    if (!json_is_string(id) || json_string_length(id) >= SILENCE_ID_LEN) {
        error_set(err, "id: must be a silence id");
        goto fail;
    }
    memcpy(s->id, json_string_value(id), json_string_length(id) + 1);
    ms = json_object_get(o, "matchers");
    if (!json_is_array(ms)) {
        error_set(err, "matchers: must be an array");
        goto fail;
    }
    json_array_foreach(ms, i, jm)
    {
        const char *name = json_string_value(json_object_get(jm, "name"));
        const char *ops = json_string_value(json_object_get(jm, "op"));
        const char *value = json_string_value(json_object_get(jm, "value"));
        struct matcher m;
        enum match_op op;

        if (name == NULL || ops == NULL || value == NULL || op_parse(ops, &op) < 0) {
            error_set(err, "matchers[%zu]: must have name, op and value", i);
            goto fail;
        }
        if (matcher_init(&m, op, name, value, err) < 0) {
            error_prefix(err, "matchers[%zu]", i);
            goto fail;
        }
        if (matchers_push(&s->matchers, &m) < 0) {
            matcher_release(&m);
            error_set(err, "matchers: out of memory");
            goto fail;
        }
    }
    if (get_int(o, "startsAt", &s->starts_at, err) < 0 ||
        get_int(o, "endsAt", &s->ends_at, err) < 0 ||
        get_int(o, "updatedAt", &s->updated_at, err) < 0 ||
        get_str(o, "createdBy", &s->created_by, err) < 0 ||
        get_str(o, "comment", &s->comment, err) < 0)
        goto fail;
    if (s->created_by == NULL)
        s->created_by = strdup("");
    if (s->comment == NULL)
        s->comment = strdup("");
    if (s->created_by == NULL || s->comment == NULL) {
        error_set(err, "silence: out of memory");
        goto fail;
    }
    json_decref(o);
    return 0;
fail:
    json_decref(o);
    silence_release(s);
    silence_init(s);
    return -1;
}

/* ------------------------------------------------------------------ nflog */

char *codec_encode_nflog(const struct nflog_entry *e)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:o*, s:o*, s:I, s:I, s:I}", "groupKey", e->group_key ? e->group_key : "",
        "receiver", e->receiver_name ? e->receiver_name : "", "integration",
        (json_int_t)e->integration, "firing", codec_fps_to_json(e->firing, e->n_firing), "resolved",
        codec_fps_to_json(e->resolved, e->n_resolved), "timestamp", (json_int_t)e->timestamp,
        "flushedAt", (json_int_t)e->flushed_at, "expiresAt", (json_int_t)e->expires_at);

    return dump(o);
}

int codec_decode_nflog(const char *text, struct nflog_entry *e, struct error *err)
{
    json_t *o = load(text, "nflog", err);
    int64_t integ = 0;

    memset(e, 0, sizeof(*e));
    if (o == NULL)
        return -1;
    if (get_str(o, "groupKey", &e->group_key, err) < 0 ||
        get_str(o, "receiver", &e->receiver_name, err) < 0 ||
        get_int(o, "integration", &integ, err) < 0 ||
        codec_fps_from_json(json_object_get(o, "firing"), &e->firing, &e->n_firing, err) < 0 ||
        codec_fps_from_json(json_object_get(o, "resolved"), &e->resolved, &e->n_resolved, err) <
            0 ||
        get_int(o, "timestamp", &e->timestamp, err) < 0 ||
        get_int(o, "flushedAt", &e->flushed_at, err) < 0 ||
        get_int(o, "expiresAt", &e->expires_at, err) < 0)
        goto fail;
    if (e->group_key == NULL || e->receiver_name == NULL || integ < 0) {
        error_set(err, "nflog: groupKey, receiver and integration required");
        goto fail;
    }
    e->integration = (size_t)integ;
    json_decref(o);
    return 0;
fail:
    json_decref(o);
    nflog_entry_release(e);
    memset(e, 0, sizeof(*e));
    return -1;
}

/* ------------------------------------------------------------------ jobs */

char *codec_encode_job(const struct notify_job *j)
{
    json_t *alerts = json_array();
    json_t *o;

    if (alerts == NULL)
        return NULL;
    for (size_t i = 0; i < j->n_alerts; i++) {
        if (json_array_append_new(alerts, codec_alert_to_json(&j->alerts[i])) < 0) {
            json_decref(alerts);
            return NULL;
        }
    }
    o = json_pack(
        "{s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:o*, s:o, s:o*, s:o*, s:I, s:I, s:I, s:I}", "id",
        (json_int_t)j->id, "flushId", (json_int_t)j->flush_id, "supersedes",
        (json_int_t)j->supersedes, "groupKey", j->group_key ? j->group_key : "", "routeId",
        j->route_id ? j->route_id : "", "receiver", j->receiver_name ? j->receiver_name : "",
        "integration", (json_int_t)j->integration, "groupLabels", labels_to_json(&j->group_labels),
        "alerts", alerts, "firing", codec_fps_to_json(j->firing, j->n_firing), "resolved",
        codec_fps_to_json(j->resolved, j->n_resolved), "createdAt", (json_int_t)j->created_at,
        "groupInterval", (json_int_t)j->group_interval, "repeatInterval",
        (json_int_t)j->repeat_interval, "incidentId", (json_int_t)j->incident_id);
    /* The incident snapshot (issue 6); absent for jobs without an incident. */
    if (o != NULL && j->incident_id != 0) {
        json_t *inc =
            json_pack("{s:I, s:i, s:i, s:i, s:I, s:s?, s:s?, s:s?, s:I}", "generation",
                      (json_int_t)j->incident_generation, "state", j->incident_state, "notice",
                      j->incident_notice, "step", j->incident_step, "openedAt",
                      (json_int_t)j->incident_opened_at, "ackedBy", j->acked_by, "ackVia",
                      j->ack_via, "ackComment", j->ack_comment, "ackedAt", (json_int_t)j->acked_at);
        if (inc == NULL || json_object_set_new(o, "incident", inc) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return dump(o);
}

int codec_decode_job(const char *text, struct notify_job **out, struct error *err)
{
    json_t *o = load(text, "job", err);
    struct notify_job *j = NULL;
    const json_t *alerts, *ja;
    int64_t id = 0, flush = 0, sup = 0, integ = 0, inc = 0;
    size_t i;

    *out = NULL;
    if (o == NULL)
        return -1;
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        error_set(err, "job: out of memory");
        goto fail;
    }
    labels_init(&j->group_labels);
    if (get_int(o, "id", &id, err) < 0 || get_int(o, "flushId", &flush, err) < 0 ||
        get_int(o, "supersedes", &sup, err) < 0 || get_int(o, "integration", &integ, err) < 0 ||
        get_int(o, "incidentId", &inc, err) < 0 || get_str(o, "groupKey", &j->group_key, err) < 0 ||
        get_str(o, "routeId", &j->route_id, err) < 0 ||
        get_str(o, "receiver", &j->receiver_name, err) < 0 ||
        get_labels(o, "groupLabels", &j->group_labels, err) < 0 ||
        codec_fps_from_json(json_object_get(o, "firing"), &j->firing, &j->n_firing, err) < 0 ||
        codec_fps_from_json(json_object_get(o, "resolved"), &j->resolved, &j->n_resolved, err) <
            0 ||
        get_int(o, "createdAt", &j->created_at, err) < 0 ||
        get_int(o, "groupInterval", &j->group_interval, err) < 0 ||
        get_int(o, "repeatInterval", &j->repeat_interval, err) < 0)
        goto fail;
    if (j->group_key == NULL || j->receiver_name == NULL || id <= 0 || integ < 0) {
        error_set(err, "job: id, groupKey, receiver and integration required");
        goto fail;
    }
    j->id = (uint64_t)id;
    j->flush_id = (uint64_t)flush;
    j->supersedes = (uint64_t)sup;
    j->integration = (size_t)integ;
    j->incident_id = (uint64_t)inc;
    {
        const json_t *ji = json_object_get(o, "incident");
        int64_t gen = 0, st = 0, notice = 0, step = 0;

        if (ji != NULL &&
            (get_int(ji, "generation", &gen, err) < 0 || get_int(ji, "state", &st, err) < 0 ||
             get_int(ji, "notice", &notice, err) < 0 || get_int(ji, "step", &step, err) < 0 ||
             get_int(ji, "openedAt", &j->incident_opened_at, err) < 0 ||
             get_str(ji, "ackedBy", &j->acked_by, err) < 0 ||
             get_str(ji, "ackVia", &j->ack_via, err) < 0 ||
             get_str(ji, "ackComment", &j->ack_comment, err) < 0 ||
             get_int(ji, "ackedAt", &j->acked_at, err) < 0)) {
            error_prefix(err, "incident");
            goto fail;
        }
        j->incident_generation = (uint64_t)gen;
        j->incident_state = (int)st;
        j->incident_notice = (int)notice;
        j->incident_step = (int)step;
    }
    alerts = json_object_get(o, "alerts");
    if (!json_is_array(alerts)) {
        error_set(err, "alerts: must be an array");
        goto fail;
    }
    if (json_array_size(alerts) > 0) {
        j->alerts = calloc(json_array_size(alerts), sizeof(*j->alerts));
        if (j->alerts == NULL) {
            error_set(err, "alerts: out of memory");
            goto fail;
        }
    }
    json_array_foreach(alerts, i, ja)
    {
        alert_init(&j->alerts[i]);
        j->n_alerts = i + 1;
        if (codec_alert_from_json(ja, &j->alerts[i], err) < 0) {
            error_prefix(err, "alerts[%zu]", i);
            goto fail;
        }
    }
    json_decref(o);
    *out = j;
    return 0;
fail:
    json_decref(o);
    notify_job_free(j);
    return -1;
}
