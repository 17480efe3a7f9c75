/* SPDX-License-Identifier: MIT */
/* JSON for pymem-view (see out.h): reading the argv arrays the shim writes, and writing strings
 * and numbers escaped. */
#include "out.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "out_int.h"

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
        pm_buf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f));
        pm_buf_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        pm_buf_add(b, u, 3);
    } else {
        u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f));
        pm_buf_add(b, u, 4);
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
                    pm_buf_addc(out, "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"]);
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
        len = pm_utf8_seq((const unsigned char *)p, &cp);
        if (len == 0 || cp < 0x20)              /* also catches the end of the text */
            return -1;
        if (out)
            pm_buf_add(out, p, (size_t)len);
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
                pm_buf_add(out, "", 1);            /* the NUL separator */
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
        pm_text_escape_to(&b, argv_json, strlen(argv_json));
    } else {
        const char *a = args.p;
        for (int i = 0; i < n; i++) {
            size_t len = strlen(a);
            bool quote = len == 0 || strpbrk(a, " '\"") != NULL;
            if (i > 0)
                pm_buf_addc(&b, ' ');
            if (quote)
                pm_buf_addc(&b, '\'');
            pm_text_escape_to(&b, a, len);
            if (quote)
                pm_buf_addc(&b, '\'');
            a += len + 1;
        }
    }
    pm_free(args.p);
    return pm_buf_finish(&b);
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
        int len = pm_utf8_seq(p, &cp);

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
