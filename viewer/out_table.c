/* SPDX-License-Identifier: MIT */
/* Text tables for pymem-view (see out.h): columns aligned by display width, shrinkable columns
 * shortened to fit the terminal. */
#include "out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "out_int.h"

struct pm_table {
    size_t ncol;
    char align[16];
    char shrink[16];
    size_t max_width;           /* 0 = none */
    bool bold;
    char **cell;                /* headers first, then the rows, row-major */
    size_t n, cap;
};

struct pm_table *
pm_table_new(const char *const *headers, const char *align)
{
    struct pm_table *t = pm_calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->ncol = strlen(align);
    if (t->ncol >= sizeof(t->align))
        t->ncol = sizeof(t->align) - 1;
    memcpy(t->align, align, t->ncol);
    for (size_t i = 0; i < t->ncol; i++) {
        if (pm_table_add_raw(t, headers[i]) < 0) {
            pm_table_free(t);
            return NULL;
        }
    }
    return t;
}

void
pm_table_free(struct pm_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        pm_free(t->cell[i]);
    pm_free(t->cell);
    pm_free(t);
}

/* Takes ownership of cell (NULL = out of memory). */
static int
table_push(struct pm_table *t, char *cell)
{
    if (!cell)
        return -ENOMEM;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **v = pm_realloc(t->cell, cap * sizeof(*v));
        if (!v) {
            pm_free(cell);
            return -ENOMEM;
        }
        t->cell = v;
        t->cap = cap;
    }
    t->cell[t->n++] = cell;
    return 0;
}

int
pm_table_add_raw(struct pm_table *t, const char *cell)
{
    return table_push(t, pm_strdup(cell ? cell : "-"));
}

int
pm_table_add(struct pm_table *t, const char *cell)
{
    return table_push(t, cell ? pm_text_escape(cell) : pm_strdup("-"));
}

int
pm_table_addf(struct pm_table *t, const char *fmt, ...)
{
    char cell[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cell, sizeof(cell), fmt, ap);
    va_end(ap);
    return pm_table_add(t, cell);
}

void
pm_table_fit(struct pm_table *t, size_t width, const char *shrink)
{
    t->max_width = width;
    memset(t->shrink, 0, sizeof(t->shrink));
    for (size_t i = 0; shrink && shrink[i] && i < t->ncol; i++)
        t->shrink[i] = shrink[i];
}

void
pm_table_bold_header(struct pm_table *t, bool bold)
{
    t->bold = bold;
}

void
pm_table_for_stdout(struct pm_table *t, const char *shrink)
{
    pm_table_fit(t, pm_out_width(), shrink);
    pm_table_bold_header(t, pm_out_color());
}

/* Narrows the shrinkable columns, widest first, until the lines fit (or all are at 12). */
static void
fit_widths(const struct pm_table *t, size_t *w)
{
    size_t total = 2 * (t->ncol - 1);

    for (size_t c = 0; c < t->ncol; c++)
        total += w[c];
    while (t->max_width && total > t->max_width) {
        size_t best = t->ncol, over = total - t->max_width, cut;
        for (size_t c = 0; c < t->ncol; c++)
            if ((t->shrink[c] == 'p' || t->shrink[c] == 't') && w[c] > 12 &&
                (best == t->ncol || w[c] > w[best]))
                best = c;
        if (best == t->ncol)
            return;
        cut = w[best] - 12 < over ? w[best] - 12 : over;
        w[best] -= cut;
        total -= cut;
    }
}

void
pm_table_print_limited(const struct pm_table *t, size_t shown, size_t total, const char *noun)
{
    pm_table_print(t, stdout);
    if (shown < total)
        printf("... %zu more %s%s (--limit 0 shows all)\n", total - shown, noun,
               total - shown == 1 ? "" : "s");
}

void
pm_table_print(const struct pm_table *t, FILE *f)
{
    size_t w[16] = { 0 }, blanks = 0;

    for (size_t i = 0; i < t->n; i++) {
        size_t c = i % t->ncol, cw = pm_text_width(t->cell[i]);
        if (cw > w[c])
            w[c] = cw;
    }
    fit_widths(t, w);
    if (t->bold && t->n)
        fputs("\033[1m", f);
    /* Padding is held back until something visible follows: no trailing blanks. */
    for (size_t i = 0; i < t->n; i++) {
        size_t c = i % t->ncol;
        const char *cell = t->cell[i];
        char *cut = NULL;
        size_t pad;

        if (i >= t->ncol && pm_text_width(cell) > w[c]) {
            cut = t->shrink[c] == 'p' ? pm_shorten_path(cell, w[c]) : pm_shorten_end(cell, w[c]);
            if (cut)
                cell = cut;
        }
        pad = w[c] > pm_text_width(cell) ? w[c] - pm_text_width(cell) : 0;
        if (c > 0)
            blanks += 2;
        if (t->align[c] == 'r')
            blanks += pad;
        if (cell[0]) {
            fprintf(f, "%*s%s", (int)blanks, "", cell);
            blanks = 0;
        }
        if (t->align[c] != 'r')
            blanks += pad;
        if (c == t->ncol - 1) {
            if (t->bold && i == t->ncol - 1)
                fputs("\033[0m", f);
            putc('\n', f);
            blanks = 0;
        }
        pm_free(cut);
    }
}
