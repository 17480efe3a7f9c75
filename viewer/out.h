/* SPDX-License-Identifier: MIT */
/* Output helpers of pymem-view: messages on stderr, aligned tables and human sizes on stdout,
 * and escaping of everything that comes from the profiled program (file and function names,
 * argv), both for the terminal and for JSON. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pm.h"

/* Exit statuses of pymem-view. */
enum {
    PM_EXIT_OK = 0,
    PM_EXIT_DATA = 1,       /* the file or the data asked for is not there or not readable */
    PM_EXIT_USAGE = 2,      /* bad command line */
};

/* Prints "pymem-view: <message>" and a newline on stderr, as one line: control characters in
 * the message (from a path, say) are escaped. */
void pm_error(const char *fmt, ...) PM_PRINTF(1, 2);

/* Prints the out-of-memory message and returns PM_EXIT_DATA. */
int pm_error_oom(void);

/* A human size: "512 B", "1.5 KiB", "120.0 MiB" (powers of 1024). */
#define PM_SIZE_LEN 32
const char *pm_fmt_size(char buf[PM_SIZE_LEN], int64_t bytes);

/* pm_fmt_size, or with exact set (--bytes) the plain number of bytes: "125901704". */
const char *pm_fmt_bytes(char buf[PM_SIZE_LEN], int64_t bytes, bool exact);

/* Whether stdout gets colour: it is a terminal and NO_COLOR is unset or empty. */
bool pm_out_color(void);

/* The width text output should fit: the terminal's when stdout is one (TIOCGWINSZ), else
 * $COLUMNS when it is a number, else 100. */
size_t pm_out_width(void);

/* A copy of s (text fit for a terminal, as in a table cell) in at most width columns: a path
 * keeps its file name and as many of its last directories as fit, and its first directory when
 * that fits too, with "…" for the middle ("/usr/…/json/decoder.py:353"); text without a '/'
 * that is too long keeps its end. NULL if out of memory; free with pm_free. */
char *pm_shorten_path(const char *s, size_t width);

/* A copy of s cut to width columns, ending with "…" when cut. NULL if out of memory. */
char *pm_shorten_end(const char *s, size_t width);

/* Writes s as one RFC 4180 field: quoted (with quotes doubled) when it holds a comma, a quote,
 * CR or LF; bytes that are not UTF-8 and control characters other than tab, CR and LF become
 * U+FFFD. NULL is written as an empty field. Records end with PM_CSV_EOL. */
#define PM_CSV_EOL "\r\n"
void pm_csv_field(FILE *f, const char *s);

/* A copy of s fit for a terminal: control characters, backslashes and bytes that are not UTF-8
 * are written as \n, \t, \\ or \xNN. NULL if out of memory; free with pm_free. */
char *pm_text_escape(const char *s);

/* argv as stored (a JSON array of strings) for a terminal: the arguments escaped as above and
 * joined with spaces, quoted with '' when empty or holding a space or a quote. Text that is not
 * such an array is shown escaped as it is. NULL if out of memory; free with pm_free. */
char *pm_argv_text(const char *argv_json);

/* Whether s is a JSON array of strings (strict: valid UTF-8, no lone surrogates). */
bool pm_json_argv_valid(const char *s);

/* Writes s as a JSON string literal ("null" for NULL). Escapes quotes, backslashes, control
 * characters (DEL too) and U+2028/U+2029; each byte that is not part of valid UTF-8 becomes
 * U+FFFD. Valid non-ASCII text is written as UTF-8. */
void pm_json_string(FILE *f, const char *s);

/* Writes a JSON number for a double (null for NaN or infinity). */
void pm_json_double(FILE *f, double v);

/* Writes argv_json as it is if pm_json_argv_valid says so, [] otherwise. */
void pm_json_argv(FILE *f, const char *argv_json);

/* An aligned text table. Cells are copied; the last column is not padded. */
struct pm_table;

/* align holds one letter per column: 'l' or 'r'. NULL if out of memory. */
struct pm_table *pm_table_new(const char *const *headers, const char *align);
void pm_table_free(struct pm_table *t);     /* NULL-safe */

/* Appends one cell, escaped with pm_text_escape (NULL is shown as "-"); rows fill left to right.
 * Returns 0 or -ENOMEM. */
int pm_table_add(struct pm_table *t, const char *cell);
int pm_table_addf(struct pm_table *t, const char *fmt, ...) PM_PRINTF(2, 3);
/* Appends a cell that is already fit for a terminal (not escaped again). */
int pm_table_add_raw(struct pm_table *t, const char *cell);

/* Prints the header line and the rows. */
void pm_table_print(const struct pm_table *t, FILE *f);

/* pm_table_print on stdout, then, when a --limit left rows out, "... 3 more lines (--limit 0
 * shows all)": `noun` is the singular ("line"), an "s" is added unless one is left out. */
void pm_table_print_limited(const struct pm_table *t, size_t shown, size_t total,
                            const char *noun);

/* Makes pm_table_print fit lines in width columns (0 = no limit) by narrowing the columns
 * marked in shrink (one letter per column: 'p' shortens cells with pm_shorten_path, 't' with
 * pm_shorten_end, anything else keeps the column as it is), widest first, down to 12. */
void pm_table_fit(struct pm_table *t, size_t width, const char *shrink);

/* Prints the header line in bold. */
void pm_table_bold_header(struct pm_table *t, bool bold);

/* Both of the above for a table printed on stdout: pm_out_width(), bold if pm_out_color(). */
void pm_table_for_stdout(struct pm_table *t, const char *shrink);
