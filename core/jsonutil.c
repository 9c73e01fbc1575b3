/*
 * jsonutil.c - label sets and timestamps to and from jansson values.
 *
 * Every reader validates fully before changing its output, so a bad request
 * leaves the caller's data as it was.
 */
#include "core/jsonutil.h"

#include "core/error.h"
#include "core/labels.h"
#include "core/timefmt.h"

#include <string.h>

json_t *labels_to_json(const struct labels *ls)
{
    json_t *obj = json_object();

    if (obj == NULL)
        return NULL;
    for (size_t i = 0; i < ls->n; i++) {
        if (json_object_set_new(obj, ls->v[i].name, json_string(ls->v[i].value)) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

int labels_from_json(struct labels *ls, const json_t *obj, const char *path, struct error *err)
{
    struct labels tmp = LABELS_INIT;
    const char *key;
    json_t *val;
    char q[QUOTE_ERR_MAX];

    if (obj == NULL || !json_is_object(obj))
        return error_set(err, "%s: must be an object of strings", path);
    /* json_object_foreach wants a non-const object; it does not modify it. */
    json_object_foreach((json_t *)obj, key, val)
    {
        const char *s;
        size_t len, klen;

        if (!json_is_string(val)) {
            labels_release(&tmp);
            return error_set(err, "%s: must be an object of strings", path);
        }
        klen = json_object_iter_key_len(json_object_key_to_iter(key));
        if (!label_name_valid(key) || strlen(key) != klen) {
            labels_release(&tmp);
            return error_set(err, "%s: invalid label name %s", path,
                             quote_for_error(key, q, sizeof(q)));
        }
        s = json_string_value(val);
        len = json_string_length(val);
        if (strlen(s) != len) {
            labels_release(&tmp);
            return error_set(err, "%s.%s: label value contains a NUL byte", path, key);
        }
        if (!utf8_valid(s, len)) {
            labels_release(&tmp);
            return error_set(err, "%s.%s: label value is not valid UTF-8", path, key);
        }
        if (labels_set(&tmp, key, s) < 0) {
            labels_release(&tmp);
            return error_set(err, "%s: out of memory", path);
        }
    }
    labels_release(ls);
    *ls = tmp;
    return 0;
}

json_t *time_to_json(int64_t ms)
{
    char s[TIME_STRMAX];

    return json_string(time_format_rfc3339(ms, s, sizeof(s)));
}

json_t *time_to_json_nano(int64_t ms)
{
    char s[TIME_STRMAX];

    return json_string(time_format_rfc3339nano(ms, s, sizeof(s)));
}

int string_from_json(const json_t *v, const char *path, const char **out, struct error *err)
{
    const char *s;

    if (v == NULL || json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return error_set(err, "%s: must be a string", path);
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return error_set(err, "%s: contains a NUL byte", path);
    *out = s;
    return 0;
}

int time_from_json(const json_t *v, const char *path, int64_t *ms, struct error *err)
{
    const char *s;
    int64_t t;
    char q[QUOTE_ERR_MAX];

    if (string_from_json(v, path, &s, err) < 0)
        return -1;
    if (s == NULL) {
        *ms = TIME_UNSET;
        return 0;
    }
    if (time_parse_rfc3339(s, &t) < 0)
        return error_set(err, "%s: invalid time %s", path, quote_for_error(s, q, sizeof(q)));
    *ms = t;
    return 0;
}
