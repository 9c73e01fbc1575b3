/*
 * amctl_silence.c - `amctl silence add | ls | expire | import`.
 *
 *   add MATCHERS (--duration D | --end TIME) --comment C [--author A] [--start TIME]
 *       POST /api/v2/silences; prints the new silence's id alone on a line, so
 *       `id=$(amctl silence add ...)` works in scripts.
 *   ls [MATCHERS] [--expired | --all] [-q]
 *       GET /api/v2/silences (filter= per matcher); active and pending ones by
 *       default, like amtool silence query.
 *   expire ID...
 *       DELETE /api/v2/silence/ID for each id; the others are still tried when
 *       one fails.
 *   import FILE|-
 *       reads what `amtool silence query -o json` prints (a list of API v2
 *       silences) and creates each one that has not ended, with its matchers,
 *       end, author and comment, under a new id. The whole file is checked
 *       before anything is sent, so a malformed file imports nothing and the
 *       error names the entry and field ([3].matchers[0].name).
 */
#include "cmd/amctl.h"

#include "cmd/amctl_http.h"
#include "cmd/amctl_table.h"
#include "cmd/amctl_util.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/jsonutil.h"
#include "core/labels.h"
#include "core/matcher.h"
#include "core/timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_MAX (64u << 20)

static void usage(FILE *f)
{
    fputs("usage: amctl silence add MATCHERS... (--duration D | --end TIME) --comment TEXT\n"
          "                         [--author NAME] [--start TIME]\n"
          "       amctl silence ls [MATCHERS...] [--expired | --all] [-q]\n"
          "       amctl silence expire ID...\n"
          "       amctl silence import FILE|-\n\n"
          "add      creates a silence and prints its id. --duration (e.g. 2h, default 1h)\n"
          "         or --end (RFC 3339) say when it ends; --author defaults to $USER@host.\n"
          "ls       lists active and pending silences (--expired: expired ones only,\n"
          "         --all: every one; -q: ids only). MATCHERS keep silences whose\n"
          "         own matchers fit them (as amtool silence query filters).\n"
          "expire   ends silences now.\n"
          "import   recreates the silences that have not ended from the output of\n"
          "         `amtool silence query -o json` (FILE, or - for stdin); prints\n"
          "         OLD_ID -> NEW_ID per silence.\n\n"
          "MATCHERS: name=value, name!=value, name=~regex, name!~regex; a bare word\n"
          "means alertname=WORD. -o json prints the server's JSON.\n",
          f);
}

/* ------------------------------------------------------------------ add */

static int cmd_add(const struct amctl_global *g, int argc, char **argv)
{
    struct matchers ms = MATCHERS_INIT;
    const char *dur_s = NULL, *end_s = NULL, *start_s = NULL, *comment = NULL, *author = NULL;
    int64_t now = clock_now_ms(), starts = now, ends, d = 0;
    char user[320];
    json_t *body = NULL, *reply = NULL;
    struct error err;
    int nargs = 0;
    int rc = AMCTL_USAGE;
    bool all_empty = true;

    for (int i = 1; i < argc; i++) {
        int t = amctl_take("silence add", "--duration", argc, argv, &i, &dur_s);

        if (t == 0 && amctl_is_help(argv[i])) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        }
        if (t == 0)
            t = amctl_take("silence add", "--end", argc, argv, &i, &end_s);
        if (t == 0)
            t = amctl_take("silence add", "--start", argc, argv, &i, &start_s);
        if (t == 0)
            t = amctl_take("silence add", "--comment", argc, argv, &i, &comment);
        if (t == 0)
            t = amctl_take("silence add", "-c", argc, argv, &i, &comment);
        if (t == 0)
            t = amctl_take("silence add", "--author", argc, argv, &i, &author);
        if (t == 0)
            t = amctl_take("silence add", "-a", argc, argv, &i, &author);
        if (t < 0)
            goto out;
        if (t == 1)
            continue;
        if (argv[i][0] == '-') {
            rc = amctl_fail(AMCTL_USAGE, "silence add", "unknown flag %s", argv[i]);
            goto out;
        }
        argv[++nargs] = argv[i];
    }
    if (amctl_matchers_parse(nargs, argv + 1, &ms, &err) < 0) {
        rc = amctl_fail(AMCTL_USAGE, "silence add", "%s", err.msg);
        goto out;
    }
    if (ms.n == 0) {
        rc = amctl_fail(AMCTL_USAGE, "silence add", "at least one matcher is required");
        goto out;
    }
    for (size_t k = 0; k < ms.n; k++)
        all_empty = all_empty && matcher_matches_empty(&ms.v[k]);
    if (all_empty) {
        rc = amctl_fail(AMCTL_USAGE, "silence add",
                        "at least one matcher must not match the empty string");
        goto out;
    }
    if (comment == NULL || comment[0] == '\0') {
        rc = amctl_fail(AMCTL_USAGE, "silence add", "--comment is required: say why");
        goto out;
    }
    if (dur_s != NULL && end_s != NULL) {
        rc = amctl_fail(AMCTL_USAGE, "silence add", "--duration and --end exclude each other");
        goto out;
    }
    if (start_s != NULL && time_parse_rfc3339(start_s, &starts) < 0) {
        rc = amctl_fail(AMCTL_USAGE, "silence add", "--start %s: not an RFC 3339 time", start_s);
        goto out;
    }
    if (end_s != NULL) {
        if (time_parse_rfc3339(end_s, &ends) < 0) {
            rc = amctl_fail(AMCTL_USAGE, "silence add",
                            "--end %s: not an RFC 3339 time such as 2026-01-02T15:04:05Z", end_s);
            goto out;
        }
    } else {
        if (duration_parse(dur_s != NULL ? dur_s : "1h", &d, &err) < 0) {
            rc = amctl_fail(AMCTL_USAGE, "silence add", "--duration: %s", err.msg);
            goto out;
        }
        if (d <= 0) {
            rc = amctl_fail(AMCTL_USAGE, "silence add", "--duration must be more than 0");
            goto out;
        }
        ends = starts + d;
    }
    if (author == NULL || author[0] == '\0')
        author = amctl_default_user(user, sizeof(user));

    body = json_pack("{s:o, s:o, s:o, s:s, s:s}", "matchers", amctl_matchers_json(&ms), "startsAt",
                     time_to_json(starts), "endsAt", time_to_json(ends), "createdBy", author,
                     "comment", comment);
    if (body == NULL) {
        rc = amctl_fail(AMCTL_REFUSED, "silence add", "out of memory");
        goto out;
    }
    if (amctl_http(g, "POST", "/api/v2/silences", body, &reply, NULL, &err) < 0) {
        rc = amctl_fail(AMCTL_REFUSED, "silence add", "%s", err.msg);
        goto out;
    }
    if (strcmp(g->output, "json") == 0) {
        rc = amctl_print_json(reply) == 0 ? AMCTL_OK : AMCTL_REFUSED;
    } else if (amctl_jstr(reply, "silenceID")[0] == '\0') {
        rc = amctl_fail(AMCTL_REFUSED, "silence add", "the server's answer has no silenceID");
    } else {
        printf("%s\n", amctl_jstr(reply, "silenceID"));
        rc = AMCTL_OK;
    }
out:
    json_decref(body);
    json_decref(reply);
    matchers_release(&ms);
    return rc;
}

/* ------------------------------------------------------------------ ls */

/* Matchers of a silence as `a="b", c=~"d"`. */
static void matchers_text(const json_t *matchers, struct buf *out)
{
    size_t i;
    json_t *m;

    json_array_foreach(matchers, i, m)
    {
        const char *value = amctl_jstr(m, "value");
        const json_t *eq = json_object_get(m, "isEqual");
        bool is_eq = eq == NULL || json_is_true(eq);
        bool is_re = json_is_true(json_object_get(m, "isRegex"));
        const char *op = is_eq ? (is_re ? "=~" : "=") : (is_re ? "!~" : "!=");

        buf_printf(out, "%s%s%s", i > 0 ? ", " : "", amctl_jstr(m, "name"), op);
        quote_go(out, value, strlen(value));
    }
}

static const char *silence_state(const json_t *s)
{
    return amctl_jstr(json_object_get(s, "status"), "state");
}

static int print_silences(const json_t *list)
{
    static const char *const hdr[] = {"ID",   "MATCHERS",   "STATE",  "STARTS",
                                      "ENDS", "CREATED BY", "COMMENT"};
    struct amctl_table *t = amctl_table_new(7, hdr);
    struct buf m;
    size_t i;
    json_t *s;
    int rc = -1;

    buf_init(&m, 1u << 20);
    if (t == NULL)
        goto out;
    json_array_foreach(list, i, s)
    {
        char starts[64], ends[64];
        const char *cells[7];

        buf_reset(&m);
        matchers_text(json_object_get(s, "matchers"), &m);
        cells[0] = amctl_jstr(s, "id");
        cells[1] = buf_str(&m);
        cells[2] = silence_state(s);
        cells[3] = amctl_time_text(amctl_jstr(s, "startsAt"), starts, sizeof(starts));
        cells[4] = amctl_time_text(amctl_jstr(s, "endsAt"), ends, sizeof(ends));
        cells[5] = amctl_jstr(s, "createdBy");
        cells[6] = amctl_jstr(s, "comment");
        if (amctl_table_add(t, cells) < 0)
            goto out;
    }
    amctl_table_print(t, stdout);
    rc = 0;
out:
    amctl_table_free(t);
    buf_release(&m);
    return rc;
}

static int cmd_ls(const struct amctl_global *g, int argc, char **argv)
{
    struct matchers ms = MATCHERS_INIT;
    bool expired = false, all = false, quiet = false;
    struct buf path;
    json_t *reply = NULL, *kept = NULL;
    struct error err;
    int nargs = 0;
    int rc = AMCTL_USAGE;
    size_t i;
    json_t *s;

    buf_init(&path, 1u << 20);
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];

        if (amctl_is_help(a)) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        } else if (strcmp(a, "--expired") == 0) {
            expired = true;
        } else if (strcmp(a, "--all") == 0 || strcmp(a, "-a") == 0) {
            all = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (a[0] == '-') {
            rc = amctl_fail(AMCTL_USAGE, "silence ls", "unknown flag %s", a);
            goto out;
        } else {
            argv[++nargs] = argv[k];
        }
    }
    if (amctl_matchers_parse(nargs, argv + 1, &ms, &err) < 0) {
        rc = amctl_fail(AMCTL_USAGE, "silence ls", "%s", err.msg);
        goto out;
    }
    buf_appends(&path, "/api/v2/silences");
    rc = amctl_get_list(g, "silence ls", &path, &ms, NULL, "silences", &reply);
    if (rc != AMCTL_OK)
        goto out;
    kept = json_array();
    json_array_foreach(reply, i, s)
    {
        bool is_expired = strcmp(silence_state(s), "expired") == 0;

        if (all || is_expired == expired)
            json_array_append(kept, s);
    }
    if (quiet) {
        json_array_foreach(kept, i, s) printf("%s\n", amctl_jstr(s, "id"));
        rc = AMCTL_OK;
    } else {
        rc = amctl_print_list(g, kept, print_silences);
    }
out:
    json_decref(reply);
    json_decref(kept);
    matchers_release(&ms);
    buf_release(&path);
    return rc;
}

/* ------------------------------------------------------------------ expire */

static int cmd_expire(const struct amctl_global *g, int argc, char **argv)
{
    struct buf path;
    struct error err;
    int rc = AMCTL_OK;
    int n = 0;

    for (int i = 1; i < argc; i++) {
        if (amctl_is_help(argv[i])) {
            usage(stdout);
            return AMCTL_OK;
        }
        if (argv[i][0] == '-')
            return amctl_fail(AMCTL_USAGE, "silence expire", "unknown flag %s", argv[i]);
    }
    buf_init(&path, 8192);
    for (int i = 1; i < argc; i++) {
        n++;
        buf_reset(&path);
        if (buf_appends(&path, "/api/v2/silence/") < 0 || amctl_url_escape(&path, argv[i]) < 0) {
            rc = amctl_fail(AMCTL_USAGE, "silence expire", "id too long");
            continue;
        }
        if (amctl_http(g, "DELETE", buf_str(&path), NULL, NULL, NULL, &err) < 0) {
            amctl_fail(AMCTL_REFUSED, "silence expire", "%s", err.msg);
            rc = AMCTL_REFUSED;
            continue;
        }
        if (strcmp(g->output, "json") != 0)
            printf("expired %s\n", argv[i]);
    }
    buf_release(&path);
    if (n == 0)
        return amctl_fail(AMCTL_USAGE, "silence expire", "which silence? give its ID");
    return rc;
}

/* ------------------------------------------------------------------ import */

static int read_input(const char *file, struct buf *out, struct error *err)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    char chunk[65536];
    size_t n;
    int rc = -1;

    if (f == NULL)
        return error_set(err, "%s: %s", file, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(out, chunk, n) < 0) {
            error_set(err, "%s: larger than %u bytes", file, IMPORT_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        error_set(err, "%s: %s", file, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f != stdin)
        fclose(f);
    return rc;
}

/* Checks one of amtool's silences and builds the body that recreates it, or
 * sets *body = NULL when it has ended (skipped). Errors name [i].field. */
static int import_entry(const json_t *s, size_t i, int64_t now, json_t **body, struct error *err)
{
    const json_t *matchers = json_object_get(s, "matchers");
    const char *created_by = NULL, *comment = NULL, *id = NULL;
    int64_t starts, ends;
    json_t *ms = NULL;
    char path[64];
    size_t k;
    json_t *m;

    *body = NULL;
    if (!json_is_object(s))
        return error_set(err, "[%zu]: must be an object (a silence)", i);
    snprintf(path, sizeof(path), "[%zu].id", i);
    if (string_from_json(json_object_get(s, "id"), path, &id, err) < 0)
        return -1;
    if (!json_is_array(matchers) || json_array_size(matchers) == 0)
        return error_set(err, "[%zu].matchers: must be a non-empty list", i);
    json_array_foreach(matchers, k, m)
    {
        const json_t *eq = json_object_get(m, "isEqual");
        const json_t *re = json_object_get(m, "isRegex");
        struct matcher tmp;
        bool is_eq = eq == NULL || json_is_true(eq);
        bool is_re = json_is_true(re);

        if (!json_is_object(m) || !json_is_string(json_object_get(m, "name")) ||
            !json_is_string(json_object_get(m, "value")))
            return error_set(err, "[%zu].matchers[%zu]: must be an object with name and value", i,
                             k);
        if ((eq != NULL && !json_is_boolean(eq)) || (re != NULL && !json_is_boolean(re)))
            return error_set(err, "[%zu].matchers[%zu]: isEqual and isRegex must be booleans", i,
                             k);
        if (matcher_init(&tmp,
                         is_re ? (is_eq ? MATCH_RE : MATCH_NRE) : (is_eq ? MATCH_EQ : MATCH_NE),
                         json_string_value(json_object_get(m, "name")),
                         json_string_value(json_object_get(m, "value")), err) < 0)
            return error_prefix(err, "[%zu].matchers[%zu]", i, k);
        matcher_release(&tmp);
    }
    snprintf(path, sizeof(path), "[%zu].startsAt", i);
    if (time_from_json(json_object_get(s, "startsAt"), path, &starts, err) < 0)
        return -1;
    snprintf(path, sizeof(path), "[%zu].endsAt", i);
    if (time_from_json(json_object_get(s, "endsAt"), path, &ends, err) < 0)
        return -1;
    if (ends == TIME_UNSET)
        return error_set(err, "[%zu].endsAt: missing", i);
    snprintf(path, sizeof(path), "[%zu].createdBy", i);
    if (string_from_json(json_object_get(s, "createdBy"), path, &created_by, err) < 0)
        return -1;
    snprintf(path, sizeof(path), "[%zu].comment", i);
    if (string_from_json(json_object_get(s, "comment"), path, &comment, err) < 0)
        return -1;
    if (ends <= now || strcmp(silence_state(s), "expired") == 0)
        return 0; /* ended: nothing to recreate */
    ms = json_deep_copy(matchers);
    *body =
        json_pack("{s:o, s:o, s:o, s:s, s:s}", "matchers", ms, "startsAt",
                  time_to_json(starts < now ? now : starts), "endsAt", time_to_json(ends),
                  "createdBy", created_by != NULL ? created_by : "amctl silence import", "comment",
                  comment != NULL && comment[0] != '\0' ? comment : "imported by amctl");
    if (*body == NULL)
        return error_set(err, "out of memory");
    return 0;
}

static int cmd_import(const struct amctl_global *g, int argc, char **argv)
{
    const char *file = NULL;
    struct buf text;
    json_t *doc = NULL, **bodies = NULL, *done = NULL;
    json_error_t jerr;
    struct error err;
    int64_t now = clock_now_ms();
    size_t n = 0, created = 0, skipped = 0, failed = 0;
    int rc = AMCTL_USAGE;

    buf_init(&text, IMPORT_MAX);
    for (int i = 1; i < argc; i++) {
        if (amctl_is_help(argv[i])) {
            usage(stdout);
            rc = AMCTL_OK;
            goto out;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = amctl_fail(AMCTL_USAGE, "silence import", "unknown flag %s", argv[i]);
            goto out;
        }
        if (file != NULL) {
            rc = amctl_fail(AMCTL_USAGE, "silence import", "one FILE only");
            goto out;
        }
        file = argv[i];
    }
    if (file == NULL) {
        rc = amctl_fail(AMCTL_USAGE, "silence import",
                        "which file? give the output of `amtool silence query -o json` (or -)");
        goto out;
    }
    rc = AMCTL_REFUSED;
    if (read_input(file, &text, &err) < 0) {
        amctl_fail(rc, "silence import", "%s", err.msg);
        goto out;
    }
    doc = json_loadb(buf_str(&text), text.len, 0, &jerr);
    if (doc == NULL) {
        amctl_fail(rc, "silence import", "%s:%d:%d: not JSON: %s", file, jerr.line, jerr.column,
                   jerr.text);
        goto out;
    }
    if (!json_is_array(doc)) {
        amctl_fail(rc, "silence import",
                   "%s: must be a JSON list of silences (amtool silence query -o json)", file);
        goto out;
    }
    n = json_array_size(doc);
    bodies = calloc(n + 1, sizeof(*bodies));
    done = json_array();
    if (bodies == NULL || done == NULL) {
        amctl_fail(rc, "silence import", "out of memory");
        goto out;
    }
    /* Check everything first: a bad file imports nothing. */
    for (size_t i = 0; i < n; i++) {
        if (import_entry(json_array_get(doc, i), i, now, &bodies[i], &err) < 0) {
            amctl_fail(rc, "silence import", "%s: %s", file, err.msg);
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *old = amctl_jstr(json_array_get(doc, i), "id");
        json_t *reply = NULL;

        if (bodies[i] == NULL) {
            skipped++;
            continue;
        }
        if (amctl_http(g, "POST", "/api/v2/silences", bodies[i], &reply, NULL, &err) < 0) {
            amctl_fail(AMCTL_REFUSED, "silence import", "%s [%zu] (id %s): %s", file, i, old,
                       err.msg);
            failed++;
            continue;
        }
        created++;
        json_array_append_new(done, json_pack("{s:s, s:s}", "oldID", old, "silenceID",
                                              amctl_jstr(reply, "silenceID")));
        if (strcmp(g->output, "json") != 0)
            printf("%s -> %s\n", old[0] != '\0' ? old : "(no id)", amctl_jstr(reply, "silenceID"));
        json_decref(reply);
    }
    if (strcmp(g->output, "json") == 0)
        amctl_print_json(done);
    else
        printf("imported %zu silence%s, skipped %zu that had ended%s\n", created,
               created == 1 ? "" : "s", skipped, failed > 0 ? ", some failed (see above)" : "");
    if (failed > 0)
        fprintf(stderr, "amctl silence import: %zu of %zu silences failed\n", failed,
                created + failed);
    rc = failed > 0 ? AMCTL_REFUSED : AMCTL_OK;
out:
    if (bodies != NULL) {
        for (size_t i = 0; i < n; i++)
            json_decref(bodies[i]);
    }
    free(bodies);
    json_decref(done);
    json_decref(doc);
    buf_release(&text);
    return rc;
}

int amctl_silence(const struct amctl_global *g, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (sub == NULL) {
        usage(stderr);
        return AMCTL_USAGE;
    }
    if (amctl_is_help(sub)) {
        usage(stdout);
        return AMCTL_OK;
    }
    if (strcmp(sub, "add") == 0)
        return cmd_add(g, argc - 1, argv + 1);
    if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0 || strcmp(sub, "query") == 0)
        return cmd_ls(g, argc - 1, argv + 1);
    if (strcmp(sub, "expire") == 0 || strcmp(sub, "rm") == 0)
        return cmd_expire(g, argc - 1, argv + 1);
    if (strcmp(sub, "import") == 0)
        return cmd_import(g, argc - 1, argv + 1);
    return amctl_fail(AMCTL_USAGE, "silence", "unknown subcommand %s (add, ls, expire, import)",
                      sub);
}
