/*
 * amctl_audit.c - `amctl audit [--since D|TIME] [--who NAME] [--action A]
 * [--limit N]`: who did what, from the server's audit table.
 *
 * GET /api/v2/audit (admin scope) answers a list, newest first, of
 * {at, who, action, target, details}: `who` is the API token's name (or the
 * ack's `by` for unauthenticated setups), `action` names what was done
 * (silence.create, silence.expire, incident.ack, incident.unack, config.reload,
 * ...), `target` what it was done to (a silence id, an incident id), and
 * `details` a string or an object with the rest. The filters are passed as
 * query parameters: since (RFC 3339), who, action, limit.
 */
#include "cmd/amctl.h"

#include "cmd/amctl_http.h"
#include "cmd/amctl_table.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: amctl audit [--since DURATION|TIME] [--who NAME] [--action ACTION]\n"
          "                   [--limit N]\n\n"
          "Shows who did what, newest first (GET /api/v2/audit, needs the admin scope):\n"
          "silences created and expired, incidents acknowledged, config reloads, ...\n\n"
          "  --since    how far back: a duration (24h) or an RFC 3339 time\n"
          "  --who      one token or person\n"
          "  --action   one kind of action, e.g. incident.ack\n"
          "  --limit    at most N entries (the server's default otherwise)\n\n"
          "Columns: TIME, WHO, ACTION, TARGET, DETAILS. -o json prints the server's JSON.\n",
          f);
}

/* A target that may be a string or a number. */
static void scalar_text(const json_t *v, struct buf *out)
{
    if (json_is_string(v))
        buf_appends(out, json_string_value(v));
    else if (json_is_integer(v))
        buf_printf(out, "%lld", (long long)json_integer_value(v));
    else if (v != NULL && !json_is_null(v)) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        buf_appends(out, s != NULL ? s : "?");
        free(s);
    }
}

/* details: a string as is, an object as `k=v, k=v`. */
static void details_text(const json_t *v, struct buf *out)
{
    const char *k;
    json_t *x;

    if (!json_is_object(v)) {
        scalar_text(v, out);
        return;
    }
    json_object_foreach((json_t *)v, k, x)
    {
        buf_printf(out, "%s%s=", out->len > 0 ? ", " : "", k);
        scalar_text(x, out);
    }
}

static int print_table(const json_t *list)
{
    static const char *const hdr[] = {"TIME", "WHO", "ACTION", "TARGET", "DETAILS"};
    struct amctl_table *t = amctl_table_new(5, hdr);
    struct buf target, details;
    size_t i;
    json_t *e;
    int rc = -1;

    buf_init(&target, 4096);
    buf_init(&details, 1u << 16);
    if (t == NULL)
        goto out;
    json_array_foreach(list, i, e)
    {
        char when[64];
        const char *cells[5];

        buf_reset(&target);
        buf_reset(&details);
        scalar_text(json_object_get(e, "target"), &target);
        details_text(json_object_get(e, "details"), &details);
        cells[0] = amctl_time_text(amctl_jstr(e, "at"), when, sizeof(when));
        cells[1] = amctl_jstr(e, "who");
        cells[2] = amctl_jstr(e, "action");
        cells[3] = buf_str(&target);
        cells[4] = buf_str(&details);
        if (amctl_table_add(t, cells) < 0)
            goto out;
    }
    amctl_table_print(t, stdout);
    rc = 0;
out:
    amctl_table_free(t);
    buf_release(&target);
    buf_release(&details);
    return rc;
}

int amctl_audit(const struct amctl_global *g, int argc, char **argv)
{
    const char *since = NULL, *who = NULL, *action = NULL, *limit = NULL;
    json_t *reply = NULL;
    struct buf path;
    struct error err;
    long status = 0;
    int rc = AMCTL_USAGE;

    buf_init(&path, 8192);
    buf_appends(&path, "/api/v2/audit");
    for (int i = 1; i < argc; i++) {
        int t = amctl_take("audit", "--since", argc, argv, &i, &since);

        if (t == 0 && amctl_is_help(argv[i])) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        }
        if (t == 0)
            t = amctl_take("audit", "--who", argc, argv, &i, &who);
        if (t == 0)
            t = amctl_take("audit", "--action", argc, argv, &i, &action);
        if (t == 0)
            t = amctl_take("audit", "--limit", argc, argv, &i, &limit);
        if (t < 0)
            goto out;
        if (t == 0) {
            rc = amctl_fail(AMCTL_USAGE, "audit", "unexpected argument %s", argv[i]);
            goto out;
        }
    }
    if (since != NULL) {
        int64_t at, d;
        char text[TIME_STRMAX];

        if (time_parse_rfc3339(since, &at) < 0) {
            if (duration_parse(since, &d, &err) < 0) {
                rc = amctl_fail(AMCTL_USAGE, "audit",
                                "--since %s: want a duration (24h) or an RFC 3339 time", since);
                goto out;
            }
            at = clock_now_ms() - d;
        }
        amctl_query_add(&path, "since", time_format_rfc3339(at, text, sizeof(text)));
    }
    if (limit != NULL) {
        int64_t n;

        if (amctl_parse_id(limit, &n) < 0) {
            rc = amctl_fail(AMCTL_USAGE, "audit", "--limit %s: want a positive number", limit);
            goto out;
        }
        amctl_query_add(&path, "limit", limit);
    }
    if (who != NULL)
        amctl_query_add(&path, "who", who);
    if (action != NULL)
        amctl_query_add(&path, "action", action);
    if (amctl_http(g, "GET", buf_str(&path), NULL, &reply, &status, &err) < 0) {
        rc = amctl_fail(AMCTL_REFUSED, "audit", "%s%s", err.msg,
                        status == 404 ? " (this server keeps no audit log)" : "");
        goto out;
    }
    if (!json_is_array(reply)) {
        rc = amctl_fail(AMCTL_REFUSED, "audit", "the server's answer is not a list");
        goto out;
    }
    if (strcmp(g->output, "json") == 0)
        rc = amctl_print_json(reply) == 0 ? AMCTL_OK : AMCTL_REFUSED;
    else
        rc = print_table(reply) == 0 ? AMCTL_OK : AMCTL_REFUSED;
out:
    json_decref(reply);
    buf_release(&path);
    return rc;
}
