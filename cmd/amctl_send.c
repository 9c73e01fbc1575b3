/*
 * amctl_send.c - `amctl send LABEL=VALUE... [--annotation k=v] [--resolve]`:
 * raise or resolve one alert from a script.
 *
 * POSTs a one-alert list to /api/v2/alerts. Raising sets startsAt = now and
 * leaves endsAt to the server (resolve_timeout), unless --end or --duration
 * say otherwise; --resolve sends endsAt = now, which resolves the alert with
 * the same labels (the server keeps the earliest startsAt). Labels are
 * validated here first so a typo is a usage error (exit 2) before anything is
 * sent. Prints the alert's fingerprint, the same on Alertmanager and
 * amrouter, so scripts can find it again.
 */
#include "cmd/amctl.h"

#include "cmd/amctl_http.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/jsonutil.h"
#include "core/labels.h"
#include "core/timefmt.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: amctl send alertname=NAME [LABEL=VALUE...] [--annotation KEY=VALUE...]\n"
          "                  [--generator-url URL] [--duration D | --end TIME] [--resolve]\n\n"
          "Raises one alert, or resolves it with --resolve: one command for scripts.\n\n"
          "  LABEL=VALUE        the alert's labels; alertname is required\n"
          "  --annotation K=V   an annotation (repeatable), e.g. summary=\"disk full\"\n"
          "  --generator-url U  the alert's generatorURL\n"
          "  --duration D       the alert ends after D (e.g. 1h) unless sent again;\n"
          "                     default: the server's resolve_timeout (5m)\n"
          "  --end TIME         the alert ends at TIME (RFC 3339)\n"
          "  --resolve          resolve the alert now (endsAt = now)\n\n"
          "Prints `firing` or `resolved` with the labels and the alert's fingerprint.\n"
          "-o json prints the alert that was sent.\n",
          f);
}

/* Splits "k=v" into labels/annotations after checking the name. */
static int add_pair(struct labels *ls, const char *arg, const char *what, struct error *err)
{
    const char *eq = strchr(arg, '=');
    char name[256];

    if (eq == NULL || eq == arg)
        return error_set(err, "%s %s: expected NAME=VALUE", what, arg);
    if (eq > arg && (eq[-1] == '!' || eq[1] == '~'))
        return error_set(err, "%s %s: only NAME=VALUE is allowed here (no matchers)", what, arg);
    if ((size_t)(eq - arg) >= sizeof(name))
        return error_set(err, "%s %s: name too long", what, arg);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    if (!label_name_valid(name))
        return error_set(err, "%s %s: invalid name \"%s\" (want [a-zA-Z_][a-zA-Z0-9_]*)", what, arg,
                         name);
    if (!utf8_valid(eq + 1, strlen(eq + 1)))
        return error_set(err, "%s %s: value is not valid UTF-8", what, name);
    if (labels_set(ls, name, eq + 1) < 0)
        return error_set(err, "out of memory");
    return 0;
}

int amctl_send(const struct amctl_global *g, int argc, char **argv)
{
    struct labels labels = LABELS_INIT, annotations = LABELS_INIT;
    const char *gen_url = NULL, *end_s = NULL, *dur_s = NULL, *v;
    bool resolve = false;
    int64_t now = clock_now_ms(), ends = TIME_UNSET;
    char fp[FINGERPRINT_STRLEN];
    json_t *alert = NULL, *list = NULL;
    struct error err;
    int rc = AMCTL_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int t;

        if (amctl_is_help(a)) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        }
        if (strcmp(a, "--resolve") == 0 || strcmp(a, "--resolved") == 0) {
            resolve = true;
            continue;
        }
        t = amctl_take("send", "--annotation", argc, argv, &i, &v);
        if (t == 1 && add_pair(&annotations, v, "--annotation", &err) < 0) {
            rc = amctl_fail(AMCTL_USAGE, "send", "%s", err.msg);
            goto out;
        }
        if (t == 0)
            t = amctl_take("send", "--generator-url", argc, argv, &i, &gen_url);
        if (t == 0)
            t = amctl_take("send", "--end", argc, argv, &i, &end_s);
        if (t == 0)
            t = amctl_take("send", "--duration", argc, argv, &i, &dur_s);
        if (t < 0)
            goto out;
        if (t == 1)
            continue;
        if (a[0] == '-') {
            rc = amctl_fail(AMCTL_USAGE, "send", "unknown flag %s", a);
            goto out;
        }
        if (add_pair(&labels, a, "label", &err) < 0) {
            rc = amctl_fail(AMCTL_USAGE, "send", "%s", err.msg);
            goto out;
        }
    }
    if (labels_get(&labels, "alertname") == NULL) {
        rc = amctl_fail(AMCTL_USAGE, "send", "an alertname=NAME label is required");
        goto out;
    }
    if ((end_s != NULL) + (dur_s != NULL) + resolve > 1) {
        rc = amctl_fail(AMCTL_USAGE, "send", "--resolve, --end and --duration exclude each other");
        goto out;
    }
    if (end_s != NULL && time_parse_rfc3339(end_s, &ends) < 0) {
        rc = amctl_fail(AMCTL_USAGE, "send", "--end %s: not an RFC 3339 time such as %s", end_s,
                        "2026-01-02T15:04:05Z");
        goto out;
    }
    if (dur_s != NULL) {
        int64_t d = 0;

        if (duration_parse(dur_s, &d, &err) < 0) {
            rc = amctl_fail(AMCTL_USAGE, "send", "--duration: %s", err.msg);
            goto out;
        }
        if (d <= 0) {
            rc = amctl_fail(AMCTL_USAGE, "send", "--duration must be more than 0");
            goto out;
        }
        ends = now + d;
    }
    if (resolve)
        ends = now;

    alert = json_object();
    if (alert == NULL || json_object_set_new(alert, "labels", labels_to_json(&labels)) < 0 ||
        (annotations.n > 0 &&
         json_object_set_new(alert, "annotations", labels_to_json(&annotations)) < 0) ||
        (!resolve && json_object_set_new(alert, "startsAt", time_to_json(now)) < 0) ||
        (ends != TIME_UNSET && json_object_set_new(alert, "endsAt", time_to_json(ends)) < 0) ||
        (gen_url != NULL && json_object_set_new(alert, "generatorURL", json_string(gen_url)) < 0)) {
        rc = amctl_fail(AMCTL_REFUSED, "send", "out of memory");
        goto out;
    }
    list = json_array();
    if (list == NULL || json_array_append(list, alert) < 0) {
        rc = amctl_fail(AMCTL_REFUSED, "send", "out of memory");
        goto out;
    }
    if (amctl_http(g, "POST", "/api/v2/alerts", list, NULL, NULL, &err) < 0) {
        rc = amctl_fail(AMCTL_REFUSED, "send", "%s", err.msg);
        goto out;
    }
    fingerprint_format(labels_fingerprint(&labels), fp);
    if (strcmp(g->output, "json") == 0) {
        json_object_set_new(alert, "fingerprint", json_string(fp));
        rc = amctl_print_json(alert) == 0 ? AMCTL_OK : AMCTL_REFUSED;
    } else {
        struct buf text;

        buf_init(&text, 1u << 20);
        labels_format(&labels, &text);
        printf("%s %s fingerprint=%s\n", resolve ? "resolved" : "firing", buf_str(&text), fp);
        buf_release(&text);
        rc = AMCTL_OK;
    }
out:
    json_decref(alert);
    json_decref(list);
    labels_release(&labels);
    labels_release(&annotations);
    return rc;
}
