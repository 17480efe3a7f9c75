/* SPDX-License-Identifier: MIT */
/* What the two halves of the top table share: query_top_load.c reads the live rows, stacks and
 * frames; query_top.c makes the rows and their totals. Not part of the API. */
#pragma once

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idmap.h"
#include "nameset.h"
#include "query.h"

#define NONE PM_IDMAP_NONE     /* no index; also what pm_idmap_get returns for an unknown id */

/* ---- the working state ---- */

struct live {
    int64_t stack, bytes, blocks;
    uint32_t node, start;       /* the stack's node; the node its memory is attributed to */
};

struct node {
    int64_t id, parent, frame;
    int64_t key;                /* stack.key: the same stack in every process */
    uint32_t fidx;              /* index in frames; 0 = unknown stack */
    uint32_t up;                /* the parent's index once resolved, or NONE */
    uint32_t row;               /* PM_TOP_BY_STACK: its row, or NONE */
    bool reached;
};

struct frame {
    char *file, *function;
    int64_t line;
    uint32_t row;
    bool loaded, user;
};

struct top {
    struct pm_query *q;
    sqlite3 *db;
    const struct pm_top_opts *o;
    struct live *live;
    size_t n_live, cap_live;
    struct pm_idmap live_map;
    struct node *node;
    size_t n_node, cap_node;
    struct pm_idmap node_map;
    struct pm_idmap key_row;    /* PM_TOP_BY_STACK: the row of each stack key */
    bool all_stacks;            /* the whole stack table is loaded */
    sqlite3_stmt *stack_by_id;
    struct frame *frame;        /* [0] unknown stack, [1] unknown frame */
    size_t n_frame, cap_frame;
    struct pm_idmap frame_map;
    struct pm_top_row *row;
    uint64_t *stamp;
    size_t n_row, cap_row;
    struct pm_nameset row_names;    /* the rows by (file, function, line) */
};

static inline int
oom(struct pm_diag *diag)
{
    return pm_diag_set(diag, -ENOMEM, "out of memory");
}

/* Reads the live rows of every point of t->o into t->live, merged by stack. */
int pm_top_load_live(struct top *t, struct pm_diag *diag);

/* Finds the node of every live stack and of its callers, and the frames they need. */
int pm_top_resolve(struct top *t, struct pm_diag *diag);

/* Reads the frames pm_top_resolve collected (unknown ones get the synthetic names) and marks
 * the user frames. */
int pm_top_load_frames(struct top *t, struct pm_diag *diag);
