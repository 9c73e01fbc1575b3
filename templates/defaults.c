/*
 * defaults.c - lookup and lazy compilation of the embedded default templates.
 *
 * The sources come from the generated default_templates[] table (see
 * scripts/embed-templates.sh). Compiled forms are made all at once under
 * `lock` on first use and kept in `compiled`, parallel to the table; after
 * that they are only read, so renders from many threads need no lock beyond
 * the one pointer read under it.
 */
#include "templates/defaults.h"

#include "core/buf.h"
#include "core/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mustache **compiled; /* default_templates_count entries once built */

static const struct {
    const char *name;
    enum mustache_escape esc;
} escapes[] = {
    {"slack_title", MUSTACHE_ESCAPE_SLACK},      {"slack_text", MUSTACHE_ESCAPE_SLACK},
    {"email_subject", MUSTACHE_ESCAPE_NONE},     {"email_html", MUSTACHE_ESCAPE_HTML},
    {"email_text", MUSTACHE_ESCAPE_NONE},        {"sms_text", MUSTACHE_ESCAPE_NONE},
    {"pagerduty_summary", MUSTACHE_ESCAPE_NONE}, {"ack_page", MUSTACHE_ESCAPE_HTML},
};

static long find(const char *name)
{
    for (unsigned i = 0; i < default_templates_count; i++)
        if (strcmp(default_templates[i].name, name) == 0)
            return (long)i;
    return -1;
}

const char *default_template_source(const char *name)
{
    long i = find(name);

    return i < 0 ? NULL : default_templates[i].text;
}

enum mustache_escape default_template_escape(const char *name)
{
    for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++)
        if (strcmp(escapes[i].name, name) == 0)
            return escapes[i].esc;
    return MUSTACHE_ESCAPE_HTML;
}

static int load_default(void *data, const char *name, char **source, char **origin,
                        struct error *err)
{
    const char *s = default_template_source(name);

    (void)data;
    (void)origin;
    if (strcmp(name, MUSTACHE_LIST_PARTIALS) == 0) {
        struct buf b;

        buf_init(&b, 1 << 20);
        for (unsigned i = 0; i < default_templates_count; i++)
            if (buf_printf(&b, "%s\n", default_templates[i].name) < 0) {
                buf_release(&b);
                return error_set(err, "out of memory");
            }
        *source = buf_detach(&b);
        return *source ? 0 : error_set(err, "out of memory");
    }
    if (s == NULL)
        return 1;
    *source = strdup(s);
    if (*source == NULL)
        return error_set(err, "out of memory");
    return 0;
}

struct mustache_loader default_templates_loader(void)
{
    struct mustache_loader l = {load_default, NULL};

    return l;
}

/* Compiles all defaults into a new array. Caller holds `lock`. */
static struct mustache **compile_all(struct error *err)
{
    struct mustache **all = calloc(default_templates_count + 1, sizeof(*all));
    struct mustache_loader l = default_templates_loader();
    struct mustache_options opts = {&l, 0, 0, 0};

    if (all == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    for (unsigned i = 0; i < default_templates_count; i++) {
        char name[128];

        snprintf(name, sizeof(name), "%s.mustache", default_templates[i].name);
        all[i] = mustache_compile(default_templates[i].text, name, &opts, err);
        if (all[i] == NULL) {
            for (unsigned k = 0; k < i; k++)
                mustache_free(all[k]);
            free(all);
            return NULL;
        }
    }
    return all;
}

int default_templates_check(struct error *err)
{
    struct mustache **all;

    pthread_mutex_lock(&lock);
    all = compile_all(err);
    pthread_mutex_unlock(&lock);
    if (all == NULL)
        return -1;
    for (unsigned i = 0; i < default_templates_count; i++)
        mustache_free(all[i]);
    free(all);
    return 0;
}

const struct mustache *default_template(const char *name)
{
    long i = find(name);
    const struct mustache *m;

    if (i < 0)
        return NULL;
    pthread_mutex_lock(&lock);
    if (compiled == NULL) {
        struct error err;

        compiled = compile_all(&err);
        if (compiled == NULL) {
            pthread_mutex_unlock(&lock);
            bug_at(__FILE__, __LINE__, err.msg);
        }
    }
    m = compiled[i];
    pthread_mutex_unlock(&lock);
    return m;
}

void default_templates_release(void)
{
    pthread_mutex_lock(&lock);
    if (compiled != NULL) {
        for (unsigned i = 0; i < default_templates_count; i++)
            mustache_free(compiled[i]);
        free(compiled);
        compiled = NULL;
    }
    pthread_mutex_unlock(&lock);
}
