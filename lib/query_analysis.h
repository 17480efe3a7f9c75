/* SPDX-License-Identifier: MIT */
/* The read side of pymem-view's analysis commands (summary, leaks, growth, diff): live memory
 * per key (line, function or stack) at a snapshot, the comparison of two such tables, growth
 * rates fitted across the periodic snapshots, a stack's frames, and per-process peaks from the
 * timeline. Viewer only.
 *
 * The queries run on the read transaction of a pm_query (query.h). Every function returns 0 or a
 * negative code and puts a one-line lowercase message in diag (may be NULL); results own their
 * strings and are freed by their NULL-safe _clear function. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct pm_query;

/* What the rows of a table are keyed by. */
enum pm_analysis_by {
    PM_ANALYSIS_BY_LINE,     /* file, function, line of the innermost frame */
    PM_ANALYSIS_BY_FUNCTION, /* file, function of the innermost frame (line is 0) */
    PM_ANALYSIS_BY_STACK,    /* the whole stack; file, function, line name its innermost frame */
};

/* A key. A stack or frame row missing from the file shows as the synthetic names top uses
 * ('<pymem>', '<unknown stack>', '<unknown frame>'). */
struct pm_analysis_key {
    char *file;
    char *function;
    int64_t line;  /* 0 for PM_ANALYSIS_BY_FUNCTION */
    int64_t stack; /* PM_ANALYSIS_BY_STACK: the id of the stack in its file, else 0 */
    int64_t stack_key; /* PM_ANALYSIS_BY_STACK: what is compared, the same for the same stack
                        * in every process and file (stack.key), else 0 */
};

/* Live memory per key at one snapshot, sorted by key. */
struct pm_analysis_amount {
    struct pm_analysis_key key;
    int64_t bytes, blocks;
};

struct pm_analysis_amounts {
    struct pm_analysis_amount *v;
    size_t n;
};

/* One key of a comparison: before (0 if absent), after, and the change after - before. */
struct pm_analysis_change {
    struct pm_analysis_key key;
    int64_t before_bytes, before_blocks;
    int64_t after_bytes, after_blocks;
};

struct pm_analysis_changes {
    struct pm_analysis_change *v;
    size_t n;
};

enum pm_analysis_compare_mode {
    PM_ANALYSIS_GROWN,   /* keys whose bytes grew, by growth desc */
    PM_ANALYSIS_CHANGED, /* keys whose bytes or blocks changed, by |bytes change| desc */
};

/* Thresholds of pm_analysis_growth: a key is listed when its fitted slope is positive, it grew
 * in at least PM_GROWTH_MIN_STEADY of the intervals between consecutive points, and the straight
 * line explains at least PM_GROWTH_MIN_FIT of its variance (R^2): memory that goes up and down
 * around a level (churn) fits a line badly even when it happens to end higher. */
#define PM_GROWTH_MIN_STEADY 0.5
#define PM_GROWTH_MIN_FIT 0.5
#define PM_GROWTH_MIN_POINTS 3

struct pm_growth_row {
    struct pm_analysis_key key;
    double slope;          /* bytes per second, least squares over the points */
    double steadiness;     /* share of the intervals between consecutive points where it grew */
    double fit;            /* R^2 of the fit, 0..1 */
    int64_t first_bytes;   /* live at the first point */
    int64_t bytes, blocks; /* live at the last point */
};

struct pm_growth {
    struct pm_growth_row *v; /* the listed keys, by slope desc */
    size_t n;
    size_t n_keys;   /* keys seen live at some point (listed or not) */
    size_t n_points; /* periodic snapshots + the final one if any */
    bool has_final;  /* the last point is the final snapshot */
    int64_t first_snapshot, last_snapshot;
    double first_time, last_time;
};

/* One frame of a stack. */
struct pm_analysis_frame {
    char *file;
    char *function;
    int64_t line;
};

struct pm_analysis_frames {
    struct pm_analysis_frame *v; /* outermost first */
    size_t n;
};

/* Extremes of a process from its timeline and snapshots. */
struct pm_analysis_stats {
    int64_t rss_peak;     /* greatest rss_bytes of the timeline and the snapshots; 0 if none */
    double rss_peak_time; /* seconds since start */
    double last_seen;     /* the latest time of a timeline row or a snapshot; 0 if none */
    size_t n_timeline;    /* timeline rows */
};

/* Live bytes and blocks per key at `snapshot` of `process`; keys with nothing live are absent. */
int pm_analysis_at(struct pm_query *q, int64_t process, int64_t snapshot, enum pm_analysis_by by,
                   struct pm_analysis_amounts *out, struct pm_diag *diag);

/* Compares two tables of the same `by` (from the same file or not: stack ids are content
 * hashes). Takes the keys of both: *before and *after are left empty. before may be NULL
 * (nothing before). */
int pm_analysis_compare(struct pm_analysis_amounts *before, struct pm_analysis_amounts *after,
                        enum pm_analysis_compare_mode mode, struct pm_analysis_changes *out,
                        struct pm_diag *diag);

/* Fits live bytes over time per key across the periodic snapshots of `process` (and its latest
 * final snapshot, as the last point); lists the keys that pass the thresholds above.
 * -PM_ENOTFOUND if there are fewer than PM_GROWTH_MIN_POINTS points (out->n_points says how
 * many). Reads each live row once (one scan of the covering index live_by_until): the cost
 * grows with the rows, not rows x snapshots. Memory: the changes of each stack at the points,
 * varint-packed (about 8 bytes each, at most two per live row), plus one series of the points
 * at a time; never keys x points. */
int pm_analysis_growth(struct pm_query *q, int64_t process, enum pm_analysis_by by,
                       struct pm_growth *out, struct pm_diag *diag);

/* The frames of `stack`, outermost first (at most 4096; a broken chain just ends early). */
int pm_analysis_stack(struct pm_query *q, int64_t stack, struct pm_analysis_frames *out,
                      struct pm_diag *diag);

int pm_analysis_stats(struct pm_query *q, int64_t process, struct pm_analysis_stats *out,
                      struct pm_diag *diag);

void pm_analysis_amounts_clear(struct pm_analysis_amounts *l);
void pm_analysis_changes_clear(struct pm_analysis_changes *l);
void pm_growth_clear(struct pm_growth *g);
void pm_analysis_frames_clear(struct pm_analysis_frames *l);
