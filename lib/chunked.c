/* SPDX-License-Identifier: MIT */
/* Chunked append-only arrays: chunks are allocated on demand and never move. */
#include "chunked.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"

void
pm_chunked_init(struct pm_chunked *c, size_t elem_size)
{
    memset(c, 0, sizeof(*c));
    c->elem_size = elem_size;
}

/* The chunk goes in with a CAS: two threads making the same chunk keep the first one. */
int
pm_chunked_reserve(struct pm_chunked *c, uint32_t idx)
{
    uint32_t d = idx >> PM_CHUNK_BITS;
    void *chunk, *none = NULL;

    if (d >= PM_CHUNK_DIR)
        return -ERANGE;
    if (atomic_load_explicit(&c->chunk[d], memory_order_acquire))
        return 0;
    chunk = pm_calloc(PM_CHUNK_LEN, c->elem_size);
    if (!chunk)
        return -ENOMEM;
    if (!atomic_compare_exchange_strong_explicit(&c->chunk[d], &none, chunk, memory_order_acq_rel,
                                                 memory_order_acquire))
        pm_free(chunk);
    return 0;
}

void
pm_chunked_release(struct pm_chunked *c)
{
    for (uint32_t d = 0; d < PM_CHUNK_DIR; d++) {
        pm_free(atomic_load(&c->chunk[d]));
        atomic_store(&c->chunk[d], NULL);
    }
}

size_t
pm_chunked_bytes(const struct pm_chunked *c)
{
    size_t n = 0;

    for (uint32_t d = 0; d < PM_CHUNK_DIR; d++)
        if (atomic_load_explicit((void *_Atomic *)&c->chunk[d], memory_order_relaxed))
            n++;
    return n * PM_CHUNK_LEN * c->elem_size;
}
