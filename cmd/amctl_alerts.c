/*
 * amctl_alerts.c - `amctl alerts [MATCHERS]`: the server's alerts as a table.
 *
 * GET /api/v2/alerts with one filter= parameter per matcher. By default, as
 * `amtool alert query`, silenced and inhibited alerts are left out; --all
 * shows them with their state, --silenced / --inhibited add one kind.
 * `-o json` prints the server's answer unchanged (pretty).
 */
#include "cmd/amctl.h"

#include "cmd/amctl_http.h"
#include "cmd/amctl_table.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/matcher.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: amctl alerts [--all | --silenced | --inhibited] [MATCHERS...]\n\n"
          "Lists the alerts the server holds (as amtool alert query does).\n\n"
          "  MATCHERS      name=value, name!=value, name=~regex, name!~regex; a bare\n"
          "                word means alertname=WORD\n"
          "  --all         include silenced and inhibited alerts\n"
          "  --silenced    include silenced alerts\n"
          "  --inhibited   include inhibited alerts\n\n"
          "Columns: ALERTNAME, STATE (active, suppressed, unprocessed), STARTED, LABELS\n"
          "(without alertname), SUMMARY (the summary or description annotation).\n"
          "-o json prints the server's JSON.\n",
          f);
}

/* A state word, with what suppresses it. */
static void state_text(const json_t *alert, struct buf *out)
{
    const json_t *st = json_object_get(alert, "status");
    const char *state = amctl_jstr(st, "state");
    size_t nsil = json_array_size(json_object_get(st, "silencedBy"));
    size_t ninh = json_array_size(json_object_get(st, "inhibitedBy"));

    buf_appends(out, state[0] != '\0' ? state : "?");
    if (nsil > 0)
        buf_appends(out, " (silenced)");
    else if (ninh > 0)
        buf_appends(out, " (inhibited)");
}

static int print_table(const json_t *alerts)
{
    static const char *const hdr[] = {"ALERTNAME", "STATE", "STARTED", "LABELS", "SUMMARY"};
    struct amctl_table *t = amctl_table_new(5, hdr);
    int64_t now = clock_now_ms();
    struct buf labels, state;
    size_t i;
    json_t *a;
    int rc = -1;

    buf_init(&labels, 1u << 20);
    buf_init(&state, 256);
    if (t == NULL)
        goto out;
    json_array_foreach(alerts, i, a)
    {
        const json_t *ann = json_object_get(a, "annotations");
        const char *starts = amctl_jstr(a, "startsAt");
        char when[64], ago[64], started[160];
        const char *summary = amctl_jstr(ann, "summary");
        const char *cells[5];

        if (summary[0] == '\0')
            summary = amctl_jstr(ann, "description");
        buf_reset(&labels);
        buf_reset(&state);
        amctl_labels_text(json_object_get(a, "labels"), "alertname", &labels);
        state_text(a, &state);
        amctl_time_text(starts, when, sizeof(when));
        amctl_ago_text(starts, now, ago, sizeof(ago));
        snprintf(started, sizeof(started), "%s%s%s%s", when, ago[0] != '\0' ? " (" : "", ago,
                 ago[0] != '\0' ? ")" : "");
        cells[0] = amctl_jstr(json_object_get(a, "labels"), "alertname");
        cells[1] = buf_str(&state);
        cells[2] = started;
        cells[3] = buf_str(&labels);
        cells[4] = summary;
        if (amctl_table_add(t, cells) < 0)
            goto out;
    }
    amctl_table_print(t, stdout);
    rc = 0;
out:
    amctl_table_free(t);
    buf_release(&labels);
    buf_release(&state);
    return rc;
}

int amctl_alerts(const struct amctl_global *g, int argc, char **argv)
{
    struct matchers ms = MATCHERS_INIT;
    bool all = false, silenced = false, inhibited = false;
    struct buf path;
    json_t *reply = NULL;
    struct error err;
    int nargs = 0;
    int rc = AMCTL_USAGE;

    buf_init(&path, 1u << 20);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (amctl_is_help(a)) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        } else if (strcmp(a, "--all") == 0 || strcmp(a, "-a") == 0) {
            all = true;
        } else if (strcmp(a, "--silenced") == 0) {
            silenced = true;
        } else if (strcmp(a, "--inhibited") == 0) {
            inhibited = true;
        } else if (a[0] == '-' && a[1] == '-') {
            rc = amctl_fail(AMCTL_USAGE, "alerts", "unknown flag %s", a);
            goto out;
        } else {
            argv[++nargs] = argv[i]; /* matchers, compacted in place */
        }
    }
    if (amctl_matchers_parse(nargs, argv + 1, &ms, &err) < 0) {
        rc = amctl_fail(AMCTL_USAGE, "alerts", "%s", err.msg);
        goto out;
    }
    buf_appends(&path, "/api/v2/alerts");
    if (!all) {
        amctl_query_add(&path, "silenced", silenced ? "true" : "false");
        amctl_query_add(&path, "inhibited", inhibited ? "true" : "false");
    }
    rc = amctl_get_list(g, "alerts", &path, &ms, NULL, "alerts", &reply);
    if (rc == AMCTL_OK)
        rc = amctl_print_list(g, reply, print_table);
out:
    json_decref(reply);
    matchers_release(&ms);
    buf_release(&path);
    return rc;
}
