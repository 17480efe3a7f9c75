/* SPDX-License-Identifier: MIT */
/* lib/idmap.h: the id -> index map the viewer's queries join stacks and frames with. Ids are
 * content hashes (any 64-bit value, negative ones too) or small numbers in hand-made files. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "alloc.h"
#include "idmap.h"

static struct pm_idmap map;

static void
teardown(void)
{
    pm_idmap_release(&map);
    pm_alloc_fail_after = 0;
}

TestSuite(idmap, .fini = teardown);

static int64_t
id_of(uint64_t i)
{
    return (int64_t)(i * 0x9e3779b97f4a7c15ULL);   /* spread over the whole range, signs too */
}

Test(idmap, empty_map_finds_nothing)
{
    cr_expect_eq(pm_idmap_get(&map, 0), PM_IDMAP_NONE);
    cr_expect_eq(pm_idmap_get(&map, -1), PM_IDMAP_NONE);
    cr_expect_eq(map.n, 0);
}

Test(idmap, values_survive_growth_and_are_replaced_in_place)
{
    const uint32_t n = 100000;     /* several doublings from 1024 slots */

    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(pm_idmap_put(&map, id_of(i), i), 0);
    cr_expect_eq(map.n, n);
    cr_expect_geq(map.cap, 2 * (size_t)n);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(pm_idmap_get(&map, id_of(i)), i, "id %u", i);
    cr_expect_eq(pm_idmap_get(&map, id_of(n)), PM_IDMAP_NONE);
    cr_assert_eq(pm_idmap_put(&map, id_of(7), 70), 0);
    cr_expect_eq(pm_idmap_get(&map, id_of(7)), 70);
    cr_expect_eq(map.n, n, "a replaced value is not a new entry");
}

Test(idmap, small_sequential_ids_and_zero)
{
    for (uint32_t i = 0; i < 5000; i++)
        cr_assert_eq(pm_idmap_put(&map, (int64_t)i, 3 * i), 0);
    for (uint32_t i = 0; i < 5000; i++)
        cr_assert_eq(pm_idmap_get(&map, (int64_t)i), 3 * i);
    cr_expect_eq(pm_idmap_get(&map, 5000), PM_IDMAP_NONE);
}

Test(idmap, slots_hold_exactly_the_entries)
{
    uint64_t sum = 0, seen = 0;

    for (uint32_t i = 1; i <= 3000; i++)
        cr_assert_eq(pm_idmap_put(&map, id_of(i), i), 0);
    for (size_t k = 0; k < map.cap; k++) {
        if (map.slot[k].v == PM_IDMAP_NONE)
            continue;
        cr_assert_eq(map.slot[k].id, id_of(map.slot[k].v));
        sum += map.slot[k].v;
        seen++;
    }
    cr_expect_eq(seen, 3000);
    cr_expect_eq(sum, 3000u * 3001u / 2);
}

Test(idmap, failed_growth_leaves_the_map_unchanged)
{
    for (uint32_t i = 0; i < 512; i++)      /* 1024 slots, half full: the next put grows */
        cr_assert_eq(pm_idmap_put(&map, id_of(i), i), 0);
    cr_assert_eq(map.cap, 1024);
    pm_alloc_fail_after = 1;
    cr_expect_eq(pm_idmap_put(&map, id_of(512), 512), -ENOMEM);
    cr_expect_eq(map.cap, 1024);
    cr_expect_eq(map.n, 512);
    for (uint32_t i = 0; i < 512; i++)
        cr_assert_eq(pm_idmap_get(&map, id_of(i)), i);
    cr_expect_eq(pm_idmap_get(&map, id_of(512)), PM_IDMAP_NONE);
    cr_assert_eq(pm_idmap_put(&map, id_of(512), 512), 0);
    cr_expect_eq(pm_idmap_get(&map, id_of(512)), 512);
}
