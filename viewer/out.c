/* SPDX-License-Identifier: MIT */
/* Messages, tables, sizes and escaping for pymem-view (see out.h). */
#include "out.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "alloc.h"

/* A growing string. On allocation failure `failed` is set and further appends are ignored. */
struct buf {
    char *p;
    size_t n, cap;
    bool failed;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;
        while (cap < b->n + n + 1)
            cap *= 2;
        if (!(p = pm_realloc(b->p, cap))) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void
buf_addc(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

/* Returns the string (never NULL unless allocation failed) and gives up ownership. */
static char *
buf_finish(struct buf *b)
{
    if (b->failed) {
        pm_free(b->p);
        return NULL;
    }
    if (!b->p)
        return pm_strdup("");
    return b->p;
}

/* Length of the valid UTF-8 sequence at s (1 to 4) and its code point in *cp, or 0 if the
 * bytes there are not valid UTF-8 (overlong forms, surrogates and > U+10FFFF are invalid). */
static int
utf8_seq(const unsigned char *s, uint32_t *cp)
{
    uint32_t c = s[0], min;
    int len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, c &= 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, c &= 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, c &= 0x07, min = 0x10000;
    else
        return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;   /* also stops at the terminating NUL */
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Appends s escaped for a terminal. */
static void
text_escape(struct buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    char hex[8];

    while (p < end) {
        uint32_t cp;
        int len = utf8_seq(p, &cp);

        if (len > end - p)
            len = 0;
        if (len == 1 && cp == '\\') {
            buf_add(b, "\\\\", 2);
        } else if (len == 1 && cp == '\n') {
            buf_add(b, "\\n", 2);
        } else if (len == 1 && cp == '\t') {
            buf_add(b, "\\t", 2);
        } else if (len == 1 && cp == '\r') {
            buf_add(b, "\\r", 2);
        } else if (len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
            int bytes = len ? len : 1;          /* C1 controls: each of their two bytes */
            for (int i = 0; i < bytes; i++) {
                snprintf(hex, sizeof(hex), "\\x%02x", p[i]);
                buf_add(b, hex, 4);
            }
            p += bytes;
            continue;
        } else {
            buf_add(b, (const char *)p, (size_t)len);
        }
        p += len;
    }
}

char *
pm_text_escape(const char *s)
{
    struct buf b = { 0 };

    text_escape(&b, s, strlen(s));
    return buf_finish(&b);
}

void
pm_error(const char *fmt, ...)
{
    char msg[1024];
    char *safe;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    safe = pm_text_escape(msg);
    fprintf(stderr, "pymem-view: %s\n", safe ? safe : msg);
    pm_free(safe);
}

int
pm_error_oom(void)
{
    pm_error("out of memory");
    return PM_EXIT_DATA;
}

const char *
pm_fmt_size(char buf[PM_SIZE_LEN], int64_t bytes)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double v = (double)bytes;
    size_t u = 0;

    if (bytes > -1024 && bytes < 1024) {
        snprintf(buf, PM_SIZE_LEN, "%lld B", (long long)bytes);
        return buf;
    }
    v /= 1024;
    while (fabs(v) >= 1023.95 && u + 1 < ARRAY_SIZE(units)) {   /* never "1024.0 KiB" */
        v /= 1024;
        u++;
    }
    snprintf(buf, PM_SIZE_LEN, "%.1f %s", v, units[u]);
    return buf;
}

#define ELLIPSIS "\xe2\x80\xa6"     /* U+2026 */

const char *
pm_fmt_bytes(char buf[PM_SIZE_LEN], int64_t bytes, bool exact)
{
    if (!exact)
        return pm_fmt_size(buf, bytes);
    snprintf(buf, PM_SIZE_LEN, "%lld", (long long)bytes);
    return buf;
}

bool
pm_out_color(void)
{
    const char *no = getenv("NO_COLOR");

    return isatty(STDOUT_FILENO) && !(no && *no);
}

size_t
pm_out_width(void)
{
    struct winsize ws;
    const char *cols = getenv("COLUMNS");
    char *end;
    long v;

    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (cols && *cols) {
        errno = 0;
        v = strtol(cols, &end, 10);
        if (!errno && !*end && v > 0 && v < 100000)
            return (size_t)v;
    }
    return 100;
}

/* Display width: one column per code point (text is valid UTF-8 once escaped). */
static size_t
width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* The byte offset where the last n code points of s start. */
static size_t
last_columns(const char *s, size_t n)
{
    size_t len = strlen(s), i = len;

    while (i > 0 && n > 0) {
        i--;
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n--;
    }
    return i;
}

char *
pm_shorten_end(const char *s, size_t max)
{
    struct buf b = { 0 };
    size_t i = 0;

    if (width(s) <= max)
        return pm_strdup(s);
    for (size_t w = 1; s[i] && w < max; w++) {     /* max - 1 code points, then the "…" */
        i++;
        while (((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
    }
    buf_add(&b, s, i);
    buf_add(&b, ELLIPSIS, strlen(ELLIPSIS));
    return buf_finish(&b);
}

char *
pm_shorten_path(const char *s, size_t max)
{
    struct buf b = { 0 };
    size_t tail, head = 0;
    const char *slash;

    if (width(s) <= max)
        return pm_strdup(s);
    if (max < 2)
        max = 2;
    /* The longest tail that starts at a '/' and fits after the "…". */
    tail = last_columns(s, max - 1);
    if (s[tail] != '/' && (slash = strchr(s + tail, '/')))
        tail = (size_t)(slash - s);
    /* The first directory too, when it fits ("/usr/" or "home/"). */
    if ((slash = strchr(s + (s[0] == '/'), '/')) && (size_t)(slash - s) + 1 < tail) {
        size_t n = (size_t)(slash - s) + 1;
        char *first = pm_malloc(n + 1);
        if (first) {
            memcpy(first, s, n);
            first[n] = '\0';
            if (width(first) + 1 + width(s + tail) <= max)
                head = n;
            pm_free(first);
        }
    }
    buf_add(&b, s, head);
    buf_add(&b, ELLIPSIS, strlen(ELLIPSIS));
    buf_add(&b, s + tail, strlen(s + tail));
    return buf_finish(&b);
}

void
pm_csv_field(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    bool quote;

    if (!s)
        return;
    quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        putc('"', f);
    while (*p) {
        uint32_t cp;
        int len = utf8_seq(p, &cp);

        if (len == 0 || (cp < 0x20 && cp != '\t' && cp != '\r' && cp != '\n') || cp == 0x7f ||
            (cp >= 0x80 && cp <= 0x9f)) {
            fputs("\xef\xbf\xbd", f);           /* U+FFFD */
            p += len ? len : 1;
            continue;
        }
        if (cp == '"')
            putc('"', f);
        fwrite(p, 1, (size_t)len, f);
        p += len;
    }
    if (quote)
        putc('"', f);
}

/* ---- JSON ---- */

static void
skip_ws(const char **s)
{
    while (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')
        (*s)++;
}

static int
hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

static void
put_utf8(struct buf *b, uint32_t cp)
{
    char u[4];

    if (cp < 0x80) {
        buf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f));
        buf_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        buf_add(b, u, 3);
    } else {
        u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f));
        buf_add(b, u, 4);
    }
}

/* Parses one JSON string at *s (on its opening quote); appends the decoded text to out when
 * out is not NULL. Returns 0 or -1 when it is not a valid string. */
static int
parse_string(const char **s, struct buf *out)
{
    const char *p = *s + 1;

    if (**s != '"')
        return -1;
    for (;;) {
        uint32_t cp, lo;
        int len;

        if (*p == '"')
            break;
        if (*p == '\\') {
            const char *esc = strchr("\"\\/bfnrt", p[1]);
            if (p[1] && esc) {
                if (out)
                    buf_addc(out, "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"]);
                p += 2;
                continue;
            }
            if (p[1] != 'u' || hex4(p + 2, &cp) < 0)
                return -1;
            p += 6;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return -1;                      /* lone low surrogate */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 || lo < 0xdc00 ||
                    lo > 0xdfff)
                    return -1;                  /* lone high surrogate */
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            if (out && cp)                      /* \u0000 cannot live in a C string */
                put_utf8(out, cp);
            continue;
        }
        len = utf8_seq((const unsigned char *)p, &cp);
        if (len == 0 || cp < 0x20)              /* also catches the end of the text */
            return -1;
        if (out)
            buf_add(out, p, (size_t)len);
        p += len;
    }
    *s = p + 1;
    return 0;
}

/* Parses a JSON array of strings; when out is not NULL the decoded strings are appended to it,
 * each followed by a NUL. Returns the count or -1. */
static int
parse_argv(const char *s, struct buf *out)
{
    int count = 0;

    skip_ws(&s);
    if (*s++ != '[')
        return -1;
    skip_ws(&s);
    if (*s == ']') {
        s++;
    } else {
        for (;;) {
            skip_ws(&s);
            if (parse_string(&s, out) < 0)
                return -1;
            if (out)
                buf_add(out, "", 1);            /* the NUL separator */
            count++;
            skip_ws(&s);
            if (*s == ']') {
                s++;
                break;
            }
            if (*s++ != ',')
                return -1;
        }
    }
    skip_ws(&s);
    return *s ? -1 : count;
}

bool
pm_json_argv_valid(const char *s)
{
    return s && parse_argv(s, NULL) >= 0;
}

char *
pm_argv_text(const char *argv_json)
{
    struct buf args = { 0 }, b = { 0 };
    int n;

    if (!argv_json)
        return pm_strdup("");
    n = parse_argv(argv_json, &args);
    if (args.failed)
        goto oom;
    if (n < 0) {
        text_escape(&b, argv_json, strlen(argv_json));
    } else {
        const char *a = args.p;
        for (int i = 0; i < n; i++) {
            size_t len = strlen(a);
            bool quote = len == 0 || strpbrk(a, " '\"") != NULL;
            if (i > 0)
                buf_addc(&b, ' ');
            if (quote)
                buf_addc(&b, '\'');
            text_escape(&b, a, len);
            if (quote)
                buf_addc(&b, '\'');
            a += len + 1;
        }
    }
    pm_free(args.p);
    return buf_finish(&b);
oom:
    pm_free(args.p);
    pm_free(b.p);
    return NULL;
}

void
pm_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s) {
        fputs("null", f);
        return;
    }
    putc('"', f);
    while (*p) {
        uint32_t cp;
        int len = utf8_seq(p, &cp);

        if (len == 0) {
            fputs("\\ufffd", f);                /* a byte that is not UTF-8 */
            p++;
            continue;
        }
        switch (cp) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029)
                fprintf(f, "\\u%04x", (unsigned)cp);
            else
                fwrite(p, 1, (size_t)len, f);
        }
        p += len;
    }
    putc('"', f);
}

void
pm_json_double(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.15g", v);
    else
        fputs("null", f);
}

void
pm_json_argv(FILE *f, const char *argv_json)
{
    fputs(pm_json_argv_valid(argv_json) ? argv_json : "[]", f);
}

/* ---- tables ---- */

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
pm_table_print(const struct pm_table *t, FILE *f)
{
    size_t w[16] = { 0 }, blanks = 0;

    for (size_t i = 0; i < t->n; i++) {
        size_t c = i % t->ncol, cw = width(t->cell[i]);
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

        if (i >= t->ncol && width(cell) > w[c]) {
            cut = t->shrink[c] == 'p' ? pm_shorten_path(cell, w[c]) : pm_shorten_end(cell, w[c]);
            if (cut)
                cell = cut;
        }
        pad = w[c] > width(cell) ? w[c] - width(cell) : 0;
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
