/*
 * getters.c - typed, positioned access to YAML nodes for the config loader.
 *
 * Each getter checks the node's type and value and reports failures as
 * "file:line:col: key.path: message" at the node that is wrong (the value, or
 * the key for unknown keys, or the mapping for missing fields). Outputs are
 * only written on success, so the partially built config stays consistent for
 * config_free().
 */
#include "config/load.h"

#include "core/duration.h"
#include "core/error.h"
#include "core/labels.h"
#include "templates/defaults.h"
#include "templates/mustache.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SECRET_FILE_MAX (1u << 20)
#define CONFIG_FILE_MAX (16u << 20)

int ld_fail(struct ld *ld, const struct ynode *n, const char *path, const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (path != NULL && path[0] != '\0')
        return error_set(ld->err, "%s:%d:%d: %s: %s", n->file, n->line, n->col, path, msg);
    return error_set(ld->err, "%s:%d:%d: %s", n->file, n->line, n->col, msg);
}

/* Paths longer than CFG_PATH_MAX are cut and end in "..." (only messages use them). */
static void path_fit(char *out, int written)
{
    if (written < 0)
        out[0] = '\0';
    else if (written >= CFG_PATH_MAX)
        memcpy(out + CFG_PATH_MAX - 4, "...", 4);
}

void path_key(char *out, const char *path, const char *key)
{
    int w;

    if (path == NULL || path[0] == '\0')
        w = snprintf(out, CFG_PATH_MAX, "%s", key);
    else
        w = snprintf(out, CFG_PATH_MAX, "%s.%s", path, key);
    path_fit(out, w);
}

void path_idx(char *out, const char *path, size_t i)
{
    path_fit(out, snprintf(out, CFG_PATH_MAX, "%s[%zu]", path, i));
}

int ld_map(struct ld *ld, const struct ynode *n, const char *path, const char *const *allowed)
{
    if (n->kind != YNODE_MAP)
        return ld_fail(ld, n, path, "expected a mapping, got %s", ynode_kind_name(n));
    for (size_t i = 0; i < n->n_pairs; i++) {
        const char *k = n->pairs[i].key->value;
        bool ok = false;

        for (size_t j = 0; allowed[j] != NULL; j++) {
            if (strcmp(allowed[j], k) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            char p[CFG_PATH_MAX];

            path_key(p, path, k);
            return ld_fail(ld, n->pairs[i].key, p, "unknown key");
        }
    }
    return 0;
}

int ld_seq(struct ld *ld, const struct ynode *n, const char *path)
{
    if (n->kind != YNODE_SEQ)
        return ld_fail(ld, n, path, "expected a list, got %s", ynode_kind_name(n));
    return 0;
}

const struct ynode *ld_get(const struct ynode *map, const char *key)
{
    const struct ypair *p = ynode_get(map, key);

    if (p == NULL || ynode_is_null(p->value))
        return NULL;
    return p->value;
}

int ld_missing(struct ld *ld, const struct ynode *map, const char *path, const char *key)
{
    return ld_fail(ld, map, path, "missing required field \"%s\"", key);
}

int ld_scalar_str(struct ld *ld, const struct ynode *v, const char *path, char **out)
{
    char *s;

    if (v->kind != YNODE_SCALAR)
        return ld_fail(ld, v, path, "expected a string, got %s", ynode_kind_name(v));
    s = strdup(v->value);
    if (s == NULL)
        return ld_fail(ld, v, path, "out of memory");
    free(*out);
    *out = s;
    return 0;
}

int ld_str(struct ld *ld, const struct ynode *map, const char *key, const char *path, char **out)
{
    const struct ynode *v = ld_get(map, key);
    char p[CFG_PATH_MAX];

    if (v == NULL)
        return 0;
    path_key(p, path, key);
    return ld_scalar_str(ld, v, p, out);
}

int ld_bool(struct ld *ld, const struct ynode *map, const char *key, const char *path, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON",  NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no",  "No",
                                     "NO",    "off",   "Off",   "OFF", NULL};
    const struct ynode *v = ld_get(map, key);
    char p[CFG_PATH_MAX];

    if (v == NULL)
        return 0;
    path_key(p, path, key);
    if (v->kind == YNODE_SCALAR && v->plain) {
        for (size_t i = 0; yes[i] != NULL; i++) {
            if (strcmp(v->value, yes[i]) == 0) {
                *out = true;
                return 0;
            }
        }
        for (size_t i = 0; no[i] != NULL; i++) {
            if (strcmp(v->value, no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    if (v->kind == YNODE_SCALAR)
        return ld_fail(ld, v, p, "expected true or false, got \"%s\"", v->value);
    return ld_fail(ld, v, p, "expected true or false, got %s", ynode_kind_name(v));
}

int ld_int(struct ld *ld, const struct ynode *map, const char *key, const char *path, long long min,
           long long max, long long *out)
{
    const struct ynode *v = ld_get(map, key);
    char p[CFG_PATH_MAX];
    char *end;
    long long x;

    if (v == NULL)
        return 0;
    path_key(p, path, key);
    if (v->kind != YNODE_SCALAR)
        return ld_fail(ld, v, p, "expected an integer, got %s", ynode_kind_name(v));
    errno = 0;
    x = strtoll(v->value, &end, 10);
    if (!v->plain || v->value[0] == '\0' || *end != '\0' || errno != 0)
        return ld_fail(ld, v, p, "expected an integer, got \"%s\"", v->value);
    if (x < min || x > max)
        return ld_fail(ld, v, p, "%lld is out of range [%lld, %lld]", x, min, max);
    *out = x;
    return 0;
}

int ld_duration(struct ld *ld, const struct ynode *map, const char *key, const char *path,
                int64_t *out, bool *set)
{
    const struct ynode *v = ld_get(map, key);
    char p[CFG_PATH_MAX];
    struct error e;
    int64_t ms;

    if (set != NULL)
        *set = false;
    if (v == NULL)
        return 0;
    path_key(p, path, key);
    if (v->kind != YNODE_SCALAR)
        return ld_fail(ld, v, p, "expected a duration, got %s", ynode_kind_name(v));
    if (duration_parse(v->value, &ms, &e) < 0)
        return ld_fail(ld, v, p, "%s", e.msg);
    *out = ms;
    if (set != NULL)
        *set = true;
    return 0;
}

void strv_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int ld_strlist(struct ld *ld, const struct ynode *map, const char *key, const char *path,
               char ***out, size_t *n)
{
    const struct ynode *v = ld_get(map, key);
    char p[CFG_PATH_MAX];
    char **list = NULL;
    size_t cnt = 0;

    if (v == NULL)
        return 0;
    path_key(p, path, key);
    if (ld_seq(ld, v, p) < 0)
        return -1;
    if (v->n_items > 0) {
        list = calloc(v->n_items, sizeof(*list));
        if (list == NULL)
            return ld_fail(ld, v, p, "out of memory");
    }
    for (size_t i = 0; i < v->n_items; i++) {
        char ip[CFG_PATH_MAX];

        path_idx(ip, p, i);
        if (ld_scalar_str(ld, v->items[i], ip, &list[i]) < 0) {
            strv_free(list, cnt);
            return -1;
        }
        cnt++;
    }
    strv_free(*out, *n);
    *out = list;
    *n = cnt;
    return 0;
}

char *ld_relpath(const char *dir, const char *p)
{
    size_t dl, pl;
    char *s;

    if (p[0] == '/' || dir == NULL || dir[0] == '\0' || strcmp(dir, ".") == 0)
        return strdup(p);
    dl = strlen(dir);
    pl = strlen(p);
    s = malloc(dl + pl + 2);
    if (s == NULL)
        return NULL;
    memcpy(s, dir, dl);
    s[dl] = '/';
    memcpy(s + dl + 1, p, pl + 1);
    return s;
}

char *ld_read_file(const char *path, size_t *len, struct error *err)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t cap = 0, used = 0;

    if (f == NULL) {
        error_set(err, "cannot read \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t got;

        if (used + 4096 + 1 > cap) {
            size_t ncap = cap == 0 ? 8192 : cap * 2;
            char *nd;

            if (ncap > CONFIG_FILE_MAX + 4096 + 1) {
                error_set(err, "cannot read \"%s\": larger than %u bytes", path, CONFIG_FILE_MAX);
                goto fail;
            }
            nd = realloc(data, ncap);
            if (nd == NULL) {
                error_set(err, "cannot read \"%s\": out of memory", path);
                goto fail;
            }
            data = nd;
            cap = ncap;
        }
        got = fread(data + used, 1, cap - used - 1, f);
        used += got;
        if (got == 0) {
            if (ferror(f)) {
                error_set(err, "cannot read \"%s\": %s", path, strerror(errno));
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    data[used] = '\0';
    if (len != NULL)
        *len = used;
    return data;
fail:
    fclose(f);
    free(data);
    return NULL;
}

void secret_release(struct secret *s)
{
    if (s->value != NULL) {
        /* Wipe before freeing so a secret does not linger in freed heap memory. */
        volatile char *p = s->value;

        while (*p != '\0')
            *p++ = '\0';
        free(s->value);
    }
    s->value = NULL;
}

int ld_secret(struct ld *ld, const struct ynode *map, const char *key, const char *path,
              struct secret *out)
{
    char kfile[96], kenv[96], p[CFG_PATH_MAX];
    const struct ynode *v = ld_get(map, key);
    const struct ynode *vf, *ve;
    char *value = NULL;

    snprintf(kfile, sizeof(kfile), "%s_file", key);
    snprintf(kenv, sizeof(kenv), "%s_env", key);
    vf = ld_get(map, kfile);
    ve = ld_get(map, kenv);
    if ((v != NULL) + (vf != NULL) + (ve != NULL) > 1) {
        const struct ynode *second = ve != NULL ? ve : vf;

        path_key(p, path, second == ve ? kenv : kfile);
        return ld_fail(ld, second, p, "at most one of %s, %s and %s may be set", key, kfile, kenv);
    }
    if (v != NULL) {
        path_key(p, path, key);
        if (ld_scalar_str(ld, v, p, &value) < 0)
            return -1;
    } else if (vf != NULL) {
        char *fname = NULL, *full;
        struct error e;
        size_t len;

        path_key(p, path, kfile);
        if (ld_scalar_str(ld, vf, p, &fname) < 0)
            return -1;
        full = ld_relpath(ld->fdir, fname);
        free(fname);
        if (full == NULL)
            return ld_fail(ld, vf, p, "out of memory");
        value = ld_read_file(full, &len, &e);
        free(full);
        if (value == NULL)
            return ld_fail(ld, vf, p, "%s", e.msg);
        if (strlen(value) != len) {
            free(value);
            return ld_fail(ld, vf, p, "the file contains a NUL byte");
        }
        if (len > 0 && value[len - 1] == '\n') {
            value[--len] = '\0';
            if (len > 0 && value[len - 1] == '\r')
                value[--len] = '\0';
        }
    } else if (ve != NULL) {
        const char *env;

        path_key(p, path, kenv);
        if (ve->kind != YNODE_SCALAR)
            return ld_fail(ld, ve, p, "expected a string, got %s", ynode_kind_name(ve));
        env = getenv(ve->value);
        if (env == NULL)
            return ld_fail(ld, ve, p, "environment variable %s is not set", ve->value);
        value = strdup(env);
        if (value == NULL)
            return ld_fail(ld, ve, p, "out of memory");
    } else {
        return 0;
    }
    secret_release(out);
    out->value = value;
    return 0;
}

void tmpl_field_release(struct tmpl_field *t)
{
    free(t->source);
    mustache_free(t->compiled);
    t->source = NULL;
    t->compiled = NULL;
}

/* Partials come from the config's `templates:` files first, then from the
 * built-in default templates, so a user template can include {{> slack_text}}. */
static int load_partial(void *data, const char *name, char **source, char **origin,
                        struct error *err)
{
    const struct ld *ld = data;
    struct mustache_files files = {ld->cfg->template_files, ld->cfg->n_template_files};
    struct mustache_loader fl = mustache_loader_files(&files);
    int rc = fl.load(fl.data, name, source, origin, err);

    if (rc != 1)
        return rc;
    for (size_t i = 0; default_templates[i].name != NULL; i++) {
        if (strcmp(default_templates[i].name, name) == 0) {
            *source = strdup(default_templates[i].text);
            if (*source == NULL) {
                error_set(err, "out of memory");
                return -1;
            }
            return 0;
        }
    }
    return 1;
}

struct mustache *ld_compile(struct ld *ld, const struct ynode *at, const char *path,
                            const char *source)
{
    struct mustache_loader loader = {load_partial, ld};
    struct mustache_options opts = {&loader, 0, 0, 0};
    struct mustache *m;
    struct error e;

    error_clear(&e);
    m = mustache_compile(source, "template", &opts, &e);
    if (m == NULL)
        ld_fail(ld, at, path, "%s", e.msg);
    return m;
}

int ld_tmpl(struct ld *ld, const struct ynode *map, const char *key, const char *path,
            struct tmpl_field *out)
{
    const struct ynode *v = ld_get(map, key);
    struct mustache *m;
    char p[CFG_PATH_MAX];

    if (v == NULL)
        return 0;
    if (ld_str(ld, map, key, path, &out->source) < 0)
        return -1;
    path_key(p, path, key);
    m = ld_compile(ld, v, p, out->source);
    if (m == NULL)
        return -1;
    mustache_free(out->compiled);
    out->compiled = m;
    return 0;
}

const struct ynode *ld_secret_node(const struct ynode *map, const char *key, char *kp, size_t kpsz)
{
    static const char *const suffix[] = {"", "_file", "_env"};

    for (size_t i = 0; i < 3; i++) {
        const struct ynode *v;

        snprintf(kp, kpsz, "%s%s", key, suffix[i]);
        v = ld_get(map, kp);
        if (v != NULL)
            return v;
    }
    return NULL;
}

int ld_check_url(struct ld *ld, const struct ynode *at, const char *path, const char *url,
                 bool secret)
{
    const char *host;

    if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (secret)
        return ld_fail(ld, at, path, "not an http:// or https:// URL");
    else
        return ld_fail(ld, at, path, "\"%s\" is not an http:// or https:// URL", url);
    if (host[0] == '\0' || host[0] == '/' || strpbrk(url, " \t\r\n") != NULL) {
        if (secret)
            return ld_fail(ld, at, path, "invalid URL");
        return ld_fail(ld, at, path, "invalid URL \"%s\"", url);
    }
    return 0;
}

static int push_matcher(struct ld *ld, const struct ynode *at, const char *path,
                        struct matchers *out, enum match_op op, const char *name, const char *value)
{
    struct matcher m;
    struct error e;

    if (matcher_init(&m, op, name, value, &e) < 0)
        return ld_fail(ld, at, path, "%s", e.msg);
    if (matchers_push(out, &m) < 0) {
        matcher_release(&m);
        return ld_fail(ld, at, path, "out of memory");
    }
    return 0;
}

int ld_matcher_strings(struct ld *ld, const struct ynode *v, const char *path, struct matchers *out)
{
    if (ld_seq(ld, v, path) < 0)
        return -1;
    for (size_t i = 0; i < v->n_items; i++) {
        const struct ynode *it = v->items[i];
        char ip[CFG_PATH_MAX];
        struct error e;

        path_idx(ip, path, i);
        if (it->kind != YNODE_SCALAR)
            return ld_fail(ld, it, ip, "expected a matcher string, got %s", ynode_kind_name(it));
        if (matchers_parse(out, it->value, &e) < 0)
            return ld_fail(ld, it, ip, "%s", e.msg);
    }
    return 0;
}

int ld_matchers(struct ld *ld, const struct ynode *map, const char *prefix, const char *path,
                struct matchers *out)
{
    char k[64], p[CFG_PATH_MAX];
    const struct ynode *v;

    snprintf(k, sizeof(k), "%smatch", prefix);
    v = ld_get(map, k);
    if (v != NULL) {
        path_key(p, path, k);
        if (v->kind != YNODE_MAP)
            return ld_fail(ld, v, p, "expected a mapping, got %s", ynode_kind_name(v));
        for (size_t i = 0; i < v->n_pairs; i++) {
            const struct ypair *pr = &v->pairs[i];
            char lp[CFG_PATH_MAX];

            path_key(lp, p, pr->key->value);
            if (!label_name_valid(pr->key->value))
                return ld_fail(ld, pr->key, lp, "invalid label name \"%s\"", pr->key->value);
            if (pr->value->kind != YNODE_SCALAR)
                return ld_fail(ld, pr->value, lp, "expected a string, got %s",
                               ynode_kind_name(pr->value));
            if (push_matcher(ld, pr->key, lp, out, MATCH_EQ, pr->key->value,
                             ynode_is_null(pr->value) ? "" : pr->value->value) < 0)
                return -1;
        }
    }
    snprintf(k, sizeof(k), "%smatch_re", prefix);
    v = ld_get(map, k);
    if (v != NULL) {
        path_key(p, path, k);
        if (v->kind != YNODE_MAP)
            return ld_fail(ld, v, p, "expected a mapping, got %s", ynode_kind_name(v));
        for (size_t i = 0; i < v->n_pairs; i++) {
            const struct ypair *pr = &v->pairs[i];
            char lp[CFG_PATH_MAX];

            path_key(lp, p, pr->key->value);
            if (!label_name_valid(pr->key->value))
                return ld_fail(ld, pr->key, lp, "invalid label name \"%s\"", pr->key->value);
            if (pr->value->kind != YNODE_SCALAR)
                return ld_fail(ld, pr->value, lp, "expected a regex string, got %s",
                               ynode_kind_name(pr->value));
            /* Alertmanager keeps match_re values anchored, "^(?:re)$", and prints them
             * so in route keys (groupKey); the raw value is checked first so that an
             * error shows what the user wrote. */
            {
                const char *raw = ynode_is_null(pr->value) ? "" : pr->value->value;
                size_t alen = strlen(raw) + 8;
                char *anch = malloc(alen);
                int prc;

                if (push_matcher(ld, pr->value, lp, out, MATCH_RE, pr->key->value, raw) < 0) {
                    free(anch);
                    return -1;
                }
                if (anch == NULL)
                    return ld_fail(ld, pr->value, lp, "out of memory");
                snprintf(anch, alen, "^(?:%s)$", raw);
                matcher_release(&out->v[out->n - 1]);
                out->n--;
                prc = push_matcher(ld, pr->value, lp, out, MATCH_RE, pr->key->value, anch);
                free(anch);
                if (prc < 0)
                    return -1;
            }
        }
    }
    snprintf(k, sizeof(k), "%smatchers", prefix);
    v = ld_get(map, k);
    if (v != NULL) {
        path_key(p, path, k);
        if (ld_matcher_strings(ld, v, p, out) < 0)
            return -1;
    }
    return 0;
}
