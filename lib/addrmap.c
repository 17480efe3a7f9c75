/* SPDX-License-Identifier: MIT */
/* Live-block table: per shard, linear probing with backward-shift deletion (no tombstones),
 * slot index by multiply-shift so capacities need not be powers of two (1.5x growth). */
#include "addrmap.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "alloc.h"

#define MIN_CAPACITY 64u
#define SIZE_BITS 36
#define KIND_BITS 2

static inline uint64_t
pack(uint64_t size, enum pm_kind kind, uint32_t stack)
{
    if (size > PM_ADDRMAP_MAX_SIZE)
        size = PM_ADDRMAP_MAX_SIZE;
    return size | (uint64_t)kind << SIZE_BITS | (uint64_t)stack << (SIZE_BITS + KIND_BITS);
}

static inline void
unpack(uint64_t meta, struct pm_block_info *info)
{
    info->size = meta & PM_ADDRMAP_MAX_SIZE;
    info->kind = (enum pm_kind)((meta >> SIZE_BITS) & 3);
    info->stack = (uint32_t)(meta >> (SIZE_BITS + KIND_BITS));
}

/* Multiplicative hashing (one multiply: this runs on every event). Malloc addresses are
 * 16-aligned, so those bits are dropped; only the product's high bits are well mixed, so the
 * shard takes the top 6 and the slot the 32 below them. */
static inline uint64_t
addr_hash(uintptr_t addr)
{
    return ((uint64_t)addr >> 4) * 0x9e3779b97f4a7c15ULL;
}

static inline struct pm_addrmap_shard *
shard_of(struct pm_addrmap *m, uint64_t h)
{
    return &m->shard[h >> 58];
}

static inline uint32_t
home_slot(const struct pm_addrmap_shard *s, uint64_t h)
{
    return (uint32_t)((((h >> 26) & 0xffffffffu) * (uint64_t)s->capacity) >> 32);
}

static inline void
shard_lock(struct pm_addrmap_shard *s)
{
    unsigned spins = 0;

    while (atomic_flag_test_and_set_explicit(&s->lock, memory_order_acquire)) {
        if (++spins > 64) {
            sched_yield();
            spins = 0;
        } else {
            __builtin_ia32_pause();
        }
    }
}

static inline void
shard_unlock(struct pm_addrmap_shard *s)
{
    atomic_flag_clear_explicit(&s->lock, memory_order_release);
}

void
pm_addrmap_init(struct pm_addrmap *m)
{
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < PM_ADDRMAP_SHARDS; i++)
        atomic_flag_clear(&m->shard[i].lock);
}

void
pm_addrmap_release(struct pm_addrmap *m)
{
    for (size_t i = 0; i < PM_ADDRMAP_SHARDS; i++) {
        pm_free(m->shard[i].slot);
        m->shard[i].slot = NULL;
        m->shard[i].capacity = m->shard[i].count = 0;
    }
}

static void
place(struct pm_addrmap_shard *s, uintptr_t addr, uint64_t meta)
{
    uint32_t i = home_slot(s, addr_hash(addr));

    while (s->slot[i].addr) {
        if (++i == s->capacity)
            i = 0;
    }
    s->slot[i].addr = addr;
    s->slot[i].meta = meta;
}

static int
grow(struct pm_addrmap_shard *s)
{
    struct pm_addrmap_entry *old = s->slot;
    uint32_t old_cap = s->capacity;
    /* Grow to the next allocator size class at least 1/8 larger (classes are ~1/4 apart) and
     * use all of it: the load stays between ~0.65 and 0.8, 20-25 bytes per live block. */
    uint32_t cap = old_cap ? old_cap + old_cap / 8 + 1 : MIN_CAPACITY;
    cap = (uint32_t)(pm_alloc_good_size((size_t)cap * sizeof(struct pm_addrmap_entry)) /
                     sizeof(struct pm_addrmap_entry));
    struct pm_addrmap_entry *slot = pm_calloc(cap, sizeof(*slot));

    if (!slot)
        return -ENOMEM;
    s->slot = slot;
    s->capacity = cap;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i].addr)
            place(s, old[i].addr, old[i].meta);
    pm_free(old);
    return 0;
}

/* Index of addr in the shard, or -1. Lock held. */
static int64_t
lookup(const struct pm_addrmap_shard *s, uintptr_t addr, uint64_t h)
{
    if (!s->capacity)
        return -1;
    for (uint32_t i = home_slot(s, h);;) {
        uintptr_t a = s->slot[i].addr;
        if (a == addr)
            return i;
        if (!a)
            return -1;
        if (++i == s->capacity)
            i = 0;
    }
}

int
pm_addrmap_insert(struct pm_addrmap *m, uintptr_t addr, uint64_t size, enum pm_kind kind,
                  uint32_t stack, struct pm_block_info *replaced)
{
    uint64_t h = addr_hash(addr);
    struct pm_addrmap_shard *s = shard_of(m, h);
    uint64_t meta = pack(size, kind, stack);
    uint32_t at;
    int rc = 0;

    shard_lock(s);
    if (5 * (uint64_t)(s->count + 1) > 4 * (uint64_t)s->capacity && grow(s) < 0) {
        shard_unlock(s);
        return -ENOMEM;
    }
    /* one probe: either addr is there (a free we missed) or the first empty slot is its place */
    for (at = home_slot(s, h);;) {
        uintptr_t a = s->slot[at].addr;
        if (a == addr) {
            unpack(s->slot[at].meta, replaced);
            rc = 1;
            break;
        }
        if (!a) {
            s->slot[at].addr = addr;
            s->count++;
            break;
        }
        if (++at == s->capacity)
            at = 0;
    }
    s->slot[at].meta = meta;
    shard_unlock(s);
    return rc;
}

/* Backward-shift deletion: pull later members of the probe run into the hole. */
static void
delete_at(struct pm_addrmap_shard *s, uint32_t hole)
{
    uint32_t cap = s->capacity;

    for (uint32_t i = hole + 1 == cap ? 0 : hole + 1;; i = i + 1 == cap ? 0 : i + 1) {
        if (!s->slot[i].addr)
            break;
        uint32_t home = home_slot(s, addr_hash(s->slot[i].addr));
        /* move i to hole if home is not cyclically in (hole, i] */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            s->slot[hole] = s->slot[i];
            hole = i;
        }
    }
    s->slot[hole].addr = 0;
    s->slot[hole].meta = 0;
}

bool
pm_addrmap_remove(struct pm_addrmap *m, uintptr_t addr, struct pm_block_info *info)
{
    uint64_t h = addr_hash(addr);
    struct pm_addrmap_shard *s = shard_of(m, h);
    int64_t at;

    shard_lock(s);
    at = lookup(s, addr, h);
    if (at >= 0) {
        unpack(s->slot[at].meta, info);
        delete_at(s, (uint32_t)at);
        s->count--;
    }
    shard_unlock(s);
    return at >= 0;
}

bool
pm_addrmap_find(struct pm_addrmap *m, uintptr_t addr, struct pm_block_info *info)
{
    uint64_t h = addr_hash(addr);
    struct pm_addrmap_shard *s = shard_of(m, h);
    int64_t at;

    shard_lock(s);
    at = lookup(s, addr, h);
    if (at >= 0)
        unpack(s->slot[at].meta, info);
    shard_unlock(s);
    return at >= 0;
}

size_t
pm_addrmap_count(const struct pm_addrmap *m)
{
    size_t n = 0;

    for (size_t i = 0; i < PM_ADDRMAP_SHARDS; i++)
        n += __atomic_load_n(&m->shard[i].count, __ATOMIC_RELAXED);
    return n;
}

size_t
pm_addrmap_bytes(const struct pm_addrmap *m)
{
    size_t n = sizeof(*m);

    for (size_t i = 0; i < PM_ADDRMAP_SHARDS; i++)
        n += (size_t)__atomic_load_n(&m->shard[i].capacity, __ATOMIC_RELAXED) *
             sizeof(struct pm_addrmap_entry);
    return n;
}

void
pm_addrmap_lock_all(struct pm_addrmap *m)
{
    for (size_t i = 0; i < PM_ADDRMAP_SHARDS; i++)
        shard_lock(&m->shard[i]);
}

void
pm_addrmap_unlock_all(struct pm_addrmap *m)
{
    for (size_t i = PM_ADDRMAP_SHARDS; i-- > 0;)
        shard_unlock(&m->shard[i]);
}
