/* SPDX-License-Identifier: MIT */
/* Stack ids: which process interned each range of stack indices (see stackrows.h). */
#include "stackrows.h"

/* A fork chain deeper than this gives its deepest children's inherited stacks ids of their own
 * (rows written twice under two ids: correct, only larger). */
#define MAX_RANGES 16

/* Indices from `from` (up to the next range) were interned by process `owner`, 0 = this one. */
static struct {
    uint32_t from;
    int64_t owner;
} ranges[MAX_RANGES];
static int n_ranges = 1;

int64_t
pm_stackrows_id(uint32_t idx, int64_t self)
{
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
