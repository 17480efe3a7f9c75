/* SPDX-License-Identifier: MIT */
/* Frame and stack indices in the order of their content-hash ids. The writer inserts and updates
 * rows in id order: B-tree keys that arrive in order touch each page once, random order touches
 * a page per row (black's final churn rows: 0.08 s in order, 0.18 s in index order). Ids are kept
 * next to the indices, so sorting and merging never look anything up. Writer thread only. */
#pragma once

#include <stdint.h>

/* An index with its id. */
struct pm_keyed {
    int64_t id;
    uint32_t idx;
};

/* The id of index idx (a frame or stack of pm_tracker.stacks). */
typedef int64_t (*pm_id_of_fn)(uint32_t idx);

/* Indices [from, to) with their ids, sorted by id, in a new pm_malloc'd array of to - from
 * entries; NULL if out of memory. */
struct pm_keyed *pm_sorted_by_id(uint32_t from, uint32_t to, pm_id_of_fn id_of);

/* Every index in [1, to) of the last extend, kept sorted by id. */
struct pm_idorder {
    struct pm_keyed *k;
    uint32_t n;         /* entries in k: indices [1, n + 1) */
};

/* Adds the indices [n + 1, to) to the order (sorted, then merged in one pass). Returns 0 or
 * -ENOMEM (order unchanged). */
int pm_idorder_extend(struct pm_idorder *o, uint32_t to, pm_id_of_fn id_of);

/* Frees the order's array and empties it. */
void pm_idorder_release(struct pm_idorder *o);
