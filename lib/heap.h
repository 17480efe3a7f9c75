/* SPDX-License-Identifier: MIT */
/* Per-stack counters and the exact heap peak, O(1) per event (DESIGN §2.10).
 *
 * Each stack keeps its live counts, its counts "at the last peak" and the peak epoch in which
 * it was last touched. The global state is (epoch << 1 | open): `open` while the heap sits at a
 * new maximum; the first decrease after that closes the peak and advances the epoch. A stack
 * touched in a later epoch first folds its live counts into at_peak, so the peak picture is
 * never copied.
 *
 * Python events (PyMem_Malloc, PyObject_Malloc) are made with the GIL held, which already
 * serializes them: their counters and their share of the total are updated with plain loads and
 * stores. Raw and native events come from any thread: their counters take a tiny spinlock per
 * stack and their total an atomic add. Callers must keep that contract: PM_KIND_PYTHON updates
 * never run concurrently with each other. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "chunked.h"
#include "model.h"

/* Counters are per process: a forked child starts a new generation (pm_heap_reset_after_fork)
 * and each stack's counters are reset to it lazily, when next touched or read, so that the child
 * does not copy-on-write every counter page at fork (black: 120k stacks). */

/* PM_KIND_PYTHON counters of one stack: written only under the GIL. */
struct pm_gil_counters {
    uint32_t gen;                       /* the generation these counts belong to */
    uint32_t epoch;
    int64_t live_bytes, live_blocks;
    int64_t peak_bytes, peak_blocks;
    int64_t alloc_bytes, alloc_blocks;  /* over the life of the process */
};

/* PM_KIND_RAW and PM_KIND_NATIVE counters of one stack (index kind - PM_KIND_RAW), made on the
 * stack's first raw or native event: most stacks only ever see Python ones. */
struct pm_shared_counters {
    atomic_uint lock;                   /* generation << 1 | locked */
    uint32_t epoch;
    int64_t live_bytes[2], live_blocks[2];
    int64_t peak_bytes[2], peak_blocks[2];
    int64_t alloc_bytes, alloc_blocks;
};

/* 64 bytes: a Python event touches one cache line. */
struct pm_stack_counters {
    struct pm_gil_counters gil;
    _Atomic uint32_t shared;            /* index of its pm_shared_counters in heap.shared, 0 = none */
};

struct pm_heap {
    _Atomic int64_t gil_bytes;              /* live python bytes: stored only under the GIL */
    _Atomic int64_t shared_bytes;           /* live raw and native bytes */
    _Atomic int64_t peak_bytes;
    _Atomic uint64_t state;                 /* epoch << 1 | open */
    uint32_t gen;                           /* bumped in each forked child */
    struct pm_chunked counters;             /* struct pm_stack_counters by stack index */
    struct pm_chunked shared;               /* struct pm_shared_counters, from index 1 */
    _Atomic uint32_t n_shared;              /* indices of heap.shared handed out */
};

/* What a reader sees of one stack. */
struct pm_stack_view {
    struct pm_counts live, at_peak;
    int64_t alloc_bytes, alloc_blocks;
};

void pm_heap_init(struct pm_heap *h);
void pm_heap_release(struct pm_heap *h);

/* Makes counters for stack index idx exist (before idx is used). Serialized by the caller. */
int pm_heap_reserve(struct pm_heap *h, uint32_t idx);

/* Accounts one block of `bytes` allocated (sign +1) or freed (sign -1) on stack idx. Updates of
 * kind PM_KIND_PYTHON must be serialized by the caller (the GIL). Returns 0, or -ENOMEM when a
 * stack's first raw or native event finds no memory for its counters (nothing is counted). */
int pm_heap_update(struct pm_heap *h, uint32_t idx, enum pm_kind kind, int64_t bytes, int sign);

/* Stack idx's raw and native counters, NULL while it has seen no such event. */
struct pm_shared_counters *pm_heap_shared_of(struct pm_heap *h, uint32_t idx);

/* Reads stack idx's counters: live, at the last peak, and allocation totals. Lock-free and
 * approximate only while other threads update that very stack. */
void pm_heap_read(struct pm_heap *h, uint32_t idx, struct pm_stack_view *out);

/* Live bytes now, all kinds. */
static inline int64_t
pm_heap_bytes(struct pm_heap *h)
{
    return atomic_load_explicit(&h->gil_bytes, memory_order_relaxed) +
           atomic_load_explicit(&h->shared_bytes, memory_order_relaxed);
}

/* Forgets the peak and the totals, keeping live counts (a forked child starts its own): in O(1),
 * stacks follow when touched. Only while no other thread runs (in the fork child handler). */
void pm_heap_reset_after_fork(struct pm_heap *h);
