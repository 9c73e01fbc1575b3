/*
 * parse.c - JSON bodies and query parameters into engine input, or a 400.
 *
 * Each parser works in two steps: it builds its output in locals while
 * checking everything, and hands it over only when all of it is valid, so a
 * failure leaves the caller with nothing to release and the engine with
 * nothing to apply.
 *
 * Alerts have two parsers: a fast scanner for well-formed batches (no JSON
 * tree) and the jansson one, which answers everything the scanner declines,
 * including every error (see "fast alerts scanner" below).
 */
#include "api/parse.h"

#include "core/error.h"
#include "core/jsonutil.h"
#include "core/labels.h"
#include "core/matcher.h"
#include "core/testable.h"
#include "core/timefmt.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

/* Parses body as any JSON value; on failure err names line and column. */
static json_t *load_json(const char *body, size_t len, const char *what, struct error *err)
{
    json_error_t jerr;
    json_t *root;

    if (len == 0) {
        error_set(err, "empty body: expected %s", what);
        return NULL;
    }
    root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (root != NULL)
        return root;
    if (json_error_code(&jerr) == json_error_invalid_utf8)
        error_set(err, "invalid JSON at line %d, column %d: invalid UTF-8", jerr.line, jerr.column);
    else
        error_set(err, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    return NULL;
}

void api_alerts_free(struct alert *v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        alert_release(&v[i]);
    free(v);
}

/* A generatorURL must be what Go's url.ParseRequestURI accepts: an absolute URI
 * (scheme ":" ...) or an absolute path, without spaces or control characters. */
static bool uri_valid(const char *s)
{
    const char *p = s;

    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c <= ' ' || *c == 0x7f)
            return false;
    }
    if (*s == '/')
        return true;
    if (!isalpha((unsigned char)*p))
        return false;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    return *p == ':';
}

/* True when obj is an object whose values are all strings: the right shape for
 * labels, so what is wrong with it is a value (a name, an encoding). */
static bool object_of_strings(const json_t *obj)
{
    const char *key;
    json_t *val;

    if (!json_is_object(obj))
        return false;
    json_object_foreach((json_t *)obj, key, val)
    {
        if (!json_is_string(val))
            return false;
    }
    return true;
}

static int parse_one_alert(const json_t *o, size_t i, struct alert *a, enum api_bad *bad,
                           struct error *err)
{
    char path[64];
    const json_t *v;
    const char *url = NULL;

    if (!json_is_object(o)) {
        *bad = API_BAD_SHAPE;
        return error_set(err, "alerts[%zu]: must be an object, not %s", i, json_kind(o));
    }
    v = json_object_get(o, "labels");
    snprintf(path, sizeof(path), "alerts[%zu].labels", i);
    if (v == NULL || json_is_null(v)) {
        *bad = API_BAD_SHAPE;
        return error_set(err, "%s: required", path);
    }
    *bad = object_of_strings(v) ? API_BAD_VALUE : API_BAD_SHAPE;
    if (labels_from_json(&a->labels, v, path, err) < 0)
        return -1;
    if (a->labels.n == 0) {
        *bad = API_BAD_VALUE;
        /* Alertmanager's exact text: amtool shows it, and tests compare amtool's output. */
        return error_set(err, "at least one label pair required");
    }
    v = json_object_get(o, "annotations");
    snprintf(path, sizeof(path), "alerts[%zu].annotations", i);
    if (v != NULL && !json_is_null(v)) {
        *bad = object_of_strings(v) ? API_BAD_VALUE : API_BAD_SHAPE;
        if (labels_from_json(&a->annotations, v, path, err) < 0)
            return -1;
    }
    *bad = API_BAD_SHAPE;
    snprintf(path, sizeof(path), "alerts[%zu].startsAt", i);
    if (time_from_json(json_object_get(o, "startsAt"), path, &a->starts_at, err) < 0)
        return -1;
    snprintf(path, sizeof(path), "alerts[%zu].endsAt", i);
    if (time_from_json(json_object_get(o, "endsAt"), path, &a->ends_at, err) < 0)
        return -1;
    snprintf(path, sizeof(path), "alerts[%zu].generatorURL", i);
    if (string_from_json(json_object_get(o, "generatorURL"), path, &url, err) < 0)
        return -1;
    *bad = API_BAD_VALUE;
    if (url != NULL && *url != '\0' && !uri_valid(url)) {
        char q[QUOTE_ERR_MAX];

        return error_set(err, "%s: must be a URI: %s", path, quote_for_error(url, q, sizeof(q)));
    }
    if (alert_set_generator_url(a, url) < 0)
        return error_set(err, "out of memory");
    if (a->starts_at != TIME_UNSET && a->ends_at != TIME_UNSET && a->ends_at < a->starts_at)
        return error_set(err, "alerts[%zu]: start time must be before end time", i);
    alert_update_fingerprint(a);
    return 0;
}

int api_parse_alerts_json(const char *body, size_t len, struct alert **out, size_t *n_out,
                          enum api_bad *bad, struct error *err)
{
    json_t *root;
    struct alert *v = NULL;
    size_t n = 0;
    size_t done = 0;
    int rc = -1;

    *out = NULL;
    *n_out = 0;
    *bad = API_BAD_SHAPE;
    root = load_json(body, len, "a JSON array of alerts", err);
    if (root == NULL)
        return -1;
    if (!json_is_array(root)) {
        error_set(err, "body: must be an array of alerts, not %s", json_kind(root));
        goto out;
    }
    n = json_array_size(root);
    if (n > 0) {
        v = calloc(n, sizeof(*v));
        if (v == NULL) {
            error_set(err, "out of memory");
            goto out;
        }
    }
    for (done = 0; done < n; done++) {
        alert_init(&v[done]);
        if (parse_one_alert(json_array_get(root, done), done, &v[done], bad, err) < 0) {
            done++;
            goto out;
        }
    }
    *out = v;
    *n_out = n;
    v = NULL;
    rc = 0;
out:
    api_alerts_free(v, done);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ fast alerts scanner */

/*
 * The POST /api/v{1,2}/alerts fast path: a small JSON scanner that reads a
 * well-formed batch straight into alert structs, without building a jansson
 * tree (that tree, its allocations and frees were most of the HTTP threads'
 * CPU at 100 alerts per request). It only ever accepts: anything it does not
 * handle itself, and every error, makes it decline, and api_parse_alerts
 * then runs the jansson parser (api_parse_alerts_json), which gives the
 * answer and the error message it always gave. So the messages are the same
 * by construction, and the scanner must only never accept what jansson and
 * the checks after it refuse, and must build the same alerts when both
 * accept (the fuzz target compares the two).
 *
 * Declined, to the slow path: \u escapes, numbers anywhere, nesting deeper
 * than SCAN_MAX_DEPTH in unknown fields, a known field given twice, and every
 * error. Strings are decoded in place in a private copy of the body, so a
 * label costs only what labels_set does.
 */
#define SCAN_MAX_DEPTH 32

struct scan {
    char *p;   /* next byte of the copy */
    char *end; /* the copy's NUL */
};

static void scan_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* At '"': decodes the string in place, NUL-terminates it, sets *out to it and
 * moves past the closing quote. Declines \u escapes, control characters and
 * invalid UTF-8 (jansson refuses the last two). */
static int scan_string(struct scan *s, char **out)
{
    char *r, *w;
    bool high = false;

    if (s->p >= s->end || *s->p != '"')
        return -1;
    r = w = ++s->p;
    for (;;) {
        unsigned char c;

        if (r >= s->end)
            return -1;
        c = (unsigned char)*r;
        if (c == '"')
            break;
        if (c < 0x20)
            return -1;
        if (c >= 0x80)
            high = true;
        if (c != '\\') {
            *w++ = *r++;
            continue;
        }
        if (r + 1 >= s->end)
            return -1;
        switch (r[1]) {
        case '"':
        case '\\':
        case '/':
            *w++ = r[1];
            break;
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        case 'n':
            *w++ = '\n';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 't':
            *w++ = '\t';
            break;
        default:
            return -1; /* \u and anything invalid */
        }
        r += 2;
    }
    *w = '\0';
    *out = s->p;
    s->p = r + 1;
    if (high && !utf8_valid(*out, (size_t)(w - *out)))
        return -1;
    return 0;
}

static bool scan_literal(struct scan *s, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* At `open`: consumes it and the whitespace after. 1 when the container
 * closes at once (the close consumed too), 0 when a member follows, -1 when
 * `open` is not there. */
static int scan_open(struct scan *s, char open, char close)
{
    if (s->p >= s->end || *s->p != open)
        return -1;
    s->p++;
    scan_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    return 0;
}

/* An object member's name (into *key) and the ':' after it, with the
 * whitespace around the ':'. */
static int scan_key(struct scan *s, char **key)
{
    if (scan_string(s, key) < 0)
        return -1;
    scan_ws(s);
    if (s->p >= s->end || *s->p != ':')
        return -1;
    s->p++;
    scan_ws(s);
    return 0;
}

/* After a member: 1 at `close` (consumed), 0 at ',' (consumed with the
 * whitespace after it: the next member follows), -1 otherwise. */
static int scan_next(struct scan *s, char close)
{
    scan_ws(s);
    if (s->p >= s->end)
        return -1;
    if (*s->p == close) {
        s->p++;
        return 1;
    }
    if (*s->p != ',')
        return -1;
    s->p++;
    scan_ws(s);
    return 0;
}

/* Skips any value without numbers. */
static int scan_skip(struct scan *s, int depth)
{
    char *str;

    if (depth > SCAN_MAX_DEPTH || s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '"':
        return scan_string(s, &str);
    case 't':
        return scan_literal(s, "true") ? 0 : -1;
    case 'f':
        return scan_literal(s, "false") ? 0 : -1;
    case 'n':
        return scan_literal(s, "null") ? 0 : -1;
    case '[':
    case '{': {
        bool obj = *s->p == '{';
        char close = obj ? '}' : ']';
        int rc = scan_open(s, *s->p, close);

        while (rc == 0) {
            if ((obj && scan_key(s, &str) < 0) || scan_skip(s, depth + 1) < 0)
                return -1;
            rc = scan_next(s, close);
        }
        return rc < 0 ? -1 : 0;
    }
    default:
        return -1;
    }
}

/* An object of label names to string values into ls (empty values unset, as
 * labels_from_json does through labels_set; a repeated name: the last wins,
 * as in jansson's object). */
static int scan_labels(struct scan *s, struct labels *ls)
{
    int rc = scan_open(s, '{', '}');

    while (rc == 0) {
        char *name, *value;

        if (scan_key(s, &name) < 0 || scan_string(s, &value) < 0 || !label_name_valid(name) ||
            labels_set(ls, name, value) < 0)
            return -1;
        rc = scan_next(s, '}');
    }
    return rc < 0 ? -1 : 0;
}

/* A string, or null for *out = NULL. */
static int scan_opt_string(struct scan *s, char **out)
{
    if (scan_literal(s, "null")) {
        *out = NULL;
        return 0;
    }
    return scan_string(s, out);
}

static int scan_time(struct scan *s, int64_t *ms)
{
    char *t;

    if (scan_opt_string(s, &t) < 0)
        return -1;
    if (t == NULL) {
        *ms = TIME_UNSET;
        return 0;
    }
    return time_parse_rfc3339(t, ms);
}

enum { SEEN_LABELS = 1, SEEN_ANNOTATIONS = 2, SEEN_STARTS = 4, SEEN_ENDS = 8, SEEN_URL = 16 };

/* One alert object, with parse_one_alert's checks. */
static int scan_alert(struct scan *s, struct alert *a)
{
    unsigned seen = 0;
    char *url = NULL;
    int more = scan_open(s, '{', '}');

    if (more != 0)
        return -1; /* not an object, or {}: no labels */
    while (more == 0) {
        char *key;
        unsigned bit = 0;
        int rc;

        if (scan_key(s, &key) < 0)
            return -1;
        if (strcmp(key, "labels") == 0) {
            bit = SEEN_LABELS;
            rc = scan_labels(s, &a->labels);
        } else if (strcmp(key, "annotations") == 0) {
            bit = SEEN_ANNOTATIONS;
            rc = scan_literal(s, "null") ? 0 : scan_labels(s, &a->annotations);
        } else if (strcmp(key, "startsAt") == 0) {
            bit = SEEN_STARTS;
            rc = scan_time(s, &a->starts_at);
        } else if (strcmp(key, "endsAt") == 0) {
            bit = SEEN_ENDS;
            rc = scan_time(s, &a->ends_at);
        } else if (strcmp(key, "generatorURL") == 0) {
            bit = SEEN_URL;
            rc = scan_opt_string(s, &url);
        } else {
            rc = scan_skip(s, 1);
        }
        if (rc < 0 || (seen & bit) != 0)
            return -1;
        seen |= bit;
        more = scan_next(s, '}');
    }
    if (more < 0)
        return -1;
    if (a->labels.n == 0)
        return -1;
    if (url != NULL && *url != '\0' && !uri_valid(url))
        return -1;
    if (a->starts_at != TIME_UNSET && a->ends_at != TIME_UNSET && a->ends_at < a->starts_at)
        return -1;
    if (alert_set_generator_url(a, url) < 0)
        return -1;
    alert_update_fingerprint(a);
    return 0;
}

/* The fast path: 0 with *out and *n_out set as api_parse_alerts sets them, or -1
 * (nothing allocated) when the body needs the jansson parser. */
TESTABLE int api_scan_alerts(const char *body, size_t len, struct alert **out, size_t *n_out)
{
    struct scan s;
    char *copy;
    struct alert *v = NULL;
    size_t n = 0, cap = 0;
    int more, rc = -1;

    if (len == 0)
        return -1;
    copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, body, len);
    copy[len] = '\0';
    s.p = copy;
    s.end = copy + len;
    scan_ws(&s);
    more = scan_open(&s, '[', ']');
    while (more == 0) {
        if (n == cap) {
            size_t nc = cap > 0 ? cap * 2 : 16;
            struct alert *nv = realloc(v, nc * sizeof(*v));

            if (nv == NULL)
                goto out;
            v = nv;
            cap = nc;
        }
        alert_init(&v[n]);
        n++;
        if (scan_alert(&s, &v[n - 1]) < 0)
            goto out;
        more = scan_next(&s, ']');
    }
    if (more < 0)
        goto out;
    scan_ws(&s);
    if (s.p != s.end)
        goto out;
    if (n == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n_out = n;
    v = NULL;
    n = 0;
    rc = 0;
out:
    api_alerts_free(v, n);
    free(copy);
    return rc;
}

int api_parse_alerts(const char *body, size_t len, struct alert **out, size_t *n_out,
                     enum api_bad *bad, struct error *err)
{
    *out = NULL;
    *n_out = 0;
    if (api_scan_alerts(body, len, out, n_out) == 0)
        return 0;
    return api_parse_alerts_json(body, len, out, n_out, bad, err);
}

void api_silence_in_release(struct silence_in *in)
{
    if (in == NULL)
        return;
    free(in->id);
    free(in->created_by);
    free(in->comment);
    matchers_release(&in->matchers);
    memset(in, 0, sizeof(*in));
    matchers_init(&in->matchers);
}

/* Reads a required string field of obj. */
static int required_string(const json_t *obj, const char *key, const char **out, struct error *err)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v))
        return error_set(err, "%s: required", key);
    if (!json_is_string(v))
        return error_set(err, "%s: must be a string, not %s", key, json_kind(v));
    return string_from_json(v, key, out, err);
}

static int required_time(const json_t *obj, const char *key, int64_t *out, struct error *err)
{
    const char *s;

    if (required_string(obj, key, &s, err) < 0)
        return -1;
    return time_from_json(json_object_get(obj, key), key, out, err);
}

/* One element of "matchers": {name, value, isRegex, isEqual?}. Checks shape only;
 * the values are checked (matcher_init) after the times, in Alertmanager's order. */
static int matcher_shape(const json_t *m, size_t i, struct error *err)
{
    static const char *const strs[] = {"name", "value"};
    const json_t *v;

    if (!json_is_object(m))
        return error_set(err, "matchers[%zu]: must be an object, not %s", i, json_kind(m));
    for (size_t k = 0; k < 2; k++) {
        v = json_object_get(m, strs[k]);
        if (v == NULL || json_is_null(v))
            return error_set(err, "matchers[%zu].%s: required", i, strs[k]);
        if (!json_is_string(v))
            return error_set(err, "matchers[%zu].%s: must be a string, not %s", i, strs[k],
                             json_kind(v));
        if (strlen(json_string_value(v)) != json_string_length(v))
            return error_set(err, "matchers[%zu].%s: contains a NUL byte", i, strs[k]);
    }
    v = json_object_get(m, "isRegex");
    if (v == NULL || json_is_null(v))
        return error_set(err, "matchers[%zu].isRegex: required", i);
    if (!json_is_boolean(v))
        return error_set(err, "matchers[%zu].isRegex: must be a boolean, not %s", i, json_kind(v));
    v = json_object_get(m, "isEqual");
    if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
        return error_set(err, "matchers[%zu].isEqual: must be a boolean, not %s", i, json_kind(v));
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

int api_parse_silence(const char *body, size_t len, int64_t now, struct silence_in *out,
                      enum api_bad *bad, struct error *err)
{
    json_t *root;
    const json_t *ms;
    const char *id = NULL;
    const char *created_by;
    const char *comment;
    struct silence_in in;
    bool all_match_empty = true;
    int rc = -1;

    memset(&in, 0, sizeof(in));
    matchers_init(&in.matchers);
    memset(out, 0, sizeof(*out));
    matchers_init(&out->matchers);
    *bad = API_BAD_SHAPE;
    root = load_json(body, len, "a JSON silence object", err);
    if (root == NULL)
        return -1;
    if (!json_is_object(root)) {
        error_set(err, "body: must be a silence object, not %s", json_kind(root));
        goto out;
    }
    if (string_from_json(json_object_get(root, "id"), "id", &id, err) < 0)
        goto out;
    ms = json_object_get(root, "matchers");
    if (ms == NULL || json_is_null(ms)) {
        error_set(err, "matchers: required");
        goto out;
    }
    if (!json_is_array(ms)) {
        error_set(err, "matchers: must be an array, not %s", json_kind(ms));
        goto out;
    }
    if (json_array_size(ms) == 0) {
        error_set(err, "matchers: at least one matcher required");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(ms); i++) {
        if (matcher_shape(json_array_get(ms, i), i, err) < 0)
            goto out;
    }
    if (required_time(root, "startsAt", &in.starts_at, err) < 0 ||
        required_time(root, "endsAt", &in.ends_at, err) < 0 ||
        required_string(root, "createdBy", &created_by, err) < 0 ||
        required_string(root, "comment", &comment, err) < 0)
        goto out;

    *bad = API_BAD_VALUE;
    if (in.starts_at >= in.ends_at) {
        error_set(err, "Failed to create silence: start time must be before end time");
        goto out;
    }
    if (in.ends_at < now) {
        error_set(err, "Failed to create silence: end time can't be in the past");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(ms); i++) {
        const json_t *m = json_array_get(ms, i);
        const json_t *eq = json_object_get(m, "isEqual");
        bool is_re = json_is_true(json_object_get(m, "isRegex"));
        bool is_eq = eq == NULL || json_is_null(eq) || json_is_true(eq);
        enum match_op op = is_re ? (is_eq ? MATCH_RE : MATCH_NRE) : (is_eq ? MATCH_EQ : MATCH_NE);
        struct matcher one;

        if (matcher_init(&one, op, json_string_value(json_object_get(m, "name")),
                         json_string_value(json_object_get(m, "value")), err) < 0) {
            error_prefix(err, "silence invalid: invalid label matcher %zu", i);
            goto out;
        }
        if (!matcher_matches_empty(&one))
            all_match_empty = false;
        if (matchers_push(&in.matchers, &one) < 0) {
            matcher_release(&one);
            error_set(err, "out of memory");
            goto out;
        }
    }
    if (all_match_empty) {
        error_set(err, "silence invalid: at least one matcher must not match the empty string");
        goto out;
    }
    in.id = id != NULL && *id != '\0' ? strdup(id) : NULL;
    in.created_by = dup_or_null(created_by);
    in.comment = dup_or_null(comment);
    if ((id != NULL && *id != '\0' && in.id == NULL) || in.created_by == NULL ||
        in.comment == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    *out = in;
    memset(&in, 0, sizeof(in));
    matchers_init(&in.matchers);
    rc = 0;
out:
    api_silence_in_release(&in);
    json_decref(root);
    return rc;
}

/* go-swagger's boolean words (swag.ConvertBool), plus the usual false ones. */
static int parse_bool(const char *key, const char *s, bool *out, struct error *err)
{
    static const char *const yes[] = {"true", "1", "yes", "y", "on", "t", "ok", "enabled"};
    static const char *const no[] = {"false", "0", "no", "n", "off", "f", "disabled"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return error_set(err, "%s: invalid boolean \"%.64s\" (want true or false)", key, s);
}

int api_parse_filters(const struct http_request *req, struct matchers *ms, struct error *err)
{
    struct matchers tmp = MATCHERS_INIT;

    for (size_t i = 0; i < req->n_query; i++) {
        struct matcher m;

        if (strcmp(req->query[i].key, "filter") != 0)
            continue;
        if (matcher_parse(&m, req->query[i].value, err) < 0) {
            matchers_release(&tmp);
            return -1;
        }
        if (matchers_push(&tmp, &m) < 0) {
            matcher_release(&m);
            matchers_release(&tmp);
            return error_set(err, "out of memory");
        }
    }
    matchers_release(ms);
    *ms = tmp;
    return 0;
}

static void *compile_receiver(const char *re, struct error *err)
{
    char pat[1100];
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code;
    PCRE2_UCHAR msg[256];

    if (strlen(re) > 1024) {
        error_set(err, "failed to parse receiver param: regular expression too long");
        return NULL;
    }
    snprintf(pat, sizeof(pat), "^(?:%s)$", re);
    code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                         PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C, &errcode,
                         &erroff, NULL);
    if (code == NULL) {
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        error_set(err, "failed to parse receiver param: %s: `%s`", (const char *)msg, pat);
    }
    return code;
}

int api_parse_alert_query(const struct http_request *req, struct alert_query *q, struct error *err)
{
    static const struct {
        const char *key;
        size_t off;
    } bools[] = {
        {"active", offsetof(struct alert_query, active)},
        {"silenced", offsetof(struct alert_query, silenced)},
        {"inhibited", offsetof(struct alert_query, inhibited)},
        {"unprocessed", offsetof(struct alert_query, unprocessed)},
    };
    const char *receiver = NULL;

    memset(q, 0, sizeof(*q));
    matchers_init(&q->filter);
    q->active = q->silenced = q->inhibited = q->unprocessed = true;
    for (size_t i = 0; i < req->n_query; i++) {
        const struct http_param *p = &req->query[i];

        for (size_t k = 0; k < sizeof(bools) / sizeof(bools[0]); k++) {
            if (strcmp(p->key, bools[k].key) == 0 && p->value[0] != '\0' &&
                parse_bool(p->key, p->value, (bool *)((char *)q + bools[k].off), err) < 0)
                return -1;
        }
        if (strcmp(p->key, "receiver") == 0 && p->value[0] != '\0')
            receiver = p->value;
    }
    if (api_parse_filters(req, &q->filter, err) < 0)
        return -1;
    if (receiver != NULL) {
        q->receiver_re = compile_receiver(receiver, err);
        if (q->receiver_re == NULL) {
            matchers_release(&q->filter);
            return -1;
        }
    }
    return 0;
}

void api_alert_query_release(struct alert_query *q)
{
    if (q == NULL)
        return;
    matchers_release(&q->filter);
    pcre2_code_free(q->receiver_re);
    q->receiver_re = NULL;
}

bool api_valid_uuid(const char *s)
{
    static const int dash[] = {8, 13, 18, 23};
    size_t k = 0;

    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (k < 4 && i == dash[k]) {
            if (s[i] != '-')
                return false;
            k++;
            continue;
        }
        if (!isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}
