/* SPDX-License-Identifier: MIT */
/* The read side of the visual commands (timeline, report): the heap/RSS timeline of one
 * process. Same rules as query.h: 0 or a negative code, a one-line message in diag, results
 * owned by their struct and freed by its NULL-safe _clear function. Viewer only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct pm_query;

/* One row of the timeline table. */
struct pm_timeline_point {
    double time;                /* seconds since the process started */
    int64_t heap_bytes, rss_bytes;
};

struct pm_timeline {
    struct pm_timeline_point *v;    /* by time, then as stored */
    size_t n;
};

/* The timeline points of `process`. A file without a timeline table (or with no rows for the
 * process) gives an empty list, not an error. */
int pm_query_timeline(struct pm_query *q, int64_t process, struct pm_timeline *out,
                      struct pm_diag *diag);

void pm_timeline_clear(struct pm_timeline *t);
