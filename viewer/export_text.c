/* SPDX-License-Identifier: MIT */
/* pymem-view export: the text formats (folded, csv, json, speedscope); see export_text.h. */
#include "export_text.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "out.h"

/* "function (file:line)" for every frame, fit for a terminal (pm_text_escape) and, with
 * folded set, with ';' written as \x3b so that it cannot split a folded line. */
static char **
frame_texts(const struct pm_sample_list *l, bool folded)
{
    char **text = pm_calloc(l->n_frames ? l->n_frames : 1, sizeof(*text));

    for (size_t i = 0; text && i < l->n_frames; i++) {
        const struct pm_sample_frame *fr = &l->frames[i];
        char *file = pm_text_escape(fr->file), *func = pm_text_escape(fr->function);
        size_t cap = file && func ? 4 * (strlen(file) + strlen(func)) + 32 : 0;
        char *t = cap ? pm_malloc(cap) : NULL, *w = t;

        if (t) {
            char tmp[24];
            snprintf(tmp, sizeof(tmp), ":%" PRId64 ")", fr->line);
            for (const char *parts[] = { func, " (", file, tmp, NULL }, **p = parts; *p; p++) {
                for (const char *c = *p; *c; c++) {
                    if (folded && *c == ';') {
                        memcpy(w, "\\x3b", 4);
                        w += 4;
                    } else {
                        *w++ = *c;
                    }
                }
            }
            *w = '\0';
        }
        pm_free(file);
        pm_free(func);
        if (!t) {
            for (size_t j = 0; j < i; j++)
                pm_free(text[j]);
            pm_free(text);
            return NULL;
        }
        text[i] = t;
    }
    return text;
}

static void
free_texts(char **text, size_t n)
{
    for (size_t i = 0; text && i < n; i++)
        pm_free(text[i]);
    pm_free(text);
}

int
pm_export_folded(FILE *f, const struct pm_export *e)
{
    const struct pm_sample_list *l = e->samples;
    char **text = frame_texts(l, true);

    if (!text)
        return -ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        const struct pm_sample *s = &l->v[i];
        if (s->bytes <= 0)
            continue;
        for (uint32_t j = 0; j < s->n_frames; j++) {
            if (j)
                putc(';', f);
            fputs(text[s->frames[j]], f);
        }
        fprintf(f, " %" PRId64 "\n", s->bytes);
    }
    free_texts(text, l->n_frames);
    return 0;
}

/* One CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line end. */
static void
csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

int
pm_export_csv(FILE *f, const struct pm_export *e)
{
    const struct pm_sample_list *l = e->samples;
    char **text = frame_texts(l, false);
    int rc = 0;

    if (!text)
        return -ENOMEM;
    fputs("stack,bytes,blocks,python_bytes,python_blocks,raw_bytes,raw_blocks,native_bytes,"
          "native_blocks,alloc_bytes,alloc_blocks,file,line,function,frames\r\n", f);
    for (size_t i = 0; i < l->n; i++) {
        const struct pm_sample *s = &l->v[i];
        const struct pm_sample_frame *leaf = &l->frames[s->frames[s->n_frames - 1]];
        char *file = pm_text_escape(leaf->file), *func = pm_text_escape(leaf->function);
        size_t len = 1;
        char *chain;

        for (uint32_t j = 0; j < s->n_frames; j++)
            len += strlen(text[s->frames[j]]) + 4;
        chain = pm_malloc(len);
        if (!file || !func || !chain) {
            pm_free(file);
            pm_free(func);
            pm_free(chain);
            rc = -ENOMEM;
            break;
        }
        len = 0;
        for (uint32_t j = s->n_frames; j-- > 0;) {      /* innermost first, like a traceback */
            const char *t = text[s->frames[j]];
            size_t tl = strlen(t);
            if (j + 1 < s->n_frames) {
                memcpy(chain + len, " <- ", 4);
                len += 4;
            }
            memcpy(chain + len, t, tl);
            len += tl;
        }
        chain[len] = '\0';
        fprintf(f, "%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                   ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",",
                s->stack, s->bytes, s->blocks, s->python_bytes, s->python_blocks, s->raw_bytes,
                s->raw_blocks, s->native_bytes, s->native_blocks, s->alloc_bytes,
                s->alloc_blocks);
        csv_field(f, file);
        fprintf(f, ",%" PRId64 ",", leaf->line);
        csv_field(f, func);
        putc(',', f);
        csv_field(f, chain);
        fputs("\r\n", f);
        pm_free(file);
        pm_free(func);
        pm_free(chain);
    }
    free_texts(text, l->n_frames);
    return rc;
}

static void
json_frames(FILE *f, const struct pm_sample *s, const char *sep)
{
    putc('[', f);
    for (uint32_t j = 0; j < s->n_frames; j++)
        fprintf(f, "%s%" PRIu32, j ? sep : "", s->frames[j]);
    putc(']', f);
}

int
pm_export_json(FILE *f, const struct pm_export *e)
{
    const struct pm_sample_list *l = e->samples;
    const struct pm_snapshot_info *snap = e->snap;
    int64_t bytes = 0, blocks = 0, alloc_bytes = 0, alloc_blocks = 0;

    for (size_t i = 0; i < l->n; i++) {
        bytes += l->v[i].bytes;
        blocks += l->v[i].blocks;
        alloc_bytes += l->v[i].alloc_bytes;
        alloc_blocks += l->v[i].alloc_blocks;
    }
    fprintf(f, "{\"process\": {\"id\": %" PRId64 ", \"pid\": %" PRId64 ", \"argv\": ",
            e->proc->id, e->proc->pid);
    pm_json_argv(f, e->proc->argv_json);
    fprintf(f, "},\n \"snapshot\": {\"id\": %" PRId64 ", \"kind\": ", snap->id);
    pm_json_string(f, snap->kind);
    fputs(", \"label\": ", f);
    pm_json_string(f, snap->label);
    fputs(", \"time\": ", f);
    pm_json_double(f, snap->time);
    fprintf(f, ", \"heap_bytes\": %" PRId64 ", \"heap_blocks\": %" PRId64
               ", \"rss_bytes\": %" PRId64 "},\n",
            snap->heap_bytes, snap->heap_blocks, snap->rss_bytes);
    fprintf(f, " \"totals\": {\"bytes\": %" PRId64 ", \"blocks\": %" PRId64
               ", \"alloc_bytes\": %" PRId64 ", \"alloc_blocks\": %" PRId64 "},\n",
            bytes, blocks, alloc_bytes, alloc_blocks);
    fputs(" \"frames\": [", f);
    for (size_t i = 0; i < l->n_frames; i++) {
        fputs(i ? ",\n  {\"file\": " : "\n  {\"file\": ", f);
        pm_json_string(f, l->frames[i].file);
        fputs(", \"function\": ", f);
        pm_json_string(f, l->frames[i].function);
        fprintf(f, ", \"line\": %" PRId64 "}", l->frames[i].line);
    }
    fputs(l->n_frames ? "\n ],\n \"samples\": [" : "],\n \"samples\": [", f);
    for (size_t i = 0; i < l->n; i++) {
        const struct pm_sample *s = &l->v[i];
        fprintf(f, "%s{\"stack\": %" PRId64 ", \"frames\": ", i ? ",\n  " : "\n  ", s->stack);
        json_frames(f, s, ", ");
        fprintf(f, ", \"bytes\": %" PRId64 ", \"blocks\": %" PRId64
                   ", \"python_bytes\": %" PRId64 ", \"python_blocks\": %" PRId64
                   ", \"raw_bytes\": %" PRId64 ", \"raw_blocks\": %" PRId64
                   ", \"native_bytes\": %" PRId64 ", \"native_blocks\": %" PRId64
                   ", \"alloc_bytes\": %" PRId64 ", \"alloc_blocks\": %" PRId64 "}",
                s->bytes, s->blocks, s->python_bytes, s->python_blocks, s->raw_bytes,
                s->raw_blocks, s->native_bytes, s->native_blocks, s->alloc_bytes,
                s->alloc_blocks);
    }
    fputs(l->n ? "\n ]}\n" : "]}\n", f);
    return 0;
}

int
pm_export_speedscope(FILE *f, const struct pm_export *e)
{
    const struct pm_sample_list *l = e->samples;
    const char *kind = e->snap->kind ? e->snap->kind : "";
    size_t len = strlen(kind) + 96, n = 0;
    char *name = pm_malloc(len);
    int64_t total = 0;

    if (!name)
        return -ENOMEM;
    /* The kind comes from the file: the name goes through the JSON escaper. */
    snprintf(name, len, "pymem: pid %" PRId64 ", snapshot %" PRId64 " (%s)", e->proc->pid,
             e->snap->id, kind);
    for (size_t i = 0; i < l->n; i++)
        total += l->v[i].bytes > 0 ? l->v[i].bytes : 0;
    fputs("{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\",\n"
          " \"shared\": {\"frames\": [", f);
    for (size_t i = 0; i < l->n_frames; i++) {
        fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
        pm_json_string(f, l->frames[i].function);
        fputs(", \"file\": ", f);
        pm_json_string(f, l->frames[i].file);
        fprintf(f, ", \"line\": %" PRId64 "}", l->frames[i].line);
    }
    fputs(l->n_frames ? "\n ]},\n" : "]},\n", f);
    fputs(" \"profiles\": [{\"type\": \"sampled\", \"name\": ", f);
    pm_json_string(f, name);
    fprintf(f, ", \"unit\": \"bytes\", \"startValue\": 0, \"endValue\": %" PRId64 ",\n"
               "  \"samples\": [", total);
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].bytes <= 0)
            continue;
        fputs(n++ ? ",\n   " : "\n   ", f);
        json_frames(f, &l->v[i], ",");
    }
    fputs(n ? "\n  ],\n  \"weights\": [" : "],\n  \"weights\": [", f);
    n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].bytes > 0)
            fprintf(f, "%s%" PRId64, n++ ? ", " : "", l->v[i].bytes);
    }
    fputs("]}],\n \"name\": ", f);
    pm_json_string(f, name);
    fputs(", \"activeProfileIndex\": 0, \"exporter\": \"pymem-view\"}\n", f);
    pm_free(name);
    return 0;
}
