/*
 * sms.c - sms_configs: SMS through Twilio's Messages API.
 *
 * One POST per number in `to`, application/x-www-form-urlencoded, HTTP basic
 * auth account_sid:auth_token, to
 *   {api_url}/2010-04-01/Accounts/{account_sid}/Messages.json
 * with the fields To, From and Body. Twilio answers 201 Created.
 *
 * The body is the sms_text template (the ack link included while the
 * incident waits for one), trimmed, then cut cleanly to fit max_segments
 * segments: a text of GSM 03.38 characters is sent GSM-7 (160 septets in one
 * segment, 153 per segment of a longer message; ^ { } [ ] ~ | \ and the euro
 * sign take two), anything else UCS-2 (70 / 67 UTF-16 units; characters
 * outside the BMP take two). A character never straddles two segments. The
 * cut falls on a word boundary when one is near, never inside a UTF-8
 * sequence, and ends in "..." (GSM) or "…" (UCS-2). When the throttle merged
 * other messages into this one (opts->merged), " (+N more)" is kept at the end.
 *
 * Acknowledgements and resolutions are sent only with notify_acks: true.
 */
#include "notifiers/request.h"

#include "notifiers/notifier.h"

#include "config/config.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/log.h"
#include "core/testable.h"
#include "notifiers/throttle.h"
#include "templates/defaults.h"

#include <pthread.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cfg_file(const struct notifier_config *nc)
{
    return nc->file != NULL ? nc->file : "config";
}

/* Septets the code point takes in GSM-7 (1 basic, 2 extension table), 0 if none. */
static int gsm_cost(uint32_t c)
{
    static const uint32_t basic[] = {0x40,  0xA3,  0x24,  0xA5,  0xE8,  0xE9,  0xF9,  0xEC,  0xF2,
                                     0xC7,  0x0A,  0xD8,  0xF8,  0x0D,  0xC5,  0xE5,  0x394, 0x5F,
                                     0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E,
                                     0xC6,  0xE6,  0xDF,  0xC9,  0xA4,  0xA1,  0xC4,  0xD6,  0xD1,
                                     0xDC,  0xA7,  0xBF,  0xE4,  0xF6,  0xF1,  0xFC,  0xE0};
    static const uint32_t ext[] = {0x0C, 0x5E, 0x7B, 0x7D, 0x5C, 0x5B, 0x7E, 0x5D, 0x7C, 0x20AC};

    /* Space to '?', letters and digits, minus the few ASCII characters GSM lacks. */
    if ((c >= 0x20 && c <= 0x3F) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return 1;
    for (size_t i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
        if (basic[i] == c)
            return 1;
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
        if (ext[i] == c)
            return 2;
    return 0;
}

struct sms_char {
    size_t off; /* byte offset in the text */
    size_t len; /* bytes */
    int cost;   /* septets (GSM) or UTF-16 units (UCS-2) */
    bool space; /* a word boundary */
};

/* Segments needed for characters of total cost with the per-character costs in c
 * (n of them), followed by tail_cost characters of cost 1 each. */
static int segments(const struct sms_char *c, size_t n, size_t tail_n, bool gsm)
{
    size_t single = gsm ? 160 : 70, per = gsm ? 153 : 67, total = tail_n, used = 0;
    int segs = 1;

    for (size_t i = 0; i < n; i++)
        total += (size_t)c[i].cost;
    if (total <= single)
        return 1;
    for (size_t i = 0; i < n + tail_n; i++) {
        size_t k = i < n ? (size_t)c[i].cost : 1;

        if (used + k > per) {
            segs++;
            used = 0;
        }
        used += k;
    }
    return segs;
}

/* Splits text into characters with their costs; *gsm says which alphabet it needs.
 * Returns the array (caller frees; *n entries) or NULL when memory runs out. */
static struct sms_char *analyze(const char *text, size_t *n, bool *gsm)
{
    size_t len = strlen(text);
    struct sms_char *c = calloc(len + 1, sizeof(*c));
    uint32_t *cps = calloc(len + 1, sizeof(*cps));

    *n = 0;
    *gsm = true;
    if (c == NULL || cps == NULL) {
        free(c);
        free(cps);
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0xFFFD;
        size_t k = utf8_decode(text + i, len - i, &cp);

        if (k == 0)
            k = 1;
        c[*n].off = i;
        c[*n].len = k;
        c[*n].space = cp == ' ' || cp == '\n' || cp == '\t';
        *gsm = *gsm && gsm_cost(cp) != 0;
        cps[(*n)++] = cp;
        i += k;
    }
    for (size_t i = 0; i < *n; i++)
        c[i].cost = *gsm ? gsm_cost(cps[i]) : (cps[i] > 0xFFFF ? 2 : 1);
    free(cps);
    return c;
}

/* text cut so that it plus suffix (ASCII) fits max_segments, then the suffix.
 * Returns a malloc'ed string, or NULL when memory runs out. */
TESTABLE char *sms_fit(const char *text, const char *suffix, int max_segments)
{
    size_t len = strlen(text), n, keep;
    bool gsm;
    struct sms_char *c = analyze(text, &n, &gsm);
    const char *ell;
    size_t ell_n, suf_n = strlen(suffix);
    struct buf out;
    char *res = NULL;

    if (c == NULL)
        return NULL;
    ell = gsm ? "..." : "\xE2\x80\xA6";
    ell_n = gsm ? 3 : 1;
    buf_init(&out, len + suf_n + 8);
    if (max_segments < 1)
        max_segments = 1;
    if (segments(c, n, suf_n, gsm) <= max_segments) {
        keep = n;
        ell = "";
    } else {
        /* The longest prefix that fits with the ellipsis and the suffix. */
        size_t lo = 0, hi = n;

        while (lo < hi) {
            size_t mid = (lo + hi + 1) / 2;

            if (segments(c, mid, ell_n + suf_n, gsm) <= max_segments)
                lo = mid;
            else
                hi = mid - 1;
        }
        keep = lo;
        /* Prefer a word boundary in the last third of what fits. */
        for (size_t i = keep; i > 0 && i > keep - keep / 3; i--) {
            if (c[i].space) {
                keep = i;
                break;
            }
        }
        while (keep > 0 && c[keep - 1].space)
            keep--;
    }
    if (buf_append(&out, text, keep < n ? c[keep].off : len) < 0 || buf_appends(&out, ell) < 0 ||
        buf_appends(&out, suffix) < 0)
        goto out;
    res = buf_detach(&out);
out:
    buf_release(&out);
    free(c);
    return res;
}

int sms_segments(const char *text)
{
    size_t n;
    bool gsm;
    struct sms_char *c = analyze(text, &n, &gsm);
    int segs;

    if (c == NULL)
        return -1;
    segs = segments(c, n, 0, gsm);
    free(c);
    return segs;
}

/* (Re)builds r's form body from its SMS fields: To, From and the text cut to
 * max_segments with " (+N more)" when messages were merged into it. */
static int sms_body(struct notify_request *r)
{
    char suffix[48] = "";
    char *fit;
    int rc = -1;

    if (r->merged > 0)
        snprintf(suffix, sizeof(suffix), " (+%zu more)", r->merged);
    fit = sms_fit(r->sms_text, suffix, r->max_segments);
    if (fit == NULL)
        return -1;
    buf_reset(&r->body);
    if (buf_appends(&r->body, "To=") < 0 || notify_form_escape(&r->body, r->sms_to) < 0 ||
        buf_appends(&r->body, "&From=") < 0 || notify_form_escape(&r->body, r->sms_from) < 0 ||
        buf_appends(&r->body, "&Body=") < 0 || notify_form_escape(&r->body, fit) < 0)
        goto out;
    rc = 0;
out:
    free(fit);
    return rc;
}

int sms_build(const struct notifier_config *nc, const json_t *ctx, const struct notify_opts *o,
              struct notify_requests *out, struct error *err)
{
    const json_t *inc = notify_ctx_incident(ctx);
    char *text = NULL;
    char what[128];
    struct buf url;
    size_t n0 = out->n;
    int rc = -1;

    buf_init(&url, 8192);
    if (nc->account_sid == NULL || nc->auth_token.value == NULL || nc->sms_from == NULL) {
        error_set(err, "%s:%d: sms_configs: account_sid, auth_token and from are required",
                  cfg_file(nc), nc->line);
        goto out;
    }
    if ((!notify_ctx_firing(ctx) || (inc != NULL && notify_ctx_bool(inc, "acked"))) &&
        !nc->notify_acks) {
        rc = 0; /* nothing to say: acks and resolutions go out only with notify_acks */
        goto out;
    }
    snprintf(what, sizeof(what), "%s:%d: sms_configs.text", cfg_file(nc), nc->line);
    if (notify_render_field(&nc->sms_text, "sms_text", default_template_escape("sms_text"), ctx,
                            what, &text, err) < 0)
        goto out;
    notify_trim(text);
    {
        const char *base =
            nc->twilio_api_url != NULL ? nc->twilio_api_url : "https://api.twilio.com";
        size_t bl = strlen(base);

        while (bl > 0 && base[bl - 1] == '/')
            bl--;
        if (buf_append(&url, base, bl) < 0 || buf_appends(&url, "/2010-04-01/Accounts/") < 0 ||
            notify_form_escape(&url, nc->account_sid) < 0 ||
            buf_appends(&url, "/Messages.json") < 0)
            goto oom;
    }
    for (size_t i = 0; i < nc->n_sms_to; i++) {
        struct notify_request *r = notify_requests_add(out);
        struct buf dest;

        if (r == NULL)
            goto oom;
        r->proto = NOTIFY_PROTO_HTTP;
        r->method = strdup("POST");
        r->url = strdup(buf_str(&url));
        r->redacted_url = strdup(buf_str(&url)); /* the SID is an id, not a secret */
        r->username = strdup(nc->account_sid);
        r->password = strdup(nc->auth_token.value);
        r->ok_status = 201;
        r->http = &nc->http;
        r->sms_text = strdup(text);
        r->sms_to = strdup(nc->sms_to[i]);
        r->sms_from = strdup(nc->sms_from);
        r->max_segments = nc->max_segments;
        r->merged = o->merged;
        buf_init(&dest, 256);
        if (buf_printf(&dest, "sms:%s", nc->sms_to[i]) < 0) {
            buf_release(&dest);
            goto oom;
        }
        r->dest = buf_detach(&dest);
        if (r->method == NULL || r->url == NULL || r->redacted_url == NULL || r->username == NULL ||
            r->password == NULL || r->dest == NULL || r->sms_text == NULL || r->sms_to == NULL ||
            r->sms_from == NULL ||
            notify_request_add_header(r, "Content-Type", "application/x-www-form-urlencoded") < 0 ||
            sms_body(r) < 0)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    error_set(err, "%s:%d: sms_configs: out of memory or message too large", cfg_file(nc),
              nc->line);
out:
    if (rc < 0)
        notify_requests_truncate(out, n0);
    buf_release(&url);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ the SMS throttle */

static pthread_mutex_t throttle_mu = PTHREAD_MUTEX_INITIALIZER;
static struct throttle *throttle;

/* Under throttle_mu. The process's SMS throttle, made on first use. */
static struct throttle *sms_throttle(void)
{
    struct throttle_limit lim[8];
    size_t n = 0;
    struct error err;
    const char *env;

    if (throttle != NULL)
        return throttle;
    env = getenv("AMR_SMS_THROTTLE");
    if (env != NULL && env[0] != '\0' &&
        throttle_parse_limits(env, lim, sizeof(lim) / sizeof(lim[0]), &n, &err) < 0) {
        log_warn("AMR_SMS_THROTTLE ignored, using the defaults", "err", err.msg, NULL);
        n = 0;
    }
    throttle = throttle_new(n > 0 ? lim : NULL, n);
    return throttle;
}

int sms_throttle_gate(struct notify_request *r, int64_t now, int64_t *until)
{
    struct throttle_batch b;
    struct throttle *t;
    int rc = -1;

    pthread_mutex_lock(&throttle_mu);
    t = sms_throttle();
    if (t == NULL)
        goto out;
    if (r->absorbed) {
        rc = 1;
        goto out;
    }
    if (!r->queued) {
        if (throttle_push(t, r->dest, (int64_t)(intptr_t)r, now) < 0)
            goto out;
        r->queued = true;
    }
    switch (throttle_pop_dest(t, r->dest, now, &b)) {
    case 1:
        /* Everything queued for this number goes out as this one message. */
        for (size_t i = 0; i < b.n; i++) {
            struct notify_request *o = (struct notify_request *)(intptr_t)b.ids[i];

            o->queued = false;
            if (o == r)
                continue;
            o->absorbed = true;
            r->merged += 1 + o->merged;
        }
        throttle_batch_release(&b);
        rc = sms_body(r) < 0 ? -1 : 0;
        break;
    case 0:
        *until = throttle_next_dest(t, r->dest, now);
        rc = 2;
        break;
    default:
        break;
    }
out:
    pthread_mutex_unlock(&throttle_mu);
    return rc;
}

void sms_throttle_forget(struct notify_request *r)
{
    pthread_mutex_lock(&throttle_mu);
    if (throttle != NULL && r->queued && r->dest != NULL)
        throttle_remove(throttle, r->dest, (int64_t)(intptr_t)r);
    r->queued = false;
    pthread_mutex_unlock(&throttle_mu);
}

static int sms_notify(const struct notifier_env *env, const struct receiver *rcv,
                      const struct notifier_config *nc, const struct notify_job *job,
                      struct notifier_request *out, struct error *err)
{
    return notify_ops_build(sms_build, env, rcv, nc, job, out, err);
}

const struct notifier_ops sms_notifier = {
    "sms",
    NOTIFIER_SMS,
    sms_notify,
};
