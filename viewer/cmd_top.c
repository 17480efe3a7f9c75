/* SPDX-License-Identifier: MIT */
/* pymem-view top: source lines (or functions, files, stacks) ranked by the memory live at one
 * snapshot, or at one snapshot of every process of a run. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cmd.h"
#include "out.h"

static const char usage[] =
    "usage: pymem-view top [--peak | --final | --snapshot ID] [-f FILE] [--run RUN]\n"
    "                      [--pid PID | --all-processes] [--by line|function|file|stack]\n"
    "                      [--sort self|total|blocks] [--kind python|raw|native]\n"
    "                      [--user | --focus GLOB] [--limit N] [--bytes] [--json | --csv]\n"
    "\n"
    "Source lines ranked by the memory live at one snapshot. SELF counts the allocations made\n"
    "by the line itself (its innermost frame), TOTAL those made by the line or by anything it\n"
    "called (once per stack, even under recursion).\n"
    "\n"
    "  --peak           the latest peak snapshot of the process (default)\n"
    "  --final          the latest final snapshot (at exit)\n"
    "  --snapshot ID    the snapshot with this id (see 'pymem-view snapshots')\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        a run of the file (see 'pymem-view runs'; default: the latest)\n"
    "  --pid PID        a process of the run, by pid (default: the run's root)\n"
    "  --all-processes  add up every process of the run, each at its latest --peak or --final\n"
    "                   snapshot\n"
    "  --by WHAT        one row per source line (default), function, file, or whole stack\n"
    "                   (its innermost line and its callers; TOTAL adds the deeper stacks)\n"
    "  --sort KEY       order by SELF bytes (default), TOTAL bytes or SELF blocks\n"
    "  --kind KIND      only memory from PyMem_Malloc/PyObject_Malloc (python), from\n"
    "                   PyMem_RawMalloc (raw) or from malloc & co. called by C code (native)\n"
    "  --user           attribute each allocation to the nearest frame of your code: the\n"
    "                   innermost one outside the standard library, site-packages and\n"
    "                   dist-packages (\"<frozen ...>\", paths with /lib/python3, ...)\n"
    "  --focus GLOB     the same, with your code named by a glob on the file path\n"
    "                   (fnmatch, e.g. '*/myproject/*')\n"
    "  --limit N        show the first N rows (default 20; 0 shows all)\n"
    "  --bytes          exact numbers of bytes instead of human sizes\n"
    "  --json           print one JSON object instead of a table\n"
    "  --csv            print the rows as CSV (RFC 4180) with a header line\n"
    "  -h, --help       show this help\n";

enum {
    OPT_LIMIT = 256, OPT_JSON, OPT_CSV,
    OPT_BYTES, OPT_BY, OPT_SORT, OPT_KIND, OPT_ALL, OPT_USER, OPT_FOCUS,
};

static const char *const by_names[] = { "line", "function", "file", "stack", NULL };
static const char *const sort_names[] = { "self", "total", "blocks", NULL };
static const char *const kind_names[] = { "all", "python", "raw", "native", NULL };
static const char *const row_nouns[] = { "line", "function", "file", "stack" };

/* What a command line asked for. */
struct top_args {
    struct pm_top_opts o;
    int64_t limit;
    bool json, csv, exact, all;
};

/* One process and the snapshot of it that is shown. */
struct shown {
    struct pm_process_info proc;
    struct pm_snapshot_info snap;
};

/* Parses the value of an option that takes a word from names (from index first on); returns
 * its index or -1 (reported). */
static int
parse_word(const char *opt, const char *arg, const char *const *names, int first)
{
    char want[128] = "";
    size_t len = 0;

    for (int i = first; names[i]; i++)
        if (strcmp(arg, names[i]) == 0)
            return i;
    for (int i = first; names[i] && len < sizeof(want); i++)
        len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s",
                                i == first ? "" : names[i + 1] ? ", " : " or ", names[i]);
    pm_error("invalid value '%s' for %s: expected %s", arg, opt, want);
    return -1;
}

/* Every process of the target's run with its latest snapshot of kind; those without one are
 * left out. Returns PM_EXIT_OK or PM_EXIT_DATA (reported). */
static int
pick_all(struct pm_target *t, const char *kind, struct shown **out, size_t *n)
{
    struct pm_process_list list;
    struct pm_diag diag = { 0 };
    struct shown *v;
    int rc = PM_EXIT_OK;

    *out = NULL;
    *n = 0;
    if (pm_query_processes(t->q, &list, &diag) < 0) {
        pm_error("%s", diag.msg);
        return PM_EXIT_DATA;
    }
    if (!(v = pm_calloc(list.n ? list.n : 1, sizeof(*v)))) {
        pm_process_list_clear(&list);
        return pm_error_oom();
    }
    for (size_t i = 0; i < list.n; i++) {
        if (list.v[i].run != t->proc.run)
            continue;
        if (pm_query_latest_snapshot(t->q, list.v[i].id, kind, &v[*n].snap, &diag) == 0) {
            v[*n].proc = list.v[i];
            list.v[i] = (struct pm_process_info){ 0 };      /* moved */
            (*n)++;
        } else if (diag.code != -PM_ENOTFOUND) {
            pm_error("%s", diag.msg);
            rc = PM_EXIT_DATA;
            break;
        }
    }
    pm_process_list_clear(&list);
    *out = v;
    if (rc == PM_EXIT_OK && *n == 0) {
        pm_error("no process of run %" PRId64 " has a '%s' snapshot", t->proc.run, kind);
        rc = PM_EXIT_DATA;
    }
    return rc;
}

/* The callers of a stack row for the text table: "load:10 < main:20 < <module>:30", the
 * middle elided after the two nearest when there are more than four. */
static char *
callers_text(const struct pm_chain *c, bool full)
{
    size_t size = 16, len = 0;
    char *s;

    for (size_t i = 0; i < c->n; i++)
        size += strlen(c->v[i].function) + strlen(c->v[i].file) + 32;
    if (!(s = pm_malloc(size)))
        return NULL;
    s[0] = '\0';
    for (size_t k = 1; k < c->n; k++) {         /* v[n - 1] is the row's own frame */
        const struct pm_chain_frame *f = &c->v[c->n - 1 - k];
        if (!full && c->n - 1 > 4 && k == 3) {
            len += (size_t)snprintf(s + len, size - len, " < \xe2\x80\xa6");
            k = c->n - 2;                       /* then the outermost */
            f = &c->v[0];
        }
        len += (size_t)snprintf(s + len, size - len, "%s%s:%" PRId64, k > 1 ? " < " : "",
                                f->function, f->line);
    }
    return s;
}

static void
json_snapshot(const struct pm_snapshot_info *s)
{
    printf("{\"id\": %" PRId64 ", \"kind\": ", s->id);
    pm_json_string(stdout, s->kind);
    fputs(", \"time\": ", stdout);
    pm_json_double(stdout, s->time);
    printf(", \"heap_bytes\": %" PRId64 ", \"rss_bytes\": %" PRId64 "}", s->heap_bytes,
           s->rss_bytes);
}

static void
json_process(const struct pm_process_info *p)
{
    printf("{\"id\": %" PRId64 ", \"pid\": %" PRId64 ", \"argv\": ", p->id, p->pid);
    pm_json_argv(stdout, p->argv_json);
}

static int
print_json(struct pm_query *q, const struct top_args *a, const struct shown *sh, size_t n_sh,
           const struct pm_top_list *rows, size_t shown)
{
    struct pm_diag diag = { 0 };

    if (a->all) {
        printf("{\"run\": %" PRId64 ", \"processes\": [", sh[0].proc.run);
        for (size_t i = 0; i < n_sh; i++) {
            fputs(i ? ", " : "", stdout);
            json_process(&sh[i].proc);
            fputs(", \"snapshot\": ", stdout);
            json_snapshot(&sh[i].snap);
            putchar('}');
        }
        fputs("], \"rows\": [", stdout);
    } else {
        fputs("{\"process\": ", stdout);
        json_process(&sh[0].proc);
        fputs("}, \"snapshot\": ", stdout);
        json_snapshot(&sh[0].snap);
        fputs(", \"rows\": [", stdout);
    }
    for (size_t i = 0; i < shown; i++) {
        const struct pm_top_row *r = &rows->v[i];
        fputs(i ? ",\n  {" : "\n  {", stdout);
        if (a->o.by == PM_TOP_BY_STACK)
            printf("\"stack\": %" PRId64 ", ", r->stack_id);
        fputs("\"file\": ", stdout);
        pm_json_string(stdout, r->file);
        if (a->o.by == PM_TOP_BY_LINE || a->o.by == PM_TOP_BY_STACK)
            printf(", \"line\": %" PRId64, r->line);
        if (a->o.by != PM_TOP_BY_FILE) {
            fputs(", \"function\": ", stdout);
            pm_json_string(stdout, r->function);
        }
        if (a->o.by == PM_TOP_BY_STACK) {
            struct pm_chain c;
            if (pm_query_chain(q, r->stack_id, &c, &diag) < 0) {
                pm_error("%s", diag.msg);
                return PM_EXIT_DATA;
            }
            fputs(", \"frames\": [", stdout);
            for (size_t k = 0; k < c.n; k++) {
                fputs(k ? ", {\"file\": " : "{\"file\": ", stdout);
                pm_json_string(stdout, c.v[k].file);
                printf(", \"line\": %" PRId64 ", \"function\": ", c.v[k].line);
                pm_json_string(stdout, c.v[k].function);
                putchar('}');
            }
            putchar(']');
            pm_chain_clear(&c);
        }
        printf(", \"self_bytes\": %" PRId64 ", \"self_blocks\": %" PRId64
               ", \"total_bytes\": %" PRId64 ", \"total_blocks\": %" PRId64 "}",
               r->self_bytes, r->self_blocks, r->total_bytes, r->total_blocks);
    }
    fputs(shown ? "\n]}\n" : "]}\n", stdout);
    return PM_EXIT_OK;
}

static int
print_csv(struct pm_query *q, const struct top_args *a, const struct pm_top_list *rows,
          size_t shown)
{
    static const char *const tails[] = {
        [PM_TOP_BY_LINE] = "file,line,function",
        [PM_TOP_BY_FUNCTION] = "file,function",
        [PM_TOP_BY_FILE] = "file",
        [PM_TOP_BY_STACK] = "stack,file,line,function,frames",
    };
    struct pm_diag diag = { 0 };

    printf("self_bytes,self_blocks,total_bytes,total_blocks,%s" PM_CSV_EOL, tails[a->o.by]);
    for (size_t i = 0; i < shown; i++) {
        const struct pm_top_row *r = &rows->v[i];
        printf("%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",", r->self_bytes,
               r->self_blocks, r->total_bytes, r->total_blocks);
        if (a->o.by == PM_TOP_BY_STACK)
            printf("%" PRId64 ",", r->stack_id);
        pm_csv_field(stdout, r->file);
        if (a->o.by == PM_TOP_BY_LINE || a->o.by == PM_TOP_BY_STACK)
            printf(",%" PRId64, r->line);
        if (a->o.by != PM_TOP_BY_FILE) {
            putchar(',');
            pm_csv_field(stdout, r->function);
        }
        if (a->o.by == PM_TOP_BY_STACK) {
            /* Folded-stack style: file:line:function, outermost first, joined by ';'. */
            struct pm_chain c;
            size_t size = 1, len = 0;
            char *s;
            if (pm_query_chain(q, r->stack_id, &c, &diag) < 0) {
                pm_error("%s", diag.msg);
                return PM_EXIT_DATA;
            }
            for (size_t k = 0; k < c.n; k++)
                size += strlen(c.v[k].file) + strlen(c.v[k].function) + 32;
            if (!(s = pm_malloc(size))) {
                pm_chain_clear(&c);
                return pm_error_oom();
            }
            s[0] = '\0';
            for (size_t k = 0; k < c.n; k++)
                len += (size_t)snprintf(s + len, size - len, "%s%s:%" PRId64 ":%s",
                                        k ? ";" : "", c.v[k].file, c.v[k].line, c.v[k].function);
            putchar(',');
            pm_csv_field(stdout, s);
            pm_free(s);
            pm_chain_clear(&c);
        }
        fputs(PM_CSV_EOL, stdout);
    }
    return PM_EXIT_OK;
}

/* The header lines of the text output. */
static int
print_heading(const struct top_args *a, const struct shown *sh, size_t n_sh)
{
    char x[PM_SIZE_LEN], y[PM_SIZE_LEN];

    if (a->all)
        printf("run %" PRId64 ": %zu process%s\n", sh[0].proc.run, n_sh, n_sh == 1 ? "" : "es");
    for (size_t i = 0; i < n_sh; i++) {
        const struct shown *s = &sh[i];
        char *argv_text = pm_argv_text(s->proc.argv_json), *kind = pm_text_escape(s->snap.kind);
        if (!argv_text || !kind) {
            pm_free(argv_text);
            pm_free(kind);
            return pm_error_oom();
        }
        printf("%sprocess %" PRId64 " (pid %" PRId64 "): %s\n", a->all ? "  " : "",
               s->proc.id, s->proc.pid, argv_text);
        printf("%ssnapshot %" PRId64 " (%s) at %.2f s: heap %s%s in %" PRId64 " blocks, rss %s%s\n",
               a->all ? "    " : "", s->snap.id, kind, s->snap.time,
               pm_fmt_bytes(x, s->snap.heap_bytes, a->exact), a->exact ? " bytes" : "",
               s->snap.heap_blocks, pm_fmt_bytes(y, s->snap.rss_bytes, a->exact),
               a->exact ? " bytes" : "");
        pm_free(argv_text);
        pm_free(kind);
    }
    if (a->o.kind != PM_TOP_KIND_ALL)
        printf("only %s allocations\n", kind_names[a->o.kind]);
    if (a->o.focus) {
        char *glob = pm_text_escape(a->o.focus);
        printf("attributed to the nearest frame in files matching '%s'\n", glob ? glob : "?");
        pm_free(glob);
    } else if (a->o.user) {
        printf("attributed to the nearest frame outside the standard library and packages\n");
    }
    putchar('\n');
    return PM_EXIT_OK;
}

static int
print_text(struct pm_query *q, const struct top_args *a, const struct shown *sh, size_t n_sh,
           const struct pm_top_list *rows, size_t shown)
{
    static const char *const headers[][7] = {
        [PM_TOP_BY_LINE] = { "SELF", "BLOCKS", "TOTAL", "BLOCKS", "LOCATION", "FUNCTION" },
        [PM_TOP_BY_FUNCTION] = { "SELF", "BLOCKS", "TOTAL", "BLOCKS", "FILE", "FUNCTION" },
        [PM_TOP_BY_FILE] = { "SELF", "BLOCKS", "TOTAL", "BLOCKS", "FILE" },
        [PM_TOP_BY_STACK] = { "SELF", "BLOCKS", "TOTAL", "BLOCKS", "LOCATION", "FUNCTION",
                              "CALLED FROM" },
    };
    static const char *const align[] = { "rrrrll", "rrrrll", "rrrrl", "rrrrlll" };
    static const char *const shrink[] = { "rrrrpt", "rrrrpt", "rrrrp", "rrrrptt" };
    char x[PM_SIZE_LEN], y[PM_SIZE_LEN];
    struct pm_table *tab = pm_table_new(headers[a->o.by], align[a->o.by]);
    struct pm_diag diag = { 0 };
    int rc;

    if (!tab)
        return pm_error_oom();
    if ((rc = print_heading(a, sh, n_sh)) != PM_EXIT_OK)
        goto out;
    pm_table_for_stdout(tab, shrink[a->o.by]);
    for (size_t i = 0; i < shown; i++) {
        const struct pm_top_row *r = &rows->v[i];
        bool with_line = a->o.by == PM_TOP_BY_LINE || a->o.by == PM_TOP_BY_STACK;
        char *file = pm_text_escape(r->file), *loc = NULL, *callers = NULL;
        size_t size = file ? strlen(file) + 24 : 0;
        int err;

        if (file && (loc = pm_malloc(size)))
            snprintf(loc, size, with_line ? "%s:%" PRId64 : "%s", file, r->line);
        if (a->o.by == PM_TOP_BY_STACK) {
            struct pm_chain c;
            if (pm_query_chain(q, r->stack_id, &c, &diag) < 0) {
                pm_free(file);
                pm_free(loc);
                pm_error("%s", diag.msg);
                rc = PM_EXIT_DATA;
                goto out;
            }
            callers = callers_text(&c, false);
            pm_chain_clear(&c);
        }
        err = !loc || (a->o.by == PM_TOP_BY_STACK && !callers) ||
              pm_table_add(tab, pm_fmt_bytes(x, r->self_bytes, a->exact)) < 0 ||
              pm_table_addf(tab, "%" PRId64, r->self_blocks) < 0 ||
              pm_table_add(tab, pm_fmt_bytes(y, r->total_bytes, a->exact)) < 0 ||
              pm_table_addf(tab, "%" PRId64, r->total_blocks) < 0 ||
              pm_table_add_raw(tab, loc) < 0 ||     /* the file is escaped already */
              (a->o.by != PM_TOP_BY_FILE && pm_table_add(tab, r->function) < 0) ||
              (callers && pm_table_add(tab, callers) < 0);
        pm_free(file);
        pm_free(loc);
        pm_free(callers);
        if (err) {
            rc = pm_error_oom();
            goto out;
        }
    }
    pm_table_print_limited(tab, shown, rows->n, row_nouns[a->o.by]);
out:
    pm_table_free(tab);
    return rc;
}

int
cmd_top(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_OPTS_SNAPSHOT,
        PM_OPTS_TARGET,
        PM_OPTS_PID,
        { "all-processes", no_argument, NULL, OPT_ALL },
        { "by", required_argument, NULL, OPT_BY },
        { "sort", required_argument, NULL, OPT_SORT },
        { "kind", required_argument, NULL, OPT_KIND },
        { "user", no_argument, NULL, OPT_USER },
        { "focus", required_argument, NULL, OPT_FOCUS },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "bytes", no_argument, NULL, OPT_BYTES },
        { "json", no_argument, NULL, OPT_JSON },
        { "csv", no_argument, NULL, OPT_CSV },
        PM_OPTS_END,
    };
    struct pm_snap_choice choice = { .id = -1, .kind = "peak" };
    const char *file = PM_DEFAULT_FILE;
    int64_t pid = -1, run = 0;
    int c, w, rc;
    struct top_args a = { .limit = 20 };
    struct pm_target t;
    struct shown *sh = NULL;
    size_t n_sh = 0;
    struct pm_top_point *points = NULL;
    struct pm_top_list rows = { 0 };
    struct pm_diag diag = { 0 };
    const struct pm_common_opts co = { usage, &file, &run, &pid, NULL, &choice };

    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        if ((rc = pm_common_option(&co, c, optarg)) != PM_OPT_NOT_MINE) {
            if (rc != PM_OPT_TAKEN)
                return rc;
            continue;
        }
        switch (c) {
        case OPT_LIMIT:
            if (pm_parse_int("--limit", optarg, 0, &a.limit))
                return PM_EXIT_USAGE;
            break;
        case OPT_BY:
            if ((w = parse_word("--by", optarg, by_names, 0)) < 0)
                return PM_EXIT_USAGE;
            a.o.by = (enum pm_top_by)w;
            break;
        case OPT_SORT:
            if ((w = parse_word("--sort", optarg, sort_names, 0)) < 0)
                return PM_EXIT_USAGE;
            a.o.sort = (enum pm_top_sort)w;
            break;
        case OPT_KIND:
            if ((w = parse_word("--kind", optarg, kind_names, 1)) < 0)
                return PM_EXIT_USAGE;
            a.o.kind = (enum pm_top_kind)w;
            break;
        case OPT_FOCUS:
            if (!*optarg) {
                pm_error("invalid value '' for --focus: expected a glob such as '*/src/*'");
                return PM_EXIT_USAGE;
            }
            a.o.focus = optarg;
            /* fall through */
        case OPT_USER:
            a.o.user = true;
            break;
        case OPT_ALL:
            a.all = true;
            break;
        case OPT_BYTES:
            a.exact = true;
            break;
        case OPT_JSON:
            a.json = true;
            break;
        case OPT_CSV:
            a.csv = true;
            break;
        default:
            return pm_bad_option("top", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("top", argv[optind]);
    if (choice.picked > 1) {
        pm_error("--peak, --final and --snapshot exclude each other; see 'pymem-view top --help'");
        return PM_EXIT_USAGE;
    }
    if (a.json && a.csv) {
        pm_error("--json and --csv exclude each other; see 'pymem-view top --help'");
        return PM_EXIT_USAGE;
    }
    if (a.all && (choice.id >= 0 || pid >= 0)) {
        pm_error("--all-processes excludes %s; see 'pymem-view top --help'",
                 choice.id >= 0 ? "--snapshot" : "--pid");
        return PM_EXIT_USAGE;
    }
    if ((rc = pm_target_open(&t, file, run, pid, 0)) != PM_EXIT_OK)
        return rc;
    rc = PM_EXIT_DATA;
    if (a.all) {
        if ((rc = pick_all(&t, choice.kind, &sh, &n_sh)) != PM_EXIT_OK)
            goto out;
        rc = PM_EXIT_DATA;
    } else {
        if (!(sh = pm_calloc(1, sizeof(*sh)))) {
            rc = pm_error_oom();
            goto out;
        }
        n_sh = 1;
        if (pm_snap_load(&t, &choice,
                         &sh->snap) != PM_EXIT_OK)
            goto out;
        sh->proc = t.proc;
        t.proc = (struct pm_process_info){ 0 };         /* moved */
    }
    if (!(points = pm_calloc(n_sh, sizeof(*points)))) {
        rc = pm_error_oom();
        goto out;
    }
    for (size_t i = 0; i < n_sh; i++)
        points[i] = (struct pm_top_point){ sh[i].proc.id, sh[i].snap.id };
    a.o.points = points;
    a.o.n_points = n_sh;
    if (pm_query_top_ex(t.q, &a.o, &rows, &diag) < 0) {
        pm_error("%s", diag.msg);
        goto out;
    }
    {
        size_t shown = a.limit == 0 || (uint64_t)a.limit > rows.n ? rows.n : (size_t)a.limit;
        if (a.json)
            rc = print_json(t.q, &a, sh, n_sh, &rows, shown);
        else if (a.csv)
            rc = print_csv(t.q, &a, &rows, shown);
        else
            rc = print_text(t.q, &a, sh, n_sh, &rows, shown);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pm_error("cannot write the output");
        rc = PM_EXIT_DATA;
    }
out:
    pm_top_list_clear(&rows);
    for (size_t i = 0; i < n_sh; i++) {
        pm_process_info_clear(&sh[i].proc);
        pm_snapshot_info_clear(&sh[i].snap);
    }
    pm_free(sh);
    pm_free(points);
    pm_target_close(&t);
    return rc;
}
