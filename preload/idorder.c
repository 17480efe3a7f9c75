/* SPDX-License-Identifier: MIT */
#include "idorder.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static struct pm_keyed *
keyed_new(size_t n)
{
    return pm_malloc((n ? n : 1) * sizeof(struct pm_keyed));
}

static int
by_id(const void *a, const void *b)
{
    int64_t x = ((const struct pm_keyed *)a)->id, y = ((const struct pm_keyed *)b)->id;
    return (x > y) - (x < y);
}

/* LSD radix sort, 11 bits a pass (qsort's comparison callback made a snapshot of 130k stacks
 * spend 20 ms sorting). Returns the array holding the result: k or tmp. */
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

/* Sorts (*k)[0..n) by id; the sorted entries may end up in a new array (*k replaced, the old one
 * freed). Ids must be non-negative. */
static void
keyed_sort(struct pm_keyed **k, size_t n)
{
    struct pm_keyed *tmp = n > 64 ? keyed_new(n) : NULL;
    struct pm_keyed *sorted;

    if (!tmp) {     /* small, or no memory for the radix sort's second buffer */
        qsort(*k, n, sizeof(**k), by_id);
        return;
    }
    sorted = radix_sort(*k, tmp, n);
    pm_free(sorted == *k ? tmp : *k);
    *k = sorted;
}

struct pm_keyed *
pm_sorted_by_id(uint32_t from, uint32_t to, pm_id_of_fn id_of)
{
    size_t n = to > from ? to - from : 0;
    struct pm_keyed *k = keyed_new(n);

    if (!k)
        return NULL;
    for (size_t i = 0; i < n; i++)
        k[i] = (struct pm_keyed){ id_of(from + (uint32_t)i), from + (uint32_t)i };
    keyed_sort(&k, n);
    return k;
}
