/* SPDX-License-Identifier: MIT */
/* pymem-view tree: the call tree at one snapshot, largest branches first. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "out.h"
#include "visual.h"

static const char usage[] =
    "usage: pymem-view tree [--peak | --final | --snapshot ID] [-f FILE] [--run RUN] [--pid PID]\n"
    "                       [--min PERCENT] [--bytes] [--json]\n"
    "\n"
    "The call tree of the memory live at one snapshot: each line is a frame with the bytes\n"
    "allocated there or in anything it called, and their share of the snapshot's total;\n"
    "children are indented under their caller, largest first. Branches smaller than --min\n"
    "percent of the total are folded into one \"... N smaller\" line.\n"
    "\n"
    "  --peak           the latest peak snapshot of the process (default)\n"
    "  --final          the latest final snapshot (at exit)\n"
    "  --snapshot ID    the snapshot with this id (see 'pymem-view snapshots')\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        a run of the file (default: the latest; see 'pymem-view runs')\n"
    "  --pid PID        a process of the run, by pid (default: the run's root)\n"
    "  --min PERCENT    fold branches under this share of the total (default 1; 0 shows all)\n"
    "  --bytes          exact byte counts instead of human-readable sizes\n"
    "  --json           print one JSON object (a nested tree) instead of text\n"
    "  -h, --help       show this help\n";

enum { OPT_MIN = 400, OPT_BYTES };

struct tree_out {
    const struct pm_ctree *t;
    int64_t total;
    double min;                 /* percent */
    bool exact;                 /* --bytes */
    struct pm_table *tab;
};

static double
percent(int64_t part, int64_t total)
{
    return total > 0 ? 100.0 * (double)part / (double)total : 0.0;
}

static int
small(const struct tree_out *o, const struct pm_ctree_node *n)
{
    return percent(n->bytes, o->total) < o->min;
}

static int
add_line(struct tree_out *o, int64_t bytes, int64_t blocks, const char *text)
{
    char a[PM_SIZE_LEN];

    if (pm_table_add(o->tab, pm_fmt_bytes(a, bytes, o->exact)) < 0 ||
        pm_table_addf(o->tab, "%.1f%%", percent(bytes, o->total)) < 0 ||
        pm_table_addf(o->tab, "%" PRId64, blocks) < 0 || pm_table_add_raw(o->tab, text) < 0)
        return -ENOMEM;
    return 0;
}

/* Adds the children of `node` at indentation `depth`, then their children. */
static int
add_kids(struct tree_out *o, uint32_t node, unsigned depth)
{
    const struct pm_ctree *t = o->t;
    const struct pm_ctree_node *n = &t->v[node];
    int64_t rest_bytes = 0, rest_blocks = 0;
    size_t rest = 0, indent = 2 * (size_t)depth;
    char *text = NULL;
    int rc = 0;

    for (uint32_t k = 0; k < n->n_kids && rc == 0; k++) {
        const struct pm_ctree_node *c = &t->v[t->kid[n->kids + k]];
        const struct pm_sample_frame *fr = &t->frames[c->frame];
        char *fn, *file;
        size_t size;

        if (small(o, c)) {
            rest++;
            rest_bytes += c->bytes;
            rest_blocks += c->blocks;
            continue;
        }
        fn = pm_text_escape(fr->function);
        file = pm_text_escape(fr->file);
        size = indent + (fn ? strlen(fn) : 0) + (file ? strlen(file) : 0) + 32;
        text = fn && file ? pm_malloc(size) : NULL;
        if (text)
            snprintf(text, size, "%*s%s  %s:%" PRId64, (int)indent, "", fn, file, fr->line);
        rc = text ? add_line(o, c->bytes, c->blocks, text) : -ENOMEM;
        pm_free(fn);
        pm_free(file);
        pm_free(text);
        if (rc == 0)
            rc = add_kids(o, t->kid[n->kids + k], depth + 1);
    }
    if (rc == 0 && rest) {
        size_t size = indent + 48;
        text = pm_malloc(size);
        if (text)
            snprintf(text, size, "%*s\u2026 %zu smaller", (int)indent, "", rest);
        rc = text ? add_line(o, rest_bytes, rest_blocks, text) : -ENOMEM;
        pm_free(text);
    }
    return rc;
}

static int
print_text(const struct pm_target *t, const struct pm_snapshot_info *s, struct tree_out *o)
{
    static const char *const headers[] = { "BYTES", "%", "BLOCKS", "CALL TREE" };
    char *argv_text = pm_argv_text(t->proc.argv_json), *kind = pm_text_escape(s->kind);
    char a[PM_SIZE_LEN];
    int rc = PM_EXIT_OK;

    o->tab = pm_table_new(headers, "rrrl");
    if (!argv_text || !kind || !o->tab || add_kids(o, PM_CTREE_ROOT, 0) < 0) {
        rc = pm_error_oom();
        goto out;
    }
    printf("process %" PRId64 " (pid %" PRId64 "): %s\n", t->proc.id, t->proc.pid, argv_text);
    printf("snapshot %" PRId64 " (%s) at %.2f s: %s live in %" PRId64 " blocks", s->id, kind,
           s->time, pm_fmt_bytes(a, o->total, o->exact), o->t->v[PM_CTREE_ROOT].blocks);
    if (o->min > 0)
        printf("; branches under %g%% folded", o->min);
    fputs("\n\n", stdout);
    if (o->t->v[PM_CTREE_ROOT].n_kids == 0)
        puts("nothing is live at this snapshot");
    else
        pm_table_print(o->tab, stdout);
out:
    pm_table_free(o->tab);
    pm_free(argv_text);
    pm_free(kind);
    return rc;
}

/* One node and, recursively, its children (those under --min folded into "smaller"). */
static void
json_kids(const struct tree_out *o, uint32_t node)
{
    const struct pm_ctree *t = o->t;
    const struct pm_ctree_node *n = &t->v[node];
    int64_t rest_bytes = 0, rest_blocks = 0;
    size_t rest = 0, shown = 0;

    fputs("\"children\": [", stdout);
    for (uint32_t k = 0; k < n->n_kids; k++) {
        uint32_t id = t->kid[n->kids + k];
        const struct pm_ctree_node *c = &t->v[id];
        const struct pm_sample_frame *fr = &t->frames[c->frame];

        if (small(o, c)) {
            rest++;
            rest_bytes += c->bytes;
            rest_blocks += c->blocks;
            continue;
        }
        fputs(shown++ ? ", {\"function\": " : "{\"function\": ", stdout);
        pm_json_string(stdout, fr->function);
        fputs(", \"file\": ", stdout);
        pm_json_string(stdout, fr->file);
        printf(", \"line\": %" PRId64 ", \"bytes\": %" PRId64 ", \"blocks\": %" PRId64
               ", \"self_bytes\": %" PRId64 ", \"self_blocks\": %" PRId64 ", \"percent\": ",
               fr->line, c->bytes, c->blocks, c->self_bytes, c->self_blocks);
        pm_json_double(stdout, round(percent(c->bytes, o->total) * 1000) / 1000);
        fputs(", ", stdout);
        json_kids(o, id);
        fputc('}', stdout);
    }
    fputc(']', stdout);
    if (rest)
        printf(", \"smaller\": {\"count\": %zu, \"bytes\": %" PRId64 ", \"blocks\": %" PRId64
               "}", rest, rest_bytes, rest_blocks);
}

static void
print_json(const struct pm_target *t, const struct pm_snapshot_info *s, const struct tree_out *o)
{
    fputs("{\"process\": ", stdout);
    pm_json_process(stdout, &t->proc);
    fputs(", \"snapshot\": ", stdout);
    pm_json_snapshot(stdout, s);
    fputs(", \"min_percent\": ", stdout);
    pm_json_double(stdout, o->min);
    printf(", \"bytes\": %" PRId64 ", \"blocks\": %" PRId64 ", ", o->total,
           o->t->v[PM_CTREE_ROOT].blocks);
    json_kids(o, PM_CTREE_ROOT);
    fputs("}\n", stdout);
}

static int
parse_percent(const char *arg, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < 0 || v > 100 || arg[0] == ' ') {
        pm_error("invalid value '%s' for --min: expected a percentage from 0 to 100", arg);
        return PM_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

int
cmd_tree(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_OPTS_SNAPSHOT,
        PM_OPTS_TARGET,
        PM_OPTS_PID,
        { "min", required_argument, NULL, OPT_MIN },
        { "bytes", no_argument, NULL, OPT_BYTES },
        { "json", no_argument, NULL, PM_OPT_JSON },
        PM_OPTS_END,
    };
    struct pm_snap_choice choice = { .id = -1, .kind = "peak" };
    const char *file = PM_DEFAULT_FILE;
    int64_t pid = -1, run = 0;
    int c, json = 0, rc;
    struct tree_out o = { .min = 1.0 };
    struct pm_target t;
    struct pm_snapshot_info snap = { 0 };
    struct pm_sample_list samples = { 0 };
    struct pm_ctree tree = { 0 };

    const struct pm_common_opts co = { usage, &file, &run, &pid, &json, &choice };

    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        if ((rc = pm_common_option(&co, c, optarg)) != PM_OPT_NOT_MINE) {
            if (rc != PM_OPT_TAKEN)
                return rc;
            continue;
        }
        switch (c) {
        case OPT_MIN:
            if (parse_percent(optarg, &o.min))
                return PM_EXIT_USAGE;
            break;
        case OPT_BYTES:
            o.exact = true;
            break;
        default:
            return pm_bad_option("tree", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("tree", argv[optind]);
    if (choice.picked > 1) {
        pm_error("--peak, --final and --snapshot exclude each other; see 'pymem-view tree --help'");
        return PM_EXIT_USAGE;
    }
    if ((rc = pm_target_open(&t, file, run, pid, 0)) != PM_EXIT_OK)
        return rc;
    if ((rc = pm_snap_load(&t, &choice, &snap)) != PM_EXIT_OK ||
        (rc = pm_samples_load(&t, snap.id, &samples)) != PM_EXIT_OK)
        goto out;
    if (pm_ctree_init(&tree, samples.frames) < 0 || pm_ctree_add_samples(&tree, &samples) < 0 ||
        pm_ctree_finish(&tree) < 0) {
        rc = pm_error_oom();
        goto out;
    }
    o.t = &tree;
    o.total = tree.v[PM_CTREE_ROOT].bytes;
    if (json)
        print_json(&t, &snap, &o);
    else
        rc = print_text(&t, &snap, &o);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pm_error("cannot write the output");
        rc = PM_EXIT_DATA;
    }
out:
    pm_ctree_release(&tree);
    pm_sample_list_clear(&samples);
    pm_snapshot_info_clear(&snap);
    pm_target_close(&t);
    return rc;
}
