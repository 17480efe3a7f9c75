/* SPDX-License-Identifier: MIT */
/* pymem-view export: the stacks of one snapshot in a format other tools read. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cmd.h"
#include "out.h"
#include "pprof.h"

static const char usage[] =
    "usage: pymem-view export --format FORMAT [-o FILE] [--peak | --final | --snapshot ID]\n"
    "                         [-f FILE] [--run RUN] [--pid PID]\n"
    "\n"
    "Writes every stack of one snapshot, with its live bytes and blocks and what it allocated\n"
    "over the run, in a format other tools read.\n"
    "\n"
    "formats:\n"
    "  pprof       gzip-compressed profile.proto for 'go tool pprof' (binary: needs -o or a\n"
    "              pipe); sample types inuse_space, inuse_objects, alloc_space, alloc_objects\n"
    "  speedscope  speedscope's JSON file format, weighted by live bytes\n"
    "  folded      'outer;...;inner bytes' lines for flamegraph.pl or inferno\n"
    "  csv         one row per stack, with a header row (RFC 4180)\n"
    "  json        one object: process, snapshot, totals, frames and samples\n"
    "\n"
    "  --format FORMAT    the output format (required)\n"
    "  -o, --output FILE  write to FILE instead of stdout ('-' is stdout)\n"
    "  --peak             the latest peak snapshot of the process (default)\n"
    "  --final            the latest final snapshot (at exit)\n"
    "  --snapshot ID      the snapshot with this id (see 'pymem-view snapshots')\n"
    "  -f, --file FILE    the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN          a run of the file, by id (default: the latest; see 'pymem-view runs')\n"
    "  --pid PID          a process of the run, by pid (default: the run's root)\n"
    "  -h, --help         show this help\n";

enum { OPT_FORMAT = 256 };

static const struct {
    const char *name;
    int (*write)(FILE *f, const struct pm_export *e);
    bool binary;
} formats[] = {
    { "pprof", pm_export_pprof, true },
    { "speedscope", pm_export_speedscope, false },
    { "folded", pm_export_folded, false },
    { "csv", pm_export_csv, false },
    { "json", pm_export_json, false },
};

/* Writes the export to path ('-' or NULL: stdout). A file is only created once the data is
 * loaded, and removed again if writing it fails. */
static int
write_output(const char *path, int which, const struct pm_export *e)
{
    bool to_stdout = !path || strcmp(path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(path, formats[which].binary ? "wb" : "w");
    int rc, failed;

    if (!f) {
        char *p = pm_text_escape(path);
        pm_error("cannot create '%s': %s", p ? p : "?", strerror(errno));
        pm_free(p);
        return PM_EXIT_DATA;
    }
    rc = formats[which].write(f, e);
    failed = fflush(f) != 0 || ferror(f);
    if (!to_stdout)
        failed |= fclose(f) != 0;
    if (rc < 0 || failed) {
        if (rc == -ENOMEM)
            pm_error_oom();
        else
            pm_error("cannot write the output%s", rc < 0 ? ": compression failed" : "");
        if (!to_stdout)
            unlink(path);
        return PM_EXIT_DATA;
    }
    return PM_EXIT_OK;
}

int
cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, OPT_FORMAT },
        { "output", required_argument, NULL, 'o' },
        PM_OPTS_SNAPSHOT,
        PM_OPTS_TARGET,
        PM_OPTS_PID,
        PM_OPTS_END,
    };
    struct pm_snap_choice choice = { .id = -1, .kind = "peak" };
    const char *file = PM_DEFAULT_FILE, *output = NULL, *format = NULL;
    int64_t run = 0, pid = -1;
    int c, which = -1, rc;
    struct pm_target t;
    struct pm_snapshot_info snap = { 0 };
    struct pm_sample_list samples = { 0 };
    struct pm_diag diag = { 0 };
    const struct pm_common_opts co = { usage, &file, &run, &pid, NULL, &choice };

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
        case OPT_FORMAT:
            format = optarg;
            break;
        default:
            return pm_bad_option("export", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("export", argv[optind]);
    if (choice.picked > 1) {
        pm_error("--peak, --final and --snapshot exclude each other; "
                 "see 'pymem-view export --help'");
        return PM_EXIT_USAGE;
    }
    if (!format) {
        pm_error("no --format given (pprof, speedscope, folded, csv or json); "
                 "see 'pymem-view export --help'");
        return PM_EXIT_USAGE;
    }
    for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
        if (strcmp(format, formats[i].name) == 0)
            which = (int)i;
    }
    if (which < 0) {
        char *f = pm_text_escape(format);
        pm_error("unknown format '%s': expected pprof, speedscope, folded, csv or json",
                 f ? f : "?");
        pm_free(f);
        return PM_EXIT_USAGE;
    }
    if (formats[which].binary && (!output || strcmp(output, "-") == 0) && isatty(STDOUT_FILENO)) {
        pm_error("not writing binary pprof data to a terminal; use -o FILE or a pipe");
        return PM_EXIT_USAGE;
    }
    if ((rc = pm_target_open(&t, file, run, pid, 0)) != PM_EXIT_OK)
        return rc;
    rc = PM_EXIT_DATA;
    if (pm_snap_load(&t, &choice, &snap) != PM_EXIT_OK)
        goto out;
    if (pm_query_samples(t.q, t.proc.id, snap.id, 1, &samples, &diag) < 0) {
        pm_error("%s", diag.msg);
        goto out;
    }
    rc = write_output(output, which, &(struct pm_export){ &t.proc, &snap, &samples });
out:
    pm_sample_list_clear(&samples);
    pm_snapshot_info_clear(&snap);
    pm_target_close(&t);
    return rc;
}
