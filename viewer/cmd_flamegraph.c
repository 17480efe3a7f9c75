/* SPDX-License-Identifier: MIT */
/* pymem-view flamegraph: the memory live at a snapshot (or the growth to the end) as a
 * self-contained HTML flame graph, or as folded stacks for flamegraph.pl and speedscope. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "out.h"
#include "visual.h"

static const char usage[] =
    "usage: pymem-view flamegraph [--peak | --final | --snapshot ID | --leaks] [-f FILE]\n"
    "                             [--run RUN] [--pid PID] [-o FILE] [--folded | --json]\n"
    "\n"
    "A flame graph of the memory live at one snapshot, as one self-contained HTML page (no\n"
    "network): click a frame to zoom, type in the search box to highlight frames, hover for\n"
    "bytes, blocks and file:line. --leaks shows what grew instead: live at the final snapshot\n"
    "minus live at the first periodic one (everything live at the end if there is none), for\n"
    "the stacks that grew.\n"
    "\n"
    "  --peak           the latest peak snapshot of the process (default)\n"
    "  --final          the latest final snapshot (at exit)\n"
    "  --snapshot ID    the snapshot with this id (see 'pymem-view snapshots')\n"
    "  --leaks          growth from the first periodic snapshot to the final one\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        a run of the file (default: the latest; see 'pymem-view runs')\n"
    "  --pid PID        a process of the run, by pid (default: the run's root)\n"
    "  -o, --output FILE  write there instead of stdout\n"
    "  --folded         folded stacks instead of HTML: 'outer;...;inner BYTES' per line, each\n"
    "                   frame as 'function (file:line)' (';' in a name is written ',')\n"
    "  --json           the page's data as one JSON object instead of HTML\n"
    "  -h, --help       show this help\n";

enum { OPT_LEAKS = 500, OPT_FOLDED };

struct fold {
    const struct pm_ctree *t;
    FILE *f;
    char *buf;
    size_t len, cap;
};

static int
fold_append(struct fold *fo, const char *s)
{
    size_t n = strlen(s);

    if (fo->len + n + 2 > fo->cap) {
        size_t cap = 2 * (fo->len + n + 2);
        char *b = pm_realloc(fo->buf, cap);
        if (!b)
            return -ENOMEM;
        fo->buf = b;
        fo->cap = cap;
    }
    memcpy(fo->buf + fo->len, s, n + 1);
    fo->len += n;
    return 0;
}

/* Writes one line per node that has bytes of its own, outermost frame first. */
static int
fold_node(struct fold *fo, uint32_t node)
{
    const struct pm_ctree_node *n = &fo->t->v[node];
    const struct pm_sample_frame *fr = pm_ctree_frame(fo->t, node);
    size_t mark = fo->len;
    int rc = 0;

    if (fr) {
        char *fn = pm_text_escape(fr->function), *file = pm_text_escape(fr->file);
        char line[32];

        snprintf(line, sizeof(line), ":%" PRId64 ")", fr->line);
        rc = !fn || !file || (mark && fold_append(fo, ";") < 0) || fold_append(fo, fn) < 0 ||
             fold_append(fo, " (") < 0 || fold_append(fo, file) < 0 || fold_append(fo, line) < 0;
        pm_free(fn);
        pm_free(file);
        if (rc)
            return -ENOMEM;
        for (char *p = fo->buf + mark + (mark != 0); *p; p++)
            if (*p == ';')
                *p = ',';
        if (n->self_bytes > 0)
            fprintf(fo->f, "%s %" PRId64 "\n", fo->buf, n->self_bytes);
    }
    for (uint32_t k = 0; k < n->n_kids && rc == 0; k++)
        rc = fold_node(fo, fo->t->kid[n->kids + k]);
    fo->len = mark;
    if (fo->buf)
        fo->buf[mark] = '\0';
    return rc;
}

static int
write_folded(const char *path, const struct pm_ctree *t)
{
    struct fold fo = { .t = t, .f = pm_out_open(path) };
    int rc, closed;

    if (!fo.f)
        return PM_EXIT_DATA;
    rc = fold_node(&fo, PM_CTREE_ROOT);
    pm_free(fo.buf);
    closed = pm_out_close(path, fo.f);
    return rc < 0 ? pm_error_oom() : closed;
}

/* The page's data: {"page", "mode", "process", "snapshot", "baseline", "flame"}. */
static void
write_data(FILE *f, const struct pm_target *t, const struct pm_snapshot_info *snap,
           const struct pm_snapshot_info *base, int leaks, const struct pm_ctree *tree)
{
    fprintf(f, "{\"page\": \"flamegraph\", \"mode\": \"%s\", \"process\": ",
            leaks ? "leaks" : "live");
    pm_json_process(f, &t->proc);
    fputs(", \"snapshot\": ", f);
    pm_json_snapshot(f, snap);
    fputs(", \"baseline\": ", f);
    if (base)
        pm_json_snapshot(f, base);
    else
        fputs("null", f);
    fputs(",\n\"flame\": ", f);
    pm_flame_json(f, tree);
    fputs("}\n", f);
}

int
cmd_flamegraph(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_OPTS_SNAPSHOT,
        { "leaks", no_argument, NULL, OPT_LEAKS },
        PM_OPTS_TARGET,
        PM_OPTS_PID,
        { "output", required_argument, NULL, 'o' },
        { "folded", no_argument, NULL, OPT_FOLDED },
        { "json", no_argument, NULL, PM_OPT_JSON },
        PM_OPTS_END,
    };
    struct pm_snap_choice choice = { .id = -1, .kind = "peak" };
    const char *file = PM_DEFAULT_FILE, *output = NULL;
    int64_t pid = -1, run = 0;
    int c, json = 0, folded = 0, leaks = 0, rc;
    bool has_base = false;
    struct pm_target t;
    struct pm_snapshot_info snap = { 0 }, base = { 0 };
    struct pm_sample_list samples = { 0 }, base_samples = { 0 };
    struct pm_ctree tree = { 0 };
    struct pm_membuf m = { 0 };

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
        case OPT_LEAKS:
            leaks = 1;
            break;
        case OPT_FOLDED:
            folded = 1;
            break;
        default:
            return pm_bad_option("flamegraph", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("flamegraph", argv[optind]);
    if (choice.picked + leaks > 1) {
        pm_error("--peak, --final, --snapshot and --leaks exclude each other; "
                 "see 'pymem-view flamegraph --help'");
        return PM_EXIT_USAGE;
    }
    if (folded && json) {
        pm_error("--folded and --json exclude each other; see 'pymem-view flamegraph --help'");
        return PM_EXIT_USAGE;
    }
    if (leaks)
        choice.kind = "final";
    if ((rc = pm_target_open(&t, file, run, pid, 0)) != PM_EXIT_OK)
        return rc;
    if ((rc = pm_snap_load(&t, &choice, &snap)) != PM_EXIT_OK ||
        (rc = pm_samples_load(&t, snap.id, &samples)) != PM_EXIT_OK)
        goto out;
    if (leaks && (rc = pm_snap_first(&t, "periodic", &base, &has_base)) != PM_EXIT_OK)
        goto out;
    if (has_base && (rc = pm_samples_load(&t, base.id, &base_samples)) != PM_EXIT_OK)
        goto out;
    rc = PM_EXIT_DATA;
    if (pm_ctree_init(&tree, samples.frames) < 0 ||
        (leaks ? pm_ctree_add_growth(&tree, &samples, &base_samples)
               : pm_ctree_add_samples(&tree, &samples)) < 0 ||
        pm_ctree_finish(&tree) < 0) {
        rc = pm_error_oom();
        goto out;
    }
    if (folded) {
        rc = write_folded(output, &tree);
        goto out;
    }
    if (pm_membuf_open(&m) < 0) {
        rc = pm_error_oom();
        goto out;
    }
    write_data(m.f, &t, &snap, has_base ? &base : NULL, leaks, &tree);
    rc = json ? pm_membuf_emit(output, &m) : pm_html_write(output, &m);
out:
    pm_membuf_release(&m);
    pm_ctree_release(&tree);
    pm_sample_list_clear(&base_samples);
    pm_sample_list_clear(&samples);
    pm_snapshot_info_clear(&base);
    pm_snapshot_info_clear(&snap);
    pm_target_close(&t);
    return rc;
}
