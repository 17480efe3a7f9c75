/* SPDX-License-Identifier: MIT */
/* Frame and stack indices in the order of their content-hash ids. The writer inserts and updates
 * rows in id order: B-tree keys that arrive in order touch each page once, random order touches
 * a page per row (the difference is seconds for 300k stacks, and the program waits at exit). */
#pragma once

#include <stdint.h>

/* The id of index idx (a frame or stack of pm_tracker.stacks). */
typedef int64_t (*pm_id_of_fn)(uint32_t idx);

/* Indices [from, to) sorted by id, in a new pm_malloc'd array; NULL if out of memory. */
uint32_t *pm_sorted_by_id(uint32_t from, uint32_t to, pm_id_of_fn id_of);

/* Every index in [1, len) sorted by id, kept up to date as indices are added. */
struct pm_idorder {
    uint32_t *idx;
    uint32_t len;       /* indices [1, len) are in idx */
};

/* Merges the indices [o->len, to) into the order. Returns 0 or -ENOMEM (order unchanged). */
int pm_idorder_extend(struct pm_idorder *o, uint32_t to, pm_id_of_fn id_of);

/* Number of indices in the order. */
static inline uint32_t
pm_idorder_count(const struct pm_idorder *o)
{
    return o->len ? o->len - 1 : 0;
}
