/* SPDX-License-Identifier: MIT */
/* The fork tree's table of committed stack rows (see sharedstacks.h): open addressing over a
 * shared anonymous mapping, lock-free across processes. An entry is claimed by a compare-and-swap
 * of its key and completed by storing its id; one whose id is still 0 (its process died between
 * the two) reads as absent. */
#include "sharedstacks.h"

#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

#define SLOT_BITS 17u   /* 2 MiB of address space, touched as entries land: black publishes ~70k */
#define SLOTS (1u << SLOT_BITS)
#define PROBES 32u

struct entry {
    _Atomic uint64_t key;   /* 0 = free */
    _Atomic int64_t id;     /* 0 = claimed, not yet complete */
};

static struct entry *table;

void
pm_sharedstacks_create(void)
{
    void *p;

    if (table)
        return;
    p = mmap(NULL, SLOTS * sizeof(struct entry), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED)
        table = p;
}

static inline uint32_t
home(uint64_t key)
{
    return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - SLOT_BITS));
}

int64_t
pm_sharedstacks_find(uint64_t key)
{
    if (!table || !key)
        return 0;
    for (uint32_t i = 0, at = home(key); i < PROBES; i++, at = (at + 1) & (SLOTS - 1)) {
        uint64_t k = atomic_load_explicit(&table[at].key, memory_order_acquire);
        if (k == key)
            return atomic_load_explicit(&table[at].id, memory_order_acquire);
        if (!k)
            return 0;
    }
    return 0;
}

void
pm_sharedstacks_publish(uint64_t key, int64_t id)
{
    if (!table || !key)
        return;
    for (uint32_t i = 0, at = home(key); i < PROBES; i++, at = (at + 1) & (SLOTS - 1)) {
        uint64_t k = 0;
        if (atomic_compare_exchange_strong_explicit(&table[at].key, &k, key,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            atomic_store_explicit(&table[at].id, id, memory_order_release);
            return;
        }
        if (k == key)
            return;     /* another process's row for it is there first */
    }
}
