/* SPDX-License-Identifier: MIT */
/* Messages, sizes, widths and escaping for pymem-view (see out.h); JSON in out_json.c, tables
 * in out_table.c. */
#include "out.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "alloc.h"
#include "out_int.h"

void
pm_buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (n >= SIZE_MAX - b->n) {     /* no room for n bytes and the NUL in any buffer */
        b->failed = true;
        return;
    }
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

void
pm_buf_addc(struct buf *b, char c)
{
    pm_buf_add(b, &c, 1);
}

char *
pm_buf_finish(struct buf *b)
{
    if (b->failed) {
        pm_free(b->p);
        return NULL;
    }
    if (!b->p)
        return pm_strdup("");
    return b->p;
}

int
pm_utf8_seq(const unsigned char *s, uint32_t *cp)
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

void
pm_text_escape_to(struct buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    char hex[8];

    while (p < end) {
        uint32_t cp;
        int len = pm_utf8_seq(p, &cp);

        if (len > end - p)
            len = 0;
        if (len == 1 && cp == '\\') {
            pm_buf_add(b, "\\\\", 2);
        } else if (len == 1 && cp == '\n') {
            pm_buf_add(b, "\\n", 2);
        } else if (len == 1 && cp == '\t') {
            pm_buf_add(b, "\\t", 2);
        } else if (len == 1 && cp == '\r') {
            pm_buf_add(b, "\\r", 2);
        } else if (len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
            int bytes = len ? len : 1;          /* C1 controls: each of their two bytes */
            for (int i = 0; i < bytes; i++) {
                snprintf(hex, sizeof(hex), "\\x%02x", p[i]);
                pm_buf_add(b, hex, 4);
            }
            p += bytes;
            continue;
        } else {
            pm_buf_add(b, (const char *)p, (size_t)len);
        }
        p += len;
    }
}

char *
pm_text_escape(const char *s)
{
    struct buf b = { 0 };

    pm_text_escape_to(&b, s, strlen(s));
    return pm_buf_finish(&b);
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

size_t
pm_text_width(const char *s)
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

    if (pm_text_width(s) <= max)
        return pm_strdup(s);
    for (size_t w = 1; s[i] && w < max; w++) {     /* max - 1 code points, then the "…" */
        i++;
        while (((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
    }
    pm_buf_add(&b, s, i);
    pm_buf_add(&b, ELLIPSIS, strlen(ELLIPSIS));
    return pm_buf_finish(&b);
}

char *
pm_shorten_path(const char *s, size_t max)
{
    struct buf b = { 0 };
    size_t tail, head = 0;
    const char *slash;

    if (pm_text_width(s) <= max)
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
            if (pm_text_width(first) + 1 + pm_text_width(s + tail) <= max)
                head = n;
            pm_free(first);
        }
    }
    pm_buf_add(&b, s, head);
    pm_buf_add(&b, ELLIPSIS, strlen(ELLIPSIS));
    pm_buf_add(&b, s + tail, strlen(s + tail));
    return pm_buf_finish(&b);
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
        int len = pm_utf8_seq(p, &cp);

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
