/* SPDX-License-Identifier: MIT */
/* Stack samples: every stack of one process with its full frame chain and its counts at one
 * snapshot (live) and over the run (churn). The common input of flame graphs, call trees and
 * exports (folded, pprof, speedscope). Implemented in query_export.c. Viewer only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct pm_query;

struct pm_sample_frame {
    int64_t id;                 /* frame.id */
    char *file;
    char *function;
    int64_t line;
};

struct pm_sample {
    int64_t stack;              /* stack.id */
    const uint32_t *frames;     /* indices into pm_sample_list.frames, OUTERMOST first */
    uint32_t n_frames;
    int64_t bytes, blocks;      /* live at the snapshot (0 if only in churn) */
    int64_t python_bytes, python_blocks, raw_bytes, raw_blocks, native_bytes, native_blocks;
    int64_t alloc_bytes, alloc_blocks;  /* churn: allocated over the process's life */
};

struct pm_sample_list {
    struct pm_sample *v;        /* live samples by bytes desc, then churn-only ones */
    size_t n;
    struct pm_sample_frame *frames;     /* each distinct frame once */
    size_t n_frames;
    uint32_t *pool;             /* storage behind every pm_sample.frames */
};

/* Loads the samples of `process` at snapshot `snapshot` (its live rows), plus, when with_churn
 * is set, the churn of every stack of the process (stacks with churn but nothing live get
 * bytes = blocks = 0). A stack whose chain is broken in the file ends at a frame
 * "<pymem>" / "<unknown stack>". Returns 0 or a negative code (message in diag). */
int pm_query_samples(struct pm_query *q, int64_t process, int64_t snapshot, int with_churn,
                     struct pm_sample_list *out, struct pm_diag *diag);

/* Frees everything the list owns. NULL-safe. */
void pm_sample_list_clear(struct pm_sample_list *l);
