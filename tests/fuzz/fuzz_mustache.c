/*
 * fuzz_mustache.c - the mustache compiler and renderer (templates/mustache.h).
 * Input: a template, then optionally a NUL byte and a JSON context (else the
 * example context the docs use). Partials "a" and "b" exist (one of them
 * recursive), so partial, parent and dynamic-name paths are reachable. Each
 * compiled template is rendered in all four escape modes into a buffer capped
 * at 256 KiB; render errors (cap, depth) are fine, crashes and leaks are not.
 * A failed render must leave the buffer as it was. The same render from prepared
 * data (mustache_data_new) must give the same result and the same bytes.
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
        struct mustache_data *d = mustache_data_new(ctx, &err);

        FUZZ_CHECK(d != NULL);
        for (int esc = MUSTACHE_ESCAPE_HTML; esc <= MUSTACHE_ESCAPE_SLACK; esc++) {
            struct buf out, out2;
            int rc, rc2;

            buf_init(&out, 256u << 10);
            buf_init(&out2, 256u << 10);
            (void)buf_appends(&out, "x");
            (void)buf_appends(&out2, "x");
            rc = mustache_render(m, ctx, (enum mustache_escape)esc, &out, &err);
            if (rc < 0)
                FUZZ_CHECK(out.len == 1);
            /* Prepared data renders the same bytes, or fails the same way. */
            rc2 = mustache_render_data(m, d, (enum mustache_escape)esc, &out2, &err);
            FUZZ_CHECK(rc2 == rc);
            FUZZ_CHECK(out2.len == out.len && memcmp(out2.ptr, out.ptr, out.len) == 0);
            buf_release(&out);
            buf_release(&out2);
        }
        mustache_data_free(d);
        mustache_free(m);
    }
    json_decref(ctx);
    free(tmpl);
    return 0;
}
