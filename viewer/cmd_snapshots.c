/* SPDX-License-Identifier: MIT */
/* pymem-view snapshots: the snapshots of one process. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "alloc.h"
#include "cmd.h"
#include "out.h"

static const char usage[] =
    "usage: pymem-view snapshots [-f FILE] [--run RUN] [--pid PID] [--bytes] [--json | --csv]\n"
    "\n"
    "The snapshots of a process, oldest first: their id (for 'top --snapshot ID'), kind,\n"
    "label, seconds since the process started, heap, RSS and pymem's own memory.\n"
    "\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        a run of the file (see 'pymem-view runs'; default: the latest)\n"
    "  --pid PID        a process of the run, by pid (default: the run's root)\n"
    "  --bytes          exact numbers of bytes instead of human sizes\n"
    "  --json           print one JSON object instead of a table\n"
    "  --csv            print the snapshots as CSV (RFC 4180) with a header line\n"
    "  -h, --help       show this help\n";

enum { OPT_CSV = 256, OPT_BYTES };

static void
print_json(const struct pm_target *t, const struct pm_snapshot_list *list)
{
    printf("{\"process\": {\"id\": %" PRId64 ", \"pid\": %" PRId64 ", \"argv\": ",
           t->proc.id, t->proc.pid);
    pm_json_argv(stdout, t->proc.argv_json);
    fputs("}, \"snapshots\": [", stdout);
    for (size_t i = 0; i < list->n; i++) {
        const struct pm_snapshot_info *s = &list->v[i];
        printf("%s{\"id\": %" PRId64 ", \"kind\": ", i ? ",\n  " : "\n  ", s->id);
        pm_json_string(stdout, s->kind);
        fputs(", \"label\": ", stdout);
        pm_json_string(stdout, s->label);
        fputs(", \"time\": ", stdout);
        pm_json_double(stdout, s->time);
        printf(", \"heap_bytes\": %" PRId64 ", \"heap_blocks\": %" PRId64 ", \"rss_bytes\": %"
               PRId64 ", \"tool_bytes\": %" PRId64 "}",
               s->heap_bytes, s->heap_blocks, s->rss_bytes, s->tool_bytes);
    }
    fputs(list->n ? "\n]}\n" : "]}\n", stdout);
}

static void
print_csv(const struct pm_snapshot_list *list)
{
    fputs("id,kind,label,time,heap_bytes,heap_blocks,rss_bytes,tool_bytes" PM_CSV_EOL, stdout);
    for (size_t i = 0; i < list->n; i++) {
        const struct pm_snapshot_info *s = &list->v[i];
        printf("%" PRId64 ",", s->id);
        pm_csv_field(stdout, s->kind);
        putchar(',');
        pm_csv_field(stdout, s->label);
        printf(",%.15g,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 PM_CSV_EOL, s->time,
               s->heap_bytes, s->heap_blocks, s->rss_bytes, s->tool_bytes);
    }
}

static int
print_text(const struct pm_target *t, const struct pm_snapshot_list *list, bool exact)
{
    static const char *const headers[] = {
        "ID", "KIND", "TIME", "HEAP", "BLOCKS", "RSS", "TOOL", "LABEL",
    };
    struct pm_table *tab = pm_table_new(headers, "rlrrrrrl");
    char *argv_text = pm_argv_text(t->proc.argv_json);
    char a[PM_SIZE_LEN], b[PM_SIZE_LEN], c[PM_SIZE_LEN];
    int rc = PM_EXIT_OK;

    if (!tab || !argv_text) {
        rc = pm_error_oom();
        goto out;
    }
    printf("process %" PRId64 " (pid %" PRId64 "): %s\n\n", t->proc.id, t->proc.pid, argv_text);
    pm_table_for_stdout(tab, "rrrrrrrt");
    for (size_t i = 0; i < list->n; i++) {
        const struct pm_snapshot_info *s = &list->v[i];
        if (pm_table_addf(tab, "%" PRId64, s->id) < 0 || pm_table_add(tab, s->kind) < 0 ||
            pm_table_addf(tab, "%.2f s", s->time) < 0 ||
            pm_table_add(tab, pm_fmt_bytes(a, s->heap_bytes, exact)) < 0 ||
            pm_table_addf(tab, "%" PRId64, s->heap_blocks) < 0 ||
            pm_table_add(tab, pm_fmt_bytes(b, s->rss_bytes, exact)) < 0 ||
            pm_table_add(tab, pm_fmt_bytes(c, s->tool_bytes, exact)) < 0 ||
            pm_table_add(tab, s->label ? s->label : "") < 0) {
            rc = pm_error_oom();
            goto out;
        }
    }
    pm_table_print(tab, stdout);
out:
    pm_table_free(tab);
    pm_free(argv_text);
    return rc;
}

int
cmd_snapshots(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_OPTS_TARGET,
        PM_OPTS_PID,
        { "bytes", no_argument, NULL, OPT_BYTES },
        { "json", no_argument, NULL, PM_OPT_JSON },
        { "csv", no_argument, NULL, OPT_CSV },
        PM_OPTS_END,
    };
    const char *file = PM_DEFAULT_FILE;
    int64_t pid = -1, run = 0;
    int c, json = 0, csv = 0, exact = 0, rc;
    struct pm_target t;
    struct pm_snapshot_list list = { 0 };
    struct pm_diag diag = { 0 };

    const struct pm_common_opts co = { usage, &file, &run, &pid, &json, NULL };

    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        if ((rc = pm_common_option(&co, c, optarg)) != PM_OPT_NOT_MINE) {
            if (rc != PM_OPT_TAKEN)
                return rc;
            continue;
        }
        switch (c) {
        case OPT_BYTES:
            exact = 1;
            break;
        case OPT_CSV:
            csv = 1;
            break;
        default:
            return pm_bad_option("snapshots", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("snapshots", argv[optind]);
    if (json && csv) {
        pm_error("--json and --csv exclude each other; see 'pymem-view snapshots --help'");
        return PM_EXIT_USAGE;
    }
    if ((rc = pm_target_open(&t, file, run, pid, 0)) != PM_EXIT_OK)
        return rc;
    if (pm_query_snapshots(t.q, t.proc.id, &list, &diag) < 0) {
        pm_error("%s", diag.msg);
        rc = PM_EXIT_DATA;
        goto out;
    }
    if (json)
        print_json(&t, &list);
    else if (csv)
        print_csv(&list);
    else
        rc = print_text(&t, &list, exact);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pm_error("cannot write the output");
        rc = PM_EXIT_DATA;
    }
out:
    pm_snapshot_list_clear(&list);
    pm_target_close(&t);
    return rc;
}
