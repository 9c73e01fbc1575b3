/*
 * amctl_check_config.c - placeholder until the subcommand lands: refuses honestly.
 */
#include "cmd/amctl.h"

#include <stdio.h>

int amctl_check_config(const struct amctl_global *g, int argc, char **argv)
{
    (void)g;
    (void)argc;
    fprintf(stderr, "amctl: %s is not implemented yet\n", argv[0]);
    return 1;
}
