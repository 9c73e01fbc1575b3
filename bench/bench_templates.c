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
 * object (the format is documented in docs/templates.md, "Performance"):
 *   {"bench":"templates","alerts":50,"clock":"cpu","context_build_us":...,
 *    "slack_us":...,"slack_per_s":...,"slack_bytes":...,"slack_mb_per_s":...,
 *    "email_us":...,(same four for email, slack_text, email_html)}
 * All times are microseconds per operation.
 *
 * Usage: bench_templates [--json] [ALERTS] [SECONDS]   (defaults 50 and 1)
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
    double us, per_s, mb_per_s;
    size_t bytes;
};

static double cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Renders each of m->names once per iteration for about `seconds` of CPU. */
static int bench_msg(struct msg *m, const json_t *ctx, double seconds)
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
        for (int k = 0; k < 20; k++) {
            for (size_t i = 0; i < m->n; i++) {
                buf_reset(&out);
                if (mustache_render(tpl[i], ctx, esc[i], &out, &err) < 0) {
                    fprintf(stderr, "bench: %s: %s\n", m->names[i], err.msg);
                    buf_release(&out);
                    return -1;
                }
                bytes += out.len;
            }
            iters++;
        }
        el = cpu_s() - t0;
    } while (el < seconds);
    m->us = el * 1e6 / (double)iters;
    m->per_s = (double)iters / el;
    m->mb_per_s = (double)bytes / el / 1e6;
    m->bytes = bytes / iters;
    buf_release(&out);
    return 0;
}

/* CPU microseconds per context_template() of x's inputs. */
static int bench_context(const struct context_example_data *x, double seconds, double *us)
{
    unsigned long builds = 0;
    double t0 = cpu_s(), el;

    do {
        for (int k = 0; k < 10; k++) {
            json_t *c = context_template(context_example_data_get(x));

            if (c == NULL)
                return -1;
            json_decref(c);
            builds++;
        }
        el = cpu_s() - t0;
    } while (el < seconds);
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
        {"slack", "slack title+text", slack, 2, 0, 0, 0, 0},
        {"email", "email subject+html+text", email, 3, 0, 0, 0, 0},
        {"slack_text", "slack_text alone", one_slack, 1, 0, 0, 0, 0},
        {"email_html", "email_html alone", one_html, 1, 0, 0, 0, 0},
    };
    size_t n_alerts = 50;
    double seconds = 1.0, ctx_us = 0;
    bool json = false;
    int pos = 0;
    struct context_example_data *x = NULL;
    json_t *ctx = NULL;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
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
    if (x == NULL || bench_context(x, seconds / 2, &ctx_us) < 0)
        goto out;
    ctx = context_template(context_example_data_get(x));
    if (ctx == NULL)
        goto out;
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        if (bench_msg(&msgs[i], ctx, seconds) < 0)
            goto out;
    if (json) {
        printf("{\"bench\":\"templates\",\"alerts\":%zu,\"clock\":\"cpu\","
               "\"context_build_us\":%.2f",
               n_alerts, ctx_us);
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
            printf(",\"%s_us\":%.2f,\"%s_per_s\":%.0f,\"%s_bytes\":%zu,\"%s_mb_per_s\":%.1f",
                   msgs[i].key, msgs[i].us, msgs[i].key, msgs[i].per_s, msgs[i].key, msgs[i].bytes,
                   msgs[i].key, msgs[i].mb_per_s);
        printf("}\n");
    } else {
        printf("templates: %zu alerts per notification (CPU time per operation)\n", n_alerts);
        printf("%-28s %9.0f builds/s   %7.2f us/build\n", "context build", 1e6 / ctx_us, ctx_us);
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
            printf("%-28s %9.0f messages/s %7.2f us/message %6.1f MB/s  (%zu bytes/message)\n",
                   msgs[i].label, msgs[i].per_s, msgs[i].us, msgs[i].mb_per_s, msgs[i].bytes);
    }
    rc = 0;
out:
    json_decref(ctx);
    context_example_data_free(x);
    default_templates_release();
    return rc;
}
