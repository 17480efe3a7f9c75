/* SPDX-License-Identifier: MIT */
/* Tracking state shared by the hooks and the writer: the live-block table, per-stack counters
 * with the exact peak, and the interned stacks. The hooks call pm_track_*; everything here is
 * hook-safe (no I/O, no locks the application can hold). */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addrmap.h"
#include "guard.h"
#include "heap.h"
#include "model.h"
#include "stacktab.h"

struct pm_tracker {
    struct pm_addrmap live;         /* raw and native blocks: any thread */
    struct pm_addrmap live_python;  /* PyMem/PyObject blocks: used only under the GIL */
    struct pm_heap heap;
    struct pm_stacktab stacks;
    uint32_t native_thread_stack;   /* synthetic stacks, interned at start */
    uint32_t no_python_stack;
    uint32_t truncated_frame;
};

extern struct pm_tracker pm_tracker;

/* Tracking is on once Python hooks are installed and off after a failure or at shutdown. */
extern atomic_int pm_tracking_on;

/* True when this event should be recorded: tracking on and not inside pymem. */
static inline bool
pm_should_track(void)
{
    return PM_LIKELY(!pm_guard_active()) &&
           atomic_load_explicit(&pm_tracking_on, memory_order_relaxed);
}

/* Sets up the tables and the synthetic stacks. Returns 0 or -ENOMEM. */
int pm_tracker_init(void);

/* Records a new block p of size bytes, tagged with the calling thread's Python stack. */
void pm_track_alloc(void *p, size_t size, enum pm_kind kind);

/* Forgets block p of the given kind (before it is really freed); true and *info set if it was
 * tracked. PM_KIND_RAW and PM_KIND_NATIVE blocks share a table: either finds both. */
bool pm_track_take(void *p, enum pm_kind kind, struct pm_block_info *info);

/* A hint that pm_track_take(p, kind) comes soon: starts loading its table slot. */
void pm_track_prefetch_take(void *p, enum pm_kind kind);

/* Puts back a block taken by pm_track_take (a realloc that failed). */
void pm_track_restore(void *p, const struct pm_block_info *info);

/* For blocks that carry their own record (blockhdr.h) instead of a table entry: counts a new
 * block of `size` on the calling thread's Python stack and returns that stack; counts a block
 * of `size` on `stack` allocated (sign +1) or freed (-1). */
uint32_t pm_track_count_alloc(uint64_t size, enum pm_kind kind);
void pm_track_count(uint32_t stack, uint64_t size, enum pm_kind kind, int sign);

/* The calling thread's Python stack (guard held), with its counters' line prefetched, for a
 * pm_track_count after the wrapped allocator's call; a stack's line prefetched. */
uint32_t pm_track_capture(void);
void pm_track_prefetch_counts(uint32_t stack);

/* Turns tracking off for good after an internal failure: says why once; hooks keep forwarding. */
void pm_tracker_fail(const char *why);

/* Turns tracking off for good, quietly: the writer calls it once the final snapshot is written.
 * Nothing recorded later reaches the file, and after Python's atexit the interpreter's teardown
 * frees every block (on a heap of millions, each free through the tables made the exit several
 * times slower). */
void pm_tracker_retire(void);

/* Stack capture (pystack.c): the stack index of the calling thread's current Python stack,
 * interned on first sight. Called with the guard held. */
uint32_t pm_capture_stack(void);
