/*
 * amctl_unack.c - `amctl unack ID... [--comment C] [--by NAME]`: take an
 * acknowledgement back, so escalation resumes from the step after the last
 * one reached (POST /api/v2/incidents/ID/unack, docs/escalation.md).
 */
#include "cmd/amctl.h"

#include "cmd/amctl_http.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: amctl unack ID... [--comment TEXT] [--by NAME]\n\n"
          "Takes the acknowledgement of incidents back: escalation resumes from the\n"
          "step after the last one reached.\n\n"
          "  --comment   why\n"
          "  --by        who (default: $USER@hostname)\n",
          f);
}

/* Every argument must be an incident id. */
static int check_id(const char *cmd, const char *arg, void *ctx)
{
    int64_t id;

    (void)ctx;
    if (amctl_parse_id(arg, &id) < 0) {
        amctl_fail(AMCTL_USAGE, cmd, "%s is not an incident id (a number)", arg);
        return -1;
    }
    return 0;
}

int amctl_unack(const struct amctl_global *g, int argc, char **argv)
{
    struct amctl_ack_args args;
    json_t *body = NULL, *reply = NULL, *all = NULL;
    struct error err;
    struct buf path;
    int nids = 0;
    int rc = AMCTL_USAGE;

    buf_init(&path, 8192);
    switch (amctl_ack_args_parse("unack", argc, argv, &args, check_id, NULL)) {
    case 1:
        usage(stdout);
        rc = AMCTL_OK;
        goto out;
    case 0:
        break;
    default:
        goto out;
    }
    nids = args.n;
    if (nids == 0) {
        rc = amctl_fail(AMCTL_USAGE, "unack", "which incident? give its ID");
        goto out;
    }
    body = amctl_ack_body(&args);
    all = json_array();
    if (body == NULL || all == NULL) {
        rc = amctl_fail(AMCTL_REFUSED, "unack", "out of memory");
        goto out;
    }
    rc = AMCTL_OK;
    for (int i = 1; i <= nids; i++) {
        int64_t id = 0;

        amctl_parse_id(argv[i], &id); /* checked above */
        buf_reset(&path);
        buf_printf(&path, "/api/v2/incidents/%lld/unack", (long long)id);
        if (amctl_http(g, "POST", buf_str(&path), body, &reply, NULL, &err) < 0) {
            amctl_fail(AMCTL_REFUSED, "unack", "%s", err.msg);
            rc = AMCTL_REFUSED;
            continue;
        }
        if (strcmp(g->output, "json") == 0)
            json_array_append(all, reply);
        else
            printf("incident %lld is %s\n", (long long)id,
                   amctl_jstr(reply, "state")[0] != '\0' ? amctl_jstr(reply, "state") : "?");
        json_decref(reply);
        reply = NULL;
    }
    if (strcmp(g->output, "json") == 0)
        amctl_print_json(nids == 1 && json_array_size(all) == 1 ? json_array_get(all, 0) : all);
out:
    json_decref(body);
    json_decref(reply);
    json_decref(all);
    buf_release(&path);
    return rc;
}
