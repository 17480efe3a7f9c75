/* SPDX-License-Identifier: MIT */
/* pymem-view diff: what changed between two snapshots of one file, or between the snapshots of
 * one kind of two files (before and after a change of the program, say). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "analysis_out.h"
#include "cmd.h"
#include "out.h"

static const char usage[] =
    "usage: pymem-view diff [-f FILE] [--run RUN] [--pid PID] [<options>] A B\n"
    "       pymem-view diff [--kind KIND] [--run RUN] [--pid PID] [<options>] FILE_A FILE_B\n"
    "\n"
    "What changed from one snapshot to another, per line: BEFORE, AFTER and CHANGE, largest\n"
    "change first (lines that did not change are left out). A and B are snapshot ids of one\n"
    "file (see 'pymem-view snapshots'; with --run or --pid they must belong to that process).\n"
    "With two files, compares the latest snapshot of KIND (default peak) of the process of\n"
    "each file (the root of its latest run unless --run or --pid say otherwise).\n"
    "\n"
    "  --by KEY         line (default), function, or stack (the whole traceback)\n"
    "  --kind KIND      peak, periodic, signal, manual or final: compare two files\n"
    "  -f, --file FILE  the profile to read for A B (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        the run to read (default: the latest)\n"
    "  --pid PID        a process of the run, by pid (default: the run's root)\n"
    "  --limit N        show the first N rows (default 20; 0 shows all)\n"
    "  --bytes          exact byte counts instead of human sizes\n"
    "  --json           print one JSON object instead of a table\n"
    "  --csv            print CSV (RFC 4180) with exact numbers\n"
    "  -h, --help       show this help\n";

enum { OPT_KIND = 500 };

/* One side of the comparison. */
struct side {
    const char *file;
    struct pm_target t; /* t.proc: the process the snapshot belongs to */
    struct pm_query *a;
    struct pm_snapshot_info snap;
    struct pm_analysis_amounts amounts;
};

static void
side_release(struct side *s)
{
    pm_analysis_amounts_clear(&s->amounts);
    pm_snapshot_info_clear(&s->snap);
    pm_target_close(&s->t);
}

static bool
is_number(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Snapshot `id` of the chosen process, or without --run/--pid of any process of the file. */
static int
find_snapshot(struct side *s, const struct pm_aopts *o, int64_t id)
{
    struct pm_process_list procs = {0};
    struct pm_diag diag = {0};
    int rc = PM_EXIT_DATA;

    if (pm_query_snapshot(s->t.q, s->t.proc.id, id, &s->snap, &diag) == 0)
        return PM_EXIT_OK;
    if (diag.code != -PM_ENOTFOUND) {
        pm_error("%s", diag.msg);
        return PM_EXIT_DATA;
    }
    if (o->run == 0 && o->pid < 0 && pm_query_processes(s->t.q, &procs, &diag) == 0) {
        for (size_t i = 0; i < procs.n; i++) {
            if (pm_query_snapshot(s->t.q, procs.v[i].id, id, &s->snap, &diag) == 0) {
                pm_process_info_clear(&s->t.proc);
                s->t.proc = procs.v[i];
                procs.v[i] = (struct pm_process_info){0};
                rc = PM_EXIT_OK;
                break;
            }
        }
    }
    if (rc != PM_EXIT_OK) {
        if (o->run == 0 && o->pid < 0)
            pm_error("'%s' has no snapshot %" PRId64 "; see 'pymem-view snapshots'", s->file, id);
        else
            pm_error("pid %" PRId64 " has no snapshot %" PRId64 "; see 'pymem-view snapshots'",
                     s->t.proc.pid, id);
    }
    pm_process_list_clear(&procs);
    return rc;
}

/* Opens one side: the file, its process, its snapshot (id >= 0, else the latest of kind). */
static int
side_open(struct side *s, const struct pm_aopts *o, int64_t id, const char *kind)
{
    struct pm_diag diag = {0};
    int rc;

    if ((rc = pm_target_open(&s->t, s->file, o->run, o->pid, 0)) != PM_EXIT_OK)
        return rc;
    if (id >= 0) {
        if ((rc = find_snapshot(s, o, id)) != PM_EXIT_OK)
            return rc;
    } else if (pm_query_latest_snapshot(s->t.q, s->t.proc.id, kind, &s->snap, &diag) < 0) {
        if (diag.code == -PM_ENOTFOUND)
            pm_error("'%s': pid %" PRId64 " has no '%s' snapshot; see 'pymem-view snapshots -f"
                     " %s'",
                     s->file, s->t.proc.pid, kind, s->file);
        else
            pm_error("%s", diag.msg);
        return PM_EXIT_DATA;
    }
    if (pm_analysis_at(s->t.q, s->snap.process, s->snap.id, o->by, &s->amounts, &diag) < 0) {
        pm_error("%s", diag.msg);
        return PM_EXIT_DATA;
    }
    return PM_EXIT_OK;
}

static void
json_side(const struct side *s)
{
    fputs("{\"file\": ", stdout);
    pm_json_string(stdout, s->file);
    fputs(", \"process\": ", stdout);
    pm_aout_json_process(stdout, &s->t.proc);
    fputs(", \"snapshot\": ", stdout);
    pm_aout_json_snapshot(stdout, &s->snap);
    putchar('}');
}

static int
text_side(const char *label, const struct side *s, bool two_files, bool exact)
{
    char *file = two_files ? pm_text_escape(s->file) : NULL;
    char what[160], size[32];

    if (two_files && !file)
        return pm_error_oom();
    pm_aout_snapshot_text(what, sizeof(what), &s->snap);
    printf("%s %s%s%s of pid %" PRId64 ", heap %s\n", label, file ? file : "", file ? ": " : "",
           what, s->t.proc.pid, pm_aout_size(size, s->snap.heap_bytes, exact, false));
    pm_free(file);
    return PM_EXIT_OK;
}

static int
print_rows(const struct pm_aopts *o, const struct side *b, const struct side *f, bool two_files,
           const struct pm_analysis_changes *ch, size_t shown)
{
    static const char *const headers[] = {
        "BEFORE", "AFTER", "CHANGE", "LOCATION", "FUNCTION", "STACK",
    };
    bool by_stack = o->by == PM_ANALYSIS_BY_STACK, by_func = o->by == PM_ANALYSIS_BY_FUNCTION;
    struct pm_table *tab =
        o->json || o->csv ? NULL : pm_table_new(headers, by_stack ? "rrrlll" : "rrrll");
    struct pm_analysis_frames fr = {0};
    struct pm_diag diag = {0};
    char s1[32], s2[32], s3[32];
    int rc = PM_EXIT_OK;

    if (o->json) {
        printf("{\"by\": \"%s\", \"before\": ", pm_aout_by_name(o->by));
        json_side(b);
        fputs(", \"after\": ", stdout);
        json_side(f);
        printf(", \"changed\": %zu, \"rows\": [", ch->n);
    } else if (o->csv) {
        fputs("change_bytes,change_blocks,before_bytes,before_blocks,after_bytes,after_blocks,"
              "file,line,function",
              stdout);
        fputs(by_stack ? ",stack,frames\r\n" : "\r\n", stdout);
    } else {
        if (!tab || text_side("before:", b, two_files, o->bytes) ||
            text_side("after: ", f, two_files, o->bytes))
            goto oom;
        printf("heap change: %s; %zu %s%s changed\n",
               pm_aout_size(s1, f->snap.heap_bytes - b->snap.heap_bytes, o->bytes, true), ch->n,
               by_stack  ? "stack"
               : by_func ? "function"
                         : "line",
               ch->n == 1 ? "" : "s");
        if (!ch->n)
            goto out;
        putchar('\n');
    }
    for (size_t i = 0; i < shown; i++) {
        const struct pm_analysis_change *r = &ch->v[i];
        int64_t d = r->after_bytes - r->before_bytes, dk = r->after_blocks - r->before_blocks;
        /* The stack's frames from the side that still has it. */
        struct pm_query *a = r->after_bytes || r->after_blocks ? f->t.q : b->t.q;
        char *loc = NULL, *stack = NULL;

        if (by_stack && pm_analysis_stack(a, r->key.stack, &fr, &diag) < 0) {
            pm_error("%s", diag.msg);
            rc = PM_EXIT_DATA;
            goto out;
        }
        if (o->json) {
            fputs(i ? ",\n  {\"file\": " : "\n  {\"file\": ", stdout);
            pm_json_string(stdout, r->key.file);
            if (!by_func)
                printf(", \"line\": %" PRId64, r->key.line);
            fputs(", \"function\": ", stdout);
            pm_json_string(stdout, r->key.function);
            if (by_stack) {
                printf(", \"stack\": %" PRId64 ", \"frames\": ", r->key.stack);
                pm_aout_json_frames(stdout, &fr);
            }
            printf(", \"before_bytes\": %" PRId64 ", \"before_blocks\": %" PRId64
                   ", \"after_bytes\": %" PRId64 ", \"after_blocks\": %" PRId64
                   ", \"change_bytes\": %" PRId64 ", \"change_blocks\": %" PRId64 "}",
                   r->before_bytes, r->before_blocks, r->after_bytes, r->after_blocks, d, dk);
        } else if (o->csv) {
            if (by_stack && !(stack = pm_aout_stack_csv(&fr)))
                goto oom;
            printf("%" PRId64, d);
            pm_aout_csv_int(stdout, dk);
            pm_aout_csv_int(stdout, r->before_bytes);
            pm_aout_csv_int(stdout, r->before_blocks);
            pm_aout_csv_int(stdout, r->after_bytes);
            pm_aout_csv_int(stdout, r->after_blocks);
            pm_aout_csv(stdout, r->key.file, false);
            if (by_func)
                putchar(',');
            else
                pm_aout_csv_int(stdout, r->key.line);
            pm_aout_csv(stdout, r->key.function, false);
            if (by_stack) {
                pm_aout_csv_int(stdout, r->key.stack);
                pm_aout_csv(stdout, stack, false);
            }
            pm_aout_csv_end(stdout);
        } else {
            loc = pm_aout_location(r->key.file, by_func ? -1 : r->key.line);
            if (by_stack)
                stack = pm_aout_stack_text(&fr, 6);
            if (!loc || (by_stack && !stack) ||
                pm_table_add(tab, pm_aout_size(s1, r->before_bytes, o->bytes, false)) < 0 ||
                pm_table_add(tab, pm_aout_size(s2, r->after_bytes, o->bytes, false)) < 0 ||
                pm_table_add(tab, pm_aout_size(s3, d, o->bytes, true)) < 0 ||
                pm_table_add_raw(tab, loc) < 0 || pm_table_add(tab, r->key.function) < 0 ||
                (by_stack && pm_table_add_raw(tab, stack) < 0)) {
                pm_free(loc);
                pm_free(stack);
                goto oom;
            }
        }
        pm_free(loc);
        pm_free(stack);
        pm_analysis_frames_clear(&fr);
    }
    if (o->json) {
        fputs(shown ? "\n]}\n" : "]}\n", stdout);
    } else if (tab) {
        pm_table_print_limited(tab, shown, ch->n, "row");
    }
    goto out;
oom:
    rc = pm_error_oom();
out:
    pm_analysis_frames_clear(&fr);
    pm_table_free(tab);
    return rc;
}

int
cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_AOPT_LONG,
        {"by", required_argument, NULL, PM_AOPT_BY},
        {"kind", required_argument, NULL, OPT_KIND},
        {NULL, 0, NULL, 0},
    };
    struct pm_aopts o;
    struct side b = {0}, f = {0};
    struct pm_analysis_changes ch = {0};
    struct pm_diag diag = {0};
    const char *kind = NULL;
    bool two_files;
    int c, rc;

    pm_aopts_init(&o);
    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        if (c == OPT_KIND) {
            kind = optarg;
            continue;
        }
        if ((rc = pm_aopt_handle("diff", c, optarg, &o)) < 0)
            return pm_bad_option("diff", c, argv);
        if (rc)
            return rc;
        if (o.help) {
            fputs(usage, stdout);
            return PM_EXIT_OK;
        }
    }
    if (argc - optind != 2) {
        if (argc - optind > 2)
            return pm_extra_args("diff", argv[optind + 2]);
        pm_error("diff needs two snapshot ids or two files; see 'pymem-view diff --help'");
        return PM_EXIT_USAGE;
    }
    if ((rc = pm_aopts_check("diff", &o)) != 0)
        return rc;
    two_files = kind || !is_number(argv[optind]) || !is_number(argv[optind + 1]);
    if (kind && !*kind) {
        pm_error("invalid value '' for --kind: expected a snapshot kind such as peak or final");
        return PM_EXIT_USAGE;
    }
    if (two_files && o.file_given) {
        pm_error("-f does not go with two files; see 'pymem-view diff --help'");
        return PM_EXIT_USAGE;
    }
    if (two_files) {
        b.file = argv[optind];
        f.file = argv[optind + 1];
        if ((rc = side_open(&b, &o, -1, kind ? kind : "peak")) != PM_EXIT_OK ||
            (rc = side_open(&f, &o, -1, kind ? kind : "peak")) != PM_EXIT_OK)
            goto out;
    } else {
        b.file = f.file = o.file;
        if ((rc = side_open(&b, &o, strtoll(argv[optind], NULL, 10), NULL)) != PM_EXIT_OK ||
            (rc = side_open(&f, &o, strtoll(argv[optind + 1], NULL, 10), NULL)) != PM_EXIT_OK)
            goto out;
    }
    if (pm_analysis_compare(&b.amounts, &f.amounts, PM_ANALYSIS_CHANGED, &ch, &diag) < 0) {
        pm_error("%s", diag.msg);
        rc = PM_EXIT_DATA;
        goto out;
    }
    rc = pm_aout_finish(print_rows(&o, &b, &f, two_files, &ch, pm_aopts_shown(&o, ch.n)));
out:
    pm_analysis_changes_clear(&ch);
    side_release(&b);
    side_release(&f);
    return rc;
}
