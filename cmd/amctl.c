/*
 * amctl.c - the command-line client: global flags and subcommand dispatch.
 *
 * Global flags (--url, --token, -o/--output) may stand before or after the
 * subcommand; they are taken out of argv here so subcommands only see their
 * own arguments.
 */
#include "cmd/amctl.h"

#include "core/duration.h"
#include "core/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct subcommand {
    const char *name;
    int (*fn)(const struct amctl_global *g, int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"alerts", amctl_alerts, "list alerts (optionally matching MATCHERS)"},
    {"send", amctl_send, "raise or resolve an alert: send alertname=X severity=page"},
    {"silence", amctl_silence, "silences: silence add | ls | expire | import"},
    {"incidents", amctl_incidents, "list open incidents (--all for resolved too)"},
    {"incident", amctl_incident, "show one incident with its alerts and history"},
    {"ack", amctl_ack, "acknowledge incidents by id or by MATCHERS"},
    {"unack", amctl_unack, "take an acknowledgement back"},
    {"status", amctl_status, "server version, uptime, cluster and config summary"},
    {"audit", amctl_audit, "who did what: silences, acks, reloads, backups (admin)"},
    {"backup", amctl_backup, "write a consistent copy of the server's database to FILE"},
    {"check-config", amctl_check_config, "validate config files and print a summary"},
    {"template", amctl_template, "render a mustache template (template render ...)"},
};

static void usage(FILE *f)
{
    fputs("usage: amctl [--url URL] [--token TOKEN] [-o table|json] [--ca-file FILE]\n"
          "             [--timeout DURATION] COMMAND [ARGS]\n\n"
          "Global flags may also follow the command. Defaults: AMCTL_URL or\n"
          "http://127.0.0.1:9093, AMCTL_TOKEN, AMCTL_CA_FILE, AMCTL_TIMEOUT or 30s.\n\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(f, "  %-14s %s\n", subcommands[i].name, subcommands[i].summary);
    fputs("\nRun 'amctl COMMAND --help' for a command's options.\n", f);
}

/* Takes a global flag at argv[*i] if there is one. Returns 1 if taken, 0 if not, -1 on
 * a flag missing its value. */
static int take_global(struct amctl_global *g, int argc, char **argv, int *i)
{
    static const struct {
        const char *flag;
        size_t off;
    } flags[] = {
        {"--url", offsetof(struct amctl_global, url)},
        {"--token", offsetof(struct amctl_global, token)},
        {"--output", offsetof(struct amctl_global, output)},
        {"-o", offsetof(struct amctl_global, output)},
        {"--ca-file", offsetof(struct amctl_global, ca_file)},
        {"--timeout", offsetof(struct amctl_global, timeout)},
    };
    const char *a = argv[*i];

    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
        size_t n = strlen(flags[k].flag);
        const char **slot = (const char **)((char *)g + flags[k].off);

        if (strcmp(a, flags[k].flag) == 0) {
            if (*i + 1 >= argc) {
                fprintf(stderr, "amctl: %s needs a value\n", flags[k].flag);
                return -1;
            }
            *slot = argv[++*i];
            return 1;
        }
        if (strncmp(a, flags[k].flag, n) == 0 && a[n] == '=') {
            *slot = a + n + 1;
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct amctl_global g = {NULL, NULL, "table", NULL, NULL};
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int n = 0;
    int rc = 2;

    if (rest == NULL)
        return 1;
    g.url = getenv("AMCTL_URL");
    if (g.url == NULL || g.url[0] == '\0')
        g.url = "http://127.0.0.1:9093";
    g.token = getenv("AMCTL_TOKEN");
    g.ca_file = getenv("AMCTL_CA_FILE");
    g.timeout = getenv("AMCTL_TIMEOUT");
    for (int i = 1; i < argc; i++) {
        int t = take_global(&g, argc, argv, &i);

        if (t < 0)
            goto out;
        if (t == 0)
            rest[n++] = argv[i];
    }
    if (strcmp(g.output, "table") != 0 && strcmp(g.output, "json") != 0) {
        fprintf(stderr, "amctl: -o must be table or json, not %s\n", g.output);
        goto out;
    }
    if (g.timeout != NULL && g.timeout[0] != '\0') {
        struct error err;
        int64_t ms = 0;

        if (duration_parse(g.timeout, &ms, &err) < 0 || ms <= 0) {
            fprintf(stderr,
                    "amctl: --timeout / AMCTL_TIMEOUT must be a duration such as 10s, "
                    "not \"%s\"\n",
                    g.timeout);
            goto out;
        }
    }
    if (n == 0 || strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "-h") == 0 ||
        strcmp(rest[0], "help") == 0) {
        usage(n == 0 ? stderr : stdout);
        rc = n == 0 ? 2 : 0;
        goto out;
    }
    if (strcmp(rest[0], "--version") == 0) {
        printf("amctl %s (revision %s)\n", AMR_VERSION, AMR_REVISION);
        rc = 0;
        goto out;
    }
    for (size_t k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]); k++) {
        if (strcmp(rest[0], subcommands[k].name) == 0) {
            rc = subcommands[k].fn(&g, n, rest);
            goto out;
        }
    }
    fprintf(stderr, "amctl: unknown command %s\n\n", rest[0]);
    usage(stderr);
out:
    free(rest);
    return rc;
}
