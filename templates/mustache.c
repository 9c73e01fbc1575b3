/*
 * mustache.c - the mustache compiler and renderer.
 *
 * Compiling one template source goes in passes over a token list:
 *   1. tokenize: text (split after every newline) and tags, following {{=| |=}}
 *      delimiter changes; positions are kept for messages;
 *   2. match every open tag ({{#x}} {{^x}} {{<x}} {{$x}}) with its {{/x}};
 *   3. blocks passed to a parent ({{<p}}{{$b}}...{{/b}}{{/p}}): when the block's
 *      opening tag ends its line, drop that newline and take the indentation of
 *      the first content line off every content line ("reindentation");
 *   4. a parent tag pair is standalone when nothing but whitespace stands before
 *      its opening tag and after its closing tag on their lines;
 *   5. the classic standalone rule: a line holding one section, inverted,
 *      closing, comment, partial, block or delimiter tag and only whitespace
 *      disappears (a partial or block keeps the whitespace as its indentation);
 *   6. mark the first output-producing token of each line ("bol"): that is
 *      where the indentation of a standalone partial or block goes at render;
 *   7. build a tree of nodes in one flat array per template; text lives in one
 *      arena per template (adjacent text on one line is merged);
 *   8. finish the nodes for the render: copy the first two parts of each name
 *      (packed) into the node, and fold each TEXT node into the tag before it
 *      (its "tail") or into the section that it opens (its "head").
 * Partials and parents are looked up by name in the set being compiled and
 * loaded (once each) through the caller's loader, so recursion terminates.
 * A dynamic partial ({{>*name}}) is found by name at render time among the
 * set's templates; when one is used, everything the loader lists
 * (MUSTACHE_LIST_PARTIALS) is compiled into the set as well.
 *
 * Rendering walks the tree in one loop, without recursion: a stack of struct
 * rframe records where to go on when a child list ends (a section over a list
 * stays on it until its last item), beside a context stack of struct vnode
 * pointers (a "view" of the jansson context, see "prepared data" below) and a
 * linked list of parent frames (the overrides in force). Block overrides are
 * resolved outermost first, as the inheritance spec says. Indentation is
 * written before a "bol" node or folded text when the output is at the start
 * of a line. In a prepared view the common lookup (the name where this node
 * found it last time, in the top context) is inline in the loop; the hints
 * carry over between renders of a template on one thread.
 *
 * Invariants: after mustache_compile() nothing in a struct mustache changes;
 * nodes refer to partials by pointer into the same set; all names and texts
 * are offsets into the owning template's arena.
 * A prepared view (struct mustache_data) does not change after
 * mustache_data_new(); a private one (mustache_render()) belongs to one render.
 */
#include "templates/mustache.h"

#include "core/buf.h"
#include "core/error.h"

#include <dirent.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE        UINT32_MAX
#define DELIM_MAX   16
#define INDENT_MAX  (64u * 1024)
#define PARENT_NONE (-1L)

enum tok_kind {
    T_TEXT,
    T_VAR,
    T_RAW,
    T_SECTION,
    T_INVERTED,
    T_CLOSE,
    T_COMMENT,
    T_PARTIAL,
    T_PARENT,
    T_BLOCK,
    T_DELIM,
};

struct tok {
    enum tok_kind kind;
    size_t s, e; /* TEXT: the text; tags: the name */
    int line, col;
    size_t match;        /* opening <-> closing partner */
    long owner;          /* index of the innermost enclosing opening tag, or PARENT_NONE */
    size_t ind_s, ind_e; /* indentation (a slice of the source), empty when none */
    bool nl;             /* TEXT ending with '\n' (fixed at tokenize time) */
    bool dropped;
    bool standalone;
    bool bol;
    bool dynamic; /* PARTIAL {{>*name}}: the partial's name is the value of name */
};

enum node_kind {
    N_TEXT,
    N_VAR,
    N_RAW,
    N_SECTION,
    N_INVERTED,
    N_PARTIAL,
    N_PARENT,
    N_BLOCK,
};

struct mtpl;

struct node {
    uint8_t kind;
    bool bol;
    bool standalone;
    bool dynamic;              /* PARTIAL: off/len are a context name giving the partial's name */
    uint32_t next;             /* next sibling or NONE */
    uint32_t child;            /* first child or NONE */
    uint32_t off;              /* TEXT: text; VAR/RAW/SECTION/INVERTED: first of the NUL-separated
                       name parts; BLOCK: the name */
    uint32_t len;              /* TEXT: bytes; VAR...: number of name parts (0 = "."); */
    uint32_t ind_off, ind_len; /* PARTIAL/PARENT: standalone indentation; BLOCK: site's */
    uint32_t id;               /* unique in the set: index into a render's name hints */
    /* Text folded in from TEXT nodes (see finish_nodes()): the tail is written after
     * the node (and its children), the head (SECTION, INVERTED) before each
     * rendering of the children. *_bol: the text starts a line (node.bol). */
    uint32_t tail_off, tail_len;
    uint32_t head_off, head_len;
    bool tail_bol, head_bol;
    struct mtpl *partial; /* PARTIAL/PARENT; NULL when missing and allowed */
    /* Names looked up (len > 0): the first two parts as name_part() reads them from
     * the arena, copied here by finish_names() so the render's common case reads
     * the node only. part[1] is valid when len >= 2. */
    struct npart {
        uint64_t p0, p1; /* the first 16 bytes, zero-padded */
        uint32_t len;    /* bytes */
        uint32_t off;    /* the bytes (NUL-terminated) in the arena */
    } part[2];
    uint8_t pad[16]; /* to 128 bytes: finding node i is a shift */
};
_Static_assert(sizeof(void *) != 8 || sizeof(struct node) == 128, "struct node is 128 bytes");

/* One template of a set: the main one or a partial. */
struct mtpl {
    char *name;   /* the partial's name ("" for the main template) */
    char *origin; /* for messages */
    char *arena;
    size_t arena_len, arena_cap;
    struct node *nodes;
    uint32_t n_nodes, cap_nodes;
    uint32_t root; /* first top-level node or NONE */
    bool compiled;
    bool missing; /* not found and MUSTACHE_MISSING_PARTIAL_EMPTY: renders as "" */
    /* Where it was first referenced, for "partial not found". */
    const char *ref_origin;
    int ref_line, ref_col;
};

struct mustache {
    struct mtpl **tpls; /* tpls[0] is the main template */
    size_t n, cap;
    /* The first {{>*name}} seen, if any: every partial the loader lists is then
     * compiled too, so the render can find them by name. */
    bool dynamic;
    const char *dyn_origin;
    int dyn_line, dyn_col;
    uint32_t n_nodes; /* over all its templates: the size of a render's hint array */
};

struct parser {
    const char *src;
    size_t len;
    const char *origin;
    struct tok *toks;
    size_t n, cap;
    char otag[DELIM_MAX], ctag[DELIM_MAX];
    size_t olen, clen;
    /* line tracking: everything before `scanned` has been counted */
    size_t scanned;
    size_t lstart;
    int line;
    int line_off, col_off; /* added to reported positions */
    struct mustache *set;
    struct mtpl *tpl;
    struct error *err;
};

/* ------------------------------------------------------------------ helpers */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Text made only of spaces and tabs, optionally ended by "\n" or "\r\n". */
static bool text_blank(const char *src, const struct tok *t)
{
    size_t i = t->s;
    size_t e = t->e;

    if (t->nl) {
        e--;
        if (e > i && src[e - 1] == '\r')
            e--;
    }
    for (; i < e; i++)
        if (!is_ws(src[i]))
            return false;
    return true;
}

static size_t lead_ws(const char *src, size_t s, size_t e)
{
    size_t i = s;

    while (i < e && is_ws(src[i]))
        i++;
    return i - s;
}

static const char *find(const char *hay, size_t from, size_t len, const char *needle, size_t nlen)
{
    if (nlen == 0 || len < nlen)
        return NULL;
    for (size_t i = from; i + nlen <= len; i++) {
        const char *p = memchr(hay + i, needle[0], len - nlen + 1 - i);

        if (p == NULL)
            return NULL;
        if (memcmp(p, needle, nlen) == 0)
            return p;
        i = (size_t)(p - hay);
    }
    return NULL;
}

static void position(struct parser *p, size_t off, int *line, int *col)
{
    int c = 1;

    for (; p->scanned < off; p->scanned++) {
        if (p->src[p->scanned] == '\n') {
            p->line++;
            p->lstart = p->scanned + 1;
        }
    }
    for (size_t i = p->lstart; i < off; i++)
        if (((unsigned char)p->src[i] & 0xC0) != 0x80)
            c++;
    *line = p->line + p->line_off;
    *col = c + p->col_off;
}

static int perr(struct parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int perr(struct parser *p, int line, int col, const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return error_set(p->err, "%s:%d:%d: %s", p->origin, line, col, msg);
}

static const char *kind_sigil(enum tok_kind k)
{
    switch (k) {
    case T_SECTION:
        return "#";
    case T_INVERTED:
        return "^";
    case T_PARENT:
        return "<";
    case T_BLOCK:
        return "$";
    case T_CLOSE:
        return "/";
    case T_PARTIAL:
        return ">";
    default:
        return "";
    }
}

/* ----------------------------------------------------------------- tokenize */

static struct tok *tok_push(struct parser *p, enum tok_kind kind, size_t s, size_t e)
{
    struct tok *t;

    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        struct tok *nt = realloc(p->toks, ncap * sizeof(*nt));

        if (nt == NULL) {
            error_set(p->err, "%s: out of memory", p->origin);
            return NULL;
        }
        p->toks = nt;
        p->cap = ncap;
    }
    t = &p->toks[p->n++];
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->s = s;
    t->e = e;
    t->match = SIZE_MAX;
    t->owner = PARENT_NONE;
    return t;
}

/* Adds text [s, e), one token per line. */
static int push_text(struct parser *p, size_t s, size_t e)
{
    while (s < e) {
        const char *nl = memchr(p->src + s, '\n', e - s);
        size_t end = nl ? (size_t)(nl - p->src) + 1 : e;
        struct tok *t = tok_push(p, T_TEXT, s, end);

        if (t == NULL)
            return -1;
        t->nl = nl != NULL;
        s = end;
    }
    return 0;
}

/* Checks a tag's name: non-empty, no inner whitespace, and for names that are looked
 * up in the context, no empty dotted part. */
static int check_name(struct parser *p, struct tok *t, bool dotted)
{
    if (t->s == t->e)
        return perr(p, t->line, t->col, "empty tag name");
    for (size_t i = t->s; i < t->e; i++)
        if (is_space(p->src[i]))
            return perr(p, t->line, t->col, "invalid tag name \"%.*s\": contains whitespace",
                        (int)(t->e - t->s), p->src + t->s);
    if (dotted && !(t->e - t->s == 1 && p->src[t->s] == '.')) {
        bool empty_part = p->src[t->s] == '.' || p->src[t->e - 1] == '.';

        for (size_t i = t->s; i + 1 < t->e; i++)
            if (p->src[i] == '.' && p->src[i + 1] == '.')
                empty_part = true;
        if (empty_part)
            return perr(p, t->line, t->col, "invalid name \"%.*s\"", (int)(t->e - t->s),
                        p->src + t->s);
    }
    return 0;
}

static void trim(const char *src, size_t *s, size_t *e)
{
    while (*s < *e && is_space(src[*s]))
        (*s)++;
    while (*e > *s && is_space(src[*e - 1]))
        (*e)--;
}

/* Parses "{{=<% %>=}}" content [s, e) into new delimiters. */
static int set_delims(struct parser *p, size_t s, size_t e, int line, int col)
{
    size_t a, b, c, d;

    trim(p->src, &s, &e);
    a = s;
    b = a;
    while (b < e && !is_space(p->src[b]))
        b++;
    c = b;
    while (c < e && is_space(p->src[c]))
        c++;
    d = e;
    if (b == a || c == d || c == b)
        return perr(p, line, col, "bad delimiters: expected {{=OPEN CLOSE=}}");
    for (size_t i = c; i < d; i++)
        if (is_space(p->src[i]))
            return perr(p, line, col, "bad delimiters: expected exactly two delimiters");
    for (size_t i = a; i < d; i++)
        if (p->src[i] == '=' && (i < b || i >= c))
            return perr(p, line, col, "bad delimiters: a delimiter may not contain '='");
    if (b - a >= DELIM_MAX || d - c >= DELIM_MAX)
        return perr(p, line, col, "bad delimiters: longer than %d bytes", DELIM_MAX - 1);
    memcpy(p->otag, p->src + a, b - a);
    p->olen = b - a;
    memcpy(p->ctag, p->src + c, d - c);
    p->clen = d - c;
    return 0;
}

static int tokenize(struct parser *p)
{
    size_t pos = 0;

    while (pos < p->len) {
        const char *o = find(p->src, pos, p->len, p->otag, p->olen);
        size_t ts, q, end, ns, ne;
        enum tok_kind kind;
        int line, col;
        struct tok *t;
        const char *c;

        if (o == NULL)
            return push_text(p, pos, p->len);
        ts = (size_t)(o - p->src);
        if (push_text(p, pos, ts) < 0)
            return -1;
        position(p, ts, &line, &col);
        q = ts + p->olen;
        if (q < p->len && p->src[q] == '{') {
            char close[DELIM_MAX + 1];

            close[0] = '}';
            memcpy(close + 1, p->ctag, p->clen);
            c = find(p->src, q + 1, p->len, close, p->clen + 1);
            if (c == NULL)
                return perr(p, line, col, "unclosed tag: expected \"}%.*s\"", (int)p->clen,
                            p->ctag);
            kind = T_RAW;
            ns = q + 1;
            ne = (size_t)(c - p->src);
            end = ne + 1 + p->clen;
        } else if (q < p->len && p->src[q] == '=') {
            char close[DELIM_MAX + 1];

            close[0] = '=';
            memcpy(close + 1, p->ctag, p->clen);
            c = find(p->src, q + 1, p->len, close, p->clen + 1);
            if (c == NULL)
                return perr(p, line, col, "unclosed delimiter tag: expected \"=%.*s\"",
                            (int)p->clen, p->ctag);
            t = tok_push(p, T_DELIM, q + 1, (size_t)(c - p->src));
            if (t == NULL)
                return -1;
            t->line = line;
            t->col = col;
            pos = (size_t)(c - p->src) + 1 + p->clen;
            if (set_delims(p, q + 1, (size_t)(c - p->src), line, col) < 0)
                return -1;
            continue;
        } else {
            c = find(p->src, q, p->len, p->ctag, p->clen);
            if (c == NULL)
                return perr(p, line, col, "unclosed tag: expected \"%.*s\"", (int)p->clen, p->ctag);
            ns = q;
            ne = (size_t)(c - p->src);
            end = ne + p->clen;
            kind = T_VAR;
            if (ns < ne) {
                switch (p->src[ns]) {
                case '&':
                    kind = T_RAW;
                    break;
                case '#':
                    kind = T_SECTION;
                    break;
                case '^':
                    kind = T_INVERTED;
                    break;
                case '/':
                    kind = T_CLOSE;
                    break;
                case '!':
                    kind = T_COMMENT;
                    break;
                case '>':
                    kind = T_PARTIAL;
                    break;
                case '<':
                    kind = T_PARENT;
                    break;
                case '$':
                    kind = T_BLOCK;
                    break;
                default:
                    break;
                }
                if (kind != T_VAR)
                    ns++;
            }
        }
        trim(p->src, &ns, &ne);
        t = tok_push(p, kind, ns, ne);
        if (t == NULL)
            return -1;
        t->line = line;
        t->col = col;
        if (kind == T_PARTIAL && t->s < t->e && p->src[t->s] == '*') {
            /* {{>*name}}: the partial named by the value of `name`. */
            t->dynamic = true;
            t->s++;
            trim(p->src, &t->s, &t->e);
        }
        if (kind != T_COMMENT) {
            bool dotted = kind == T_VAR || kind == T_RAW || kind == T_SECTION ||
                          kind == T_INVERTED || kind == T_CLOSE || t->dynamic;

            if (check_name(p, t, dotted) < 0)
                return -1;
            if (kind == T_PARENT && p->src[t->s] == '*')
                return perr(p, line, col, "dynamic parent names ({{<*name}}) are not supported");
        }
        pos = end;
    }
    return 0;
}

/* ------------------------------------------------------------------ passes */

static bool name_eq(const struct parser *p, const struct tok *a, const struct tok *b)
{
    return a->e - a->s == b->e - b->s && memcmp(p->src + a->s, p->src + b->s, a->e - a->s) == 0;
}

static int match_sections(struct parser *p)
{
    size_t stack[MUSTACHE_MAX_DEPTH];
    size_t depth = 0;

    for (size_t i = 0; i < p->n; i++) {
        struct tok *t = &p->toks[i];

        t->owner = depth ? (long)stack[depth - 1] : PARENT_NONE;
        switch (t->kind) {
        case T_SECTION:
        case T_INVERTED:
        case T_PARENT:
        case T_BLOCK:
            if (depth == MUSTACHE_MAX_DEPTH)
                return perr(p, t->line, t->col, "sections nested deeper than %d",
                            MUSTACHE_MAX_DEPTH);
            stack[depth++] = i;
            break;
        case T_CLOSE: {
            struct tok *o;

            if (depth == 0)
                return perr(p, t->line, t->col, "unexpected {{/%.*s}}: no section is open",
                            (int)(t->e - t->s), p->src + t->s);
            o = &p->toks[stack[depth - 1]];
            if (!name_eq(p, o, t))
                return perr(p, t->line, t->col,
                            "{{/%.*s}} does not close {{%s%.*s}} opened at line %d column %d",
                            (int)(t->e - t->s), p->src + t->s, kind_sigil(o->kind),
                            (int)(o->e - o->s), p->src + o->s, o->line, o->col);
            o->match = i;
            t->match = stack[depth - 1];
            t->owner = o->owner;
            depth--;
            break;
        }
        default:
            break;
        }
    }
    if (depth > 0) {
        struct tok *o = &p->toks[stack[depth - 1]];

        return perr(p, o->line, o->col, "unclosed section {{%s%.*s}}", kind_sigil(o->kind),
                    (int)(o->e - o->s), p->src + o->s);
    }
    return 0;
}

static bool in_parent_body(const struct parser *p, const struct tok *t)
{
    return t->owner != PARENT_NONE && p->toks[t->owner].kind == T_PARENT;
}

/* Pass 3: a block passed to a parent loses the rest of its opening line and the
 * indentation before its closing tag, and its content is outdented by the
 * indentation of its first line. */
static void reindent_overrides(struct parser *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct tok *t = &p->toks[i];
        size_t j = t->match, k, first, m;
        bool standalone = false;
        size_t d = 0;

        if (t->kind != T_BLOCK || !in_parent_body(p, t))
            continue;
        k = i + 1;
        while (k < j && p->toks[k].kind == T_TEXT && !p->toks[k].nl &&
               text_blank(p->src, &p->toks[k]))
            k++;
        if (k < j && p->toks[k].kind == T_TEXT && p->toks[k].nl &&
            text_blank(p->src, &p->toks[k])) {
            standalone = true;
            for (size_t x = i + 1; x <= k; x++)
                p->toks[x].dropped = true;
        }
        first = standalone ? k + 1 : i + 1;
        if (standalone && first < j && p->toks[first].kind == T_TEXT)
            d = lead_ws(p->src, p->toks[first].s, p->toks[first].e);
        if (d > 0) {
            for (m = first; m < j; m++) {
                struct tok *x = &p->toks[m];
                size_t w;

                if (x->kind != T_TEXT || x->dropped)
                    continue;
                if (m != first && !(p->toks[m - 1].kind == T_TEXT && p->toks[m - 1].nl))
                    continue;
                w = lead_ws(p->src, x->s, x->e);
                x->s += w < d ? w : d;
            }
        }
        /* Whitespace before the closing tag at the start of its line. */
        m = j;
        while (m > i + 1 && p->toks[m - 1].kind == T_TEXT && !p->toks[m - 1].nl &&
               text_blank(p->src, &p->toks[m - 1]))
            m--;
        if (m < j && (m == i + 1 || (p->toks[m - 1].kind == T_TEXT && p->toks[m - 1].nl)))
            for (size_t x = m; x < j; x++)
                p->toks[x].dropped = true;
    }
}

/* Pass 4: a parent pair with only whitespace before its opening tag and after its
 * closing tag is standalone: the whitespace becomes its indentation and the
 * closing line's newline goes. */
static void standalone_parents(struct parser *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct tok *t = &p->toks[i];
        size_t j = t->match, k;
        long m;
        bool at_start, at_end;

        if (t->kind != T_PARENT || in_parent_body(p, t))
            continue;
        m = (long)i - 1;
        while (m >= 0 && p->toks[m].kind == T_TEXT && !p->toks[m].nl &&
               (p->toks[m].dropped || text_blank(p->src, &p->toks[m])))
            m--;
        at_start = m < 0 || (p->toks[m].kind == T_TEXT && p->toks[m].nl);
        k = j + 1;
        while (k < p->n && p->toks[k].kind == T_TEXT && !p->toks[k].nl &&
               text_blank(p->src, &p->toks[k]))
            k++;
        at_end = k == p->n || (p->toks[k].kind == T_TEXT && text_blank(p->src, &p->toks[k]));
        if (!at_start || !at_end)
            continue;
        t->standalone = true;
        p->toks[j].standalone = true;
        for (long x = m + 1; x < (long)i; x++) {
            if (!p->toks[x].dropped) {
                t->ind_s = p->toks[x].s;
                t->ind_e = p->toks[x].e;
                p->toks[x].dropped = true;
            }
        }
        for (size_t x = j + 1; x <= k && x < p->n; x++)
            p->toks[x].dropped = true;
    }
}

static bool standalone_kind(const struct parser *p, const struct tok *t)
{
    switch (t->kind) {
    case T_SECTION:
    case T_INVERTED:
    case T_COMMENT:
    case T_PARTIAL:
    case T_BLOCK:
    case T_DELIM:
        return true;
    case T_CLOSE:
        return p->toks[t->match].kind != T_PARENT;
    default:
        return false;
    }
}

/* Pass 5: the classic standalone rule, line by line. */
static void standalone_lines(struct parser *p)
{
    size_t a = 0;

    while (a < p->n) {
        size_t b = a;
        long tag = -1;
        bool ok = true;

        while (b < p->n && !(p->toks[b].kind == T_TEXT && p->toks[b].nl))
            b++;
        if (b == p->n)
            b--;
        for (size_t i = a; i <= b && ok; i++) {
            struct tok *t = &p->toks[i];

            if (t->kind == T_PARENT || (t->kind == T_CLOSE && p->toks[t->match].kind == T_PARENT))
                ok = false;
            else if (t->dropped)
                continue;
            else if (t->kind == T_TEXT)
                ok = text_blank(p->src, t);
            else if (tag >= 0 || !standalone_kind(p, t))
                ok = false;
            else
                tag = (long)i;
        }
        if (ok && tag >= 0) {
            struct tok *t = &p->toks[tag];

            t->standalone = true;
            for (size_t i = a; i <= b; i++) {
                struct tok *x = &p->toks[i];

                if (x->kind != T_TEXT || x->dropped)
                    continue;
                if ((long)i < tag && x->s < x->e) {
                    t->ind_s = x->s;
                    t->ind_e = x->e;
                }
                x->dropped = true;
            }
            if (t->kind == T_BLOCK && !in_parent_body(p, t) && b + 1 < p->n &&
                p->toks[b + 1].kind == T_TEXT) {
                /* A standalone block's indentation is that of the line after it. */
                struct tok *nx = &p->toks[b + 1];

                t->ind_s = nx->s;
                t->ind_e = nx->s + lead_ws(p->src, nx->s, nx->e);
            } else if (t->kind == T_BLOCK && !in_parent_body(p, t) && b + 1 < p->n) {
                t->ind_s = t->ind_e = 0;
            }
        } else if (tag < 0 || !ok) {
            /* A block site that is not standalone but starts its line after
             * whitespace indents its override's later lines by that whitespace. */
            for (size_t i = a; i <= b; i++) {
                struct tok *t = &p->toks[i];

                if (t->kind != T_BLOCK || in_parent_body(p, t) || t->dropped)
                    continue;
                if (i == a && i > 0)
                    break;
                if (i == a + 1 && p->toks[a].kind == T_TEXT && !p->toks[a].dropped &&
                    text_blank(p->src, &p->toks[a])) {
                    t->ind_s = p->toks[a].s;
                    t->ind_e = p->toks[a].e;
                }
                break;
            }
        }
        a = b + 1;
    }
}

/* Pass 6: the first output-producing token of each line. */
static void mark_bol(struct parser *p)
{
    bool at = true;

    for (size_t i = 0; i < p->n; i++) {
        struct tok *t = &p->toks[i];

        if (t->kind == T_TEXT) {
            if (t->dropped || t->s == t->e) {
                if (t->nl)
                    at = true;
                continue;
            }
            t->bol = at;
            at = t->nl;
            continue;
        }
        if (t->standalone || t->kind == T_COMMENT || t->kind == T_DELIM || t->kind == T_CLOSE)
            continue;
        t->bol = at;
        at = false;
    }
}

/* ------------------------------------------------------------- tree build */

static int arena_add(struct parser *p, const char *s, size_t n, bool nul, uint32_t *off)
{
    struct mtpl *t = p->tpl;
    size_t need = t->arena_len + n + (nul ? 1 : 0);

    if (need > UINT32_MAX)
        return error_set(p->err, "%s: template too large", p->origin);
    if (need > t->arena_cap) {
        size_t ncap = t->arena_cap ? t->arena_cap : 256;
        char *na;

        while (ncap < need)
            ncap *= 2;
        na = realloc(t->arena, ncap);
        if (na == NULL)
            return error_set(p->err, "%s: out of memory", p->origin);
        t->arena = na;
        t->arena_cap = ncap;
    }
    *off = (uint32_t)t->arena_len;
    if (n > 0)
        memcpy(t->arena + t->arena_len, s, n);
    t->arena_len += n;
    if (nul)
        t->arena[t->arena_len++] = '\0';
    return 0;
}

static int node_new(struct parser *p, uint8_t kind, uint32_t *idx)
{
    struct mtpl *t = p->tpl;
    struct node *n;

    if (t->n_nodes == t->cap_nodes) {
        uint32_t ncap = t->cap_nodes ? t->cap_nodes * 2 : 32;
        struct node *nn = realloc(t->nodes, (size_t)ncap * sizeof(*nn));

        if (nn == NULL)
            return error_set(p->err, "%s: out of memory", p->origin);
        t->nodes = nn;
        t->cap_nodes = ncap;
    }
    *idx = t->n_nodes++;
    n = &t->nodes[*idx];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->next = NONE;
    n->child = NONE;
    return 0;
}

static void pack16(const char *s, size_t len, uint64_t *p0, uint64_t *p1);

/* Splits a dotted name into parts in the arena, each stored as a 2-byte length, its
 * first 16 bytes packed in two 8-byte words (zero-padded, as struct vkv keeps
 * keys), the bytes and a NUL: comparing a name with a key is a few integer
 * compares. */
static int add_name(struct parser *p, const struct tok *t, uint32_t *off, uint32_t *nparts)
{
    size_t s = t->s;
    bool first = true;

    *nparts = 0;
    if (t->e - t->s == 1 && p->src[t->s] == '.') {
        *off = 0;
        return 0;
    }
    while (s <= t->e) {
        const char *dot = memchr(p->src + s, '.', t->e - s);
        size_t e = dot ? (size_t)(dot - p->src) : t->e;
        uint16_t n = (uint16_t)(e - s);
        uint32_t o, ignored;

        if (e - s > UINT16_MAX)
            return perr(p, t->line, t->col, "name longer than %u bytes", UINT16_MAX);
        uint64_t pk[2];

        pack16(p->src + s, e - s, &pk[0], &pk[1]);
        if (arena_add(p, (const char *)&n, sizeof(n), false, &o) < 0 ||
            arena_add(p, (const char *)pk, sizeof(pk), false, &ignored) < 0 ||
            arena_add(p, p->src + s, e - s, true, &ignored) < 0)
            return -1;
        if (first)
            *off = o;
        first = false;
        (*nparts)++;
        s = e + 1;
    }
    return 0;
}

static struct mtpl *tpl_new(const char *name)
{
    struct mtpl *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->name = strdup(name);
    if (t->name == NULL) {
        free(t);
        return NULL;
    }
    t->root = NONE;
    return t;
}

static void tpl_free(struct mtpl *t)
{
    if (t == NULL)
        return;
    free(t->name);
    free(t->origin);
    free(t->arena);
    free(t->nodes);
    free(t);
}

static int set_add(struct mustache *m, struct mtpl *t)
{
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 8;
        struct mtpl **nt = realloc(m->tpls, ncap * sizeof(*nt));

        if (nt == NULL)
            return -1;
        m->tpls = nt;
        m->cap = ncap;
    }
    m->tpls[m->n++] = t;
    return 0;
}

/* The set's template named name, created (still to be compiled) on first use and
 * remembering where it was first referenced. NULL when memory runs out. */
static struct mtpl *set_ref(struct mustache *set, const char *name, const char *ref_origin,
                            int line, int col)
{
    struct mtpl *x;

    for (size_t i = 1; i < set->n; i++)
        if (strcmp(set->tpls[i]->name, name) == 0)
            return set->tpls[i];
    x = tpl_new(name);
    if (x == NULL || set_add(set, x) < 0) {
        tpl_free(x);
        return NULL;
    }
    x->ref_origin = ref_origin;
    x->ref_line = line;
    x->ref_col = col;
    return x;
}

static struct mtpl *partial_ref(struct parser *p, const struct tok *t)
{
    char name[512];
    size_t n = t->e - t->s;
    struct mtpl *x;

    if (n >= sizeof(name)) {
        perr(p, t->line, t->col, "partial name longer than %zu bytes", sizeof(name) - 1);
        return NULL;
    }
    memcpy(name, p->src + t->s, n);
    name[n] = '\0';
    x = set_ref(p->set, name, p->tpl->origin, t->line, t->col);
    if (x == NULL)
        error_set(p->err, "%s: out of memory", p->origin);
    return x;
}

static int build(struct parser *p)
{
    struct mtpl *tpl = p->tpl;
    /* Per open container: its node and the last child added so far. */
    struct {
        uint32_t node;
        uint32_t last;
    } stack[MUSTACHE_MAX_DEPTH + 1];
    size_t depth = 0;
    uint32_t root_last = NONE;

    tpl->root = NONE;
    for (size_t i = 0; i < p->n; i++) {
        struct tok *t = &p->toks[i];
        uint32_t idx = NONE, *last, *first_slot;
        struct node *n;
        uint8_t kind;

        if (t->dropped && t->kind == T_TEXT)
            continue;
        if (t->kind == T_COMMENT || t->kind == T_DELIM)
            continue;
        if (t->kind == T_CLOSE) {
            depth--;
            continue;
        }
        /* Inside a parent's body only blocks count; skip anything else whole. */
        if (in_parent_body(p, t) && t->kind != T_BLOCK) {
            if (t->kind == T_SECTION || t->kind == T_INVERTED || t->kind == T_PARENT)
                i = t->match;
            continue;
        }
        if (t->kind == T_TEXT && t->s == t->e)
            continue;
        last = depth ? &stack[depth - 1].last : &root_last;
        first_slot = depth ? &tpl->nodes[stack[depth - 1].node].child : &tpl->root;
        if (t->kind == T_TEXT && !t->bol && *last != NONE && tpl->nodes[*last].kind == N_TEXT &&
            tpl->nodes[*last].off + tpl->nodes[*last].len == tpl->arena_len) {
            uint32_t off;

            if (arena_add(p, p->src + t->s, t->e - t->s, false, &off) < 0)
                return -1;
            tpl->nodes[*last].len += (uint32_t)(t->e - t->s);
            continue;
        }
        switch (t->kind) {
        case T_TEXT:
            kind = N_TEXT;
            break;
        case T_VAR:
            kind = N_VAR;
            break;
        case T_RAW:
            kind = N_RAW;
            break;
        case T_SECTION:
            kind = N_SECTION;
            break;
        case T_INVERTED:
            kind = N_INVERTED;
            break;
        case T_PARTIAL:
            kind = N_PARTIAL;
            break;
        case T_PARENT:
            kind = N_PARENT;
            break;
        case T_BLOCK:
            kind = N_BLOCK;
            break;
        default:
            BUG("unexpected token kind");
        }
        if (node_new(p, kind, &idx) < 0)
            return -1;
        /* node_new may move the array: recompute the slots. */
        last = depth ? &stack[depth - 1].last : &root_last;
        first_slot = depth ? &tpl->nodes[stack[depth - 1].node].child : &tpl->root;
        n = &tpl->nodes[idx];
        n->bol = t->bol;
        n->standalone = t->standalone;
        if (*last == NONE)
            *first_slot = idx;
        else
            tpl->nodes[*last].next = idx;
        *last = idx;
        switch (t->kind) {
        case T_TEXT: {
            uint32_t off;

            if (arena_add(p, p->src + t->s, t->e - t->s, false, &off) < 0)
                return -1;
            n = &tpl->nodes[idx];
            n->off = off;
            n->len = (uint32_t)(t->e - t->s);
            break;
        }
        case T_VAR:
        case T_RAW:
        case T_SECTION:
        case T_INVERTED: {
            uint32_t off = 0, np = 0;

            if (add_name(p, t, &off, &np) < 0)
                return -1;
            n = &tpl->nodes[idx];
            n->off = off;
            n->len = np;
            break;
        }
        case T_PARTIAL:
        case T_PARENT:
        case T_BLOCK: {
            uint32_t off = 0, ioff = 0;
            struct mtpl *ref = NULL;

            if (t->kind == T_BLOCK) {
                if (arena_add(p, p->src + t->s, t->e - t->s, true, &off) < 0)
                    return -1;
            } else if (t->dynamic) {
                uint32_t np = 0;

                if (add_name(p, t, &off, &np) < 0)
                    return -1;
                tpl->nodes[idx].dynamic = true;
                tpl->nodes[idx].len = np;
                if (!p->set->dynamic) {
                    p->set->dynamic = true;
                    p->set->dyn_origin = tpl->origin;
                    p->set->dyn_line = t->line;
                    p->set->dyn_col = t->col;
                }
            } else {
                ref = partial_ref(p, t);
                if (ref == NULL)
                    return -1;
            }
            if (arena_add(p, p->src + t->ind_s, t->ind_e - t->ind_s, false, &ioff) < 0)
                return -1;
            n = &tpl->nodes[idx];
            n->off = off;
            n->partial = ref;
            n->ind_off = ioff;
            n->ind_len = (uint32_t)(t->ind_e - t->ind_s);
            break;
        }
        default:
            break;
        }
        if (t->kind == T_SECTION || t->kind == T_INVERTED || t->kind == T_PARENT ||
            t->kind == T_BLOCK) {
            stack[depth].node = idx;
            stack[depth].last = NONE;
            depth++;
        }
    }
    return 0;
}

static const char *name_part(const char *at, size_t *len, uint64_t *p0, uint64_t *p1);

/* Copies the first two parts of every looked-up name into its node (node.part),
 * and folds TEXT nodes into tag nodes: one that follows a tag becomes the tag's
 * tail, one that opens the children of a section or inverted section becomes its
 * head. The render then dispatches about half as often, and a section holding
 * only text needs no frame. A folded TEXT node stays in the array, unreachable. */
static void finish_nodes(struct mtpl *tpl)
{
    for (uint32_t i = 0; i < tpl->n_nodes; i++) {
        struct node *n = &tpl->nodes[i];
        const char *at;

        if (n->kind != N_TEXT && n->next != NONE) {
            const struct node *x = &tpl->nodes[n->next];

            if (x->kind == N_TEXT) {
                n->tail_off = x->off;
                n->tail_len = x->len;
                n->tail_bol = x->bol;
                n->next = x->next;
            }
        }
        if ((n->kind == N_SECTION || n->kind == N_INVERTED) && n->child != NONE) {
            const struct node *x = &tpl->nodes[n->child];

            if (x->kind == N_TEXT) {
                n->head_off = x->off;
                n->head_len = x->len;
                n->head_bol = x->bol;
                n->child = x->next;
            }
        }

        if (n->kind != N_VAR && n->kind != N_RAW && n->kind != N_SECTION && n->kind != N_INVERTED &&
            !(n->kind == N_PARTIAL && n->dynamic))
            continue;
        at = tpl->arena + n->off;
        for (uint32_t k = 0; k < n->len && k < 2; k++) {
            size_t len;
            const char *bytes = name_part(at, &len, &n->part[k].p0, &n->part[k].p1);

            n->part[k].len = (uint32_t)len;
            n->part[k].off = (uint32_t)(bytes - tpl->arena);
            at = bytes + len + 1;
        }
    }
}

static int compile_one(struct mustache *set, struct mtpl *tpl, const char *src,
                       const struct mustache_options *opts, struct error *err)
{
    struct parser p;
    int rc = -1;

    memset(&p, 0, sizeof(p));
    p.src = src;
    p.len = strlen(src);
    p.origin = tpl->origin ? tpl->origin : tpl->name;
    p.set = set;
    p.tpl = tpl;
    p.err = err;
    p.line = 1;
    if (opts != NULL) {
        p.line_off = opts->line_offset;
        p.col_off = opts->col_offset;
    }
    memcpy(p.otag, "{{", 2);
    memcpy(p.ctag, "}}", 2);
    p.olen = p.clen = 2;
    if (p.len > MUSTACHE_MAX_SOURCE) {
        error_set(err, "%s: template larger than %u bytes", p.origin, MUSTACHE_MAX_SOURCE);
        goto out;
    }
    if (tokenize(&p) < 0 || match_sections(&p) < 0)
        goto out;
    reindent_overrides(&p);
    standalone_parents(&p);
    standalone_lines(&p);
    mark_bol(&p);
    if (build(&p) < 0)
        goto out;
    finish_nodes(tpl);
    /* 16 bytes of slack after the last text, for emit_text()'s fixed-size copy. */
    {
        static const char zeros[16];
        uint32_t ignored;

        if (arena_add(&p, zeros, sizeof(zeros), false, &ignored) < 0)
            goto out;
    }
    tpl->compiled = true;
    rc = 0;
out:
    free(p.toks);
    return rc;
}

/* ---------------------------------------------------------------- compile */

void mustache_free(struct mustache *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        tpl_free(m->tpls[i]);
    free(m->tpls);
    free(m);
}

const char *mustache_name(const struct mustache *m)
{
    return m->tpls[0]->origin;
}

/* Adds every partial the loader lists (load(data, "*", ...), see mustache.h) to the set,
 * for {{>*name}}. A loader that cannot list leaves the set as it is. */
static int list_partials(struct mustache *m, const struct mustache_loader *l, struct error *err)
{
    char *list = NULL, *origin = NULL;
    struct error lerr;
    int rc;

    error_clear(&lerr);
    rc = l->load(l->data, MUSTACHE_LIST_PARTIALS, &list, &origin, &lerr);
    free(origin);
    if (rc == 1)
        return 0;
    if (rc < 0)
        return error_set(err, "%s:%d:%d: listing partials for a dynamic name: %s", m->dyn_origin,
                         m->dyn_line, m->dyn_col, lerr.msg);
    for (char *line = list; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');

        if (nl != NULL)
            *nl = '\0';
        if (*line != '\0' && set_ref(m, line, m->dyn_origin, m->dyn_line, m->dyn_col) == NULL) {
            free(list);
            return error_set(err, "out of memory");
        }
        line = nl ? nl + 1 : NULL;
    }
    free(list);
    return 0;
}

struct mustache *mustache_compile(const char *source, const char *name,
                                  const struct mustache_options *opts, struct error *err)
{
    struct mustache *m = calloc(1, sizeof(*m));
    struct mtpl *main_tpl = NULL;
    const struct mustache_loader *loader = opts ? opts->loader : NULL;
    unsigned flags = opts ? opts->flags : 0;
    bool listed = false;

    if (name == NULL)
        name = "template";
    if (m == NULL)
        goto oom;
    main_tpl = tpl_new("");
    if (main_tpl == NULL)
        goto oom;
    main_tpl->origin = strdup(name);
    if (main_tpl->origin == NULL || set_add(m, main_tpl) < 0) {
        tpl_free(main_tpl);
        goto oom;
    }
    if (compile_one(m, main_tpl, source, opts, err) < 0)
        goto fail;
    /* Partials referenced so far; compiling one may append more. When a template
     * names partials dynamically, everything the loader can list joins in. */
    for (size_t i = 1;;) {
        struct mtpl *t;
        char *src = NULL, *origin = NULL;
        int found = 1;

        if (i == m->n && m->dynamic && !listed) {
            listed = true;
            if (loader != NULL && list_partials(m, loader, err) < 0)
                goto fail;
        }
        if (i >= m->n)
            break;
        t = m->tpls[i++];
        if (t->compiled || t->missing)
            continue;
        if (loader != NULL) {
            struct error lerr;

            error_clear(&lerr);
            found = loader->load(loader->data, t->name, &src, &origin, &lerr);
            if (found < 0) {
                error_set(err, "%s:%d:%d: partial \"%s\": %s", t->ref_origin, t->ref_line,
                          t->ref_col, t->name, lerr.msg);
                free(src);
                free(origin);
                goto fail;
            }
        }
        if (found != 0) {
            if (flags & MUSTACHE_MISSING_PARTIAL_EMPTY) {
                t->missing = true;
                continue;
            }
            error_set(err, "%s:%d:%d: partial \"%s\" not found", t->ref_origin, t->ref_line,
                      t->ref_col, t->name);
            goto fail;
        }
        t->origin = origin;
        if (t->origin == NULL)
            t->origin = strdup(t->name);
        if (t->origin == NULL) {
            free(src);
            goto oom;
        }
        if (compile_one(m, t, src, NULL, err) < 0) {
            free(src);
            goto fail;
        }
        free(src);
    }
    for (size_t i = 0; i < m->n; i++) {
        for (uint32_t k = 0; k < m->tpls[i]->n_nodes; k++)
            m->tpls[i]->nodes[k].id = m->n_nodes + k;
        m->n_nodes += m->tpls[i]->n_nodes;
    }
    return m;
oom:
    error_set(err, "%s: out of memory", name);
fail:
    mustache_free(m);
    return NULL;
}

static int read_file(const char *path, char **out, struct error *err)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char chunk[8192];
    size_t n;
    int rc = -1;

    buf_init(&b, MUSTACHE_MAX_SOURCE);
    if (f == NULL)
        return error_set(err, "%s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&b, chunk, n) < 0) {
            error_set(err, "%s: larger than %u bytes", path, MUSTACHE_MAX_SOURCE);
            goto out;
        }
    }
    if (ferror(f)) {
        error_set(err, "%s: read error", path);
        goto out;
    }
    if (memchr(buf_str(&b), '\0', b.len) != NULL) {
        error_set(err, "%s: contains a NUL byte", path);
        goto out;
    }
    *out = buf_detach(&b);
    if (*out == NULL) {
        error_set(err, "%s: out of memory", path);
        goto out;
    }
    rc = 0;
out:
    buf_release(&b);
    fclose(f);
    return rc;
}

struct mustache *mustache_compile_file(const char *path, const struct mustache_options *opts,
                                       struct error *err)
{
    char *src = NULL;
    struct mustache *m;

    if (read_file(path, &src, err) < 0)
        return NULL;
    m = mustache_compile(src, path, opts, err);
    free(src);
    return m;
}

/* ----------------------------------------------------------------- loaders */

/* Adds one name (n bytes) and a newline to a MUSTACHE_LIST_PARTIALS answer. */
static int list_add(struct buf *b, const char *name, size_t n, struct error *err)
{
    if (buf_append(b, name, n) < 0 || buf_appendc(b, '\n') < 0)
        return error_set(err, "too many partials to list");
    return 0;
}

/* Hands a MUSTACHE_LIST_PARTIALS answer to the caller. */
static int list_done(struct buf *b, char **source, struct error *err)
{
    *source = buf_detach(b);
    if (*source == NULL)
        return error_set(err, "out of memory");
    return 0;
}

static bool is_list(const char *name)
{
    return strcmp(name, MUSTACHE_LIST_PARTIALS) == 0;
}

static int load_table(void *data, const char *name, char **source, char **origin, struct error *err)
{
    const struct mustache_partial *t = data;

    (void)origin;
    if (is_list(name)) {
        struct buf b;

        buf_init(&b, MUSTACHE_MAX_SOURCE);
        for (; t != NULL && t->name != NULL; t++) {
            if (list_add(&b, t->name, strlen(t->name), err) < 0) {
                buf_release(&b);
                return -1;
            }
        }
        return list_done(&b, source, err);
    }
    for (; t != NULL && t->name != NULL; t++) {
        if (strcmp(t->name, name) == 0) {
            *source = strdup(t->source);
            if (*source == NULL)
                return error_set(err, "out of memory");
            return 0;
        }
    }
    return 1;
}

struct mustache_loader mustache_loader_table(const struct mustache_partial *table)
{
    struct mustache_loader l = {load_table, (void *)table};

    return l;
}

static int load_path(const char *path, char **source, char **origin, struct error *err)
{
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return errno == ENOENT ? 1 : error_set(err, "%s: %s", path, strerror(errno));
    fclose(f);
    if (read_file(path, source, err) < 0)
        return -1;
    *origin = strdup(path);
    if (*origin == NULL) {
        free(*source);
        *source = NULL;
        return error_set(err, "out of memory");
    }
    return 0;
}

static int load_dir(void *data, const char *name, char **source, char **origin, struct error *err)
{
    const char *dir = data;
    struct buf path;
    int rc;

    if (is_list(name)) {
        DIR *d = opendir(dir);
        struct dirent *de;
        struct buf b;

        if (d == NULL)
            return error_set(err, "%s: %s", dir, strerror(errno));
        buf_init(&b, MUSTACHE_MAX_SOURCE);
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            const size_t ext = sizeof(".mustache") - 1;

            if (de->d_name[0] == '.' || n <= ext || strcmp(de->d_name + n - ext, ".mustache") != 0)
                continue;
            if (list_add(&b, de->d_name, n - ext, err) < 0) {
                buf_release(&b);
                closedir(d);
                return -1;
            }
        }
        closedir(d);
        return list_done(&b, source, err);
    }
    if (name[0] == '.' || strchr(name, '/') != NULL)
        return 1;
    buf_init(&path, 4096);
    if (buf_printf(&path, "%s/%s.mustache", dir, name) < 0) {
        buf_release(&path);
        return error_set(err, "path too long");
    }
    rc = load_path(buf_str(&path), source, origin, err);
    if (rc == 1) {
        buf_reset(&path);
        if (buf_printf(&path, "%s/%s", dir, name) < 0)
            rc = error_set(err, "path too long");
        else
            rc = load_path(buf_str(&path), source, origin, err);
    }
    buf_release(&path);
    return rc;
}

struct mustache_loader mustache_loader_dir(const char *dir)
{
    struct mustache_loader l = {load_dir, (void *)dir};

    return l;
}

static int load_files(void *data, const char *name, char **source, char **origin, struct error *err)
{
    const struct mustache_files *fs = data;
    size_t nlen = strlen(name);
    struct buf b;

    buf_init(&b, MUSTACHE_MAX_SOURCE);
    for (size_t i = 0; i < fs->n; i++) {
        const char *base = strrchr(fs->paths[i], '/');
        const char *dot;
        size_t blen;

        base = base ? base + 1 : fs->paths[i];
        dot = strrchr(base, '.');
        blen = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        if (is_list(name)) {
            if (list_add(&b, base, blen, err) < 0) {
                buf_release(&b);
                return -1;
            }
            continue;
        }
        if (blen == nlen && memcmp(base, name, nlen) == 0) {
            int rc = load_path(fs->paths[i], source, origin, err);

            buf_release(&b);
            return rc == 1 ? error_set(err, "%s: %s", fs->paths[i], strerror(ENOENT)) : rc;
        }
    }
    if (is_list(name))
        return list_done(&b, source, err);
    buf_release(&b);
    return 1;
}

struct mustache_loader mustache_loader_files(const struct mustache_files *files)
{
    struct mustache_loader l = {load_files, (void *)files};

    return l;
}

static int load_chain(void *data, const char *name, char **source, char **origin, struct error *err)
{
    const struct mustache_loader_chain *c = data;
    char *first = NULL, *second = NULL;
    int rc1 = 1, rc2 = 1;
    struct buf b;

    if (!is_list(name)) {
        if (c->first.load != NULL)
            rc1 = c->first.load(c->first.data, name, source, origin, err);
        if (rc1 == 1 && c->second.load != NULL)
            rc1 = c->second.load(c->second.data, name, source, origin, err);
        return rc1;
    }
    /* Both lists, one after the other. */
    if (c->first.load != NULL)
        rc1 = c->first.load(c->first.data, name, &first, origin, err);
    if (rc1 >= 0 && c->second.load != NULL)
        rc2 = c->second.load(c->second.data, name, &second, origin, err);
    if (rc1 < 0 || rc2 < 0 || (rc1 == 1 && rc2 == 1)) {
        free(first);
        free(second);
        return rc1 < 0 || rc2 < 0 ? -1 : 1;
    }
    buf_init(&b, 2 * (size_t)MUSTACHE_MAX_SOURCE);
    if ((first && buf_appends(&b, first) < 0) || (second && buf_appends(&b, second) < 0)) {
        free(first);
        free(second);
        buf_release(&b);
        return error_set(err, "too many partials to list");
    }
    free(first);
    free(second);
    return list_done(&b, source, err);
}

struct mustache_loader mustache_loader_chained(const struct mustache_loader_chain *chain)
{
    struct mustache_loader l = {load_chain, (void *)chain};

    return l;
}

/* ------------------------------------------------------------------ render */

int mustache_escape_parse(const char *s, enum mustache_escape *out)
{
    static const char *const names[] = {"html", "none", "json", "slack"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum mustache_escape)i;
            return 0;
        }
    }
    return -1;
}

const char *mustache_escape_name(enum mustache_escape esc)
{
    switch (esc) {
    case MUSTACHE_ESCAPE_HTML:
        return "html";
    case MUSTACHE_ESCAPE_NONE:
        return "none";
    case MUSTACHE_ESCAPE_JSON:
        return "json";
    case MUSTACHE_ESCAPE_SLACK:
        return "slack";
    }
    return "html";
}

/* ------------------------------------------------------------ prepared data */

/* The render does not look names up in jansson: json_object_getn() hashes the
 * name on every call, and that was most of the render time. A context is first
 * turned into a "view": every object becomes an array of its keys (with the
 * first 16 bytes packed in two words and the length, so comparing a name is two
 * or three integer compares) and every value a struct vnode that already holds
 * what the render needs (string bytes and length, truthiness, numbers as text).
 * Every lookup node remembers where in an object its name was found last time
 * (a hint, kept per thread between renders), and the objects of one list
 * (alerts, label pairs) have the same keys in the same order, so a lookup is
 * usually one comparison.
 *
 * A struct mustache_data holds a fully built view, shared read-only by any
 * number of renders (all templates of one notification). mustache_render()
 * without one builds a private view lazily: an object's keys are listed when a
 * lookup first reaches it, so a template that reads little pays little.
 *
 * The view points into the jansson values (string bytes, keys) and holds a
 * reference to the root, so the context must not change while a view exists. */

struct vkv;

struct vnode {
    const json_t *j; /* the value itself: {{x}} of an object or array dumps it */
    const char *s;   /* string bytes; a number's or boolean's text; NULL otherwise */
    size_t len;      /* s's length; object/array: number of members once listed */
    uint8_t type;    /* json_type */
    bool truthy;
    bool listed;   /* object/array: members below are valid */
    uint8_t clean; /* string: bit (1 << mode) set when mode escapes none of its bytes */
    union {
        struct vkv *kv;      /* object */
        struct vnode *items; /* array */
    } m;
};

struct vkv {
    uint64_t p0, p1; /* the key's first 16 bytes, zero-padded */
    const char *key;
    size_t len;
    struct vnode val;
};

/* Blocks of memory for one view; freed together. */
struct vchunk {
    struct vchunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct mustache_data {
    json_t *root; /* our reference */
    struct vnode top;
    struct vchunk *chunks;
};

static void *view_alloc(struct mustache_data *d, size_t n)
{
    struct vchunk *c = d->chunks;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;

        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->next = d->chunks;
        c->used = 0;
        c->cap = cap;
        d->chunks = c;
    }
    p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static uint64_t load_le(const char *s, size_t n) /* n = 1, 2, 4 or 8 bytes */
{
    uint64_t v = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&v, s, n);
#else
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)(unsigned char)s[i] << (8 * i);
#endif
    return v;
}

/* The first 16 bytes of s (len bytes) as two little-endian words, zero-padded. Reads
 * only inside s: short keys with two overlapping loads (equal bytes where they
 * overlap), so there is no byte loop. */
static void pack16(const char *s, size_t len, uint64_t *p0, uint64_t *p1)
{
    *p1 = 0;
    if (len >= 16) {
        *p0 = load_le(s, 8);
        *p1 = load_le(s + 8, 8);
    } else if (len > 8) {
        *p0 = load_le(s, 8);
        *p1 = load_le(s + len - 8, 8) >> (8 * (16 - len));
    } else if (len >= 4) {
        *p0 =
            len == 8 ? load_le(s, 8) : load_le(s, 4) | (load_le(s + len - 4, 4) << (8 * (len - 4)));
    } else if (len >= 2) {
        *p0 = load_le(s, 2) | (load_le(s + len - 2, 2) << (8 * (len - 2)));
    } else {
        *p0 = len == 1 ? (unsigned char)s[0] : 0;
    }
}
/* Fills v for the jansson value j (members not listed yet). -1: out of memory. */
static int vnode_set(struct mustache_data *d, struct vnode *v, const json_t *j)
{
    char tmp[64];
    size_t n;

    memset(v, 0, sizeof(*v));
    v->j = j;
    v->type = (uint8_t)json_typeof(j);
    switch (json_typeof(j)) {
    case JSON_STRING:
        v->s = json_string_value(j);
        v->len = json_string_length(j);
        v->truthy = v->len > 0;
        return 0;
    case JSON_OBJECT:
        v->truthy = true;
        return 0;
    case JSON_ARRAY:
        v->truthy = json_array_size(j) > 0;
        return 0;
    case JSON_TRUE:
        v->s = "true";
        v->len = 4;
        v->truthy = true;
        return 0;
    case JSON_FALSE:
        v->s = "false";
        v->len = 5;
        return 0;
    case JSON_NULL:
        return 0;
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        v->truthy = json_integer_value(j) != 0;
        break;
    case JSON_REAL: {
        double x = json_real_value(j);

        /* The shortest form that reads back as the same number, as JavaScript prints. */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, x);
            if (strtod(tmp, NULL) == x)
                break;
        }
        v->truthy = x != 0.0;
        break;
    }
    }
    n = strlen(tmp);
    v->s = view_alloc(d, n + 1);
    if (v->s == NULL)
        return -1;
    memcpy((char *)v->s, tmp, n + 1);
    v->len = n;
    return 0;
}

/* Lists the members of object or array v. -1: out of memory. */
static int vnode_list(struct mustache_data *d, struct vnode *v)
{
    json_t *j = (json_t *)v->j; /* iteration does not modify it */
    size_t n = 0;

    if (v->type == JSON_OBJECT) {
        size_t size = json_object_size(j);

        v->m.kv = view_alloc(d, (size ? size : 1) * sizeof(struct vkv));
        if (v->m.kv == NULL)
            return -1;
        for (void *it = json_object_iter(j); it != NULL && n < size;
             it = json_object_iter_next(j, it)) {
            struct vkv *e = &v->m.kv[n++];

            e->key = json_object_iter_key(it);
            e->len = json_object_iter_key_len(it);
            pack16(e->key, e->len, &e->p0, &e->p1);
            if (vnode_set(d, &e->val, json_object_iter_value(it)) < 0)
                return -1;
        }
    } else if (v->type == JSON_ARRAY) {
        size_t size = json_array_size(j);

        v->m.items = view_alloc(d, (size ? size : 1) * sizeof(struct vnode));
        if (v->m.items == NULL)
            return -1;
        for (; n < size; n++)
            if (vnode_set(d, &v->m.items[n], json_array_get(j, n)) < 0)
                return -1;
    }
    v->len = n;
    v->listed = true;
    return 0;
}

static uint8_t clean_modes(const char *s, size_t n);

/* While listing a whole view: the values met more than once (jansson refcount above
 * one: the context builder shares label pairs, strings and the alert objects of
 * alertsFiring), so each is listed and scanned once; later sites copy the result. */
struct seen {
    const json_t **key;
    struct vnode **val;
    size_t n, cap; /* cap: 0 or a power of two */
};

/* The vnode first made for j, or NULL after recording v as it. -1: out of memory. */
static int seen_get(struct seen *s, const json_t *j, struct vnode *v, struct vnode **first)
{
    size_t k;

    *first = NULL;
    if (2 * (s->n + 1) > s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 256;
        const json_t **nk = calloc(ncap, sizeof(*nk));
        struct vnode **nv = calloc(ncap, sizeof(*nv));

        if (nk == NULL || nv == NULL) {
            free(nk);
            free(nv);
            return -1;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (s->key[i] == NULL)
                continue;
            for (k = ((uintptr_t)s->key[i] >> 4) & (ncap - 1); nk[k] != NULL;
                 k = (k + 1) & (ncap - 1))
                ;
            nk[k] = s->key[i];
            nv[k] = s->val[i];
        }
        free(s->key);
        free(s->val);
        s->key = nk;
        s->val = nv;
        s->cap = ncap;
    }
    for (k = ((uintptr_t)j >> 4) & (s->cap - 1); s->key[k] != NULL; k = (k + 1) & (s->cap - 1)) {
        if (s->key[k] == j) {
            *first = s->val[k];
            return 0;
        }
    }
    s->key[k] = j;
    s->val[k] = v;
    s->n++;
    return 0;
}

static int grow_ptrs(struct vnode ***v, size_t *cap, size_t n)
{
    if (n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct vnode **nt = realloc(*v, ncap * sizeof(*nt));

        if (nt == NULL)
            return -1;
        *v = nt;
        *cap = ncap;
    }
    return 0;
}

/* Lists v and everything below it, without recursion (any depth). */
static int vnode_list_all(struct mustache_data *d, struct vnode *v)
{
    struct vnode **todo = NULL, **copies = NULL;
    size_t n = 0, cap = 0, nc = 0, ccap = 0;
    struct seen seen = {NULL, NULL, 0, 0};
    int rc = -1;

    if (v->type != JSON_OBJECT && v->type != JSON_ARRAY)
        return 0;
    for (;;) {
        if (vnode_list(d, v) < 0)
            goto out;
        for (size_t i = 0; i < v->len; i++) {
            struct vnode *c = v->type == JSON_OBJECT ? &v->m.kv[i].val : &v->m.items[i];
            struct vnode *first = NULL;
            bool container = c->type == JSON_OBJECT || c->type == JSON_ARRAY;

            if (!container && c->type != JSON_STRING)
                continue;
            if (c->j->refcount > 1 && seen_get(&seen, c->j, c, &first) < 0)
                goto out;
            if (c->type == JSON_STRING) {
                c->clean = first != NULL ? first->clean : clean_modes(c->s, c->len);
                continue;
            }
            if (first != NULL) {
                /* Listed (or to be) at its first site: copy once all are done. */
                if (grow_ptrs(&copies, &ccap, nc) < 0)
                    goto out;
                copies[nc++] = c;
                c->m.kv = (struct vkv *)(void *)first; /* the first site, for now */
                continue;
            }
            if (grow_ptrs(&todo, &cap, n) < 0)
                goto out;
            todo[n++] = c;
        }
        if (n == 0)
            break;
        v = todo[--n];
    }
    for (size_t i = 0; i < nc; i++) {
        const struct vnode *first = (const struct vnode *)(void *)copies[i]->m.kv;

        copies[i]->m = first->m;
        copies[i]->len = first->len;
        copies[i]->listed = true;
    }
    rc = 0;
out:
    free(todo);
    free(copies);
    free(seen.key);
    free(seen.val);
    return rc;
}

static void data_release(struct mustache_data *d)
{
    struct vchunk *c = d->chunks;

    while (c != NULL) {
        struct vchunk *next = c->next;

        free(c);
        c = next;
    }
    d->chunks = NULL;
    json_decref(d->root);
    d->root = NULL;
}

/* Starts a view of ctx (NULL: an empty context). */
static int data_init(struct mustache_data *d, const json_t *ctx)
{
    memset(d, 0, sizeof(*d));
    d->root = json_incref((json_t *)ctx);
    if (ctx == NULL)
        return 0;
    return vnode_set(d, &d->top, ctx);
}

struct mustache_data *mustache_data_new(const json_t *ctx, struct error *err)
{
    struct mustache_data *d = calloc(1, sizeof(*d));

    if (d == NULL || data_init(d, ctx) < 0 || (ctx != NULL && vnode_list_all(d, &d->top) < 0)) {
        if (d != NULL)
            data_release(d);
        free(d);
        error_set(err, "out of memory preparing the template context");
        return NULL;
    }
    return d;
}

void mustache_data_free(struct mustache_data *d)
{
    if (d == NULL)
        return;
    data_release(d);
    free(d);
}

/* Parent frames: the overrides in force, innermost first. */
struct frame {
    const struct mtpl *t;
    uint32_t node; /* the N_PARENT node whose children are the overrides */
    const struct frame *prev;
};

/* The render walks the tree without recursion: entering a section, an inverted
 * section, a partial, a parent or a block pushes a struct rframe saying where to
 * go on when its child list ends (the opening node's next sibling) and what to
 * restore; a section over a list stays on the stack until its last item. */
enum rframe_kind {
    F_PLAIN,  /* inverted section or block: nothing to undo */
    F_CTX,    /* section over a value: pops one context */
    F_LIST,   /* section over a list: renders its children once per item */
    F_CALL,   /* partial */
    F_PARENT, /* parent: also pops its override frame (rstate.pf) */
};

struct rframe {
    const struct mtpl *t;      /* the template holding `node` */
    const struct frame *ov;    /* the overrides in force at `node` */
    const struct vnode *items; /* F_LIST: the list's items */
    size_t k, nitems;          /* F_LIST: the current item, their number */
    size_t ilen;               /* the indentation in force at `node` */
    uint32_t node;
    uint8_t kind; /* enum rframe_kind */
};

#define RFRAMES_INLINE 32

struct rstate {
    const struct mustache *set;
    struct buf *out;
    size_t start;
    enum mustache_escape esc;
    struct mustache_data *lazy; /* a private view listed as needed; NULL: shared, all listed */
    const struct vnode *ctx[MUSTACHE_MAX_DEPTH + 1];
    size_t nctx;
    uint8_t *hint; /* per node id, two: where its first part and its later parts were
                      found last time */
    int depth;     /* sections and partial calls open (at most MUSTACHE_MAX_DEPTH) */
    struct buf indent;
    struct error *err;
    size_t lim;        /* out->len below it: room for a 32-byte copy, and 32 more bytes fit
                   under the cap (see set_lim) */
    struct rframe *fr; /* fr0 or malloc'ed */
    size_t nfr, cap_fr;
    /* Parent frames are pointed to (struct frame.prev), so they do not live in fr,
     * which may move; each counts in depth, so MUSTACHE_MAX_DEPTH is enough. */
    struct frame pf[MUSTACHE_MAX_DEPTH];
    size_t npf;
    struct rframe fr0[RFRAMES_INLINE];
};

static int out_fail(struct rstate *st, size_t n)
{
    if (st->out->len + n > st->out->max || st->out->len + n < st->out->len)
        return error_set(st->err, "template output larger than %zu bytes", st->out->max);
    return error_set(st->err, "out of memory while rendering");
}

/* Appends n bytes. The common case (room in the allocation, under the cap) is a
 * memcpy; anything else goes through buf_append(), which grows or refuses. */
/* Recomputes st->lim for the output's current allocation: out->len < lim means
 * cap - len > 32 (a fixed 32-byte copy fits, with room for the NUL) and
 * len + 32 <= max. */
static void set_lim(struct rstate *st)
{
    const struct buf *b = st->out;
    size_t c = b->cap > 32 ? b->cap - 32 : 0;
    size_t m = b->max > 31 ? b->max - 31 : 0;

    st->lim = c < m ? c : m;
}

static inline int emit(struct rstate *st, const char *s, size_t n)
{
    struct buf *b = st->out;

    if (n < b->cap - b->len && b->len + n <= b->max) {
        memcpy(b->ptr + b->len, s, n);
        b->len += n; /* the NUL is written once, at the end of mustache_render() */
        return 0;
    }
    if (n == 0)
        return 0;
    if (buf_append(b, s, n) < 0)
        return out_fail(st, n);
    set_lim(st);
    return 0;
}

/* Copies n <= 32 bytes to d, which has room for 32, reading only s[0, n): two
 * overlapping loads of the largest size that fits, no call, no byte loop. */
static inline void copy_upto32(char *d, const char *s, size_t n)
{
    if (n >= 16) {
        char x[16], y[16];

        memcpy(x, s, 16);
        memcpy(y, s + n - 16, 16);
        memcpy(d, x, 16);
        memcpy(d + n - 16, y, 16);
    } else if (n >= 8) {
        uint64_t x, y;

        memcpy(&x, s, 8);
        memcpy(&y, s + n - 8, 8);
        memcpy(d, &x, 8);
        memcpy(d + n - 8, &y, 8);
    } else if (n >= 4) {
        uint32_t x, y;

        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        memcpy(d, &x, 4);
        memcpy(d + n - 4, &y, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* emit() for values: short ones without a call. */
static inline int emit_short(struct rstate *st, const char *s, size_t n)
{
    struct buf *b = st->out;

    if (n <= 32 && b->len < st->lim) {
        copy_upto32(b->ptr + b->len, s, n);
        b->len += n;
        return 0;
    }
    return emit(st, s, n);
}

/* Writes n bytes of t's arena at off: up to 16 bytes are one fixed-size copy (the
 * arena has 16 bytes of slack after its last text). */
static inline int emit_text(struct rstate *st, const struct mtpl *t, uint32_t off, uint32_t n)
{
    struct buf *b = st->out;

    if (n <= 16 && b->len < st->lim) {
        memcpy(b->ptr + b->len, t->arena + off, 16);
        b->len += n;
        return 0;
    }
    return emit(st, t->arena + off, n);
}

/* Replacement strings by index; the escape tables map a byte to an index (0 = the
 * byte as it is), so escaping is one table load per byte. */
enum { R_NONE, R_AMP, R_LT, R_GT, R_QUOT, R_APOS, R_JQ, R_JBS, R_JN, R_JR, R_JT, R_JB, R_JF, R_JU };
static const char *const replacements[] = {
    "",     "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "\\\"",
    "\\\\", "\\n",   "\\r",  "\\t",  "\\b",    "\\f",   NULL, /* R_JU: \u00XX, formatted */
};
static const unsigned char esc_html[256] = {
    ['&'] = R_AMP, ['<'] = R_LT, ['>'] = R_GT, ['"'] = R_QUOT, ['\''] = R_APOS,
};
static const unsigned char esc_slack[256] = {
    ['&'] = R_AMP,
    ['<'] = R_LT,
    ['>'] = R_GT,
};
static const unsigned char esc_json[256] = {
    ['"'] = R_JQ,  ['\\'] = R_JBS, ['\n'] = R_JN, ['\r'] = R_JR, ['\t'] = R_JT, ['\b'] = R_JB,
    ['\f'] = R_JF, [0x7f] = R_JU,  [0] = R_JU,    [1] = R_JU,    [2] = R_JU,    [3] = R_JU,
    [4] = R_JU,    [5] = R_JU,     [6] = R_JU,    [7] = R_JU,    [11] = R_JU,   [14] = R_JU,
    [15] = R_JU,   [16] = R_JU,    [17] = R_JU,   [18] = R_JU,   [19] = R_JU,   [20] = R_JU,
    [21] = R_JU,   [22] = R_JU,    [23] = R_JU,   [24] = R_JU,   [25] = R_JU,   [26] = R_JU,
    [27] = R_JU,   [28] = R_JU,    [29] = R_JU,   [30] = R_JU,   [31] = R_JU,
};

/* Per byte, the escape modes that change it: bit (1 << mode). */
#define D_H (1u << MUSTACHE_ESCAPE_HTML)
#define D_S (1u << MUSTACHE_ESCAPE_SLACK)
#define D_J (1u << MUSTACHE_ESCAPE_JSON)
static const unsigned char dirty[256] = {
    [0] = D_J,    [1] = D_J,         [2] = D_J,         [3] = D_J,         [4] = D_J,
    [5] = D_J,    [6] = D_J,         [7] = D_J,         [8] = D_J,         [9] = D_J,
    [10] = D_J,   [11] = D_J,        [12] = D_J,        [13] = D_J,        [14] = D_J,
    [15] = D_J,   [16] = D_J,        [17] = D_J,        [18] = D_J,        [19] = D_J,
    [20] = D_J,   [21] = D_J,        [22] = D_J,        [23] = D_J,        [24] = D_J,
    [25] = D_J,   [26] = D_J,        [27] = D_J,        [28] = D_J,        [29] = D_J,
    [30] = D_J,   [31] = D_J,        [0x7f] = D_J,      ['"'] = D_H | D_J, ['\\'] = D_J,
    ['\''] = D_H, ['&'] = D_H | D_S, ['<'] = D_H | D_S, ['>'] = D_H | D_S,
};

/* Which escape modes leave s (n bytes) as it is: bit (1 << mode). */
static uint8_t clean_modes(const char *s, size_t n)
{
    unsigned d = 0;

    for (size_t i = 0; i < n; i++)
        d |= dirty[(unsigned char)s[i]];
    return (uint8_t)(~d & 0x0fu);
}

/* The first byte in [p, end) that tbl escapes, or end. With SSE2 (every x86-64),
 * the html and slack sets are tested 16 bytes at a time, reading only inside
 * [p, end); the rest goes byte by byte through the table. */
static inline const unsigned char *scan_plain(const unsigned char *p, const unsigned char *end,
                                              const unsigned char *tbl, enum mustache_escape esc)
{
#ifdef __SSE2__
    if (esc == MUSTACHE_ESCAPE_HTML || esc == MUSTACHE_ESCAPE_SLACK) {
        const __m128i amp = _mm_set1_epi8('&'), lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'),
                      qu = _mm_set1_epi8('"'), ap = _mm_set1_epi8('\'');
        bool html = esc == MUSTACHE_ESCAPE_HTML;

        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, lt)),
                                     _mm_cmpeq_epi8(v, gt));
            int bits;

            if (html)
                m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(v, qu), _mm_cmpeq_epi8(v, ap)));
            bits = _mm_movemask_epi8(m);
            if (bits != 0)
                return p + __builtin_ctz((unsigned)bits);
            p += 16;
        }
    }
#else
    (void)esc;
#endif
    while (p < end && tbl[*p] == R_NONE)
        p++;
    return p;
}

/* Appends s (n bytes) escaped as esc says. */
static int emit_escaped(struct rstate *st, const char *s, size_t n, enum mustache_escape esc)
{
    const unsigned char *tbl;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + n;
    const unsigned char *run = p;

    switch (esc) {
    case MUSTACHE_ESCAPE_HTML:
        tbl = esc_html;
        break;
    case MUSTACHE_ESCAPE_SLACK:
        tbl = esc_slack;
        break;
    case MUSTACHE_ESCAPE_JSON:
        tbl = esc_json;
        break;
    default:
        return emit(st, s, n);
    }
    while (p < end) {
        const char *rep;
        char tmp[8];

        /* Runs that need nothing are copied whole. */
        p = scan_plain(p, end, tbl, esc);
        if (p == end)
            break;
        if (emit(st, (const char *)run, (size_t)(p - run)) < 0)
            return -1;
        rep = replacements[tbl[*p]];
        if (rep == NULL) {
            snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
            rep = tmp;
        }
        if (emit(st, rep, strlen(rep)) < 0)
            return -1;
        run = ++p;
    }
    return emit(st, (const char *)run, (size_t)(end - run));
}

static int emit_value(struct rstate *st, const struct vnode *v, enum mustache_escape esc)
{
    char *dump;
    int rc;

    if (v == NULL)
        return 0;
    if (v->type == JSON_STRING) {
        if (v->clean & (1u << esc))
            return emit_short(st, v->s, v->len);
        return emit_escaped(st, v->s, v->len, esc);
    }
    if (v->s != NULL) /* numbers and booleans: nothing to escape */
        return emit_short(st, v->s, v->len);
    if (v->type != JSON_OBJECT && v->type != JSON_ARRAY)
        return 0;
    dump = json_dumps(v->j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (dump == NULL)
        return error_set(st->err, "out of memory while rendering");
    rc = emit_escaped(st, dump, strlen(dump), esc);
    free(dump);
    return rc;
}

static bool truthy(const struct vnode *v)
{
    return v != NULL && v->truthy;
}

/* A name part stored by add_name(): its bytes (NUL-terminated), length and packed
 * first 16 bytes. */
static const char *name_part(const char *at, size_t *len, uint64_t *p0, uint64_t *p1)
{
    uint16_t n;

    memcpy(&n, at, sizeof(n));
    memcpy(p0, at + sizeof(n), 8);
    memcpy(p1, at + sizeof(n) + 8, 8);
    *len = n;
    return at + sizeof(n) + 16;
}

/* Lists v's members if this render's private view has not yet; -1: out of memory. */
static inline int ensure_listed(struct rstate *st, const struct vnode *v)
{
    if (v->listed || st->lazy == NULL)
        return 0;
    if (vnode_list(st->lazy, (struct vnode *)v) < 0)
        return error_set(st->err, "out of memory while rendering");
    return 0;
}

static inline bool kv_is(const struct vkv *e, const char *part, size_t len, uint64_t p0,
                         uint64_t p1)
{
    return e->p0 == p0 && e->len == len && e->p1 == p1 &&
           (len <= 16 || memcmp(e->key + 16, part + 16, len - 16) == 0);
}

/* The member part of object v, or NULL; *hint says where to look first and is
 * updated. *fail is set when listing v ran out of memory. */
static const struct vnode *member(struct rstate *st, const struct vnode *v, const char *part,
                                  size_t len, uint64_t p0, uint64_t p1, uint8_t *hint, bool *fail,
                                  struct vnode *scratch)
{
    const struct vkv *kv;

    if (v->type != JSON_OBJECT)
        return NULL;
    if (!v->listed) {
        /* A private view (mustache_render() without prepared data): listing whole
         * objects costs more than it saves in one render, so ask jansson for the
         * one member and wrap it. */
        const json_t *x = json_object_getn(v->j, part, len);
        struct vnode *r;

        if (x == NULL || st->lazy == NULL)
            return NULL;
        r = scratch != NULL ? scratch : view_alloc(st->lazy, sizeof(*r));
        if (r == NULL || vnode_set(st->lazy, r, x) < 0) {
            *fail = true;
            error_set(st->err, "out of memory while rendering");
            return NULL;
        }
        return r;
    }
    kv = v->m.kv;
    if (*hint < v->len && kv_is(&kv[*hint], part, len, p0, p1))
        return &kv[*hint].val;
    for (size_t i = 0; i < v->len; i++) {
        if (kv_is(&kv[i], part, len, p0, p1)) {
            *hint = (uint8_t)(i < UINT8_MAX ? i : UINT8_MAX);
            return &kv[i].val;
        }
    }
    return NULL;
}

/* lookup() in a private view: objects are not listed (in one render that costs
 * more than it saves), jansson finds each name, and only the result is wrapped. */
static const struct vnode *lookup_json(struct rstate *st, const struct node *n, const char *part,
                                       size_t len, bool *fail, struct vnode *scratch)
{
    const json_t *x = NULL;
    struct vnode *r;
    uint64_t p0, p1;

    for (size_t i = st->nctx; x == NULL && i-- > 0;)
        if (st->ctx[i]->type == JSON_OBJECT)
            x = json_object_getn(st->ctx[i]->j, part, len);
    for (uint32_t k = 1; k < n->len && x != NULL; k++) {
        part = name_part(part + len + 1, &len, &p0, &p1);
        x = json_is_object(x) ? json_object_getn(x, part, len) : NULL;
    }
    if (x == NULL)
        return NULL;
    r = scratch != NULL ? scratch : view_alloc(st->lazy, sizeof(*r));
    if (r != NULL && json_is_string(x)) { /* the common case, without vnode_set()'s work */
        r->j = x;
        r->type = JSON_STRING;
        r->s = json_string_value(x);
        r->len = json_string_length(x);
        r->truthy = r->len > 0;
        r->listed = false;
        r->clean = 0;
        return r;
    }
    if (r == NULL || vnode_set(st->lazy, r, x) < 0) {
        *fail = true;
        error_set(st->err, "out of memory while rendering");
        return NULL;
    }
    return r;
}

/* The value n names, or NULL; *fail is set on out of memory (err says so). In a
 * private view a value found through jansson is wrapped in *scratch when given (the
 * caller uses it at once) or in the view's memory (a section keeps it). The slow
 * path of lookup_node(). */
static const struct vnode *lookup(struct rstate *st, const struct mtpl *t, const struct node *n,
                                  bool *fail, struct vnode *scratch)
{
    const struct vnode *v = NULL;
    uint8_t *hint = &st->hint[2 * (size_t)n->id];
    uint64_t p0, p1;
    size_t len;
    const char *part;

    if (st->nctx == 0)
        return NULL;
    if (n->len == 0)
        return st->ctx[st->nctx - 1];
    part = t->arena + n->part[0].off;
    len = n->part[0].len;
    if (st->lazy != NULL)
        return lookup_json(st, n, part, len, fail, scratch);
    for (size_t i = st->nctx; v == NULL && !*fail && i-- > 0;)
        v = member(st, st->ctx[i], part, len, n->part[0].p0, n->part[0].p1, &hint[0], fail,
                   n->len > 1 ? NULL : scratch);
    /* Later parts (the b of a.b) share the node's second hint. */
    for (uint32_t k = 1; k < n->len && v != NULL; k++) {
        if (k == 1) {
            part = t->arena + n->part[1].off;
            len = n->part[1].len;
            p0 = n->part[1].p0;
            p1 = n->part[1].p1;
        } else {
            part = name_part(part + len + 1, &len, &p0, &p1);
        }
        v = member(st, v, part, len, p0, p1, &hint[1], fail, k + 1 < n->len ? NULL : scratch);
    }
    return *fail ? NULL : v;
}

/* Whether key e is the name part np (bytes at `bytes`). */
static inline bool kv_is_part(const struct vkv *e, const struct npart *np, const char *bytes)
{
    return kv_is(e, bytes, np->len, np->p0, np->p1);
}

/* The member np of listed object v, or NULL; *hint is set to where it was found. */
static __attribute__((noinline)) const struct vnode *
member_scan(const struct vnode *v, const struct npart *np, const char *bytes, uint8_t *hint)
{
    for (size_t k = 0; k < v->len; k++) {
        if (kv_is_part(&v->m.kv[k], np, bytes)) {
            *hint = (uint8_t)(k < UINT8_MAX ? k : UINT8_MAX);
            return &v->m.kv[k].val;
        }
    }
    return NULL;
}

/* lookup() with the common case of a prepared view inline: "." or a name found
 * in the top context where it was found last time (and for a.b, b in a where it
 * was last time). */
static inline __attribute__((always_inline)) const struct vnode *
lookup_node(struct rstate *st, const struct vnode *top, const struct mtpl *t, const struct node *n,
            bool *fail, struct vnode *scratch)
{
    /* top: the top context in a prepared view, else NULL (the slow path). */
    if (top != NULL) {
        const uint8_t *hint = &st->hint[2 * (size_t)n->id];

        if (n->len == 0)
            return top;
        if (top->type == JSON_OBJECT && hint[0] < top->len &&
            kv_is_part(&top->m.kv[hint[0]], &n->part[0], t->arena + n->part[0].off)) {
            const struct vnode *v = &top->m.kv[hint[0]].val;

            if (n->len == 1)
                return v;
            if (n->len == 2) {
                /* a.b with a found: b is looked for in a only. */
                const char *b = t->arena + n->part[1].off;
                uint8_t *h1 = &st->hint[2 * (size_t)n->id + 1];

                if (v->type != JSON_OBJECT)
                    return NULL;
                if (*h1 < v->len && kv_is_part(&v->m.kv[*h1], &n->part[1], b))
                    return &v->m.kv[*h1].val;
                return member_scan(v, &n->part[1], b, h1);
            }
        }
    }
    return lookup(st, t, n, fail, scratch);
}

static bool at_line_start(const struct rstate *st)
{
    return st->out->len == st->start || st->out->ptr[st->out->len - 1] == '\n';
}

static int push_indent(struct rstate *st, size_t ilen, const char *s, size_t n, size_t *nlen)
{
    st->indent.len = ilen;
    if (buf_append(&st->indent, s, n) < 0)
        return error_set(st->err, "indentation deeper than %u bytes", INDENT_MAX);
    *nlen = ilen + n;
    return 0;
}

static int enter(struct rstate *st)
{
    if (st->depth >= MUSTACHE_MAX_DEPTH)
        return error_set(st->err, "templates nested deeper than %d (recursive partial?)",
                         MUSTACHE_MAX_DEPTH);
    st->depth++;
    return 0;
}

/* Writes a folded head or tail text (node.head_*, node.tail_*), after the
 * indentation when it starts a line inside an indented partial or block. */
static inline __attribute__((always_inline)) int emit_piece(struct rstate *st, const struct mtpl *t,
                                                            uint32_t off, uint32_t len, bool bol,
                                                            size_t ilen)
{
    if (ilen > 0 && bol && at_line_start(st) && emit(st, st->indent.ptr, ilen) < 0)
        return -1;
    return emit_text(st, t, off, len);
}

/* Makes room for one more struct rframe. -1: out of memory (err set). */
static __attribute__((noinline)) int grow_frames(struct rstate *st)
{
    size_t ncap = st->cap_fr * 2;
    struct rframe *nf;

    if (st->fr == st->fr0) {
        nf = malloc(ncap * sizeof(*nf));
        if (nf != NULL)
            memcpy(nf, st->fr0, st->nfr * sizeof(*nf));
    } else {
        nf = realloc(st->fr, ncap * sizeof(*nf));
    }
    if (nf == NULL)
        return error_set(st->err, "out of memory while rendering");
    st->fr = nf;
    st->cap_fr = ncap;
    return 0;
}

/* A new frame on top of the stack, filled with where to go back to; NULL: out of
 * memory (err set). */
static inline struct rframe *push_frame(struct rstate *st, uint8_t kind, const struct mtpl *t,
                                        uint32_t node, const struct frame *ov, size_t ilen)
{
    struct rframe *f;

    if (st->nfr == st->cap_fr && grow_frames(st) < 0)
        return NULL;
    f = &st->fr[st->nfr++];
    f->kind = kind;
    f->t = t;
    f->node = node;
    f->ov = ov;
    f->ilen = ilen;
    return f;
}

/* The partial a {{>*name}} node names at render time, or NULL. */
static const struct mtpl *dynamic_partial(struct rstate *st, const struct mtpl *t,
                                          const struct node *n, bool *fail)
{
    struct vnode scratch;
    const struct vnode *v = lookup(st, t, n, fail, &scratch);
    const char *name;

    if (v == NULL || v->type != JSON_STRING)
        return NULL;
    name = v->s;
    for (size_t i = 1; i < st->set->n; i++)
        if (st->set->tpls[i]->compiled && strcmp(st->set->tpls[i]->name, name) == 0)
            return st->set->tpls[i];
    return NULL;
}

/* The override of block n (of template t) in force under ov: the outermost
 * parent's wins. Returns its template and sets *onode, or NULL for none. */
static const struct mtpl *block_override(const struct mtpl *t, const struct node *n,
                                         const struct frame *ov, uint32_t *onode)
{
    const char *name = t->arena + n->off;
    const struct mtpl *ot = NULL;

    for (const struct frame *f = ov; f != NULL; f = f->prev) {
        for (uint32_t c = f->t->nodes[f->node].child; c != NONE; c = f->t->nodes[c].next) {
            if (strcmp(f->t->arena + f->t->nodes[c].off, name) == 0) {
                ot = f->t;
                *onode = c;
                break;
            }
        }
    }
    return ot;
}

/* Renders the node list starting at `first` of template t and everything it
 * opens, with overrides ov and indentation ilen in force. */
static int render_nodes(struct rstate *st, const struct mtpl *t, uint32_t first,
                        const struct frame *ov, size_t ilen)
{
    /* A prepared view: lookups may take the inline path from `top`, kept equal
     * to the top of st->ctx (NULL in a private view). */
    const bool fast = st->lazy == NULL && st->nctx > 0;
    const struct vnode *top = fast ? st->ctx[st->nctx - 1] : NULL;
    uint32_t i = first;

    for (;;) {
        const struct node *n;

        if (i == NONE) {
            /* End of a child list: go on after the node that opened it. */
            struct rframe *f;

            if (st->nfr == 0)
                return 0;
            f = &st->fr[st->nfr - 1];
            switch (f->kind) {
            case F_LIST:
                if (++f->k < f->nitems) {
                    st->ctx[st->nctx - 1] = &f->items[f->k];
                    top = fast ? st->ctx[st->nctx - 1] : NULL;
                    n = &t->nodes[f->node]; /* t is f->t here */
                    if (n->head_len != 0 &&
                        emit_piece(st, t, n->head_off, n->head_len, n->head_bol, ilen) < 0)
                        return -1;
                    i = n->child;
                    continue;
                }
                st->nctx--;
                st->depth--;
                break;
            case F_CTX:
                st->nctx--;
                st->depth--;
                break;
            case F_CALL:
                st->depth--;
                break;
            case F_PARENT:
                st->npf--;
                st->depth--;
                break;
            default:
                break;
            }
            t = f->t;
            ov = f->ov;
            ilen = f->ilen;
            n = &t->nodes[f->node];
            st->nfr--;
            top = fast ? st->ctx[st->nctx - 1] : NULL;
            if (n->tail_len != 0 &&
                emit_piece(st, t, n->tail_off, n->tail_len, n->tail_bol, ilen) < 0)
                return -1;
            i = n->next;
            continue;
        }
        n = &t->nodes[i];
        if (ilen > 0 && n->bol && at_line_start(st)) {
            if (emit(st, st->indent.ptr, ilen) < 0)
                return -1;
        }
        switch (n->kind) {
        case N_TEXT: /* rare: most text is folded into tags (finish_nodes()) */
            if (emit_text(st, t, n->off, n->len) < 0)
                return -1;
            i = n->next;
            continue;
        case N_VAR:
        case N_RAW: {
            bool fail = false;
            struct vnode scratch;
            const struct vnode *v = lookup_node(st, top, t, n, &fail, &scratch);

            if (fail || emit_value(st, v, n->kind == N_VAR ? st->esc : MUSTACHE_ESCAPE_NONE) < 0)
                return -1;
            break;
        }
        case N_SECTION: {
            bool fail = false;
            const struct vnode *v = lookup_node(st, top, t, n, &fail, NULL);
            struct rframe *f;

            if (fail)
                return -1;
            if (!truthy(v))
                break;
            if (enter(st) < 0)
                return -1;
            if (n->child == NONE) {
                /* Text only (or nothing): no context, no frame. */
                size_t times = 1;

                if (v->type == JSON_ARRAY) {
                    if (ensure_listed(st, v) < 0)
                        return -1;
                    times = v->len;
                }
                for (size_t k = 0; k < times && n->head_len != 0; k++)
                    if (emit_piece(st, t, n->head_off, n->head_len, n->head_bol, ilen) < 0)
                        return -1;
                st->depth--;
                break;
            }
            if (v->type == JSON_ARRAY) {
                if (ensure_listed(st, v) < 0)
                    return -1;
                if (v->len == 0) {
                    st->depth--;
                    break;
                }
                f = push_frame(st, F_LIST, t, i, ov, ilen);
                if (f == NULL)
                    return -1;
                f->items = v->m.items;
                f->k = 0;
                f->nitems = v->len;
                st->ctx[st->nctx++] = &v->m.items[0];
            } else {
                if (push_frame(st, F_CTX, t, i, ov, ilen) == NULL)
                    return -1;
                st->ctx[st->nctx++] = v;
            }
            top = fast ? st->ctx[st->nctx - 1] : NULL;
            if (n->head_len != 0 &&
                emit_piece(st, t, n->head_off, n->head_len, n->head_bol, ilen) < 0)
                return -1;
            i = n->child;
            continue;
        }
        case N_INVERTED: {
            bool fail = false;
            struct vnode scratch;
            const struct vnode *v = lookup_node(st, top, t, n, &fail, &scratch);

            if (fail)
                return -1;
            if (truthy(v))
                break;
            if (n->head_len != 0 &&
                emit_piece(st, t, n->head_off, n->head_len, n->head_bol, ilen) < 0)
                return -1;
            if (n->child == NONE)
                break;
            if (push_frame(st, F_PLAIN, t, i, ov, ilen) == NULL)
                return -1;
            i = n->child;
            continue;
        }
        case N_PARTIAL:
        case N_PARENT: {
            size_t nlen = ilen;
            bool fail = false;
            const struct mtpl *p = n->dynamic ? dynamic_partial(st, t, n, &fail) : n->partial;

            if (fail)
                return -1;
            if (p == NULL || p->missing)
                break;
            if (enter(st) < 0)
                return -1;
            if (n->ind_len > 0 &&
                push_indent(st, ilen, t->arena + n->ind_off, n->ind_len, &nlen) < 0)
                return -1;
            if (push_frame(st, n->kind == N_PARENT ? F_PARENT : F_CALL, t, i, ov, ilen) == NULL)
                return -1;
            if (n->kind == N_PARENT) {
                struct frame *pf = &st->pf[st->npf++];

                pf->t = t;
                pf->node = i;
                pf->prev = ov;
                ov = pf;
            }
            t = p;
            i = p->root;
            ilen = nlen;
            continue;
        }
        case N_BLOCK: {
            uint32_t onode = NONE;
            const struct mtpl *ot = block_override(t, n, ov, &onode);

            if (push_frame(st, F_PLAIN, t, i, ov, ilen) == NULL)
                return -1;
            if (ot == NULL) {
                i = n->child;
                continue;
            }
            if (n->ind_len > 0 &&
                push_indent(st, ilen, t->arena + n->ind_off, n->ind_len, &ilen) < 0)
                return -1;
            t = ot;
            i = ot->nodes[onode].child;
            continue;
        }
        default:
            BUG("unknown mustache node");
        }
        if (n->tail_len != 0 && emit_piece(st, t, n->tail_off, n->tail_len, n->tail_bol, ilen) < 0)
            return -1;
        i = n->next;
    }
}

/* Hints carried from one render to the next on this thread, per compiled template
 * (up to HINT_CACHE_NODES nodes): the next render of a template starts where the
 * last one found its names instead of missing each name once. A hint is only a
 * guess, checked before use, so an entry left by a freed template whose address
 * was reused costs a miss, nothing more. Renders on one thread never nest. */
#define HINT_CACHE       8
#define HINT_CACHE_NODES 256
static _Thread_local struct {
    const struct mustache *m;
    uint32_t n_nodes;
    uint8_t hint[2 * HINT_CACHE_NODES];
} hint_cache[HINT_CACHE];
static _Thread_local unsigned hint_cache_next;

/* This thread's hints for m, or NULL when m is too big to cache them. */
static uint8_t *cached_hints(const struct mustache *m)
{
    unsigned k;

    if (m->n_nodes > HINT_CACHE_NODES)
        return NULL;
    for (k = 0; k < HINT_CACHE; k++)
        if (hint_cache[k].m == m && hint_cache[k].n_nodes == m->n_nodes)
            return hint_cache[k].hint;
    k = hint_cache_next++ % HINT_CACHE;
    hint_cache[k].m = m;
    hint_cache[k].n_nodes = m->n_nodes;
    memset(hint_cache[k].hint, 0, 2 * (size_t)m->n_nodes);
    return hint_cache[k].hint;
}

/* Renders m against the view d; lazy: d is private and listed as needed. */
static int render_view(const struct mustache *m, struct mustache_data *d, bool lazy,
                       enum mustache_escape esc, struct buf *out, struct error *err)
{
    struct rstate *st = malloc(sizeof(*st) + 2 * (size_t)m->n_nodes);
    size_t start = out->len;
    int rc = -1;

    if (st == NULL)
        return error_set(err, "out of memory while rendering");
    st->set = m;
    st->out = out;
    st->start = start;
    st->esc = esc;
    st->lazy = lazy ? d : NULL;
    st->nctx = 0;
    st->depth = 0;
    st->err = err;
    st->fr = st->fr0;
    st->nfr = 0;
    st->cap_fr = RFRAMES_INLINE;
    st->npf = 0;
    st->hint = cached_hints(m);
    if (st->hint == NULL) {
        st->hint = (uint8_t *)(st + 1);
        memset(st->hint, 0, 2 * (size_t)m->n_nodes);
    }
    buf_init(&st->indent, INDENT_MAX);
    set_lim(st);
    if (d->root != NULL)
        st->ctx[st->nctx++] = &d->top;
    rc = render_nodes(st, m->tpls[0], m->tpls[0]->root, NULL, 0);
    if (rc < 0)
        out->len = start;
    if (out->ptr != NULL)
        out->ptr[out->len] = '\0';
    buf_release(&st->indent);
    if (st->fr != st->fr0)
        free(st->fr);
    free(st);
    return rc;
}

/* This thread's prepared data (mustache_data_use()). */
static _Thread_local const struct mustache_data *tls_data;

void mustache_data_use(const struct mustache_data *d)
{
    tls_data = d;
}

int mustache_render(const struct mustache *m, const json_t *ctx, enum mustache_escape esc,
                    struct buf *out, struct error *err)
{
    struct mustache_data d;
    int rc;

    if (tls_data != NULL && ctx != NULL && tls_data->root == ctx)
        return mustache_render_data(m, tls_data, esc, out, err);
    if (data_init(&d, ctx) < 0) {
        data_release(&d);
        return error_set(err, "out of memory while rendering");
    }
    rc = render_view(m, &d, true, esc, out, err);
    data_release(&d);
    return rc;
}

int mustache_render_data(const struct mustache *m, const struct mustache_data *d,
                         enum mustache_escape esc, struct buf *out, struct error *err)
{
    /* Fully listed, so the render only reads it (any number of threads at once). */
    return render_view(m, (struct mustache_data *)d, false, esc, out, err);
}
