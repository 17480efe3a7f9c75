/* SPDX-License-Identifier: MIT */
/* pymem's own memory: a private jemalloc arena, apart from the profiled program's heap
 * (DESIGN §2.8). Everything pymem allocates comes from here; nothing here is ever tracked. */
#pragma once

#include <stddef.h>

#include "pm.h"

/* Like malloc & co.; thread-safe, never reach the application's allocator. Never allocate 0
 * bytes from jemalloc (mallocx(0) is undefined): sizes are rounded up to 1. pm_free keeps errno. */
void *pm_malloc(size_t size);
void *pm_calloc(size_t n, size_t size);
void *pm_realloc(void *p, size_t size);
void pm_free(void *p);

/* pm_calloc for a large, randomly probed table: from 2 MiB on it is aligned to and backed by
 * huge pages where the kernel allows (a probe then costs no TLB miss, and filling it a fault a
 * huge page instead of one per 4 KiB). Freed with pm_free. */
void *pm_calloc_table(size_t n, size_t size);
char *pm_strdup(const char *s);
char *pm_strndup(const char *s, size_t n);

/* Grows the array *vp of `size`-byte elements (capacity *cap, doubling from 16) so that it
 * holds at least n + 1; new elements are zeroed. Returns 0 or -ENOMEM (*vp unchanged). */
int pm_grow(void *vp, size_t *cap, size_t n, size_t size);

/* The size pm_malloc(size) really reserves (its size class): a table can use all of it. */
size_t pm_alloc_good_size(size_t size);

/* Bytes currently allocated in pymem's arena (jemalloc's own count), or 0 if unknown. */
size_t pm_alloc_tool_bytes(void);

/* Test seam: when non-zero, the allocation that many calls from now fails (then it resets). */
extern unsigned long pm_alloc_fail_after;
