/* SPDX-License-Identifier: MIT */
/* The live-block table: address -> (size, kind, stack), sharded by address with one short
 * spinlock per shard (no global lock on the allocation path, DESIGN §2.9), or, for callers that
 * never overlap, no locks and a nursery in front (see pm_addrmap_init_unlocked). 16 bytes per
 * entry, grown by at least 1/4 (to an allocator size class) at 4/5 load: 20-29 bytes of tool
 * memory per live block. Hook-safe: it allocates only from pymem's arena, and only when a shard
 * grows. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define PM_ADDRMAP_SHARDS 64
#define PM_ADDRMAP_MAX_STACK ((1u << 26) - 1)
#define PM_ADDRMAP_MAX_SIZE ((UINT64_C(1) << 36) - 1)

struct pm_block_info {
    uint64_t size;
    enum pm_kind kind;
    uint32_t stack;
};

struct pm_addrmap_entry {
    uintptr_t addr;     /* 0 = empty slot */
    uint64_t meta;      /* size:36 | kind:2 | stack:26 */
};

struct pm_addrmap_shard {
    atomic_flag lock;
    uint32_t count;
    uint32_t capacity;  /* slots; 0 until the first insert */
    struct pm_addrmap_entry *slot;
} __attribute__((aligned(64)));

#define PM_ADDRMAP_NURSERY_SLOTS 1024u

struct pm_addrmap {
    struct pm_addrmap_shard shard[PM_ADDRMAP_SHARDS];
    bool unlocked;      /* the callers serialize every call (the GIL): no shard locks */
    /* Unlocked maps only: a small direct-mapped front for new blocks. Most Python objects die
     * young; those are born and freed here, in 16 KiB that stay in cache, and never touch the
     * shards, whose random slots cost a cache miss each. A block displaced by a newer one at
     * its slot moves to the shards. */
    struct pm_addrmap_entry *nursery;
    uint32_t nursery_count;
};

/* Multiplicative hashing of a block address (one multiply: this runs on every event). Malloc
 * addresses are 16-aligned, so those bits are dropped; only the product's high bits are well
 * mixed, so the shard takes the top 6, the slot the 32 below them, the nursery bits 48-57. */
static inline uint64_t
pm_addrmap_hash(uintptr_t addr)
{
    return ((uint64_t)addr >> 4) * 0x9e3779b97f4a7c15ULL;
}

/* The home slot of hash h in a shard of cap slots (multiply-shift: cap need not be a power of
 * two). */
static inline uint32_t
pm_addrmap_home(uint32_t cap, uint64_t h)
{
    return (uint32_t)((((h >> 26) & 0xffffffffu) * (uint64_t)cap) >> 32);
}

/* Prefetch hints for the shard slot an insert or a remove of a block is going to touch: a
 * cache miss there is most of either's cost, and the caller has other work to overlap it with
 * (the stack capture before an insert, the real free before a remove). Hints only: no lock is
 * taken, and a stale slot array is harmless to prefetch. */
static inline void
pm_addrmap_prefetch_slot(struct pm_addrmap *m, uint64_t h)
{
    const struct pm_addrmap_shard *s = &m->shard[h >> 58];
    struct pm_addrmap_entry *slot = __atomic_load_n(&s->slot, __ATOMIC_RELAXED);
    uint32_t cap = __atomic_load_n(&s->capacity, __ATOMIC_RELAXED);

    if (slot && cap)
        __builtin_prefetch(&slot[pm_addrmap_home(cap, h)], 1);
}

/* The nursery slot of a hash: well-mixed product bits below the shard's. */
static inline struct pm_addrmap_entry *
pm_addrmap_nursery_slot(const struct pm_addrmap *m, uint64_t h)
{
    return &m->nursery[(h >> 48) & (PM_ADDRMAP_NURSERY_SLOTS - 1)];
}

/* Before recording addr: the slot of the block it displaces from the nursery, or its own. */
static inline void
pm_addrmap_prefetch_insert(struct pm_addrmap *m, uintptr_t addr)
{
    uint64_t h = pm_addrmap_hash(addr);

    if (m->nursery) {
        uintptr_t displaced = pm_addrmap_nursery_slot(m, h)->addr;
        if (!displaced || displaced == addr)
            return;
        h = pm_addrmap_hash(displaced);
    }
    pm_addrmap_prefetch_slot(m, h);
}

/* Before removing addr: its slot, unless it is in the nursery. */
static inline void
pm_addrmap_prefetch_remove(struct pm_addrmap *m, uintptr_t addr)
{
    uint64_t h = pm_addrmap_hash(addr);

    if (!m->nursery || pm_addrmap_nursery_slot(m, h)->addr != addr)
        pm_addrmap_prefetch_slot(m, h);
}

/* Fills a caller-owned map with empty shards. */
void pm_addrmap_init(struct pm_addrmap *m);

/* The same for a map whose callers never overlap (blocks of the GIL-held Python domains):
 * its calls take no lock, pm_addrmap_lock_all does nothing, and it has a nursery. A block
 * recorded twice without a free between is reported (as *replaced) when the newer one is
 * recorded, or, if the older one had left the nursery, when the newer one leaves it. */
void pm_addrmap_init_unlocked(struct pm_addrmap *m);

/* Frees the shards' slots. Not concurrent with anything. */
void pm_addrmap_release(struct pm_addrmap *m);

/* Records a live block. Sizes above PM_ADDRMAP_MAX_SIZE are clamped. If addr was already
 * present (a free we never saw), *replaced gets the old record and 1 is returned; 0 if new;
 * -ENOMEM if the shard could not grow (the block is not recorded). */
int pm_addrmap_insert(struct pm_addrmap *m, uintptr_t addr, uint64_t size, enum pm_kind kind,
                      uint32_t stack, struct pm_block_info *replaced);

/* Removes addr; true and *info filled if it was live. */
bool pm_addrmap_remove(struct pm_addrmap *m, uintptr_t addr, struct pm_block_info *info);

/* Looks addr up without removing it. */
bool pm_addrmap_find(struct pm_addrmap *m, uintptr_t addr, struct pm_block_info *info);

/* Live entries and tool bytes held (approximate while others update). */
size_t pm_addrmap_count(const struct pm_addrmap *m);
size_t pm_addrmap_bytes(const struct pm_addrmap *m);

/* Takes / releases every shard lock in a fixed order (fork handlers); no-ops when unlocked. */
void pm_addrmap_lock_all(struct pm_addrmap *m);
void pm_addrmap_unlock_all(struct pm_addrmap *m);
