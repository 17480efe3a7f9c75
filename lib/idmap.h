/* SPDX-License-Identifier: MIT */
/* A map from 64-bit ids (stacks, frames of the file) to 32-bit values: open addressing with
 * linear probing, at most half full, for the read side's joins in memory. Not thread-safe. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PM_IDMAP_NONE UINT32_MAX /* "no value": never stored */

struct pm_idmap {
    struct pm_idmap_slot {
        int64_t id;
        uint32_t v; /* PM_IDMAP_NONE = empty slot */
    } * slot;
    size_t cap, n; /* cap: a power of two, at least twice n */
};

/* The home slot of id. splitmix64's finalizer: ids are content hashes or (process << 32 | n) in
 * the file, small in tests and in files written by other tools. */
static inline size_t
pm_idmap_slot_of(int64_t id, size_t cap)
{
    uint64_t x = (uint64_t)id;

    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27, x *= 0x94d049bb133111ebu;
    x ^= x >> 31;
    return (size_t)x & (cap - 1);
}

/* Starts loading the slot a lookup of id begins at (a batch of lookups then overlaps its cache
 * misses). */
static inline void
pm_idmap_prefetch(const struct pm_idmap *m, int64_t id)
{
    if (m->cap)
        __builtin_prefetch(&m->slot[pm_idmap_slot_of(id, m->cap)]);
}

/* The value of id, or PM_IDMAP_NONE. An empty (zero-filled) map is valid. The slots may be
 * read directly: those with v != PM_IDMAP_NONE hold the entries. */
uint32_t pm_idmap_get(const struct pm_idmap *m, int64_t id);

/* Sets the value of id (v != PM_IDMAP_NONE), growing the map. Returns 0 or -ENOMEM (the map is
 * then unchanged). */
int pm_idmap_put(struct pm_idmap *m, int64_t id, uint32_t v);

/* Frees the slots; the map is empty again. */
void pm_idmap_release(struct pm_idmap *m);
