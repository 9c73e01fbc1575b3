/*
 * test_mustache.c - the mustache engine against the official spec, plus our own
 * cases: notification-sized contexts, unicode, HTML-hostile values, deep
 * nesting, the output cap, escape modes and compile errors with positions.
 *
 * The spec lives outside the repository: $MUSTACHE_SPEC_DIR, or else
 * ../shared/mustache-spec found by walking up from the current directory (the
 * test runs from the repository root, which CI clones beside shared/). When it
 * is missing the spec test says it skipped, unless CI=true, where it fails.
 * Every file must pass completely: the core ones, ~inheritance and
 * ~dynamic-names.
 */
#include "core/buf.h"
#include "core/error.h"
#include "templates/mustache.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* ------------------------------------------------------------ spec runner */

static const char *const spec_files[] = {
    "comments.json", "delimiters.json", "interpolation.json", "inverted.json",
    "partials.json", "sections.json",   "~inheritance.json",  "~dynamic-names.json",
};
#define N_REQUIRED 8 /* all must pass completely */

static char spec_dir[PATH_MAX];

static bool find_spec_dir(void)
{
    const char *env = getenv("MUSTACHE_SPEC_DIR");
    char rel[32] = "";

    if (env != NULL && env[0] != '\0') {
        snprintf(spec_dir, sizeof(spec_dir), "%s", env);
        return access(spec_dir, R_OK) == 0;
    }
    /* ../shared/mustache-spec from the repo root; also from deeper directories. */
    for (int up = 1; up <= 4; up++) {
        size_t n = strlen(rel);

        snprintf(rel + n, sizeof(rel) - n, "../");
        snprintf(spec_dir, sizeof(spec_dir), "%sshared/mustache-spec", rel);
        if (access(spec_dir, R_OK) == 0)
            return true;
    }
    return false;
}

static int load_json_partial(void *data, const char *name, char **source, char **origin,
                             struct error *err)
{
    const json_t *v = json_object_get((const json_t *)data, name);

    (void)origin;
    (void)err;
    if (strcmp(name, MUSTACHE_LIST_PARTIALS) == 0) {
        struct buf b;
        const char *k;
        json_t *x;

        buf_init(&b, 1 << 20);
        json_object_foreach((json_t *)data, k, x)
        {
            buf_appends(&b, k);
            buf_appendc(&b, '\n');
        }
        *source = buf_detach(&b);
        return 0;
    }
    if (!json_is_string(v))
        return 1;
    *source = strdup(json_string_value(v));
    return *source ? 0 : -1;
}

/* Runs one spec file; returns the number of failed cases (printing each). */
/* True when rendering m from prepared data (mustache_data_new, mustache_render_data)
 * gives exactly `want`, the output of mustache_render() on ctx: every case below
 * checks both paths. */
static bool same_prepared(const struct mustache *m, const json_t *ctx, enum mustache_escape esc,
                          const char *want)
{
    struct error err;
    struct mustache_data *d = mustache_data_new(ctx, &err);
    struct buf out;
    bool same;

    if (d == NULL)
        return false;
    buf_init(&out, 1 << 20);
    same = mustache_render_data(m, d, esc, &out, &err) == 0 && strcmp(buf_str(&out), want) == 0;
    if (!same)
        printf("prepared: got \"%s\" want \"%s\"\n", buf_str(&out), want);
    buf_release(&out);
    mustache_data_free(d);
    return same;
}

static int run_spec_file(const char *file, bool verbose, int *total)
{
    char path[PATH_MAX + 64];
    json_error_t jerr;
    json_t *doc, *tests, *t;
    size_t i;
    int failed = 0;

    snprintf(path, sizeof(path), "%s/%s", spec_dir, file);
    doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        printf("spec %s: cannot load: %s\n", file, jerr.text);
        *total = 0;
        return 1;
    }
    tests = json_object_get(doc, "tests");
    *total = (int)json_array_size(tests);
    json_array_foreach(tests, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *tpl = json_string_value(json_object_get(t, "template"));
        const char *want = json_string_value(json_object_get(t, "expected"));
        json_t *partials = json_object_get(t, "partials");
        struct mustache_loader loader = {load_json_partial, partials};
        struct mustache_options opts = {&loader, MUSTACHE_MISSING_PARTIAL_EMPTY, 0, 0};
        struct error err;
        struct buf out;
        struct mustache *m;

        error_clear(&err);
        buf_init(&out, 1 << 20);
        m = mustache_compile(tpl, name, &opts, &err);
        if (m == NULL) {
            if (verbose)
                printf("  FAIL %s / %s: compile: %s\n", file, name, err.msg);
            failed++;
        } else if (mustache_render(m, json_object_get(t, "data"), MUSTACHE_ESCAPE_HTML, &out,
                                   &err) < 0) {
            if (verbose)
                printf("  FAIL %s / %s: render: %s\n", file, name, err.msg);
            failed++;
        } else if (!same_prepared(m, json_object_get(t, "data"), MUSTACHE_ESCAPE_HTML,
                                  buf_str(&out))) {
            if (verbose)
                printf("  FAIL %s / %s: prepared data renders differently\n", file, name);
            failed++;
        } else if (strcmp(buf_str(&out), want) != 0) {
            char *w = json_dumps(json_object_get(t, "expected"), JSON_ENCODE_ANY);
            json_t *g = json_string(buf_str(&out));
            char *gs = json_dumps(g, JSON_ENCODE_ANY);

            if (verbose)
                printf("  FAIL %s / %s:\n    want %s\n    got  %s\n", file, name, w, gs);
            free(w);
            free(gs);
            json_decref(g);
            failed++;
        }
        mustache_free(m);
        buf_release(&out);
    }
    json_decref(doc);
    return failed;
}

static void test_spec(void **state)
{
    int required_failed = 0;
    const char *ci = getenv("CI");

    (void)state;
    if (!find_spec_dir()) {
        printf("spec: SKIPPED %zu spec files: mustache spec not found (set MUSTACHE_SPEC_DIR "
               "or clone shared/ beside the repo)\n",
               sizeof(spec_files) / sizeof(spec_files[0]));
        if (ci != NULL && strcmp(ci, "true") == 0)
            fail_msg("CI=true but the mustache spec directory is missing");
        return;
    }
    for (size_t f = 0; f < sizeof(spec_files) / sizeof(spec_files[0]); f++) {
        int total = 0;
        int failed = run_spec_file(spec_files[f], f < N_REQUIRED, &total);

        printf("spec %-20s %3d/%-3d passed%s\n", spec_files[f], total - failed, total,
               f < N_REQUIRED ? "" : " (optional)");
        if (f < N_REQUIRED)
            required_failed += failed;
    }
    assert_int_equal(required_failed, 0);
}

/* -------------------------------------------------------------- own cases */

/* Compiles src (failing the test on error), renders ctx_json with esc into a buffer
 * capped at max, returns the malloc'ed result. */
static char *render_str(const char *src, const char *ctx_json, enum mustache_escape esc)
{
    struct error err;
    struct mustache *m = mustache_compile(src, "t", NULL, &err);
    json_t *ctx = NULL;
    struct buf out;
    char *s;

    if (m == NULL)
        fail_msg("compile failed: %s", err.msg);
    if (ctx_json != NULL) {
        ctx = json_loads(ctx_json, JSON_DECODE_ANY, NULL);
        assert_non_null(ctx);
    }
    buf_init(&out, 1 << 20);
    if (mustache_render(m, ctx, esc, &out, &err) < 0)
        fail_msg("render failed: %s", err.msg);
    if (!same_prepared(m, ctx, esc, buf_str(&out)))
        fail_msg("prepared data renders %s differently", src);
    s = buf_detach(&out);
    json_decref(ctx);
    mustache_free(m);
    return s;
}

static void assert_render(const char *src, const char *ctx, enum mustache_escape esc,
                          const char *want)
{
    char *got = render_str(src, ctx, esc);

    assert_string_equal(got, want);
    free(got);
}

/* Compiling src must fail with exactly this message. */
static void assert_compile_error(const char *src, const struct mustache_options *opts,
                                 const char *want)
{
    struct error err;
    struct mustache *m;

    error_clear(&err);
    m = mustache_compile(src, "t.mustache", opts, &err);
    assert_null(m);
    assert_string_equal(err.msg, want);
}

static void test_escape_modes(void **state)
{
    const char *ctx = "{\"v\": \"<script>alert('x&y')</script> \\\"q\\\"\\n\\t\\u0001\"}";

    (void)state;
    assert_render("{{v}}", ctx, MUSTACHE_ESCAPE_HTML,
                  "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt; &quot;q&quot;\n\t\x01");
    assert_render("{{v}}", ctx, MUSTACHE_ESCAPE_NONE,
                  "<script>alert('x&y')</script> \"q\"\n\t\x01");
    assert_render("{\"text\": \"{{v}}\"}", ctx, MUSTACHE_ESCAPE_JSON,
                  "{\"text\": \"<script>alert('x&y')</script> \\\"q\\\"\\n\\t\\u0001\"}");
    assert_render("{{v}}", ctx, MUSTACHE_ESCAPE_SLACK,
                  "&lt;script&gt;alert('x&amp;y')&lt;/script&gt; \"q\"\n\t\x01");
    /* Raw tags are never escaped, in any mode. */
    assert_render("{{{v}}}|{{&v}}", "{\"v\": \"<b>\\\"\"}", MUSTACHE_ESCAPE_JSON, "<b>\"|<b>\"");
    assert_render("{{{v}}}", "{\"v\": \"<b>\"}", MUSTACHE_ESCAPE_HTML, "<b>");
}

static void test_escape_parse(void **state)
{
    enum mustache_escape e;

    (void)state;
    assert_int_equal(mustache_escape_parse("json", &e), 0);
    assert_int_equal(e, MUSTACHE_ESCAPE_JSON);
    assert_int_equal(mustache_escape_parse("none", &e), 0);
    assert_string_equal(mustache_escape_name(e), "none");
    assert_int_equal(mustache_escape_parse("xml", &e), -1);
}

static void test_values(void **state)
{
    (void)state;
    /* JavaScript truthiness: "", 0 and [] are falsy, {} is truthy. */
    assert_render("{{#a}}A{{/a}}{{#b}}B{{/b}}{{#c}}C{{/c}}{{#d}}D{{/d}}{{^e}}E{{/e}}",
                  "{\"a\": \"\", \"b\": 0, \"c\": [], \"d\": {}, \"e\": null}",
                  MUSTACHE_ESCAPE_HTML, "DE");
    assert_render("{{n}} {{r}} {{t}} {{f}} {{z}}|{{o}}|{{l}}",
                  "{\"n\": -42, \"r\": 0.1, \"t\": true, \"f\": false, \"z\": null,"
                  " \"o\": {\"k\": \"<\"}, \"l\": [1, \"x\"]}",
                  MUSTACHE_ESCAPE_HTML,
                  "-42 0.1 true false |{&quot;k&quot;:&quot;&lt;&quot;}|[1,&quot;x&quot;]");
    assert_render("{{#count}}{{.}} firing{{/count}}", "{\"count\": 3}", MUSTACHE_ESCAPE_NONE,
                  "3 firing");
    /* A template of just {{.}} (no text at all) and a non-object context. */
    assert_render("{{.}}", "\"top\"", MUSTACHE_ESCAPE_HTML, "top");
    assert_render("{{#.}}[{{.}}]{{/.}}", "[1, 2]", MUSTACHE_ESCAPE_HTML, "[1][2]");
    /* A NULL context renders as an empty one. */
    assert_render("a{{x}}b", NULL, MUSTACHE_ESCAPE_HTML, "ab");
}

static void test_unicode(void **state)
{
    struct error err;

    (void)state;
    assert_render("{{#labels}}{{name}}={{value}} {{/labels}}☃",
                  "{\"labels\": [{\"name\": \"ñame\", \"value\": \"日本語 🚨\"},"
                  " {\"name\": \"x\", \"value\": \"Ünïcödé\"}]}",
                  MUSTACHE_ESCAPE_HTML, "ñame=日本語 🚨 x=Ünïcödé ☃");
    /* Columns count characters, not bytes. */
    assert_compile_error("日本語 {{#x}}", NULL, "t.mustache:1:5: unclosed section {{#x}}");
    /* Delimiters may be any non-space bytes, including UTF-8. */
    assert_render("{{=« »=}}«a» {{a}}", "{\"a\": \"é\"}", MUSTACHE_ESCAPE_HTML, "é {{a}}");
    (void)err;
}

static void test_compile_errors(void **state)
{
    struct mustache_options strict = {NULL, 0, 0, 0};

    (void)state;
    assert_compile_error("line one\n  {{#alerts}}\n  {{x}}\n", NULL,
                         "t.mustache:2:3: unclosed section {{#alerts}}");
    assert_compile_error("{{#a}}\n{{#b}}\n{{/a}}\n", NULL,
                         "t.mustache:3:1: {{/a}} does not close {{#b}} opened at line 2 column 1");
    assert_compile_error("x\n{{/a}}", NULL,
                         "t.mustache:2:1: unexpected {{/a}}: no section is open");
    assert_compile_error("ok {{name", NULL, "t.mustache:1:4: unclosed tag: expected \"}}\"");
    assert_compile_error("{{{name}}", NULL, "t.mustache:1:1: unclosed tag: expected \"}}}\"");
    assert_compile_error("\n\n   {{=<% %> x=}}", NULL,
                         "t.mustache:3:4: bad delimiters: expected exactly two delimiters");
    assert_compile_error("{{= =}}", NULL,
                         "t.mustache:1:1: bad delimiters: expected {{=OPEN CLOSE=}}");
    assert_compile_error("{{=<% %>=}}<%a", NULL, "t.mustache:1:12: unclosed tag: expected \"%>\"");
    assert_compile_error("a {{}}", NULL, "t.mustache:1:3: empty tag name");
    assert_compile_error("{{a b}}", NULL,
                         "t.mustache:1:1: invalid tag name \"a b\": contains whitespace");
    assert_compile_error("{{a..b}}", NULL, "t.mustache:1:1: invalid name \"a..b\"");
    assert_compile_error("x\n {{> footer}}\n", &strict,
                         "t.mustache:2:2: partial \"footer\" not found");
    assert_compile_error("{{<layout}}{{/layout}}", NULL,
                         "t.mustache:1:1: partial \"layout\" not found");
    assert_compile_error("{{$b}}x{{/c}}", NULL,
                         "t.mustache:1:8: {{/c}} does not close {{$b}} opened at line 1 column 1");
}

static void test_position_offsets(void **state)
{
    /* A template from a YAML block scalar starting on file line 10, indented 6. */
    struct mustache_options opts = {NULL, 0, 9, 6};

    (void)state;
    assert_compile_error("ok\n  {{#x}}", &opts, "t.mustache:11:9: unclosed section {{#x}}");
    assert_compile_error("{{>p}}", &opts, "t.mustache:10:7: partial \"p\" not found");
}

static void test_partial_errors_name_partial(void **state)
{
    static const struct mustache_partial table[] = {
        {"outer", "ok\n{{> inner}}"},
        {"inner", "a\nb {{#x}}"},
        {NULL, NULL},
    };
    struct mustache_loader l = mustache_loader_table(table);
    struct mustache_options opts = {&l, 0, 0, 0};

    (void)state;
    assert_compile_error("{{>outer}}", &opts, "inner:2:3: unclosed section {{#x}}");
}

static void test_recursive_partials(void **state)
{
    static const struct mustache_partial table[] = {
        {"node", "{{name}}{{#kids}}({{>node}}){{/kids}}"},
        {"loop", "{{>loop}}"},
        {NULL, NULL},
    };
    struct mustache_loader l = mustache_loader_table(table);
    struct mustache_options opts = {&l, 0, 0, 0};
    struct error err;
    struct mustache *m = mustache_compile("{{>node}}", "tree", &opts, &err);
    json_t *ctx = json_loads("{\"name\":\"a\",\"kids\":[{\"name\":\"b\",\"kids\":"
                             "[{\"name\":\"c\",\"kids\":[]}]},{\"name\":\"d\",\"kids\":[]}]}",
                             0, NULL);
    struct buf out;

    (void)state;
    assert_non_null(m);
    buf_init(&out, 1024);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "a(b(c))(d)");
    mustache_free(m);
    /* Endless recursion compiles (each partial once) and fails cleanly at render. */
    m = mustache_compile("x{{>loop}}", "loop", &opts, &err);
    assert_non_null(m);
    buf_reset(&out);
    assert_int_equal(buf_appends(&out, "kept"), 0);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), -1);
    assert_non_null(strstr(err.msg, "nested deeper than"));
    assert_string_equal(buf_str(&out), "kept");
    mustache_free(m);
    buf_release(&out);
    json_decref(ctx);
}

static void test_deep_nesting(void **state)
{
    struct buf src, out;
    struct error err;
    struct mustache *m;
    json_t *ctx = json_object();
    const int depth = 200;

    (void)state;
    buf_init(&src, 1 << 20);
    buf_init(&out, 1 << 20);
    /* {{#a}}{{#a}}...{{v}}...{{/a}}{{/a}}: every level finds a in the outer context. */
    json_object_set_new(ctx, "a", json_true());
    json_object_set_new(ctx, "v", json_string("deep"));
    for (int i = 0; i < depth; i++)
        assert_int_equal(buf_appends(&src, "{{#a}}"), 0);
    assert_int_equal(buf_appends(&src, "{{v}}"), 0);
    for (int i = 0; i < depth; i++)
        assert_int_equal(buf_appends(&src, "{{/a}}"), 0);
    m = mustache_compile(buf_str(&src), "deep", NULL, &err);
    assert_non_null(m);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "deep");
    mustache_free(m);
    /* Past the limit: a compile error naming the place, not a crash. */
    buf_reset(&src);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(buf_appends(&src, "{{^x}}"), 0);
    m = mustache_compile(buf_str(&src), "deeper", NULL, &err);
    assert_null(m);
    assert_string_equal(err.msg, "deeper:1:1537: sections nested deeper than 256");
    buf_release(&src);
    buf_release(&out);
    json_decref(ctx);
}

static json_t *many_alerts(int n, size_t value_len)
{
    json_t *ctx = json_object();
    json_t *alerts = json_array();
    char *big = malloc(value_len + 1);

    memset(big, 'x', value_len);
    big[value_len] = '\0';
    for (int i = 0; i < n; i++) {
        json_t *a = json_object();
        json_t *labels = json_object();
        char name[32];

        snprintf(name, sizeof(name), "alert-%d", i);
        json_object_set_new(labels, "alertname", json_string(name));
        json_object_set_new(labels, "instance", json_string("<script>x</script>"));
        json_object_set_new(a, "labels", labels);
        json_object_set_new(a, "status", json_string(i % 3 ? "firing" : "resolved"));
        json_object_set_new(a, "blob", json_string(big));
        json_array_append_new(alerts, a);
    }
    json_object_set_new(ctx, "alerts", alerts);
    free(big);
    return ctx;
}

static void test_many_alerts(void **state)
{
    json_t *ctx = many_alerts(1000, 0);
    char *got;
    struct error err;
    struct mustache *m =
        mustache_compile("{{#alerts}}[{{status}}] {{labels.alertname}} on {{labels.instance}}\n"
                         "{{/alerts}}",
                         "list", NULL, &err);
    struct buf out;
    size_t lines = 0;

    (void)state;
    assert_non_null(m);
    buf_init(&out, 1 << 20);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    got = buf_detach(&out);
    for (char *p = got; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1000);
    assert_non_null(strstr(got, "[resolved] alert-0 on &lt;script&gt;x&lt;/script&gt;\n"
                                "[firing] alert-1 on "));
    assert_null(strstr(got, "<script>"));
    free(got);
    mustache_free(m);
    json_decref(ctx);
}

static void test_output_cap(void **state)
{
    json_t *ctx = many_alerts(200, 1000); /* ~200 KB of output */
    struct error err;
    struct mustache *m = mustache_compile("{{#alerts}}{{blob}}{{/alerts}}", "big", NULL, &err);
    struct buf out;

    (void)state;
    assert_non_null(m);
    buf_init(&out, 64 * 1024);
    assert_int_equal(buf_appends(&out, "before|"), 0);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), -1);
    assert_string_equal(err.msg, "template output larger than 65536 bytes");
    /* The buffer holds what it held before the call. */
    assert_string_equal(buf_str(&out), "before|");
    /* The same from prepared data. */
    {
        struct mustache_data *d = mustache_data_new(ctx, &err);

        assert_non_null(d);
        assert_int_equal(mustache_render_data(m, d, MUSTACHE_ESCAPE_HTML, &out, &err), -1);
        assert_string_equal(err.msg, "template output larger than 65536 bytes");
        assert_string_equal(buf_str(&out), "before|");
        mustache_data_free(d);
    }
    buf_release(&out);
    buf_init(&out, 1 << 20);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_int_equal(out.len, 200 * 1000);
    buf_release(&out);
    mustache_free(m);
    json_decref(ctx);
}

static void test_standalone_and_inheritance(void **state)
{
    static const struct mustache_partial table[] = {
        {"layout", "<ul>\n  {{$items}}\n  <li>none</li>\n  {{/items}}\n</ul>\n"},
        {"item", "<li>{{.}}</li>\n"},
        {NULL, NULL},
    };
    struct mustache_loader l = mustache_loader_table(table);
    struct mustache_options opts = {&l, 0, 0, 0};
    struct error err;
    struct mustache *m =
        mustache_compile("{{<layout}}\n{{$items}}\n{{#list}}\n{{>item}}\n{{/list}}\n{{/items}}\n"
                         "{{/layout}}\n",
                         "page", &opts, &err);
    json_t *ctx = json_loads("{\"list\": [\"a\", \"<b>\"]}", 0, NULL);
    struct buf out;

    (void)state;
    assert_non_null(m);
    buf_init(&out, 4096);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "<ul>\n  <li>a</li>\n  <li>&lt;b&gt;</li>\n</ul>\n");
    buf_reset(&out);
    json_object_set_new(ctx, "list", json_array());
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "<ul>\n</ul>\n");
    buf_release(&out);
    mustache_free(m);
    json_decref(ctx);
}

static void test_loader_dir_and_files(void **state)
{
    char dir[] = "/tmp/test_mustache.XXXXXX";
    char p1[64], p2[64];
    char *paths[2];
    struct mustache_files files;
    struct mustache_loader l;
    struct mustache_options opts = {NULL, 0, 0, 0};
    struct error err;
    struct mustache *m;
    struct buf out;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(p1, sizeof(p1), "%s/footer.mustache", dir);
    snprintf(p2, sizeof(p2), "%s/bad.tmpl", dir);
    f = fopen(p1, "w");
    assert_non_null(f);
    fputs("-- {{who}}", f);
    fclose(f);
    f = fopen(p2, "w");
    assert_non_null(f);
    fputs("ok\n{{#open}}", f);
    fclose(f);
    buf_init(&out, 4096);

    l = mustache_loader_dir(dir);
    opts.loader = &l;
    opts.flags = 0;
    m = mustache_compile("hi\n{{>footer}}", "main", &opts, &err);
    assert_non_null(m);
    assert_int_equal(mustache_render(m, NULL, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "hi\n-- ");
    mustache_free(m);
    /* The directory lists its *.mustache files for dynamic names. */
    m = mustache_compile("{{>*part}}!", "main", &opts, &err);
    assert_non_null(m);
    {
        json_t *c = json_pack("{s:s, s:s}", "part", "footer", "who", "me");

        buf_reset(&out);
        assert_int_equal(mustache_render(m, c, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
        assert_string_equal(buf_str(&out), "-- me!");
        json_decref(c);
    }
    mustache_free(m);
    /* No path traversal through partial names. */
    m = mustache_compile("{{>../etc/passwd}}", "main", &opts, &err);
    assert_null(m);
    assert_string_equal(err.msg, "main:1:1: partial \"../etc/passwd\" not found");

    paths[0] = p1;
    paths[1] = p2;
    files.paths = paths;
    files.n = 2;
    l = mustache_loader_files(&files);
    m = mustache_compile("{{>bad}}", "main", &opts, &err);
    assert_null(m);
    /* The partial's error names its file. */
    {
        char want[128];

        snprintf(want, sizeof(want), "%s:2:1: unclosed section {{#open}}", p2);
        assert_string_equal(err.msg, want);
    }
    m = mustache_compile_file(p1, &opts, &err);
    assert_non_null(m);
    assert_string_equal(mustache_name(m), p1);
    mustache_free(m);
    assert_null(mustache_compile_file("/nonexistent/x.mustache", &opts, &err));
    assert_string_equal(err.msg, "/nonexistent/x.mustache: No such file or directory");
    buf_release(&out);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
}

struct thread_arg {
    const struct mustache *m;
    const json_t *ctx;
    const struct mustache_data *d; /* when set, render from it */
    const char *want;
    int ok;
};

static void *render_thread(void *p)
{
    struct thread_arg *a = p;
    struct buf out;
    struct error err;

    buf_init(&out, 1 << 20);
    a->ok = 1;
    for (int i = 0; i < 200; i++) {
        buf_reset(&out);
        int rc = a->d != NULL ? mustache_render_data(a->m, a->d, MUSTACHE_ESCAPE_HTML, &out, &err)
                              : mustache_render(a->m, a->ctx, MUSTACHE_ESCAPE_HTML, &out, &err);

        if (rc < 0 || strcmp(buf_str(&out), a->want) != 0)
            a->ok = 0;
    }
    buf_release(&out);
    return NULL;
}

/* A loader that cannot list its partials (answers 1 to MUSTACHE_LIST_PARTIALS). */
static int load_unlisted(void *data, const char *name, char **source, char **origin,
                         struct error *err)
{
    (void)data;
    (void)origin;
    (void)err;
    if (strcmp(name, "static") == 0 || strcmp(name, "other") == 0) {
        *source = strdup(strcmp(name, "static") == 0 ? "S({{v}})" : "O");
        return 0;
    }
    return 1;
}

static void test_dynamic_partials(void **state)
{
    static const struct mustache_partial table[] = {
        {"critical", "CRIT {{labels.alertname}}"},
        {"warning", "warn {{labels.alertname}}"},
        {NULL, NULL},
    };
    struct mustache_loader_chain chain = {mustache_loader_table(table), {load_unlisted, NULL}};
    struct mustache_loader l = mustache_loader_chained(&chain);
    struct mustache_options opts = {&l, 0, 0, 0};
    struct error err;
    struct mustache *m;
    json_t *ctx = json_loads("{\"v\": 1, \"which\": \"static\", \"alerts\": ["
                             "{\"labels\": {\"alertname\": \"A\", \"severity\": \"critical\"}},"
                             "{\"labels\": {\"alertname\": \"B\", \"severity\": \"warning\"}},"
                             "{\"labels\": {\"alertname\": \"C\", \"severity\": \"nope\"}}]}",
                             0, NULL);
    struct buf out;

    (void)state;
    /* The partial is chosen per alert by a label; an unknown name renders nothing. */
    m = mustache_compile("{{#alerts}}[{{>*labels.severity}}]{{/alerts}}", "dyn", &opts, &err);
    if (m == NULL)
        fail_msg("%s", err.msg);
    buf_init(&out, 4096);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "[CRIT A][warn B][]");
    mustache_free(m);
    /* A loader that cannot list: dynamic names find the partials named statically. */
    m = mustache_compile("{{>*which}}|{{#never}}{{>static}}{{/never}}", "dyn", &opts, &err);
    assert_non_null(m);
    buf_reset(&out);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "S(1)|");
    mustache_free(m);
    /* Dynamic parents are refused with the position. */
    assert_compile_error("x\n{{<*p}}{{/*p}}", &opts,
                         "t.mustache:2:1: dynamic parent names ({{<*name}}) are not supported");
    buf_release(&out);
    json_decref(ctx);
}

static void test_concurrent_render(void **state)
{
    static const struct mustache_partial table[] = {
        {"row", "  {{labels.alertname}} {{status}}\n"},
        {NULL, NULL},
    };
    struct mustache_loader l = mustache_loader_table(table);
    struct mustache_options opts = {&l, 0, 0, 0};
    struct error err;
    struct mustache *m =
        mustache_compile("alerts:\n{{#alerts}}\n  {{>row}}\n{{/alerts}}\n", "c", &opts, &err);
    json_t *ctx = many_alerts(50, 10);
    pthread_t th[4];
    struct thread_arg args[4];
    struct buf want;
    struct mustache_data *d;

    (void)state;
    assert_non_null(m);
    buf_init(&want, 1 << 20);
    assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &want, &err), 0);
    assert_non_null(strstr(buf_str(&want), "alerts:\n    alert-0 resolved\n    alert-1 firing\n"));
    d = mustache_data_new(ctx, &err);
    assert_non_null(d);
    for (int i = 0; i < 4; i++) {
        args[i].m = m;
        args[i].ctx = ctx;
        args[i].d = i % 2 ? d : NULL; /* two threads share one prepared context */
        args[i].want = buf_str(&want);
        assert_int_equal(pthread_create(&th[i], NULL, render_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].ok, 1);
    }
    buf_release(&want);
    mustache_data_free(d);
    mustache_free(m);
    json_decref(ctx);
}

/* Lookups remember where a name was found; objects of one list with other key
 * orders, missing keys or other types must still find (or not find) it. */
static void test_lookup_hints(void **state)
{
    (void)state;
    assert_render("{{#l}}{{a}}{{b}}{{c.d}}|{{/l}}",
                  "{\"c\": {\"d\": \"out\"}, \"l\": [{\"a\": 1, \"b\": 2}, {\"b\": 3, \"a\": 4}, "
                  "{\"x\": 5}, {\"a\": \"x\", \"c\": {\"d\": \"in\"}}, \"str\", [1], "
                  "{\"ab\": 6, \"a\": 7}]}",
                  MUSTACHE_ESCAPE_HTML, "12out|43out|out|xin|out|out|7out|");
    /* Keys longer than 16 bytes and sharing their first 16 bytes. */
    assert_render("{{abcdefghijklmnopq}}{{abcdefghijklmnopr}}{{abcdefghijklmnop}}",
                  "{\"abcdefghijklmnopr\": \"R\", \"abcdefghijklmnopq\": \"Q\", "
                  "\"abcdefghijklmnop\": \"P\"}",
                  MUSTACHE_ESCAPE_HTML, "QRP");
    /* A key with a NUL inside is not the name before the NUL. */
    {
        json_t *ctx = json_object();
        struct error err;
        struct mustache *m = mustache_compile("[{{a}}]", "t", NULL, &err);
        struct buf out;

        assert_non_null(m);
        json_object_setn_new(ctx, "a\0b", 3, json_string("no"));
        buf_init(&out, 64);
        assert_int_equal(mustache_render(m, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
        assert_string_equal(buf_str(&out), "[]");
        assert_true(same_prepared(m, ctx, MUSTACHE_ESCAPE_HTML, "[]"));
        buf_release(&out);
        mustache_free(m);
        json_decref(ctx);
    }
    /* Numbers, booleans and nested values from prepared data. */
    assert_render("{{i}} {{r}} {{t}} {{f}} {{n}} {{o}} {{a}}",
                  "{\"i\": -42, \"r\": 1.5, \"t\": true, \"f\": false, \"n\": null, "
                  "\"o\": {\"k\": \"<\"}, \"a\": [1, \"x\"]}",
                  MUSTACHE_ESCAPE_HTML,
                  "-42 1.5 true false  {&quot;k&quot;:&quot;&lt;&quot;} [1,&quot;x&quot;]");
}

/* Renders m from data prepared from ctx_json and checks the output. */
static void assert_prepared(const struct mustache *m, const char *ctx_json, const char *want)
{
    json_t *ctx = json_loads(ctx_json, 0, NULL);
    struct error err;
    struct mustache_data *d;
    struct buf out;

    assert_non_null(ctx);
    d = mustache_data_new(ctx, &err);
    assert_non_null(d);
    buf_init(&out, 1 << 20);
    assert_int_equal(mustache_render_data(m, d, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), want);
    buf_release(&out);
    mustache_data_free(d);
    json_decref(ctx);
}

/* The render loop: hints carried from one render of a template to the next (on
 * this thread) are only guesses; text folded into tags and sections keeps its
 * place and its indentation; nesting deeper than the inline frame stack. */
static void test_render_loop(void **state)
{
    static const char *const ctxs[] = {
        "{\"a\": 1, \"b\": 2, \"o\": {\"x\": \"X\", \"y\": \"Y\"}}",
        "{\"o\": {\"y\": \"y2\", \"x\": \"x2\"}, \"b\": 3, \"a\": 4}",
        "{\"b\": 5, \"o\": {\"y\": \"only y\"}}",
        "{\"z\": 0}",
    };
    static const char *const wants[] = {"1 2 X Y", "4 3 x2 y2", " 5  only y", "   "};
    struct mustache *m[10];
    struct error err;
    struct buf src, out;
    json_t *ctx;

    (void)state;
    /* The same template over contexts whose keys move, come and go, three times
     * round; ten templates in turn, more than the per-thread hint cache holds. */
    for (int i = 0; i < 10; i++) {
        m[i] = mustache_compile("{{a}} {{b}} {{o.x}} {{o.y}}", "t", NULL, &err);
        assert_non_null(m[i]);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 10; i++)
            for (size_t k = 0; k < sizeof(ctxs) / sizeof(ctxs[0]); k++)
                assert_prepared(m[(i + (int)k) % 10], ctxs[(k + (size_t)round) % 4],
                                wants[(k + (size_t)round) % 4]);
    for (int i = 0; i < 10; i++)
        mustache_free(m[i]);

    /* Sections of text only, over a list, a value, an empty list and none. */
    assert_render("{{#l}}x{{/l}}|{{^e}}y{{/e}}|{{#o}}z{{/o}}|{{^l}}no{{/l}}|{{#e}}no{{/e}}",
                  "{\"l\": [1, 2, 3], \"e\": [], \"o\": {}}", MUSTACHE_ESCAPE_HTML, "xxx|y|z||");
    /* Text opening a section's lines and following it, inside an indented
     * standalone partial: every line gets the indentation. */
    {
        static const struct mustache_partial partials[] = {
            {"p", "a{{v}}\n{{#l}}\n- {{.}}\n{{/l}}\nc {{^l}}none{{/l}}\n{{#e}}\nx\n{{/e}}\nd\n"},
            {NULL, NULL},
        };
        struct mustache_loader loader = mustache_loader_table(partials);
        struct mustache_options opts = {&loader, 0, 0, 0};
        struct mustache *t = mustache_compile("<\n  {{>p}}\n>", "t", &opts, &err);

        assert_non_null(t);
        ctx = json_loads("{\"v\": 1, \"l\": [\"b\", \"b2\"], \"e\": []}", 0, NULL);
        buf_init(&out, 1 << 20);
        assert_int_equal(mustache_render(t, ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
        assert_string_equal(buf_str(&out), "<\n  a1\n  - b\n  - b2\n  c \n  d\n>");
        assert_true(same_prepared(t, ctx, MUSTACHE_ESCAPE_HTML, buf_str(&out)));
        buf_release(&out);
        json_decref(ctx);
        mustache_free(t);
    }
    /* 100 nested sections over a list (each level finds the root's l again), with
     * a list of two at the bottom, from prepared data too: more frames than the
     * render keeps inline. */
    buf_init(&src, 1 << 20);
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_appends(&src, "{{#l}}"), 0);
    assert_int_equal(buf_appends(&src, "{{#two}}<{{.}}>{{/two}}"), 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_appends(&src, "{{/l}}"), 0);
    assert_int_equal(buf_appends(&src, "end"), 0);
    m[0] = mustache_compile(buf_str(&src), "deep", NULL, &err);
    assert_non_null(m[0]);
    ctx = json_loads("{\"l\": [{}], \"two\": [1, 2]}", 0, NULL);
    buf_init(&out, 1 << 20);
    assert_int_equal(mustache_render(m[0], ctx, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "<1><2>end");
    assert_true(same_prepared(m[0], ctx, MUSTACHE_ESCAPE_HTML, buf_str(&out)));
    buf_release(&out);
    json_decref(ctx);
    mustache_free(m[0]);
    buf_release(&src);
}

/* mustache_data_use(): mustache_render() on the prepared context uses the data;
 * on any other context it renders that context. */
static void test_data_use(void **state)
{
    struct error err;
    struct mustache *m = mustache_compile("{{#l}}{{v}}{{/l}}", "u", NULL, &err);
    json_t *a = json_loads("{\"l\": [{\"v\": \"a1\"}, {\"v\": \"a2\"}]}", 0, NULL);
    json_t *b = json_loads("{\"l\": [{\"v\": \"b\"}]}", 0, NULL);
    struct mustache_data *d = mustache_data_new(a, &err);
    struct buf out;

    (void)state;
    assert_non_null(m);
    assert_non_null(d);
    buf_init(&out, 4096);
    mustache_data_use(d);
    assert_int_equal(mustache_render(m, a, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "a1a2");
    buf_reset(&out);
    assert_int_equal(mustache_render(m, b, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "b");
    mustache_data_use(NULL);
    buf_reset(&out);
    assert_int_equal(mustache_render(m, a, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "a1a2");
    /* An empty context prepares too. */
    mustache_data_free(d);
    d = mustache_data_new(NULL, &err);
    assert_non_null(d);
    buf_reset(&out);
    assert_int_equal(mustache_render_data(m, d, MUSTACHE_ESCAPE_HTML, &out, &err), 0);
    assert_string_equal(buf_str(&out), "");
    buf_release(&out);
    mustache_data_free(d);
    mustache_data_free(NULL);
    mustache_free(m);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_escape_modes),
        cmocka_unit_test(test_escape_parse),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_unicode),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_position_offsets),
        cmocka_unit_test(test_partial_errors_name_partial),
        cmocka_unit_test(test_recursive_partials),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_many_alerts),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_standalone_and_inheritance),
        cmocka_unit_test(test_loader_dir_and_files),
        cmocka_unit_test(test_dynamic_partials),
        cmocka_unit_test(test_concurrent_render),
        cmocka_unit_test(test_lookup_hints),
        cmocka_unit_test(test_render_loop),
        cmocka_unit_test(test_data_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
