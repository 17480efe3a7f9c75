/* SPDX-License-Identifier: MIT */
/* pymem-view timeline: heap and RSS over time, drawn in the terminal with block characters,
 * or the raw points as CSV or JSON. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "alloc.h"
#include "out.h"
#include "visual.h"

static const char usage[] =
    "usage: pymem-view timeline [-f FILE] [--run RUN] [--pid PID] [--height ROWS]\n"
    "                           [--bytes] [--csv | --json]\n"
    "\n"
    "Heap (live tracked bytes) and RSS of one process over time, as a chart as wide as the\n"
    "terminal ($COLUMNS when stdout is not one, else 80): the heap as bars, RSS as a line, the\n"
    "heap's peak marked above, and the snapshots marked on the time axis. Colour only on a\n"
    "terminal and without NO_COLOR.\n"
    "\n"
    "  -f, --file FILE  the profile to read (default ./" PM_DEFAULT_FILE ")\n"
    "  --run RUN        a run of the file (default: the latest; see 'pymem-view runs')\n"
    "  --pid PID        a process of the run, by pid (default: the run's root)\n"
    "  --height ROWS    rows of the chart (default 10)\n"
    "  --bytes          exact byte counts in the heading instead of human-readable sizes\n"
    "  --csv            the raw timeline points: time,heap_bytes,rss_bytes (seconds, bytes)\n"
    "  --json           the points and the snapshots as one JSON object\n"
    "  -h, --help       show this help\n";

enum { OPT_CSV = 600, OPT_HEIGHT, OPT_BYTES };

#define LABEL_W 10              /* the y-axis labels: "150.0 MiB" and a space */

static const char *const eighths[] = { "", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585",
                                       "\u2586", "\u2587", "\u2588" };

enum colour { C_NONE, C_HEAP, C_RSS, C_BOTH, C_PEAK, C_SNAP };
static const char *const colour_seq[] = {
    "\033[0m", "\033[36m", "\033[35m", "\033[35;46m", "\033[1;31m", "\033[33m",
};

struct chart {
    int colour;                 /* write ANSI colours */
    enum colour cur;
    int width, height, plot_w;
    double t0, span;
    int64_t ymax;
};

static void
paint(struct chart *c, enum colour want)
{
    if (!c->colour || c->cur == want)
        return;
    fputs(colour_seq[want], stdout);
    c->cur = want;
}

static int
term_width(void)
{
    struct winsize ws;
    const char *env = getenv("COLUMNS");
    long v;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (env && (v = strtol(env, NULL, 10)) > 0 && v < 100000)
        return (int)v;
    return 80;
}

static void
fmt_secs(char *buf, size_t size, double s)
{
    double a = fabs(s);

    if (a == 0)
        snprintf(buf, size, "0 s");
    else if (a < 0.001)
        snprintf(buf, size, "%.2f ms", s * 1000);
    else if (a < 1)
        snprintf(buf, size, "%.0f ms", s * 1000);
    else if (a < 10)
        snprintf(buf, size, "%.2f s", s);
    else if (a < 100)
        snprintf(buf, size, "%.1f s", s);
    else
        snprintf(buf, size, "%.0f s", s);
}

/* The least "round" value >= v: 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten of a
 * power of 1024 (so that the labels read well as KiB, MiB, ...). */
static int64_t
nice_max(int64_t v)
{
    static const double steps[] = { 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 };
    double unit = 1;

    if (v <= 0)
        return 1024;
    while ((double)v / unit >= 1024)
        unit *= 1024;
    for (double dec = 1; dec <= 1000; dec *= 10)
        for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
            if (steps[i] * dec * unit >= (double)v)
                return (int64_t)ceil(steps[i] * dec * unit);
    return (int64_t)(1024 * unit);
}

static int
column(const struct chart *c, double t)
{
    double x = (t - c->t0) / c->span * c->plot_w;
    int col = x < 0 ? 0 : (int)x;

    return col >= c->plot_w ? c->plot_w - 1 : col;
}

static int
by_time(const void *pa, const void *pb)
{
    const struct pm_timeline_point *a = pa, *b = pb;

    return (a->time > b->time) - (a->time < b->time);
}

static char
snap_mark(const char *kind)
{
    return strcmp(kind, "peak") == 0 ? 'P' : strcmp(kind, "final") == 0 ? 'F'
           : strcmp(kind, "signal") == 0 ? 'S' : strcmp(kind, "manual") == 0 ? 'M'
           : strcmp(kind, "periodic") == 0 ? '|' : '?';
}

static const char *
mark_name(char m)
{
    return m == 'P' ? "peak" : m == 'F' ? "final" : m == 'S' ? "signal" : m == 'M' ? "manual"
           : m == '|' ? "periodic" : "other";
}

/* Indents a legend line of `len` columns under the plot, or less when it would not fit. */
static void
legend_indent(const struct chart *c, int len)
{
    int at = LABEL_W + 1;

    if (at + len > c->width - 1)
        at = c->width - 1 - len > 0 ? c->width - 1 - len : 0;
    printf("%*s", at, "");
}

/* Lower rank wins when two snapshots share a column. */
static int
mark_rank(char m)
{
    const char *order = "PFSM?|";
    const char *p = strchr(order, m);

    return p ? (int)(p - order) : 9;
}

static int
print_chart(struct chart *c, const struct pm_timeline_point *pt, size_t n,
            const struct pm_snapshot_list *snaps, size_t peak)
{
    int64_t *heap = pm_calloc((size_t)c->plot_w, sizeof(*heap));
    int64_t *rss = pm_calloc((size_t)c->plot_w, sizeof(*rss));
    char *mark = pm_calloc((size_t)c->plot_w + 1, 1);
    int64_t last_heap = -1, last_rss = -1, step;
    char a[PM_SIZE_LEN], b[64], d[64];
    int pc = column(c, pt[peak].time), len;
    size_t i = 0;
    int rc = -1;

    if (!heap || !rss || !mark)
        goto out;
    /* Each column shows the largest value in its time slice (so no peak is lost), or the last
     * value before it when no point falls in it. */
    for (int col = 0; col < c->plot_w; col++) {
        heap[col] = rss[col] = -1;
        for (; i < n && column(c, pt[i].time) == col; i++) {
            heap[col] = pt[i].heap_bytes > heap[col] ? pt[i].heap_bytes : heap[col];
            rss[col] = pt[i].rss_bytes > rss[col] ? pt[i].rss_bytes : rss[col];
            last_heap = pt[i].heap_bytes;
            last_rss = pt[i].rss_bytes;
        }
        if (heap[col] < 0) {
            heap[col] = last_heap;
            rss[col] = last_rss;
        }
    }
    memset(mark, 0, (size_t)c->plot_w + 1);
    for (size_t s = 0; s < snaps->n; s++) {
        int col = column(c, snaps->v[s].time);
        char m = snap_mark(snaps->v[s].kind);
        if (!mark[col] || mark_rank(m) < mark_rank(mark[col]))
            mark[col] = m;
    }

    /* The peak, above its column. */
    fmt_secs(d, sizeof(d), pt[peak].time);
    len = snprintf(b, sizeof(b), "peak %s at %s", pm_fmt_size(a, pt[peak].heap_bytes), d);
    if (LABEL_W + 1 + pc + 2 + len < c->width) {
        printf("%*s", LABEL_W + 1 + pc, "");
        paint(c, C_PEAK);
        printf("\u25bc %s", b);
    } else {
        printf("%*s", LABEL_W + 1 + pc - len - 1 > 0 ? LABEL_W + 1 + pc - len - 1 : 0, "");
        paint(c, C_PEAK);
        printf("%s \u25bc", b);
    }
    paint(c, C_NONE);
    putchar('\n');

    for (int r = c->height - 1; r >= 0; r--) {
        int64_t top = c->ymax / c->height * (r + 1);
        int labelled = r == c->height - 1 || (c->height >= 4 && (r + 1) * 2 == c->height);
        if (labelled)
            printf("%*s \u2524", LABEL_W - 1, pm_fmt_size(a, r == c->height - 1 ? c->ymax : top));
        else
            printf("%*s \u2502", LABEL_W - 1, "");
        /* Trailing blanks are held back: no line ends in spaces. */
        int blanks = 0;
        for (int col = 0; col < c->plot_w; col++) {
            const char *cell = NULL;
            enum colour want = C_HEAP;
            long level = 0;
            int rss_row = -1;

            if (heap[col] > 0) {
                level = lround((double)heap[col] / (double)c->ymax * c->height * 8);
                level = level < 1 ? 1 : level;
            }
            if (rss[col] > 0) {
                rss_row = (int)ceil((double)rss[col] / (double)c->ymax * c->height) - 1;
                rss_row = rss_row < 0 ? 0 : rss_row >= c->height ? c->height - 1 : rss_row;
            }
            if (level >= 8L * (r + 1))
                cell = eighths[8];
            else if (level > 8L * r)
                cell = eighths[level - 8L * r];
            if (rss_row == r) {
                want = cell && level >= 8L * (r + 1) ? C_BOTH : C_RSS;
                cell = "\u2500";
            }
            if (!cell) {
                blanks++;
                continue;
            }
            if (blanks) {
                paint(c, C_NONE);
                printf("%*s", blanks, "");
                blanks = 0;
            }
            paint(c, want);
            fputs(cell, stdout);
        }
        paint(c, C_NONE);
        putchar('\n');
    }

    /* The time axis with the snapshots on it, then its labels. */
    printf("%*s \u2514", LABEL_W - 1, "0 B");
    for (int col = 0; col < c->plot_w; col++) {
        if (!mark[col]) {
            paint(c, C_NONE);
            fputs("\u2500", stdout);
        } else {
            paint(c, C_SNAP);
            if (mark[col] == '|')
                fputs("\u2534", stdout);
            else
                putchar(mark[col]);
        }
    }
    paint(c, C_NONE);
    putchar('\n');
    fmt_secs(b, sizeof(b), c->t0);
    fmt_secs(d, sizeof(d), c->t0 + c->span);
    len = (int)strlen(b);
    printf("%*s%s", LABEL_W + 1, "", b);
    if (c->plot_w > len + (int)strlen(d) + 12) {
        char mid[64];
        int mc = c->plot_w / 2, ml;
        fmt_secs(mid, sizeof(mid), c->t0 + c->span / 2);
        ml = (int)strlen(mid);
        printf("%*s%s", mc - ml / 2 - len, "", mid);
        len = mc - ml / 2 + ml;
    }
    printf("%*s\n", c->plot_w - len, d);

    /* The legend: three short lines, under the plot when they fit. */
    step = c->ymax / c->height;
    fmt_secs(b, sizeof(b), c->span / c->plot_w);
    legend_indent(c, 24);
    paint(c, C_HEAP);
    fputs("\u2588", stdout);
    paint(c, C_NONE);
    fputs(" heap  ", stdout);
    paint(c, C_RSS);
    fputs("\u2500", stdout);
    paint(c, C_NONE);
    fputs(" rss  ", stdout);
    paint(c, C_PEAK);
    fputs("\u25bc", stdout);
    paint(c, C_NONE);
    fputs(" heap peak\n", stdout);
    len = snprintf(d, sizeof(d), "row %s, column %s", pm_fmt_size(a, step), b);
    legend_indent(c, len);
    printf("%s\n", d);
    len = (int)strlen("snapshots:") + (snaps->n ? 0 : 5);
    for (const char *k = "PFSM|"; *k; k++)
        if (memchr(mark, *k, (size_t)c->plot_w))
            len += 2 + (int)strlen(mark_name(*k)) + 1;
    legend_indent(c, len);
    fputs("snapshots:", stdout);
    for (const char *k = "PFSM|"; *k; k++) {
        if (!memchr(mark, *k, (size_t)c->plot_w))
            continue;
        putchar(' ');
        paint(c, C_SNAP);
        if (*k == '|')
            fputs("\u2534", stdout);
        else
            putchar(*k);
        paint(c, C_NONE);
        printf(" %s", mark_name(*k));
    }
    if (!snaps->n)
        fputs(" none", stdout);
    putchar('\n');
    rc = 0;
out:
    pm_free(heap);
    pm_free(rss);
    pm_free(mark);
    return rc;
}

static int
print_text(const struct pm_target *t, const struct pm_timeline *tl,
           const struct pm_snapshot_list *snaps, int height, bool exact)
{
    struct chart c = { .colour = isatty(STDOUT_FILENO) && !(getenv("NO_COLOR") &&
                                                            *getenv("NO_COLOR")),
                       .height = height, .width = term_width() };
    size_t n = tl->n + snaps->n, peak = 0;
    struct pm_timeline_point *pt = pm_malloc((n + 1) * sizeof(*pt));
    char *argv_text = pm_argv_text(t->proc.argv_json);
    char a[PM_SIZE_LEN], b[PM_SIZE_LEN], d[PM_SIZE_LEN], when[64];
    int64_t max_rss = 0, max_y = 0;
    int rc = PM_EXIT_OK;

    if (!pt || !argv_text) {
        rc = pm_error_oom();
        goto out;
    }
    /* The chart uses the snapshots too: a peak snapshot holds the exact high-water mark, which
     * the periodic timeline may have missed. */
    memcpy(pt, tl->v, tl->n * sizeof(*pt));
    for (size_t i = 0; i < snaps->n; i++)
        pt[tl->n + i] = (struct pm_timeline_point){ snaps->v[i].time, snaps->v[i].heap_bytes,
                                                    snaps->v[i].rss_bytes };
    qsort(pt, n, sizeof(*pt), by_time);
    c.t0 = pt[0].time < 0 ? pt[0].time : 0;
    c.span = pt[n - 1].time - c.t0 > 0 ? pt[n - 1].time - c.t0 : 1;
    for (size_t i = 0; i < n; i++) {
        if (pt[i].heap_bytes > pt[peak].heap_bytes)
            peak = i;
        if (pt[i].rss_bytes > max_rss)
            max_rss = pt[i].rss_bytes;
    }
    max_y = max_rss > pt[peak].heap_bytes ? max_rss : pt[peak].heap_bytes;
    c.ymax = nice_max(max_y);
    c.ymax += (c.height - c.ymax % c.height) % c.height;   /* whole bytes per row */
    c.width = c.width < 40 ? 40 : c.width;
    c.plot_w = c.width - LABEL_W - 2;       /* the axis, and one column kept free */
    fmt_secs(when, sizeof(when), pt[peak].time);
    printf("process %" PRId64 " (pid %" PRId64 "): %s\n", t->proc.id, t->proc.pid, argv_text);
    printf("heap: peak %s at %s, %s at the end\n", pm_fmt_bytes(a, pt[peak].heap_bytes, exact),
           when, pm_fmt_bytes(b, pt[n - 1].heap_bytes, exact));
    printf("rss: peak %s; %zu timeline point%s, %zu snapshot%s\n\n",
           pm_fmt_bytes(d, max_rss, exact),
           tl->n, tl->n == 1 ? "" : "s", snaps->n, snaps->n == 1 ? "" : "s");
    if (print_chart(&c, pt, n, snaps, peak) < 0)
        rc = pm_error_oom();
out:
    pm_free(pt);
    pm_free(argv_text);
    return rc;
}

static void
print_csv(const struct pm_timeline *tl)
{
    puts("time,heap_bytes,rss_bytes");
    for (size_t i = 0; i < tl->n; i++) {
        pm_json_double(stdout, tl->v[i].time);
        printf(",%" PRId64 ",%" PRId64 "\n", tl->v[i].heap_bytes, tl->v[i].rss_bytes);
    }
}

static void
print_json(const struct pm_target *t, const struct pm_timeline *tl,
           const struct pm_snapshot_list *snaps)
{
    fputs("{\"process\": ", stdout);
    pm_json_process(stdout, &t->proc);
    fputs(", \"points\": [", stdout);
    for (size_t i = 0; i < tl->n; i++) {
        fputs(i ? ",\n  {\"time\": " : "\n  {\"time\": ", stdout);
        pm_json_double(stdout, tl->v[i].time);
        printf(", \"heap_bytes\": %" PRId64 ", \"rss_bytes\": %" PRId64 "}",
               tl->v[i].heap_bytes, tl->v[i].rss_bytes);
    }
    fputs(tl->n ? "\n], \"snapshots\": [" : "], \"snapshots\": [", stdout);
    for (size_t i = 0; i < snaps->n; i++) {
        fputs(i ? ",\n  " : "\n  ", stdout);
        pm_json_snapshot(stdout, &snaps->v[i]);
    }
    fputs(snaps->n ? "\n]}\n" : "]}\n", stdout);
}

int
cmd_timeline(int argc, char **argv)
{
    static const struct option opts[] = {
        PM_OPTS_TARGET,
        PM_OPTS_PID,
        { "height", required_argument, NULL, OPT_HEIGHT },
        { "csv", no_argument, NULL, OPT_CSV },
        { "bytes", no_argument, NULL, OPT_BYTES },
        { "json", no_argument, NULL, PM_OPT_JSON },
        PM_OPTS_END,
    };
    const char *file = PM_DEFAULT_FILE;
    int64_t pid = -1, run = 0, height = 10;
    int c, json = 0, csv = 0, rc;
    bool exact = false;
    struct pm_target t;
    struct pm_timeline tl = { 0 };
    struct pm_snapshot_list snaps = { 0 };
    struct pm_diag diag = { 0 };

    const struct pm_common_opts co = { usage, &file, &run, &pid, &json, NULL };

    while ((c = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
        if ((rc = pm_common_option(&co, c, optarg)) != PM_OPT_NOT_MINE) {
            if (rc != PM_OPT_TAKEN)
                return rc;
            continue;
        }
        switch (c) {
        case OPT_HEIGHT:
            if (pm_parse_int("--height", optarg, 2, &height))
                return PM_EXIT_USAGE;
            if (height > 200) {
                pm_error("invalid value '%s' for --height: expected at most 200", optarg);
                return PM_EXIT_USAGE;
            }
            break;
        case OPT_CSV:
            csv = 1;
            break;
        case OPT_BYTES:
            exact = true;
            break;
        default:
            return pm_bad_option("timeline", c, argv);
        }
    }
    if (optind < argc)
        return pm_extra_args("timeline", argv[optind]);
    if (csv && json) {
        pm_error("--csv and --json exclude each other; see 'pymem-view timeline --help'");
        return PM_EXIT_USAGE;
    }
    if ((rc = pm_target_open(&t, file, run, pid, 0)) != PM_EXIT_OK)
        return rc;
    rc = PM_EXIT_DATA;
    if (pm_query_timeline(t.q, t.proc.id, &tl, &diag) < 0 ||
        pm_query_snapshots(t.q, t.proc.id, &snaps, &diag) < 0) {
        pm_error("%s", diag.msg);
        goto out;
    }
    if (csv) {
        print_csv(&tl);
        rc = PM_EXIT_OK;
    } else if (json) {
        print_json(&t, &tl, &snaps);
        rc = PM_EXIT_OK;
    } else if (tl.n + snaps.n == 0) {
        pm_error("pid %" PRId64 " has no timeline points and no snapshots yet", t.proc.pid);
        goto out;
    } else {
        rc = print_text(&t, &tl, &snaps, (int)height, exact);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pm_error("cannot write the output");
        rc = PM_EXIT_DATA;
    }
out:
    pm_snapshot_list_clear(&snaps);
    pm_timeline_clear(&tl);
    pm_target_close(&t);
    return rc;
}
