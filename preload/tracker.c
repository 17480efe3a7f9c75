/* SPDX-License-Identifier: MIT */
/* pm_track_*: the recording half of every hook. Guarded for its whole body so that nothing
 * it does (interning, table growth) is tracked or re-enters. */
#include "tracker.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "pystack.h"

_Thread_local unsigned pm_guard_depth PM_TLS_IE;
_Thread_local volatile sig_atomic_t pm_deferred_signal PM_TLS_IE;
struct pm_tracker pm_tracker;
atomic_int pm_tracking_on;

static uint32_t
synthetic_stack(const char *function)
{
    uint32_t frame = 0, stack = 0;
    bool is_new;

    if (pm_stacktab_frame(&pm_tracker.stacks, "<pymem>", 7, function, strlen(function), 0,
                          &frame) < 0 ||
        pm_heap_reserve(&pm_tracker.heap, pm_stacktab_stack_count(&pm_tracker.stacks)) < 0 ||
        pm_stacktab_push(&pm_tracker.stacks, 0, frame, &stack, &is_new) < 0)
        return 0;
    return stack;
}

int
pm_tracker_init(void)
{
    uint32_t marker;

    pm_addrmap_init(&pm_tracker.live);
    pm_addrmap_init_unlocked(&pm_tracker.live_python);
    pm_heap_init(&pm_tracker.heap);
    if (pm_stacktab_init(&pm_tracker.stacks) < 0 || pm_heap_reserve(&pm_tracker.heap, 0) < 0)
        return -ENOMEM;
    pm_tracker.native_thread_stack = synthetic_stack("<native thread>");
    pm_tracker.no_python_stack = synthetic_stack("<no python frame>");
    if (pm_stacktab_frame(&pm_tracker.stacks, "<pymem>", 7, "<truncated>", 11, 0, &marker) < 0)
        return -ENOMEM;
    pm_tracker.truncated_frame = marker;
    return pm_tracker.native_thread_stack && pm_tracker.no_python_stack ? 0 : -ENOMEM;
}

/* Python-domain blocks are made and freed only under the GIL: their table needs no locks. */
static inline struct pm_addrmap *
table_for(enum pm_kind kind)
{
    return kind == PM_KIND_PYTHON ? &pm_tracker.live_python : &pm_tracker.live;
}

void
pm_tracker_fail(const char *why)
{
    if (atomic_exchange(&pm_tracking_on, 0))
        pm_warn("%s; profiling stopped, the program continues", why);
}

void
pm_tracker_retire(void)
{
    atomic_store(&pm_tracking_on, 0);
}

/* Counts one event on its stack; a stack's first raw or native event may find no memory for
 * its counters, which stops tracking like a full live table does. */
static void
count(uint32_t stack, enum pm_kind kind, int64_t bytes, int sign)
{
    if (PM_UNLIKELY(pm_heap_update(&pm_tracker.heap, stack, kind, bytes, sign) < 0))
        pm_tracker_fail("out of memory for the counters");
}

void
pm_track_alloc(void *p, size_t size, enum pm_kind kind)
{
    struct pm_block_info old;
    uint32_t stack;
    int rc;

    pm_guard_enter();
    pm_addrmap_prefetch_insert(table_for(kind), (uintptr_t)p);
    stack = pm_capture_stack();
    rc = pm_addrmap_insert(table_for(kind), (uintptr_t)p, size, kind, stack, &old);
    if (PM_UNLIKELY(rc == 1))   /* we missed its free (e.g. freed before our hooks were in) */
        count(old.stack, old.kind, (int64_t)old.size, -1);
    if (PM_LIKELY(rc >= 0)) {
        uint64_t kept = size > PM_ADDRMAP_MAX_SIZE ? PM_ADDRMAP_MAX_SIZE : size;
        count(stack, kind, (int64_t)kept, +1);
    } else {
        pm_tracker_fail("out of memory for the live-block table");
    }
    pm_guard_leave();
}

bool
pm_track_take(void *p, enum pm_kind kind, struct pm_block_info *info)
{
    bool found;

    pm_guard_enter();
    found = pm_addrmap_remove(table_for(kind), (uintptr_t)p, info);
    if (found)
        count(info->stack, info->kind, (int64_t)info->size, -1);
    pm_guard_leave();
    return found;
}

void
pm_track_prefetch_take(void *p, enum pm_kind kind)
{
    pm_addrmap_prefetch_remove(table_for(kind), (uintptr_t)p);
}

void
pm_track_restore(void *p, const struct pm_block_info *info)
{
    struct pm_block_info old;

    pm_guard_enter();
    if (pm_addrmap_insert(table_for(info->kind), (uintptr_t)p, info->size, info->kind,
                          info->stack, &old) >= 0)
        count(info->stack, info->kind, (int64_t)info->size, +1);
    pm_guard_leave();
}

uint32_t
pm_track_count_alloc(uint64_t size, enum pm_kind kind)
{
    pm_guard_enter();
    uint32_t stack = pm_capture_stack();
    count(stack, kind, (int64_t)size, +1);
    pm_guard_leave();
    return stack;
}

uint32_t
pm_track_capture(void)
{
    uint32_t stack = pm_capture_stack();

    pm_track_prefetch_counts(stack);
    return stack;
}

void
pm_track_prefetch_counts(uint32_t stack)
{
    __builtin_prefetch(pm_chunked_at(&pm_tracker.heap.counters, stack), 1);
}

void
pm_track_count(uint32_t stack, uint64_t size, enum pm_kind kind, int sign)
{
    pm_guard_enter();
    count(stack, kind, (int64_t)size, sign);
    pm_guard_leave();
}
