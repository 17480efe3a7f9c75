/* SPDX-License-Identifier: MIT */
/* pymem-view runs: every run in the file (a process tree) and its processes. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "alloc.h"
#include "cmd.h"
#include "out.h"

static const char usage[] =
    "usage: pymem-view runs [-f FILE] [--run RUN] [--json | --csv]\n"
    "\n"
    "The runs in the profile (a run is a process tree; several runs can share one file) and\n"
    "their processes: id, pid, parent pid, parent process, start time (UTC), how the process\n"
    "ended (\"exit 0\", \"signal 9\"; \"-\" while running or when it was killed) and argv.\n"
    "\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        only this run\n"
    "  --json           print one JSON object instead of a table\n"
    "  --csv            print the processes as CSV (RFC 4180) with a header line\n"
    "  -h, --help       show this help\n";

enum { OPT_CSV = 256 };

static void
print_json(const struct pm_process_list *list)
{
    fputs("{\"runs\": [", stdout);
    for (size_t i = 0; i < list->n; i++) {
        const struct pm_process_info *p = &list->v[i];
        bool first = i == 0 || list->v[i - 1].run != p->run;
        bool last = i + 1 == list->n || list->v[i + 1].run != p->run;

        if (first)
            printf("%s{\"run\": %" PRId64 ", \"processes\": [", i ? ",\n  " : "\n  ", p->run);
        printf("\n    {\"id\": %" PRId64 ", \"pid\": %" PRId64 ", \"ppid\": %" PRId64
               ", \"parent\": ", p->id, p->pid, p->ppid);
        if (p->parent)
            printf("%" PRId64, p->parent);
        else
            fputs("null", stdout);
        fputs(", \"argv\": ", stdout);
        pm_json_argv(stdout, p->argv_json);
        fputs(", \"python_version\": ", stdout);
        pm_json_string(stdout, p->python_version);
        fputs(", \"start_time\": ", stdout);
        pm_json_double(stdout, p->start_time);
        fputs(", \"end_time\": ", stdout);
        if (p->has_end_time)
            pm_json_double(stdout, p->end_time);
        else
            fputs("null", stdout);
        fputs(", \"end_reason\": ", stdout);
        pm_json_string(stdout, p->end_reason);
        fputs(", \"exit_status\": ", stdout);
        if (p->has_exit_status)
            printf("%" PRId64, p->exit_status);
        else
            fputs("null", stdout);
        fputs(last ? "}\n  ]}" : "},", stdout);
    }
    fputs(list->n ? "\n]}\n" : "]}\n", stdout);
}

/* Unix seconds as "2024-01-31T12:00:00Z". */
static const char *
fmt_time(char buf[32], double t)
{
    struct tm tm;
    time_t s = isfinite(t) && t >= 0 && t < 1e15 ? (time_t)t : 0;

    if (!gmtime_r(&s, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "?");
    return buf;
}

static void
print_csv(const struct pm_process_list *list)
{
    fputs("run,id,pid,ppid,parent,start_time,end_time,end_reason,exit_status,python_version,argv"
          PM_CSV_EOL, stdout);
    for (size_t i = 0; i < list->n; i++) {
        const struct pm_process_info *p = &list->v[i];
        printf("%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",", p->run, p->id, p->pid, p->ppid);
        if (p->parent)
            printf("%" PRId64, p->parent);
        printf(",%.15g,", p->start_time);
        if (p->has_end_time)
            printf("%.15g", p->end_time);
        putchar(',');
        pm_csv_field(stdout, p->end_reason);
        putchar(',');
        if (p->has_exit_status)
            printf("%" PRId64, p->exit_status);
        putchar(',');
        pm_csv_field(stdout, p->python_version);
        putchar(',');
        pm_csv_field(stdout, pm_json_argv_valid(p->argv_json) ? p->argv_json : "[]");
        fputs(PM_CSV_EOL, stdout);
    }
}

static int
print_text(const struct pm_process_list *list)
{
    static const char *const headers[] = {
        "RUN", "ID", "PID", "PPID", "PARENT", "START", "ENDED", "ARGV",
    };
    struct pm_table *tab = pm_table_new(headers, "rrrrrlll");
    int rc = PM_EXIT_OK;
    char when[32];

    if (!tab)
        return pm_error_oom();
    pm_table_for_stdout(tab, "rrrrrllt");
    for (size_t i = 0; i < list->n; i++) {
        const struct pm_process_info *p = &list->v[i];
        char *argv_text = pm_argv_text(p->argv_json);
        char *reason = p->end_reason ? pm_text_escape(p->end_reason) : NULL;
        int err = !argv_text || (p->end_reason && !reason) ||
                  pm_table_addf(tab, "%" PRId64, p->run) < 0 ||
                  pm_table_addf(tab, "%" PRId64, p->id) < 0 ||
                  pm_table_addf(tab, "%" PRId64, p->pid) < 0 ||
                  pm_table_addf(tab, "%" PRId64, p->ppid) < 0 ||
                  (p->parent ? pm_table_addf(tab, "%" PRId64, p->parent)
                             : pm_table_add(tab, NULL)) < 0 ||
                  pm_table_add(tab, fmt_time(when, p->start_time)) < 0 ||
                  (!reason ? pm_table_add(tab, NULL)
                   : p->has_exit_status ? pm_table_addf(tab, "%s %" PRId64, reason, p->exit_status)
                   : pm_table_add_raw(tab, reason)) < 0 ||
                  pm_table_add_raw(tab, argv_text) < 0;
        pm_free(argv_text);
        pm_free(reason);
        if (err) {
            rc = pm_error_oom();
            goto out;
        }
    }
    pm_table_print(tab, stdout);
out:
    pm_table_free(tab);
    return rc;
}

int
cmd_runs(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_OPTS_TARGET,
        { "json", no_argument, NULL, PM_OPT_JSON },
        { "csv", no_argument, NULL, OPT_CSV },
        PM_OPTS_END,
    };
    const char *file = PM_DEFAULT_FILE;
    int64_t run = 0;
    int c, json = 0, csv = 0, rc;
    struct pm_target t;
    struct pm_process_list list = { 0 };
    struct pm_diag diag = { 0 };

    const struct pm_common_opts co = { usage, &file, &run, NULL, &json, NULL };

    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        if ((rc = pm_common_option(&co, c, optarg)) != PM_OPT_NOT_MINE) {
            if (rc != PM_OPT_TAKEN)
                return rc;
            continue;
        }
        switch (c) {
        case OPT_CSV:
            csv = 1;
            break;
        default:
            return pm_bad_option("runs", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("runs", argv[optind]);
    if (json && csv) {
        pm_error("--json and --csv exclude each other; see 'pymem-view runs --help'");
        return PM_EXIT_USAGE;
    }
    /* With --run, opening the run's root process checks that the run exists. */
    if ((rc = pm_target_open(&t, file, run, -1, run == 0)) != PM_EXIT_OK)
        return rc;
    if (pm_query_processes(t.q, &list, &diag) < 0) {
        pm_error("%s", diag.msg);
        rc = PM_EXIT_DATA;
        goto out;
    }
    if (run) {
        size_t kept = 0;
        for (size_t i = 0; i < list.n; i++) {
            if (list.v[i].run == run)
                list.v[kept++] = list.v[i];
            else
                pm_process_info_clear(&list.v[i]);
        }
        list.n = kept;
    }
    if (json)
        print_json(&list);
    else if (csv)
        print_csv(&list);
    else
        rc = print_text(&list);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pm_error("cannot write the output");
        rc = PM_EXIT_DATA;
    }
out:
    pm_process_list_clear(&list);
    pm_target_close(&t);
    return rc;
}
