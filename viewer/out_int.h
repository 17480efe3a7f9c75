/* SPDX-License-Identifier: MIT */
/* What out.c, out_json.c and out_table.c share: a growing string, UTF-8 decoding, terminal
 * escaping and display width. Not for the commands (they use out.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing string. On allocation failure `failed` is set and further appends are ignored. */
struct buf {
    char *p;
    size_t n, cap;
    bool failed;
};

void pm_buf_add(struct buf *b, const char *s, size_t n);
void pm_buf_addc(struct buf *b, char c);
/* Returns the string (never NULL unless allocation failed) and gives up ownership. */
char *pm_buf_finish(struct buf *b);

/* Length of the valid UTF-8 sequence at s (1 to 4) and its code point in *cp, or 0 if the
 * bytes there are not valid UTF-8 (overlong forms, surrogates and > U+10FFFF are invalid). */
int pm_utf8_seq(const unsigned char *s, uint32_t *cp);

/* Appends s (n bytes) escaped for a terminal. */
void pm_text_escape_to(struct buf *b, const char *s, size_t n);

/* Display width: one column per code point (text is valid UTF-8 once escaped). */
size_t pm_text_width(const char *s);
