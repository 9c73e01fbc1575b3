/*
 * load.h - internal to config/: the loader's state and the typed getters that
 * turn YAML nodes into config values with positioned error messages.
 *
 * Every getter takes the mapping, the key and the key path of the mapping
 * ("route.routes[2]"), and on failure fills ld->err with
 * "FILE:LINE:COL: route.routes[2].group_wait: invalid duration \"5x\"" where
 * the position is the offending node's. A key that is absent or null leaves
 * the output untouched, so callers set defaults first. The first error wins:
 * getters return -1 and the load stops.
 *
 * Not a public interface: only the files in config/ include it.
 */
#ifndef AMR_CONFIG_LOAD_H
#define AMR_CONFIG_LOAD_H

#include "config/config.h"
#include "config/yaml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_PATH_MAX 256

struct ld {
    struct config *cfg;
    struct error *err;
    const char *fdir;     /* directory of the file being read, for relative *_file paths */
    const char *team;     /* the team whose file is being read; NULL for the main file */
    const char *file;     /* that file's name, owned by the config (for notifier_config.file) */
    struct ynode *main;   /* the main file's tree */
    struct ynode **teams; /* parsed team files, parallel to cfg->teams */
    char **team_dirs;
};

/* Fills ld->err with "file:line:col: path: message" (path omitted when empty). Returns -1. */
int ld_fail(struct ld *ld, const struct ynode *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* out (CFG_PATH_MAX bytes) = path.key, or key when path is empty. */
void path_key(char *out, const char *path, const char *key);
/* out (CFG_PATH_MAX bytes) = path[i]. */
void path_idx(char *out, const char *path, size_t i);

/* Checks that n is a mapping and that every key is in allowed (NULL-terminated). */
int ld_map(struct ld *ld, const struct ynode *n, const char *path, const char *const *allowed);
/* Checks that n is a list. */
int ld_seq(struct ld *ld, const struct ynode *n, const char *path);
/* The value of key, or NULL when absent or null. */
const struct ynode *ld_get(const struct ynode *map, const char *key);
/* Fails with "path: missing required field \"key\"" at the mapping's position. */
int ld_missing(struct ld *ld, const struct ynode *map, const char *path, const char *key);

/* Scalars. *out is replaced (old value freed) only when the key is present. */
int ld_scalar_str(struct ld *ld, const struct ynode *v, const char *path, char **out);
int ld_str(struct ld *ld, const struct ynode *map, const char *key, const char *path, char **out);
int ld_bool(struct ld *ld, const struct ynode *map, const char *key, const char *path, bool *out);
int ld_int(struct ld *ld, const struct ynode *map, const char *key, const char *path, long long min,
           long long max, long long *out);
/* A Prometheus duration; *set (may be NULL) says whether the key was present. */
int ld_duration(struct ld *ld, const struct ynode *map, const char *key, const char *path,
                int64_t *out, bool *set);
/* A list of strings (a single string is refused). */
int ld_strlist(struct ld *ld, const struct ynode *map, const char *key, const char *path,
               char ***out, size_t *n);

/* key, key_file or key_env (at most one). File contents lose one trailing newline;
 * relative files are read from the current file's directory. */
int ld_secret(struct ld *ld, const struct ynode *map, const char *key, const char *path,
              struct secret *out);
/* The node of key, key_file or key_env (whichever is set, else NULL); kp gets its name. */
const struct ynode *ld_secret_node(const struct ynode *map, const char *key, char *kp, size_t kpsz);
/* Checks that url is http:// or https:// with a host. Secret URLs are not echoed. */
int ld_check_url(struct ld *ld, const struct ynode *at, const char *path, const char *url,
                 bool secret);
/* A template-able text field: keeps the source and compiles it when the template
 * engine is available. */
int ld_tmpl(struct ld *ld, const struct ynode *map, const char *key, const char *path,
            struct tmpl_field *out);

/* Compiles a template source found at node `at` (partials from the `templates:` files,
 * then the built-in defaults). Returns NULL with the error at `at`:
 * "file:line:col: path: template:LINE:COL: what". */
struct mustache *ld_compile(struct ld *ld, const struct ynode *at, const char *path,
                            const char *source);

/* Reads `<prefix>match`, `<prefix>match_re` and `<prefix>matchers` (prefix "",
 * "source_" or "target_") and appends them all to out. */
int ld_matchers(struct ld *ld, const struct ynode *map, const char *prefix, const char *path,
                struct matchers *out);
/* One list of matcher strings (each may itself be a list such as `a="b",c="d"`). */
int ld_matcher_strings(struct ld *ld, const struct ynode *v, const char *path,
                       struct matchers *out);

/* A path relative to the current file's directory (absolute paths are kept). Caller frees. */
char *ld_relpath(const char *dir, const char *p);
/* Reads a whole file (at most 16 MiB) into a NUL-terminated string. Caller frees. */
char *ld_read_file(const char *path, size_t *len, struct error *err);

void strv_free(char **v, size_t n);
void secret_release(struct secret *s);
void tmpl_field_release(struct tmpl_field *t);
void http_config_release(struct http_config *h);

/* Parts of the load, each in its own file. */
int ld_http_config(struct ld *ld, const struct ynode *map, const char *key, const char *path,
                   struct http_config *out);
int ld_receiver(struct ld *ld, const struct ynode *n, const char *path, struct receiver *out);
void receiver_release(struct receiver *r);
int ld_time_intervals(struct ld *ld, const struct ynode *root);
void time_interval_release(struct time_interval *ti);
int ld_routes(struct ld *ld);
void route_release(struct route *r);
int ld_inhibit_rules(struct ld *ld, const struct ynode *root);
int ld_policies(struct ld *ld);
void policy_release(struct escalation_policy *p);

/* Finds a receiver / policy by name as referenced from the current file: inside a
 * team file "team/name" is tried first, then the name as written. */
const struct receiver *ld_find_receiver(struct ld *ld, const char *name);
const struct escalation_policy *ld_find_policy(struct ld *ld, const char *name);

#endif
