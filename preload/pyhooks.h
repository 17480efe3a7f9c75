/* SPDX-License-Identifier: MIT */
/* Wrapping hooks on CPython's RAW, MEM and OBJ allocator domains (PyMem_SetAllocator, the API
 * tracemalloc uses). Call with the GIL held (or before Py_Initialize). */
#pragma once

/* Wraps the three domains' current allocators, each with a fresh context. Returns 0 or -ENOMEM. */
int pm_pyhooks_install(void);

/* True if our hooks are still the installed ones (tracemalloc.stop() restores its saved ones). */
int pm_pyhooks_installed(void);

/* A pointer CPython will free through RAW that was allocated before RAW was switched (the
 * audit-hook entry under PYTHONMALLOC=debug): freeing it goes to libc instead. */
void pm_pyhooks_free_with_libc(void *p);
