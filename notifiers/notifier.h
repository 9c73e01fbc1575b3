/*
 * notifier.h - one integration (webhook, Slack, email, ...) as a table of
 * functions, chosen by the notifier_config's kind.
 *
 * A notifier turns a notification job (router/router.h: the group, its alerts,
 * the receiver) into a self-contained request that the delivery thread sends
 * (notifiers/delivery.h). build() runs on the engine thread, where the config
 * is alive; the request it makes owns copies of everything (URL, headers,
 * body, credentials), so the delivery thread never touches the config and a
 * reload never pulls anything from under a request in flight.
 *
 * Secrets: a request holds credentials, but the delivery thread logs only the
 * receiver name, the integration and the HTTP status, never the URL or headers.
 *
 * To add an integration: write notifiers/<name>.c exporting
 * `const struct notifier_ops <name>_notifier`, and add it to the table in
 * notifier_for() (notifiers/delivery.c).
 */
#ifndef AMR_NOTIFIER_H
#define AMR_NOTIFIER_H

#include "config/config.h"
#include "router/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;

/* A built request; every pointer is owned (free with notifier_request_release). */
struct notifier_request {
    char *method; /* "POST" */
    char *url;
    char **headers; /* "Name: value" lines */
    size_t n_headers;
    char *body;
    size_t body_len;
    char *username; /* HTTP basic auth, or NULL */
    char *password;
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *proxy_url;
    bool insecure_skip_verify;
    bool follow_redirects;
    int64_t connect_timeout_ms;
    int64_t timeout_ms;

    /* Requests that are not one HTTP POST (email's SMTP, one SMS per number) set
     * `setup`: delivery then calls it instead of setting its HTTP options (it sets
     * URL, method/upload, auth and its own TLS from ext plus the transport fields
     * above) and needs only the common ones (write/header callbacks, private, error
     * buffer). It returns 0 when configured, 1 when there is nothing (more) to send
     * (the item is delivered), 2 when a rate limit holds it (the SMS throttle: try
     * again at defer_until, wall ms; not an attempt), -1 with err (the item fails).
     * A transfer through setup succeeds on CURLE_OK with a 2xx status for HTTP(S) or
     * any status for SMTP (libcurl fails an SMTP transfer the server refused). After
     * each success, advance() says whether another part follows (then the item is
     * sent again at once); ext belongs to the integration, ext_free() frees it. */
    int (*setup)(struct notifier_request *rq, void *curl_easy, struct error *err);
    bool (*advance)(const struct notifier_request *rq);
    void *ext;
    void (*ext_free)(void *ext);
    int64_t defer_until;
};

/* What build() may read besides the job: the running config and amrouter's URL. */
struct notifier_env {
    const struct config *cfg;
    const char *external_url; /* no trailing slash */
    /* Ack links (issue 6): the HMAC key and the links' lifetime; see
     * notifier_incident() in notifiers/incident.h. */
    const uint8_t *ack_secret;
    size_t ack_secret_len;
    int64_t ack_link_expiry;
};

struct notifier_ops {
    const char *name; /* "webhook" */
    enum notifier_kind kind;
    /* Fills *out (zeroed by the caller) for job sent through nc of receiver rcv.
     * -1 with err on failure (out is then released by the caller). */
    int (*build)(const struct notifier_env *env, const struct receiver *rcv,
                 const struct notifier_config *nc, const struct notify_job *job,
                 struct notifier_request *out, struct error *err);
};

/* The ops for a kind, NULL when that integration is not built in yet. */
const struct notifier_ops *notifier_for(enum notifier_kind kind);

void notifier_request_release(struct notifier_request *rq);

/* Appends a header line "name: value" (copied). -1 on OOM. */
int notifier_request_add_header(struct notifier_request *rq, const char *name, const char *value);

/* Fills the transport fields (auth, TLS, proxy, timeouts) of rq from an http_config,
 * with defaults 5 s connect / 30 s total. -1 on OOM. */
int notifier_request_apply_http(struct notifier_request *rq, const struct http_config *http,
                                struct error *err);

/* The User-Agent amrouter sends: "Alertmanager/0.25.0 amrouter/<version>". Consumers
 * that check for Alertmanager's prefix keep working; the second token says who we are. */
const char *notifier_user_agent(void);

extern const struct notifier_ops webhook_notifier;
extern const struct notifier_ops slack_notifier;
extern const struct notifier_ops email_notifier;
extern const struct notifier_ops pagerduty_notifier;
extern const struct notifier_ops sms_notifier;

#endif
