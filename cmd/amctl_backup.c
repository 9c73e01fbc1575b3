/*
 * amctl_backup.c - `amctl backup FILE [--force]`: a consistent copy of the
 * server's SQLite database, taken online.
 *
 * POST /api/v2/admin/backup (admin scope) answers the database file made with
 * SQLite's online backup API (Content-Type application/vnd.sqlite3). The
 * answer is streamed into FILE.partial next to FILE, checked to start with
 * SQLite's magic header, synced and then renamed over FILE, so FILE is either
 * a whole backup or untouched: a failed or interrupted backup never leaves a
 * truncated file under the name a restore would use. An existing FILE is kept
 * unless --force. The restore procedure is in docs/amctl.md.
 */
#include "cmd/amctl.h"

#include "cmd/amctl_http.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_PATH "/api/v2/admin/backup"

static void usage(FILE *f)
{
    fputs("usage: amctl backup FILE [--force]\n\n"
          "Writes a consistent copy of the server's SQLite database to FILE while the\n"
          "server runs (POST " BACKUP_PATH ", needs a token with the admin scope).\n"
          "FILE appears only once the whole backup is written and checked; an existing\n"
          "FILE is kept unless --force. Restore: stop amrouter, remove amrouter.db-wal\n"
          "and amrouter.db-shm from --storage.path, copy FILE to amrouter.db there,\n"
          "start amrouter.\n",
          f);
}

/* True when the file starts with SQLite's 16-byte header "SQLite format 3\0". */
static int check_sqlite(const char *path, struct error *err)
{
    static const char magic[16] = "SQLite format 3";
    char head[16];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL)
        return error_set(err, "%s: %s", path, strerror(errno));
    n = fread(head, 1, sizeof(head), f);
    fclose(f);
    if (n != sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0)
        return error_set(err, "the server's answer is not an SQLite database");
    return 0;
}

int amctl_backup(const struct amctl_global *g, int argc, char **argv)
{
    const char *file = NULL;
    bool force = false;
    struct buf partial;
    struct stat st;
    struct error err;
    uint64_t written = 0;
    long status = 0;
    FILE *out = NULL;
    int rc = AMCTL_USAGE;

    buf_init(&partial, 8192);
    for (int i = 1; i < argc; i++) {
        if (amctl_is_help(argv[i])) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        }
        if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0) {
            force = true;
            continue;
        }
        if (argv[i][0] == '-') {
            rc = amctl_fail(AMCTL_USAGE, "backup", "unknown flag %s", argv[i]);
            goto out;
        }
        if (file != NULL) {
            rc = amctl_fail(AMCTL_USAGE, "backup", "one FILE only");
            goto out;
        }
        file = argv[i];
    }
    if (file == NULL) {
        rc = amctl_fail(AMCTL_USAGE, "backup", "where to? give a FILE");
        goto out;
    }
    rc = AMCTL_REFUSED;
    if (!force && stat(file, &st) == 0) {
        amctl_fail(rc, "backup", "%s exists (--force replaces it)", file);
        goto out;
    }
    if (buf_printf(&partial, "%s.partial", file) < 0) {
        amctl_fail(rc, "backup", "file name too long");
        goto out;
    }
    out = fopen(buf_str(&partial), "wb");
    if (out == NULL) {
        amctl_fail(rc, "backup", "%s: %s", buf_str(&partial), strerror(errno));
        goto out;
    }
    if (amctl_http_download(g, "POST", BACKUP_PATH, out, &written, &status, &err) < 0) {
        amctl_fail(rc, "backup", "%s%s", err.msg,
                   status == 404 ? " (this server has no online backup endpoint)" : "");
        goto out;
    }
    if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
        amctl_fail(rc, "backup", "%s: %s", buf_str(&partial), strerror(errno));
        goto out;
    }
    if (fclose(out) != 0) {
        out = NULL;
        amctl_fail(rc, "backup", "%s: %s", buf_str(&partial), strerror(errno));
        goto out;
    }
    out = NULL;
    if (check_sqlite(buf_str(&partial), &err) < 0) {
        amctl_fail(rc, "backup", "%s", err.msg);
        goto out;
    }
    if (rename(buf_str(&partial), file) != 0) {
        amctl_fail(rc, "backup", "cannot rename %s to %s: %s", buf_str(&partial), file,
                   strerror(errno));
        goto out;
    }
    if (strcmp(g->output, "json") == 0) {
        json_t *o = json_pack("{s:s, s:I}", "file", file, "bytes", (json_int_t)written);

        amctl_print_json(o);
        json_decref(o);
    } else {
        printf("backup of %s written to %s (%llu bytes)\n", g->url, file,
               (unsigned long long)written);
    }
    rc = AMCTL_OK;
out:
    if (out != NULL)
        fclose(out);
    if (rc != AMCTL_OK && partial.len > 0)
        unlink(buf_str(&partial));
    buf_release(&partial);
    return rc;
}
