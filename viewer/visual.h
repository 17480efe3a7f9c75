/* SPDX-License-Identifier: MIT */
/* What the visual commands (timeline, tree, flamegraph, report) share: the first snapshot of
 * a kind, the call tree built from stack samples, the leaks baseline, and the self-contained HTML page
 * (our own CSS and JS, embedded at build time by html/embed.py). Viewer only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd.h"
#include "query_samples.h"
#include "query_visual.h"

/* Like pm_snap_load for the first snapshot of `kind` by id; *found tells whether there is one
 * (no message then). */
int pm_snap_first(struct pm_target *t, const char *kind, struct pm_snapshot_info *out,
                  bool *found);

/* Loads the live samples of a snapshot; errors printed. PM_EXIT_OK or PM_EXIT_DATA. */
int pm_samples_load(struct pm_target *t, int64_t snapshot, struct pm_sample_list *out);

/* ---- call tree ---- */

#define PM_CTREE_ROOT 0u
#define PM_CTREE_NOFRAME UINT32_MAX

struct pm_ctree_node {
    uint32_t frame;             /* index into the sample list's frames; NOFRAME for the root */
    uint32_t parent;
    int64_t bytes, blocks;      /* everything at or under this node */
    int64_t self_bytes, self_blocks;    /* stacks ending here */
    uint32_t kids, n_kids;      /* after pm_ctree_finish: kid[kids .. kids + n_kids) */
};

/* A call tree merged by frame along each stack, outermost frame at depth 1. */
struct pm_ctree {
    struct pm_ctree_node *v;    /* v[0] is the root */
    size_t n, cap;
    uint32_t *kid;              /* children of each node, largest first (after finish) */
    uint32_t *slot;             /* open addressing (parent, frame) -> node index + 1 */
    size_t n_slot;
    const struct pm_sample_frame *frames;  /* borrowed from the sample list */
};

/* Starts an empty tree over the frames of `frames` (borrowed: must outlive the tree). Returns
 * 0 or -ENOMEM. */
int pm_ctree_init(struct pm_ctree *t, const struct pm_sample_frame *frames);
/* Adds one stack (frame indices, outermost first) with its counts. 0 or -ENOMEM. */
int pm_ctree_add(struct pm_ctree *t, const uint32_t *frames, uint32_t n, int64_t bytes,
                 int64_t blocks);
/* Adds every sample of the list (with bytes or blocks at the snapshot). 0 or -ENOMEM. */
int pm_ctree_add_samples(struct pm_ctree *t, const struct pm_sample_list *l);
/* Adds the growth from `base` to `now` of every stack of `now` that grew in bytes (the leaks
 * view). 0 or -ENOMEM. */
int pm_ctree_add_growth(struct pm_ctree *t, const struct pm_sample_list *now,
                        const struct pm_sample_list *base);
/* Sorts the children of every node: bytes desc, blocks desc, function, file, line. 0 or
 * -ENOMEM. */
int pm_ctree_finish(struct pm_ctree *t);
void pm_ctree_release(struct pm_ctree *t);

/* The frames of a node (NULL for the root). */
static inline const struct pm_sample_frame *
pm_ctree_frame(const struct pm_ctree *t, uint32_t node)
{
    return t->v[node].frame == PM_CTREE_NOFRAME ? NULL : &t->frames[t->v[node].frame];
}

/* ---- HTML and JSON ---- */

/* Writes the flame graph data of a finished tree as JSON:
 * {"frames": [[function, file, line], ...], "nodes": [[parent, frame, bytes, blocks], ...]}
 * nodes in pre-order, children largest first; node 0 is the root (parent -1, frame -1). Nodes
 * with neither bytes nor blocks are left out. */
void pm_flame_json(FILE *f, const struct pm_ctree *t);

/* Writes the process and snapshot objects the JSON outputs share. */
void pm_json_process(FILE *f, const struct pm_process_info *p);
void pm_json_snapshot(FILE *f, const struct pm_snapshot_info *s);

/* Opens the output file of a command (stdout for NULL or "-"); NULL after printing why. */
FILE *pm_out_open(const char *path);
/* Flushes and closes what pm_out_open gave. Errors are printed; PM_EXIT_OK or PM_EXIT_DATA. */
int pm_out_close(const char *path, FILE *f);

/* Opens a memory stream for building the page's JSON data. NULL if out of memory. */
struct pm_membuf {
    char *p;
    size_t len;
    FILE *f;
};
int pm_membuf_open(struct pm_membuf *m);
void pm_membuf_release(struct pm_membuf *m);

/* Writes the contents of m (closed here) as they are to `path` ("-" or NULL: stdout). Errors
 * are printed; returns PM_EXIT_OK or PM_EXIT_DATA. */
int pm_membuf_emit(const char *path, struct pm_membuf *m);

/* Writes the self-contained page to `path` ("-" or NULL: stdout): our CSS and JS inlined, the
 * JSON in m (closed here) embedded so that nothing in it can end the script element. Errors
 * are printed; returns PM_EXIT_OK or PM_EXIT_DATA. */
int pm_html_write(const char *path, struct pm_membuf *m);
