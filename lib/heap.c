/* SPDX-License-Identifier: MIT */
/* Per-stack counters and the exact peak; see heap.h for the epoch scheme. */
#include "heap.h"

#include <sched.h>
#include <string.h>

#define STATE_OPEN UINT64_C(1)

static inline void
counters_lock(struct pm_stack_counters *c)
{
    while (atomic_exchange_explicit(&c->lock, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&c->lock, memory_order_relaxed))
            __builtin_ia32_pause();
    }
}

static inline void
counters_unlock(struct pm_stack_counters *c)
{
    atomic_store_explicit(&c->lock, 0, memory_order_release);
}

void
pm_heap_init(struct pm_heap *h)
{
    memset(h, 0, sizeof(*h));
    pm_chunked_init(&h->counters, sizeof(struct pm_stack_counters));
}

void
pm_heap_release(struct pm_heap *h)
{
    pm_chunked_release(&h->counters);
}

int
pm_heap_reserve(struct pm_heap *h, uint32_t idx)
{
    return pm_chunked_reserve(&h->counters, idx);
}

/* A decrease right after a new maximum closes that peak: the epoch advances, and every stack
 * folds its live counts into at_peak the next time it is touched. Returns the epoch to use. */
static inline uint32_t
epoch_for_event(struct pm_heap *h, int sign)
{
    uint64_t st = atomic_load_explicit(&h->state, memory_order_acquire);

    while (sign < 0 && (st & STATE_OPEN)) {
        uint64_t closed = ((st >> 1) + 1) << 1;
        if (atomic_compare_exchange_weak(&h->state, &st, closed)) {
            st = closed;
            break;
        }
    }
    return (uint32_t)(st >> 1);
}

static inline void
note_new_maximum(struct pm_heap *h, int64_t now)
{
    int64_t peak = atomic_load_explicit(&h->peak_bytes, memory_order_relaxed);

    while (now > peak) {
        if (atomic_compare_exchange_weak(&h->peak_bytes, &peak, now)) {
            uint64_t st = atomic_load(&h->state);
            while (!(st & STATE_OPEN) && !atomic_compare_exchange_weak(&h->state, &st, st | STATE_OPEN))
                ;
            return;
        }
    }
}

void
pm_heap_update(struct pm_heap *h, uint32_t idx, enum pm_kind kind, int64_t bytes, int sign)
{
    struct pm_stack_counters *c = pm_chunked_at(&h->counters, idx);
    uint32_t epoch = epoch_for_event(h, sign);
    int64_t delta = sign > 0 ? bytes : -bytes;

    counters_lock(c);
    /* Re-read under the lock and fold only forwards: an event that read an older epoch must
     * not fold again (it would overwrite this stack's value at the peak). */
    uint32_t now_epoch = (uint32_t)(atomic_load_explicit(&h->state, memory_order_acquire) >> 1);
    if ((int32_t)(now_epoch - epoch) > 0)
        epoch = now_epoch;
    if ((int32_t)(epoch - c->epoch) > 0) {
        c->at_peak = c->live;
        c->epoch = epoch;
    }
    c->live.bytes[kind] += delta;
    c->live.blocks[kind] += sign;
    if (sign > 0) {
        c->alloc_bytes += bytes;
        c->alloc_blocks++;
    }
    counters_unlock(c);

    int64_t now = atomic_fetch_add_explicit(&h->bytes, delta, memory_order_relaxed) + delta;
    if (sign > 0 && now > atomic_load_explicit(&h->peak_bytes, memory_order_relaxed))
        note_new_maximum(h, now);
}

void
pm_heap_read(struct pm_heap *h, uint32_t idx, struct pm_stack_view *out)
{
    struct pm_stack_counters *c = pm_chunked_at(&h->counters, idx);
    uint64_t st = atomic_load_explicit(&h->state, memory_order_acquire);

    /* No lock: the writer must never wait on the application (SIGTERM path). */
    out->live = c->live;
    out->alloc_bytes = c->alloc_bytes;
    out->alloc_blocks = c->alloc_blocks;
    if ((st & STATE_OPEN) || c->epoch != (uint32_t)(st >> 1))
        out->at_peak = out->live;
    else
        out->at_peak = c->at_peak;
}

void
pm_heap_reset_after_fork(struct pm_heap *h, uint32_t n)
{
    int64_t now = atomic_load(&h->bytes);

    for (uint32_t i = 0; i < n; i++) {
        struct pm_stack_counters *c = pm_chunked_at(&h->counters, i);
        atomic_store(&c->lock, 0);
        c->alloc_bytes = 0;
        c->alloc_blocks = 0;
        c->epoch = 0;
        c->at_peak = c->live;
    }
    atomic_store(&h->peak_bytes, now);
    atomic_store(&h->state, STATE_OPEN);
}
