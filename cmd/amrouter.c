/*
 * amrouter.c - the daemon's main: flags, start-up, signals, shutdown.
 *
 * Flags follow Alertmanager's (kingpin) spelling, `--flag=value` or
 * `--flag value`. Alertmanager-only flags that deployment scripts pass
 * (--cluster.*, --data.retention, ...) are accepted and ignored with a warning,
 * so amrouter can replace Alertmanager in an existing unit file. Anything else
 * unknown is a usage error (exit 2).
 *
 * Start-up order: flags, logging, the config (a bad one exits 1 before any
 * port is bound), the engine (opens and loads the storage, starts its
 * threads), then the HTTP server; one log line says it started. SIGTERM/SIGINT: stop accepting, stop the engine (it commits
 * what is queued), exit 0. SIGHUP: reload the config; a bad one is logged and
 * the running one stays.
 *
 * Signals are blocked in every thread (the mask is set before any thread
 * starts) and taken synchronously with sigwait() in the main thread, so no
 * code runs in a signal handler.
 */
#include "api/api.h"
#include "api/auth.h"
#include "api/webconfig.h"
#include "api/server.h"
#include "config/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "storage/audit.h"
#include "engine/engine.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STOP_TIMEOUT_MS 10000

struct flags {
    const char *config_file;
    const char *storage_path;
    const char *listen_address;
    const char *external_url;
    const char *route_prefix;
    const char *log_level;
    const char *log_format;
    const char *web_config_file; /* ops: TLS */
    bool version;
    bool help;
};

enum flag_kind { FLAG_VALUE, FLAG_BOOL };

struct flag_def {
    const char *name; /* without the leading "--" */
    enum flag_kind kind;
    size_t off; /* offsetof in struct flags */
    const char *help;
};

static const struct flag_def flag_defs[] = {
    {"config.file", FLAG_VALUE, offsetof(struct flags, config_file),
     "Configuration file name (default amrouter.yml)."},
    {"storage.path", FLAG_VALUE, offsetof(struct flags, storage_path),
     "Directory for the state database (default data/)."},
    {"web.listen-address", FLAG_VALUE, offsetof(struct flags, listen_address),
     "Address to listen on, host:port; \":port\" = all interfaces (default :9093)."},
    {"web.external-url", FLAG_VALUE, offsetof(struct flags, external_url),
     "URL under which amrouter is reachable, used in links (default http://<hostname>:<port>)."},
    {"web.route-prefix", FLAG_VALUE, offsetof(struct flags, route_prefix),
     "Prefix for all HTTP paths (default: the path of --web.external-url)."},
    {"log.level", FLAG_VALUE, offsetof(struct flags, log_level),
     "Only log messages with this severity or above: debug, info, warn, error (default info)."},
    {"log.format", FLAG_VALUE, offsetof(struct flags, log_format),
     "Log format: logfmt or json (default logfmt)."},
    {"web.config.file", FLAG_VALUE, offsetof(struct flags, web_config_file),
     "Web config file (Alertmanager's format) enabling TLS: tls_server_config cert_file, "
     "key_file."},
    {"version", FLAG_BOOL, offsetof(struct flags, version), "Show the version and exit."},
    {"help", FLAG_BOOL, offsetof(struct flags, help), "Show this help and exit."},
};

/* Alertmanager flags accepted and ignored (with a warning). Entries ending in '.'
 * are prefixes. Boolean ones take no value in the "--flag value" form. */
static const struct {
    const char *name;
    bool is_bool;
} ignored_flags[] = {
    {"cluster.allow-insecure-public-advertise-address-discovery", true},
    {"cluster.", false},
    {"data.retention", false},
    {"data.maintenance-interval", false},
    {"alerts.gc-interval", false},
    {"web.get-concurrency", false},
    {"web.timeout", false},
    {"web.ui-path", false},
};

static void usage(FILE *f)
{
    fputs("usage: amrouter [<flags>]\n\n"
          "Alert notification router, a drop-in for Prometheus Alertmanager with\n"
          "acknowledgements, escalation and durable state.\n\nFlags:\n",
          f);
    for (size_t i = 0; i < sizeof(flag_defs) / sizeof(flag_defs[0]); i++) {
        char name[64];

        snprintf(name, sizeof(name), "--%s%s", flag_defs[i].name,
                 flag_defs[i].kind == FLAG_VALUE ? "=VALUE" : "");
        fprintf(f, "  %-26s %s\n", name, flag_defs[i].help);
    }
    fputs("\nAlertmanager's --cluster.*, --data.retention, --data.maintenance-interval,\n"
          "--alerts.gc-interval, --web.get-concurrency, --web.timeout and --web.ui-path\n"
          "are accepted and ignored.\n",
          f);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("amrouter: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(", try --help\n", stderr);
    return 2;
}

static bool ignored_flag(const char *name, size_t len, bool *is_bool)
{
    for (size_t i = 0; i < sizeof(ignored_flags) / sizeof(ignored_flags[0]); i++) {
        size_t n = strlen(ignored_flags[i].name);
        bool prefix = ignored_flags[i].name[n - 1] == '.';

        if ((prefix && len > n && strncmp(name, ignored_flags[i].name, n) == 0) ||
            (!prefix && len == n && strncmp(name, ignored_flags[i].name, n) == 0)) {
            *is_bool = ignored_flags[i].is_bool;
            return true;
        }
    }
    return false;
}

/* Fills f from argv. Returns 0, or 2 after printing a usage error. Warnings for
 * ignored flags are printed once logging is set up, so they are collected here. */
static int parse_flags(int argc, char **argv, struct flags *f, const char **ignored, int *n_ignored)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *name;
        const char *eq;
        size_t len;
        const struct flag_def *def = NULL;
        bool is_bool = false;

        if (strcmp(a, "-h") == 0) {
            f->help = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return usage_error("unexpected argument %s", a);
        name = a + 2;
        eq = strchr(name, '=');
        len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        for (size_t k = 0; k < sizeof(flag_defs) / sizeof(flag_defs[0]); k++) {
            if (strlen(flag_defs[k].name) == len && strncmp(flag_defs[k].name, name, len) == 0)
                def = &flag_defs[k];
        }
        if (def == NULL) {
            if (!ignored_flag(name, len, &is_bool))
                return usage_error("unknown long flag '%s'", a);
            ignored[(*n_ignored)++] = a;
            if (eq == NULL && !is_bool) {
                if (i + 1 >= argc)
                    return usage_error("expected a value for %s", a);
                i++;
            }
            continue;
        }
        if (def->kind == FLAG_BOOL) {
            if (eq != NULL)
                return usage_error("flag %s takes no value", a);
            *(bool *)((char *)f + def->off) = true;
            continue;
        }
        if (eq == NULL) {
            if (i + 1 >= argc)
                return usage_error("expected a value for %s", a);
            *(const char **)((char *)f + def->off) = argv[++i];
        } else {
            *(const char **)((char *)f + def->off) = eq + 1;
        }
    }
    return 0;
}

/* http://<hostname>:<port> from the listen address, as Alertmanager derives it. */
static int default_external_url(const char *listen, char *out, size_t outsz, struct error *err)
{
    char host[256];
    char port[16];
    char hostname[256];

    if (http_split_listen_address(listen, host, sizeof(host), port, sizeof(port), err) < 0)
        return -1;
    if (gethostname(hostname, sizeof(hostname)) < 0)
        snprintf(hostname, sizeof(hostname), "localhost");
    hostname[sizeof(hostname) - 1] = '\0';
    snprintf(out, outsz, "http://%s:%s", hostname, port);
    return 0;
}

/* The path part of an http(s) URL ("" when there is none). */
static const char *url_path(const char *url)
{
    const char *p = strstr(url, "://");
    const char *slash;

    if (p == NULL)
        return "";
    slash = strchr(p + 3, '/');
    return slash != NULL ? slash : "";
}

static int check_external_url(const char *url, struct error *err)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return error_set(err, "invalid --web.external-url \"%s\": scheme must be http or https",
                         url);
    if (url[strcspn(url, "?#")] != '\0')
        return error_set(err, "invalid --web.external-url \"%s\": no query or fragment allowed",
                         url);
    return 0;
}

int main(int argc, char **argv)
{
    struct flags f = {"amrouter.yml", "data/",  ":9093", NULL,  NULL,
                      "info",         "logfmt", NULL,    false, false};
    struct web_config wc = {NULL, NULL}; /* ops */
    struct audit *aud = NULL;
    struct auth *auth = NULL;
    const char **ignored = calloc((size_t)argc + 1, sizeof(*ignored));
    int n_ignored = 0;
    enum log_level level;
    enum log_format format;
    char ext_url[1024];
    struct error err = {{0}};
    struct config *cfg = NULL;
    struct http_server *srv = NULL;
    struct engine *eng = NULL;
    struct engine_opts eo;
    size_t max_body;
    struct api_engine_ops ops;
    struct api api;
    struct http_server_opts so;
    sigset_t sigs;
    char port[16];
    int rc = 1;

    if (ignored == NULL)
        return 1;
    rc = parse_flags(argc, argv, &f, ignored, &n_ignored);
    if (rc != 0)
        goto out;
    if (f.help) {
        usage(stdout);
        goto out;
    }
    if (f.version) {
        printf("amrouter, version %s (revision: %s)\n", AMR_VERSION, AMR_REVISION);
        goto out;
    }
    rc = 2;
    if (log_level_parse(f.log_level, &level) < 0) {
        usage_error("unrecognized log level \"%s\"", f.log_level);
        goto out;
    }
    if (log_format_parse(f.log_format, &format) < 0) {
        usage_error("unrecognized log format \"%s\"", f.log_format);
        goto out;
    }
    rc = 1;
    log_init(level, format);
    for (int i = 0; i < n_ignored; i++)
        log_warn("ignoring Alertmanager flag", "flag", ignored[i], NULL);

    /* Before any thread exists: every thread inherits this mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (f.external_url == NULL) {
        if (default_external_url(f.listen_address, ext_url, sizeof(ext_url), &err) < 0)
            goto fail;
    } else {
        size_t n = strlen(f.external_url);

        while (n > 0 && f.external_url[n - 1] == '/')
            n--;
        snprintf(ext_url, sizeof(ext_url), "%.*s", (int)n, f.external_url);
        if (check_external_url(ext_url, &err) < 0)
            goto fail;
    }

    cfg = config_load(f.config_file, &err);
    if (cfg == NULL) {
        log_error("loading configuration file failed", "file", f.config_file, "err", err.msg, NULL);
        goto out;
    }
    /* ops: TLS and access control, before the engine takes the config */
    if (f.web_config_file != NULL && web_config_load(f.web_config_file, &wc, &err) < 0)
        goto fail;
    auth = auth_new(cfg, &api, NULL, &err);
    if (auth == NULL)
        goto fail;

    /* The engine owns the config from here on (and keeps it alive across reloads). */
    max_body = cfg->api.max_body_bytes;
    memset(&eo, 0, sizeof(eo));
    eo.storage_path = f.storage_path;
    eo.external_url = ext_url;
    eo.config_file = f.config_file;
    eng = engine_new(&eo, cfg, &err);
    cfg = NULL;
    if (eng == NULL || engine_start(eng, &err) < 0)
        goto fail;
    aud = audit_open(f.storage_path, &err); /* ops: after the engine migrated the schema */
    if (aud == NULL)
        goto fail;
    auth_set_audit(auth, aud);
    metrics_set(MET_RELOAD_OK, NULL, NULL, 1);
    metrics_set(MET_RELOAD_TIME, NULL, NULL, clock_now_ms() / 1000);
    memset(&ops, 0, sizeof(ops));
    ops.ready = engine_ready;
    ops.reload = engine_reload;
    ops.post_alerts = engine_post_alerts;
    ops.put_silence = engine_put_silence;
    ops.expire_silence = engine_expire_silence;
    ops.query_alerts = engine_query_alerts;
    ops.query_groups = engine_query_groups;
    ops.query_silences = engine_query_silences;
    ops.get_silence = engine_get_silence;
    ops.status = engine_status;
    ops.receivers = engine_receivers;
    ops.query_incidents = engine_query_incidents;
    ops.count_states = engine_count_states;
    ops.get_incident = engine_get_incident;
    ops.ack_incident = engine_ack_incident;
    ops.ack_matching = engine_ack_matching;
    ops.ack_page_context = engine_ack_page_context;
    ops.ack_secret = engine_ack_secret;
    ops.twilio_auth_token = engine_twilio_auth_token;
    ops.sms_ack = engine_sms_ack;
    api.ops = &ops;
    api.engine = eng;
    api.external_url = ext_url;
    api.auth = auth; /* ops */
    api.config_file = f.config_file;

    memset(&so, 0, sizeof(so));
    so.listen_address = f.listen_address;
    so.route_prefix = f.route_prefix != NULL ? f.route_prefix : url_path(ext_url);
    so.max_body_bytes = max_body;
    so.routes = api_routes;
    so.n_routes = api_n_routes;
    so.ctx = &api;
    so.guard = auth_guard; /* ops */
    so.after = auth_after;
    so.hook_ctx = auth;
    so.tls_cert_pem = wc.cert_pem;
    so.tls_key_pem = wc.key_pem;
    srv = http_server_start(&so, &err);
    if (srv == NULL)
        goto fail;
    snprintf(port, sizeof(port), "%d", http_server_port(srv));
    log_info("starting amrouter", "version", AMR_VERSION, "revision", AMR_REVISION, "listen",
             f.listen_address, "port", port, "storage", f.storage_path, "config", f.config_file,
             "external_url", ext_url, "tls", wc.cert_pem != NULL ? "on" : "off", NULL);
    auth_warn_if_open(auth, f.listen_address); /* ops */

    for (;;) {
        int sig = 0;

        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (engine_reload(eng, &err) < 0) {
                log_error("reload failed", "source", "SIGHUP", "err", err.msg, NULL);
                auth_reloaded(auth, "SIGHUP", false, err.msg); /* ops */
            } else {
                log_info("config reloaded", "source", "SIGHUP", NULL);
                auth_reloaded(auth, "SIGHUP", true, NULL); /* ops */
            }
            continue;
        }
        log_info("received signal, stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                 NULL);
        break;
    }
    /* Stop accepting; the engine commits what is queued and answers the requests
     * waiting on it; then the connection threads can finish. */
    http_server_quiesce(srv);
    engine_stop(eng, STOP_TIMEOUT_MS);
    http_server_free(srv);
    srv = NULL;
    log_info("stopped", NULL);
    rc = 0;
    goto out;
fail:
    log_error("start-up failed", "err", err.msg, NULL);
    rc = 1;
out:
    http_server_free(srv);
    engine_free(eng);
    config_free(cfg);
    auth_free(auth); /* ops */
    audit_close(aud);
    web_config_release(&wc);
    free(ignored);
    return rc;
}
