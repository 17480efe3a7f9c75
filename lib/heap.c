/* SPDX-License-Identifier: MIT */
/* Per-stack counters and the exact peak; see heap.h for the epoch scheme. */
#include "heap.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "pm.h"

#define STATE_OPEN UINT64_C(1)

#define LOCKED 1u

/* Takes the stack's lock for generation gen. A lock word of an older generation is free whatever
 * its lock bit says (a thread of the parent may have held it at the fork): whoever takes it from
 * there resets the counts to gen, under the lock. */
static inline void
counters_lock(struct pm_shared_counters *c, uint32_t gen)
{
    unsigned mine = gen << 1, seen = atomic_load_explicit(&c->lock, memory_order_relaxed);

    for (;;) {
        if ((seen >> 1) != gen) {
            if (atomic_compare_exchange_weak_explicit(&c->lock, &seen, mine | LOCKED,
                                                      memory_order_acquire, memory_order_relaxed)) {
                memcpy(c->peak_bytes, c->live_bytes, sizeof(c->peak_bytes));
                memcpy(c->peak_blocks, c->live_blocks, sizeof(c->peak_blocks));
                c->alloc_bytes = c->alloc_blocks = 0;
                c->epoch = 0;
                return;
            }
        } else if (!(seen & LOCKED)) {
            if (atomic_compare_exchange_weak_explicit(&c->lock, &seen, mine | LOCKED,
                                                      memory_order_acquire, memory_order_relaxed))
                return;
        } else {
            __builtin_ia32_pause();
            seen = atomic_load_explicit(&c->lock, memory_order_relaxed);
        }
    }
}

static inline void
counters_unlock(struct pm_shared_counters *c, uint32_t gen)
{
    atomic_store_explicit(&c->lock, gen << 1, memory_order_release);
}

/* Under the GIL: counts of an older generation are the parent's; restart them. */
static inline void
gil_counters_current(struct pm_gil_counters *c, uint32_t gen)
{
    if (PM_UNLIKELY(c->gen != gen)) {
        c->peak_bytes = c->live_bytes;
        c->peak_blocks = c->live_blocks;
        c->alloc_bytes = c->alloc_blocks = 0;
        c->epoch = 0;
        c->gen = gen;
    }
}

_Static_assert(sizeof(struct pm_stack_counters) == 64, "a stack's counters: one cache line");

void
pm_heap_init(struct pm_heap *h)
{
    memset(h, 0, sizeof(*h));
    pm_chunked_init(&h->counters, sizeof(struct pm_stack_counters));
    pm_chunked_init(&h->shared, sizeof(struct pm_shared_counters));
}

void
pm_heap_release(struct pm_heap *h)
{
    pm_chunked_release(&h->counters);
    pm_chunked_release(&h->shared);
}

struct pm_shared_counters *
pm_heap_shared_of(struct pm_heap *h, uint32_t idx)
{
    struct pm_stack_counters *c = pm_chunked_at(&h->counters, idx);
    uint32_t i = atomic_load_explicit(&c->shared, memory_order_acquire);

    return i ? pm_chunked_at(&h->shared, i) : NULL;
}

/* The stack's raw and native counters, made on its first such event by whichever thread gets
 * there: an index from the shared count, its chunk published with a CAS (pm_chunked_reserve),
 * then the stack's link with a CAS (a thread that loses that race leaves its record unused). No
 * lock, so none can be held across a fork. NULL when out of memory. */
static struct pm_shared_counters *
shared_counters(struct pm_heap *h, struct pm_stack_counters *c)
{
    uint32_t i = atomic_load_explicit(&c->shared, memory_order_acquire);

    if (PM_UNLIKELY(!i)) {
        uint32_t mine = atomic_fetch_add_explicit(&h->n_shared, 1, memory_order_relaxed) + 1;
        if (pm_chunked_reserve(&h->shared, mine) < 0)
            return NULL;
        if (atomic_compare_exchange_strong_explicit(&c->shared, &i, mine, memory_order_acq_rel,
                                                    memory_order_acquire))
            i = mine;
    }
    return pm_chunked_at(&h->shared, i);
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

    gil_counters_current(c, h->gen);
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

    counters_lock(c, h->gen);
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
    counters_unlock(c, h->gen);
    int64_t mine = atomic_fetch_add_explicit(&h->shared_bytes, delta, memory_order_relaxed) + delta;
    return mine + atomic_load_explicit(&h->gil_bytes, memory_order_relaxed);
}

/* Python and shared events racing on two cores may each miss the other's last block here: the
 * peak is exact to within the events in flight at that instant. */
static inline void
note_total(struct pm_heap *h, int64_t now, int sign)
{
    if (sign > 0 && now > atomic_load_explicit(&h->peak_bytes, memory_order_relaxed))
        note_new_maximum(h, now);
}

/* Out of line: making a stack's shared counters calls the allocator, which would otherwise cost
 * every Python event a full prologue. */
static __attribute__((noinline)) int
shared_event(struct pm_heap *h, struct pm_stack_counters *c, enum pm_kind kind, int64_t bytes,
             int sign)
{
    struct pm_shared_counters *sc = shared_counters(h, c);

    if (!sc)
        return -ENOMEM;
    uint32_t epoch = epoch_for_event(h, sign);
    note_total(h, update_shared(h, sc, epoch, (unsigned)(kind - PM_KIND_RAW), bytes, sign), sign);
    return 0;
}

int
pm_heap_update(struct pm_heap *h, uint32_t idx, enum pm_kind kind, int64_t bytes, int sign)
{
    struct pm_stack_counters *c = pm_chunked_at(&h->counters, idx);

    if (kind != PM_KIND_PYTHON)
        return shared_event(h, c, kind, bytes, sign);
    uint32_t epoch = epoch_for_event(h, sign);
    note_total(h, update_python(h, &c->gil, epoch, bytes, sign), sign);
    return 0;
}

void
pm_heap_read(struct pm_heap *h, uint32_t idx, struct pm_stack_view *out)
{
    struct pm_stack_counters *c = pm_chunked_at(&h->counters, idx);
    uint64_t st = atomic_load_explicit(&h->state, memory_order_acquire);
    uint32_t epoch = (uint32_t)(st >> 1);
    bool open = st & STATE_OPEN;
    static const struct pm_shared_counters none;
    const struct pm_gil_counters *g = &c->gil;
    const struct pm_shared_counters *s = pm_heap_shared_of(h, idx);

    if (!s)
        s = &none;
    /* counts of an older generation: untouched since the fork, so they are the child's peak
     * picture too, and the child has allocated nothing there */
    bool g_old = g->gen != h->gen;
    bool s_old = (atomic_load_explicit(&s->lock, memory_order_relaxed) >> 1) != h->gen;
    bool g_live = open || g_old || g->epoch != epoch, s_live = open || s_old || s->epoch != epoch;

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
    out->alloc_bytes = (g_old ? 0 : g->alloc_bytes) + (s_old ? 0 : s->alloc_bytes);
    out->alloc_blocks = (g_old ? 0 : g->alloc_blocks) + (s_old ? 0 : s->alloc_blocks);
}

void
pm_heap_reset_after_fork(struct pm_heap *h)
{
    h->gen++;
    atomic_store(&h->peak_bytes, pm_heap_bytes(h));
    atomic_store(&h->state, STATE_OPEN);
}
