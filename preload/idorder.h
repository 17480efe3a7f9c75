/* SPDX-License-Identifier: MIT */
/* Sorting frame indices by their content-hash ids. The writer inserts frame rows in id order:
 * B-tree keys that arrive in order touch each page once, random order touches a page per row.
 * (Stack ids grow with the index, see stackrows.h: their rows need no sort.) Ids are kept next to
 * the indices, so sorting never looks anything up. Writer thread only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* An index with its id. */
struct pm_keyed {
    int64_t id;
    uint32_t idx;
};

/* The id of frame index idx of pm_tracker.stacks. */
typedef int64_t (*pm_id_of_fn)(uint32_t idx);

/* Indices [from, to) with their ids, sorted by id, in a new pm_malloc'd array of to - from
 * entries; NULL if out of memory. */
struct pm_keyed *pm_sorted_by_id(uint32_t from, uint32_t to, pm_id_of_fn id_of);
