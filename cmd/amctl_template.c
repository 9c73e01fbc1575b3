/*
 * amctl_template.c - `amctl template render`: preview a mustache template.
 *
 *   amctl template render --template FILE | --text STRING [--data FILE.json]
 *                         [--partials DIR] [--escape html|none|json|slack]
 *
 * Renders to stdout, like `amtool template render`. Without --data the
 * context is the built-in example notification (context_example()), so a
 * user can see what a template will look like. Partials come from --partials
 * DIR (DIR/NAME.mustache) and then from the default templates, so a template
 * may include or inherit from them ({{>email_subject}}, {{<email_html}}).
 * Exit status: 0 rendered, 1 the template or data is bad (message with
 * file:line:column), 2 usage error.
 */
#include "cmd/amctl.h"

#include "core/buf.h"
#include "core/error.h"
#include "templates/context.h"
#include "templates/defaults.h"
#include "templates/mustache.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define RENDER_MAX (16u << 20)

static void usage(FILE *f)
{
    fputs("usage: amctl template render (--template FILE | --text STRING) [--data FILE.json]\n"
          "                             [--partials DIR] [--escape html|none|json|slack]\n\n"
          "Renders a mustache template to stdout.\n\n"
          "  --template FILE   the template file\n"
          "  --text STRING     the template text itself\n"
          "  --data FILE.json  the context (default: a built-in example notification)\n"
          "  --partials DIR    where {{>name}} finds DIR/name.mustache; the default\n"
          "                    templates (slack_text, email_html, ...) are partials too\n"
          "  --escape MODE     how {{x}} is escaped: html (default), none, json, slack\n",
          f);
}

/* Takes "--flag VALUE" or "--flag=VALUE" at argv[*i]. Returns 1 if taken, 0 if argv[*i]
 * is not this flag, -1 when the value is missing. */
static int take(const char *flag, int argc, char **argv, int *i, const char **out)
{
    size_t n = strlen(flag);
    const char *a = argv[*i];

    if (strcmp(a, flag) == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "amctl template render: %s needs a value\n", flag);
            return -1;
        }
        *out = argv[++*i];
        return 1;
    }
    if (strncmp(a, flag, n) == 0 && a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    return 0;
}

static int render(int argc, char **argv)
{
    static const char *const flags[] = {"--template", "--text", "--data", "--partials", "--escape"};
    const char *vals[5] = {NULL, NULL, NULL, NULL, NULL};
    enum mustache_escape esc = MUSTACHE_ESCAPE_HTML;
    struct mustache_loader_chain chain = {{NULL, NULL}, {NULL, NULL}};
    struct mustache_loader loader = mustache_loader_chained(&chain);
    struct mustache_options opts = {&loader, 0, 0, 0};
    struct mustache *m = NULL;
    json_t *ctx = NULL;
    struct error err;
    struct buf out;
    int rc = 2;

    buf_init(&out, RENDER_MAX);
    error_clear(&err);
    for (int i = 1; i < argc; i++) {
        int t = 0;

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        for (size_t k = 0; k < 5 && t == 0; k++) {
            t = take(flags[k], argc, argv, &i, &vals[k]);
            if (t < 0)
                goto out;
        }
        if (t == 0) {
            fprintf(stderr, "amctl template render: unknown argument %s\n\n", argv[i]);
            usage(stderr);
            goto out;
        }
    }
    if ((vals[0] == NULL) == (vals[1] == NULL)) {
        fputs("amctl template render: give exactly one of --template FILE or --text STRING\n\n",
              stderr);
        usage(stderr);
        goto out;
    }
    if (vals[4] != NULL && mustache_escape_parse(vals[4], &esc) < 0) {
        fprintf(stderr,
                "amctl template render: --escape must be html, none, json or slack, not %s\n",
                vals[4]);
        goto out;
    }
    rc = 1;
    if (vals[3] != NULL)
        chain.first = mustache_loader_dir(vals[3]);
    chain.second = default_templates_loader();
    if (vals[0] != NULL)
        m = mustache_compile_file(vals[0], &opts, &err);
    else
        m = mustache_compile(vals[1], "--text", &opts, &err);
    if (m == NULL) {
        fprintf(stderr, "amctl: %s\n", err.msg);
        goto out;
    }
    if (vals[2] != NULL) {
        json_error_t jerr;

        ctx = json_load_file(vals[2], JSON_DECODE_ANY, &jerr);
        if (ctx == NULL) {
            fprintf(stderr, "amctl: %s:%d:%d: %s\n", vals[2], jerr.line, jerr.column, jerr.text);
            goto out;
        }
    } else {
        ctx = context_example(3);
        if (ctx == NULL) {
            fputs("amctl: out of memory\n", stderr);
            goto out;
        }
    }
    if (mustache_render(m, ctx, esc, &out, &err) < 0) {
        fprintf(stderr, "amctl: %s: %s\n", mustache_name(m), err.msg);
        goto out;
    }
    if (fwrite(buf_str(&out), 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        perror("amctl: stdout");
        goto out;
    }
    rc = 0;
out:
    buf_release(&out);
    json_decref(ctx);
    mustache_free(m);
    return rc;
}

int amctl_template(const struct amctl_global *g, int argc, char **argv)
{
    (void)g;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "render") == 0)
        return render(argc - 1, argv + 1);
    fprintf(stderr, "amctl template: unknown subcommand %s\n\n", argv[1]);
    usage(stderr);
    return 2;
}
