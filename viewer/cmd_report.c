/* SPDX-License-Identifier: MIT */
/* pymem-view report: one self-contained HTML page with the summary of a run, the timeline of a
 * process, its top lines and its flame graph at one snapshot. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "out.h"
#include "visual.h"

static const char usage[] =
    "usage: pymem-view report [--peak | --final | --snapshot ID] [-f FILE] [--run RUN]\n"
    "                         [--pid PID] [-o FILE] [--limit N] [--json]\n"
    "\n"
    "One self-contained HTML page (no network): the processes of the run with their peaks\n"
    "and the heap left at exit, the heap and RSS timeline of the process with its peak, the\n"
    "source lines holding the most memory at the snapshot (as 'pymem-view top'), and the\n"
    "flame graph of that snapshot.\n"
    "\n"
    "  --peak           the latest peak snapshot of the process (default)\n"
    "  --final          the latest final snapshot (at exit)\n"
    "  --snapshot ID    the snapshot with this id (see 'pymem-view snapshots')\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        a run of the file (default: the latest; see 'pymem-view runs')\n"
    "  --pid PID        a process of the run, by pid (default: the run's root)\n"
    "  -o, --output FILE  write there instead of stdout\n"
    "  --limit N        rows of the top table (default 50; 0 shows all)\n"
    "  --json           the page's data as one JSON object instead of HTML\n"
    "  -h, --help       show this help\n";

enum { OPT_LIMIT = 700 };

#define MAX_POINTS 2000         /* timeline points in the page; more are merged, keeping maxima */

/* One object per process of the run: who it is, how it ended, its peak and final heap. */
static int
write_processes(FILE *f, struct pm_target *t)
{
    struct pm_process_list procs = { 0 };
    struct pm_diag diag = { 0 };
    size_t shown = 0;

    if (pm_query_processes(t->q, &procs, &diag) < 0) {
        pm_error("%s", diag.msg);
        return PM_EXIT_DATA;
    }
    fputs("[", f);
    for (size_t i = 0; i < procs.n; i++) {
        const struct pm_process_info *p = &procs.v[i];
        struct pm_snapshot_list snaps = { 0 };
        const struct pm_snapshot_info *peak = NULL, *final = NULL;

        if (p->run != t->proc.run)
            continue;
        if (pm_query_snapshots(t->q, p->id, &snaps, &diag) < 0) {
            pm_error("%s", diag.msg);
            pm_process_list_clear(&procs);
            return PM_EXIT_DATA;
        }
        for (size_t s = 0; s < snaps.n; s++) {
            const struct pm_snapshot_info *sn = &snaps.v[s];
            if (!peak || sn->heap_bytes > peak->heap_bytes)
                peak = sn;
            if (strcmp(sn->kind, "final") == 0)
                final = sn;
        }
        fprintf(f, "%s\n{\"id\": %" PRId64 ", \"parent\": %" PRId64 ", \"pid\": %" PRId64
                   ", \"argv\": ", shown++ ? "," : "", p->id, p->parent, p->pid);
        pm_json_argv(f, p->argv_json);
        fputs(", \"python_version\": ", f);
        pm_json_string(f, p->python_version);
        fputs(", \"start_time\": ", f);
        pm_json_double(f, p->start_time);
        fputs(", \"end_time\": ", f);
        if (p->has_end_time)
            pm_json_double(f, p->end_time);
        else
            fputs("null", f);
        fputs(", \"end_reason\": ", f);
        pm_json_string(f, p->end_reason);
        if (p->has_exit_status)
            fprintf(f, ", \"exit_status\": %" PRId64, p->exit_status);
        else
            fputs(", \"exit_status\": null", f);
        fprintf(f, ", \"snapshots\": %zu, \"peak\": ", snaps.n);
        if (peak)
            pm_json_snapshot(f, peak);
        else
            fputs("null", f);
        fputs(", \"final\": ", f);
        if (final)
            pm_json_snapshot(f, final);
        else
            fputs("null", f);
        fputc('}', f);
        pm_snapshot_list_clear(&snaps);
    }
    fputs("]", f);
    pm_process_list_clear(&procs);
    return PM_EXIT_OK;
}

/* [[time, heap, rss], ...], at most MAX_POINTS: runs of points merged into their maxima. */
static void
write_timeline(FILE *f, const struct pm_timeline *tl)
{
    size_t group = (tl->n + MAX_POINTS - 1) / MAX_POINTS, out = 0;

    group = group ? group : 1;
    fputs("[", f);
    for (size_t i = 0; i < tl->n; i += group) {
        struct pm_timeline_point p = tl->v[i];
        for (size_t j = i + 1; j < i + group && j < tl->n; j++) {
            if (tl->v[j].heap_bytes > p.heap_bytes) {
                p.heap_bytes = tl->v[j].heap_bytes;
                p.time = tl->v[j].time;
            }
            if (tl->v[j].rss_bytes > p.rss_bytes)
                p.rss_bytes = tl->v[j].rss_bytes;
        }
        fputs(out++ ? ",[" : "[", f);
        pm_json_double(f, p.time);
        fprintf(f, ", %" PRId64 ", %" PRId64 "]", p.heap_bytes, p.rss_bytes);
    }
    fputs("]", f);
}

static void
write_top(FILE *f, const struct pm_top_list *rows, size_t shown)
{
    fputs("[", f);
    for (size_t i = 0; i < shown; i++) {
        const struct pm_top_row *r = &rows->v[i];
        fputs(i ? ",\n[" : "\n[", f);
        pm_json_string(f, r->file);
        fprintf(f, ", %" PRId64 ", ", r->line);
        pm_json_string(f, r->function);
        fprintf(f, ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "]", r->self_bytes,
                r->self_blocks, r->total_bytes, r->total_blocks);
    }
    fputs("]", f);
}

int
cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_OPTS_SNAPSHOT,
        PM_OPTS_TARGET,
        PM_OPTS_PID,
        { "output", required_argument, NULL, 'o' },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "json", no_argument, NULL, PM_OPT_JSON },
        PM_OPTS_END,
    };
    struct pm_snap_choice choice = { .id = -1, .kind = "peak" };
    const char *file = PM_DEFAULT_FILE, *output = NULL;
    int64_t pid = -1, run = 0, limit = 50;
    int c, json = 0, rc;
    size_t shown;
    struct pm_target t;
    struct pm_snapshot_info snap = { 0 };
    struct pm_snapshot_list snaps = { 0 };
    struct pm_timeline tl = { 0 };
    struct pm_top_list top = { 0 };
    struct pm_sample_list samples = { 0 };
    struct pm_ctree tree = { 0 };
    struct pm_membuf m = { 0 };
    struct pm_diag diag = { 0 };

    const struct pm_common_opts co = { usage, &file, &run, &pid, &json, &choice };

    while ((c = getopt_long(argc, argv, ":hf:o:", opts, NULL)) != -1) {
        if ((rc = pm_common_option(&co, c, optarg)) != PM_OPT_NOT_MINE) {
            if (rc != PM_OPT_TAKEN)
                return rc;
            continue;
        }
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case OPT_LIMIT:
            if (pm_parse_int("--limit", optarg, 0, &limit))
                return PM_EXIT_USAGE;
            break;
        default:
            return pm_bad_option("report", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("report", argv[optind]);
    if (choice.picked > 1) {
        pm_error("--peak, --final and --snapshot exclude each other; "
                 "see 'pymem-view report --help'");
        return PM_EXIT_USAGE;
    }
    if ((rc = pm_target_open(&t, file, run, pid, 0)) != PM_EXIT_OK)
        return rc;
    if ((rc = pm_snap_load(&t, &choice, &snap)) != PM_EXIT_OK ||
        (rc = pm_samples_load(&t, snap.id, &samples)) != PM_EXIT_OK)
        goto out;
    rc = PM_EXIT_DATA;
    if (pm_query_timeline(t.q, t.proc.id, &tl, &diag) < 0 ||
        pm_query_snapshots(t.q, t.proc.id, &snaps, &diag) < 0 ||
        pm_query_top(t.q, t.proc.id, snap.id, &top, &diag) < 0) {
        pm_error("%s", diag.msg);
        goto out;
    }
    if (pm_ctree_init(&tree, samples.frames) < 0 || pm_ctree_add_samples(&tree, &samples) < 0 ||
        pm_ctree_finish(&tree) < 0 || pm_membuf_open(&m) < 0) {
        rc = pm_error_oom();
        goto out;
    }
    fputs("{\"page\": \"report\", \"process\": ", m.f);
    pm_json_process(m.f, &t.proc);
    fputs(", \"snapshot\": ", m.f);
    pm_json_snapshot(m.f, &snap);
    fputs(",\n\"processes\": ", m.f);
    if ((rc = write_processes(m.f, &t)) != PM_EXIT_OK)
        goto out;
    fputs(",\n\"timeline\": ", m.f);
    write_timeline(m.f, &tl);
    fputs(",\n\"snapshots\": [", m.f);
    for (size_t i = 0; i < snaps.n; i++) {
        fputs(i ? ",\n" : "\n", m.f);
        pm_json_snapshot(m.f, &snaps.v[i]);
    }
    shown = limit == 0 || (uint64_t)limit > top.n ? top.n : (size_t)limit;
    fprintf(m.f, "],\n\"top_rows\": %zu, \"top\": ", top.n);
    write_top(m.f, &top, shown);
    fputs(",\n\"flame\": ", m.f);
    pm_flame_json(m.f, &tree);
    fputs("}\n", m.f);
    rc = json ? pm_membuf_emit(output, &m) : pm_html_write(output, &m);
out:
    pm_membuf_release(&m);
    pm_ctree_release(&tree);
    pm_sample_list_clear(&samples);
    pm_top_list_clear(&top);
    pm_timeline_clear(&tl);
    pm_snapshot_list_clear(&snaps);
    pm_snapshot_info_clear(&snap);
    pm_target_close(&t);
    return rc;
}
