/* SPDX-License-Identifier: MIT */
/* pm_malloc & co. over a statically linked jemalloc whose entry points were renamed pm_je_*
 * at build time (see meson.build), using one private arena and no thread cache. */
#include "alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* Prototypes of the renamed jemalloc API (its own header declares the unrenamed names). */
void *pm_je_mallocx(size_t size, int flags);
void *pm_je_rallocx(void *p, size_t size, int flags);
void pm_je_dallocx(void *p, int flags);
size_t pm_je_nallocx(size_t size, int flags);
int pm_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

#define JE_ARENA(a) ((((int)(a)) + 1) << 20)
#define JE_TCACHE_NONE (((-1) + 2) << 8)

unsigned long pm_alloc_fail_after;
static unsigned arena_index;
static int arena_flags = JE_TCACHE_NONE;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void
arena_create(void)
{
    unsigned idx;
    size_t len = sizeof(idx);

    if (pm_je_mallctl("arenas.create", &idx, &len, NULL, 0) == 0) {
        arena_index = idx;
        arena_flags = JE_ARENA(idx) | JE_TCACHE_NONE;
    }
}

static inline int
flags(void)
{
    pthread_once(&arena_once, arena_create);
    return arena_flags;
}

static bool
injected_failure(void)
{
    if (PM_LIKELY(pm_alloc_fail_after == 0))
        return false;
    return --pm_alloc_fail_after == 0;
}

void *
pm_malloc(size_t size)
{
    if (injected_failure())
        return NULL;
    return pm_je_mallocx(size ? size : 1, flags());
}

/* Zeroed by memset, never by jemalloc. For a recycled extent jemalloc zeroes with
 * madvise(MADV_DONTNEED), and in a threaded process every such call is a TLB shootdown on the
 * other cores plus a page fault per page touched again (black: ~500 calls on blocks of
 * 4-100 KiB, ~8% of the main thread's time went to the kernel). A fresh mapping left untouched
 * is no better for pymem's tables: their first reads map the shared zero page (hash tables are
 * probed before they are filled; the writer reads counters of stacks nothing has touched), and
 * the first write to such a page is a copy-on-write fault with a TLB shootdown. Writing the
 * block here faults its pages in once, without either (black: 2.89x -> 2.80x, CPU -6%). The
 * cost is the untouched tail of the last chunk of each chunked array (< 1 MiB). */
void *
pm_calloc(size_t n, size_t size)
{
    size_t total;
    void *p;

    if (__builtin_mul_overflow(n, size, &total) || injected_failure())
        return NULL;
    p = pm_je_mallocx(total ? total : 1, flags());
    if (p)
        memset(p, 0, total);
    return p;
}

#define HUGE_PAGE ((size_t)2 << 20)
#define JE_ALIGN(a) ((int)__builtin_ctzl(a))

void *
pm_calloc_table(size_t n, size_t size)
{
    size_t total;
    void *p;

    if (__builtin_mul_overflow(n, size, &total) || total < HUGE_PAGE)
        return pm_calloc(n, size);
    if (injected_failure())
        return NULL;
    p = pm_je_mallocx(total, flags() | JE_ALIGN(HUGE_PAGE));
    if (!p)
        return NULL;
    /* Before the first write, so that the kernel backs the table with huge pages. */
    madvise(p, total & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
    memset(p, 0, total);
    return p;
}

void *
pm_realloc(void *p, size_t size)
{
    if (!p)
        return pm_malloc(size);
    if (injected_failure())
        return NULL;
    return pm_je_rallocx(p, size ? size : 1, flags());
}

void
pm_free(void *p)
{
    int saved = errno;

    if (p)
        pm_je_dallocx(p, flags());
    errno = saved;
}

char *
pm_strndup(const char *s, size_t n)
{
    char *d = pm_malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *
pm_strdup(const char *s)
{
    return pm_strndup(s, strlen(s));
}

int
pm_grow(void *vp, size_t *cap, size_t n, size_t size)
{
    void **v = vp;
    size_t ncap;
    void *nv;

    if (n < *cap)
        return 0;
    ncap = *cap ? 2 * *cap : 16;
    if (ncap <= n)
        ncap = n + 1;
    if (ncap > SIZE_MAX / size || !(nv = pm_realloc(*v, ncap * size)))
        return -ENOMEM;
    memset((char *)nv + *cap * size, 0, (ncap - *cap) * size);
    *v = nv;
    *cap = ncap;
    return 0;
}

size_t
pm_alloc_good_size(size_t size)
{
    size_t real = pm_je_nallocx(size ? size : 1, flags());

    return real ? real : size;
}

size_t
pm_alloc_tool_bytes(void)
{
    char name[64];
    uint64_t epoch = 1;
    size_t small = 0, large = 0, len = sizeof(size_t);

    flags();
    len = sizeof(epoch);
    pm_je_mallctl("epoch", &epoch, &len, &epoch, len);
    len = sizeof(size_t);
    snprintf(name, sizeof(name), "stats.arenas.%u.small.allocated", arena_index);
    if (pm_je_mallctl(name, &small, &len, NULL, 0) != 0)
        return 0;
    snprintf(name, sizeof(name), "stats.arenas.%u.large.allocated", arena_index);
    if (pm_je_mallctl(name, &large, &len, NULL, 0) != 0)
        return 0;
    return small + large;
}
