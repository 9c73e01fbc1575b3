/*
 * config.h - the loaded configuration: an immutable, fully resolved tree.
 *
 * config_load() reads Alertmanager's YAML format plus amrouter's additions
 * (escalation_policies, teams, ack, api) with libyaml, validates everything
 * strictly and resolves all references and inheritance, so the rest of the
 * program never re-checks a config: routes point at their receivers and
 * policies, every route carries its effective group_by and timers, and every
 * secret has been read from its inline value, *_file or environment variable.
 *
 * Once loaded a struct config is never modified; threads read it without
 * locks. Reload builds a whole new tree and swaps the pointer; the old one is
 * freed when nothing uses it any more (see the engine). config_free() frees
 * everything it owns.
 *
 * Errors name file:line:column and the key path, e.g.
 *   teams/db.yml:14:9: route.routes[2].group_wait: invalid duration "5x"
 */
#ifndef AMR_CONFIG_H
#define AMR_CONFIG_H

#include "core/matcher.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;
struct mustache; /* templates/mustache.h: a compiled template */

/* A secret read from `x`, `x_file` or `x_env`. value is NULL when not configured.
 * Never print value: use config_secret_redacted(). */
struct secret {
    char *value;
};

/* Alertmanager's common HTTP client settings (http_config). */
struct http_config {
    struct secret bearer_token; /* authorization.credentials or bearer_token(_file) */
    char *authorization_type;   /* "Bearer" by default */
    char *basic_auth_username;
    struct secret basic_auth_password;
    char *tls_ca_file;
    char *tls_cert_file;
    char *tls_key_file;
    char *tls_server_name;
    bool tls_insecure_skip_verify;
    char *proxy_url;
    bool follow_redirects;   /* default true */
    int64_t connect_timeout; /* ms, amrouter addition, default 5s */
    int64_t timeout;         /* ms, amrouter addition, default 30s */
};

enum notifier_kind {
    NOTIFIER_WEBHOOK,
    NOTIFIER_SLACK,
    NOTIFIER_EMAIL,
    NOTIFIER_PAGERDUTY,
    NOTIFIER_SMS,
};

/* One template-able text field of a notifier: either the user's own template
 * (inline text or a file, compiled at load) or NULL for the built-in default. */
struct tmpl_field {
    char *source;              /* the template text as written, or NULL for the default */
    struct mustache *compiled; /* compiled at load; NULL means use the default template */
};

struct slack_field {
    struct tmpl_field title;
    struct tmpl_field value;
    bool is_short;
};

/* One entry of a receiver's *_configs list. Only the fields of `kind` are used. */
struct notifier_config {
    enum notifier_kind kind;
    bool send_resolved;
    struct http_config http;
    const char *file; /* where it was defined, for messages */
    int line;

    /* webhook_configs */
    struct secret url; /* url or url_file */
    int max_alerts;    /* 0 = unlimited */

    /* slack_configs */
    struct secret slack_api_url; /* api_url / api_url_file, else global slack_api_url */
    char *channel;
    char *username;
    char *icon_emoji;
    char *icon_url;
    struct tmpl_field title;
    struct tmpl_field title_link;
    struct tmpl_field text;
    struct tmpl_field pretext;
    struct tmpl_field footer;
    struct tmpl_field fallback;
    char *color; /* template source; default by status */
    struct slack_field *fields;
    size_t n_fields;
    bool ack_button; /* default true: a link button to the ack page */

    /* email_configs */
    char **to; /* one or more addresses */
    size_t n_to;
    char *from;
    char *smarthost; /* host:port */
    char *hello;
    char *auth_username;
    struct secret auth_password;
    struct secret auth_secret;
    char *auth_identity;
    bool require_tls; /* STARTTLS required; implicit TLS when port 465 */
    char **header_names;
    struct tmpl_field *header_values;
    size_t n_headers;
    struct tmpl_field subject;
    struct tmpl_field html;
    struct tmpl_field email_text;

    /* pagerduty_configs */
    struct secret routing_key; /* routing_key / routing_key_file */
    struct secret service_key; /* Events API v1 key (accepted, mapped to v2) */
    char *pagerduty_url;       /* default global pagerduty_url / events.pagerduty.com/v2/enqueue */
    char *client;
    char *client_url;
    struct tmpl_field description; /* the summary */
    char *severity;
    char *pd_class;
    char *component;
    char *group;
    char **detail_names;
    struct tmpl_field *detail_values;
    size_t n_details;
    char **link_hrefs;
    char **link_texts;
    size_t n_links;

    /* sms_configs (Twilio) */
    char *twilio_api_url; /* default https://api.twilio.com */
    char *account_sid;
    struct secret auth_token;
    char *sms_from;
    char **sms_to;
    size_t n_sms_to;
    struct tmpl_field sms_text;
    int max_segments; /* default 1 */
    bool notify_acks; /* SMS on ack/resolve: default false */
};

struct receiver {
    char *name;       /* namespaced "team/name" for team receivers */
    const char *team; /* NULL for the main file's receivers */
    struct notifier_config *configs;
    size_t n_configs;
};

struct escalation_policy;

struct route {
    const struct route *parent; /* NULL for the root */
    size_t index;               /* position among its siblings */
    const struct receiver *receiver;
    struct matchers matchers; /* match, match_re and matchers, ANDed */
    char **group_by;          /* effective (inherited) list, sorted */
    size_t n_group_by;
    bool group_by_all;  /* group_by: ['...'] */
    int64_t group_wait; /* effective values in ms */
    int64_t group_interval;
    int64_t repeat_interval;
    bool cont;                                  /* continue */
    const struct escalation_policy *escalation; /* effective; NULL = plain Alertmanager route */
    bool receiver_explicit;                     /* receiver set on this route, not inherited */
    const char *team; /* team that owns this subtree, NULL for the main file */
    char **mute_time_intervals;
    size_t n_mute_time_intervals;
    char **active_time_intervals;
    size_t n_active_time_intervals;
    struct route *routes; /* children, in order */
    size_t n_routes;
    char *key; /* Alertmanager's route key: "{}" / "{}/{a=\"b\"}" */
    char *id;  /* AM Route.ID(): key + "/N", N = index among siblings; root: the key */
};

struct inhibit_rule {
    struct matchers source; /* source_matchers + source_match + source_match_re */
    struct matchers target;
    char **equal;
    size_t n_equal;
};

struct escalation_step {
    int64_t after; /* ms since the incident opened */
    const struct receiver **receivers;
    size_t n_receivers;
};

struct escalation_policy {
    char *name; /* namespaced "team/name" for team policies */
    const char *team;
    int repeat;               /* extra runs of the steps while unacknowledged (0 = run once) */
    int64_t ack_timeout;      /* ms; 0 = an ack never lapses */
    bool reopen_on_new_alert; /* default true */
    struct escalation_step *steps;
    size_t n_steps;
};

struct team {
    char *name;
    char *file;
    struct matchers matchers;
};

/* One time range of a time_intervals entry, Alertmanager's format. */
struct time_range {
    int start_minute, end_minute; /* minutes of the day, [start, end) */
};
/* An inclusive range of days of the month (negative = counted from the month's end,
 * -1 = last day) or of years. */
struct int_range {
    int begin, end;
};
struct time_interval_spec {
    struct time_range *times;
    size_t n_times;
    uint8_t weekdays;                            /* bit 0 = Sunday; 0 = any */
    uint32_t days_of_month_lo, days_of_month_hi; /* bitmaps; 0 = any */
    uint16_t months;                             /* bit 0 = January; 0 = any */
    int year_lo, year_hi;                        /* 0 = any */
    char *location;                              /* "UTC" or "Local" */
    /* The exact lists as written (the bitmaps above cannot express "1:-1"):
     * days_of_month_lo bit d-1 = day d, days_of_month_hi bit k-1 = day -k, filled
     * only for ranges of one sign; year_lo/year_hi = the smallest and largest year.
     * time_interval_active() evaluates these lists. */
    struct int_range *days_of_month;
    size_t n_days_of_month;
    struct int_range *years;
    size_t n_years;
};
struct time_interval {
    char *name;
    struct time_interval_spec *specs;
    size_t n_specs;
};

enum api_scope {
    SCOPE_INGEST = 1 << 0,
    SCOPE_READ = 1 << 1,
    SCOPE_SILENCE = 1 << 2,
    SCOPE_ACK = 1 << 3,
    SCOPE_ADMIN = 1 << 4,
};

struct api_token {
    char *name;
    struct secret token;
    unsigned scopes;  /* enum api_scope bits */
    const char *team; /* NULL = all teams */
};

struct global_config {
    int64_t resolve_timeout; /* default 5m */
    char *smtp_from;
    char *smtp_hello; /* default "localhost" */
    char *smtp_smarthost;
    char *smtp_auth_username;
    struct secret smtp_auth_password;
    struct secret smtp_auth_secret;
    char *smtp_auth_identity;
    bool smtp_require_tls; /* default true */
    struct secret slack_api_url;
    char *pagerduty_url;  /* default https://events.pagerduty.com/v2/enqueue */
    char *twilio_api_url; /* default https://api.twilio.com */
    struct http_config http;
};

struct config {
    char *file;     /* the main file's path */
    char *original; /* the main file's text, for GET /api/v2/status */
    struct global_config global;
    struct route *root;
    struct receiver *receivers;
    size_t n_receivers;
    struct inhibit_rule *inhibit_rules;
    size_t n_inhibit_rules;
    struct escalation_policy *policies;
    size_t n_policies;
    struct team *teams;
    size_t n_teams;
    struct time_interval *time_intervals;
    size_t n_time_intervals;
    char **template_files; /* expanded `templates:` globs: mustache partials by basename */
    size_t n_template_files;
    struct {
        int64_t link_expiry;  /* default 7d */
        struct secret secret; /* secret / secret_file; NULL = generated and kept in SQLite */
    } ack;
    struct {
        struct api_token *tokens;
        size_t n_tokens;
        size_t max_body_bytes; /* default 8 MiB */
    } api;
    struct {
        int64_t alerts;    /* retention of resolved alerts, default 120h as AM's data.retention */
        int64_t silences;  /* expired silences kept, default 120h */
        int64_t incidents; /* resolved incidents kept, default 30d */
        int64_t audit;     /* audit records kept, default 90d */
    } retention;
};

/* Loads and validates path (and the team files it includes, relative to its
 * directory). On success returns a new config the caller frees with
 * config_free(); on failure returns NULL and err says file:line:col: path: why. */
struct config *config_load(const char *path, struct error *err);

/* Same, from text in memory; `name` is used in messages and as the base for
 * relative paths is `dir` (NULL = current directory). */
struct config *config_load_string(const char *text, const char *name, const char *dir,
                                  struct error *err);

void config_free(struct config *cfg);

const struct receiver *config_find_receiver(const struct config *cfg, const char *name);
const struct escalation_policy *config_find_policy(const struct config *cfg, const char *name);
const struct team *config_find_team(const struct config *cfg, const char *name);

const char *notifier_kind_name(enum notifier_kind kind); /* "webhook", "slack", ... */

const struct time_interval *config_find_time_interval(const struct config *cfg, const char *name);

/* True when the wall-clock time t (ms since the epoch) falls in any of ti's specs,
 * evaluated in each spec's location (UTC or the process's local time zone), with
 * Alertmanager's semantics: an absent field matches everything, times are
 * [start, end) minutes of the day, negative days of the month count from its end. */
bool time_interval_active(const struct time_interval *ti, int64_t t);

/* Number of routes in the tree, the root included. */
size_t config_count_routes(const struct config *cfg);

/* "<secret>" when s is set, "" when not: what may be shown or logged instead of it. */
const char *config_secret_redacted(const struct secret *s);

#endif
