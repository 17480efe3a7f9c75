/* SPDX-License-Identifier: MIT */
/* lib/heap.h: per-stack counters and the exact heap peak. The peak snapshot of a profile is
 * built from these numbers: "at the moment the heap was largest, stack S held N bytes". */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "heap.h"

static struct pm_heap heap;

static void
setup(void)
{
    pm_heap_init(&heap);
    for (uint32_t i = 0; i < 64; i++)
        cr_assert_eq(pm_heap_reserve(&heap, i), 0);
}

static void
teardown(void)
{
    pm_heap_release(&heap);
}

TestSuite(heap, .init = setup, .fini = teardown);

/* A stack's counts in the peak picture (pm_heap_read applies heap.h's rule per record: while the
 * peak is open the live counts are the peak's; once closed, a record touched in the current
 * epoch folded its peak counts into at_peak, and one not touched since still holds them live). */
static struct pm_counts
peak_view(struct pm_heap *h, uint32_t idx)
{
    struct pm_stack_view v;

    pm_heap_read(h, idx, &v);
    return v.at_peak;
}

/* Python-kind updates are serialized by the GIL in the profiler; threads here take this. */
static pthread_mutex_t gil = PTHREAD_MUTEX_INITIALIZER;

static void
update(uint32_t idx, enum pm_kind kind, int64_t bytes, int sign)
{
    if (kind == PM_KIND_PYTHON)
        pthread_mutex_lock(&gil);
    pm_heap_update(&heap, idx, kind, bytes, sign);
    if (kind == PM_KIND_PYTHON)
        pthread_mutex_unlock(&gil);
}

static int64_t
peak_bytes_of(uint32_t idx)
{
    struct pm_counts c = peak_view(&heap, idx);

    return pm_counts_bytes(&c);
}

static int64_t
peak_blocks_of(uint32_t idx)
{
    struct pm_counts c = peak_view(&heap, idx);

    return pm_counts_blocks(&c);
}

static struct pm_stack_view
view_of(uint32_t idx)
{
    struct pm_stack_view v;

    memset(&v, 0xee, sizeof(v));
    pm_heap_read(&heap, idx, &v);
    return v;
}

static int64_t
live_bytes_of(uint32_t idx)
{
    struct pm_stack_view v = view_of(idx);

    return pm_counts_bytes(&v.live);
}

/* The heap keeps no global block count: blocks are the sum over the stacks (all 64 reserved). */
static int64_t
live_blocks_total(void)
{
    int64_t n = 0;

    for (uint32_t i = 0; i < 64; i++) {
        struct pm_stack_view v = view_of(i);
        n += pm_counts_blocks(&v.live);
    }
    return n;
}

static int64_t
peak_blocks_total(void)
{
    int64_t n = 0;

    for (uint32_t i = 0; i < 64; i++)
        n += peak_blocks_of(i);
    return n;
}

static void
alloc(uint32_t idx, int64_t bytes)
{
    pm_heap_update(&heap, idx, PM_KIND_NATIVE, bytes, +1);
}

static void
dealloc(uint32_t idx, int64_t bytes)
{
    pm_heap_update(&heap, idx, PM_KIND_NATIVE, bytes, -1);
}

Test(heap, new_heap_is_empty)
{
    struct pm_stack_view v = view_of(5);

    cr_expect_eq(pm_heap_bytes(&heap), 0);
    cr_expect_eq(live_blocks_total(), 0);
    cr_expect_eq(atomic_load(&heap.peak_bytes), 0);
    cr_expect_eq(peak_blocks_total(), 0);
    cr_expect_eq(pm_counts_bytes(&v.live), 0);
    cr_expect_eq(pm_counts_blocks(&v.live), 0);
    cr_expect_eq(pm_counts_bytes(&v.at_peak), 0);
    cr_expect_eq(v.alloc_bytes, 0);
    cr_expect_eq(v.alloc_blocks, 0);
    cr_expect_eq(peak_bytes_of(5), 0);
}

Test(heap, live_counts_follow_allocations_and_frees)
{
    alloc(1, 100);
    alloc(1, 28);
    alloc(2, 7);
    cr_expect_eq(pm_heap_bytes(&heap), 135);
    cr_expect_eq(live_blocks_total(), 3);
    struct pm_stack_view v = view_of(1);
    cr_expect_eq(v.live.bytes[PM_KIND_NATIVE], 128);
    cr_expect_eq(v.live.blocks[PM_KIND_NATIVE], 2);
    dealloc(1, 100);
    v = view_of(1);
    cr_expect_eq(pm_counts_bytes(&v.live), 28);
    cr_expect_eq(pm_counts_blocks(&v.live), 1);
    cr_expect_eq(pm_heap_bytes(&heap), 35);
    cr_expect_eq(live_blocks_total(), 2);
}

Test(heap, peak_is_the_exact_maximum_and_remembers_each_stack_at_it)
{
    alloc(1, 100);
    alloc(2, 50);
    dealloc(1, 100);
    alloc(3, 30);

    cr_expect_eq(atomic_load(&heap.peak_bytes), 150);
    cr_expect_eq(peak_blocks_total(), 2);
    cr_expect_eq(pm_heap_bytes(&heap), 80);
    cr_expect_eq(atomic_load(&heap.state) & 1, 0, "the free closed the peak");

    cr_expect_eq(peak_bytes_of(1), 100, "stack 1 held 100 at the peak, though 0 now");
    cr_expect_eq(peak_blocks_of(1), 1);
    cr_expect_eq(peak_bytes_of(2), 50);
    cr_expect_eq(peak_bytes_of(3), 0, "stack 3 allocated only after the peak");
    cr_expect_eq(peak_blocks_of(3), 0);
    cr_expect_eq(peak_bytes_of(1) + peak_bytes_of(2) + peak_bytes_of(3), 150);

    cr_expect_eq(live_bytes_of(1), 0);
    cr_expect_eq(live_bytes_of(2), 50);
    cr_expect_eq(live_bytes_of(3), 30);
}

Test(heap, peak_view_while_at_the_peak_is_the_live_heap)
{
    alloc(1, 100);
    alloc(2, 50);
    cr_expect_eq(atomic_load(&heap.state) & 1, 1, "growing heap: peak open");
    cr_expect_eq(atomic_load(&heap.peak_bytes), 150);
    cr_expect_eq(peak_bytes_of(1), 100);
    cr_expect_eq(peak_bytes_of(2), 50);
}

Test(heap, a_lower_second_hump_keeps_the_first_peak)
{
    alloc(1, 100);
    alloc(2, 50);
    dealloc(1, 100);
    alloc(3, 30);
    alloc(2, 60);       /* 140 < 150 */
    dealloc(2, 60);
    alloc(1, 10);       /* 90 */

    cr_expect_eq(atomic_load(&heap.peak_bytes), 150);
    cr_expect_eq(peak_bytes_of(1), 100);
    cr_expect_eq(peak_bytes_of(2), 50);
    cr_expect_eq(peak_bytes_of(3), 0);
}

Test(heap, a_second_higher_peak_replaces_the_first)
{
    alloc(1, 100);
    alloc(2, 50);
    dealloc(1, 100);
    alloc(3, 30);       /* peak 1: 150 = {1: 100, 2: 50, 3: 0} */
    alloc(1, 200);      /* 280 */
    cr_expect_eq(atomic_load(&heap.peak_bytes), 280);
    cr_expect_eq(peak_blocks_total(), 3);
    cr_expect_eq(peak_bytes_of(1), 200);
    cr_expect_eq(peak_bytes_of(2), 50);
    cr_expect_eq(peak_bytes_of(3), 30);

    dealloc(3, 30);     /* closes peak 2 */
    dealloc(2, 50);
    alloc(4, 5);
    cr_expect_eq(atomic_load(&heap.peak_bytes), 280);
    cr_expect_eq(peak_bytes_of(1), 200);
    cr_expect_eq(peak_bytes_of(2), 50);
    cr_expect_eq(peak_bytes_of(3), 30);
    cr_expect_eq(peak_bytes_of(4), 0);
    cr_expect_eq(peak_bytes_of(1) + peak_bytes_of(2) + peak_bytes_of(3) + peak_bytes_of(4), 280);
}

Test(heap, totals_count_every_allocation_and_never_decrease)
{
    alloc(1, 100);
    dealloc(1, 100);
    alloc(1, 100);
    alloc(1, 1);
    dealloc(1, 1);
    alloc(2, 9);

    struct pm_stack_view v = view_of(1);
    cr_expect_eq(v.alloc_bytes, 201);
    cr_expect_eq(v.alloc_blocks, 3);
    cr_expect_eq(pm_counts_bytes(&v.live), 100);
    v = view_of(2);
    cr_expect_eq(v.alloc_bytes, 9);
    cr_expect_eq(v.alloc_blocks, 1);
}

Test(heap, counts_are_split_by_kind)
{
    pm_heap_update(&heap, 7, PM_KIND_PYTHON, 10, +1);
    pm_heap_update(&heap, 7, PM_KIND_PYTHON, 11, +1);
    pm_heap_update(&heap, 7, PM_KIND_RAW, 20, +1);
    pm_heap_update(&heap, 7, PM_KIND_NATIVE, 30, +1);
    pm_heap_update(&heap, 7, PM_KIND_NATIVE, 300, +1);
    pm_heap_update(&heap, 7, PM_KIND_NATIVE, 300, -1);

    struct pm_stack_view v = view_of(7);
    cr_expect_eq(v.live.bytes[PM_KIND_PYTHON], 21);
    cr_expect_eq(v.live.blocks[PM_KIND_PYTHON], 2);
    cr_expect_eq(v.live.bytes[PM_KIND_RAW], 20);
    cr_expect_eq(v.live.blocks[PM_KIND_RAW], 1);
    cr_expect_eq(v.live.bytes[PM_KIND_NATIVE], 30);
    cr_expect_eq(v.live.blocks[PM_KIND_NATIVE], 1);
    cr_expect_eq(v.alloc_bytes, 371);
    cr_expect_eq(v.alloc_blocks, 5);

    /* The peak (371) was before the free: native held 330 then. */
    struct pm_counts p = peak_view(&heap, 7);
    cr_expect_eq(atomic_load(&heap.peak_bytes), 371);
    cr_expect_eq(p.bytes[PM_KIND_PYTHON], 21);
    cr_expect_eq(p.bytes[PM_KIND_RAW], 20);
    cr_expect_eq(p.bytes[PM_KIND_NATIVE], 330);
    cr_expect_eq(p.blocks[PM_KIND_NATIVE], 2);
}

Test(heap, reset_after_fork_keeps_live_and_forgets_peak_and_totals)
{
    alloc(1, 100);
    alloc(2, 50);
    dealloc(1, 100);    /* parent peak: 150 */
    pm_heap_reset_after_fork(&heap);

    struct pm_stack_view v = view_of(2);
    cr_expect_eq(pm_counts_bytes(&v.live), 50, "inherited blocks are still live in the child");
    cr_expect_eq(v.alloc_bytes, 0);
    cr_expect_eq(v.alloc_blocks, 0);
    cr_expect_eq(view_of(1).alloc_bytes, 0);
    cr_expect_eq(pm_heap_bytes(&heap), 50);
    cr_expect_lt(atomic_load(&heap.peak_bytes), 150, "the parent's peak is forgotten");

    alloc(3, 20);       /* the child's own peak: 70 */
    cr_expect_eq(atomic_load(&heap.peak_bytes), 70);
    cr_expect_eq(peak_bytes_of(1), 0);
    cr_expect_eq(peak_bytes_of(2), 50);
    cr_expect_eq(peak_bytes_of(3), 20);
}

/* A thread of the parent may hold a stack's lock at the moment of the fork: in the child that
 * lock is free (it belongs to the parent's generation), and taking it restarts the counts. */
Test(heap, a_lock_held_at_the_fork_is_free_in_the_child)
{
    alloc(5, 40);
    alloc(5, 60);
    struct pm_shared_counters *c = pm_heap_shared_of(&heap, 5);
    cr_assert_not_null(c);
    atomic_store(&c->lock, heap.gen << 1 | 1);     /* held by a thread that is gone */
    pm_heap_reset_after_fork(&heap);

    alloc(5, 7);
    dealloc(5, 40);
    struct pm_stack_view v = view_of(5);
    cr_expect_eq(v.live.bytes[PM_KIND_NATIVE], 67);
    cr_expect_eq(v.live.blocks[PM_KIND_NATIVE], 2);
    cr_expect_eq(v.alloc_bytes, 7, "only the child's allocation counts");
    cr_expect_eq(v.alloc_blocks, 1);
    cr_expect_eq(peak_bytes_of(5), 107, "the child's peak: 100 inherited + 7");
    cr_expect_eq(atomic_load(&c->lock), heap.gen << 1, "released, in the new generation");
}

/* Most stacks only ever see Python events: their raw and native counters are not made. */
Test(heap, raw_and_native_counters_are_made_on_a_stacks_first_such_event)
{
    update(3, PM_KIND_PYTHON, 10, +1);
    cr_expect_null(pm_heap_shared_of(&heap, 3));
    update(3, PM_KIND_RAW, 20, +1);
    struct pm_shared_counters *s = pm_heap_shared_of(&heap, 3);
    cr_assert_not_null(s);
    update(3, PM_KIND_NATIVE, 30, +1);
    cr_expect_eq(pm_heap_shared_of(&heap, 3), s, "one record for raw and native");
    update(4, PM_KIND_NATIVE, 1, +1);
    cr_expect_neq(pm_heap_shared_of(&heap, 4), s);
    struct pm_stack_view v = view_of(3);
    cr_expect_eq(v.live.bytes[PM_KIND_PYTHON], 10);
    cr_expect_eq(v.live.bytes[PM_KIND_RAW], 20);
    cr_expect_eq(v.live.bytes[PM_KIND_NATIVE], 30);
    cr_expect_eq(v.alloc_blocks, 3);
    cr_expect_eq(pm_heap_bytes(&heap), 61);
}

Test(heap, no_memory_for_a_first_native_event_counts_nothing)
{
    pm_alloc_fail_after = 1;    /* the record's chunk cannot be made */
    cr_expect_eq(pm_heap_update(&heap, 9, PM_KIND_NATIVE, 100, +1), -ENOMEM);
    pm_alloc_fail_after = 0;
    cr_expect_null(pm_heap_shared_of(&heap, 9));
    cr_expect_eq(pm_heap_bytes(&heap), 0);
    cr_expect_eq(atomic_load(&heap.peak_bytes), 0);
    cr_expect_eq(pm_heap_update(&heap, 9, PM_KIND_NATIVE, 100, +1), 0, "the next one works");
    struct pm_stack_view v = view_of(9);
    cr_expect_eq(v.live.bytes[PM_KIND_NATIVE], 100);
    cr_expect_eq(v.alloc_blocks, 1);
}

/* Threads meeting a stack's first native event at once must end up with one record. */
static void *
first_native_events(void *arg)
{
    pthread_barrier_wait(arg);
    for (uint32_t idx = 10; idx < 60; idx++)
        pm_heap_update(&heap, idx, PM_KIND_NATIVE, 8, +1);
    return NULL;
}

Test(heap, racing_first_native_events_share_one_record)
{
    pthread_t th[4];
    pthread_barrier_t barrier;

    cr_assert_eq(pthread_barrier_init(&barrier, NULL, 4), 0);
    for (int t = 0; t < 4; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, first_native_events, &barrier), 0);
    for (int t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&barrier);
    for (uint32_t idx = 10; idx < 60; idx++) {
        struct pm_stack_view v = view_of(idx);
        cr_expect_eq(v.live.blocks[PM_KIND_NATIVE], 4, "stack %u", idx);
        cr_expect_eq(v.live.bytes[PM_KIND_NATIVE], 32, "stack %u", idx);
    }
    cr_expect_eq(pm_heap_bytes(&heap), 50 * 32);
}

Test(heap, python_counts_restart_lazily_in_the_child_and_grandchild)
{
    update(1, PM_KIND_PYTHON, 500, +1);
    update(2, PM_KIND_PYTHON, 30, +1);
    update(1, PM_KIND_PYTHON, 500, -1);     /* the parent's peak: 530 */
    update(1, PM_KIND_PYTHON, 10, +1);
    pm_heap_reset_after_fork(&heap);        /* child: 10 + 30 live */

    cr_expect_eq(view_of(1).alloc_bytes, 0);
    cr_expect_eq(peak_bytes_of(1), 10, "untouched since the fork: the child's peak has it live");
    update(2, PM_KIND_PYTHON, 30, -1);
    update(3, PM_KIND_PYTHON, 5, +1);       /* child's peak stays 40, at the fork */
    cr_expect_eq(atomic_load(&heap.peak_bytes), 40);
    cr_expect_eq(peak_bytes_of(1), 10);
    cr_expect_eq(peak_bytes_of(2), 30);
    cr_expect_eq(peak_bytes_of(3), 0);
    cr_expect_eq(view_of(3).alloc_bytes, 5);

    pm_heap_reset_after_fork(&heap);        /* grandchild: 10 + 5 live */
    cr_expect_eq(view_of(3).alloc_bytes, 0, "the child's totals are not the grandchild's");
    cr_expect_eq(live_bytes_of(3), 5);
    update(3, PM_KIND_PYTHON, 100, +1);
    cr_expect_eq(atomic_load(&heap.peak_bytes), 115);
    cr_expect_eq(peak_bytes_of(1), 10);
    cr_expect_eq(peak_bytes_of(2), 0);
    cr_expect_eq(peak_bytes_of(3), 105);
    cr_expect_eq(view_of(3).alloc_bytes, 100);
}

/* A random walk checked step by step against a model that copies every stack at each new peak. */
Test(heap, random_walk_matches_a_model_of_the_peak)
{
    enum { STACKS = 20, STEPS = 20000, MAXLIVE = 4096 };
    struct block { uint32_t stack; enum pm_kind kind; int64_t size; } *live;
    int64_t model_live[STACKS][PM_KIND_COUNT] = {{0}}, model_at_peak[STACKS][PM_KIND_COUNT] = {{0}};
    int64_t model_alloc[STACKS] = {0};
    int64_t total = 0, peak = 0, peak_blocks = 0;
    uint32_t n = 0, ties = 0;
    bool ambiguous = false;     /* an allocation hit the peak exactly: >= vs > is unspecified */

    live = calloc(MAXLIVE, sizeof(*live));
    cr_assert_not_null(live);
    srand(12345);
    for (int step = 0; step < STEPS; step++) {
        bool do_alloc = n == 0 || (n < MAXLIVE && rand() % 100 < 52);
        if (do_alloc) {
            struct block b = {(uint32_t)(rand() % STACKS), (enum pm_kind)(rand() % 3),
                              (int64_t)(rand() % (1 << 20)) + 1};
            live[n++] = b;
            pm_heap_update(&heap, b.stack, b.kind, b.size, +1);
            model_live[b.stack][b.kind] += b.size;
            model_alloc[b.stack] += b.size;
            total += b.size;
            if (total > peak) {
                peak = total;
                peak_blocks = n;
                memcpy(model_at_peak, model_live, sizeof(model_live));
                ambiguous = false;
            } else if (total == peak) {
                ambiguous = true;
                ties++;
            }
        } else {
            uint32_t i = (uint32_t)rand() % n;
            struct block b = live[i];
            live[i] = live[--n];
            pm_heap_update(&heap, b.stack, b.kind, b.size, -1);
            model_live[b.stack][b.kind] -= b.size;
            total -= b.size;
        }
        cr_assert_eq(pm_heap_bytes(&heap), total, "step %d", step);
        cr_assert_eq(live_blocks_total(), n, "step %d", step);
        cr_assert_eq(atomic_load(&heap.peak_bytes), peak, "step %d", step);
        if (ambiguous || step % 7 != 0)
            continue;
        cr_assert_eq(peak_blocks_total(), peak_blocks, "step %d", step);
        for (uint32_t s = 0; s < STACKS; s++) {
            struct pm_counts p = peak_view(&heap, s);
            struct pm_stack_view v = view_of(s);
            for (int k = 0; k < PM_KIND_COUNT; k++) {
                cr_assert_eq(p.bytes[k], model_at_peak[s][k], "step %d stack %u kind %d: peak view",
                             step, s, k);
                cr_assert_eq(v.live.bytes[k], model_live[s][k], "step %d stack %u kind %d: live",
                             step, s, k);
            }
            cr_assert_eq(v.alloc_bytes, model_alloc[s]);
        }
    }
    cr_log_info("random walk: peak %lld bytes, %u exact ties", (long long)peak, ties);
    free(live);
}

/* --- concurrency ---------------------------------------------------------------------------- */

#define THREADS 4
#define K 50000
#define SHARED 10

struct worker {
    pthread_t thread;
    uint32_t t;
    pthread_barrier_t *barrier;
};

/* Thread t: K blocks of (t + 1) * 16 bytes on stack t + 1 (kind by thread), and K blocks of
 * t + 1 bytes on the shared stack. */
static int64_t
own_size(uint32_t t)
{
    return (int64_t)(t + 1) * 16;
}

static void *
alloc_wait_free(void *arg)
{
    struct worker *w = arg;
    enum pm_kind kind = (enum pm_kind)(w->t % 3);

    for (uint32_t i = 0; i < K; i++) {
        update(w->t + 1, kind, own_size(w->t), +1);
        update(SHARED, PM_KIND_PYTHON, w->t + 1, +1);
    }
    pthread_barrier_wait(w->barrier);   /* every allocation happens before any free */
    for (uint32_t i = 0; i < K; i++) {
        update(SHARED, PM_KIND_PYTHON, w->t + 1, -1);
        update(w->t + 1, kind, own_size(w->t), -1);
    }
    return NULL;
}

Test(heap, four_threads_give_an_exact_peak_and_zero_live)
{
    struct worker w[THREADS];
    pthread_barrier_t barrier;
    int64_t all_bytes = 0, shared_bytes = 0;

    cr_assert_eq(pthread_barrier_init(&barrier, NULL, THREADS), 0);
    for (uint32_t t = 0; t < THREADS; t++) {
        w[t].t = t;
        w[t].barrier = &barrier;
        cr_assert_eq(pthread_create(&w[t].thread, NULL, alloc_wait_free, &w[t]), 0);
    }
    for (uint32_t t = 0; t < THREADS; t++)
        pthread_join(w[t].thread, NULL);
    pthread_barrier_destroy(&barrier);

    for (uint32_t t = 0; t < THREADS; t++) {
        all_bytes += K * (own_size(t) + (int64_t)(t + 1));
        shared_bytes += K * (int64_t)(t + 1);
    }
    cr_expect_eq(pm_heap_bytes(&heap), 0);
    cr_expect_eq(live_blocks_total(), 0);
    /* Python events (under the GIL) and raw/native ones (atomic) keep separate totals: when the
     * last two race on two cores each may miss the other's block. Every thread's last block is
     * the most that can be in flight. */
    int64_t in_flight = 0;
    for (uint32_t t = 0; t < THREADS; t++)
        in_flight += own_size(t);
    cr_expect_leq(atomic_load(&heap.peak_bytes), all_bytes);
    cr_expect_geq(atomic_load(&heap.peak_bytes), all_bytes - in_flight);
    cr_expect_eq(peak_blocks_total(), 2 * THREADS * K);

    for (uint32_t t = 0; t < THREADS; t++) {
        struct pm_stack_view v = view_of(t + 1);
        struct pm_counts p = peak_view(&heap, t + 1);
        enum pm_kind kind = (enum pm_kind)(t % 3);
        cr_expect_eq(pm_counts_bytes(&v.live), 0, "stack %u", t + 1);
        cr_expect_eq(pm_counts_blocks(&v.live), 0, "stack %u", t + 1);
        cr_expect_eq(v.alloc_bytes, K * own_size(t), "stack %u", t + 1);
        cr_expect_eq(v.alloc_blocks, K, "stack %u", t + 1);
        cr_expect_eq(p.bytes[kind], K * own_size(t), "stack %u at peak", t + 1);
        cr_expect_eq(p.blocks[kind], K, "stack %u at peak", t + 1);
        cr_expect_eq(pm_counts_bytes(&p), K * own_size(t), "stack %u at peak", t + 1);
    }
    struct pm_stack_view v = view_of(SHARED);
    struct pm_counts p = peak_view(&heap, SHARED);
    cr_expect_eq(pm_counts_bytes(&v.live), 0);
    cr_expect_eq(pm_counts_blocks(&v.live), 0);
    cr_expect_eq(v.alloc_bytes, shared_bytes);
    cr_expect_eq(v.alloc_blocks, THREADS * K);
    cr_expect_eq(p.bytes[PM_KIND_PYTHON], shared_bytes, "shared stack at peak");
    cr_expect_eq(p.blocks[PM_KIND_PYTHON], THREADS * K, "shared stack at peak");
}

/* Without a barrier the peak moment is unknowable, but the books must still balance, and the
 * peak picture may be off only by the blocks in flight while the peak closed. */
static void *
churn(void *arg)
{
    struct worker *w = arg;

    pthread_barrier_wait(w->barrier);
    for (uint32_t round = 0; round < 200; round++) {
        for (uint32_t i = 0; i < 100; i++)
            update((w->t + i) % 8 + 1, (enum pm_kind)(i % 3), i + 1, +1);
        for (uint32_t i = 0; i < 100; i++)
            update((w->t + i) % 8 + 1, (enum pm_kind)(i % 3), i + 1, -1);
    }
    return NULL;
}

Test(heap, racing_allocations_and_frees_balance_and_keep_the_peak_picture_close)
{
    enum { REPEATS = 100 };
    /* One block in flight per thread at the closing moment, twice over for margin. Stacks whose
     * epoch goes backwards (a stale event re-folding at_peak) lose their whole picture instead. */
    const int64_t slack = 2 * THREADS * 100;
    int64_t worst = 0;
    int over = 0;

    for (int rep = 0; rep < REPEATS; rep++) {
        struct worker w[THREADS];
        pthread_barrier_t barrier;
        int64_t alloc_sum = 0, peak_sum = 0, peak, off;

        pm_heap_release(&heap);
        setup();
        cr_assert_eq(pthread_barrier_init(&barrier, NULL, THREADS), 0);
        for (uint32_t t = 0; t < THREADS; t++) {
            w[t].t = t;
            w[t].barrier = &barrier;
            cr_assert_eq(pthread_create(&w[t].thread, NULL, churn, &w[t]), 0);
        }
        for (uint32_t t = 0; t < THREADS; t++)
            pthread_join(w[t].thread, NULL);
        pthread_barrier_destroy(&barrier);

        cr_assert_eq(pm_heap_bytes(&heap), 0, "repeat %d", rep);
        cr_assert_eq(live_blocks_total(), 0, "repeat %d", rep);
        peak = atomic_load(&heap.peak_bytes);
        /* At least one thread's full round was live at once; at most all four threads' were. */
        cr_assert_geq(peak, 5050, "repeat %d", rep);
        cr_assert_leq(peak, 4 * 5050, "repeat %d", rep);
        for (uint32_t s = 1; s <= 8; s++) {
            struct pm_stack_view v = view_of(s);
            cr_assert_eq(pm_counts_bytes(&v.live), 0, "repeat %d stack %u", rep, s);
            cr_assert_eq(pm_counts_blocks(&v.live), 0, "repeat %d stack %u", rep, s);
            cr_assert_geq(peak_bytes_of(s), 0, "repeat %d stack %u", rep, s);
            peak_sum += peak_bytes_of(s);
            alloc_sum += v.alloc_bytes;
        }
        cr_assert_eq(alloc_sum, (int64_t)THREADS * 200 * 5050, "repeat %d", rep);
        off = peak_sum > peak ? peak_sum - peak : peak - peak_sum;
        if (off > worst)
            worst = off;
        if (off > slack) {     /* tolerated below: info, since Criterion fails a warned run */
            over++;
            cr_log_info("repeat %d: peak picture sums to %lld, peak_bytes %lld", rep,
                        (long long)peak_sum, (long long)peak);
        }
    }
    cr_log_info("worst peak-picture error over %d repeats: %lld bytes", REPEATS, (long long)worst);
    /* Preemption inside pm_heap_update on a loaded machine can stretch "in flight" for a rare
     * repeat; the bug this guards against (a stale epoch re-folding) failed ~95% of repeats. */
    cr_expect_leq(over, REPEATS / 20, "%d of %d repeats off by more than %lld bytes (worst %lld)",
                  over, REPEATS, (long long)slack, (long long)worst);
}
