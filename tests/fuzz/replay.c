/*
 * replay.c - the plain main() a fuzz target is linked with when clang's libFuzzer
 * is not used: runs LLVMFuzzerTestOneInput() once on every file named on the
 * command line, and on every regular file inside every directory named (not
 * recursively), in name order. Prints one line per target:
 *   fuzz_NAME: N inputs replayed
 * A crash or an invariant failure aborts the process, which is the failure the
 * caller (scripts/run-tests.sh) sees. Inputs larger than 1 MiB are refused (exit 1),
 * since no seed or regression input needs to be that large.
 */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT (1u << 20)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t n = 0;
    int rc = -1;

    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    data = malloc(REPLAY_MAX_INPUT + 1);
    if (data == NULL)
        goto out;
    n = fread(data, 1, REPLAY_MAX_INPUT + 1, f);
    if (ferror(f) || n > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s: unreadable or larger than %u bytes\n", path, REPLAY_MAX_INPUT);
        goto out;
    }
    /* libFuzzer hands over an exact-size buffer; so does this, so ASan sees overreads. */
    {
        uint8_t *exact = malloc(n > 0 ? n : 1);
        if (exact == NULL)
            goto out;
        if (n > 0)
            memcpy(exact, data, n);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    rc = 0;
out:
    free(data);
    fclose(f);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, unsigned *count)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;

    if (d == NULL)
        return errno == ENOENT ? 0 : -1; /* a target may have no regressions yet */
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nv = realloc(names, ncap * sizeof(*nv));
            if (nv == NULL) {
                rc = -1;
                goto out;
            }
            names = nv;
            cap = ncap;
        }
        names[n] = strdup(e->d_name);
        if (names[n] == NULL) {
            rc = -1;
            goto out;
        }
        n++;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = replay_file(path);
        if (rc == 0)
            (*count)++;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    const char *name = strrchr(argv[0], '/');

    name = name ? name + 1 : argv[0];
    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            if (replay_dir(argv[i], &count) < 0)
                return 1;
        } else if (stat(argv[i], &st) == 0) {
            if (replay_file(argv[i]) < 0)
                return 1;
            count++;
        }
    }
    printf("%s: %u inputs replayed\n", name, count);
    return 0;
}
