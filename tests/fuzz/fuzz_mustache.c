/*
 * fuzz_mustache.c - the mustache compiler and renderer (templates/mustache.h).
 * Input: a template, then optionally a NUL byte and a JSON context (else the
 * example context the docs use). Partials "a" and "b" exist (one of them
 * recursive), so partial, parent and dynamic-name paths are reachable. Each
 * compiled template is rendered in all four escape modes into a buffer capped
 * at 256 KiB; render errors (cap, depth) are fine, crashes and leaks are not.
 * A failed render must leave the buffer as it was.
 */
#include "tests/fuzz/fuzz.h"

#include "core/buf.h"
#include "core/error.h"
#include "templates/context.h"
#include "templates/mustache.h"

#include <jansson.h>

static const struct mustache_partial partials[] = {
    {"a", "[{{name}}{{#items}}{{>a}}{{/items}}]"},
    {"b", "{{$title}}default{{/title}}:{{.}}"},
    {NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *tmpl = fuzz_strndup(data, tlen);
    json_t *ctx = NULL;
    struct mustache_loader loader = mustache_loader_table(partials);
    struct mustache_options opts = {&loader, 0, 0, 0};
    struct error err = {{0}};
    struct mustache *m;

    if (nul != NULL)
        ctx = json_loadb((const char *)nul + 1, size - tlen - 1, JSON_DECODE_ANY, NULL);
    if (ctx == NULL)
        ctx = context_example(2);
    if (size > 0 && (data[0] & 1))
        opts.flags = MUSTACHE_MISSING_PARTIAL_EMPTY;
    m = mustache_compile(tmpl, "fuzz", &opts, &err);
    if (m == NULL) {
        FUZZ_CHECK(err.msg[0] != '\0');
    } else {
        for (int esc = MUSTACHE_ESCAPE_HTML; esc <= MUSTACHE_ESCAPE_SLACK; esc++) {
            struct buf out;

            buf_init(&out, 256u << 10);
            (void)buf_appends(&out, "x");
            if (mustache_render(m, ctx, (enum mustache_escape)esc, &out, &err) < 0)
                FUZZ_CHECK(out.len == 1);
            buf_release(&out);
        }
        mustache_free(m);
    }
    json_decref(ctx);
    free(tmpl);
    return 0;
}
