/* SPDX-License-Identifier: MIT */
/* Interning of frames (file, function, line) and stacks (caller stack, innermost frame): a trie,
 * root-first, with dense local indices for arrays and 63-bit content hashes: a frame's is its id
 * in the file, a stack's its `key` there (its id is the writer's, see preload/stackrows.h).
 * Appends are serialized by the table's mutex (taken by the caller with pm_stacktab_lock);
 * records never move, so readers use pm_stacktab_*_count() + *_at() without the lock. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunked.h"

/* Index 0 is "none" for both frames and stacks. */
struct pm_frame_rec {
    int64_t id;             /* content hash: same in every process */
    const char *file;       /* owned by the table, NUL-terminated */
    const char *function;
    int32_t line;
};

struct pm_stack_rec {
    int64_t key;            /* content hash of (parent key, frame id): same in every process */
    uint32_t parent;        /* stack index of the caller stack, 0 = outermost */
    uint32_t frame;         /* frame index */
    uint32_t depth;
};

struct pm_stacktab {
    pthread_mutex_t lock;
    _Atomic uint32_t n_frames, n_stacks;    /* published counts (index 0 included) */
    struct pm_chunked frames, stacks;
    /* open-addressing indexes, touched only under the lock */
    uint32_t *frame_slot, frame_cap;
    uint64_t *stack_slot;                   /* key's low 32 bits << 32 | stack index */
    uint32_t stack_cap;
    /* string storage: bump-allocated blocks, never freed before release */
    char *str_block;
    size_t str_used, str_cap, str_bytes;
    void **str_blocks;
    size_t n_str_blocks;
};

int pm_stacktab_init(struct pm_stacktab *t);
void pm_stacktab_release(struct pm_stacktab *t);

void pm_stacktab_lock(struct pm_stacktab *t);
void pm_stacktab_unlock(struct pm_stacktab *t);

/* Finds or adds a frame; strings need not be NUL-terminated. Lock held. Returns 0 or -ENOMEM. */
int pm_stacktab_frame(struct pm_stacktab *t, const char *file, size_t file_len,
                      const char *function, size_t function_len, int line, uint32_t *out);

/* Finds or adds the stack `parent` + `frame` (parent 0: outermost). Lock held. Sets *is_new
 * when it was added. Returns 0, -ENOMEM or -ERANGE (table full). */
int pm_stacktab_push(struct pm_stacktab *t, uint32_t parent, uint32_t frame, uint32_t *out,
                     bool *is_new);

static inline uint32_t
pm_stacktab_frame_count(struct pm_stacktab *t)
{
    return __atomic_load_n((uint32_t *)&t->n_frames, __ATOMIC_ACQUIRE);
}

static inline uint32_t
pm_stacktab_stack_count(struct pm_stacktab *t)
{
    return __atomic_load_n((uint32_t *)&t->n_stacks, __ATOMIC_ACQUIRE);
}

static inline const struct pm_frame_rec *
pm_stacktab_frame_at(struct pm_stacktab *t, uint32_t idx)
{
    return pm_chunked_at(&t->frames, idx);
}

static inline const struct pm_stack_rec *
pm_stacktab_stack_at(struct pm_stacktab *t, uint32_t idx)
{
    return pm_chunked_at(&t->stacks, idx);
}

/* Tool bytes held. */
size_t pm_stacktab_bytes(const struct pm_stacktab *t);
