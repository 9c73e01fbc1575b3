/*
 * email.c - email_configs: one RFC 5322 message sent with libcurl's SMTP.
 *
 * Transport: smarthost "host:port". Port 465 is implicit TLS (smtps://);
 * any other port is smtp:// with STARTTLS required (require_tls: true, the
 * default) or used when offered (require_tls: false). hello goes in the URL
 * path, which libcurl sends as the EHLO name. auth_username with
 * auth_password lets libcurl pick LOGIN/PLAIN; with only auth_secret the
 * secret is used for CRAM-MD5. auth_identity is the SASL authorisation id.
 *
 * Message: Date, From, To, Subject (RFC 2047 base64 encoded-words when not
 * ASCII), Message-ID, MIME-Version, then the user's headers (templates; one
 * named like a standard header replaces it), then multipart/alternative with
 * a text/plain and a text/html part, both UTF-8 and quoted-printable. When one
 * of the two renders empty the message has only the other part. Lines end in
 * CRLF. The Message-ID and boundary derive from the group key and the time,
 * so a retried send is byte-identical (receivers can de-duplicate).
 */
#include "notifiers/request.h"

#include "notifiers/notifier.h"

#include "config/config.h"
#include "core/error.h"
#include "core/testable.h"
#include "templates/defaults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LINE_MAX_QP 76

static const char *cfg_file(const struct notifier_config *nc)
{
    return nc->file != NULL ? nc->file : "config";
}

/* Quoted-printable (RFC 2045 6.7): printable ASCII as is except '=', soft line breaks
 * keep lines at most 76 characters, whitespace before a line break and a '.' at a
 * line's start are encoded, line breaks become CRLF. */
TESTABLE int email_qp_encode(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char enc[4];
        size_t n;

        if (*p == '\r')
            continue;
        if (*p == '\n') {
            if (buf_append(b, "\r\n", 2) < 0)
                return -1;
            col = 0;
            continue;
        }
        if ((*p >= 33 && *p <= 126 && *p != '=' && !(*p == '.' && col == 0)) ||
            ((*p == ' ' || *p == '\t') && p[1] != '\n' && p[1] != '\r' && p[1] != '\0')) {
            enc[0] = (char)*p;
            n = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[*p >> 4];
            enc[2] = hex[*p & 15];
            n = 3;
        }
        /* Room for this and a soft break "=" within 76 columns. */
        if (col + n > LINE_MAX_QP - 1) {
            if (buf_append(b, "=\r\n", 3) < 0)
                return -1;
            col = 0;
            if (enc[0] == '.' && n == 1) {
                enc[0] = '=';
                enc[1] = '2';
                enc[2] = 'E';
                n = 3;
            }
        }
        if (buf_append(b, enc, n) < 0)
            return -1;
        col += n;
    }
    return 0;
}

static bool is_ascii_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p >= 128 || (*p < 32 && *p != '\t'))
            return false;
    return true;
}

static int base64_append(struct buf *b, const unsigned char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        char out[4];

        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        out[0] = tab[(v >> 18) & 63];
        out[1] = tab[(v >> 12) & 63];
        out[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[3] = i + 2 < n ? tab[v & 63] : '=';
        if (buf_append(b, out, 4) < 0)
            return -1;
    }
    return 0;
}

/* A header value: as is when it is ASCII, else RFC 2047 "=?UTF-8?B?...?=" words of at
 * most 75 characters each (45 input bytes, never splitting a UTF-8 sequence), folded
 * onto continuation lines. Control characters (CR, LF) become spaces. */
TESTABLE int email_encode_header(struct buf *b, const char *value)
{
    size_t len = strlen(value), i = 0;
    char *v = strdup(value);
    int rc = -1;

    if (v == NULL)
        return -1;
    for (char *p = v; *p != '\0'; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    if (is_ascii_text(v)) {
        rc = buf_appends(b, v);
        free(v);
        return rc;
    }
    while (i < len) {
        size_t n = len - i < 45 ? len - i : 45;

        /* Back up to a UTF-8 sequence start so no character is split across words. */
        while (i + n < len && n > 0 && ((unsigned char)v[i + n] & 0xC0) == 0x80)
            n--;
        if (n == 0)
            n = len - i < 45 ? len - i : 45;
        if ((i > 0 && buf_append(b, "\r\n ", 3) < 0) || buf_appends(b, "=?UTF-8?B?") < 0 ||
            base64_append(b, (const unsigned char *)v + i, n) < 0 || buf_appends(b, "?=") < 0)
            goto out;
        i += n;
    }
    rc = 0;
out:
    free(v);
    return rc;
}

/* RFC 5322 date-time in UTC: "Mon, 23 Nov 2026 12:00:00 +0000". */
TESTABLE int email_date(int64_t ms, char *out, size_t outsz)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL)
        return -1;
    snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return 0;
}

/* The bare address of "Name <a@b>" or "a@b", trimmed, malloc'ed. */
TESTABLE char *email_bare_address(const char *s)
{
    const char *lt = strrchr(s, '<');
    const char *gt = lt != NULL ? strchr(lt, '>') : NULL;
    char *a;

    if (lt != NULL && gt != NULL)
        a = strndup(lt + 1, (size_t)(gt - lt - 1));
    else
        a = strdup(s);
    return a != NULL ? notify_trim(a) : NULL;
}

static int add_rcpt(struct notify_request *r, const char *entry)
{
    char *copy = strdup(entry), *p, *save = NULL;
    int rc = -1;

    if (copy == NULL)
        return -1;
    /* `to` may hold several comma-separated addresses, as in Alertmanager. */
    for (p = strtok_r(copy, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        char *a = email_bare_address(p), **v;

        if (a == NULL)
            goto out;
        if (a[0] == '\0') {
            free(a);
            continue;
        }
        v = realloc(r->rcpt, (r->n_rcpt + 1) * sizeof(*v));
        if (v == NULL) {
            free(a);
            goto out;
        }
        r->rcpt = v;
        r->rcpt[r->n_rcpt++] = a;
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

/* Splits "host:port" / "[v6]:port" and builds the SMTP URL with the EHLO name. */
static int smtp_url(const struct notifier_config *nc, struct notify_request *r, struct error *err)
{
    const char *colon = strrchr(nc->smarthost, ':');
    struct buf u;
    long port;
    char *end;

    if (colon == NULL || colon[1] == '\0')
        return error_set(err, "%s:%d: email_configs.smarthost: missing port in \"%s\"",
                         cfg_file(nc), nc->line, nc->smarthost);
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535)
        return error_set(err, "%s:%d: email_configs.smarthost: bad port in \"%s\"", cfg_file(nc),
                         nc->line, nc->smarthost);
    buf_init(&u, 4096);
    if (buf_printf(&u, "%s://%.*s:%ld/", port == 465 ? "smtps" : "smtp",
                   (int)(colon - nc->smarthost), nc->smarthost, port) < 0 ||
        (nc->hello != NULL && buf_appends(&u, nc->hello) < 0)) {
        buf_release(&u);
        return error_set(err, "%s:%d: email_configs.smarthost: too long", cfg_file(nc), nc->line);
    }
    r->url = buf_detach(&u);
    r->tls = port == 465       ? NOTIFY_TLS_IMPLICIT
             : nc->require_tls ? NOTIFY_TLS_REQUIRED
                               : NOTIFY_TLS_TRY;
    if (r->url == NULL)
        return error_set(err, "out of memory");
    r->redacted_url = notify_redact_url(r->url);
    return r->redacted_url == NULL ? error_set(err, "out of memory") : 0;
}

static int render(const struct notifier_config *nc, const struct tmpl_field *f, const char *def,
                  const char *key, const json_t *ctx, char **out, struct error *err)
{
    char what[160];

    snprintf(what, sizeof(what), "%s:%d: email_configs.%s", cfg_file(nc), nc->line, key);
    return notify_render_field(f, def,
                               def != NULL ? default_template_escape(def) : MUSTACHE_ESCAPE_NONE,
                               ctx, what, out, err);
}

/* The user's header called name, if any (its index), else -1. */
static int user_header(const struct notifier_config *nc, const char *name)
{
    for (size_t i = 0; i < nc->n_headers; i++)
        if (strcasecmp(nc->header_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* An address-list value (From, To, Cc, Reply-To): addresses stay as written (RFC 2047
 * forbids encoded words there) and only a non-ASCII display name is encoded:
 * "Müller <m@x>" -> "=?UTF-8?B?TcO8bGxlcg==?= <m@x>". Commas inside quotes do not
 * split. */
TESTABLE int email_encode_addresses(struct buf *b, const char *value)
{
    const char *p = value;
    bool first = true;

    if (is_ascii_text(value))
        return email_encode_header(b, value);
    while (*p != '\0') {
        const char *e = p;
        bool quoted = false;
        char *part, *lt;
        int rc;

        while (*e != '\0' && (quoted || *e != ',')) {
            if (*e == '"')
                quoted = !quoted;
            e++;
        }
        part = strndup(p, (size_t)(e - p));
        if (part == NULL)
            return -1;
        notify_trim(part);
        lt = strrchr(part, '<');
        rc = 0;
        if (part[0] != '\0') {
            if (!first)
                rc = buf_append(b, ", ", 2);
            first = false;
            if (rc == 0 && lt != NULL && lt > part) {
                char *name = part;
                size_t n;

                *lt = '\0';
                notify_trim(name);
                n = strlen(name);
                if (n >= 2 && name[0] == '"' && name[n - 1] == '"') {
                    name[n - 1] = '\0';
                    name++;
                }
                *lt = '<';
                rc = email_encode_header(b, name) < 0 || buf_appendc(b, ' ') < 0 ||
                             buf_appends(b, lt) < 0
                         ? -1
                         : 0;
            } else if (rc == 0) {
                rc = email_encode_header(b, part);
            }
        }
        free(part);
        if (rc < 0)
            return -1;
        p = *e == ',' ? e + 1 : e;
    }
    return 0;
}

static int put_header(struct buf *m, const char *name, const char *value)
{
    bool addr = strcasecmp(name, "From") == 0 || strcasecmp(name, "To") == 0 ||
                strcasecmp(name, "Cc") == 0 || strcasecmp(name, "Reply-To") == 0;

    if (buf_appends(m, name) < 0 || buf_append(m, ": ", 2) < 0 ||
        (addr ? email_encode_addresses(m, value) : email_encode_header(m, value)) < 0 ||
        buf_append(m, "\r\n", 2) < 0)
        return -1;
    return 0;
}

static int put_part(struct buf *m, const char *boundary, const char *type, const char *content)
{
    if ((boundary != NULL && buf_printf(m, "--%s\r\n", boundary) < 0) ||
        buf_printf(m,
                   "Content-Type: %s; charset=UTF-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                   type) < 0 ||
        email_qp_encode(m, content) < 0 || buf_append(m, "\r\n", 2) < 0)
        return -1;
    return 0;
}

int email_build(const struct notifier_config *nc, const json_t *ctx, const struct notify_opts *o,
                struct notify_requests *out, struct error *err)
{
    char *subject = NULL, *html = NULL, *text = NULL, **hv = NULL, *from_addr = NULL;
    char date[64], hash[65], boundary[96], msgid[256];
    struct buf to, key;
    struct notify_request *r = NULL;
    struct buf *m;
    size_t n0 = out->n;
    const char *domain;
    int rc = -1;

    buf_init(&to, NOTIFY_FIELD_MAX);
    buf_init(&key, NOTIFY_FIELD_MAX);
    if (nc->smarthost == NULL || nc->from == NULL || nc->n_to == 0) {
        error_set(err, "%s:%d: email_configs: smarthost, from and to are required", cfg_file(nc),
                  nc->line);
        goto out;
    }
    if (render(nc, &nc->subject, "email_subject", "subject", ctx, &subject, err) < 0 ||
        render(nc, &nc->html, "email_html", "html", ctx, &html, err) < 0 ||
        render(nc, &nc->email_text, "email_text", "text", ctx, &text, err) < 0)
        goto out;
    notify_trim(subject);
    if (nc->n_headers > 0) {
        hv = calloc(nc->n_headers, sizeof(*hv));
        if (hv == NULL)
            goto oom;
    }
    for (size_t i = 0; i < nc->n_headers; i++) {
        char k[128];

        snprintf(k, sizeof(k), "headers.%s", nc->header_names[i]);
        if (render(nc, &nc->header_values[i], NULL, k, ctx, &hv[i], err) < 0)
            goto out;
        notify_trim(hv[i]);
    }

    r = notify_requests_add(out);
    if (r == NULL)
        goto oom;
    r->proto = NOTIFY_PROTO_SMTP;
    r->http = &nc->http;
    if (smtp_url(nc, r, err) < 0)
        goto out;
    from_addr = email_bare_address(nc->from);
    if (from_addr == NULL)
        goto oom;
    r->mail_from = strdup(from_addr);
    if (r->mail_from == NULL)
        goto oom;
    for (size_t i = 0; i < nc->n_to; i++) {
        if (add_rcpt(r, nc->to[i]) < 0 || (i > 0 && buf_append(&to, ", ", 2) < 0) ||
            buf_appends(&to, nc->to[i]) < 0)
            goto oom;
    }
    if (r->n_rcpt == 0) {
        error_set(err, "%s:%d: email_configs.to: no address", cfg_file(nc), nc->line);
        goto out;
    }
    r->dest = strdup("email");
    if (r->dest == NULL)
        goto oom;
    if (nc->auth_username != NULL && nc->auth_username[0] != '\0') {
        r->username = strdup(nc->auth_username);
        if (r->username == NULL)
            goto oom;
        if (nc->auth_password.value != NULL) {
            r->password = strdup(nc->auth_password.value);
        } else if (nc->auth_secret.value != NULL) {
            r->password = strdup(nc->auth_secret.value);
            r->login_options = strdup("AUTH=CRAM-MD5");
            if (r->login_options == NULL)
                goto oom;
        } else {
            r->password = strdup("");
        }
        if (r->password == NULL)
            goto oom;
        if (nc->auth_identity != NULL && nc->auth_identity[0] != '\0') {
            r->authzid = strdup(nc->auth_identity);
            if (r->authzid == NULL)
                goto oom;
        }
    }

    /* Message-ID and boundary: stable for this group and time, unique across groups. */
    if (buf_printf(&key, "%s|%lld", notify_ctx_str(ctx, "groupKey"), (long long)o->now) < 0 ||
        notify_sha256_hex(buf_str(&key), hash) < 0 || email_date(o->now, date, sizeof(date)) < 0)
        goto oom;
    domain = strchr(from_addr, '@');
    domain = domain != NULL && domain[1] != '\0' ? domain + 1 : "amrouter.invalid";
    snprintf(msgid, sizeof(msgid), "<%.32s.%lld@%.180s>", hash, (long long)o->now, domain);
    snprintf(boundary, sizeof(boundary), "=_amrouter_%.32s", hash);

    m = &r->body;
    if (put_header(m, "Date", user_header(nc, "Date") >= 0 ? hv[user_header(nc, "Date")] : date) <
            0 ||
        put_header(m, "From",
                   user_header(nc, "From") >= 0 ? hv[user_header(nc, "From")] : nc->from) < 0 ||
        put_header(m, "To", user_header(nc, "To") >= 0 ? hv[user_header(nc, "To")] : buf_str(&to)) <
            0 ||
        put_header(m, "Subject", subject) < 0 ||
        put_header(m, "Message-ID",
                   user_header(nc, "Message-ID") >= 0 ? hv[user_header(nc, "Message-ID")] : msgid) <
            0 ||
        put_header(m, "MIME-Version", "1.0") < 0)
        goto oom;
    for (size_t i = 0; i < nc->n_headers; i++) {
        const char *n = nc->header_names[i];

        if (strcasecmp(n, "Date") == 0 || strcasecmp(n, "From") == 0 || strcasecmp(n, "To") == 0 ||
            strcasecmp(n, "Message-ID") == 0 || strcasecmp(n, "MIME-Version") == 0 ||
            strncasecmp(n, "Content-", 8) == 0)
            continue;
        if (put_header(m, n, hv[i]) < 0)
            goto oom;
    }
    if (html[0] != '\0' && text[0] != '\0') {
        if (buf_printf(m, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
                       boundary) < 0 ||
            put_part(m, boundary, "text/plain", text) < 0 ||
            put_part(m, boundary, "text/html", html) < 0 ||
            buf_printf(m, "--%s--\r\n", boundary) < 0)
            goto oom;
    } else if (put_part(m, NULL, html[0] != '\0' ? "text/html" : "text/plain",
                        html[0] != '\0' ? html : text) < 0) {
        goto oom;
    }
    rc = 0;
    goto out;
oom:
    error_set(err, "%s:%d: email_configs: out of memory or message too large", cfg_file(nc),
              nc->line);
out:
    if (rc < 0)
        notify_requests_truncate(out, n0);
    for (size_t i = 0; hv != NULL && i < nc->n_headers; i++)
        free(hv[i]);
    free(hv);
    free(from_addr);
    free(subject);
    free(html);
    free(text);
    buf_release(&to);
    buf_release(&key);
    return rc;
}

static int email_notify(const struct notifier_env *env, const struct receiver *rcv,
                        const struct notifier_config *nc, const struct notify_job *job,
                        struct notifier_request *out, struct error *err)
{
    return notify_ops_build(email_build, env, rcv, nc, job, out, err);
}

const struct notifier_ops email_notifier = {
    "email",
    NOTIFIER_EMAIL,
    email_notify,
};
