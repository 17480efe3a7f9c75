/* SPDX-License-Identifier: MIT */
/* Stack ids: which process interned each range of stack indices (see stackrows.h). */
#include "stackrows.h"

#include "chunked.h"

/* A fork chain deeper than this gives its deepest children's inherited stacks ids of their own
 * (rows written twice under two ids: correct, only larger). */
#define MAX_RANGES 16

/* Indices from `from` (up to the next range) were interned by process `owner`, 0 = this one. */
static struct {
    uint32_t from;
    int64_t owner;
} ranges[MAX_RANGES];
static int n_ranges = 1;

/* By index: the id of another process's row naming the stack, 0 = its own. Inherited by a
 * forked child with the rest of the writer's memory: the child names those stacks alike. */
static struct pm_chunked shared = { .elem_size = sizeof(int64_t) };

static int64_t
shared_id(uint32_t idx)
{
    const int64_t *id = pm_chunked_find(&shared, idx);
    return id ? *id : 0;
}

int
pm_stackrows_share(uint32_t idx, int64_t id)
{
    int rc;

    if ((rc = pm_chunked_reserve(&shared, idx)) < 0)
        return rc;
    *(int64_t *)pm_chunked_at(&shared, idx) = id;
    return 0;
}

bool
pm_stackrows_is_shared(uint32_t idx)
{
    return shared_id(idx) != 0;
}

int64_t
pm_stackrows_id(uint32_t idx, int64_t self)
{
    int64_t other = shared_id(idx);
    if (other)
        return other;
    int k = n_ranges - 1;

    while (k > 0 && idx < ranges[k].from)
        k--;
    return (ranges[k].owner ? ranges[k].owner : self) << 32 | idx;
}

void
pm_stackrows_after_fork(uint32_t n_stacks, int64_t parent)
{
    if (!parent || n_ranges == MAX_RANGES || ranges[n_ranges - 1].from >= n_stacks)
        return;
    ranges[n_ranges - 1].owner = parent;
    ranges[n_ranges++].from = n_stacks;
}
