/*
 * amctl_table.c - aligned plain-text tables (see amctl_table.h).
 *
 * Cells are sanitised and cut when added, so printing only pads. The table
 * owns every cell string; rows grow by doubling.
 */
#include "cmd/amctl_table.h"

#include "core/buf.h"
#include "core/labels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct amctl_table {
    size_t ncols;
    char **cells; /* (nrows + 1) * ncols, row 0 = headers */
    size_t nrows; /* data rows */
    size_t cap;   /* data rows allocated */
    size_t *width;
};

size_t amctl_text_width(const char *s)
{
    size_t len = strlen(s);
    size_t w = 0;

    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);

        i += n == 0 ? 1 : n;
        w++;
    }
    return w;
}

/* A printable copy of s: control characters replaced, cut at max characters
 * (0 = no limit) with "...". NULL when memory runs out. */
static char *clean_cell(const char *s, size_t max)
{
    struct buf b;
    size_t len = s == NULL ? 0 : strlen(s);
    size_t chars = 0;

    buf_init(&b, len + 8);
    if (buf_appends(&b, "") < 0)
        return NULL;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        int rc;

        if (max > 0 && chars == max - 3 && amctl_text_width(s + i) > 3) {
            rc = buf_appends(&b, "...");
            if (rc < 0)
                goto fail;
            break;
        }
        if (n == 0) {
            rc = buf_appendc(&b, '?');
            n = 1;
        } else if (cp == '\n' || cp == '\t' || cp == '\r') {
            rc = buf_appendc(&b, ' ');
        } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            rc = buf_appendc(&b, '?');
        } else {
            rc = buf_append(&b, s + i, n);
        }
        if (rc < 0)
            goto fail;
        i += n;
        chars++;
    }
    return buf_detach(&b);
fail:
    buf_release(&b);
    return NULL;
}

static int put_row(struct amctl_table *t, size_t row, const char *const *cells)
{
    for (size_t c = 0; c < t->ncols; c++) {
        char *v = clean_cell(cells[c], c + 1 < t->ncols ? AMCTL_CELL_MAX : 0);
        size_t w;

        if (v == NULL) {
            for (size_t k = 0; k < c; k++) {
                free(t->cells[row * t->ncols + k]);
                t->cells[row * t->ncols + k] = NULL;
            }
            return -1;
        }
        t->cells[row * t->ncols + c] = v;
        w = amctl_text_width(v);
        if (w > t->width[c])
            t->width[c] = w;
    }
    return 0;
}

struct amctl_table *amctl_table_new(size_t ncols, const char *const *headers)
{
    struct amctl_table *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->ncols = ncols;
    t->cap = 16;
    t->cells = calloc((t->cap + 1) * ncols, sizeof(*t->cells));
    t->width = calloc(ncols, sizeof(*t->width));
    if (t->cells == NULL || t->width == NULL || put_row(t, 0, headers) < 0) {
        amctl_table_free(t);
        return NULL;
    }
    return t;
}

int amctl_table_add(struct amctl_table *t, const char *const *cells)
{
    size_t *saved;

    if (t->nrows == t->cap) {
        size_t cap = t->cap * 2;
        char **grown = realloc(t->cells, (cap + 1) * t->ncols * sizeof(*grown));

        if (grown == NULL)
            return -1;
        memset(grown + (t->cap + 1) * t->ncols, 0, (cap - t->cap) * t->ncols * sizeof(*grown));
        t->cells = grown;
        t->cap = cap;
    }
    /* Widths only grow; keep the old ones in case the row fails half way. */
    saved = malloc(t->ncols * sizeof(*saved));
    if (saved == NULL)
        return -1;
    memcpy(saved, t->width, t->ncols * sizeof(*saved));
    if (put_row(t, t->nrows + 1, cells) < 0) {
        memcpy(t->width, saved, t->ncols * sizeof(*saved));
        free(saved);
        return -1;
    }
    free(saved);
    t->nrows++;
    return 0;
}

size_t amctl_table_rows(const struct amctl_table *t)
{
    return t->nrows;
}

void amctl_table_print(const struct amctl_table *t, FILE *f)
{
    for (size_t r = 0; r <= t->nrows; r++) {
        size_t last = 0; /* last non-empty cell: nothing is padded after it */

        for (size_t c = 0; c < t->ncols; c++) {
            if (t->cells[r * t->ncols + c][0] != '\0')
                last = c;
        }
        for (size_t c = 0; c <= last; c++) {
            const char *v = t->cells[r * t->ncols + c];

            fputs(v, f);
            if (c < last) {
                for (size_t w = amctl_text_width(v); w < t->width[c] + 2; w++)
                    fputc(' ', f);
            }
        }
        fputc('\n', f);
    }
}

void amctl_table_free(struct amctl_table *t)
{
    if (t == NULL)
        return;
    if (t->cells != NULL) {
        for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
            free(t->cells[i]);
    }
    free(t->cells);
    free(t->width);
    free(t);
}
