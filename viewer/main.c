/* SPDX-License-Identifier: MIT */
/* pymem-view: reads a profile written by libpymem.so. main() takes the global options, then
 * hands the rest of the command line to the command named by the first word. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cmd.h"
#include "out.h"

#ifndef PM_VERSION
#define PM_VERSION "unknown"
#endif

static const struct pm_cmd pm_cmds[] = {
    { "top",       cmd_top,       "source lines ranked by the memory live at a snapshot" },
    { "snapshots", cmd_snapshots, "the snapshots of a process" },
    { "runs",      cmd_runs,      "the runs in the file and their processes" },
    { "summary",    cmd_summary,    "the run at a glance: processes, peaks, how each ended" },
    { "leaks",      cmd_leaks,      "what is still live at the end, minus a baseline" },
    { "growth",     cmd_growth,     "lines whose memory grows steadily across snapshots" },
    { "diff",       cmd_diff,       "compare two snapshots, or one kind in two files" },
    { "timeline",   cmd_timeline,   "heap and RSS over time, drawn in the terminal" },
    { "tree",       cmd_tree,       "the call tree at a snapshot, largest first" },
    { "flamegraph", cmd_flamegraph, "a self-contained HTML flame graph, or folded stacks" },
    { "export",     cmd_export,     "pprof, speedscope, folded, csv or json" },
    { "report",     cmd_report,     "one self-contained HTML page: summary, timeline, top, flames" },
};

static void
usage(FILE *f)
{
    fputs("usage: pymem-view [-h | -V] <command> [<options>]\n"
          "\n"
          "Shows a memory profile written by libpymem.so (default ./" PM_DEFAULT_FILE ").\n"
          "\n"
          "commands:\n", f);
    for (size_t i = 0; i < ARRAY_SIZE(pm_cmds); i++)
        fprintf(f, "  %-10s %s\n", pm_cmds[i].name, pm_cmds[i].summary);
    fputs("\n"
          "options:\n"
          "  -h, --help     show this help\n"
          "  -V, --version  show the version\n"
          "\n"
          "See 'pymem-view <command> --help' for the options of a command.\n", f);
}

int
pm_bad_option(const char *cmd, int c, char **argv)
{
    const char *where = cmd ? cmd : "pymem-view";
    const char *arg = optind > 0 ? argv[optind - 1] : "";

    if (c == ':')
        pm_error("option '%s' needs a value; see '%s%s --help'", arg,
                 cmd ? "pymem-view " : "", where);
    else if (optopt && strncmp(arg, "--", 2) == 0 && strchr(arg, '='))
        pm_error("option '%.*s' takes no value; see '%s%s --help'", (int)(strchr(arg, '=') - arg),
                 arg, cmd ? "pymem-view " : "", where);
    else if (optopt && optopt < 256 && strncmp(arg, "--", 2) != 0)
        pm_error("unknown option '-%c'; see '%s%s --help'", optopt,
                 cmd ? "pymem-view " : "", where);
    else
        pm_error("unknown option '%s'; see '%s%s --help'", arg, cmd ? "pymem-view " : "", where);
    return PM_EXIT_USAGE;
}

int
pm_extra_args(const char *cmd, const char *arg)
{
    pm_error("unexpected argument '%s'; see 'pymem-view %s --help'", arg, cmd);
    return PM_EXIT_USAGE;
}

int
pm_parse_int(const char *opt, const char *arg, int64_t min, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == ' ' || arg[0] == '+' || v < min) {
        pm_error("invalid value '%s' for %s: expected a whole number >= %lld", arg, opt,
                 (long long)min);
        return PM_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

int
pm_target_open(struct pm_target *t, const char *file, int64_t run, int64_t pid, int no_process)
{
    struct pm_diag diag = { 0 };

    *t = (struct pm_target){ 0 };
    if (pm_query_open(file, &t->q, &diag) < 0)
        goto fail;
    if (no_process)
        return PM_EXIT_OK;
    if ((run <= 0 && pm_query_latest_run(t->q, &run, &diag) < 0) ||
        pm_query_process(t->q, run, pid, &t->proc, &diag) < 0)
        goto fail;
    return PM_EXIT_OK;
fail:
    pm_error("%s", diag.msg[0] ? diag.msg : pm_strerror(diag.code));
    pm_target_close(t);
    return PM_EXIT_DATA;
}

/* --peak, --final, --snapshot ID: 1 if opt was one, 0 if not, PM_EXIT_USAGE on a bad value. */
static int
pm_snap_option(struct pm_snap_choice *c, int opt, const char *arg)
{
    switch (opt) {
    case PM_OPT_PEAK:
    case PM_OPT_FINAL:
        c->kind = opt == PM_OPT_PEAK ? "peak" : "final";
        c->id = -1;
        c->picked++;
        return 1;
    case PM_OPT_SNAPSHOT:
        if (pm_parse_int("--snapshot", arg, 0, &c->id))
            return PM_EXIT_USAGE;
        c->picked++;
        return 1;
    default:
        return 0;
    }
}

/* Names the snapshots the process has, for the message of a missing --peak or --final. */
static void
report_missing(struct pm_target *t, const char *kind)
{
    struct pm_snapshot_list list;
    struct pm_diag diag = { 0 };
    char have[512] = "";
    size_t len = 0;

    if (pm_query_snapshots(t->q, t->proc.id, &list, &diag) < 0) {
        pm_error("%s", diag.msg);
        return;
    }
    for (size_t i = 0; i < list.n && len < sizeof(have) - 64; i++) {
        char *k = pm_text_escape(list.v[i].kind);
        if (i == 12) {
            len += (size_t)snprintf(have + len, sizeof(have) - len, ", ... (%zu in all)", list.n);
            pm_free(k);
            break;
        }
        len += (size_t)snprintf(have + len, sizeof(have) - len, "%s%" PRId64 " %s",
                                i ? ", " : "", list.v[i].id, k ? k : "?");
        pm_free(k);
    }
    if (list.n == 0)
        pm_error("pid %" PRId64 " has no '%s' snapshot: it has no snapshots at all",
                 t->proc.pid, kind);
    else
        pm_error("pid %" PRId64 " has no '%s' snapshot; its snapshots are %s (use --snapshot ID)",
                 t->proc.pid, kind, have);
    pm_snapshot_list_clear(&list);
}

int
pm_snap_load(struct pm_target *t, const struct pm_snap_choice *c, struct pm_snapshot_info *out)
{
    struct pm_diag diag = { 0 };

    *out = (struct pm_snapshot_info){ 0 };
    if (c->id >= 0) {
        if (pm_query_snapshot(t->q, t->proc.id, c->id, out, &diag) == 0)
            return PM_EXIT_OK;
        if (diag.code == -PM_ENOTFOUND)
            pm_error("pid %" PRId64 " has no snapshot %" PRId64 "; see 'pymem-view snapshots'",
                     t->proc.pid, c->id);
        else
            pm_error("%s", diag.msg);
        return PM_EXIT_DATA;
    }
    if (pm_query_latest_snapshot(t->q, t->proc.id, c->kind, out, &diag) == 0)
        return PM_EXIT_OK;
    if (diag.code == -PM_ENOTFOUND)
        report_missing(t, c->kind);
    else
        pm_error("%s", diag.msg);
    return PM_EXIT_DATA;
}

int
pm_common_option(const struct pm_common_opts *o, int c, const char *arg)
{
    int rc;

    if (o->snap && (rc = pm_snap_option(o->snap, c, arg)) != 0)
        return rc == 1 ? PM_OPT_TAKEN : rc;
    switch (c) {
    case 'h':
        fputs(o->usage, stdout);
        return PM_EXIT_OK;
    case 'f':
        *o->file = arg;
        return PM_OPT_TAKEN;
    case PM_OPT_RUN:
        return pm_parse_int("--run", arg, 1, o->run) ? PM_EXIT_USAGE : PM_OPT_TAKEN;
    case PM_OPT_PID:
        if (!o->pid)
            return PM_OPT_NOT_MINE;
        return pm_parse_int("--pid", arg, 0, o->pid) ? PM_EXIT_USAGE : PM_OPT_TAKEN;
    case PM_OPT_JSON:
        if (!o->json)
            return PM_OPT_NOT_MINE;
        *o->json = 1;
        return PM_OPT_TAKEN;
    default:
        return PM_OPT_NOT_MINE;
    }
}

void
pm_target_close(struct pm_target *t)
{
    pm_process_info_clear(&t->proc);
    pm_query_close(t->q);
    t->q = NULL;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    opterr = 0;                             /* our messages, one line each */
    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return PM_EXIT_OK;
        case 'V':
            printf("pymem-view %s\n", PM_VERSION);
            return PM_EXIT_OK;
        default:
            return pm_bad_option(NULL, c, argv);
        }
    }
    if (optind >= argc) {
        pm_error("no command given; see 'pymem-view --help'");
        return PM_EXIT_USAGE;
    }
    for (size_t i = 0; i < ARRAY_SIZE(pm_cmds); i++) {
        if (strcmp(argv[optind], pm_cmds[i].name) == 0) {
            char **sub = argv + optind;
            int nsub = argc - optind;
            optind = 0;                     /* glibc: re-initialise getopt for the command */
            return pm_cmds[i].run(nsub, sub);
        }
    }
    pm_error("'%s' is not a command; see 'pymem-view --help'", argv[optind]);
    return PM_EXIT_USAGE;
}
