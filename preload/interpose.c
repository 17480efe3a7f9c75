/* SPDX-License-Identifier: MIT */
/* The malloc family, interposed: forward to the next definition, then record (DESIGN §2.2, §2.5).
 * Every body has the same shape; the guard makes nested calls from pymem or from Python's own
 * allocator (already counted by a PyMem hook) pass straight through. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "pyhooks.h"
#include "real.h"
#include "tracker.h"

#define READY() (PM_LIKELY(__atomic_load_n(&pm_real.malloc, __ATOMIC_ACQUIRE) != NULL))

static inline void
ensure_real(void)
{
    if (!READY())
        pm_real_init();
}

PM_EXPORT void *
malloc(size_t size)
{
    if (!READY()) {
        if (pm_real_resolving)
            return pm_boot_alloc(size, 16);
        pm_real_init();
    }
    if (PM_UNLIKELY(!pm_real_malloc_called))
        pm_real_malloc_called = true;
    void *p = pm_real.malloc(size);
    if (p && pm_should_track())
        pm_track_alloc(p, size, PM_KIND_NATIVE);
    return p;
}

PM_EXPORT void *
calloc(size_t n, size_t size)
{
    size_t total;

    if (!READY()) {
        if (pm_real_resolving)
            return __builtin_mul_overflow(n, size, &total) ? NULL : pm_boot_alloc(total, 16);
        pm_real_init();
    }
    void *p = pm_real.calloc(n, size);
    if (p && pm_should_track())
        pm_track_alloc(p, n * size, PM_KIND_NATIVE);
    return p;
}

PM_EXPORT void
free(void *p)
{
    if (!p || PM_UNLIKELY(pm_boot_owns(p)))
        return;     /* bootstrap blocks are never freed */
    ensure_real();
    if (pm_pyhooks_inband && !pm_guard_active() && pm_pyhooks_free_foreign(p))
        return;     /* a PyMem/PyObject block: its domain frees it */
    if (pm_should_track()) {
        struct pm_block_info info;
        pm_track_take(p, PM_KIND_NATIVE, &info);    /* first: the address can be reused at once */
    }
    pm_real.free(p);
}

static void *
realloc_from_boot(void *p, size_t size)
{
    size_t old = pm_boot_size(p);
    void *q = malloc(size);

    if (q)
        memcpy(q, p, old < size ? old : size);
    return q;
}

PM_EXPORT void *
realloc(void *p, size_t size)
{
    struct pm_block_info info;
    bool taken = false;

    if (!p)
        return malloc(size);
    if (PM_UNLIKELY(pm_boot_owns(p)))
        return realloc_from_boot(p, size);
    ensure_real();
    if (pm_pyhooks_inband && !pm_guard_active()) {
        bool handled;
        void *q = pm_pyhooks_realloc_foreign(p, size, &handled);
        if (handled)
            return q;   /* a PyMem/PyObject block: its domain reallocates it */
    }
    if (!pm_should_track())
        return pm_real.realloc(p, size);
    taken = pm_track_take(p, PM_KIND_NATIVE, &info);     /* before: p may be freed and reused inside */
    void *q = pm_real.realloc(p, size);
    if (q)
        pm_track_alloc(q, size, PM_KIND_NATIVE);
    else if (size && taken)
        pm_track_restore(p, &info);
    return q;
}

PM_EXPORT void *
reallocarray(void *p, size_t n, size_t size)
{
    size_t total;

    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

PM_EXPORT int
posix_memalign(void **out, size_t align, size_t size)
{
    if (!READY()) {
        if (pm_real_resolving) {
            *out = pm_boot_alloc(size, align);
            return 0;
        }
        pm_real_init();
    }
    int rc = pm_real.posix_memalign(out, align, size);
    if (rc == 0 && pm_should_track())
        pm_track_alloc(*out, size, PM_KIND_NATIVE);
    return rc;
}

#define ALIGNED_HOOK(name, params, call, size_expr)     \
    PM_EXPORT void *name params                          \
    {                                                    \
        ensure_real();                                   \
        void *p = pm_real.call;                          \
        if (p && pm_should_track())                      \
            pm_track_alloc(p, size_expr, PM_KIND_NATIVE); \
        return p;                                        \
    }

ALIGNED_HOOK(aligned_alloc, (size_t align, size_t size), aligned_alloc(align, size), size)
ALIGNED_HOOK(memalign, (size_t align, size_t size), memalign(align, size), size)
ALIGNED_HOOK(valloc, (size_t size), valloc(size), size)
ALIGNED_HOOK(pvalloc, (size_t size), pvalloc(size), size)

PM_EXPORT size_t
malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (pm_boot_owns(p))
        return pm_boot_size(p);
    ensure_real();
    return pm_real.malloc_usable_size(p);
}
