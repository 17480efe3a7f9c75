/* SPDX-License-Identifier: MIT */
/* preload/sharedstacks.h: the fork tree's table of committed stack rows, by content key.
 * Criterion runs each test in a process of its own, so each starts without a table. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sharedstacks.h"

Test(sharedstacks, nothing_is_found_or_kept_before_the_table_exists)
{
    pm_sharedstacks_publish(42, 7);
    cr_expect_eq(pm_sharedstacks_find(42), 0);
}

Test(sharedstacks, a_published_row_is_found_and_the_first_one_stays)
{
    pm_sharedstacks_create();
    cr_expect_eq(pm_sharedstacks_find(42), 0);
    pm_sharedstacks_publish(42, 7);
    pm_sharedstacks_publish(42, 9);     /* a sibling that wrote a row of its own meanwhile */
    cr_expect_eq(pm_sharedstacks_find(42), 7);
    cr_expect_eq(pm_sharedstacks_find(43), 0);
    pm_sharedstacks_publish(0, 5);      /* key 0 means a free entry: never shared */
    cr_expect_eq(pm_sharedstacks_find(0), 0);
}

Test(sharedstacks, many_keys_stay_apart)
{
    pm_sharedstacks_create();
    for (uint64_t k = 1; k <= 60000; k++)      /* 46% of the table: collisions probe on */
        pm_sharedstacks_publish(k * 0x2545f4914f6cdd1dull, (int64_t)k);
    for (uint64_t k = 1; k <= 60000; k++)
        cr_expect_eq(pm_sharedstacks_find(k * 0x2545f4914f6cdd1dull), (int64_t)k);
    cr_expect_eq(pm_sharedstacks_find(60001 * 0x2545f4914f6cdd1dull), 0);
}

Test(sharedstacks, a_forked_process_sees_what_its_relatives_publish)
{
    pm_sharedstacks_create();
    pm_sharedstacks_publish(100, 1);    /* before the fork: the child sees it */
    pid_t pid = fork();
    if (pid == 0) {
        int ok = pm_sharedstacks_find(100) == 1;
        pm_sharedstacks_publish(200, 2);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child found the parent's row");
    cr_expect_eq(pm_sharedstacks_find(200), 2, "the parent finds the child's row");
}
