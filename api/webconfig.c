/*
 * webconfig.c - reads the web config file and the PEM files it names.
 *
 * Invariant: on failure *out holds nothing (everything read is freed).
 */
#include "api/webconfig.h"

#include "config/yaml.h"
#include "core/buf.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES ((size_t)1 << 20)

static char *read_file(const char *path, size_t *len, struct error *err)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        error_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf_init(&b, MAX_FILE_BYTES);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&b, chunk, n) < 0) {
            fclose(f);
            buf_release(&b);
            error_set(err, "%s: larger than 1 MiB", path);
            return NULL;
        }
    }
    fclose(f);
    if (len != NULL)
        *len = b.len;
    if (b.len == 0) {
        buf_release(&b);
        return strdup("");
    }
    return buf_detach(&b);
}

/* path relative to the directory of base (unless absolute). */
static void resolve(const char *base, const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(base, '/');

    if (path[0] == '/' || slash == NULL)
        snprintf(out, outsz, "%s", path);
    else
        snprintf(out, outsz, "%.*s/%s", (int)(slash - base), base, path);
}

static int read_pem(const char *file, const struct ynode *tls, const char *key, char **out,
                    struct error *err)
{
    const struct ypair *p = ynode_get(tls, key);
    char path[4096];

    if (p == NULL || p->value->kind != YNODE_SCALAR || ynode_is_null(p->value) ||
        p->value->value[0] == '\0')
        return error_set(err, "%s:%d: tls_server_config.%s: required", file, tls->line, key);
    resolve(file, p->value->value, path, sizeof(path));
    *out = read_file(path, NULL, err);
    if (*out == NULL)
        return error_prefix(err, "%s:%d: tls_server_config.%s", file, p->value->line, key);
    if (strstr(*out, "-----BEGIN ") == NULL)
        return error_set(err, "%s:%d: tls_server_config.%s: %s is not PEM", file, p->value->line,
                         key, path);
    return 0;
}

int web_config_load(const char *path, struct web_config *out, struct error *err)
{
    struct ynode *root = NULL;
    size_t len = 0;
    char *text = read_file(path, &len, err);
    const struct ypair *tp;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return error_prefix(err, "web config");
    if (yaml_parse(text, len, path, &root, err) < 0)
        goto out;
    if (root == NULL || ynode_is_null(root)) {
        rc = 0;
        goto out;
    }
    if (root->kind != YNODE_MAP) {
        error_set(err, "%s:%d: must be a mapping", path, root->line);
        goto out;
    }
    for (size_t i = 0; i < root->n_pairs; i++) {
        const char *k = root->pairs[i].key->value;

        if (strcmp(k, "tls_server_config") != 0) {
            error_set(err,
                      "%s:%d: %s: not supported by amrouter (only tls_server_config "
                      "cert_file/key_file)",
                      path, root->pairs[i].key->line, k);
            goto out;
        }
    }
    tp = ynode_get(root, "tls_server_config");
    if (tp == NULL || ynode_is_null(tp->value)) {
        rc = 0;
        goto out;
    }
    if (tp->value->kind != YNODE_MAP) {
        error_set(err, "%s:%d: tls_server_config: must be a mapping", path, tp->value->line);
        goto out;
    }
    for (size_t i = 0; i < tp->value->n_pairs; i++) {
        const char *k = tp->value->pairs[i].key->value;

        if (strcmp(k, "cert_file") != 0 && strcmp(k, "key_file") != 0) {
            error_set(err, "%s:%d: tls_server_config.%s: not supported by amrouter", path,
                      tp->value->pairs[i].key->line, k);
            goto out;
        }
    }
    if (read_pem(path, tp->value, "cert_file", &out->cert_pem, err) < 0 ||
        read_pem(path, tp->value, "key_file", &out->key_pem, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        web_config_release(out);
    ynode_free(root);
    free(text);
    return rc;
}

void web_config_release(struct web_config *wc)
{
    if (wc == NULL)
        return;
    free(wc->cert_pem);
    free(wc->key_pem);
    wc->cert_pem = NULL;
    wc->key_pem = NULL;
}
