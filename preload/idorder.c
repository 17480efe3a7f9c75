/* SPDX-License-Identifier: MIT */
#include "idorder.h"

#include <errno.h>
#include <stdlib.h>

#include "alloc.h"

struct keyed {
    int64_t id;
    uint32_t idx;
};

static int
by_id(const void *a, const void *b)
{
    int64_t x = ((const struct keyed *)a)->id, y = ((const struct keyed *)b)->id;
    return (x > y) - (x < y);
}

uint32_t *
pm_sorted_by_id(uint32_t from, uint32_t to, pm_id_of_fn id_of)
{
    size_t n = to > from ? to - from : 0;
    /* sorting (id, idx) pairs keeps the comparisons free of table lookups */
    struct keyed *k = pm_malloc((n ? n : 1) * sizeof(*k));
    uint32_t *out = pm_malloc((n ? n : 1) * sizeof(*out));

    if (!k || !out) {
        pm_free(k);
        pm_free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        k[i] = (struct keyed){ id_of(from + (uint32_t)i), from + (uint32_t)i };
    qsort(k, n, sizeof(*k), by_id);
    for (size_t i = 0; i < n; i++)
        out[i] = k[i].idx;
    pm_free(k);
    return out;
}

int
pm_idorder_extend(struct pm_idorder *o, uint32_t to, pm_id_of_fn id_of)
{
    uint32_t from = o->len ? o->len : 1;
    uint32_t had = pm_idorder_count(o);

    if (to <= from)
        return 0;
    uint32_t add = to - from;
    uint32_t *fresh = pm_sorted_by_id(from, to, id_of);
    uint32_t *merged = pm_malloc(((size_t)had + add) * sizeof(*merged));
    if (!fresh || !merged) {
        pm_free(fresh);
        pm_free(merged);
        return -ENOMEM;
    }
    uint32_t i = 0, j = 0, m = 0;
    while (i < had && j < add)
        merged[m++] = id_of(o->idx[i]) <= id_of(fresh[j]) ? o->idx[i++] : fresh[j++];
    while (i < had)
        merged[m++] = o->idx[i++];
    while (j < add)
        merged[m++] = fresh[j++];
    pm_free(fresh);
    pm_free(o->idx);
    o->idx = merged;
    o->len = to;
    return 0;
}
