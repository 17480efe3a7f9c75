/* SPDX-License-Identifier: MIT */
/* lib/alloc.h: pymem's private jemalloc arena. Every byte pymem uses comes from here, and the
 * arena's count is what a profile reports as tool_bytes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define MIB ((size_t)1 << 20)

static void
reset_seam(void)
{
    pm_alloc_fail_after = 0;
}

TestSuite(alloc, .fini = reset_seam);

Test(alloc, malloc_gives_writable_aligned_memory)
{
    unsigned char *p = pm_malloc(1000);

    cr_assert_not_null(p);
    cr_expect_eq((uintptr_t)p % 16, 0, "malloc alignment");
    memset(p, 0x5a, 1000);
    cr_expect_eq(p[0], 0x5a);
    cr_expect_eq(p[999], 0x5a);
    pm_free(p);
}

Test(alloc, malloc_of_zero_bytes_returns_a_freeable_block)
{
    void *p = pm_malloc(0);

    cr_expect_not_null(p);
    pm_free(p);
    p = pm_realloc(NULL, 0);
    cr_expect_not_null(p);
    pm_free(p);
}

Test(alloc, calloc_returns_zeroed_memory_even_when_recycled)
{
    for (int round = 0; round < 20; round++) {
        unsigned char *dirty = pm_malloc(4096);
        cr_assert_not_null(dirty);
        memset(dirty, 0xff, 4096);
        pm_free(dirty);
        unsigned char *p = pm_calloc(512, 8);
        cr_assert_not_null(p);
        for (size_t i = 0; i < 4096; i++)
            cr_assert_eq(p[i], 0, "byte %zu of round %d is %#x", i, round, p[i]);
        pm_free(p);
    }
}

Test(alloc, calloc_refuses_an_overflowing_size)
{
    cr_expect_null(pm_calloc(SIZE_MAX / 2, 3));
    cr_expect_null(pm_calloc((size_t)1 << 33, (size_t)1 << 33));
}

Test(alloc, realloc_keeps_the_contents_when_growing_and_shrinking)
{
    unsigned char *p = pm_malloc(100);

    cr_assert_not_null(p);
    for (int i = 0; i < 100; i++)
        p[i] = (unsigned char)i;
    p = pm_realloc(p, 3 * MIB);
    cr_assert_not_null(p);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(p[i], i);
    p[3 * MIB - 1] = 7;
    p = pm_realloc(p, 50);
    cr_assert_not_null(p);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(p[i], i);
    pm_free(p);
}

Test(alloc, realloc_of_null_allocates)
{
    char *p = pm_realloc(NULL, 64);

    cr_assert_not_null(p);
    memset(p, 1, 64);
    pm_free(p);
}

Test(alloc, strdup_and_strndup_copy_and_terminate)
{
    char *a = pm_strdup("hello.py");
    char *b = pm_strndup("function_name_and_more", 13);
    char *c = pm_strdup("");

    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_not_null(c);
    cr_expect_str_eq(a, "hello.py");
    cr_expect_str_eq(b, "function_name");
    cr_expect_str_eq(c, "");
    pm_free(a);
    pm_free(b);
    pm_free(c);
}

Test(alloc, free_of_null_is_harmless_and_free_keeps_errno)
{
    void *p = pm_malloc(10);

    pm_free(NULL);
    errno = EILSEQ;
    pm_free(p);
    cr_expect_eq(errno, EILSEQ);
    errno = ENOENT;
    pm_free(NULL);
    cr_expect_eq(errno, ENOENT);
}

Test(alloc, tool_bytes_follow_a_1mib_block)
{
    size_t before = pm_alloc_tool_bytes();
    void *p = pm_malloc(MIB);
    size_t during;
    size_t after;

    cr_assert_not_null(p);
    memset(p, 1, MIB);
    during = pm_alloc_tool_bytes();
    cr_assert_gt(during, 0, "jemalloc statistics unavailable");
    cr_expect_geq(during - before, MIB, "grew by %zu", during - before);
    cr_expect_leq(during - before, MIB + 64 * 1024, "grew by %zu", during - before);
    pm_free(p);
    after = pm_alloc_tool_bytes();
    cr_expect_leq(after, before + 64 * 1024, "after free: %zu, before: %zu", after, before);
}

Test(alloc, tool_bytes_count_small_blocks)
{
    enum { N = 10000 };
    static void *p[N];
    size_t before = pm_alloc_tool_bytes();

    for (int i = 0; i < N; i++)
        cr_assert_not_null(p[i] = pm_malloc(48));
    size_t during = pm_alloc_tool_bytes();
    cr_expect_geq(during - before, (size_t)N * 48, "grew by %zu", during - before);
    cr_expect_leq(during - before, (size_t)N * 64 + 64 * 1024, "grew by %zu", during - before);
    for (int i = 0; i < N; i++)
        pm_free(p[i]);
    cr_expect_leq(pm_alloc_tool_bytes(), before + 64 * 1024);
}

Test(alloc, arena_is_separate_from_the_libc_heap)
{
    size_t before = pm_alloc_tool_bytes();
    void *libc = malloc(MIB);

    cr_assert_not_null(libc);
    memset(libc, 1, MIB);
    cr_expect_lt(pm_alloc_tool_bytes(), before + MIB / 2, "libc malloc counted as tool bytes");
    free(libc);
}

Test(alloc, fail_after_makes_the_nth_allocation_fail_once)
{
    void *p[3];

    pm_alloc_fail_after = 3;
    p[0] = pm_malloc(16);
    p[1] = pm_malloc(16);
    cr_expect_not_null(p[0]);
    cr_expect_not_null(p[1]);
    p[2] = pm_malloc(16);
    cr_expect_null(p[2], "the 3rd allocation must fail");
    cr_expect_eq(pm_alloc_fail_after, 0, "the seam resets");
    p[2] = pm_malloc(16);
    cr_expect_not_null(p[2], "allocations succeed again");
    for (int i = 0; i < 3; i++)
        pm_free(p[i]);
}

Test(alloc, fail_after_covers_calloc_realloc_and_strdup)
{
    char *s = pm_malloc(8);

    cr_assert_not_null(s);
    pm_alloc_fail_after = 1;
    cr_expect_null(pm_calloc(4, 4));
    pm_alloc_fail_after = 1;
    cr_expect_null(pm_realloc(s, 4096), "a failed realloc returns NULL");
    s[7] = 'x';    /* and leaves the old block alive */
    pm_alloc_fail_after = 1;
    cr_expect_null(pm_strdup("abc"));
    pm_alloc_fail_after = 2;
    char *d = pm_strdup("abc");
    cr_expect_not_null(d);
    cr_expect_eq(pm_alloc_fail_after, 1);
    cr_expect_null(pm_malloc(1));
    pm_free(d);
    pm_free(s);
}

Test(alloc, free_does_not_consume_the_seam)
{
    void *p = pm_malloc(32);

    pm_alloc_fail_after = 2;
    pm_free(p);
    p = pm_malloc(32);
    cr_expect_not_null(p);
    cr_expect_null(pm_malloc(32), "2nd allocation after arming fails, frees do not count");
    pm_free(p);
}

Test(alloc, calloc_table_is_zeroed_and_huge_page_aligned_from_2mib)
{
    for (int round = 0; round < 3; round++) {
        unsigned char *dirty = pm_malloc(3 * MIB);
        cr_assert_not_null(dirty);
        memset(dirty, 0xff, 3 * MIB);
        pm_free(dirty);
        unsigned char *p = pm_calloc_table(3 * MIB / 16, 16);
        cr_assert_not_null(p);
        cr_expect_eq((uintptr_t)p % (2 * MIB), 0, "%p is not on a 2 MiB boundary", (void *)p);
        for (size_t i = 0; i < 3 * MIB; i += 4093)
            cr_assert_eq(p[i], 0, "byte %zu of round %d is %#x", i, round, p[i]);
        cr_expect_eq(p[3 * MIB - 1], 0);
        pm_free(p);
    }
    unsigned char *small = pm_calloc_table(100, 8);     /* below 2 MiB: an ordinary calloc */
    cr_assert_not_null(small);
    cr_expect_eq(small[799], 0);
    pm_free(small);
    cr_expect_null(pm_calloc_table(SIZE_MAX / 2, 3), "an overflowing size");
    pm_alloc_fail_after = 1;
    cr_expect_null(pm_calloc_table(4 * MIB, 1), "the failure seam");
}
