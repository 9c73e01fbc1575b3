/*
 * bench_templates.c - how fast the default templates render.
 *
 * Builds the example notification context with 50 alerts (context_example),
 * then renders the default Slack title + text and the email subject + HTML +
 * text bodies in a loop for about a second each, and prints renders per
 * second, microseconds per render and output bytes per second. Building the
 * context is measured separately, since a notifier builds it once per
 * notification and renders several fields from it.
 *
 * Usage: bench_templates [ALERTS] [SECONDS]   (defaults 50 and 1)
 */
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "templates/context.h"
#include "templates/defaults.h"
#include "templates/mustache.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double now_s(void)
{
    return (double)clock_mono_ms() / 1000.0;
}

/* Renders each of names[] once per iteration for about `seconds`. */
static int bench(const char *label, const char *const *names, size_t n, const json_t *ctx,
                 double seconds)
{
    struct buf out;
    struct error err;
    unsigned long iters = 0;
    size_t bytes = 0;
    double t0 = now_s(), el;

    buf_init(&out, 16u << 20);
    do {
        for (int k = 0; k < 100; k++) {
            for (size_t i = 0; i < n; i++) {
                buf_reset(&out);
                if (mustache_render(default_template(names[i]), ctx,
                                    default_template_escape(names[i]), &out, &err) < 0) {
                    fprintf(stderr, "bench: %s: %s\n", names[i], err.msg);
                    buf_release(&out);
                    return -1;
                }
                bytes += out.len;
            }
            iters++;
        }
        el = now_s() - t0;
    } while (el < seconds);
    printf("%-28s %9.0f renders/s  %7.2f us/render  %8.1f MB/s  (%zu bytes/message)\n", label,
           (double)iters / el, el * 1e6 / (double)iters, (double)bytes / el / 1e6, bytes / iters);
    buf_release(&out);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const slack[] = {"slack_title", "slack_text"};
    static const char *const email[] = {"email_subject", "email_html", "email_text"};
    static const char *const one_slack[] = {"slack_text"};
    static const char *const one_html[] = {"email_html"};
    size_t n_alerts = argc > 1 ? strtoul(argv[1], NULL, 10) : 50;
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 1.0;
    json_t *ctx;
    unsigned long builds = 0;
    double t0, el;
    int rc = 1;

    if (n_alerts == 0 || seconds <= 0) {
        fputs("usage: bench_templates [ALERTS] [SECONDS]\n", stderr);
        return 2;
    }
    t0 = now_s();
    do {
        json_t *c = context_example(n_alerts);

        if (c == NULL)
            return 1;
        json_decref(c);
        builds++;
        el = now_s() - t0;
    } while (el < seconds / 2);
    printf("templates: %zu alerts per notification\n", n_alerts);
    printf("%-28s %9.0f builds/s   %7.2f us/build\n", "context (example alerts)",
           (double)builds / el, el * 1e6 / (double)builds);
    ctx = context_example(n_alerts);
    if (ctx == NULL)
        return 1;
    if (bench("slack title+text", slack, 2, ctx, seconds) < 0 ||
        bench("email subject+html+text", email, 3, ctx, seconds) < 0 ||
        bench("slack_text alone", one_slack, 1, ctx, seconds) < 0 ||
        bench("email_html alone", one_html, 1, ctx, seconds) < 0)
        goto out;
    rc = 0;
out:
    json_decref(ctx);
    default_templates_release();
    return rc;
}
