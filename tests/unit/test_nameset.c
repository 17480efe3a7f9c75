/* SPDX-License-Identifier: MIT */
/* lib/nameset.h: entries found by (file, function, line), as top's rows and growth's keys are. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "nameset.h"

#define MAX 5000

static struct pm_nameset set;
static struct pm_name names[MAX];
static char files[MAX][16];
static size_t n;

static void
teardown(void)
{
    pm_nameset_release(&set);
    pm_alloc_fail_after = 0;
    n = 0;
}

TestSuite(nameset, .fini = teardown);

static struct pm_name
name_of(const void *ctx, uint32_t i)
{
    return ((const struct pm_name *)ctx)[i];
}

/* The entry named (file, function, line), added when new. */
static uint32_t
intern(const char *file, const char *function, int64_t line)
{
    uint32_t found;
    size_t hole;

    cr_assert_eq(pm_nameset_find(&set, n, (struct pm_name){ file, function, line }, name_of,
                                 names, &found, &hole), 0);
    if (found != PM_NAMESET_NONE)
        return found;
    names[n] = (struct pm_name){ file, function, line };
    pm_nameset_put(&set, hole, (uint32_t)n);
    return (uint32_t)n++;
}

Test(nameset, the_same_name_is_one_entry)
{
    cr_expect_eq(intern("a.py", "f", 1), 0);
    cr_expect_eq(intern("a.py", "f", 1), 0);
    cr_expect_eq(n, 1);
}

Test(nameset, file_function_and_line_each_tell_names_apart)
{
    uint32_t base = intern("a.py", "f", 1);

    cr_expect_neq(intern("b.py", "f", 1), base);
    cr_expect_neq(intern("a.py", "g", 1), base);
    cr_expect_neq(intern("a.py", "f", 2), base);
    /* the separator: ("ab", "c") is not ("a", "bc") */
    cr_expect_neq(intern("ab", "c", 0), intern("a", "bc", 0));
    cr_expect_eq(n, 6);
}

Test(nameset, growing_keeps_every_entry_findable)
{
    for (size_t i = 0; i < MAX; i++) {
        snprintf(files[i], sizeof(files[i]), "m%zu.py", i);
        cr_assert_eq(intern(files[i], "f", (int64_t)i % 7), i);
    }
    for (size_t i = 0; i < MAX; i++)
        cr_assert_eq(intern(files[i], "f", (int64_t)i % 7), i, "entry %zu", i);
    cr_expect_eq(n, MAX);
    cr_expect_geq(set.cap, 2 * (size_t)MAX, "at most half full");
}

Test(nameset, no_memory_to_grow_leaves_the_set_as_it_was)
{
    uint32_t found;
    size_t hole;

    pm_alloc_fail_after = 1;
    cr_expect_eq(pm_nameset_find(&set, 0, (struct pm_name){ "a.py", "f", 1 }, name_of, names,
                                 &found, &hole), -ENOMEM);
    pm_alloc_fail_after = 0;
    cr_expect_null(set.slot);
    cr_expect_eq(intern("a.py", "f", 1), 0, "works once memory is back");
}
