/* SPDX-License-Identifier: MIT */
/* preload/stackrows.h: stack ids (process id << 32 | index) of the process that interned the
 * stack, across forks. Criterion runs each test in a process of its own: each starts unforked. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "stackrows.h"

#define ID(process, idx) ((int64_t)(process) << 32 | (idx))

Test(stackrows, unforked_process_names_every_stack)
{
    cr_expect_eq(pm_stackrows_id(1, 3), ID(3, 1));
    cr_expect_eq(pm_stackrows_id(4000000000u, 3), ID(3, 4000000000u));
}

Test(stackrows, child_keeps_the_parents_ids_below_the_fork)
{
    pm_stackrows_after_fork(10, 5);     /* parent: process 5, 10 stacks (index 0 is none) */
    cr_expect_eq(pm_stackrows_id(1, 7), ID(5, 1));
    cr_expect_eq(pm_stackrows_id(9, 7), ID(5, 9), "interned by the parent, written or not");
    cr_expect_eq(pm_stackrows_id(10, 7), ID(7, 10), "the child's own");
    cr_expect_eq(pm_stackrows_id(11, 7), ID(7, 11));
}

Test(stackrows, parent_without_an_id_leaves_the_child_to_name_them)
{
    pm_stackrows_after_fork(10, 0);     /* forked before its writer registered it */
    cr_expect_eq(pm_stackrows_id(3, 7), ID(7, 3));
    cr_expect_eq(pm_stackrows_id(12, 7), ID(7, 12));
}

Test(stackrows, grandchild_sees_each_ancestors_range)
{
    pm_stackrows_after_fork(10, 5);     /* in the child (process 7) */
    pm_stackrows_after_fork(20, 7);     /* in the grandchild (process 9) */
    cr_expect_eq(pm_stackrows_id(3, 9), ID(5, 3));
    cr_expect_eq(pm_stackrows_id(15, 9), ID(7, 15));
    cr_expect_eq(pm_stackrows_id(20, 9), ID(9, 20));
}

Test(stackrows, child_forking_before_interning_anything)
{
    pm_stackrows_after_fork(10, 5);
    pm_stackrows_after_fork(10, 7);     /* the child met no stack of its own before forking */
    cr_expect_eq(pm_stackrows_id(3, 9), ID(5, 3));
    cr_expect_eq(pm_stackrows_id(10, 9), ID(9, 10));
}

/* A fork chain deeper than the ranges kept: ids stay unique to the process that gives them
 * (the deepest one names its inherited stacks itself) and keep growing with the index. */
Test(stackrows, deep_fork_chain_stays_ordered)
{
    uint32_t n = 1;

    for (int64_t process = 1; process <= 40; process++) {
        n += 5;
        pm_stackrows_after_fork(n, process);
    }
    int64_t prev = 0;
    for (uint32_t idx = 1; idx < n + 5; idx++) {
        int64_t id = pm_stackrows_id(idx, 41);
        cr_assert_gt(id, prev, "index %u", idx);
        cr_assert_eq((uint32_t)id, idx);
        prev = id;
    }
    cr_expect_eq(pm_stackrows_id(n + 1, 41), ID(41, n + 1));
    cr_expect_eq(pm_stackrows_id(1, 41), ID(1, 1));
}

Test(stackrows, a_stack_named_by_another_processs_row_takes_its_id)
{
    pm_stackrows_after_fork(10, 5);     /* in a child (process 7) */
    cr_expect_eq(pm_stackrows_share(12, ID(8, 11)), 0);    /* its sibling 8 wrote it first */
    cr_expect(pm_stackrows_is_shared(12));
    cr_expect_not(pm_stackrows_is_shared(13));
    cr_expect_not(pm_stackrows_is_shared(5000000), "no chunk there yet");
    cr_expect_eq(pm_stackrows_id(12, 7), ID(8, 11));
    cr_expect_eq(pm_stackrows_id(13, 7), ID(7, 13), "its neighbours keep their own ids");
    cr_expect_eq(pm_stackrows_id(3, 7), ID(5, 3));
}
