/* SPDX-License-Identifier: MIT */
/* Wrapping hooks on CPython's RAW, MEM and OBJ allocator domains (PyMem_SetAllocator, the API
 * tracemalloc uses). Call with the GIL held (or before Py_Initialize). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Wraps the three domains' current allocators, each with a fresh context. Returns 0 or -ENOMEM. */
int pm_pyhooks_install(void);

/* True if our hooks are still the installed ones (tracemalloc.stop() restores its saved ones). */
int pm_pyhooks_installed(void);

/* A pointer CPython will free through RAW that was allocated before RAW was switched (the
 * audit-hook entry under PYTHONMALLOC=debug): freeing it goes to libc instead. */
void pm_pyhooks_free_with_libc(void *p);

/* Whether MEM and OBJ blocks carry in-band records (blockhdr.h), fixed at the first install. */
extern bool pm_pyhooks_inband;

/* A free or realloc that reached libc's or RAW's hook with a MEM/OBJ block (a program mixing
 * the families, which works without pymem when pymalloc passes the block to malloc): it is
 * done by the block's own domain. Only when pm_pyhooks_inband. free: true if p was such a block
 * (and is freed); realloc: *handled says whether it was. */
bool pm_pyhooks_free_foreign(void *p);
void *pm_pyhooks_realloc_foreign(void *p, size_t size, bool *handled);
