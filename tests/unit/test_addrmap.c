/* SPDX-License-Identifier: MIT */
/* lib/addrmap.h: the live-block table. Every free the shim sees is matched here, so a lost or
 * corrupted entry is a wrong number in the profile. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "addrmap.h"

#define BASE ((uintptr_t)0x7f3a00000000)

static struct pm_addrmap map;

static void
setup(void)
{
    pm_addrmap_init(&map);
}

static void
teardown(void)
{
    pm_addrmap_release(&map);
}

TestSuite(addrmap, .init = setup, .fini = teardown);

static uintptr_t
addr_of(uint32_t i)
{
    return BASE + ((uintptr_t)i << 4);
}

Test(addrmap, empty_map_has_no_entries)
{
    struct pm_block_info info;

    cr_expect_eq(pm_addrmap_count(&map), 0);
    cr_expect_not(pm_addrmap_find(&map, BASE, &info));
    cr_expect_not(pm_addrmap_remove(&map, BASE, &info));
    cr_expect_eq(pm_addrmap_count(&map), 0);
}

Test(addrmap, insert_find_remove_round_trip_keeps_size_kind_stack)
{
    struct pm_block_info info, old;

    cr_assert_eq(pm_addrmap_insert(&map, BASE + 0x40, 123456, PM_KIND_RAW, 4242, &old), 0);
    cr_expect_eq(pm_addrmap_count(&map), 1);

    memset(&info, 0xee, sizeof(info));
    cr_assert(pm_addrmap_find(&map, BASE + 0x40, &info));
    cr_expect_eq(info.size, 123456);
    cr_expect_eq(info.kind, PM_KIND_RAW);
    cr_expect_eq(info.stack, 4242);
    cr_expect_eq(pm_addrmap_count(&map), 1, "find does not remove");
    cr_expect_not(pm_addrmap_find(&map, BASE + 0x50, &info), "a neighbour is not live");

    memset(&info, 0xee, sizeof(info));
    cr_assert(pm_addrmap_remove(&map, BASE + 0x40, &info));
    cr_expect_eq(info.size, 123456);
    cr_expect_eq(info.kind, PM_KIND_RAW);
    cr_expect_eq(info.stack, 4242);
    cr_expect_eq(pm_addrmap_count(&map), 0);
    cr_expect_not(pm_addrmap_find(&map, BASE + 0x40, &info));
    cr_expect_not(pm_addrmap_remove(&map, BASE + 0x40, &info), "a double free finds nothing");
}

Test(addrmap, every_kind_and_the_largest_stack_survive)
{
    static const enum pm_kind kinds[] = {PM_KIND_PYTHON, PM_KIND_RAW, PM_KIND_NATIVE};
    struct pm_block_info info;

    for (uint32_t k = 0; k < 3; k++) {
        cr_assert_eq(pm_addrmap_insert(&map, addr_of(k + 1), 1000 + k, kinds[k],
                                       PM_ADDRMAP_MAX_STACK - k, &info), 0);
    }
    cr_assert_eq(pm_addrmap_insert(&map, addr_of(10), 0, PM_KIND_NATIVE, 0, &info), 0);
    for (uint32_t k = 0; k < 3; k++) {
        cr_assert(pm_addrmap_find(&map, addr_of(k + 1), &info));
        cr_expect_eq(info.size, 1000 + k);
        cr_expect_eq(info.kind, kinds[k]);
        cr_expect_eq(info.stack, PM_ADDRMAP_MAX_STACK - k);
    }
    cr_assert(pm_addrmap_find(&map, addr_of(10), &info));
    cr_expect_eq(info.size, 0, "malloc(0) blocks are kept with size 0");
    cr_expect_eq(info.kind, PM_KIND_NATIVE);
    cr_expect_eq(info.stack, 0);
}

Test(addrmap, sizes_above_the_maximum_are_clamped)
{
    struct pm_block_info info;

    cr_assert_eq(pm_addrmap_insert(&map, addr_of(1), PM_ADDRMAP_MAX_SIZE, PM_KIND_PYTHON, 9, &info), 0);
    cr_assert_eq(pm_addrmap_insert(&map, addr_of(2), PM_ADDRMAP_MAX_SIZE + 1, PM_KIND_PYTHON, 9, &info), 0);
    cr_assert_eq(pm_addrmap_insert(&map, addr_of(3), UINT64_MAX, PM_KIND_RAW, PM_ADDRMAP_MAX_STACK,
                                   &info), 0);
    cr_assert(pm_addrmap_find(&map, addr_of(1), &info));
    cr_expect_eq(info.size, PM_ADDRMAP_MAX_SIZE);
    cr_assert(pm_addrmap_find(&map, addr_of(2), &info));
    cr_expect_eq(info.size, PM_ADDRMAP_MAX_SIZE, "64 GiB block clamped to 64 GiB - 1");
    cr_expect_eq(info.kind, PM_KIND_PYTHON, "clamping does not spill into the kind");
    cr_expect_eq(info.stack, 9, "clamping does not spill into the stack");
    cr_assert(pm_addrmap_find(&map, addr_of(3), &info));
    cr_expect_eq(info.size, PM_ADDRMAP_MAX_SIZE);
    cr_expect_eq(info.kind, PM_KIND_RAW);
    cr_expect_eq(info.stack, PM_ADDRMAP_MAX_STACK);
}

Test(addrmap, reinserting_a_live_address_returns_1_and_the_old_record)
{
    struct pm_block_info old, info;

    cr_assert_eq(pm_addrmap_insert(&map, addr_of(5), 10, PM_KIND_RAW, 3, &old), 0);
    memset(&old, 0, sizeof(old));
    cr_expect_eq(pm_addrmap_insert(&map, addr_of(5), 20, PM_KIND_NATIVE, 4, &old), 1);
    cr_expect_eq(old.size, 10);
    cr_expect_eq(old.kind, PM_KIND_RAW);
    cr_expect_eq(old.stack, 3);
    cr_expect_eq(pm_addrmap_count(&map), 1, "still one live block");
    cr_assert(pm_addrmap_find(&map, addr_of(5), &info));
    cr_expect_eq(info.size, 20, "the new record replaced the old");
    cr_expect_eq(info.kind, PM_KIND_NATIVE);
    cr_expect_eq(info.stack, 4);
    cr_assert(pm_addrmap_remove(&map, addr_of(5), &info));
    cr_expect_eq(pm_addrmap_count(&map), 0);
}

Test(addrmap, a_million_inserts_then_removes_leave_nothing)
{
    enum { N = 1000000 };
    struct pm_block_info info;

    for (uint32_t i = 0; i < N; i++)
        cr_assert_eq(pm_addrmap_insert(&map, addr_of(i), i + 1, (enum pm_kind)(i % 3), i, &info), 0,
                     "insert %u", i);
    cr_expect_eq(pm_addrmap_count(&map), N);
    /* Remove the odd ones first: the even ones must all still be found, intact. */
    for (uint32_t i = 1; i < N; i += 2) {
        cr_assert(pm_addrmap_remove(&map, addr_of(i), &info), "remove %u", i);
        cr_assert_eq(info.size, i + 1);
    }
    cr_expect_eq(pm_addrmap_count(&map), N / 2);
    for (uint32_t i = 0; i < N; i++) {
        bool found = pm_addrmap_find(&map, addr_of(i), &info);
        cr_assert_eq(found, i % 2 == 0, "address %u: found %d", i, found);
        if (found) {
            cr_assert_eq(info.size, i + 1);
            cr_assert_eq(info.kind, (enum pm_kind)(i % 3));
            cr_assert_eq(info.stack, i);
        }
    }
    for (uint32_t i = 0; i < N; i += 2)
        cr_assert(pm_addrmap_remove(&map, addr_of(i), &info), "remove %u", i);
    cr_expect_eq(pm_addrmap_count(&map), 0);
    /* And the table is reusable after emptying. */
    cr_assert_eq(pm_addrmap_insert(&map, addr_of(7), 7, PM_KIND_NATIVE, 7, &info), 0);
    cr_expect_eq(pm_addrmap_count(&map), 1);
}

Test(addrmap, tool_bytes_per_live_block_at_a_million_is_at_most_32)
{
    enum { N = 1000000 };
    struct pm_block_info info;
    size_t bytes, count;

    /* Real heaps: 16-byte steps with gaps, and a run of page-aligned large blocks. */
    for (uint32_t i = 0; i < N - 1000; i++)
        cr_assert_eq(pm_addrmap_insert(&map, BASE + (uintptr_t)i * 48, 32, PM_KIND_PYTHON, 1, &info), 0);
    for (uint32_t i = 0; i < 1000; i++)
        cr_assert_eq(pm_addrmap_insert(&map, (uintptr_t)0x7fff00000000 + (uintptr_t)i * 4096, 4096,
                                       PM_KIND_NATIVE, 2, &info), 0);
    count = pm_addrmap_count(&map);
    bytes = pm_addrmap_bytes(&map);
    cr_assert_eq(count, N);
    cr_expect_leq(bytes / count, 32, "%zu bytes for %zu blocks = %.1f per block", bytes, count,
                  (double)bytes / (double)count);
    cr_expect_geq(bytes, count * sizeof(struct pm_addrmap_entry), "bytes cannot be below 16/entry");
}

Test(addrmap, addresses_spread_over_all_shards)
{
    static const uintptr_t strides[] = {16, 64, 4096, 1 << 21};
    struct pm_block_info info;

    for (size_t s = 0; s < sizeof(strides) / sizeof(strides[0]); s++) {
        enum { N = 64 * 256 };
        uint32_t max = 0;

        pm_addrmap_release(&map);
        pm_addrmap_init(&map);
        for (uint32_t i = 0; i < N; i++)
            cr_assert_eq(pm_addrmap_insert(&map, BASE + i * strides[s], 1, PM_KIND_NATIVE, 1, &info), 0);
        for (int sh = 0; sh < PM_ADDRMAP_SHARDS; sh++)
            if (map.shard[sh].count > max)
                max = map.shard[sh].count;
        /* Even spread is 256 a shard; one shard holding twice that is contention on one lock. */
        cr_expect_leq(max, 2 * N / PM_ADDRMAP_SHARDS, "stride %zu: busiest shard holds %u of %u",
                      (size_t)strides[s], max, (unsigned)N);
    }
}

Test(addrmap, lock_all_then_unlock_all_leaves_the_map_usable)
{
    struct pm_block_info info;

    cr_assert_eq(pm_addrmap_insert(&map, addr_of(1), 11, PM_KIND_RAW, 1, &info), 0);
    pm_addrmap_lock_all(&map);
    pm_addrmap_unlock_all(&map);
    cr_assert_eq(pm_addrmap_insert(&map, addr_of(2), 22, PM_KIND_RAW, 2, &info), 0);
    cr_expect(pm_addrmap_remove(&map, addr_of(1), &info));
    cr_expect_eq(info.size, 11);
    cr_expect_eq(pm_addrmap_count(&map), 1);
}

Test(addrmap, release_then_init_gives_an_empty_map)
{
    struct pm_block_info info;
    size_t empty = pm_addrmap_bytes(&map);

    /* An empty map holds at most its own struct. */
    cr_expect_leq(empty, sizeof(struct pm_addrmap));
    for (uint32_t i = 0; i < 1000; i++)
        cr_assert_eq(pm_addrmap_insert(&map, addr_of(i), 1, PM_KIND_RAW, 1, &info), 0);
    cr_expect_geq(pm_addrmap_bytes(&map), empty + 1000 * sizeof(struct pm_addrmap_entry));
    pm_addrmap_release(&map);
    pm_addrmap_init(&map);
    cr_expect_eq(pm_addrmap_count(&map), 0);
    cr_expect_eq(pm_addrmap_bytes(&map), empty, "release gave every slot back");
    cr_expect_not(pm_addrmap_find(&map, addr_of(1), &info));
}

/* --- concurrency ---------------------------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 200000

struct worker {
    pthread_t thread;
    uint32_t t;
    pthread_barrier_t *start;
    /* errors seen by the thread (Criterion asserts only from the test's own thread) */
    uint32_t insert_failed, remove_missed, remove_wrong, find_wrong;
};

/* Thread t owns indices i * THREADS + t: neighbouring addresses belong to different threads,
 * so all threads work in the same shards at once. */
static uintptr_t
thread_addr(uint32_t t, uint32_t i)
{
    return addr_of(i * THREADS + t + 1);
}

static uint32_t
thread_stack(uint32_t t, uint32_t i)
{
    return t * PER_THREAD + i + 1;
}

static void *
insert_remove(void *arg)
{
    struct worker *w = arg;
    struct pm_block_info info;

    pthread_barrier_wait(w->start);
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        if (pm_addrmap_insert(&map, thread_addr(w->t, i), i + 1, (enum pm_kind)((i + w->t) % 3),
                              thread_stack(w->t, i), &info) != 0)
            w->insert_failed++;
        if (i % 2 == 1) {
            /* free the previous block: every other block stays live */
            if (!pm_addrmap_remove(&map, thread_addr(w->t, i - 1), &info))
                w->remove_missed++;
            else if (info.size != i || info.stack != thread_stack(w->t, i - 1))
                w->remove_wrong++;
        }
        if (i % 64 == 0 && (!pm_addrmap_find(&map, thread_addr(w->t, i), &info) ||
                            info.size != i + 1))
            w->find_wrong++;
    }
    return NULL;
}

static void *
remove_rest(void *arg)
{
    struct worker *w = arg;
    struct pm_block_info info;

    pthread_barrier_wait(w->start);
    for (uint32_t i = 1; i < PER_THREAD; i += 2) {
        if (!pm_addrmap_remove(&map, thread_addr(w->t, i), &info))
            w->remove_missed++;
        else if (info.size != i + 1 || info.kind != (enum pm_kind)((i + w->t) % 3))
            w->remove_wrong++;
    }
    return NULL;
}

static void
run_workers(struct worker *w, void *(*fn)(void *))
{
    pthread_barrier_t start;

    cr_assert_eq(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (uint32_t t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        w[t].t = t;
        w[t].start = &start;
        cr_assert_eq(pthread_create(&w[t].thread, NULL, fn, &w[t]), 0);
    }
    for (uint32_t t = 0; t < THREADS; t++)
        pthread_join(w[t].thread, NULL);
    pthread_barrier_destroy(&start);
    for (uint32_t t = 0; t < THREADS; t++) {
        cr_expect_eq(w[t].insert_failed, 0, "thread %u: %u inserts failed", t, w[t].insert_failed);
        cr_expect_eq(w[t].remove_missed, 0, "thread %u: %u live blocks not found at free", t,
                     w[t].remove_missed);
        cr_expect_eq(w[t].remove_wrong, 0, "thread %u: %u records corrupted", t, w[t].remove_wrong);
        cr_expect_eq(w[t].find_wrong, 0, "thread %u: %u lookups wrong", t, w[t].find_wrong);
    }
}

Test(addrmap, four_threads_inserting_and_removing_leave_exactly_the_survivors)
{
    struct worker w[THREADS];
    struct pm_block_info info;

    run_workers(w, insert_remove);
    /* Each thread inserted 200,000 and removed every other one. */
    cr_assert_eq(pm_addrmap_count(&map), THREADS * PER_THREAD / 2);
    for (uint32_t t = 0; t < THREADS; t++) {
        for (uint32_t i = 0; i < PER_THREAD; i++) {
            bool found = pm_addrmap_find(&map, thread_addr(t, i), &info);
            cr_assert_eq(found, i % 2 == 1, "thread %u block %u: found %d", t, i, found);
            if (found) {
                cr_assert_eq(info.size, i + 1);
                cr_assert_eq(info.kind, (enum pm_kind)((i + t) % 3));
                cr_assert_eq(info.stack, thread_stack(t, i));
            }
        }
    }
    run_workers(w, remove_rest);
    cr_expect_eq(pm_addrmap_count(&map), 0);
}

/* ---- unlocked maps (the Python domains, serialized by the GIL) and their nursery ---- */

static struct pm_addrmap gil_map;

static void
setup_unlocked(void)
{
    pm_addrmap_init_unlocked(&gil_map);
    cr_assert_not_null(gil_map.nursery);
}

static void
teardown_unlocked(void)
{
    pm_addrmap_release(&gil_map);
}

TestSuite(addrmap_unlocked, .init = setup_unlocked, .fini = teardown_unlocked);

/* Enough blocks that most leave the nursery for the shards: every one must still be found with
 * its own record, and removing them all must leave nothing, wherever each one lives. */
Test(addrmap_unlocked, blocks_in_the_nursery_and_the_shards_keep_their_records)
{
    enum { N = 20000 };
    struct pm_block_info info, old;

    for (uint32_t i = 1; i <= N; i++)
        cr_assert_eq(pm_addrmap_insert(&gil_map, addr_of(i), i * 8, PM_KIND_PYTHON, i % 5000, &old),
                     0, "block %u", i);
    cr_expect_eq(pm_addrmap_count(&gil_map), N);
    cr_expect_gt(gil_map.nursery_count, 0, "some blocks are still in the nursery");
    cr_expect_lt(gil_map.nursery_count, N, "most went on to the shards");
    for (uint32_t i = 1; i <= N; i += 2) {
        cr_assert(pm_addrmap_remove(&gil_map, addr_of(i), &info), "block %u", i);
        cr_assert_eq(info.size, i * 8, "block %u", i);
        cr_assert_eq(info.stack, i % 5000, "block %u", i);
    }
    cr_expect_eq(pm_addrmap_count(&gil_map), N / 2);
    for (uint32_t i = 1; i <= N; i++) {
        bool found = pm_addrmap_find(&gil_map, addr_of(i), &info);
        cr_assert_eq(found, i % 2 == 0, "block %u", i);
        if (found)
            cr_assert_eq(info.size, i * 8, "block %u", i);
    }
    for (uint32_t i = 2; i <= N; i += 2)
        cr_assert(pm_addrmap_remove(&gil_map, addr_of(i), &info), "block %u", i);
    cr_expect_eq(pm_addrmap_count(&gil_map), 0);
    cr_expect_eq(gil_map.nursery_count, 0);
    cr_expect_not(pm_addrmap_remove(&gil_map, addr_of(1), &info), "nothing is removed twice");
}

/* Short-lived blocks (the common Python case) are born and die in the nursery. */
Test(addrmap_unlocked, a_block_freed_young_never_reaches_the_shards)
{
    struct pm_block_info info, old;

    for (uint32_t round = 0; round < 1000; round++) {
        for (uint32_t i = 1; i <= 8; i++)
            cr_assert_eq(pm_addrmap_insert(&gil_map, addr_of(i), 64, PM_KIND_PYTHON, 3, &old), 0);
        for (uint32_t i = 1; i <= 8; i++)
            cr_assert(pm_addrmap_remove(&gil_map, addr_of(i), &info));
    }
    size_t in_shards = 0;
    for (size_t s = 0; s < PM_ADDRMAP_SHARDS; s++)
        in_shards += gil_map.shard[s].capacity;
    cr_expect_eq(in_shards, 0, "no shard ever had to grow");
    cr_expect_eq(pm_addrmap_count(&gil_map), 0);
}

/* A block recorded twice without a free (a free we missed) is reported once, with the older
 * record: at once while the older one is in the nursery, else when the newer one leaves it. */
Test(addrmap_unlocked, a_missed_free_is_reported_once_with_the_old_record)
{
    struct pm_block_info info, old = { 0 };
    uintptr_t a = addr_of(7);
    int replaced = 0;

    cr_assert_eq(pm_addrmap_insert(&gil_map, a, 100, PM_KIND_PYTHON, 1, &old), 0);
    cr_expect_eq(pm_addrmap_insert(&gil_map, a, 200, PM_KIND_PYTHON, 2, &old), 1, "in the nursery");
    cr_expect_eq(old.size, 100);
    cr_expect_eq(old.stack, 1);

    /* push it out to the shards, then record it again: reported when the new one leaves */
    for (uint32_t i = 1000; i < 1000 + 8 * PM_ADDRMAP_NURSERY_SLOTS; i++)
        replaced += pm_addrmap_insert(&gil_map, addr_of(i), 16, PM_KIND_PYTHON, 9, &old) == 1;
    cr_expect_eq(replaced, 0, "distinct addresses replace nothing");
    cr_expect_eq(pm_addrmap_count(&gil_map), 1 + 8 * PM_ADDRMAP_NURSERY_SLOTS);
    pm_addrmap_insert(&gil_map, a, 300, PM_KIND_PYTHON, 3, &old);
    for (uint32_t i = 100000; i < 100000 + 8 * PM_ADDRMAP_NURSERY_SLOTS; i++) {
        memset(&old, 0, sizeof(old));
        if (pm_addrmap_insert(&gil_map, addr_of(i), 16, PM_KIND_PYTHON, 9, &old) == 1) {
            replaced++;
            cr_expect_eq(old.size, 200, "the older record is the one reported");
            cr_expect_eq(old.stack, 2);
        }
    }
    cr_expect_eq(replaced, 1);
    cr_assert(pm_addrmap_remove(&gil_map, a, &info));
    cr_expect_eq(info.size, 300, "the newest record is the live one");
    cr_expect_not(pm_addrmap_find(&gil_map, a, &info));
}
