/* SPDX-License-Identifier: MIT */
/* pymem-view leaks: what is live at the end of a process, by stack, minus what was live at a
 * baseline snapshot: the memory the program took and never gave back. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "analysis_out.h"
#include "cmd.h"
#include "out.h"

static const char usage[] =
    "usage: pymem-view leaks [--since SNAPSHOT_ID | --since SECONDS] [-f FILE] [--run RUN]\n"
    "                        [--pid PID] [--limit N] [--bytes] [--json | --csv]\n"
    "\n"
    "What is still live at the end, by stack, that was not live at a baseline: the final\n"
    "snapshot of the process (or its latest one, if it was killed or is still running) minus\n"
    "the baseline, ranked by bytes grown. Each row names the innermost line and the stack,\n"
    "outermost frame first.\n"
    "\n"
    "  --since ID       the baseline is snapshot ID (see 'pymem-view snapshots')\n"
    "  --since SECONDS  the baseline is the first snapshot at or after SECONDS since the\n"
    "                   start (a number with a decimal point or an 's' suffix: 2.0, 30s);\n"
    "                   default: the first periodic snapshot, or none (everything live at the\n"
    "                   end) if there is no periodic snapshot\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        the run to read (default: the latest; see 'pymem-view runs')\n"
    "  --pid PID        a process of the run, by pid (default: the run's root)\n"
    "  --limit N        show the first N stacks (default 20; 0 shows all)\n"
    "  --bytes          exact byte counts instead of human sizes\n"
    "  --json           print one JSON object instead of a table\n"
    "  --csv            print CSV (RFC 4180) with exact numbers\n"
    "  -h, --help       show this help\n";

enum { OPT_SINCE = 400 };

/* --since: a snapshot id (whole number) or seconds ("2.5", "30s", "1.5s"). */
struct since {
    bool given, is_time;
    int64_t id;
    double seconds;
};

static int
parse_since(const char *arg, struct since *s)
{
    size_t len = strlen(arg);
    char *end;

    s->given = true;
    s->is_time = len && (strchr(arg, '.') || arg[len - 1] == 's');
    if (!s->is_time)
        return pm_parse_int("--since", arg, 0, &s->id);
    errno = 0;
    s->seconds = strtod(arg, &end);
    if (errno || end == arg || !(*end == '\0' || (*end == 's' && end[1] == '\0')) ||
        !isfinite(s->seconds) || s->seconds < 0 || !(arg[0] >= '0' && arg[0] <= '9') ||
        strpbrk(arg, "xXeEnN")) {
        pm_error("invalid value '%s' for --since: expected a snapshot id or seconds"
                 " (2.5 or 30s)",
                 arg);
        return PM_EXIT_USAGE;
    }
    return 0;
}

/* Picks the end and baseline snapshots in the list (indices; base -1 = none). */
static int
pick(const struct pm_target *t, const struct pm_snapshot_list *l, const struct since *since,
     long *end, long *base)
{
    *end = -1;
    *base = -1;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].kind, "final") == 0)
            *end = (long)i;
        if (since->given && !since->is_time && l->v[i].id == since->id)
            *base = (long)i;
        if (since->given && since->is_time && l->v[i].time >= since->seconds &&
            (*base < 0 || l->v[i].time < l->v[*base].time))
            *base = (long)i;
        if (!since->given && *base < 0 && strcmp(l->v[i].kind, "periodic") == 0)
            *base = (long)i;
    }
    if (l->n == 0) {
        pm_error("pid %" PRId64 " has no snapshots", t->proc.pid);
        return PM_EXIT_DATA;
    }
    if (since->given && *base < 0) {
        if (since->is_time)
            pm_error("pid %" PRId64 " has no snapshot at or after %.2f s (the last is at %.2f s)",
                     t->proc.pid, since->seconds, l->v[l->n - 1].time);
        else
            pm_error("pid %" PRId64 " has no snapshot %" PRId64 "; see 'pymem-view snapshots'",
                     t->proc.pid, since->id);
        return PM_EXIT_DATA;
    }
    if (!since->given && *base >= 0 && *end >= 0 && *base >= *end)
        *base = -1; /* the only periodic snapshot is the end itself */
    if (*end < 0) {
        char what[160];
        *end = (long)l->n - 1;
        pm_aout_snapshot_text(what, sizeof(what), &l->v[*end]);
        pm_error("pid %" PRId64 " has no final snapshot (killed or still running): using its"
                 " latest, %s",
                 t->proc.pid, what);
    }
    return PM_EXIT_OK;
}

static int64_t
total_grown(const struct pm_analysis_changes *ch)
{
    int64_t sum = 0;

    for (size_t i = 0; i < ch->n; i++)
        sum += ch->v[i].after_bytes - ch->v[i].before_bytes;
    return sum;
}

static int
print_rows(struct pm_query *a, const struct pm_target *t, const struct pm_aopts *o,
           const struct pm_snapshot_info *end, const struct pm_snapshot_info *base,
           const struct pm_analysis_changes *ch, size_t shown)
{
    static const char *const headers[] = {
        "GROWN", "BLOCKS", "AT END", "LOCATION", "FUNCTION", "STACK",
    };
    struct pm_table *tab = o->json || o->csv ? NULL : pm_table_new(headers, "rrrlll");
    struct pm_analysis_frames fr = {0};
    struct pm_diag diag = {0};
    char s1[32], s2[160], s3[160];
    int rc = PM_EXIT_OK;

    if (o->json) {
        fputs("{\"process\": ", stdout);
        pm_aout_json_process(stdout, &t->proc);
        fputs(", \"end\": ", stdout);
        pm_aout_json_snapshot(stdout, end);
        fputs(", \"baseline\": ", stdout);
        if (base)
            pm_aout_json_snapshot(stdout, base);
        else
            fputs("null", stdout);
        printf(", \"grown_bytes\": %" PRId64 ", \"stacks\": %zu, \"rows\": [", total_grown(ch),
               ch->n);
    } else if (o->csv) {
        fputs("bytes_grown,blocks_grown,bytes,blocks,baseline_bytes,baseline_blocks,file,line,"
              "function,stack,frames",
              stdout);
        pm_aout_csv_end(stdout);
    } else {
        if (!tab || (rc = pm_aout_process_line(&t->proc)) != PM_EXIT_OK) {
            rc = tab ? rc : pm_error_oom();
            goto out;
        }
        pm_aout_snapshot_text(s2, sizeof(s2), end);
        if (base)
            pm_aout_snapshot_text(s3, sizeof(s3), base);
        printf("live at %s minus %s: %zu stack%s grew by %s\n", s2,
               base ? s3 : "nothing (no periodic snapshot to start from)", ch->n,
               ch->n == 1 ? "" : "s", pm_aout_size(s1, total_grown(ch), o->bytes, false));
        if (!ch->n)
            goto out;
        putchar('\n');
    }
    for (size_t i = 0; i < shown; i++) {
        const struct pm_analysis_change *r = &ch->v[i];
        char *loc = NULL, *stack = NULL;

        if (pm_analysis_stack(a, r->key.stack, &fr, &diag) < 0) {
            pm_error("%s", diag.msg);
            rc = PM_EXIT_DATA;
            goto out;
        }
        if (o->json) {
            printf("%s{\"stack\": %" PRId64 ", \"file\": ", i ? ",\n  " : "\n  ", r->key.stack);
            pm_json_string(stdout, r->key.file);
            printf(", \"line\": %" PRId64 ", \"function\": ", r->key.line);
            pm_json_string(stdout, r->key.function);
            printf(", \"bytes_grown\": %" PRId64 ", \"blocks_grown\": %" PRId64
                   ", \"bytes\": %" PRId64 ", \"blocks\": %" PRId64 ", \"baseline_bytes\": %" PRId64
                   ", \"baseline_blocks\": %" PRId64 ", \"frames\": ",
                   r->after_bytes - r->before_bytes, r->after_blocks - r->before_blocks,
                   r->after_bytes, r->after_blocks, r->before_bytes, r->before_blocks);
            pm_aout_json_frames(stdout, &fr);
            putchar('}');
        } else if (o->csv) {
            if (!(stack = pm_aout_stack_csv(&fr)))
                goto oom;
            printf("%" PRId64, r->after_bytes - r->before_bytes);
            pm_aout_csv_int(stdout, r->after_blocks - r->before_blocks);
            pm_aout_csv_int(stdout, r->after_bytes);
            pm_aout_csv_int(stdout, r->after_blocks);
            pm_aout_csv_int(stdout, r->before_bytes);
            pm_aout_csv_int(stdout, r->before_blocks);
            pm_aout_csv(stdout, r->key.file, false);
            pm_aout_csv_int(stdout, r->key.line);
            pm_aout_csv(stdout, r->key.function, false);
            pm_aout_csv_int(stdout, r->key.stack);
            pm_aout_csv(stdout, stack, false);
            pm_aout_csv_end(stdout);
        } else {
            loc = pm_aout_location(r->key.file, r->key.line);
            stack = pm_aout_stack_text(&fr, 6);
            if (!loc || !stack ||
                pm_table_add(
                    tab, pm_aout_size(s1, r->after_bytes - r->before_bytes, o->bytes, true)) < 0 ||
                pm_table_addf(tab, "%+" PRId64, r->after_blocks - r->before_blocks) < 0 ||
                pm_table_add(tab, pm_aout_size(s1, r->after_bytes, o->bytes, false)) < 0 ||
                pm_table_add_raw(tab, loc) < 0 || pm_table_add(tab, r->key.function) < 0 ||
                pm_table_add_raw(tab, stack) < 0) {
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
        pm_table_print_limited(tab, shown, ch->n, "stack");
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
cmd_leaks(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_AOPT_LONG,
        {"since", required_argument, NULL, OPT_SINCE},
        {NULL, 0, NULL, 0},
    };
    struct pm_aopts o;
    struct since since = {0};
    struct pm_target t;
    struct pm_snapshot_list list = {0};
    struct pm_analysis_amounts before = {0}, after = {0};
    struct pm_analysis_changes ch = {0};
    struct pm_diag diag = {0};
    long end, base;
    int c, rc;

    pm_aopts_init(&o);
    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        if (c == OPT_SINCE) {
            if (parse_since(optarg, &since))
                return PM_EXIT_USAGE;
            continue;
        }
        if ((rc = pm_aopt_handle("leaks", c, optarg, &o)) < 0)
            return pm_bad_option("leaks", c, argv);
        if (rc)
            return rc;
        if (o.help) {
            fputs(usage, stdout);
            return PM_EXIT_OK;
        }
    }
    if (optind < argc)
        return pm_extra_args("leaks", argv[optind]);
    if ((rc = pm_aopts_check("leaks", &o)) != 0)
        return rc;
    if ((rc = pm_target_open(&t, o.file, o.run, o.pid, 0)) != PM_EXIT_OK)
        return rc;
    rc = PM_EXIT_DATA;
    if (pm_query_snapshots(t.q, t.proc.id, &list, &diag) < 0) {
        pm_error("%s", diag.msg);
        goto out;
    }
    if ((rc = pick(&t, &list, &since, &end, &base)) != PM_EXIT_OK)
        goto out;
    rc = PM_EXIT_DATA;
    if ((base >= 0 && pm_analysis_at(t.q, t.proc.id, list.v[base].id, PM_ANALYSIS_BY_STACK, &before,
                                     &diag) < 0) ||
        pm_analysis_at(t.q, t.proc.id, list.v[end].id, PM_ANALYSIS_BY_STACK, &after, &diag) < 0 ||
        pm_analysis_compare(&before, &after, PM_ANALYSIS_GROWN, &ch, &diag) < 0) {
        pm_error("%s", diag.msg);
        goto out;
    }
    rc = print_rows(t.q, &t, &o, &list.v[end], base >= 0 ? &list.v[base] : NULL, &ch,
                    pm_aopts_shown(&o, ch.n));
    rc = pm_aout_finish(rc);
out:
    pm_analysis_changes_clear(&ch);
    pm_analysis_amounts_clear(&before);
    pm_analysis_amounts_clear(&after);
    pm_snapshot_list_clear(&list);
    pm_target_close(&t);
    return rc;
}
