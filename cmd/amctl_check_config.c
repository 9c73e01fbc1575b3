/*
 * amctl_check_config.c - `amctl check-config FILE...`: validates config files the
 * way the daemon loads them and prints a summary, like `amtool check-config`.
 *
 * For each file: "Checking 'FILE'  SUCCESS" and what it found, or
 * "Checking 'FILE'  FAILED: file:line:col: path: why". Exit 0 when every file
 * is valid, 1 when any is not, 2 on usage errors. Nothing is sent anywhere:
 * loading a config only reads files (team files, secret files, templates).
 */
#include "cmd/amctl.h"

#include "config/config.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: amctl check-config FILE...\n\n"
          "Validates amrouter (and Alertmanager) configuration files, including the team\n"
          "files they include, and prints a summary of what each contains.\n"
          "Exits 1 if any file is invalid.\n",
          f);
}

static void summary(const struct config *cfg)
{
    size_t routes = config_count_routes(cfg);

    printf("Found:\n");
    printf(" - global config\n");
    printf(" - route (%zu route%s)\n", routes, routes == 1 ? "" : "s");
    printf(" - %zu inhibit rules\n", cfg->n_inhibit_rules);
    printf(" - %zu receivers\n", cfg->n_receivers);
    printf(" - %zu escalation policies\n", cfg->n_policies);
    printf(" - %zu teams\n", cfg->n_teams);
    for (size_t i = 0; i < cfg->n_teams; i++)
        printf("   - %s (%s)\n", cfg->teams[i].name, cfg->teams[i].file);
    printf(" - %zu time intervals\n", cfg->n_time_intervals);
    printf(" - %zu templates\n", cfg->n_template_files);
    for (size_t i = 0; i < cfg->n_template_files; i++)
        printf("   - %s\n", cfg->template_files[i]);
}

int amctl_check_config(const struct amctl_global *g, int argc, char **argv)
{
    int failed = 0, files = 0;

    (void)g;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "amctl: check-config: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        struct error err;
        struct config *cfg;

        files++;
        error_clear(&err);
        cfg = config_load(argv[i], &err);
        if (cfg == NULL) {
            printf("Checking '%s'  FAILED: %s\n\n", argv[i], err.msg);
            failed++;
            continue;
        }
        printf("Checking '%s'  SUCCESS\n", argv[i]);
        summary(cfg);
        printf("\n");
        config_free(cfg);
    }
    if (files == 0) {
        usage(stderr);
        return 2;
    }
    fflush(stdout);
    if (failed > 0) {
        fprintf(stderr, "amctl: error: failed to validate %d file(s)\n", failed);
        return 1;
    }
    return 0;
}
