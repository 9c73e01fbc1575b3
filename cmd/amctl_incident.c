/*
 * amctl_incident.c - `amctl incident ID`: one incident with its alerts and
 * its history (GET /api/v2/incidents/ID, docs/escalation.md).
 *
 * The human form is a block of "field: value" lines, then an ALERTS table and
 * a HISTORY table; -o json prints the server's object.
 */
#include "cmd/amctl.h"

#include "cmd/amctl_http.h"
#include "cmd/amctl_table.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: amctl incident ID\n\n"
          "Shows one incident: state, group, route, team, escalation policy and step,\n"
          "who acknowledged it, its alerts and its history (opened, notified whom at\n"
          "which step, acknowledged, unacknowledged, re-opened, resolved).\n"
          "-o json prints the server's JSON.\n",
          f);
}

static void field(const char *name, const char *value)
{
    printf("%-10s %s\n", name, value[0] != '\0' ? value : "-");
}

/* A JSON list of strings joined with ", ". */
static void join(const json_t *list, struct buf *out)
{
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v)
        buf_printf(out, "%s%s", i > 0 ? ", " : "", json_is_string(v) ? json_string_value(v) : "?");
}

static void print_header(const json_t *inc, int64_t now)
{
    const json_t *ack = json_object_get(inc, "ack");
    char when[64], ago[64], line[512], step[64];
    struct buf b;

    buf_init(&b, 1u << 16);
    printf("incident %lld: %s\n", (long long)json_integer_value(json_object_get(inc, "id")),
           amctl_jstr(inc, "state"));
    amctl_labels_text(json_object_get(inc, "groupLabels"), NULL, &b);
    field("group:", buf_str(&b));
    field("route:", amctl_jstr(inc, "route"));
    field("team:", amctl_jstr(inc, "team"));
    if (amctl_jstr(inc, "policy")[0] != '\0')
        field("policy:", amctl_jstr(inc, "policy"));
    else
        field("receiver:", amctl_jstr(inc, "receiver"));
    snprintf(line, sizeof(line), "%s (%s)",
             amctl_time_text(amctl_jstr(inc, "openedAt"), when, sizeof(when)),
             amctl_ago_text(amctl_jstr(inc, "openedAt"), now, ago, sizeof(ago)));
    field("opened:", line);
    if (amctl_jstr(inc, "resolvedAt")[0] != '\0') {
        snprintf(line, sizeof(line), "%s (%s)",
                 amctl_time_text(amctl_jstr(inc, "resolvedAt"), when, sizeof(when)),
                 amctl_ago_text(amctl_jstr(inc, "resolvedAt"), now, ago, sizeof(ago)));
        field("resolved:", line);
    }
    amctl_incident_step(inc, step, sizeof(step));
    if (amctl_jstr(inc, "nextStepAt")[0] != '\0')
        snprintf(line, sizeof(line), "%s, next step %s", step,
                 amctl_ago_text(amctl_jstr(inc, "nextStepAt"), now, ago, sizeof(ago)));
    else
        snprintf(line, sizeof(line), "%s", step);
    field("step:", line);
    buf_reset(&b);
    join(json_object_get(inc, "reached"), &b);
    field("reached:", buf_str(&b));
    snprintf(line, sizeof(line), "%lld firing, %lld resolved",
             (long long)json_integer_value(json_object_get(inc, "alertsFiring")),
             (long long)json_integer_value(json_object_get(inc, "alertsResolved")));
    field("alerts:", line);
    if (json_is_object(ack)) {
        buf_reset(&b);
        buf_printf(&b, "by %s", amctl_jstr(ack, "by"));
        if (amctl_jstr(ack, "via")[0] != '\0')
            buf_printf(&b, " via %s", amctl_jstr(ack, "via"));
        buf_printf(&b, " at %s", amctl_time_text(amctl_jstr(ack, "at"), when, sizeof(when)));
        if (amctl_jstr(ack, "comment")[0] != '\0')
            buf_printf(&b, ": %s", amctl_jstr(ack, "comment"));
        if (amctl_jstr(ack, "expiresAt")[0] != '\0')
            buf_printf(&b, " (lapses %s)",
                       amctl_ago_text(amctl_jstr(ack, "expiresAt"), now, ago, sizeof(ago)));
        field("ack:", buf_str(&b));
    }
    buf_release(&b);
}

static int print_alerts(const json_t *alerts)
{
    static const char *const hdr[] = {"STATUS", "FINGERPRINT", "STARTED", "LABELS", "SUMMARY"};
    struct amctl_table *t = amctl_table_new(5, hdr);
    struct buf labels;
    size_t i;
    json_t *a;
    int rc = -1;

    buf_init(&labels, 1u << 20);
    if (t == NULL)
        goto out;
    json_array_foreach(alerts, i, a)
    {
        const json_t *ann = json_object_get(a, "annotations");
        const char *summary = amctl_jstr(ann, "summary");
        char started[64];
        const char *cells[5];

        if (summary[0] == '\0')
            summary = amctl_jstr(ann, "description");
        buf_reset(&labels);
        amctl_labels_text(json_object_get(a, "labels"), NULL, &labels);
        cells[0] = amctl_jstr(a, "status");
        cells[1] = amctl_jstr(a, "fingerprint");
        cells[2] = amctl_time_text(amctl_jstr(a, "startsAt"), started, sizeof(started));
        cells[3] = buf_str(&labels);
        cells[4] = summary;
        if (amctl_table_add(t, cells) < 0)
            goto out;
    }
    printf("\nALERTS\n");
    amctl_table_print(t, stdout);
    rc = 0;
out:
    amctl_table_free(t);
    buf_release(&labels);
    return rc;
}

/* What happened in one history event, beyond its name. */
static void event_details(const json_t *ev, struct buf *out)
{
    const json_t *step = json_object_get(ev, "step");
    const json_t *run = json_object_get(ev, "run");

    if (json_is_integer(step))
        buf_printf(out, "step %lld", (long long)json_integer_value(step));
    if (json_is_integer(run) && json_integer_value(run) > 0)
        buf_printf(out, " run %lld", (long long)json_integer_value(run) + 1);
    if (json_is_array(json_object_get(ev, "receivers"))) {
        buf_appends(out, out->len > 0 ? ": " : "");
        join(json_object_get(ev, "receivers"), out);
    }
    if (amctl_jstr(ev, "by")[0] != '\0')
        buf_printf(out, "%sby %s", out->len > 0 ? " " : "", amctl_jstr(ev, "by"));
    if (amctl_jstr(ev, "via")[0] != '\0')
        buf_printf(out, " via %s", amctl_jstr(ev, "via"));
    if (amctl_jstr(ev, "comment")[0] != '\0')
        buf_printf(out, ": %s", amctl_jstr(ev, "comment"));
    if (amctl_jstr(ev, "fingerprint")[0] != '\0')
        buf_printf(out, "%salert %s", out->len > 0 ? ", " : "", amctl_jstr(ev, "fingerprint"));
}

static int print_history(const json_t *history)
{
    static const char *const hdr[] = {"TIME", "EVENT", "DETAILS"};
    struct amctl_table *t = amctl_table_new(3, hdr);
    struct buf details;
    size_t i;
    json_t *ev;
    int rc = -1;

    buf_init(&details, 1u << 16);
    if (t == NULL)
        goto out;
    json_array_foreach(history, i, ev)
    {
        char when[64];
        const char *cells[3];

        buf_reset(&details);
        event_details(ev, &details);
        cells[0] = amctl_time_text(amctl_jstr(ev, "at"), when, sizeof(when));
        cells[1] = amctl_jstr(ev, "event");
        cells[2] = buf_str(&details);
        if (amctl_table_add(t, cells) < 0)
            goto out;
    }
    printf("\nHISTORY\n");
    amctl_table_print(t, stdout);
    rc = 0;
out:
    amctl_table_free(t);
    buf_release(&details);
    return rc;
}

int amctl_incident(const struct amctl_global *g, int argc, char **argv)
{
    const char *id_s = NULL;
    json_t *reply = NULL;
    struct error err;
    struct buf path;
    long status = 0;
    int64_t id;
    int rc = AMCTL_USAGE;

    buf_init(&path, 256);
    for (int i = 1; i < argc; i++) {
        if (amctl_is_help(argv[i])) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        }
        if (argv[i][0] == '-') {
            rc = amctl_fail(AMCTL_USAGE, "incident", "unknown flag %s", argv[i]);
            goto out;
        }
        if (id_s != NULL) {
            rc = amctl_fail(AMCTL_USAGE, "incident", "one ID at a time");
            goto out;
        }
        id_s = argv[i];
    }
    if (id_s == NULL) {
        rc = amctl_fail(AMCTL_USAGE, "incident", "which incident? give its ID");
        goto out;
    }
    if (amctl_parse_id(id_s, &id) < 0) {
        rc = amctl_fail(AMCTL_USAGE, "incident", "%s is not an incident id (a number)", id_s);
        goto out;
    }
    buf_printf(&path, "/api/v2/incidents/%lld", (long long)id);
    if (amctl_http(g, "GET", buf_str(&path), NULL, &reply, &status, &err) < 0) {
        rc = amctl_fail(AMCTL_REFUSED, "incident", "%s", err.msg);
        goto out;
    }
    if (!json_is_object(reply)) {
        rc = amctl_fail(AMCTL_REFUSED, "incident", "the server's answer is not an incident");
        goto out;
    }
    if (strcmp(g->output, "json") == 0) {
        rc = amctl_print_json(reply) == 0 ? AMCTL_OK : AMCTL_REFUSED;
        goto out;
    }
    print_header(reply, clock_now_ms());
    if (print_alerts(json_object_get(reply, "alerts")) < 0 ||
        print_history(json_object_get(reply, "history")) < 0) {
        rc = amctl_fail(AMCTL_REFUSED, "incident", "out of memory");
        goto out;
    }
    rc = AMCTL_OK;
out:
    json_decref(reply);
    buf_release(&path);
    return rc;
}
