/* SPDX-License-Identifier: MIT */
/* The self-contained HTML page of flamegraph and report, and the JSON they embed (see
 * visual.h). The page holds our own CSS and JS (viewer/html/, turned into pymem_html.h at build
 * time) and one <script type="application/json"> element; every name from the profiled program
 * lives only in that JSON, escaped so that it cannot close the element, and the script puts
 * names into the page with textContent. A Content-Security-Policy allows only our script and
 * style (by hash), so even a markup injection could run nothing. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "out.h"
#include "pymem_html.h"
#include "visual.h"

void
pm_json_process(FILE *f, const struct pm_process_info *p)
{
    fprintf(f, "{\"id\": %" PRId64 ", \"run\": %" PRId64 ", \"pid\": %" PRId64 ", \"argv\": ",
            p->id, p->run, p->pid);
    pm_json_argv(f, p->argv_json);
    fputc('}', f);
}

void
pm_json_snapshot(FILE *f, const struct pm_snapshot_info *s)
{
    fprintf(f, "{\"id\": %" PRId64 ", \"kind\": ", s->id);
    pm_json_string(f, s->kind);
    fputs(", \"label\": ", f);
    pm_json_string(f, s->label);
    fputs(", \"time\": ", f);
    pm_json_double(f, s->time);
    fprintf(f, ", \"heap_bytes\": %" PRId64 ", \"heap_blocks\": %" PRId64
               ", \"rss_bytes\": %" PRId64 "}", s->heap_bytes, s->heap_blocks, s->rss_bytes);
}

void
pm_flame_json(FILE *f, const struct pm_ctree *t)
{
    uint32_t *out = pm_malloc(t->n * sizeof(*out)), *stack = pm_malloc(t->n * sizeof(*stack));
    uint32_t *fmap = NULL, n_fmap = 0, n_out = 0, n_frames = 0, sp = 0;

    for (size_t i = 1; i < t->n; i++)
        if (t->v[i].frame + 1 > n_fmap)
            n_fmap = t->v[i].frame + 1;
    fmap = pm_malloc((n_fmap + 1) * sizeof(*fmap));
    if (!out || !stack || !fmap) {
        fputs("null", f);           /* the caller checks the stream for errors */
        errno = ENOMEM;
        goto done;
    }
    memset(fmap, 0xff, (n_fmap + 1) * sizeof(*fmap));
    /* Frames first, in the order the pre-order walk meets them. */
    fputs("{\"frames\": [", f);
    stack[sp++] = PM_CTREE_ROOT;
    while (sp) {
        uint32_t node = stack[--sp];
        const struct pm_ctree_node *n = &t->v[node];
        if (node != PM_CTREE_ROOT && fmap[n->frame] == UINT32_MAX) {
            const struct pm_sample_frame *fr = &t->frames[n->frame];
            fputs(n_frames ? ",\n[" : "\n[", f);
            pm_json_string(f, fr->function);
            fputs(", ", f);
            pm_json_string(f, fr->file);
            fprintf(f, ", %" PRId64 "]", fr->line);
            fmap[n->frame] = n_frames++;
        }
        for (uint32_t k = n->n_kids; k-- > 0;) {
            uint32_t c = t->kid[n->kids + k];
            if (t->v[c].bytes || t->v[c].blocks)
                stack[sp++] = c;
        }
    }
    fputs("],\n\"nodes\": [", f);
    stack[sp++] = PM_CTREE_ROOT;
    while (sp) {
        uint32_t node = stack[--sp];
        const struct pm_ctree_node *n = &t->v[node];
        out[node] = n_out++;
        if (node == PM_CTREE_ROOT)
            fprintf(f, "\n[-1, -1, %" PRId64 ", %" PRId64 "]", n->bytes, n->blocks);
        else
            fprintf(f, ",\n[%" PRIu32 ", %" PRIu32 ", %" PRId64 ", %" PRId64 "]", out[n->parent],
                    fmap[n->frame], n->bytes, n->blocks);
        for (uint32_t k = n->n_kids; k-- > 0;) {
            uint32_t c = t->kid[n->kids + k];
            if (t->v[c].bytes || t->v[c].blocks)
                stack[sp++] = c;
        }
    }
    fputs("]}", f);
done:
    pm_free(out);
    pm_free(stack);
    pm_free(fmap);
}

int
pm_membuf_open(struct pm_membuf *m)
{
    *m = (struct pm_membuf){ 0 };
    m->f = open_memstream(&m->p, &m->len);
    return m->f ? 0 : -ENOMEM;
}

void
pm_membuf_release(struct pm_membuf *m)
{
    if (m->f)
        fclose(m->f);
    free(m->p);                 /* open_memstream's buffer comes from the libc heap */
    *m = (struct pm_membuf){ 0 };
}

/* Writes JSON text so that it can sit inside a script element: <, > and & (which JSON only
 * has inside strings) become \u escapes, so no "</script" or "<!--" can appear. */
static void
write_script_json(FILE *f, const char *s, size_t len)
{
    size_t from = 0;

    for (size_t i = 0; i < len; i++) {
        const char *esc = s[i] == '<' ? "\\u003c" : s[i] == '>' ? "\\u003e"
                        : s[i] == '&' ? "\\u0026" : NULL;
        if (!esc)
            continue;
        fwrite(s + from, 1, i - from, f);
        fputs(esc, f);
        from = i + 1;
    }
    fwrite(s + from, 1, len - from, f);
}

FILE *
pm_out_open(const char *path)
{
    FILE *f;

    if (!path || strcmp(path, "-") == 0)
        return stdout;
    if (!(f = fopen(path, "w")))
        pm_error("cannot write '%s': %s", path, strerror(errno));
    return f;
}

int
pm_out_close(const char *path, FILE *f)
{
    int err = fflush(f) != 0 || ferror(f);

    if (f != stdout && fclose(f) != 0)
        err = 1;
    if (!err)
        return PM_EXIT_OK;
    if (f == stdout)
        pm_error("cannot write the output");
    else
        pm_error("cannot write '%s': %s", path, strerror(errno ? errno : EIO));
    return PM_EXIT_DATA;
}

/* Closes the stream of m, so that m->p and m->len hold everything. */
static int
membuf_close(struct pm_membuf *m)
{
    int err = ferror(m->f);

    if (fclose(m->f) != 0)
        err = 1;
    m->f = NULL;
    return err ? pm_error_oom() : PM_EXIT_OK;
}

int
pm_membuf_emit(const char *path, struct pm_membuf *m)
{
    FILE *f;
    int rc;

    if ((rc = membuf_close(m)) != PM_EXIT_OK)
        return rc;
    if (!(f = pm_out_open(path)))
        return PM_EXIT_DATA;
    fwrite(m->p, 1, m->len, f);
    return pm_out_close(path, f);
}

int
pm_html_write(const char *path, struct pm_membuf *m)
{
    FILE *f;
    int rc;

    if ((rc = membuf_close(m)) != PM_EXIT_OK)
        return rc;
    if (!(f = pm_out_open(path)))
        return PM_EXIT_DATA;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"", f);
    fputs(pm_html_csp, f);
    fputs("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>pymem</title>\n<style>", f);    /* pm_html_css starts with a newline */
    fputs(pm_html_css, f);
    fputs("</style>\n</head>\n<body>\n<noscript>This page needs JavaScript.</noscript>\n"
          "<script type=\"application/json\" id=\"pymem-data\">\n", f);
    write_script_json(f, m->p, m->len);
    fputs("\n</script>\n<script>", f);          /* the hash covers pm_html_js exactly */
    fputs(pm_html_js, f);
    fputs("</script>\n</body>\n</html>\n", f);
    return pm_out_close(path, f);
}
