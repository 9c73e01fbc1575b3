/*
 * amctl_ack.c - `amctl ack ID... | MATCHERS... [--comment C] [--by NAME]`.
 *
 * Numeric arguments are incident ids: POST /api/v2/incidents/ID/ack for each
 * (the others are still tried when one fails). Anything else is a list of
 * matchers: POST /api/v2/acks acknowledges every open incident with an alert
 * matching all of them. Mixing both is a usage error, so `amctl ack 42
 * alertname=X` never acks more than meant. --by defaults to $USER@hostname and
 * every ack says via "amctl". Shapes: docs/escalation.md.
 *
 * An ack that lands on an incident already acknowledged by someone else says
 * who and when, so two people paged for the same thing know about each other.
 */
#include "cmd/amctl.h"

#include "cmd/amctl_http.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/matcher.h"
#include "core/timefmt.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: amctl ack ID... [--comment TEXT] [--by NAME]\n"
          "       amctl ack MATCHERS... [--comment TEXT] [--by NAME]\n\n"
          "Acknowledges incidents: escalation stops and every receiver already notified\n"
          "is told who acknowledged.\n\n"
          "  ID          an incident id (as amctl incidents lists them)\n"
          "  MATCHERS    name=value, name!=value, name=~regex, name!~regex (a bare word\n"
          "              means alertname=WORD): acknowledges every open incident with an\n"
          "              alert that matches them all\n"
          "  --comment   why, or what you are doing about it\n"
          "  --by        who acknowledges (default: $USER@hostname)\n\n"
          "Exit status 1 when an incident is unknown or resolved, or nothing matched.\n",
          f);
}

/* "acknowledged incident 42 (alertname=DiskFull, instance=db1)" or, when the ack
 * found was someone else's or older than this command, who had acknowledged it. */
static void report_ack(const json_t *inc, const char *by, int64_t started)
{
    const json_t *ack = json_object_get(inc, "ack");
    const char *ack_by = amctl_jstr(ack, "by");
    const char *ack_at = amctl_jstr(ack, "at");
    struct buf group;
    int64_t at = TIME_UNSET;
    char when[64];

    buf_init(&group, 1u << 16);
    amctl_labels_text(json_object_get(inc, "groupLabels"), NULL, &group);
    if (ack_at[0] != '\0')
        time_parse_rfc3339(ack_at, &at);
    if (json_is_object(ack) &&
        (strcmp(ack_by, by) != 0 || (at != TIME_UNSET && at + 2000 < started)))
        printf("incident %lld (%s) was already acknowledged by %s at %s UTC\n",
               (long long)json_integer_value(json_object_get(inc, "id")), buf_str(&group), ack_by,
               amctl_time_text(ack_at, when, sizeof(when)));
    else
        printf("acknowledged incident %lld (%s)\n",
               (long long)json_integer_value(json_object_get(inc, "id")), buf_str(&group));
    buf_release(&group);
}

/* "acknowledged incidents 42, 43" / "acknowledged incident 42". */
static void print_ids(const char *one, const char *many, const json_t *ids)
{
    size_t i;
    json_t *v;

    printf("%s", json_array_size(ids) == 1 ? one : many);
    json_array_foreach(ids, i, v)
        printf("%s%lld", i > 0 ? ", " : " ", (long long)json_integer_value(v));
    printf("\n");
}

/* Counts the arguments that are incident ids (the others are matchers). */
static int count_id(const char *cmd, const char *arg, void *ctx)
{
    int64_t id;

    (void)cmd;
    if (amctl_parse_id(arg, &id) == 0)
        (*(int *)ctx)++;
    return 0;
}

int amctl_ack(const struct amctl_global *g, int argc, char **argv)
{
    struct amctl_ack_args args;
    struct matchers ms = MATCHERS_INIT;
    int64_t started = clock_now_ms();
    json_t *body = NULL, *reply = NULL, *all = NULL;
    struct error err;
    struct buf path;
    int nargs = 0, nids = 0;
    int rc = AMCTL_USAGE;

    buf_init(&path, 8192);
    switch (amctl_ack_args_parse("ack", argc, argv, &args, count_id, &nids)) {
    case 1:
        usage(stdout);
        rc = AMCTL_OK;
        goto out;
    case 0:
        break;
    default:
        goto out;
    }
    nargs = args.n;
    if (nargs == 0) {
        rc = amctl_fail(AMCTL_USAGE, "ack", "give incident ids or matchers");
        goto out;
    }
    if (nids > 0 && nids < nargs) {
        rc = amctl_fail(AMCTL_USAGE, "ack",
                        "give either incident ids or matchers, not both (ack them one way at "
                        "a time)");
        goto out;
    }
    body = amctl_ack_body(&args);
    if (body == NULL) {
        rc = amctl_fail(AMCTL_REFUSED, "ack", "out of memory");
        goto out;
    }

    if (nids > 0) {
        all = json_array();
        rc = AMCTL_OK;
        for (int i = 1; i <= nargs; i++) {
            int64_t id = 0;

            amctl_parse_id(argv[i], &id); /* checked above */
            buf_reset(&path);
            buf_printf(&path, "/api/v2/incidents/%lld/ack", (long long)id);
            if (amctl_http(g, "POST", buf_str(&path), body, &reply, NULL, &err) < 0) {
                amctl_fail(AMCTL_REFUSED, "ack", "%s", err.msg);
                rc = AMCTL_REFUSED;
                continue;
            }
            if (strcmp(g->output, "json") == 0)
                json_array_append(all, reply);
            else
                report_ack(reply, amctl_jstr(body, "by"), started);
            json_decref(reply);
            reply = NULL;
        }
        if (strcmp(g->output, "json") == 0)
            amctl_print_json(nargs == 1 && json_array_size(all) == 1 ? json_array_get(all, 0)
                                                                     : all);
        goto out;
    }

    if (amctl_matchers_parse(nargs, argv + 1, &ms, &err) < 0) {
        rc = amctl_fail(AMCTL_USAGE, "ack", "%s", err.msg);
        goto out;
    }
    if (json_object_set_new(body, "matchers", amctl_matchers_json(&ms)) < 0) {
        rc = amctl_fail(AMCTL_REFUSED, "ack", "out of memory");
        goto out;
    }
    if (amctl_http(g, "POST", "/api/v2/acks", body, &reply, NULL, &err) < 0) {
        rc = amctl_fail(AMCTL_REFUSED, "ack", "%s", err.msg);
        goto out;
    }
    if (strcmp(g->output, "json") == 0) {
        amctl_print_json(reply);
    } else {
        if (json_array_size(json_object_get(reply, "acknowledged")) > 0)
            print_ids("acknowledged incident", "acknowledged incidents",
                      json_object_get(reply, "acknowledged"));
        if (json_array_size(json_object_get(reply, "alreadyAcknowledged")) > 0)
            print_ids("already acknowledged: incident", "already acknowledged: incidents",
                      json_object_get(reply, "alreadyAcknowledged"));
    }
    if (json_array_size(json_object_get(reply, "acknowledged")) == 0 &&
        json_array_size(json_object_get(reply, "alreadyAcknowledged")) == 0) {
        struct buf text;

        buf_init(&text, 1u << 16);
        matchers_format(&ms, &text);
        rc = amctl_fail(AMCTL_REFUSED, "ack", "no open incident has an alert matching %s",
                        buf_str(&text));
        buf_release(&text);
        goto out;
    }
    rc = AMCTL_OK;
out:
    json_decref(body);
    json_decref(reply);
    json_decref(all);
    matchers_release(&ms);
    buf_release(&path);
    return rc;
}
