/*
 * amctl_backup.c - `amctl backup FILE`: an online backup of the server's
 * database (POST /api/v2/admin/backup, admin scope) written to FILE.
 *
 * The body is written to FILE.part, checked (SQLite header and PRAGMA
 * integrity_check), and only then renamed to FILE, so FILE is either the old
 * file or a complete, valid copy. Restore: stop amrouter, replace
 * <storage.path>/amrouter.db with FILE (remove amrouter.db-wal and -shm),
 * start amrouter (docs/operations.md).
 */
#include "cmd/amctl.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/duration.h"
#include "core/error.h"

#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKUP_TIMEOUT_MS 300000

static void usage(FILE *f)
{
    fputs("usage: amctl backup FILE\n\n"
          "Makes a consistent copy of the server's SQLite database while it runs (SQLite's\n"
          "online backup API, POST /api/v2/admin/backup; needs the admin scope when tokens\n"
          "are configured) and writes it to FILE after checking it. To restore, stop\n"
          "amrouter, copy FILE to <storage.path>/amrouter.db (delete amrouter.db-wal and\n"
          "amrouter.db-shm), start amrouter.\n",
          f);
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    return fwrite(p, size, n, (FILE *)ud) * size;
}

/* 0 when path is an SQLite database that passes integrity_check. */
static int check_db(const char *path, struct error *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK) {
        error_set(err, "the copy is not an SQLite database: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_step(s) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
        error_set(err, "the copy fails its integrity check");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

int amctl_backup(const struct amctl_global *g, int argc, char **argv)
{
    const char *file = NULL;
    struct buf url, part, auth;
    struct curl_slist *hdr = NULL;
    struct error err = {{0}};
    char errbuf[CURL_ERROR_SIZE] = "";
    int64_t timeout_ms = BACKUP_TIMEOUT_MS;
    FILE *out = NULL;
    CURL *h = NULL;
    long code = 0;
    size_t n;
    int rc = AMCTL_REFUSED;

    buf_init(&url, 8192);
    buf_init(&part, 8192);
    buf_init(&auth, 8192);
    for (int i = 1; i < argc; i++) {
        if (amctl_is_help(argv[i])) {
            usage(stdout);
            rc = AMCTL_OK;
            goto done;
        }
        if (file != NULL) {
            rc = amctl_fail(AMCTL_USAGE, "backup", "unexpected argument %s", argv[i]);
            goto done;
        }
        file = argv[i];
    }
    if (file == NULL) {
        rc = amctl_fail(AMCTL_USAGE, "backup", "FILE is required");
        goto done;
    }
    if (g->timeout != NULL && g->timeout[0] != '\0' &&
        (duration_parse(g->timeout, &timeout_ms, &err) < 0 || timeout_ms <= 0)) {
        rc = amctl_fail(AMCTL_USAGE, "backup", "--timeout: want a duration such as 60s");
        goto done;
    }
    n = strlen(g->url);
    while (n > 0 && g->url[n - 1] == '/')
        n--;
    buf_append(&url, g->url, n);
    buf_appends(&url, "/api/v2/admin/backup");
    buf_printf(&part, "%s.part", file);
    out = fopen(buf_str(&part), "wb");
    if (out == NULL) {
        amctl_fail(AMCTL_REFUSED, "backup", "cannot write %s", buf_str(&part));
        goto done;
    }
    h = curl_easy_init();
    if (h == NULL)
        goto done;
    if (g->token != NULL && g->token[0] != '\0') {
        buf_printf(&auth, "Authorization: Bearer %s", g->token);
        hdr = curl_slist_append(hdr, buf_str(&auth));
    }
    curl_easy_setopt(h, CURLOPT_URL, buf_str(&url));
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "amctl/" AMR_VERSION);
    if (g->ca_file != NULL && g->ca_file[0] != '\0')
        curl_easy_setopt(h, CURLOPT_CAINFO, g->ca_file);
    if (curl_easy_perform(h) != CURLE_OK) {
        amctl_fail(AMCTL_REFUSED, "backup", "cannot reach %s: %s", g->url, errbuf);
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (fclose(out) != 0) {
        out = NULL;
        amctl_fail(AMCTL_REFUSED, "backup", "writing %s failed", buf_str(&part));
        goto done;
    }
    out = NULL;
    if (code != 200) {
        amctl_fail(AMCTL_REFUSED, "backup", "server refused the backup (%ld)%s", code,
                   code == 401 || code == 403 ? " (check --token or AMCTL_TOKEN)" : "");
        goto done;
    }
    if (check_db(buf_str(&part), &err) < 0) {
        amctl_fail(AMCTL_REFUSED, "backup", "%s", err.msg);
        goto done;
    }
    if (rename(buf_str(&part), file) != 0) {
        amctl_fail(AMCTL_REFUSED, "backup", "cannot rename %s to %s", buf_str(&part), file);
        goto done;
    }
    printf("backup written to %s\n", file);
    rc = AMCTL_OK;
done:
    if (out != NULL)
        fclose(out);
    if (rc != AMCTL_OK && part.len > 0)
        unlink(buf_str(&part));
    curl_slist_free_all(hdr);
    if (h != NULL)
        curl_easy_cleanup(h);
    buf_release(&url);
    buf_release(&part);
    buf_release(&auth);
    return rc;
}
