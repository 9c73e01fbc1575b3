/*
 * matcher.c - Alertmanager label matchers: parsing, printing, matching.
 *
 * Parsing follows Alertmanager's classic parser (pkg/labels/parse.go): the
 * list is split on commas outside double quotes, one optional leading '{' and
 * one optional trailing '}' are dropped, a trailing comma is allowed, and each
 * piece is `name op value` with optional whitespace around the three tokens.
 * Names are [a-zA-Z_:][a-zA-Z0-9_:]*. A value may be quoted; inside it \" \n
 * and \\ are escapes, any other backslash is literal, and an unescaped '"' is
 * an error except as the closing quote.
 *
 * Regexes are compiled once as "^(?:value)$" with PCRE2 in UTF mode and with
 * DOLLAR_ENDONLY, so '$' means end of string as in Go's RE2. Matching uses a
 * per-matcher match context that caps backtracking steps and memory, so a
 * hostile regex cannot hang the router or exhaust memory; a match that hits a
 * cap counts as "no match" (RE2 never backtracks, so Alertmanager has no such
 * case: only pathological regexes differ).
 *
 * Ownership: struct matcher owns name, value and the compiled regex (struct
 * re below, private to this file). A const matcher may be used from several
 * threads at once: matching allocates its own match data.
 */
#include "core/matcher.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/labels.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Budgets for one match. JIT code runs on a small stack and gives up on long
 * subjects with repeated groups; the interpreter then retries with these
 * limits, so a 100 kB label value still matches (a|b)* as in Go, while a
 * catastrophic regex stops after MATCH_LIMIT steps or HEAP_LIMIT_KIB of
 * backtracking frames instead of hanging or eating memory. */
#define MATCH_LIMIT    10000000
#define DEPTH_LIMIT    10000000
#define HEAP_LIMIT_KIB (64 * 1024)

struct re {
    pcre2_code *code;
    pcre2_match_context *mctx;
};

static const char *const op_names[] = {"=", "!=", "=~", "!~"};

const char *match_op_str(enum match_op op)
{
    if ((unsigned)op > MATCH_NRE)
        return "?";
    return op_names[op];
}

static bool matcher_name_valid(const char *s)
{
    const char *p = s;

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':'))
        return false;
    for (p++; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':' ||
              (*p >= '0' && *p <= '9')))
            return false;
    }
    return true;
}

static void re_free(struct re *re)
{
    if (re == NULL)
        return;
    pcre2_code_free(re->code);
    pcre2_match_context_free(re->mctx);
    free(re);
}

static struct re *re_compile(const char *value, struct error *err)
{
    struct buf pat;
    struct re *re = NULL;
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_compile_context *cctx;
    char q[QUOTE_ERR_MAX];

    buf_init(&pat, strlen(value) + 16);
    if (buf_appends(&pat, "^(?:") < 0 || buf_appends(&pat, value) < 0 ||
        buf_appends(&pat, ")$") < 0) {
        error_set(err, "out of memory");
        goto fail;
    }
    re = calloc(1, sizeof(*re));
    if (re == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    /* Newline is LF whatever PCRE2 was built with: RE2's '.' matches '\r'. */
    cctx = pcre2_compile_context_create(NULL);
    if (cctx == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
    re->code = pcre2_compile((PCRE2_SPTR)buf_str(&pat), pat.len,
                             PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C, &errcode,
                             &erroff, cctx);
    pcre2_compile_context_free(cctx);
    if (re->code == NULL) {
        PCRE2_UCHAR msg[256];

        if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", errcode);
        error_set(err, "invalid regular expression %s: %s", quote_for_error(value, q, sizeof(q)),
                  (const char *)msg);
        goto fail;
    }
    /* JIT is only a speed-up: pcre2_match falls back to the interpreter without it. */
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    re->mctx = pcre2_match_context_create(NULL);
    if (re->mctx == NULL) {
        error_set(err, "out of memory");
        goto fail;
    }
    pcre2_set_match_limit(re->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(re->mctx, DEPTH_LIMIT);
    pcre2_set_heap_limit(re->mctx, HEAP_LIMIT_KIB);
    buf_release(&pat);
    return re;
fail:
    re_free(re);
    buf_release(&pat);
    return NULL;
}

int matcher_init(struct matcher *m, enum match_op op, const char *name, const char *value,
                 struct error *err)
{
    char q[QUOTE_ERR_MAX];
    struct re *re = NULL;

    memset(m, 0, sizeof(*m));
    if ((unsigned)op > MATCH_NRE)
        return error_set(err, "invalid match type %d", (int)op);
    if (!matcher_name_valid(name))
        return error_set(err, "invalid label name %s", quote_for_error(name, q, sizeof(q)));
    if (!utf8_valid(value, strlen(value)))
        return error_set(err, "matcher value not valid UTF-8: %s",
                         quote_for_error(value, q, sizeof(q)));
    if (op == MATCH_RE || op == MATCH_NRE) {
        re = re_compile(value, err);
        if (re == NULL)
            return -1;
    }
    m->name = strdup(name);
    m->value = strdup(value);
    if (m->name == NULL || m->value == NULL) {
        free(m->name);
        free(m->value);
        re_free(re);
        memset(m, 0, sizeof(*m));
        return error_set(err, "out of memory");
    }
    m->op = op;
    m->re = re;
    return 0;
}

void matcher_release(struct matcher *m)
{
    if (m == NULL)
        return;
    free(m->name);
    free(m->value);
    re_free(m->re);
    memset(m, 0, sizeof(*m));
}

int matcher_copy(struct matcher *dst, const struct matcher *src)
{
    return matcher_init(dst, src->op, src->name, src->value, NULL);
}

static bool re_matches(const struct re *re, const char *s)
{
    pcre2_match_data *md;
    int rc;

    md = pcre2_match_data_create(1, NULL);
    if (md == NULL)
        return false;
    rc = pcre2_match(re->code, (PCRE2_SPTR)s, strlen(s), 0, 0, md, re->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re->code, (PCRE2_SPTR)s, strlen(s), 0, PCRE2_NO_JIT, md, re->mctx);
    pcre2_match_data_free(md);
    return rc >= 0;
}

bool matcher_matches(const struct matcher *m, const char *value)
{
    if (value == NULL)
        value = "";
    switch (m->op) {
    case MATCH_EQ:
        return strcmp(value, m->value) == 0;
    case MATCH_NE:
        return strcmp(value, m->value) != 0;
    case MATCH_RE:
        return re_matches(m->re, value);
    case MATCH_NRE:
        return !re_matches(m->re, value);
    }
    return false;
}

bool matcher_matches_empty(const struct matcher *m)
{
    return matcher_matches(m, "");
}

/* OpenMetrics escaping, as Alertmanager prints matcher values: only \, newline
 * and " are escaped, so the parser reads back exactly the same value. */
static int put_escaped(struct buf *out, const char *s)
{
    for (; *s; s++) {
        int rc;

        if (*s == '\\')
            rc = buf_appends(out, "\\\\");
        else if (*s == '\n')
            rc = buf_appends(out, "\\n");
        else if (*s == '"')
            rc = buf_appends(out, "\\\"");
        else
            rc = buf_appendc(out, *s);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int matcher_format(const struct matcher *m, struct buf *out)
{
    if (buf_appends(out, m->name) < 0 || buf_appends(out, match_op_str(m->op)) < 0 ||
        buf_appendc(out, '"') < 0 || put_escaped(out, m->value) < 0 || buf_appendc(out, '"') < 0)
        return -1;
    return 0;
}

void matchers_init(struct matchers *ms)
{
    ms->v = NULL;
    ms->n = 0;
    ms->cap = 0;
}

void matchers_release(struct matchers *ms)
{
    if (ms == NULL)
        return;
    for (size_t i = 0; i < ms->n; i++)
        matcher_release(&ms->v[i]);
    free(ms->v);
    matchers_init(ms);
}

static int matchers_reserve(struct matchers *ms, size_t extra)
{
    size_t ncap;
    struct matcher *nv;

    if (ms->n + extra <= ms->cap)
        return 0;
    ncap = ms->cap ? ms->cap : 4;
    while (ncap < ms->n + extra)
        ncap *= 2;
    nv = realloc(ms->v, ncap * sizeof(*nv));
    if (nv == NULL)
        return -1;
    ms->v = nv;
    ms->cap = ncap;
    return 0;
}

int matchers_push(struct matchers *ms, struct matcher *m)
{
    if (matchers_reserve(ms, 1) < 0)
        return -1;
    ms->v[ms->n++] = *m;
    memset(m, 0, sizeof(*m));
    return 0;
}

int matchers_copy(struct matchers *dst, const struct matchers *src)
{
    struct matchers tmp = MATCHERS_INIT;

    if (dst == src)
        return 0;
    if (matchers_reserve(&tmp, src->n) < 0)
        return -1;
    for (size_t i = 0; i < src->n; i++) {
        if (matcher_copy(&tmp.v[i], &src->v[i]) < 0) {
            matchers_release(&tmp);
            return -1;
        }
        tmp.n++;
    }
    matchers_release(dst);
    *dst = tmp;
    return 0;
}

bool matchers_match(const struct matchers *ms, const struct labels *ls)
{
    for (size_t i = 0; i < ms->n; i++) {
        const char *v = labels_get(ls, ms->v[i].name);

        if (!matcher_matches(&ms->v[i], v != NULL ? v : ""))
            return false;
    }
    return true;
}

int matchers_format(const struct matchers *ms, struct buf *out)
{
    if (buf_appendc(out, '{') < 0)
        return -1;
    for (size_t i = 0; i < ms->n; i++) {
        if (i > 0 && buf_appendc(out, ',') < 0)
            return -1;
        if (matcher_format(&ms->v[i], out) < 0)
            return -1;
    }
    return buf_appendc(out, '}');
}

static int matcher_cmp(const void *pa, const void *pb)
{
    const struct matcher *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);

    if (c != 0)
        return c;
    c = strcmp(a->value, b->value);
    if (c != 0)
        return c;
    return (int)a->op - (int)b->op;
}

void matchers_sort(struct matchers *ms)
{
    if (ms->n > 1)
        qsort(ms->v, ms->n, sizeof(ms->v[0]), matcher_cmp);
}

bool matchers_equal(const struct matchers *a, const struct matchers *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (matcher_cmp(&a->v[i], &b->v[i]) != 0)
            return false;
    }
    return true;
}

/* Go's \s: the whitespace the matcher syntax allows around tokens. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Parses one matcher from s[0..len) (not NUL-terminated). */
static int parse_one(struct matcher *m, const char *s, size_t len, struct error *err)
{
    const char *p = s, *end = s + len;
    const char *name, *raw;
    size_t name_len, raw_len;
    enum match_op op;
    struct buf val;
    bool quoted = false, closed = false;
    char *name_z = NULL;
    int rc = -1;

    buf_init(&val, len + 1);
    while (p < end && is_space(*p))
        p++;
    name = p;
    if (p < end && is_name_start(*p)) {
        p++;
        while (p < end && is_name_char(*p))
            p++;
    }
    name_len = (size_t)(p - name);
    while (p < end && is_space(*p))
        p++;
    if (name_len == 0 || p >= end)
        goto bad_format;
    if (p + 1 < end && p[0] == '=' && p[1] == '~') {
        op = MATCH_RE;
        p += 2;
    } else if (p[0] == '=') {
        op = MATCH_EQ;
        p += 1;
    } else if (p + 1 < end && p[0] == '!' && p[1] == '=') {
        op = MATCH_NE;
        p += 2;
    } else if (p + 1 < end && p[0] == '!' && p[1] == '~') {
        op = MATCH_NRE;
        p += 2;
    } else {
        goto bad_format;
    }
    while (p < end && is_space(*p))
        p++;
    while (end > p && is_space(end[-1]))
        end--;
    raw = p;
    raw_len = (size_t)(end - p);
    if (raw_len > 0 && raw[0] == '"') {
        quoted = true;
        raw++;
        raw_len--;
    }
    if (!utf8_valid(raw, raw_len)) {
        error_set(err, "matcher value not valid UTF-8: %.*s", (int)(end - p), p);
        goto out;
    }
    for (size_t i = 0; i < raw_len; i++) {
        char c = raw[i];
        int arc;

        if (c == '\\' && i + 1 < raw_len) {
            char n = raw[++i];

            if (n == 'n')
                arc = buf_appendc(&val, '\n');
            else if (n == '"' || n == '\\')
                arc = buf_appendc(&val, n);
            else /* a spurious escape: the backslash is literal */
                arc = buf_appendc(&val, '\\') < 0 ? -1 : buf_appendc(&val, n);
        } else if (c == '"') {
            if (!quoted || i + 1 < raw_len)
                goto bad_quote;
            closed = true;
            arc = 0;
        } else {
            arc = buf_appendc(&val, c);
        }
        if (arc < 0) {
            error_set(err, "out of memory");
            goto out;
        }
    }
    if (quoted && !closed)
        goto bad_quote;
    name_z = strndup(name, name_len);
    if (name_z == NULL) {
        error_set(err, "out of memory");
        goto out;
    }
    rc = matcher_init(m, op, name_z, buf_str(&val), err);
    goto out;

bad_quote:
    error_set(err, "matcher value contains unescaped double quote: %.*s", (int)(end - p), p);
    goto out;
bad_format:
    error_set(err, "bad matcher format: %.*s", (int)len, s);
out:
    free(name_z);
    buf_release(&val);
    return rc;
}

int matcher_parse(struct matcher *m, const char *s, struct error *err)
{
    return parse_one(m, s, strlen(s), err);
}

int matchers_parse(struct matchers *ms, const char *s, struct error *err)
{
    struct matchers tmp = MATCHERS_INIT;
    size_t len = strlen(s);
    size_t start, i;
    bool in_quotes = false, escaped = false;
    int rc = -1;

    if (!utf8_valid(s, len)) {
        char q[QUOTE_ERR_MAX];

        return error_set(err, "matchers not valid UTF-8: %s", quote_for_error(s, q, sizeof(q)));
    }
    start = 0;
    if (len > 0 && s[0] == '{')
        start = 1;
    if (len > start && s[len - 1] == '}')
        len--;
    i = start;
    for (; i < len; i++) {
        char c = s[i];

        if (c == ',' && !in_quotes) {
            struct matcher m;

            /* Every piece before a comma must be a matcher, even an empty one. */
            if (parse_one(&m, s + start, i - start, err) < 0)
                goto out;
            if (matchers_push(&tmp, &m) < 0) {
                matcher_release(&m);
                error_set(err, "out of memory");
                goto out;
            }
            start = i + 1;
            continue;
        }
        if (c == '"') {
            if (!escaped)
                in_quotes = !in_quotes;
            else
                escaped = false;
        } else if (c == '\\') {
            escaped = !escaped;
        } else {
            escaped = false;
        }
    }
    /* The last piece may be empty or blank: that is the optional trailing comma. */
    {
        size_t a = start, b = len;

        while (a < b && is_space(s[a]))
            a++;
        while (b > a && is_space(s[b - 1]))
            b--;
        if (b > a) {
            struct matcher m;

            if (parse_one(&m, s + a, b - a, err) < 0)
                goto out;
            if (matchers_push(&tmp, &m) < 0) {
                matcher_release(&m);
                error_set(err, "out of memory");
                goto out;
            }
        }
    }
    if (matchers_reserve(ms, tmp.n) < 0) {
        error_set(err, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < tmp.n; k++)
        ms->v[ms->n++] = tmp.v[k];
    tmp.n = 0;
    rc = 0;
out:
    matchers_release(&tmp);
    return rc;
}
