/*
 * amctl_util.h - what amctl's server subcommands share: flag parsing, matcher
 * arguments, reading fields from the server's JSON, and times for people.
 *
 * Nothing here talks to the network (that is amctl_http.h). Strings returned
 * from JSON are borrowed from the json_t they came from.
 */
#ifndef AMR_AMCTL_UTIL_H
#define AMR_AMCTL_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct error;
struct matchers;

/* Exit statuses of every subcommand. */
#define AMCTL_OK      0
#define AMCTL_REFUSED 1
#define AMCTL_USAGE   2

/* True for "--help", "-h" and "help". */
bool amctl_is_help(const char *arg);

/* Takes "--flag VALUE" or "--flag=VALUE" at argv[*i] (advancing *i past a
 * separate value). Returns 1 if taken, 0 if argv[*i] is another argument, -1
 * when the value is missing (message "amctl CMD: --flag needs a value" printed). */
int amctl_take(const char *cmd, const char *flag, int argc, char **argv, int *i, const char **out);

/* The arguments `amctl ack` and `amctl unack` share: --comment TEXT (or -c), --by
 * NAME, --help, and positional arguments. */
struct amctl_ack_args {
    const char *comment; /* NULL when not given; borrowed from argv */
    const char *by;      /* NULL when not given */
    int n;               /* positional arguments, moved to argv[1..n] in order */
};

/* The request body of an ack or unack: {"by", "via": "amctl", "comment"
 * when given}, by defaulting to amctl_default_user(). NULL when memory runs
 * out. */
json_t *amctl_ack_body(const struct amctl_ack_args *args);

/* Parses argv[1..argc-1] of CMD into out. Each positional argument is passed to
 * check (may be NULL) as it is met, before the arguments after it are looked at;
 * check returns 0 to keep it or -1 after printing why (amctl_fail). Returns 0,
 * 1 when help was asked for (the caller prints its usage and exits 0), or -1 on
 * a usage error already printed: a flag without its value, an unknown flag
 * ("unknown flag --x"), or an argument check refused. */
int amctl_ack_args_parse(const char *cmd, int argc, char **argv, struct amctl_ack_args *out,
                         int (*check)(const char *cmd, const char *arg, void *ctx), void *ctx);

/* Prints "amctl CMD: <message>" to stderr; with usage, adds "Run 'amctl CMD
 * --help' for usage." Returns status so callers can `return amctl_fail(...)`. */
int amctl_fail(int status, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses matcher arguments (each `name=value`, `name!=v`, `name=~re`, `name!~re`,
 * or a whole list `{a="b",c=~"d"}`) into ms. An argument with no operator
 * means alertname=ARG, as in amtool. Errors name the argument. */
int amctl_matchers_parse(int argc, char **argv, struct matchers *ms, struct error *err);

/* [{name, value, isRegex, isEqual}] as Alertmanager's API v2 takes matchers. */
json_t *amctl_matchers_json(const struct matchers *ms);

/* Appends one filter=<matcher> query parameter per matcher (Alertmanager's
 * filter syntax: name="value" with Go quoting). */
int amctl_matchers_query(struct buf *path, const struct matchers *ms);

/* "$USER@hostname" (user from USER, LOGNAME or the password database), for
 * acks and silences. Written into out; returns out. */
const char *amctl_default_user(char *out, size_t outsz);

/* The string at key in object o, or "" when missing or not a string. */
const char *amctl_jstr(const json_t *o, const char *key);
/* The first of two keys that holds a string (snake_case / camelCase spellings), else "". */
const char *amctl_jstr2(const json_t *o, const char *key1, const char *key2);

/* A label object {"a":"x","b":"y"} as `a=x, b=y`, leaving out `skip` (may be NULL). */
int amctl_labels_text(const json_t *labels, const char *skip, struct buf *out);

/* An RFC 3339 time from the server as "2026-11-23 12:40:01" (UTC), "" for a
 * missing or zero time, the raw string when it does not parse. */
const char *amctl_time_text(const char *rfc3339, char *out, size_t outsz);

/* A duration relative to now, for people: "5m ago", "in 2h", "just now". */
const char *amctl_ago_text(const char *rfc3339, int64_t now, char *out, size_t outsz);

/* An incident's escalation policy, else its receiver, else "" (docs/escalation.md shape). */
const char *amctl_incident_target(const json_t *inc);

/* "2/3", "2/3 run 2" (repeat passes), "" when the incident has no steps. */
const char *amctl_incident_step(const json_t *inc, char *out, size_t outsz);

/* Parses a decimal incident id (1..INT64_MAX); -1 on anything else. */
int amctl_parse_id(const char *s, int64_t *id);

#endif
