/* SPDX-License-Identifier: MIT */
/* lib/hash.h: the functions behind the frame and stack ids written to every profile. The ids
 * must never change between pymem versions (files from different runs are compared by id), so
 * known answers are pinned here. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "hash.h"

Test(hash, mix_is_the_splitmix64_finaliser)
{
    /* splitmix64 seeded with 0: its first output is mix(0 + golden gamma). */
    cr_expect_eq(pm_hash_mix(0x9e3779b97f4a7c15ULL), 0xe220a8397b1dcdafULL);
    /* second output: mix(2 * gamma) */
    cr_expect_eq(pm_hash_mix(0x3c6ef372fe94f82aULL), 0x6e789e6aa1b965f4ULL);
    cr_expect_eq(pm_hash_mix(0), 0);
}

Test(hash, bytes_is_fnv1a_then_mixed)
{
    /* FNV-1a 64 of "" is the offset basis, of "a" is 0xaf63dc4c8601ec8c (reference values). */
    cr_expect_eq(pm_hash_bytes(0, "", 0), pm_hash_mix(0xcbf29ce484222325ULL));
    cr_expect_eq(pm_hash_bytes(0, "a", 1), pm_hash_mix(0xaf63dc4c8601ec8cULL));
    cr_expect_eq(pm_hash_bytes(0, "foobar", 6), pm_hash_mix(0x85944171f73967e8ULL));
}

Test(hash, bytes_depends_on_seed_length_and_content)
{
    const char s[] = "module.py";

    cr_expect_eq(pm_hash_bytes(7, s, 9), pm_hash_bytes(7, s, 9));
    cr_expect_neq(pm_hash_bytes(7, s, 9), pm_hash_bytes(8, s, 9));
    cr_expect_neq(pm_hash_bytes(7, s, 9), pm_hash_bytes(7, s, 8));
    cr_expect_neq(pm_hash_bytes(7, "module.py", 9), pm_hash_bytes(7, "modulf.py", 9));
    /* Trailing NUL is content too: "ab" and "ab\0" differ. */
    cr_expect_neq(pm_hash_bytes(0, "ab", 2), pm_hash_bytes(0, "ab", 3));
}

/* The frame id hashes (line, file, function) by seeding: a seed must not cancel against the
 * first byte of the data, or "a.py" line 2 and "b.py" line 1 get the same id (2 ^ 'a' == 1 ^ 'b'). */
Test(hash, seed_does_not_cancel_against_the_data)
{
    cr_expect_neq(pm_hash_bytes(2, "a.py", 4), pm_hash_bytes(1, "b.py", 4));
    cr_expect_neq(pm_hash_bytes(0, "a", 1), pm_hash_bytes('a', "\0", 1));
    cr_expect_neq(pm_hash_bytes(0x100, "x", 1), pm_hash_bytes(0, "x", 1));
    int collisions = 0;
    for (uint64_t seed = 1; seed < 256; seed++) {
        char c = (char)('a' ^ seed);
        collisions += pm_hash_bytes(0, "a", 1) == pm_hash_bytes(seed, &c, 1);
    }
    cr_expect_eq(collisions, 0, "%d of 255 seeds collide with (0, \"a\")", collisions);
}

Test(hash, step_is_order_dependent)
{
    uint64_t ab = pm_hash_step(pm_hash_step(0, 1), 2);
    uint64_t ba = pm_hash_step(pm_hash_step(0, 2), 1);

    cr_expect_neq(ab, ba);
    cr_expect_eq(ab, pm_hash_step(pm_hash_step(0, 1), 2));
    /* (parent 0, frame x) must not collide with (parent x, frame 0). */
    cr_expect_neq(pm_hash_step(0, 12345), pm_hash_step(12345, 0));
}

Test(hash, mix_flips_about_half_the_bits_per_input_bit)
{
    uint64_t total = 0, n = 0;

    for (uint64_t x = 1; x <= 256; x++) {
        uint64_t base = x * 0x9e3779b97f4a7c15ULL;
        uint64_t h = pm_hash_mix(base);
        for (int bit = 0; bit < 64; bit++) {
            int flipped = __builtin_popcountll(h ^ pm_hash_mix(base ^ (UINT64_C(1) << bit)));
            cr_assert(flipped > 0, "bit %d of %#llx changes nothing", bit, (unsigned long long)base);
            total += (uint64_t)flipped;
            n++;
        }
    }
    /* 16384 samples of Binomial(64, 1/2): the mean lies within 31.5..32.5 by a wide margin. */
    cr_expect(total >= n * 315 / 10 && total <= n * 325 / 10, "mean %.3f bits flipped",
              (double)total / (double)n);
}

Test(hash, id_is_positive_63_bit_and_never_zero)
{
    cr_expect_eq(pm_hash_id(0), 1);
    cr_expect_eq(pm_hash_id(UINT64_C(1) << 63), 1);
    cr_expect_eq(pm_hash_id(UINT64_MAX), INT64_MAX);
    cr_expect_eq(pm_hash_id(42), 42);
    cr_expect_eq(pm_hash_id(0x8000000000000042ULL), 0x42);
    for (uint64_t x = 0; x < 100000; x++)
        cr_assert_gt(pm_hash_id(pm_hash_mix(x)), 0);
}
