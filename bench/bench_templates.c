/*
 * bench_templates.c - how fast notification messages are made from templates.
 *
 * For a group of ALERTS example alerts (context_example_data_new) it measures:
 *   - building the template context from the alerts (context_template), which
 *     a notifier pays once per notification;
 *   - rendering one message: the default Slack title + text ("slack") and the
 *     email subject + HTML + text bodies ("email"), and each big body alone.
 * Every measurement loops for about SECONDS of this process's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID), not wall time, so a loaded machine that takes the
 * CPU away between iterations does not inflate the numbers.
 *
 * Output: a human table, or with --json exactly one line on stdout, a JSON
 * object (documented in docs/templates.md, "Performance"):
 *   {"bench":"templates","alerts":50,"clock":"cpu","context_build_us":...,
 *    "context_prepared_us":...,"slack_us":...,"slack_per_s":...,"slack_bytes":...,
 *    "slack_mb_per_s":..., the same four for email, slack_text, email_html,
 *    slack_unprepared and email_unprepared}
 * Every KEY_us is CPU microseconds per operation (per message, or per build).
 *
 * Usage: bench_templates [--json] [ALERTS] [SECONDS]   (defaults 50 and 1)
 *
 * For instruction counts (valgrind --tool=callgrind --toggle-collect=mustache_render),
 * which a loaded machine does not disturb: --iters N does exactly N iterations of
 * everything instead of timing (and prints nothing), and --only KEY measures one
 * message (slack, email, slack_text, email_html, context, prepare) and prints
 * only its figures, so A/B runs of one figure are quick.
 */
#include "core/buf.h"
#include "core/error.h"
#include "templates/context.h"
#include "templates/defaults.h"
#include "templates/mustache.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One measured message: a set of templates rendered from the same context. */
struct msg {
    const char *key; /* JSON key prefix */
    const char *label;
    const char *const *names;
    size_t n;
    bool unprepared; /* mustache_render() on the json_t instead of prepared data */
    double us, per_s, mb_per_s;
    size_t bytes;
};

static double cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --iters: a fixed number of iterations instead of a time (0 = timed). */
static unsigned long fixed_iters;

static bool more(unsigned long iters, double el, double seconds)
{
    return fixed_iters > 0 ? iters < fixed_iters : el < seconds;
}

/* Renders each of m->names once per iteration for about `seconds` of CPU. */
static int bench_msg(struct msg *m, const json_t *ctx, const struct mustache_data *data,
                     double seconds)
{
    const struct mustache *tpl[8];
    enum mustache_escape esc[8];
    struct buf out;
    struct error err;
    unsigned long iters = 0;
    size_t bytes = 0;
    double t0, el;

    for (size_t i = 0; i < m->n; i++) {
        tpl[i] = default_template(m->names[i]);
        esc[i] = default_template_escape(m->names[i]);
    }
    buf_init(&out, 16u << 20);
    t0 = cpu_s();
    do {
        for (int k = 0; k < (fixed_iters > 0 ? 1 : 20); k++) {
            for (size_t i = 0; i < m->n; i++) {
                buf_reset(&out);
                int r = m->unprepared ? mustache_render(tpl[i], ctx, esc[i], &out, &err)
                                      : mustache_render_data(tpl[i], data, esc[i], &out, &err);

                if (r < 0) {
                    fprintf(stderr, "bench: %s: %s\n", m->names[i], err.msg);
                    buf_release(&out);
                    return -1;
                }
                bytes += out.len;
            }
            iters++;
        }
        el = cpu_s() - t0;
    } while (more(iters, el, seconds));
    m->us = el * 1e6 / (double)iters;
    m->per_s = (double)iters / el;
    m->mb_per_s = (double)bytes / el / 1e6;
    m->bytes = bytes / iters;
    buf_release(&out);
    return 0;
}

/* CPU microseconds per context_template() of x's inputs, plus (prepare) the
 * mustache_data_new() that the renders share. */
static int bench_context(const struct context_example_data *x, bool prepare, double seconds,
                         double *us)
{
    unsigned long builds = 0;
    double t0 = cpu_s(), el;

    do {
        for (int k = 0; k < (fixed_iters > 0 ? 1 : 10); k++) {
            json_t *c = context_template(context_example_data_get(x));
            struct mustache_data *d = NULL;
            struct error err;

            if (c == NULL)
                return -1;
            if (prepare) {
                d = mustache_data_new(c, &err);
                if (d == NULL)
                    return -1;
            }
            mustache_data_free(d);
            json_decref(c);
            builds++;
        }
        el = cpu_s() - t0;
    } while (more(builds, el, seconds));
    *us = el * 1e6 / (double)builds;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const slack[] = {"slack_title", "slack_text"};
    static const char *const email[] = {"email_subject", "email_html", "email_text"};
    static const char *const one_slack[] = {"slack_text"};
    static const char *const one_html[] = {"email_html"};
    struct msg msgs[] = {
        {"slack", "slack title+text", slack, 2, false, 0, 0, 0, 0},
        {"email", "email subject+html+text", email, 3, false, 0, 0, 0, 0},
        {"slack_text", "slack_text alone", one_slack, 1, false, 0, 0, 0, 0},
        {"email_html", "email_html alone", one_html, 1, false, 0, 0, 0, 0},
        {"slack_unprepared", "slack, unprepared context", slack, 2, true, 0, 0, 0, 0},
        {"email_unprepared", "email, unprepared context", email, 3, true, 0, 0, 0, 0},
    };
    size_t n_alerts = 50;
    double seconds = 1.0, ctx_us = 0, prep_us = 0;
    struct mustache_data *data = NULL;
    struct error err;
    bool json = false;
    const char *only = NULL;
    int pos = 0;
    struct context_example_data *x = NULL;
    json_t *ctx = NULL;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
            fixed_iters = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (pos++ == 0)
            n_alerts = strtoul(argv[i], NULL, 10);
        else
            seconds = strtod(argv[i], NULL);
    }
    if (n_alerts == 0 || seconds <= 0) {
        fputs("usage: bench_templates [--json] [ALERTS] [SECONDS]\n", stderr);
        return 2;
    }
    x = context_example_data_new(n_alerts, EXAMPLE_FIRING);
    if (x == NULL)
        goto out;
    if ((only == NULL || strcmp(only, "context") == 0) &&
        bench_context(x, false, seconds / 2, &ctx_us) < 0)
        goto out;
    if ((only == NULL || strcmp(only, "prepare") == 0) &&
        bench_context(x, true, seconds / 2, &prep_us) < 0)
        goto out;
    ctx = context_template(context_example_data_get(x));
    if (ctx == NULL)
        goto out;
    data = mustache_data_new(ctx, &err);
    if (data == NULL)
        goto out;
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        if ((only == NULL || strcmp(only, msgs[i].key) == 0) &&
            bench_msg(&msgs[i], ctx, data, seconds) < 0)
            goto out;
    if (fixed_iters > 0 && only != NULL) {
        rc = 0; /* under callgrind: the counts are the result */
        goto out;
    }
    if (json) {
        /* With --only, just the measured keys. */
        printf("{\"bench\":\"templates\",\"alerts\":%zu,\"clock\":\"cpu\"", n_alerts);
        if (only == NULL || strcmp(only, "context") == 0)
            printf(",\"context_build_us\":%.2f", ctx_us);
        if (only == NULL || strcmp(only, "prepare") == 0)
            printf(",\"context_prepared_us\":%.2f", prep_us);
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
            if (only == NULL || strcmp(only, msgs[i].key) == 0)
                printf(",\"%s_us\":%.2f,\"%s_per_s\":%.0f,\"%s_bytes\":%zu,"
                       "\"%s_mb_per_s\":%.1f",
                       msgs[i].key, msgs[i].us, msgs[i].key, msgs[i].per_s, msgs[i].key,
                       msgs[i].bytes, msgs[i].key, msgs[i].mb_per_s);
        printf("}\n");
    } else if (only != NULL) {
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
            if (strcmp(only, msgs[i].key) == 0)
                printf("%-28s %9.0f renders/s  %7.2f us/render  %8.1f MB/s  (%zu bytes/message)\n",
                       msgs[i].label, msgs[i].per_s, msgs[i].us, msgs[i].mb_per_s, msgs[i].bytes);
    } else {
        printf("templates: %zu alerts per notification (CPU time per operation)\n", n_alerts);
        printf("%-28s %9.0f builds/s   %7.2f us/build\n", "context build", 1e6 / ctx_us, ctx_us);
        printf("%-28s %9.0f builds/s   %7.2f us/build\n", "context build + prepare", 1e6 / prep_us,
               prep_us);
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
            printf("%-28s %9.0f renders/s  %7.2f us/render  %8.1f MB/s  (%zu bytes/message)\n",
                   msgs[i].label, msgs[i].per_s, msgs[i].us, msgs[i].mb_per_s, msgs[i].bytes);
    }
    rc = 0;
out:
    mustache_data_free(data);
    json_decref(ctx);
    context_example_data_free(x);
    default_templates_release();
    return rc;
}
