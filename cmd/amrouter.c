/*
 * amrouter.c - the daemon's main (placeholder until the server lands).
 */
#include <stdio.h>

int main(void)
{
    fputs("amrouter: not implemented yet\n", stderr);
    return 1;
}
