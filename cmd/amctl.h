/*
 * amctl.h - the subcommands of amctl, one function per file cmd/amctl_<name>.c.
 *
 * Each takes the arguments after the subcommand name (argv[0] is the
 * subcommand) and returns the exit status: 0 success, 1 the server or the
 * input refused (message printed to stderr), 2 usage error.
 */
#ifndef AMR_AMCTL_H
#define AMR_AMCTL_H

struct amctl_global {
    const char *url;     /* --url, AMCTL_URL, default http://127.0.0.1:9093 */
    const char *token;   /* --token, AMCTL_TOKEN */
    const char *output;  /* -o: "table" (default) or "json" */
    const char *ca_file; /* --ca-file, AMCTL_CA_FILE: CA bundle for https servers */
    const char *timeout; /* --timeout, AMCTL_TIMEOUT: a duration for the whole request (30s) */
};

int amctl_template(const struct amctl_global *g, int argc, char **argv);
int amctl_check_config(const struct amctl_global *g, int argc, char **argv);
/* Server commands (cmd/amctl_<name>.c), talking to g->url through amctl_http.h. */
int amctl_alerts(const struct amctl_global *g, int argc, char **argv);
int amctl_send(const struct amctl_global *g, int argc, char **argv);
int amctl_silence(const struct amctl_global *g, int argc, char **argv);
int amctl_ack(const struct amctl_global *g, int argc, char **argv);
int amctl_unack(const struct amctl_global *g, int argc, char **argv);
int amctl_incidents(const struct amctl_global *g, int argc, char **argv);
int amctl_incident(const struct amctl_global *g, int argc, char **argv);
int amctl_status(const struct amctl_global *g, int argc, char **argv);
/* ops (issue 7): cmd/amctl_audit.c, cmd/amctl_backup.c */
int amctl_audit(const struct amctl_global *g, int argc, char **argv);
int amctl_backup(const struct amctl_global *g, int argc, char **argv);

#endif
