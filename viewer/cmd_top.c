/* SPDX-License-Identifier: MIT */
/* pymem-view top: source lines ranked by the memory live at one snapshot. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cmd.h"
#include "out.h"

static const char usage[] =
    "usage: pymem-view top [--peak | --final | --snapshot ID] [-f FILE] [--pid PID] [--limit N]\n"
    "                      [--json]\n"
    "\n"
    "Source lines ranked by the memory live at one snapshot. SELF counts the allocations made\n"
    "by the line itself (its innermost frame), TOTAL those made by the line or by anything it\n"
    "called (once per stack, even under recursion).\n"
    "\n"
    "  --peak           the latest peak snapshot of the process (default)\n"
    "  --final          the latest final snapshot (at exit)\n"
    "  --snapshot ID    the snapshot with this id (see 'pymem-view snapshots')\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --pid PID        a process of the latest run, by pid (default: the run's root)\n"
    "  --limit N        show the first N lines (default 20; 0 shows all)\n"
    "  --json           print one JSON object instead of a table\n"
    "  -h, --help       show this help\n";

enum { OPT_PEAK = 256, OPT_FINAL, OPT_SNAPSHOT, OPT_PID, OPT_LIMIT, OPT_JSON };

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

static void
print_json(const struct pm_target *t, const struct pm_snapshot_info *s,
           const struct pm_top_list *rows, size_t shown)
{
    printf("{\"process\": {\"id\": %" PRId64 ", \"pid\": %" PRId64 ", \"argv\": ",
           t->proc.id, t->proc.pid);
    pm_json_argv(stdout, t->proc.argv_json);
    printf("}, \"snapshot\": {\"id\": %" PRId64 ", \"kind\": ", s->id);
    pm_json_string(stdout, s->kind);
    fputs(", \"time\": ", stdout);
    pm_json_double(stdout, s->time);
    printf(", \"heap_bytes\": %" PRId64 ", \"rss_bytes\": %" PRId64 "}, \"rows\": [",
           s->heap_bytes, s->rss_bytes);
    for (size_t i = 0; i < shown; i++) {
        const struct pm_top_row *r = &rows->v[i];
        fputs(i ? ",\n  {\"file\": " : "\n  {\"file\": ", stdout);
        pm_json_string(stdout, r->file);
        printf(", \"line\": %" PRId64 ", \"function\": ", r->line);
        pm_json_string(stdout, r->function);
        printf(", \"self_bytes\": %" PRId64 ", \"self_blocks\": %" PRId64
               ", \"total_bytes\": %" PRId64 ", \"total_blocks\": %" PRId64 "}",
               r->self_bytes, r->self_blocks, r->total_bytes, r->total_blocks);
    }
    fputs(shown ? "\n]}\n" : "]}\n", stdout);
}

static int
print_text(const struct pm_target *t, const struct pm_snapshot_info *s,
           const struct pm_top_list *rows, size_t shown)
{
    static const char *const headers[] = {
        "SELF", "BLOCKS", "TOTAL", "BLOCKS", "LOCATION", "FUNCTION",
    };
    char *argv_text = pm_argv_text(t->proc.argv_json), *kind = pm_text_escape(s->kind);
    char a[PM_SIZE_LEN], b[PM_SIZE_LEN];
    struct pm_table *tab = pm_table_new(headers, "rrrrll");
    int rc = PM_EXIT_OK;

    if (!argv_text || !kind || !tab) {
        rc = pm_error_oom();
        goto out;
    }
    printf("process %" PRId64 " (pid %" PRId64 "): %s\n", t->proc.id, t->proc.pid, argv_text);
    printf("snapshot %" PRId64 " (%s) at %.2f s: heap %s in %" PRId64 " blocks, rss %s\n\n",
           s->id, kind, s->time, pm_fmt_size(a, s->heap_bytes), s->heap_blocks,
           pm_fmt_size(b, s->rss_bytes));
    for (size_t i = 0; i < shown; i++) {
        const struct pm_top_row *r = &rows->v[i];
        char *file = pm_text_escape(r->file);
        size_t size = file ? strlen(file) + 24 : 0;
        char *loc = file ? pm_malloc(size) : NULL;
        int err;

        if (loc)
            snprintf(loc, size, "%s:%" PRId64, file, r->line);
        err = !loc || pm_table_add(tab, pm_fmt_size(a, r->self_bytes)) < 0 ||
              pm_table_addf(tab, "%" PRId64, r->self_blocks) < 0 ||
              pm_table_add(tab, pm_fmt_size(b, r->total_bytes)) < 0 ||
              pm_table_addf(tab, "%" PRId64, r->total_blocks) < 0 ||
              pm_table_add_raw(tab, loc) < 0 ||     /* the file is escaped already */
              pm_table_add(tab, r->function) < 0;
        pm_free(file);
        pm_free(loc);
        if (err) {
            rc = pm_error_oom();
            goto out;
        }
    }
    pm_table_print(tab, stdout);
    if (shown < rows->n)
        printf("... %zu more lines (--limit 0 shows all)\n", rows->n - shown);
out:
    pm_table_free(tab);
    pm_free(argv_text);
    pm_free(kind);
    return rc;
}

int
cmd_top(int argc, char **argv)
{
    static const struct option opts[] = {
        { "peak", no_argument, NULL, OPT_PEAK },
        { "final", no_argument, NULL, OPT_FINAL },
        { "snapshot", required_argument, NULL, OPT_SNAPSHOT },
        { "file", required_argument, NULL, 'f' },
        { "pid", required_argument, NULL, OPT_PID },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "json", no_argument, NULL, OPT_JSON },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *file = PM_DEFAULT_FILE, *kind = "peak";
    int64_t pid = -1, snapshot = -1, limit = 20;
    int c, json = 0, picked = 0, rc;
    struct pm_target t;
    struct pm_snapshot_info snap = { 0 };
    struct pm_top_list rows = { 0 };
    struct pm_diag diag = { 0 };

    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return PM_EXIT_OK;
        case 'f':
            file = optarg;
            break;
        case OPT_PEAK:
        case OPT_FINAL:
            kind = c == OPT_PEAK ? "peak" : "final";
            picked++;
            break;
        case OPT_SNAPSHOT:
            if (pm_parse_int("--snapshot", optarg, 0, &snapshot))
                return PM_EXIT_USAGE;
            picked++;
            break;
        case OPT_PID:
            if (pm_parse_int("--pid", optarg, 0, &pid))
                return PM_EXIT_USAGE;
            break;
        case OPT_LIMIT:
            if (pm_parse_int("--limit", optarg, 0, &limit))
                return PM_EXIT_USAGE;
            break;
        case OPT_JSON:
            json = 1;
            break;
        default:
            return pm_bad_option("top", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("top", argv[optind]);
    if (picked > 1) {
        pm_error("--peak, --final and --snapshot exclude each other; see 'pymem-view top --help'");
        return PM_EXIT_USAGE;
    }
    if ((rc = pm_target_open(&t, file, 0, pid, 0)) != PM_EXIT_OK)
        return rc;
    rc = PM_EXIT_DATA;
    if (snapshot >= 0) {
        if (pm_query_snapshot(t.q, t.proc.id, snapshot, &snap, &diag) < 0) {
            if (diag.code == -PM_ENOTFOUND)
                pm_error("pid %" PRId64 " has no snapshot %" PRId64
                         "; see 'pymem-view snapshots'", t.proc.pid, snapshot);
            else
                pm_error("%s", diag.msg);
            goto out;
        }
    } else if (pm_query_latest_snapshot(t.q, t.proc.id, kind, &snap, &diag) < 0) {
        if (diag.code == -PM_ENOTFOUND)
            report_missing(&t, kind);
        else
            pm_error("%s", diag.msg);
        goto out;
    }
    if (pm_query_top(t.q, t.proc.id, snap.id, &rows, &diag) < 0) {
        pm_error("%s", diag.msg);
        goto out;
    }
    {
        size_t shown = limit == 0 || (uint64_t)limit > rows.n ? rows.n : (size_t)limit;
        if (json) {
            print_json(&t, &snap, &rows, shown);
            rc = PM_EXIT_OK;
        } else {
            rc = print_text(&t, &snap, &rows, shown);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pm_error("cannot write the output");
        rc = PM_EXIT_DATA;
    }
out:
    pm_top_list_clear(&rows);
    pm_snapshot_info_clear(&snap);
    pm_target_close(&t);
    return rc;
}
