/* SPDX-License-Identifier: MIT */
/* lib/chunked.h: the append-only array behind the frame, stack and counter tables. Readers hold
 * element pointers without a lock, so an element must never move once reserved. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "chunked.h"

struct elem {
    uint64_t a, b, c;   /* 24 bytes: not a power of two */
};

static struct pm_chunked arr;

static void
setup(void)
{
    pm_chunked_init(&arr, sizeof(struct elem));
}

static void
teardown(void)
{
    pm_chunked_release(&arr);
}

TestSuite(chunked, .init = setup, .fini = teardown);

static int
all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

Test(chunked, new_array_holds_no_memory)
{
    cr_expect_eq(arr.elem_size, sizeof(struct elem));
    cr_expect_eq(pm_chunked_bytes(&arr), 0);
}

Test(chunked, reserved_chunk_is_zero_filled)
{
    cr_assert_eq(pm_chunked_reserve(&arr, 0), 0);
    for (uint32_t i = 0; i < PM_CHUNK_LEN; i++)
        cr_assert(all_zero(pm_chunked_at(&arr, i), sizeof(struct elem)), "element %u", i);
    /* One chunk of 4096 24-byte elements, give or take the allocator's rounding. */
    cr_expect_geq(pm_chunked_bytes(&arr), (size_t)PM_CHUNK_LEN * sizeof(struct elem));
    cr_expect_leq(pm_chunked_bytes(&arr), (size_t)PM_CHUNK_LEN * sizeof(struct elem) * 2);
}

Test(chunked, elements_are_elem_size_apart)
{
    cr_assert_eq(pm_chunked_reserve(&arr, 10), 0);
    cr_expect_eq((char *)pm_chunked_at(&arr, 1) - (char *)pm_chunked_at(&arr, 0),
                 (ptrdiff_t)sizeof(struct elem));
    cr_expect_eq((char *)pm_chunked_at(&arr, 10) - (char *)pm_chunked_at(&arr, 0),
                 (ptrdiff_t)(10 * sizeof(struct elem)));
}

Test(chunked, far_index_is_reserved_and_zero_filled)
{
    uint32_t far = PM_CHUNKED_MAX - 1;

    cr_assert_eq(pm_chunked_reserve(&arr, far), 0);
    /* Only the chunk holding it is allocated, not the 16383 before it. */
    cr_expect_leq(pm_chunked_bytes(&arr), (size_t)PM_CHUNK_LEN * sizeof(struct elem) * 2);
    cr_expect(all_zero(pm_chunked_at(&arr, far), sizeof(struct elem)));
    cr_expect(all_zero(pm_chunked_at(&arr, far & ~(PM_CHUNK_LEN - 1)), sizeof(struct elem)));
    /* The last element is writable end to end. */
    memset(pm_chunked_at(&arr, far), 0xab, sizeof(struct elem));
    cr_expect_eq(((struct elem *)pm_chunked_at(&arr, far))->c, 0xababababababababULL);
    cr_assert_eq(pm_chunked_reserve(&arr, 5000000), 0);
    cr_expect(all_zero(pm_chunked_at(&arr, 5000000), sizeof(struct elem)));
}

Test(chunked, index_past_the_maximum_is_refused)
{
    cr_expect_eq(pm_chunked_reserve(&arr, PM_CHUNKED_MAX), -ERANGE);
    cr_expect_eq(pm_chunked_reserve(&arr, UINT32_MAX), -ERANGE);
}

Test(chunked, addresses_and_contents_survive_later_reserves)
{
    struct elem *first, *mid;

    cr_assert_eq(pm_chunked_reserve(&arr, 0), 0);
    first = pm_chunked_at(&arr, 0);
    first->a = 1;
    first->c = 3;
    cr_assert_eq(pm_chunked_reserve(&arr, PM_CHUNK_LEN + 7), 0);
    mid = pm_chunked_at(&arr, PM_CHUNK_LEN + 7);
    mid->b = 77;
    for (uint32_t i = 0; i < 64 * PM_CHUNK_LEN; i += PM_CHUNK_LEN / 2)
        cr_assert_eq(pm_chunked_reserve(&arr, i), 0);
    cr_assert_eq(pm_chunked_reserve(&arr, PM_CHUNKED_MAX - 1), 0);
    cr_expect_eq(pm_chunked_at(&arr, 0), (void *)first);
    cr_expect_eq(pm_chunked_at(&arr, PM_CHUNK_LEN + 7), (void *)mid);
    cr_expect_eq(first->a, 1);
    cr_expect_eq(first->c, 3);
    cr_expect_eq(mid->b, 77);
}

Test(chunked, reserving_twice_keeps_contents)
{
    cr_assert_eq(pm_chunked_reserve(&arr, 42), 0);
    ((struct elem *)pm_chunked_at(&arr, 42))->a = 0xfeed;
    size_t bytes = pm_chunked_bytes(&arr);
    cr_assert_eq(pm_chunked_reserve(&arr, 42), 0);
    cr_assert_eq(pm_chunked_reserve(&arr, 43), 0);
    cr_expect_eq(((struct elem *)pm_chunked_at(&arr, 42))->a, 0xfeed);
    cr_expect_eq(pm_chunked_bytes(&arr), bytes, "same chunk: no new memory");
}

Test(chunked, release_then_init_gives_an_empty_array)
{
    cr_assert_eq(pm_chunked_reserve(&arr, 3 * PM_CHUNK_LEN), 0);
    cr_expect_gt(pm_chunked_bytes(&arr), 0);
    pm_chunked_release(&arr);
    pm_chunked_init(&arr, sizeof(struct elem));
    cr_expect_eq(pm_chunked_bytes(&arr), 0);
}

/* pm_chunked_reserve: threads making the same chunk at once all get the one published. */
static void *
reserve_far(void *arg)
{
    pthread_barrier_wait(arg);
    return (void *)(intptr_t)pm_chunked_reserve(&arr, 3 * PM_CHUNK_LEN + 17);
}

Test(chunked, concurrent_reserves_publish_one_chunk)
{
    pthread_t th[4];
    pthread_barrier_t barrier;
    void *rc;

    cr_assert_eq(pthread_barrier_init(&barrier, NULL, 4), 0);
    for (int t = 0; t < 4; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, reserve_far, &barrier), 0);
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], &rc);
        cr_expect_eq((intptr_t)rc, 0);
    }
    pthread_barrier_destroy(&barrier);
    struct elem *e = pm_chunked_at(&arr, 3 * PM_CHUNK_LEN + 17);
    cr_expect(all_zero(e, sizeof(*e)));
    e->a = 42;
    cr_expect_eq(pm_chunked_reserve(&arr, 3 * PM_CHUNK_LEN), 0, "an existing chunk is kept");
    cr_expect_eq(((struct elem *)pm_chunked_at(&arr, 3 * PM_CHUNK_LEN + 17))->a, 42);
    cr_expect_eq(pm_chunked_reserve(&arr, PM_CHUNKED_MAX), -ERANGE);
}

Test(chunked, find_gives_null_until_the_chunk_exists)
{
    struct pm_chunked c;

    pm_chunked_init(&c, sizeof(uint64_t));
    cr_expect_null(pm_chunked_find(&c, 5));
    cr_assert_eq(pm_chunked_reserve(&c, 5), 0);
    cr_expect_eq(pm_chunked_find(&c, 5), pm_chunked_at(&c, 5));
    cr_expect_eq(*(uint64_t *)pm_chunked_find(&c, PM_CHUNK_LEN - 1), 0, "its chunk: zeroed");
    cr_expect_null(pm_chunked_find(&c, PM_CHUNK_LEN), "the next chunk");
    cr_expect_null(pm_chunked_find(&c, PM_CHUNKED_MAX), "beyond the directory");
    pm_chunked_release(&c);
}
