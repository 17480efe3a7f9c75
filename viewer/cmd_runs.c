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
    "usage: pymem-view runs [-f FILE] [--json]\n"
    "\n"
    "The runs in the profile (a run is a process tree; several runs can share one file) and\n"
    "their processes: id, pid, parent pid, parent process, start time (UTC), how the process\n"
    "ended (\"exit 0\", \"signal 9\"; \"-\" while running or when it was killed) and argv.\n"
    "\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --json           print one JSON object instead of a table\n"
    "  -h, --help       show this help\n";

enum { OPT_JSON = 256 };

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
        { "file", required_argument, NULL, 'f' },
        { "json", no_argument, NULL, OPT_JSON },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *file = PM_DEFAULT_FILE;
    int c, json = 0, rc;
    struct pm_target t;
    struct pm_process_list list = { 0 };
    struct pm_diag diag = { 0 };

    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return PM_EXIT_OK;
        case 'f':
            file = optarg;
            break;
        case OPT_JSON:
            json = 1;
            break;
        default:
            return pm_bad_option("runs", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("runs", argv[optind]);
    if ((rc = pm_target_open(&t, file, 0, -1, 1)) != PM_EXIT_OK)
        return rc;
    if (pm_query_processes(t.q, &list, &diag) < 0) {
        pm_error("%s", diag.msg);
        rc = PM_EXIT_DATA;
        goto out;
    }
    if (json)
        print_json(&list);
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
