/* SPDX-License-Identifier: MIT */
/* An append-only array of fixed-size elements in chunks that never move: an element's address
 * stays valid for the life of the array, so readers may use it without a lock while chunks are
 * added. Up to PM_CHUNKED_MAX elements. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#define PM_CHUNK_BITS 12
#define PM_CHUNK_LEN (1u << PM_CHUNK_BITS)
#define PM_CHUNK_DIR (1u << 14)
#define PM_CHUNKED_MAX (PM_CHUNK_LEN * PM_CHUNK_DIR)   /* 2^26 elements */

struct pm_chunked {
    size_t elem_size;
    void *_Atomic chunk[PM_CHUNK_DIR];
};

/* Element idx; its chunk must exist (see pm_chunked_reserve). Lock-free. */
static inline void *
pm_chunked_at(const struct pm_chunked *c, uint32_t idx)
{
    char *chunk = __atomic_load_n((char *const *)&c->chunk[idx >> PM_CHUNK_BITS], __ATOMIC_ACQUIRE);
    return chunk + (size_t)(idx & (PM_CHUNK_LEN - 1)) * c->elem_size;
}

/* Element idx, or NULL while its chunk has not been made. Lock-free. */
static inline void *
pm_chunked_find(const struct pm_chunked *c, uint32_t idx)
{
    if (idx >> PM_CHUNK_BITS >= PM_CHUNK_DIR)
        return NULL;
    char *chunk = __atomic_load_n((char *const *)&c->chunk[idx >> PM_CHUNK_BITS], __ATOMIC_ACQUIRE);
    return chunk ? chunk + (size_t)(idx & (PM_CHUNK_LEN - 1)) * c->elem_size : NULL;
}

/* Initializes an empty array of elem_size-byte elements (zero-filled when reserved). */
void pm_chunked_init(struct pm_chunked *c, size_t elem_size);

/* Makes sure element idx exists. Returns 0, -ENOMEM or -ERANGE. Any thread, concurrently: two
 * threads that make the same chunk keep the first one published. */
int pm_chunked_reserve(struct pm_chunked *c, uint32_t idx);

/* Frees every chunk. */
void pm_chunked_release(struct pm_chunked *c);

/* Tool memory held. */
size_t pm_chunked_bytes(const struct pm_chunked *c);
