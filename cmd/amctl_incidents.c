/*
 * amctl_incidents.c - `amctl incidents [--all | --state S] [--team T] [MATCHERS]`:
 * the server's incidents as a table, newest first (the server's order).
 *
 * GET /api/v2/incidents with state= (open by default: firing and
 * acknowledged), team= and one filter= per matcher (docs/escalation.md). A 404
 * for the list itself means the server has no incidents at all (Alertmanager,
 * or an amrouter built without them), which the message says.
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
    fputs("usage: amctl incidents [--all | --state STATE] [--team TEAM] [MATCHERS...]\n\n"
          "Lists incidents: open ones (firing or acknowledged) unless told otherwise.\n\n"
          "  --all          resolved incidents too\n"
          "  --state STATE  open, firing, acknowledged, resolved or all (repeatable)\n"
          "  --team TEAM    only this team's incidents\n"
          "  MATCHERS       name=value, name!=value, name=~regex, name!~regex (a bare\n"
          "                 word means alertname=WORD): incidents with a matching alert\n\n"
          "Columns: ID, STATE, OPENED, ALERTS (firing/resolved), TEAM, POLICY (or\n"
          "receiver), STEP (reached/of), ACK (who, when), GROUP (the group's labels).\n"
          "-o json prints the server's JSON.\n",
          f);
}

static int print_table(const json_t *list)
{
    static const char *const hdr[] = {"ID",     "STATE", "OPENED", "ALERTS", "TEAM",
                                      "POLICY", "STEP",  "ACK",    "GROUP"};
    struct amctl_table *t = amctl_table_new(9, hdr);
    int64_t now = clock_now_ms();
    struct buf group;
    size_t i;
    json_t *inc;
    int rc = -1;

    buf_init(&group, 1u << 16);
    if (t == NULL)
        goto out;
    json_array_foreach(list, i, inc)
    {
        const json_t *ack = json_object_get(inc, "ack");
        char id[32], opened[64], alerts[64], step[64], ackt[300], ago[64];
        const char *cells[9];

        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(inc, "id")));
        amctl_time_text(amctl_jstr(inc, "openedAt"), opened, sizeof(opened));
        snprintf(alerts, sizeof(alerts), "%lld/%lld",
                 (long long)json_integer_value(json_object_get(inc, "alertsFiring")),
                 (long long)json_integer_value(json_object_get(inc, "alertsResolved")));
        ackt[0] = '\0';
        if (json_is_object(ack))
            snprintf(ackt, sizeof(ackt), "%s %s", amctl_jstr(ack, "by"),
                     amctl_ago_text(amctl_jstr(ack, "at"), now, ago, sizeof(ago)));
        buf_reset(&group);
        amctl_labels_text(json_object_get(inc, "groupLabels"), NULL, &group);
        cells[0] = id;
        cells[1] = amctl_jstr(inc, "state");
        cells[2] = opened;
        cells[3] = alerts;
        cells[4] = amctl_jstr(inc, "team");
        cells[5] = amctl_incident_target(inc);
        cells[6] = amctl_incident_step(inc, step, sizeof(step));
        cells[7] = ackt;
        cells[8] = buf_str(&group);
        if (amctl_table_add(t, cells) < 0)
            goto out;
    }
    amctl_table_print(t, stdout);
    rc = 0;
out:
    amctl_table_free(t);
    buf_release(&group);
    return rc;
}

int amctl_incidents(const struct amctl_global *g, int argc, char **argv)
{
    struct matchers ms = MATCHERS_INIT;
    const char *team = NULL, *state = NULL;
    bool all = false;
    struct buf path;
    json_t *reply = NULL;
    struct error err;
    int nargs = 0;
    int rc = AMCTL_USAGE;

    buf_init(&path, 1u << 20);
    buf_appends(&path, "/api/v2/incidents");
    for (int i = 1; i < argc; i++) {
        int t = amctl_take("incidents", "--team", argc, argv, &i, &team);

        if (t == 0 && amctl_is_help(argv[i])) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        }
        if (t == 0 && (strcmp(argv[i], "--all") == 0 || strcmp(argv[i], "-a") == 0)) {
            all = true;
            continue;
        }
        if (t == 0) {
            t = amctl_take("incidents", "--state", argc, argv, &i, &state);
            if (t == 1)
                amctl_query_add(&path, "state", state);
        }
        if (t < 0)
            goto out;
        if (t == 1)
            continue;
        if (argv[i][0] == '-') {
            rc = amctl_fail(AMCTL_USAGE, "incidents", "unknown flag %s", argv[i]);
            goto out;
        }
        argv[++nargs] = argv[i];
    }
    if (all && state != NULL) {
        rc = amctl_fail(AMCTL_USAGE, "incidents", "--all and --state exclude each other");
        goto out;
    }
    if (amctl_matchers_parse(nargs, argv + 1, &ms, &err) < 0) {
        rc = amctl_fail(AMCTL_USAGE, "incidents", "%s", err.msg);
        goto out;
    }
    if (all)
        amctl_query_add(&path, "state", "all");
    if (team != NULL)
        amctl_query_add(&path, "team", team);
    rc =
        amctl_get_list(g, "incidents", &path, &ms,
                       " (this server has no incidents: is it Alertmanager?)", "incidents", &reply);
    if (rc == AMCTL_OK)
        rc = amctl_print_list(g, reply, print_table);
out:
    json_decref(reply);
    matchers_release(&ms);
    buf_release(&path);
    return rc;
}
