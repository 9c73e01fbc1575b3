/*
 * slack.c - Slack incoming webhooks (slack_configs), Alertmanager's fields.
 *
 * One POST of application/json to api_url (the webhook URL, which is itself
 * the secret: only its host is ever logged):
 *   {channel, username, icon_emoji | icon_url,
 *    attachments: [{title, title_link, pretext, text, fallback, footer, color,
 *                   mrkdwn_in: ["fallback", "pretext", "text"],
 *                   fields: [{title, value, short}],
 *                   actions: [{type: "button", text: "Acknowledge", url, style}]}]}
 * Empty optional values are left out, as Alertmanager's omitempty does.
 *
 * Defaults: title and text from the slack_title / slack_text templates;
 * title_link = the incident page, else the external URL; fallback = the
 * title; color = danger while firing, warning once acknowledged, good when
 * resolved. The ack button appears while the incident is open, firing and
 * not yet acknowledged, when ack_button is on (the default).
 */
#include "notifiers/request.h"

#include "notifiers/notifier.h"

#include "config/config.h"
#include "core/error.h"
#include "templates/defaults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets key to a new string when value is non-empty. */
static int put_str(json_t *o, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    return json_object_set_new(o, key, json_string(value));
}

/* Renders one templated field into *out, prefixing errors with the config position. */
static int field(const struct notifier_config *nc, const struct tmpl_field *f, const char *def,
                 const char *key, const json_t *ctx, char **out, struct error *err)
{
    char what[128];
    enum mustache_escape esc = def != NULL ? default_template_escape(def) : MUSTACHE_ESCAPE_SLACK;

    snprintf(what, sizeof(what), "%s:%d: slack_configs.%s", nc->file ? nc->file : "config",
             nc->line, key);
    if (notify_render_field(f, def, esc, ctx, what, out, err) < 0)
        return -1;
    notify_trim(*out);
    return 0;
}

static int source(const struct notifier_config *nc, const char *src, const char *key,
                  const json_t *ctx, char **out, struct error *err)
{
    char what[128];

    snprintf(what, sizeof(what), "%s:%d: slack_configs.%s", nc->file ? nc->file : "config",
             nc->line, key);
    if (notify_render_source(src, MUSTACHE_ESCAPE_NONE, ctx, what, out, err) < 0)
        return -1;
    if (*out != NULL)
        notify_trim(*out);
    return 0;
}

static const char *default_color(const json_t *ctx)
{
    const json_t *inc = notify_ctx_incident(ctx);

    if (!notify_ctx_firing(ctx))
        return "good";
    if (inc != NULL && notify_ctx_bool(inc, "acked"))
        return "warning";
    return "danger";
}

static json_t *build_fields(const struct notifier_config *nc, const json_t *ctx, struct error *err)
{
    json_t *arr = json_array();

    if (arr == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < nc->n_fields; i++) {
        char *t = NULL, *v = NULL;
        json_t *f;
        int rc;

        if (field(nc, &nc->fields[i].title, NULL, "fields.title", ctx, &t, err) < 0 ||
            field(nc, &nc->fields[i].value, NULL, "fields.value", ctx, &v, err) < 0) {
            free(t);
            json_decref(arr);
            return NULL;
        }
        f = json_pack("{s:s, s:s, s:b}", "title", t, "value", v, "short", nc->fields[i].is_short);
        free(t);
        free(v);
        rc = f == NULL ? -1 : json_array_append_new(arr, f);
        if (rc < 0) {
            json_decref(arr);
            error_set(err, "out of memory");
            return NULL;
        }
    }
    return arr;
}

int slack_build(const struct notifier_config *nc, const json_t *ctx, const struct notify_opts *o,
                struct notify_requests *out, struct error *err)
{
    char *title = NULL, *title_link = NULL, *text = NULL, *pretext = NULL, *footer = NULL;
    char *fallback = NULL, *color = NULL, *channel = NULL, *username = NULL;
    json_t *msg = NULL, *att = NULL, *fields = NULL;
    const json_t *inc = notify_ctx_incident(ctx);
    const char *ack_url = notify_ctx_ack_url(ctx);
    struct notify_request *r;
    size_t n0 = out->n;
    char *body = NULL;
    int rc = -1;

    (void)o;
    if (nc->slack_api_url.value == NULL) {
        error_set(err, "%s:%d: slack_configs: no api_url", nc->file ? nc->file : "config",
                  nc->line);
        goto out;
    }
    if (field(nc, &nc->title, "slack_title", "title", ctx, &title, err) < 0 ||
        field(nc, &nc->text, "slack_text", "text", ctx, &text, err) < 0 ||
        field(nc, &nc->title_link, NULL, "title_link", ctx, &title_link, err) < 0 ||
        field(nc, &nc->pretext, NULL, "pretext", ctx, &pretext, err) < 0 ||
        field(nc, &nc->footer, NULL, "footer", ctx, &footer, err) < 0 ||
        field(nc, &nc->fallback, NULL, "fallback", ctx, &fallback, err) < 0 ||
        source(nc, nc->color, "color", ctx, &color, err) < 0 ||
        source(nc, nc->channel, "channel", ctx, &channel, err) < 0 ||
        source(nc, nc->username, "username", ctx, &username, err) < 0)
        goto out;
    if (nc->title_link.compiled == NULL) {
        const char *u = inc != NULL ? notify_ctx_str(inc, "url") : "";

        free(title_link);
        title_link = strdup(u[0] != '\0' ? u : notify_ctx_str(ctx, "externalURL"));
        if (title_link == NULL)
            goto oom;
    }
    if (nc->fallback.compiled == NULL) {
        free(fallback);
        fallback = strdup(title);
        if (fallback == NULL)
            goto oom;
    }
    fields = build_fields(nc, ctx, err);
    if (fields == NULL)
        goto out;

    msg = json_object();
    att = json_object();
    if (msg == NULL || att == NULL)
        goto oom;
    if (put_str(msg, "channel", channel) < 0 || put_str(msg, "username", username) < 0)
        goto oom;
    if (nc->icon_emoji != NULL && nc->icon_emoji[0] != '\0') {
        if (put_str(msg, "icon_emoji", nc->icon_emoji) < 0)
            goto oom;
    } else if (put_str(msg, "icon_url", nc->icon_url) < 0) {
        goto oom;
    }
    if (put_str(att, "title", title) < 0 || put_str(att, "title_link", title_link) < 0 ||
        put_str(att, "pretext", pretext) < 0 || put_str(att, "text", text) < 0 ||
        put_str(att, "fallback", fallback) < 0 || put_str(att, "footer", footer) < 0 ||
        put_str(att, "color", color != NULL && color[0] != '\0' ? color : default_color(ctx)) < 0 ||
        json_object_set_new(att, "mrkdwn_in", json_pack("[s,s,s]", "fallback", "pretext", "text")) <
            0)
        goto oom;
    if (json_array_size(fields) > 0 && json_object_set(att, "fields", fields) < 0)
        goto oom;
    if (nc->ack_button && ack_url != NULL) {
        json_t *btn = json_pack("[{s:s, s:s, s:s, s:s}]", "type", "button", "text", "Acknowledge",
                                "url", ack_url, "style", "primary");

        if (btn == NULL || json_object_set_new(att, "actions", btn) < 0)
            goto oom;
    }
    if (json_object_set_new(msg, "attachments", json_pack("[O]", att)) < 0)
        goto oom;
    body = json_dumps(msg, JSON_COMPACT);
    if (body == NULL)
        goto oom;

    r = notify_requests_add(out);
    if (r == NULL)
        goto oom;
    r->proto = NOTIFY_PROTO_HTTP;
    r->method = strdup("POST");
    r->url = strdup(nc->slack_api_url.value);
    r->redacted_url = notify_redact_url(nc->slack_api_url.value);
    r->ok_status = 200;
    r->http = &nc->http;
    r->dest = strdup("slack");
    if (r->method == NULL || r->url == NULL || r->redacted_url == NULL || r->dest == NULL ||
        notify_request_add_header(r, "Content-Type", "application/json") < 0 ||
        buf_appends(&r->body, body) < 0)
        goto oom;
    rc = 0;
    goto out;
oom:
    error_set(err, "%s:%d: slack_configs: out of memory or message too large",
              nc->file ? nc->file : "config", nc->line);
out:
    if (rc < 0)
        notify_requests_truncate(out, n0);
    free(body);
    json_decref(fields);
    json_decref(att);
    json_decref(msg);
    free(title);
    free(title_link);
    free(text);
    free(pretext);
    free(footer);
    free(fallback);
    free(color);
    free(channel);
    free(username);
    return rc;
}

static int slack_notify(const struct notifier_env *env, const struct receiver *rcv,
                        const struct notifier_config *nc, const struct notify_job *job,
                        struct notifier_request *out, struct error *err)
{
    return notify_ops_build(slack_build, env, rcv, nc, job, out, err);
}

const struct notifier_ops slack_notifier = {
    "slack",
    NOTIFIER_SLACK,
    slack_notify,
};
