/* SPDX-License-Identifier: MIT */
/* The live-block table: address -> (size, kind, stack), sharded by address with one short
 * spinlock per shard (no global lock on the allocation path, DESIGN §2.9). 16 bytes per entry,
 * grown to the next size class (~1.25x) at 4/5 load: 20-25 bytes of tool memory per live block. Hook-safe: it
 * allocates only from pymem's arena, and only when a shard grows. */
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

struct pm_addrmap {
    struct pm_addrmap_shard shard[PM_ADDRMAP_SHARDS];
};

/* Fills a caller-owned map with empty shards. */
void pm_addrmap_init(struct pm_addrmap *m);

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

/* Takes / releases every shard lock in a fixed order (fork handlers). */
void pm_addrmap_lock_all(struct pm_addrmap *m);
void pm_addrmap_unlock_all(struct pm_addrmap *m);
