/* SPDX-License-Identifier: MIT */
/* Output pieces shared by the analysis commands (see analysis_out.h). */
#include "analysis_out.h"

#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "out.h"

void
pm_aopts_init(struct pm_aopts *o)
{
    *o = (struct pm_aopts){
        .file = PM_DEFAULT_FILE, .pid = -1, .limit = 20, .by = PM_ANALYSIS_BY_LINE};
}

int
pm_aopt_handle(const char *cmd, int c, const char *arg, struct pm_aopts *o)
{
    switch (c) {
    case 'h':
        o->help = true;
        return 0;
    case 'f':
        o->file = arg;
        o->file_given = true;
        return 0;
    case PM_AOPT_RUN:
        return pm_parse_int("--run", arg, 1, &o->run) ? PM_EXIT_USAGE : 0;
    case PM_AOPT_PID:
        return pm_parse_int("--pid", arg, 0, &o->pid) ? PM_EXIT_USAGE : 0;
    case PM_AOPT_LIMIT:
        return pm_parse_int("--limit", arg, 0, &o->limit) ? PM_EXIT_USAGE : 0;
    case PM_AOPT_JSON:
        o->json = true;
        return 0;
    case PM_AOPT_CSV:
        o->csv = true;
        return 0;
    case PM_AOPT_BYTES:
        o->bytes = true;
        return 0;
    case PM_AOPT_BY:
        return pm_aout_parse_by(cmd, arg, &o->by) ? PM_EXIT_USAGE : 0;
    default:
        return -1;
    }
}

int
pm_aopts_check(const char *cmd, const struct pm_aopts *o)
{
    if (o->json && o->csv) {
        pm_error("--json and --csv exclude each other; see 'pymem-view %s --help'", cmd);
        return PM_EXIT_USAGE;
    }
    return 0;
}

size_t
pm_aopts_shown(const struct pm_aopts *o, size_t n)
{
    return o->limit == 0 || (uint64_t)o->limit > n ? n : (size_t)o->limit;
}

int
pm_aout_parse_by(const char *cmd, const char *arg, enum pm_analysis_by *by)
{
    if (strcmp(arg, "line") == 0)
        *by = PM_ANALYSIS_BY_LINE;
    else if (strcmp(arg, "function") == 0)
        *by = PM_ANALYSIS_BY_FUNCTION;
    else if (strcmp(arg, "stack") == 0)
        *by = PM_ANALYSIS_BY_STACK;
    else {
        pm_error("invalid value '%s' for --by: expected line, function or stack; see"
                 " 'pymem-view %s --help'",
                 arg, cmd);
        return PM_EXIT_USAGE;
    }
    return 0;
}

const char *
pm_aout_by_name(enum pm_analysis_by by)
{
    return by == PM_ANALYSIS_BY_LINE       ? "line"
           : by == PM_ANALYSIS_BY_FUNCTION ? "function"
                                           : "stack";
}

const char *
pm_aout_size(char buf[32], int64_t bytes, bool exact, bool sign)
{
    char tmp[PM_SIZE_LEN];

    if (exact)
        snprintf(buf, 32, sign && bytes > 0 ? "+%" PRId64 : "%" PRId64, bytes);
    else
        snprintf(buf, 32, "%s%s", sign && bytes > 0 ? "+" : "", pm_fmt_size(tmp, bytes));
    return buf;
}

void
pm_aout_csv(FILE *f, const char *s, bool first)
{
    if (!first)
        fputc(',', f);
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void
pm_aout_csv_int(FILE *f, int64_t v)
{
    fprintf(f, ",%" PRId64, v);
}

void
pm_aout_csv_end(FILE *f)
{
    fputs("\r\n", f);
}

char *
pm_aout_location(const char *file, int64_t line)
{
    char *e = pm_text_escape(file), *loc;
    size_t size;

    if (!e || line < 0)
        return e;
    size = strlen(e) + 24;
    if ((loc = pm_malloc(size)))
        snprintf(loc, size, "%s:%" PRId64, e, line);
    pm_free(e);
    return loc;
}

/* A growing string. */
struct buf {
    char *s;
    size_t len, cap;
    bool oom;
};

static void
buf_add(struct buf *b, const char *s)
{
    size_t n = strlen(s);

    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = 2 * (b->len + n + 1);
        char *ns = pm_realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

static char *
buf_take(struct buf *b)
{
    buf_add(b, "");
    if (b->oom) {
        pm_free(b->s);
        return NULL;
    }
    return b->s;
}

static void
add_frame_text(struct buf *b, const struct pm_analysis_frame *fr)
{
    const char *base = strrchr(fr->file, '/');
    char *function = pm_text_escape(fr->function),
         *loc = pm_aout_location(base ? base + 1 : fr->file, fr->line);

    if (!function || !loc)
        b->oom = true;
    buf_add(b, function ? function : "");
    buf_add(b, " (");
    buf_add(b, loc ? loc : "");
    buf_add(b, ")");
    pm_free(function);
    pm_free(loc);
}

char *
pm_aout_stack_text(const struct pm_analysis_frames *fr, size_t max)
{
    struct buf b = {0};
    size_t head = max / 2, tail = max - max / 2;

    for (size_t i = 0; i < fr->n; i++) {
        if (fr->n > max && i == head) {
            char more[48];
            snprintf(more, sizeof(more), "... %zu more > ", fr->n - head - tail);
            buf_add(&b, more);
            i = fr->n - tail;
        }
        add_frame_text(&b, &fr->v[i]);
        if (i + 1 < fr->n)
            buf_add(&b, " > ");
    }
    return buf_take(&b);
}

char *
pm_aout_stack_csv(const struct pm_analysis_frames *fr)
{
    struct buf b = {0};

    for (size_t i = 0; i < fr->n; i++) {
        char line[24];
        snprintf(line, sizeof(line), ":%" PRId64 ":", fr->v[i].line);
        if (i)
            buf_add(&b, ";");
        buf_add(&b, fr->v[i].file);
        buf_add(&b, line);
        buf_add(&b, fr->v[i].function);
    }
    return buf_take(&b);
}

void
pm_aout_json_frames(FILE *f, const struct pm_analysis_frames *fr)
{
    fputc('[', f);
    for (size_t i = 0; i < fr->n; i++) {
        fputs(i ? ", {\"file\": " : "{\"file\": ", f);
        pm_json_string(f, fr->v[i].file);
        fprintf(f, ", \"line\": %" PRId64 ", \"function\": ", fr->v[i].line);
        pm_json_string(f, fr->v[i].function);
        fputc('}', f);
    }
    fputc(']', f);
}

void
pm_aout_json_snapshot(FILE *f, const struct pm_snapshot_info *s)
{
    fprintf(f, "{\"id\": %" PRId64 ", \"kind\": ", s->id);
    pm_json_string(f, s->kind);
    fputs(", \"time\": ", f);
    pm_json_double(f, s->time);
    fprintf(f, ", \"heap_bytes\": %" PRId64 "}", s->heap_bytes);
}

void
pm_aout_json_process(FILE *f, const struct pm_process_info *p)
{
    fprintf(f, "{\"id\": %" PRId64 ", \"pid\": %" PRId64 ", \"argv\": ", p->id, p->pid);
    pm_json_argv(f, p->argv_json);
    fputc('}', f);
}

int
pm_aout_process_line(const struct pm_process_info *p)
{
    char *argv_text = pm_argv_text(p->argv_json);

    if (!argv_text)
        return pm_error_oom();
    printf("process %" PRId64 " (pid %" PRId64 "): %s\n", p->id, p->pid, argv_text);
    pm_free(argv_text);
    return PM_EXIT_OK;
}

void
pm_aout_snapshot_text(char *buf, size_t size, const struct pm_snapshot_info *s)
{
    char *kind = pm_text_escape(s->kind);

    snprintf(buf, size, "snapshot %" PRId64 " (%s) at %.2f s", s->id, kind ? kind : "?", s->time);
    pm_free(kind);
}

int
pm_aout_finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pm_error("cannot write the output");
        return PM_EXIT_DATA;
    }
    return rc;
}
