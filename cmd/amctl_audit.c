/*
 * amctl_audit.c - `amctl audit`: who did what (GET /api/v2/audit, admin scope).
 *
 * Prints the newest records first as a table (AT, WHO, ACTION, TARGET,
 * DETAILS cut to 60 characters) or the server's JSON with -o json.
 */
#include "cmd/amctl.h"
#include "cmd/amctl_http.h"
#include "cmd/amctl_table.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/error.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: amctl audit [--since=RFC3339] [--who=NAME] [--limit=N]\n\n"
          "Shows the audit log, newest first: silences created and expired, acks, config\n"
          "reloads and backups, with the API token name that made them (GET /api/v2/audit;\n"
          "needs a token with the admin scope when tokens are configured).\n",
          f);
}

int amctl_audit(const struct amctl_global *g, int argc, char **argv)
{
    const char *since = NULL, *who = NULL, *limit = NULL;
    struct buf path;
    struct error err = {{0}};
    json_t *reply = NULL;
    long status = 0;
    struct amctl_table *t = NULL;
    static const char *const heads[] = {"AT", "WHO", "ACTION", "TARGET", "DETAILS"};
    int rc = AMCTL_REFUSED;

    buf_init(&path, 4096);
    for (int i = 1; i < argc; i++) {
        int r;

        if (amctl_is_help(argv[i])) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        }
        r = amctl_take("audit", "--since", argc, argv, &i, &since);
        if (r == 0)
            r = amctl_take("audit", "--who", argc, argv, &i, &who);
        if (r == 0)
            r = amctl_take("audit", "--limit", argc, argv, &i, &limit);
        if (r < 0) {
            rc = AMCTL_USAGE;
            goto out;
        }
        if (r == 0) {
            rc = amctl_fail(AMCTL_USAGE, "audit", "unexpected argument %s", argv[i]);
            goto out;
        }
    }
    buf_appends(&path, "/api/v2/audit");
    if ((since != NULL && amctl_query_add(&path, "since", since) < 0) ||
        (who != NULL && amctl_query_add(&path, "who", who) < 0) ||
        (limit != NULL && amctl_query_add(&path, "limit", limit) < 0)) {
        rc = amctl_fail(AMCTL_USAGE, "audit", "arguments too long");
        goto out;
    }
    if (amctl_http(g, "GET", buf_str(&path), NULL, &reply, &status, &err) < 0) {
        amctl_fail(AMCTL_REFUSED, "audit", "%s", err.msg);
        goto out;
    }
    if (g->output != NULL && strcmp(g->output, "json") == 0) {
        amctl_print_json(reply);
        rc = AMCTL_OK;
        goto out;
    }
    t = amctl_table_new(5, heads);
    if (t == NULL)
        goto out;
    for (size_t i = 0; i < json_array_size(reply); i++) {
        const json_t *e = json_array_get(reply, i);
        char details[64];
        const char *cells[5];

        snprintf(details, sizeof(details), "%.60s", amctl_jstr(e, "details"));
        cells[0] = amctl_jstr(e, "at");
        cells[1] = amctl_jstr(e, "who");
        cells[2] = amctl_jstr(e, "action");
        cells[3] = amctl_jstr(e, "target");
        cells[4] = details;
        amctl_table_add(t, cells);
    }
    amctl_table_print(t, stdout);
    rc = AMCTL_OK;
out:
    amctl_table_free(t);
    json_decref(reply);
    buf_release(&path);
    return rc;
}
