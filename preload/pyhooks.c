/* SPDX-License-Identifier: MIT */
/* PyMem hooks: forward to the wrapped allocator with the guard held (pymalloc falls back to RAW
 * and libc: count once, at the outermost layer, at the size the caller asked for), then record. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>

#include "alloc.h"
#include "pyapi.h"
#include "pyhooks.h"
#include "pystack.h"
#include "real.h"
#include "tracker.h"

struct pm_pydomain {
    PyMemAllocatorDomain domain;
    enum pm_kind kind;
    PyMemAllocatorEx orig;
};

static struct pm_pydomain *installed[3];
static void *libc_owned;

void
pm_pyhooks_free_with_libc(void *p)
{
    libc_owned = p;
}

static void *
py_malloc(void *ctx, size_t size)
{
    struct pm_pydomain *d = ctx;

    if (!pm_should_track())
        return d->orig.malloc(d->orig.ctx, size);
    pm_guard_enter();
    void *p = d->orig.malloc(d->orig.ctx, size);
    pm_guard_leave();
    if (p)
        pm_track_alloc(p, size, d->kind);
    return p;
}

static void *
py_calloc(void *ctx, size_t n, size_t size)
{
    struct pm_pydomain *d = ctx;

    if (!pm_should_track())
        return d->orig.calloc(d->orig.ctx, n, size);
    pm_guard_enter();
    void *p = d->orig.calloc(d->orig.ctx, n, size);
    pm_guard_leave();
    if (p)
        pm_track_alloc(p, n * size, d->kind);
    return p;
}

static void *
py_realloc(void *ctx, void *p, size_t size)
{
    struct pm_pydomain *d = ctx;
    struct pm_block_info info;
    bool taken;

    if (!pm_should_track())
        return d->orig.realloc(d->orig.ctx, p, size);
    taken = p && pm_track_take(p, d->kind, &info);   /* before: p may be freed and reused inside */
    pm_guard_enter();
    void *q = d->orig.realloc(d->orig.ctx, p, size);
    pm_guard_leave();
    if (q)
        pm_track_alloc(q, size, d->kind);
    else if (taken)
        pm_track_restore(p, &info);
    return q;
}

static void
py_free(void *ctx, void *p)
{
    struct pm_pydomain *d = ctx;

    if (!p)
        return;
    if (PM_UNLIKELY(p == libc_owned)) {
        libc_owned = NULL;
        pm_real.free(p);
        return;
    }
    if (d->domain == PYMEM_DOMAIN_OBJ && atomic_load_explicit(&pm_tracking_on, memory_order_relaxed))
        pm_stackcache_note_free(p);
    if (pm_should_track()) {
        struct pm_block_info info;
        /* A raw block is forgotten before the real free: once freed, another thread may get
         * p back and record it. MEM and OBJ run under the GIL, so nothing can record a block
         * of their table at p meanwhile: theirs is forgotten after, and the free's work hides
         * the table's cache miss. */
        bool after = d->kind == PM_KIND_PYTHON;
        if (after)
            pm_track_prefetch_take(p, d->kind);
        else
            pm_track_take(p, d->kind, &info);
        pm_guard_enter();
        d->orig.free(d->orig.ctx, p);
        pm_guard_leave();
        if (after)
            pm_track_take(p, d->kind, &info);
        return;
    }
    d->orig.free(d->orig.ctx, p);
}

int
pm_pyhooks_install(void)
{
    static const struct {
        PyMemAllocatorDomain domain;
        enum pm_kind kind;
    } domains[] = {
        { PYMEM_DOMAIN_RAW, PM_KIND_RAW },
        { PYMEM_DOMAIN_MEM, PM_KIND_PYTHON },
        { PYMEM_DOMAIN_OBJ, PM_KIND_PYTHON },
    };

    for (size_t i = 0; i < ARRAY_SIZE(domains); i++) {
        struct pm_pydomain *d = pm_calloc(1, sizeof(*d));   /* fresh context, never freed */
        if (!d)
            return -ENOMEM;
        d->domain = domains[i].domain;
        d->kind = domains[i].kind;
        pm_py.PyMem_GetAllocator(d->domain, &d->orig);
        PyMemAllocatorEx hook = { d, py_malloc, py_calloc, py_realloc, py_free };
        pm_py.PyMem_SetAllocator(d->domain, &hook);
        installed[i] = d;
    }
    return 0;
}

int
pm_pyhooks_installed(void)
{
    PyMemAllocatorEx cur;

    pm_py.PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &cur);
    return installed[2] && cur.ctx == installed[2] && cur.malloc == py_malloc;
}
