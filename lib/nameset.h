/* SPDX-License-Identifier: MIT */
/* An index of entries by name (file, function, line) for the read side's grouping: open
 * addressing over entry numbers, the entries themselves in the caller's own array (top's rows,
 * growth's keys). At most half full. Not thread-safe. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PM_NAMESET_NONE UINT32_MAX

struct pm_name {
    const char *file, *function;
    int64_t line;
};

/* The name of entry i of the caller's array. */
typedef struct pm_name (*pm_name_of_fn)(const void *ctx, uint32_t i);

struct pm_nameset {
    uint32_t *slot;     /* entry numbers; PM_NAMESET_NONE = empty */
    size_t cap;         /* a power of two, or 0 */
};

/* Looks `name` up among the n entries the set indexes (entries 0..n-1, named by name_of),
 * making room for one more first. *found gets the entry, or PM_NAMESET_NONE: then *hole is the
 * slot where pm_nameset_put puts entry n. Returns 0, or -ENOMEM (the set is unchanged). */
int pm_nameset_find(struct pm_nameset *s, size_t n, struct pm_name name, pm_name_of_fn name_of,
                    const void *ctx, uint32_t *found, size_t *hole);

/* Records entry i at the hole pm_nameset_find returned. */
static inline void
pm_nameset_put(struct pm_nameset *s, size_t hole, uint32_t i)
{
    s->slot[hole] = i;
}

void pm_nameset_release(struct pm_nameset *s);
