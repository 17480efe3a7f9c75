/* SPDX-License-Identifier: MIT */
/* pymem-view growth: the leak hunter for long runs. Fits the live bytes of each line (function,
 * stack) over the periodic snapshots and lists those that grow steadily, fastest first. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "analysis_out.h"
#include "cmd.h"
#include "out.h"

static const char usage[] =
    "usage: pymem-view growth [--by line|function|stack] [-f FILE] [--run RUN] [--pid PID]\n"
    "                         [--limit N] [--bytes] [--json | --csv]\n"
    "\n"
    "Which lines keep growing? Across the periodic snapshots of the process (and its final\n"
    "snapshot as the last point), fits each line's live bytes over time with a straight line.\n"
    "Lists the lines whose memory grows steadily, fastest first: PER MIN is the fitted slope,\n"
    "STEADY the share of the intervals between snapshots in which the line grew (at least 50%),\n"
    "FIT how well a straight line explains its memory (R^2, at least 0.50: memory that goes up\n"
    "and down around a level is churn, not a leak), NOW what it holds at the last point.\n"
    "Needs 3 points or more: run long enough with PYMEM_INTERVAL set.\n"
    "\n"
    "  --by KEY         line (default), function, or stack (the whole traceback)\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        the run to read (default: the latest; see 'pymem-view runs')\n"
    "  --pid PID        a process of the run, by pid (default: the run's root)\n"
    "  --limit N        show the first N rows (default 20; 0 shows all)\n"
    "  --bytes          exact byte counts instead of human sizes\n"
    "  --json           print one JSON object instead of a table\n"
    "  --csv            print CSV (RFC 4180) with exact numbers\n"
    "  -h, --help       show this help\n";

/* The frames of a stack row, or an empty list for other keys. */
static int
row_frames(struct pm_query *a, const struct pm_aopts *o, const struct pm_growth_row *r,
           struct pm_analysis_frames *fr)
{
    struct pm_diag diag = {0};

    *fr = (struct pm_analysis_frames){0};
    if (o->by != PM_ANALYSIS_BY_STACK || pm_analysis_stack(a, r->key.stack, fr, &diag) == 0)
        return 0;
    pm_error("%s", diag.msg);
    return PM_EXIT_DATA;
}

static int
print_json(struct pm_query *a, const struct pm_target *t, const struct pm_aopts *o,
           const struct pm_growth *g, size_t shown)
{
    fputs("{\"process\": ", stdout);
    pm_aout_json_process(stdout, &t->proc);
    printf(", \"by\": \"%s\", \"points\": %zu, \"periodic\": %zu, \"final\": %s,"
           " \"first\": {\"snapshot\": %" PRId64 ", \"time\": ",
           pm_aout_by_name(o->by), g->n_points, g->n_points - g->has_final,
           g->has_final ? "true" : "false", g->first_snapshot);
    pm_json_double(stdout, g->first_time);
    printf("}, \"last\": {\"snapshot\": %" PRId64 ", \"time\": ", g->last_snapshot);
    pm_json_double(stdout, g->last_time);
    printf("}, \"keys\": %zu, \"listed\": %zu, \"rows\": [", g->n_keys, g->n);
    for (size_t i = 0; i < shown; i++) {
        const struct pm_growth_row *r = &g->v[i];
        struct pm_analysis_frames fr;

        if (row_frames(a, o, r, &fr))
            return PM_EXIT_DATA;
        fputs(i ? ",\n  {\"file\": " : "\n  {\"file\": ", stdout);
        pm_json_string(stdout, r->key.file);
        if (o->by != PM_ANALYSIS_BY_FUNCTION)
            printf(", \"line\": %" PRId64, r->key.line);
        fputs(", \"function\": ", stdout);
        pm_json_string(stdout, r->key.function);
        if (o->by == PM_ANALYSIS_BY_STACK) {
            printf(", \"stack\": %" PRId64 ", \"frames\": ", r->key.stack);
            pm_aout_json_frames(stdout, &fr);
        }
        fputs(", \"bytes_per_minute\": ", stdout);
        pm_json_double(stdout, r->slope * 60);
        fputs(", \"steadiness\": ", stdout);
        pm_json_double(stdout, r->steadiness);
        fputs(", \"fit\": ", stdout);
        pm_json_double(stdout, r->fit);
        printf(", \"bytes\": %" PRId64 ", \"blocks\": %" PRId64 ", \"first_bytes\": %" PRId64 "}",
               r->bytes, r->blocks, r->first_bytes);
        pm_analysis_frames_clear(&fr);
    }
    fputs(shown ? "\n]}\n" : "]}\n", stdout);
    return PM_EXIT_OK;
}

static int
print_csv(struct pm_query *a, const struct pm_aopts *o, const struct pm_growth *g, size_t shown)
{
    fputs("bytes_per_minute,steadiness,fit,bytes,blocks,first_bytes,file,line,function", stdout);
    if (o->by == PM_ANALYSIS_BY_STACK)
        fputs(",stack,frames", stdout);
    pm_aout_csv_end(stdout);
    for (size_t i = 0; i < shown; i++) {
        const struct pm_growth_row *r = &g->v[i];
        struct pm_analysis_frames fr;
        char *frames = NULL;

        if (row_frames(a, o, r, &fr))
            return PM_EXIT_DATA;
        if (o->by == PM_ANALYSIS_BY_STACK && !(frames = pm_aout_stack_csv(&fr))) {
            pm_analysis_frames_clear(&fr);
            return pm_error_oom();
        }
        printf("%.0f,%.4f,%.4f", r->slope * 60, r->steadiness, r->fit);
        pm_aout_csv_int(stdout, r->bytes);
        pm_aout_csv_int(stdout, r->blocks);
        pm_aout_csv_int(stdout, r->first_bytes);
        pm_aout_csv(stdout, r->key.file, false);
        if (o->by == PM_ANALYSIS_BY_FUNCTION)
            fputc(',', stdout);
        else
            pm_aout_csv_int(stdout, r->key.line);
        pm_aout_csv(stdout, r->key.function, false);
        if (o->by == PM_ANALYSIS_BY_STACK) {
            pm_aout_csv_int(stdout, r->key.stack);
            pm_aout_csv(stdout, frames, false);
        }
        pm_aout_csv_end(stdout);
        pm_free(frames);
        pm_analysis_frames_clear(&fr);
    }
    return PM_EXIT_OK;
}

static int
print_text(struct pm_query *a, const struct pm_target *t, const struct pm_aopts *o,
           const struct pm_growth *g, size_t shown)
{
    static const char *const headers[] = {
        "PER MIN", "STEADY", "FIT", "NOW", "LOCATION", "FUNCTION", "STACK",
    };
    const char *what = o->by == PM_ANALYSIS_BY_LINE       ? "line"
                       : o->by == PM_ANALYSIS_BY_FUNCTION ? "function"
                                                          : "stack";
    struct pm_table *tab =
        pm_table_new(headers, o->by == PM_ANALYSIS_BY_STACK ? "rrrrlll" : "rrrrll");
    char a1[32], a2[32];
    int rc;

    if (!tab)
        return pm_error_oom();
    if ((rc = pm_aout_process_line(&t->proc)) != PM_EXIT_OK)
        goto out;
    printf("%zu points (%zu periodic%s) from %.2f s to %.2f s (snapshots %" PRId64 "..%" PRId64
           "): %zu of %zu %ss grow steadily\n",
           g->n_points, g->n_points - g->has_final, g->has_final ? " + final" : "", g->first_time,
           g->last_time, g->first_snapshot, g->last_snapshot, g->n, g->n_keys, what);
    if (!g->n)
        goto out;
    putchar('\n');
    for (size_t i = 0; i < shown; i++) {
        const struct pm_growth_row *r = &g->v[i];
        struct pm_analysis_frames fr;
        char *loc =
            pm_aout_location(r->key.file, o->by == PM_ANALYSIS_BY_FUNCTION ? -1 : r->key.line);
        char *stack = NULL;
        int err;

        if ((rc = row_frames(a, o, r, &fr)) != 0) {
            pm_free(loc);
            goto out;
        }
        if (o->by == PM_ANALYSIS_BY_STACK)
            stack = pm_aout_stack_text(&fr, 6);
        err = !loc || (o->by == PM_ANALYSIS_BY_STACK && !stack) ||
              pm_table_addf(tab, "%s/min",
                            pm_aout_size(a1, llround(r->slope * 60), o->bytes, true)) < 0 ||
              pm_table_addf(tab, "%.0f%%", r->steadiness * 100) < 0 ||
              pm_table_addf(tab, "%.2f", r->fit) < 0 ||
              pm_table_add(tab, pm_aout_size(a2, r->bytes, o->bytes, false)) < 0 ||
              pm_table_add_raw(tab, loc) < 0 || pm_table_add(tab, r->key.function) < 0 ||
              (stack && pm_table_add_raw(tab, stack) < 0);
        pm_free(loc);
        pm_free(stack);
        pm_analysis_frames_clear(&fr);
        if (err) {
            rc = pm_error_oom();
            goto out;
        }
    }
    pm_table_print_limited(tab, shown, g->n, what);
out:
    pm_table_free(tab);
    return rc;
}

int
cmd_growth(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_AOPT_LONG,
        {"by", required_argument, NULL, PM_AOPT_BY},
        {NULL, 0, NULL, 0},
    };
    struct pm_aopts o;
    struct pm_target t;
    struct pm_growth g = {0};
    struct pm_diag diag = {0};
    int c, rc;

    pm_aopts_init(&o);
    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        if ((rc = pm_aopt_handle("growth", c, optarg, &o)) < 0)
            return pm_bad_option("growth", c, argv);
        if (rc)
            return rc;
        if (o.help) {
            fputs(usage, stdout);
            return PM_EXIT_OK;
        }
    }
    if (optind < argc)
        return pm_extra_args("growth", argv[optind]);
    if ((rc = pm_aopts_check("growth", &o)) != 0)
        return rc;
    if ((rc = pm_target_open(&t, o.file, o.run, o.pid, 0)) != PM_EXIT_OK)
        return rc;
    rc = PM_EXIT_DATA;
    if (pm_analysis_growth(t.q, t.proc.id, o.by, &g, &diag) < 0) {
        if (diag.code == -PM_ENOTFOUND)
            pm_error("pid %" PRId64 " has %zu periodic and final snapshots: growth needs %d"
                     " (run longer, with PYMEM_INTERVAL set)",
                     t.proc.pid, g.n_points, PM_GROWTH_MIN_POINTS);
        else
            pm_error("%s", diag.msg);
        goto out;
    }
    {
        size_t shown = pm_aopts_shown(&o, g.n);
        rc = o.json  ? print_json(t.q, &t, &o, &g, shown)
             : o.csv ? print_csv(t.q, &o, &g, shown)
                     : print_text(t.q, &t, &o, &g, shown);
    }
    rc = pm_aout_finish(rc);
out:
    pm_growth_clear(&g);
    pm_target_close(&t);
    return rc;
}
