/* SPDX-License-Identifier: MIT */
/* Per-stack counters and the exact peak; see heap.h for the epoch scheme. */
#include "heap.h"

#include <sched.h>
#include <string.h>

#define STATE_OPEN UINT64_C(1)

static inline void
counters_lock(struct pm_shared_counters *c)
{
    while (atomic_exchange_explicit(&c->lock, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&c->lock, memory_order_relaxed))
            __builtin_ia32_pause();
    }
}

static inline void
counters_unlock(struct pm_shared_counters *c)
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

/* The epoch to fold with: the newer of the one read before the event and the current one. An
 * event that read an older epoch must not fold again (it would overwrite the value at the peak). */
static inline uint32_t
fold_epoch(struct pm_heap *h, uint32_t epoch)
{
    uint32_t now_epoch = (uint32_t)(atomic_load_explicit(&h->state, memory_order_acquire) >> 1);

    return (int32_t)(now_epoch - epoch) > 0 ? now_epoch : epoch;
}

/* Under the GIL: no lock and no atomic read-modify-write. Returns the new heap total. */
static inline int64_t
update_python(struct pm_heap *h, struct pm_gil_counters *c, uint32_t epoch, int64_t bytes,
              int sign)
{
    int64_t delta = sign > 0 ? bytes : -bytes;

    epoch = fold_epoch(h, epoch);
    if ((int32_t)(epoch - c->epoch) > 0) {
        c->peak_bytes = c->live_bytes;
        c->peak_blocks = c->live_blocks;
        c->epoch = epoch;
    }
    c->live_bytes += delta;
    c->live_blocks += sign;
    if (sign > 0) {
        c->alloc_bytes += bytes;
        c->alloc_blocks++;
    }
    int64_t mine = atomic_load_explicit(&h->gil_bytes, memory_order_relaxed) + delta;
    atomic_store_explicit(&h->gil_bytes, mine, memory_order_relaxed);
    return mine + atomic_load_explicit(&h->shared_bytes, memory_order_relaxed);
}

/* Any thread: the stack's spinlock and an atomic add. Returns the new heap total. */
static inline int64_t
update_shared(struct pm_heap *h, struct pm_shared_counters *c, uint32_t epoch, unsigned k,
              int64_t bytes, int sign)
{
    int64_t delta = sign > 0 ? bytes : -bytes;

    counters_lock(c);
    epoch = fold_epoch(h, epoch);
    if ((int32_t)(epoch - c->epoch) > 0) {
        memcpy(c->peak_bytes, c->live_bytes, sizeof(c->peak_bytes));
        memcpy(c->peak_blocks, c->live_blocks, sizeof(c->peak_blocks));
        c->epoch = epoch;
    }
    c->live_bytes[k] += delta;
    c->live_blocks[k] += sign;
    if (sign > 0) {
        c->alloc_bytes += bytes;
        c->alloc_blocks++;
    }
    counters_unlock(c);
    int64_t mine = atomic_fetch_add_explicit(&h->shared_bytes, delta, memory_order_relaxed) + delta;
    return mine + atomic_load_explicit(&h->gil_bytes, memory_order_relaxed);
}

void
pm_heap_update(struct pm_heap *h, uint32_t idx, enum pm_kind kind, int64_t bytes, int sign)
{
    struct pm_stack_counters *c = pm_chunked_at(&h->counters, idx);
    uint32_t epoch = epoch_for_event(h, sign);
    int64_t now = kind == PM_KIND_PYTHON
                      ? update_python(h, &c->gil, epoch, bytes, sign)
                      : update_shared(h, &c->shared, epoch, (unsigned)(kind - PM_KIND_RAW), bytes,
                                      sign);

    /* Python and shared events racing on two cores may each miss the other's last block here:
     * the peak is exact to within the events in flight at that instant. */
    if (sign > 0 && now > atomic_load_explicit(&h->peak_bytes, memory_order_relaxed))
        note_new_maximum(h, now);
}

void
pm_heap_read(struct pm_heap *h, uint32_t idx, struct pm_stack_view *out)
{
    struct pm_stack_counters *c = pm_chunked_at(&h->counters, idx);
    uint64_t st = atomic_load_explicit(&h->state, memory_order_acquire);
    uint32_t epoch = (uint32_t)(st >> 1);
    bool open = st & STATE_OPEN;
    const struct pm_gil_counters *g = &c->gil;
    const struct pm_shared_counters *s = &c->shared;
    bool g_live = open || g->epoch != epoch, s_live = open || s->epoch != epoch;

    /* No lock: the writer must never wait on the application (SIGTERM path). */
    memset(out, 0, sizeof(*out));
    out->live.bytes[PM_KIND_PYTHON] = g->live_bytes;
    out->live.blocks[PM_KIND_PYTHON] = g->live_blocks;
    out->at_peak.bytes[PM_KIND_PYTHON] = g_live ? g->live_bytes : g->peak_bytes;
    out->at_peak.blocks[PM_KIND_PYTHON] = g_live ? g->live_blocks : g->peak_blocks;
    for (unsigned k = 0; k < 2; k++) {
        out->live.bytes[PM_KIND_RAW + k] = s->live_bytes[k];
        out->live.blocks[PM_KIND_RAW + k] = s->live_blocks[k];
        out->at_peak.bytes[PM_KIND_RAW + k] = s_live ? s->live_bytes[k] : s->peak_bytes[k];
        out->at_peak.blocks[PM_KIND_RAW + k] = s_live ? s->live_blocks[k] : s->peak_blocks[k];
    }
    out->alloc_bytes = g->alloc_bytes + s->alloc_bytes;
    out->alloc_blocks = g->alloc_blocks + s->alloc_blocks;
}

void
pm_heap_reset_after_fork(struct pm_heap *h, uint32_t n)
{
    int64_t now = pm_heap_bytes(h);

    for (uint32_t i = 0; i < n; i++) {
        struct pm_stack_counters *c = pm_chunked_at(&h->counters, i);
        c->gil.alloc_bytes = c->gil.alloc_blocks = 0;
        c->gil.epoch = 0;
        c->gil.peak_bytes = c->gil.live_bytes;
        c->gil.peak_blocks = c->gil.live_blocks;
        atomic_store(&c->shared.lock, 0);
        c->shared.alloc_bytes = c->shared.alloc_blocks = 0;
        c->shared.epoch = 0;
        memcpy(c->shared.peak_bytes, c->shared.live_bytes, sizeof(c->shared.peak_bytes));
        memcpy(c->shared.peak_blocks, c->shared.live_blocks, sizeof(c->shared.peak_blocks));
    }
    atomic_store(&h->peak_bytes, now);
    atomic_store(&h->state, STATE_OPEN);
}
