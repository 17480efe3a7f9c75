/* SPDX-License-Identifier: MIT */
/* pymem-view summary: a run at a glance: its processes and how each ended, then for one of them
 * the duration, the heap peak and what held it, the RSS peak, the heap at exit, the snapshots
 * and pymem's own memory. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "analysis_out.h"
#include "cmd.h"
#include "out.h"

static const char usage[] =
    "usage: pymem-view summary [-f FILE] [--run RUN] [--pid PID] [--bytes] [--json]\n"
    "\n"
    "The run at a glance: its processes (pid, how each ended, how long it ran), then for one\n"
    "process the heap peak with the three lines holding most of it, the RSS peak, the heap at\n"
    "exit, the snapshots taken and pymem's own memory. Times are seconds since the process\n"
    "started; the start is shown in UTC.\n"
    "\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        the run to show (default: the latest; see 'pymem-view runs')\n"
    "  --pid PID        the process to detail, by pid (default: the run's root)\n"
    "  --bytes          exact byte counts instead of human sizes\n"
    "  --json           print one JSON object instead of text\n"
    "  -h, --help       show this help\n";

/* What the summary says about one process. */
struct facts {
    const struct pm_process_info *p;
    struct pm_analysis_stats stats;
    double duration; /* end - start, or the last time seen */
    bool ended;
};

/* How the process ended, in words. */
static void
ended_text(const struct pm_process_info *p, char *buf, size_t size)
{
    const char *r = p->end_reason;
    long long st = p->has_exit_status ? (long long)p->exit_status : -1;
    const char *sig = p->has_exit_status && st > 0 && st < 65 ? sigabbrev_np((int)st) : NULL;

    if (!r)
        snprintf(buf, size, "no end recorded: killed (SIGKILL, out of memory) or still running");
    else if (strcmp(r, "exit") == 0)
        snprintf(buf, size, "exited with status %lld", st);
    else if (strcmp(r, "_exit") == 0)
        snprintf(buf, size, "exited with status %lld (os._exit)", st);
    else if (strcmp(r, "fork-exit") == 0)
        snprintf(buf, size, "exited with status %lld (forked child)", st);
    else if (strcmp(r, "exec") == 0)
        snprintf(buf, size, "replaced by exec");
    else if (strcmp(r, "signal") == 0 && sig)
        snprintf(buf, size, "killed by signal %lld (SIG%s)", st, sig);
    else if (strcmp(r, "signal") == 0)
        snprintf(buf, size, "killed by signal %lld", st);
    else
        snprintf(buf, size, "ended (%.32s, status %lld)", r, st);
}

static int
load_facts(struct pm_query *a, const struct pm_process_info *p, struct facts *f)
{
    struct pm_diag diag = {0};

    *f = (struct facts){.p = p, .ended = p->has_end_time};
    if (pm_analysis_stats(a, p->id, &f->stats, &diag) < 0) {
        pm_error("%s", diag.msg);
        return PM_EXIT_DATA;
    }
    f->duration = p->has_end_time ? p->end_time - p->start_time : f->stats.last_seen;
    return PM_EXIT_OK;
}

/* The depth of a process in its run's tree (0 for the root), bounded against cycles. */
static int
depth_of(const struct pm_process_list *l, const struct pm_process_info *p)
{
    int d = 0;

    while (p->parent && d < 64) {
        const struct pm_process_info *up = NULL;
        for (size_t i = 0; i < l->n && !up; i++)
            if (l->v[i].id == p->parent && l->v[i].run == p->run)
                up = &l->v[i];
        if (!up)
            break;
        p = up;
        d++;
    }
    return d;
}

/* The snapshots of the detailed process, reduced to what the summary shows (indices, -1 none). */
struct snaps {
    long peak, final, last;
};

static struct snaps
pick_snaps(const struct pm_snapshot_list *l)
{
    struct snaps s = {-1, -1, l->n ? (long)l->n - 1 : -1};

    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].kind, "final") == 0)
            s.final = (long)i;
    /* The peak snapshot holding the most; any snapshot if there is no peak one. */
    for (int pass = 0; pass < 2 && s.peak < 0; pass++)
        for (size_t i = 0; i < l->n; i++)
            if ((pass || strcmp(l->v[i].kind, "peak") == 0) &&
                (s.peak < 0 || l->v[i].heap_bytes > l->v[s.peak].heap_bytes))
                s.peak = (long)i;
    return s;
}

static void
json_kinds(const struct pm_snapshot_list *l)
{
    printf("{\"total\": %zu, \"by_kind\": {", l->n);
    for (size_t i = 0, out = 0; i < l->n; i++) {
        size_t n = 0;
        bool seen = false;
        for (size_t j = 0; j < l->n; j++) {
            seen |= j < i && strcmp(l->v[j].kind, l->v[i].kind) == 0;
            n += strcmp(l->v[j].kind, l->v[i].kind) == 0;
        }
        if (seen)
            continue;
        fputs(out++ ? ", " : "", stdout);
        pm_json_string(stdout, l->v[i].kind);
        printf(": %zu", n);
    }
    fputs("}}", stdout);
}

static int
text_kinds(const struct pm_snapshot_list *l)
{
    printf("  snapshots       %zu", l->n);
    for (size_t i = 0, out = 0; i < l->n; i++) {
        size_t n = 0;
        bool seen = false;
        char *k;
        for (size_t j = 0; j < l->n; j++) {
            seen |= j < i && strcmp(l->v[j].kind, l->v[i].kind) == 0;
            n += strcmp(l->v[j].kind, l->v[i].kind) == 0;
        }
        if (seen)
            continue;
        if (!(k = pm_text_escape(l->v[i].kind)))
            return pm_error_oom();
        printf("%s%zu %s", out++ ? ", " : ": ", n, k);
        pm_free(k);
    }
    putchar('\n');
    return PM_EXIT_OK;
}

static void
json_process(const struct facts *f)
{
    const struct pm_process_info *p = f->p;
    char ended[160];

    ended_text(p, ended, sizeof(ended));
    printf("{\"id\": %" PRId64 ", \"pid\": %" PRId64 ", \"ppid\": %" PRId64 ", \"parent\": ", p->id,
           p->pid, p->ppid);
    if (p->parent)
        printf("%" PRId64, p->parent);
    else
        fputs("null", stdout);
    fputs(", \"argv\": ", stdout);
    pm_json_argv(stdout, p->argv_json);
    fputs(", \"start_time\": ", stdout);
    pm_json_double(stdout, p->start_time);
    fputs(", \"duration\": ", stdout);
    pm_json_double(stdout, f->duration);
    printf(", \"ended\": %s, \"end_reason\": ", f->ended ? "true" : "false");
    pm_json_string(stdout, p->end_reason);
    fputs(", \"exit_status\": ", stdout);
    if (p->has_exit_status)
        printf("%" PRId64, p->exit_status);
    else
        fputs("null", stdout);
    fputs(", \"how\": ", stdout);
    pm_json_string(stdout, ended);
    putchar('}');
}

static void
json_top(const struct pm_top_list *top, size_t shown)
{
    putchar('[');
    for (size_t i = 0; i < shown; i++) {
        fputs(i ? ", {\"file\": " : "{\"file\": ", stdout);
        pm_json_string(stdout, top->v[i].file);
        printf(", \"line\": %" PRId64 ", \"function\": ", top->v[i].line);
        pm_json_string(stdout, top->v[i].function);
        printf(", \"self_bytes\": %" PRId64 ", \"self_blocks\": %" PRId64 "}", top->v[i].self_bytes,
               top->v[i].self_blocks);
    }
    putchar(']');
}

static void
print_json(const struct pm_process_list *run, const struct facts *all, const struct facts *me,
           const struct pm_snapshot_list *l, struct snaps s, const struct pm_top_list *top)
{
    size_t shown = 0;

    while (shown < top->n && shown < 3 && top->v[shown].self_bytes > 0)
        shown++;

    printf("{\"run\": %" PRId64 ", \"processes\": [", me->p->run);
    for (size_t i = 0; i < run->n; i++) {
        fputs(i ? ",\n  " : "\n  ", stdout);
        json_process(&all[i]);
    }
    fputs("],\n \"process\": ", stdout);
    pm_aout_json_process(stdout, me->p);
    fputs(", \"duration\": ", stdout);
    pm_json_double(stdout, me->duration);
    printf(", \"ended\": %s,\n \"heap_peak\": ", me->ended ? "true" : "false");
    if (s.peak >= 0) {
        fputs("{\"snapshot\": ", stdout);
        pm_aout_json_snapshot(stdout, &l->v[s.peak]);
        fputs(", \"top\": ", stdout);
        json_top(top, shown);
        putchar('}');
    } else {
        fputs("null", stdout);
    }
    fputs(",\n \"rss_peak\": ", stdout);
    if (me->stats.rss_peak) {
        printf("{\"bytes\": %" PRId64 ", \"time\": ", me->stats.rss_peak);
        pm_json_double(stdout, me->stats.rss_peak_time);
        putchar('}');
    } else {
        fputs("null", stdout);
    }
    fputs(", \"heap_at_exit\": ", stdout);
    if (s.final >= 0)
        pm_aout_json_snapshot(stdout, &l->v[s.final]);
    else
        fputs("null", stdout);
    fputs(",\n \"snapshots\": ", stdout);
    json_kinds(l);
    fputs(", \"tool_bytes\": ", stdout);
    if (s.last >= 0)
        printf("{\"snapshot\": %" PRId64 ", \"bytes\": %" PRId64 "}", l->v[s.last].id,
               l->v[s.last].tool_bytes);
    else
        fputs("null", stdout);
    fputs("}\n", stdout);
}

static int
print_text(const struct pm_process_list *run, const struct facts *all, const struct facts *me,
           const struct pm_snapshot_list *l, struct snaps s, const struct pm_top_list *top,
           bool exact)
{
    static const char *const headers[] = {"PID", "PARENT", "DURATION", "ENDED", "COMMAND"};
    struct pm_table *tab = pm_table_new(headers, "lrrll");
    char when[64], ended[160], a1[32], a2[32];
    time_t start = (time_t)me->p->start_time;
    struct tm tm;
    int rc = PM_EXIT_OK;

    if (!tab)
        return pm_error_oom();
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&start, &tm));
    printf("run %" PRId64 ": %zu process%s\n\n", me->p->run, run->n, run->n == 1 ? "" : "es");
    for (size_t i = 0; i < run->n; i++) {
        const struct pm_process_info *p = all[i].p;
        char *argv_text = pm_argv_text(p->argv_json);
        int d = depth_of(run, p);
        int err;

        ended_text(p, ended, sizeof(ended));
        err = !argv_text || pm_table_addf(tab, "%*s%" PRId64, 2 * d, "", p->pid) < 0 ||
              (p->parent ? pm_table_addf(tab, "%" PRId64, p->ppid) : pm_table_add(tab, "-")) < 0 ||
              pm_table_addf(tab, "%s%.2f s", all[i].ended ? "" : ">= ", all[i].duration) < 0 ||
              pm_table_add(tab, ended) < 0 || pm_table_add_raw(tab, argv_text) < 0;
        pm_free(argv_text);
        if (err) {
            rc = pm_error_oom();
            goto out;
        }
    }
    pm_table_print(tab, stdout);
    putchar('\n');
    if ((rc = pm_aout_process_line(me->p)) != PM_EXIT_OK)
        goto out;
    ended_text(me->p, ended, sizeof(ended));
    printf("  started         %s\n", when);
    printf("  duration        %s%.2f s, %s\n", me->ended ? "" : ">= ", me->duration, ended);
    if (s.peak >= 0) {
        char *kind = pm_text_escape(l->v[s.peak].kind);
        if (!kind) {
            rc = pm_error_oom();
            goto out;
        }
        printf("  heap peak       %s at %.2f s (snapshot %" PRId64 ", %s)%s\n",
               pm_aout_size(a1, l->v[s.peak].heap_bytes, exact, false), l->v[s.peak].time,
               l->v[s.peak].id, kind, top->n && top->v[0].self_bytes > 0 ? ", most held by:" : "");
        pm_free(kind);
        for (size_t i = 0; i < top->n && i < 3 && top->v[i].self_bytes > 0; i++) {
            char *loc = pm_aout_location(top->v[i].file, top->v[i].line);
            char *fn = pm_text_escape(top->v[i].function);
            if (!loc || !fn) {
                pm_free(loc);
                pm_free(fn);
                rc = pm_error_oom();
                goto out;
            }
            printf("  %25s  %s  %s\n", pm_aout_size(a1, top->v[i].self_bytes, exact, false), loc,
                   fn);
            pm_free(loc);
            pm_free(fn);
        }
    } else {
        printf("  heap peak       unknown: no snapshot\n");
    }
    if (me->stats.rss_peak)
        printf("  rss peak        %s at %.2f s\n",
               pm_aout_size(a1, me->stats.rss_peak, exact, false), me->stats.rss_peak_time);
    else
        printf("  rss peak        unknown: no timeline or snapshot\n");
    if (s.final >= 0)
        printf("  heap at exit    %s (snapshot %" PRId64 ", final, at %.2f s)\n",
               pm_aout_size(a1, l->v[s.final].heap_bytes, exact, false), l->v[s.final].id,
               l->v[s.final].time);
    else
        printf("  heap at exit    unknown: no final snapshot\n");
    if ((rc = text_kinds(l)) != PM_EXIT_OK)
        goto out;
    if (s.last >= 0)
        printf("  pymem's memory  %s (at snapshot %" PRId64 ")\n",
               pm_aout_size(a2, l->v[s.last].tool_bytes, exact, false), l->v[s.last].id);
out:
    pm_table_free(tab);
    return rc;
}

int
cmd_summary(int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"run", required_argument, NULL, PM_AOPT_RUN},
        {"pid", required_argument, NULL, PM_AOPT_PID},
        {"json", no_argument, NULL, PM_AOPT_JSON},
        {"bytes", no_argument, NULL, PM_AOPT_BYTES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct pm_aopts o;
    struct pm_target t;
    struct pm_process_list all = {0}, run = {0};
    struct pm_snapshot_list snaps = {0};
    struct pm_top_list top = {0};
    struct facts *facts = NULL, *me = NULL;
    struct pm_diag diag = {0};
    struct snaps s;
    int c, rc;

    pm_aopts_init(&o);
    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        if ((rc = pm_aopt_handle("summary", c, optarg, &o)) < 0)
            return pm_bad_option("summary", c, argv);
        if (rc)
            return rc;
        if (o.help) {
            fputs(usage, stdout);
            return PM_EXIT_OK;
        }
    }
    if (optind < argc)
        return pm_extra_args("summary", argv[optind]);
    if ((rc = pm_target_open(&t, o.file, o.run, o.pid, 0)) != PM_EXIT_OK)
        return rc;
    rc = PM_EXIT_DATA;
    if (pm_query_processes(t.q, &all, &diag) < 0 ||
        pm_query_snapshots(t.q, t.proc.id, &snaps, &diag) < 0) {
        pm_error("%s", diag.msg);
        goto out;
    }
    /* The processes of the run, borrowed from `all`. */
    if (!(run.v = pm_calloc(all.n ? all.n : 1, sizeof(*run.v))) ||
        !(facts = pm_calloc(all.n ? all.n : 1, sizeof(*facts)))) {
        rc = pm_error_oom();
        goto out;
    }
    for (size_t i = 0; i < all.n; i++)
        if (all.v[i].run == t.proc.run)
            run.v[run.n++] = all.v[i];
    for (size_t i = 0; i < run.n; i++) {
        if (load_facts(t.q, &run.v[i], &facts[i]) != PM_EXIT_OK)
            goto out;
        if (run.v[i].id == t.proc.id)
            me = &facts[i];
    }
    if (!me) {
        pm_error("process %" PRId64 " is not in run %" PRId64, t.proc.id, t.proc.run);
        goto out;
    }
    s = pick_snaps(&snaps);
    if (s.peak >= 0 && pm_query_top(t.q, t.proc.id, snaps.v[s.peak].id, &top, &diag) < 0) {
        pm_error("%s", diag.msg);
        goto out;
    }
    if (o.json) {
        print_json(&run, facts, me, &snaps, s, &top);
        rc = PM_EXIT_OK;
    } else {
        rc = print_text(&run, facts, me, &snaps, s, &top, o.bytes);
    }
    rc = pm_aout_finish(rc);
out:
    pm_free(run.v); /* borrowed entries: cleared with `all` */
    pm_free(facts);
    pm_top_list_clear(&top);
    pm_snapshot_list_clear(&snaps);
    pm_process_list_clear(&all);
    pm_target_close(&t);
    return rc;
}
