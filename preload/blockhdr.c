/* SPDX-License-Identifier: MIT */
/* The in-band records' secret (blockhdr.h). */
#include "blockhdr.h"

#include <sys/auxv.h>

uint64_t pm_blockhdr_key;

void
pm_blockhdr_init_key(void)
{
    /* The kernel's random bytes for this process (AT_RANDOM), mixed with an address; a forked
     * child keeps its parent's key, as it keeps the blocks. */
    const uint64_t *at = (const uint64_t *)getauxval(AT_RANDOM);
    uint64_t k = (at ? at[0] ^ at[1] : 0) ^ (uint64_t)(uintptr_t)&pm_blockhdr_key;

    pm_blockhdr_key = (k ^ (k >> 29)) * 0xbf58476d1ce4e5b9ULL;
}
