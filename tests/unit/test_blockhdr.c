/* SPDX-License-Identifier: MIT */
/* preload/blockhdr.h: the in-band record in front of a PyMem/PyObject block. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "blockhdr.h"

/* A block as the wrapped allocator returns it: the record's room, then the caller's bytes. */
static _Alignas(16) unsigned char block[PM_BLOCKHDR_SIZE + 64];

static void
setup(void)
{
    pm_blockhdr_init_key();
    memset(block, 0, sizeof(block));
}

TestSuite(blockhdr, .init = setup);

Test(blockhdr, a_record_reads_back_what_was_written)
{
    struct pm_blockrec in = { .stack = (1u << 26) - 1, .domain = 1, .size = 123456789 }, out;
    void *user = pm_blockhdr_write(block, &in);

    cr_expect_eq(user, block + PM_BLOCKHDR_SIZE, "the caller's pointer follows the record");
    cr_expect_eq((uintptr_t)user % 16, 0, "and keeps the block's 16-byte alignment");
    cr_assert(pm_blockhdr_read(user, &out));
    cr_expect_eq(out.stack, in.stack);
    cr_expect_eq(out.domain, 1u);
    cr_expect_eq(out.size, 123456789u);

    in = (struct pm_blockrec){ .stack = 7, .domain = 0, .size = 0 };
    user = pm_blockhdr_write(block, &in);
    cr_assert(pm_blockhdr_read(user, &out));
    cr_expect_eq(out.stack, 7u);
    cr_expect_eq(out.domain, 0u);
    cr_expect_eq(out.size, 0u);
}

Test(blockhdr, sizes_beyond_the_field_are_clamped)
{
    struct pm_blockrec in = { .stack = 3, .domain = 0, .size = UINT64_C(1) << 40 }, out;

    cr_assert(pm_blockhdr_read(pm_blockhdr_write(block, &in), &out));
    cr_expect_eq(out.size, PM_BLOCKHDR_MAX_SIZE);
    cr_expect_eq(out.stack, 3u, "the clamped size does not spill into the stack");
    cr_expect_eq(out.domain, 0u);
}

Test(blockhdr, bytes_that_are_not_a_record_are_not_read_as_one)
{
    struct pm_blockrec in = { .stack = 42, .domain = 0, .size = 100 }, out;
    void *user = pm_blockhdr_write(block, &in);

    /* the same record in front of another pointer (a block that moved, or foreign bytes) */
    memcpy(block + 16, block, PM_BLOCKHDR_SIZE);
    cr_expect_not(pm_blockhdr_read(block + 32, &out), "a tag names its own pointer only");
    /* foreign bytes: zeros, a pool header, a chunk header */
    memset(block, 0, sizeof(block));
    cr_expect_not(pm_blockhdr_read(user, &out));
    uint64_t chunk[2] = { 0, 0x31 };
    memcpy(block, chunk, sizeof(chunk));
    cr_expect_not(pm_blockhdr_read(user, &out));
    /* a record whose fields were changed */
    user = pm_blockhdr_write(block, &in);
    block[8] ^= 1;
    cr_expect_not(pm_blockhdr_read(user, &out), "the tag covers the fields");
}

Test(blockhdr, a_released_record_is_gone)
{
    struct pm_blockrec in = { .stack = 9, .domain = 1, .size = 48 }, out;
    void *user = pm_blockhdr_write(block, &in);

    cr_expect_eq(pm_blockhdr_release(user), (void *)block, "the wrapped allocator's block");
    cr_expect_not(pm_blockhdr_read(user, &out), "a second free finds no record");
}

Test(blockhdr, the_key_is_set_once_for_the_process)
{
    uint64_t first = pm_blockhdr_key;

    cr_expect_neq(first, 0u);
    pm_blockhdr_init_key();
    cr_expect_eq(pm_blockhdr_key, first, "fixed for the process (AT_RANDOM is)");
}
