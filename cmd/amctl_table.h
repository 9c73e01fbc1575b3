/*
 * amctl_table.h - aligned plain-text tables for amctl's human output.
 *
 *   ID  STATE         OPENED               ALERTS
 *   42  acknowledged  2026-11-23 12:40:01  3
 *
 * Columns are as wide as their widest cell (counted in UTF-8 characters), two
 * spaces apart; the last column is not padded. Cells are copied when added.
 * Control characters in cells (newlines in comments, escape sequences in
 * labels sent by anyone who can post alerts) are shown as spaces / '?' so a
 * table never spans lines or drives the terminal. Cells longer than
 * AMCTL_CELL_MAX characters in any column but the last are cut with "...";
 * `-o json` shows everything.
 */
#ifndef AMR_AMCTL_TABLE_H
#define AMR_AMCTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define AMCTL_CELL_MAX 60

struct amctl_table;

/* A table with ncols columns and these headers (copied). NULL when memory runs out. */
struct amctl_table *amctl_table_new(size_t ncols, const char *const *headers);

/* Appends a row of ncols cells (copied; a NULL cell prints empty). Returns -1
 * when memory runs out (the table is unchanged). */
int amctl_table_add(struct amctl_table *t, const char *const *cells);

/* Number of rows added so far. */
size_t amctl_table_rows(const struct amctl_table *t);

/* Writes the header line and every row to f. */
void amctl_table_print(const struct amctl_table *t, FILE *f);

/* Frees the table; accepts NULL. */
void amctl_table_free(struct amctl_table *t);

/* Display width of s in characters (UTF-8 sequences count one, invalid bytes one each). */
size_t amctl_text_width(const char *s);

#endif
