/* SPDX-License-Identifier: MIT */
#include "idorder.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"

/* LSD radix sort of k[0..n) by id (ids are 63-bit content hashes: non-negative), 11 bits a
 * pass; tmp has room for n entries. qsort's comparison callback made a snapshot of 130k stacks
 * spend 20 ms here. */
static struct pm_keyed *
radix_sort(struct pm_keyed *k, struct pm_keyed *tmp, size_t n)
{
    enum { BITS = 11, BUCKETS = 1 << BITS, PASSES = (63 + BITS - 1) / BITS };
    size_t count[BUCKETS];

    for (int pass = 0; pass < PASSES; pass++) {
        unsigned shift = (unsigned)(pass * BITS);
        size_t sum = 0;
        memset(count, 0, sizeof(count));
        for (size_t i = 0; i < n; i++)
            count[((uint64_t)k[i].id >> shift) & (BUCKETS - 1)]++;
        for (size_t b = 0; b < BUCKETS; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[((uint64_t)k[i].id >> shift) & (BUCKETS - 1)]++] = k[i];
        struct pm_keyed *swap = k;
        k = tmp;
        tmp = swap;
    }
    return k;
}

struct pm_keyed *
pm_sorted_by_id(uint32_t from, uint32_t to, pm_id_of_fn id_of)
{
    size_t n = to > from ? to - from : 0;
    struct pm_keyed *k = pm_malloc((n ? n : 1) * sizeof(*k));
    struct pm_keyed *tmp = pm_malloc((n ? n : 1) * sizeof(*k));
    struct pm_keyed *sorted;

    if (!k || !tmp) {
        pm_free(k);
        pm_free(tmp);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        k[i] = (struct pm_keyed){ id_of(from + (uint32_t)i), from + (uint32_t)i };
    sorted = radix_sort(k, tmp, n);
    pm_free(sorted == k ? tmp : k);
    return sorted;
}

int
pm_idorder_extend(struct pm_idorder *o, uint32_t to, pm_id_of_fn id_of)
{
    uint32_t from = o->n + 1, n = to > from ? to - from : 0;
    struct pm_keyed *run, *merged;
    uint32_t i = 0, j = 0, m = 0;

    if (!n)
        return 0;
    run = pm_sorted_by_id(from, to, id_of);
    merged = pm_malloc(((size_t)o->n + n) * sizeof(*merged));
    if (!run || !merged) {
        pm_free(run);
        pm_free(merged);
        return -ENOMEM;
    }
    while (i < o->n && j < n)
        merged[m++] = o->k[i].id <= run[j].id ? o->k[i++] : run[j++];
    memcpy(merged + m, o->k + i, (o->n - i) * sizeof(*merged));
    m += o->n - i;
    memcpy(merged + m, run + j, (n - j) * sizeof(*merged));
    pm_free(run);
    pm_free(o->k);
    o->k = merged;
    o->n += n;
    return 0;
}

void
pm_idorder_release(struct pm_idorder *o)
{
    pm_free(o->k);
    o->k = NULL;
    o->n = 0;
}
