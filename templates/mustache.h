/*
 * mustache.h - a spec-complete mustache engine: compile once, render many.
 *
 * Implements the mustache spec (https://github.com/mustache/spec): escaped
 * {{x}} and raw {{{x}}} / {{&x}} interpolation, dotted names, the implicit
 * iterator {{.}}, sections over lists, objects and truthy values, inverted
 * sections, comments, partials (with standalone indentation), set delimiters
 * the inheritance extension ({{<parent}} with {{$block}} overrides) and
 * dynamic partial names ({{>*name}}: the partial named by the value of name,
 * looked up among the partials compiled with the template, see
 * MUSTACHE_LIST_PARTIALS). Lambdas and dynamic parents ({{<*x}}) are not
 * supported.
 *
 * The context is a jansson value. Truthiness follows JavaScript, as the spec
 * does: missing, null, false, 0, "" and [] are falsy; everything else,
 * including {}, is truthy.
 *
 * A struct mustache is immutable after mustache_compile() returns: it holds
 * the main template and every partial it can reach (resolved once, through
 * the caller's loader, at compile time), so rendering never parses and never
 * loads; it allocates only its output, its state and (mustache_render() without
 * prepared data) wrappers for the values it looks up. Any number of threads may
 * render the same struct mustache at once.
 *
 * Errors: compile errors read "NAME:LINE:COLUMN: what is wrong", NAME being
 * the name given to mustache_compile() (or the partial's origin from the
 * loader), LINE and COLUMN 1-based (columns count UTF-8 characters). A
 * missing partial is a compile error unless MUSTACHE_MISSING_PARTIAL_EMPTY is
 * set (the spec's behaviour: render it as ""). Render errors are: output
 * larger than the buffer's cap, nesting deeper than MUSTACHE_MAX_DEPTH
 * (recursive partials over deep data), and out of memory.
 */
#ifndef AMR_MUSTACHE_H
#define AMR_MUSTACHE_H

#include <stddef.h>

struct buf;
struct error;
struct json_t; /* jansson's json_t */

/* Nesting limit: sections inside one template at compile time, and sections plus
 * partial calls together at render time. */
#define MUSTACHE_MAX_DEPTH 256

/* Largest template or partial source accepted, in bytes. */
#define MUSTACHE_MAX_SOURCE (4u << 20)

/* How {{x}} is escaped. {{{x}}} and {{&x}} are never escaped, in any mode, and
 * the template's own text is always copied as written. */
enum mustache_escape {
    MUSTACHE_ESCAPE_HTML,  /* & < > " ' as entities: the default */
    MUSTACHE_ESCAPE_NONE,  /* values as they are (plain-text email, SMS) */
    MUSTACHE_ESCAPE_JSON,  /* for a value inside a JSON string: \" \\ \n \uXXXX ... */
    MUSTACHE_ESCAPE_SLACK, /* & < > only, as Slack's mrkdwn wants */
};

/* "html", "none", "json", "slack" -> the mode. Returns -1 on any other name. */
int mustache_escape_parse(const char *s, enum mustache_escape *out);
/* The mode's name as mustache_escape_parse() accepts it. */
const char *mustache_escape_name(enum mustache_escape esc);

/* Where partials ({{>name}}) and parents ({{<name}}) come from. load() is called at
 * most once per name during mustache_compile(), never while rendering. It returns:
 *   0  found: *source is a malloc'ed NUL-terminated text the compiler takes and frees;
 *      it may also set *origin to a malloc'ed name for messages (a file path), which
 *      the compiler takes too (left NULL, the partial's name is used);
 *   1  no such partial;
 *  -1  the partial exists but cannot be read: err says why. */
struct mustache_loader {
    int (*load)(void *data, const char *name, char **source, char **origin, struct error *err);
    void *data;
};

/* The name load() is asked for when a template uses {{>*name}}: a loader that can
 * list its partials returns 0 with *source = their names, one per line (all of
 * them are then compiled with the template, so a dynamic name can find any of
 * them); one that cannot returns 1, and dynamic names then find only partials
 * the templates also name statically. No partial can be called "*". The loaders
 * below all list. */
#define MUSTACHE_LIST_PARTIALS "*"

/* A static name -> source table for mustache_loader_table(); ends with {NULL, NULL}. */
struct mustache_partial {
    const char *name;
    const char *source;
};

/* Loads partials from a table the caller keeps alive during compile. */
struct mustache_loader mustache_loader_table(const struct mustache_partial *table);

/* Loads partial NAME from DIR/NAME.mustache, else DIR/NAME. Names with '/' or a
 * leading '.' are never found. dir must stay valid during compile. */
struct mustache_loader mustache_loader_dir(const char *dir);

/* Loads partials from a list of files, a partial's name being the file's base name
 * without its last extension ("tmpl/slack.mustache" is "slack"). The first file
 * with the name wins. The struct and the paths must stay valid during compile. */
struct mustache_files {
    char *const *paths;
    size_t n;
};
struct mustache_loader mustache_loader_files(const struct mustache_files *files);

/* Tries `first`, then `second` for names first does not have (a read error in
 * first is final). Typical: the user's template files, then the defaults:
 *   struct mustache_loader_chain c = {mustache_loader_files(&files),
 *                                     default_templates_loader()};
 *   struct mustache_loader l = mustache_loader_chained(&c);
 * c must stay valid during compile. */
struct mustache_loader_chain {
    struct mustache_loader first;
    struct mustache_loader second;
};
struct mustache_loader mustache_loader_chained(const struct mustache_loader_chain *chain);

enum {
    /* A partial the loader does not have renders as "" (the spec's rule) instead of
     * failing the compile. */
    MUSTACHE_MISSING_PARTIAL_EMPTY = 1 << 0,
};

struct mustache_options {
    const struct mustache_loader *loader; /* NULL: no partials exist */
    unsigned flags;                       /* MUSTACHE_* flags above */
    /* Added to every line and column reported for the main template (not for
     * partials), for a template embedded in another file: a YAML block scalar
     * whose first template line is file line L, indented by N columns, gets
     * line_offset = L - 1 and col_offset = N, so errors name the file position. */
    int line_offset;
    int col_offset;
};

struct mustache;

/* Compiles source (NUL-terminated) and, through opts->loader, every partial and
 * parent it reaches (recursive partials are compiled once). name is used in error
 * messages ("slack.mustache:3:7: unclosed section \"alerts\""). opts may be NULL.
 * Returns the compiled template, freed with mustache_free(), or NULL with err set. */
struct mustache *mustache_compile(const char *source, const char *name,
                                  const struct mustache_options *opts, struct error *err);

/* Reads path (at most MUSTACHE_MAX_SOURCE bytes) and compiles it under its path as
 * name. Returns NULL with err set when the file cannot be read or does not compile. */
struct mustache *mustache_compile_file(const char *path, const struct mustache_options *opts,
                                       struct error *err);

/* Frees everything the template owns. Accepts NULL. */
void mustache_free(struct mustache *m);

/* The name given to mustache_compile(). */
const char *mustache_name(const struct mustache *m);

/* Renders m against ctx (a JSON object, normally; NULL is an empty context) and
 * appends the result to out, escaping {{x}} values as esc says. Fails when out's
 * cap would be passed ("template output larger than N bytes"), when nesting passes
 * MUSTACHE_MAX_DEPTH, or when memory runs out; out then holds what it held before
 * the call. Safe to call from many threads at once on the same m. */
int mustache_render(const struct mustache *m, const struct json_t *ctx, enum mustache_escape esc,
                    struct buf *out, struct error *err);

/* A context prepared for many renders: the values of ctx laid out so that names
 * are found without hashing (see mustache.c). Build it once per notification and
 * render every template of it with mustache_render_data(): much faster than
 * mustache_render(), which prepares what it needs on every call. The data holds a
 * reference to ctx and points into it: ctx must not change while the data exists.
 * Returns NULL with err set when memory runs out. Immutable once made: any number
 * of threads may render from it at once. */
struct mustache_data;
struct mustache_data *mustache_data_new(const struct json_t *ctx, struct error *err);
void mustache_data_free(struct mustache_data *d); /* accepts NULL */

/* Until mustache_data_use(NULL), mustache_render() on this thread uses d whenever it
 * is given d's own context (the same json_t pointer): code that builds one context
 * and renders many fields through helpers that take a json_t (the notifiers) gets
 * the speed without passing d around. d must stay alive while in use. */
void mustache_data_use(const struct mustache_data *d);

/* mustache_render() with a prepared context; same output, same errors. */
int mustache_render_data(const struct mustache *m, const struct mustache_data *d,
                         enum mustache_escape esc, struct buf *out, struct error *err);

#endif
