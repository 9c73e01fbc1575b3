/*
 * amctl_status.c - `amctl status`: what is the server, how long has it run,
 * is it clustered, what config does it run.
 *
 * GET /api/v2/status. The config summary counts receivers, routes, inhibit
 * rules, escalation policies and team files in config.original (the YAML
 * text), parsed with the config module's YAML reader but not validated: the
 * server has already accepted it, and team files live on the server. Fields
 * the Alertmanager shape does not have (amrouter may add some) are printed
 * after the known ones, so nothing the server says is hidden.
 */
#include "cmd/amctl.h"

#include "cmd/amctl_http.h"
#include "cmd/amctl_util.h"
#include "config/yaml.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: amctl status\n\n"
          "Shows the server's version, uptime, cluster state and a summary of the\n"
          "configuration it runs (GET /api/v2/status). -o json prints the server's JSON,\n"
          "including the whole configuration text.\n",
          f);
}

static size_t count_routes(const struct ynode *route)
{
    const struct ypair *kids = ynode_get(route, "routes");
    size_t n = 1;

    if (kids != NULL && kids->value->kind == YNODE_SEQ) {
        for (size_t i = 0; i < kids->value->n_items; i++)
            n += count_routes(kids->value->items[i]);
    }
    return n;
}

static size_t list_len(const struct ynode *root, const char *key)
{
    const struct ypair *p = ynode_get(root, key);

    return p != NULL && p->value->kind == YNODE_SEQ ? p->value->n_items : 0;
}

static void plural(struct buf *out, size_t n, const char *one, const char *many)
{
    buf_printf(out, "%s%zu %s", out->len > 0 ? ", " : "", n, n == 1 ? one : many);
}

/* "3 receivers, 5 routes, ..." or why there is no summary. */
static void config_summary(const json_t *status, struct buf *out)
{
    const char *text = amctl_jstr(json_object_get(status, "config"), "original");
    struct ynode *root = NULL;
    const struct ypair *route;
    struct error err;

    if (text[0] == '\0') {
        buf_appends(out, "(the server did not send its configuration)");
        return;
    }
    if (yaml_parse(text, strlen(text), "config.original", &root, &err) < 0) {
        buf_printf(out, "(cannot summarise: %s)", err.msg);
        return;
    }
    plural(out, list_len(root, "receivers"), "receiver", "receivers");
    route = ynode_get(root, "route");
    plural(out, route != NULL ? count_routes(route->value) : 0, "route", "routes");
    plural(out, list_len(root, "inhibit_rules"), "inhibit rule", "inhibit rules");
    if (ynode_get(root, "escalation_policies") != NULL)
        plural(out, list_len(root, "escalation_policies"), "escalation policy",
               "escalation policies");
    if (ynode_get(root, "teams") != NULL)
        plural(out, list_len(root, "teams"), "team include", "team includes");
    if (list_len(root, "time_intervals") + list_len(root, "mute_time_intervals") > 0)
        plural(out, list_len(root, "time_intervals") + list_len(root, "mute_time_intervals"),
               "time interval", "time intervals");
    buf_printf(out, "; %zu bytes of YAML", strlen(text));
    ynode_free(root);
}

static void print_status(const struct amctl_global *g, const json_t *st)
{
    static const char *const known[] = {"versionInfo", "uptime", "cluster", "config"};
    const json_t *vi = json_object_get(st, "versionInfo");
    const json_t *cl = json_object_get(st, "cluster");
    const json_t *peers = json_object_get(cl, "peers");
    const char *uptime = amctl_jstr(st, "uptime");
    char when[64], ago[64];
    struct buf cfg;
    const char *k;
    json_t *v;

    buf_init(&cfg, 8192);
    printf("server:   %s\n", g->url);
    printf("version:  %s", amctl_jstr(vi, "version")[0] != '\0' ? amctl_jstr(vi, "version") : "?");
    if (amctl_jstr(vi, "revision")[0] != '\0')
        printf(" (revision %s%s%s)", amctl_jstr(vi, "revision"),
               amctl_jstr(vi, "branch")[0] != '\0' ? ", branch " : "", amctl_jstr(vi, "branch"));
    printf("\n");
    /* "built: DATE by USER with GO", leaving out the parts the server does not say. */
    buf_reset(&cfg);
    if (amctl_jstr(vi, "buildDate")[0] != '\0')
        buf_printf(&cfg, "%s", amctl_jstr(vi, "buildDate"));
    if (amctl_jstr(vi, "buildUser")[0] != '\0')
        buf_printf(&cfg, "%sby %s", cfg.len > 0 ? " " : "", amctl_jstr(vi, "buildUser"));
    if (amctl_jstr(vi, "goVersion")[0] != '\0')
        buf_printf(&cfg, "%swith %s", cfg.len > 0 ? " " : "", amctl_jstr(vi, "goVersion"));
    if (cfg.len > 0)
        printf("built:    %s\n", buf_str(&cfg));
    buf_reset(&cfg);
    amctl_time_text(uptime, when, sizeof(when));
    amctl_ago_text(uptime, clock_now_ms(), ago, sizeof(ago));
    if (ago[0] != '\0')
        printf("uptime:   up since %s UTC (%s)\n", when, ago);
    else
        printf("uptime:   %s\n", uptime);
    printf("cluster:  %s", amctl_jstr(cl, "status")[0] != '\0' ? amctl_jstr(cl, "status") : "?");
    if (json_is_array(peers))
        printf(", %zu peer%s", json_array_size(peers), json_array_size(peers) == 1 ? "" : "s");
    printf("\n");
    config_summary(st, &cfg);
    printf("config:   %s\n", buf_str(&cfg));
    json_object_foreach((json_t *)st, k, v)
    {
        bool is_known = false;
        char *text;

        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            is_known = is_known || strcmp(k, known[i]) == 0;
        if (is_known)
            continue;
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (json_is_string(v))
            printf("%s: %*s%s\n", k, strlen(k) < 8 ? (int)(8 - strlen(k)) : 0, "",
                   json_string_value(v));
        else
            printf("%s: %*s%s\n", k, strlen(k) < 8 ? (int)(8 - strlen(k)) : 0, "",
                   text != NULL ? text : "?");
        free(text);
    }
    buf_release(&cfg);
}

int amctl_status(const struct amctl_global *g, int argc, char **argv)
{
    json_t *reply = NULL;
    struct error err;
    int rc = AMCTL_USAGE;

    for (int i = 1; i < argc; i++) {
        if (amctl_is_help(argv[i])) {
            usage(stdout);
            return AMCTL_OK;
        }
        return amctl_fail(AMCTL_USAGE, "status", "unexpected argument %s", argv[i]);
    }
    if (amctl_http(g, "GET", "/api/v2/status", NULL, &reply, NULL, &err) < 0) {
        rc = amctl_fail(AMCTL_REFUSED, "status", "%s", err.msg);
        goto out;
    }
    if (!json_is_object(reply)) {
        rc = amctl_fail(AMCTL_REFUSED, "status", "the server's answer is not a status object");
        goto out;
    }
    if (strcmp(g->output, "json") == 0) {
        rc = amctl_print_json(reply) == 0 ? AMCTL_OK : AMCTL_REFUSED;
    } else {
        print_status(g, reply);
        rc = AMCTL_OK;
    }
out:
    json_decref(reply);
    return rc;
}
