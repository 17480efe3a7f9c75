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

static inline struct pm_addrmap_shard *
shard_of(struct pm_addrmap *m, uint64_t h)
{
    return &m->shard[h >> 58];
}

static inline uint32_t
home_slot(const struct pm_addrmap_shard *s, uint64_t h)
{
    return pm_addrmap_home(s->capacity, h);
}

static inline void
shard_lock(const struct pm_addrmap *m, struct pm_addrmap_shard *s)
{
    unsigned spins = 0;

    if (m->unlocked)
        return;
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
shard_unlock(const struct pm_addrmap *m, struct pm_addrmap_shard *s)
{
    if (m->unlocked)
        return;
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
pm_addrmap_init_unlocked(struct pm_addrmap *m)
{
    pm_addrmap_init(m);
    m->unlocked = true;
    /* without it the map is only slower */
    m->nursery = pm_calloc(PM_ADDRMAP_NURSERY_SLOTS, sizeof(struct pm_addrmap_entry));
}

void
pm_addrmap_release(struct pm_addrmap *m)
{
    for (size_t i = 0; i < PM_ADDRMAP_SHARDS; i++) {
        pm_free(m->shard[i].slot);
        m->shard[i].slot = NULL;
        m->shard[i].capacity = m->shard[i].count = 0;
    }
    pm_free(m->nursery);
    m->nursery = NULL;
    m->nursery_count = 0;
}

static void
place(struct pm_addrmap_shard *s, uintptr_t addr, uint64_t meta)
{
    uint32_t i = home_slot(s, pm_addrmap_hash(addr));

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
    /* Grow to the allocator size class at least 1/4 larger (classes are 1/8 to 1/4 apart) and
     * use all of it: the load stays between ~0.55 and 0.8, 20-29 bytes per live block. Each
     * growth moves every entry: growing by 1/8 moved each one 6 times on the way to a large
     * heap, and that was 2/3 of an insert's cost (152 -> 106 ns at 6M blocks). */
    uint32_t cap = old_cap ? old_cap + old_cap / 4 + 1 : MIN_CAPACITY;
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

static int
shard_insert(struct pm_addrmap *m, uintptr_t addr, uint64_t h, uint64_t meta,
             struct pm_block_info *replaced)
{
    struct pm_addrmap_shard *s = shard_of(m, h);
    uint32_t at;
    int rc = 0;

    shard_lock(m, s);
    if (5 * (uint64_t)(s->count + 1) > 4 * (uint64_t)s->capacity && grow(s) < 0) {
        shard_unlock(m, s);
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
    shard_unlock(m, s);
    return rc;
}

int
pm_addrmap_insert(struct pm_addrmap *m, uintptr_t addr, uint64_t size, enum pm_kind kind,
                  uint32_t stack, struct pm_block_info *replaced)
{
    uint64_t h = pm_addrmap_hash(addr);
    uint64_t meta = pack(size, kind, stack);

    if (m->nursery) {
        struct pm_addrmap_entry *e = pm_addrmap_nursery_slot(m, h);
        int rc = 0;
        if (e->addr == addr) {
            unpack(e->meta, replaced);
            e->meta = meta;
            return 1;
        }
        if (e->addr)
            rc = shard_insert(m, e->addr, pm_addrmap_hash(e->addr), e->meta, replaced);
        else
            m->nursery_count++;
        if (rc < 0) {
            m->nursery_count--;     /* the displaced block is lost: tracking stops anyway */
            e->addr = 0;
            return rc;
        }
        e->addr = addr;
        e->meta = meta;
        return rc;
    }
    return shard_insert(m, addr, h, meta, replaced);
}

/* Takes addr out of the nursery if it is there. */
static inline bool
nursery_take(struct pm_addrmap *m, uintptr_t addr, uint64_t h, struct pm_block_info *info,
             bool remove)
{
    struct pm_addrmap_entry *e;

    if (!m->nursery || (e = pm_addrmap_nursery_slot(m, h))->addr != addr)
        return false;
    unpack(e->meta, info);
    if (remove) {
        e->addr = 0;
        e->meta = 0;
        m->nursery_count--;
    }
    return true;
}

/* Backward-shift deletion: pull later members of the probe run into the hole. */
static void
delete_at(struct pm_addrmap_shard *s, uint32_t hole)
{
    uint32_t cap = s->capacity;

    for (uint32_t i = hole + 1 == cap ? 0 : hole + 1;; i = i + 1 == cap ? 0 : i + 1) {
        if (!s->slot[i].addr)
            break;
        uint32_t home = home_slot(s, pm_addrmap_hash(s->slot[i].addr));
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
    uint64_t h = pm_addrmap_hash(addr);
    struct pm_addrmap_shard *s = shard_of(m, h);
    int64_t at;

    if (nursery_take(m, addr, h, info, true))
        return true;
    shard_lock(m, s);
    at = lookup(s, addr, h);
    if (at >= 0) {
        unpack(s->slot[at].meta, info);
        delete_at(s, (uint32_t)at);
        s->count--;
    }
    shard_unlock(m, s);
    return at >= 0;
}

bool
pm_addrmap_find(struct pm_addrmap *m, uintptr_t addr, struct pm_block_info *info)
{
    uint64_t h = pm_addrmap_hash(addr);
    struct pm_addrmap_shard *s = shard_of(m, h);
    int64_t at;

    if (nursery_take(m, addr, h, info, false))
        return true;
    shard_lock(m, s);
    at = lookup(s, addr, h);
    if (at >= 0)
        unpack(s->slot[at].meta, info);
    shard_unlock(m, s);
    return at >= 0;
}

size_t
pm_addrmap_count(const struct pm_addrmap *m)
{
    size_t n = __atomic_load_n(&m->nursery_count, __ATOMIC_RELAXED);

    for (size_t i = 0; i < PM_ADDRMAP_SHARDS; i++)
        n += __atomic_load_n(&m->shard[i].count, __ATOMIC_RELAXED);
    return n;
}

size_t
pm_addrmap_bytes(const struct pm_addrmap *m)
{
    size_t n = sizeof(*m) + (m->nursery ? PM_ADDRMAP_NURSERY_SLOTS * sizeof(*m->nursery) : 0);

    for (size_t i = 0; i < PM_ADDRMAP_SHARDS; i++)
        n += (size_t)__atomic_load_n(&m->shard[i].capacity, __ATOMIC_RELAXED) *
             sizeof(struct pm_addrmap_entry);
    return n;
}

void
pm_addrmap_lock_all(struct pm_addrmap *m)
{
    for (size_t i = 0; i < PM_ADDRMAP_SHARDS; i++)
        shard_lock(m, &m->shard[i]);
}

void
pm_addrmap_unlock_all(struct pm_addrmap *m)
{
    for (size_t i = PM_ADDRMAP_SHARDS; i-- > 0;)
        shard_unlock(m, &m->shard[i]);
}
