/*
 * webconfig.h - Alertmanager's --web.config.file (exporter-toolkit format),
 * the TLS part: tls_server_config.cert_file and key_file.
 *
 * Paths are relative to the web config file's directory, as in the exporter
 * toolkit. Keys amrouter does not implement (client_auth_type, client_ca_file,
 * cipher_suites, min_version, basic_auth_users, http_server_config) are
 * refused with file:line rather than silently ignored, because ignoring a
 * security setting would weaken it; `headers` is refused likewise.
 *
 * Ownership: struct web_config owns the PEM texts; web_config_free accepts NULL.
 */
#ifndef AMR_API_WEBCONFIG_H
#define AMR_API_WEBCONFIG_H

struct error;

struct web_config {
    char *cert_pem; /* NULL when tls_server_config is absent */
    char *key_pem;
};

/* Loads and validates path. 0, or -1 with err naming path[:line] and the key. */
int web_config_load(const char *path, struct web_config *out, struct error *err);
void web_config_release(struct web_config *wc);

#endif
