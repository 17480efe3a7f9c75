/* SPDX-License-Identifier: MIT */
/* PyMem hooks: forward to the wrapped allocator with the guard held (pymalloc falls back to RAW
 * and libc: count once, at the outermost layer, at the size the caller asked for), then record. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "blockhdr.h"
#include "log.h"
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
static void (*program_free)(void *);    /* the free() of the malloc that made libc_owned */

void
pm_pyhooks_free_with_libc(void *p)
{
    libc_owned = p;
    /* The program's free, not the next one after ours: with another malloc preloaded before
     * pymem, that one made p (glibc's free aborted on it: "free(): invalid pointer"). */
    *(void **)&program_free = dlsym(RTLD_DEFAULT, "free");
    if (!program_free)
        program_free = pm_real.free;
}

/* Frees p with the program's free if it is the pointer handed to pm_pyhooks_free_with_libc. */
static inline bool
freed_with_libc(void *p)
{
    if (p != libc_owned)
        return false;
    libc_owned = NULL;
    program_free(p);
    return true;
}

/* ---- MEM and OBJ with in-band records (blockhdr.h): chosen at the first install ---- */

bool pm_pyhooks_inband;

static inline uint32_t
domain_bit(const struct pm_pydomain *d)
{
    return d->domain == PYMEM_DOMAIN_OBJ;
}

/* Counts a new block (base from the wrapped allocator, NULL if it failed) on stack and writes its
 * record. Guard held. */
static inline void *
counted(const struct pm_pydomain *d, void *base, size_t size, uint32_t stack)
{
    struct pm_blockrec r = { stack, domain_bit(d), size };

    if (!base)
        return NULL;
    pm_track_count(stack, pm_blockhdr_clamp(size), PM_KIND_PYTHON, +1);
    return pm_blockhdr_write(base, &r);
}

/* Counts a block from before the hooks that a realloc gave a record (guard clear). */
static inline void *
record(const struct pm_pydomain *d, void *base, size_t size)
{
    struct pm_blockrec r = { pm_track_count_alloc(pm_blockhdr_clamp(size), PM_KIND_PYTHON),
                             domain_bit(d), size };

    return pm_blockhdr_write(base, &r);
}

static void *
inband_malloc(void *ctx, size_t size)
{
    struct pm_pydomain *d = ctx;

    if (!pm_should_track() || size > SIZE_MAX - PM_BLOCKHDR_SIZE)
        return d->orig.malloc(d->orig.ctx, size);
    /* The stack first: its counters' line then loads while the allocator runs. */
    pm_guard_enter();
    uint32_t stack = pm_track_capture();
    void *user = counted(d, d->orig.malloc(d->orig.ctx, size + PM_BLOCKHDR_SIZE), size, stack);
    pm_guard_leave();
    return user;
}

static void *
inband_calloc(void *ctx, size_t n, size_t size)
{
    struct pm_pydomain *d = ctx;
    size_t total;

    if (!pm_should_track() || __builtin_mul_overflow(n, size, &total) ||
        total > SIZE_MAX - PM_BLOCKHDR_SIZE)
        return d->orig.calloc(d->orig.ctx, n, size);
    pm_guard_enter();
    uint32_t stack = pm_track_capture();
    void *user = counted(d, d->orig.calloc(d->orig.ctx, 1, total + PM_BLOCKHDR_SIZE), total, stack);
    pm_guard_leave();
    return user;
}

static void *
inband_realloc(void *ctx, void *p, size_t size)
{
    struct pm_pydomain *d = ctx;
    struct pm_blockrec r;

    if (!p)
        return inband_malloc(ctx, size);
    if (size > SIZE_MAX - PM_BLOCKHDR_SIZE)
        return NULL;
    if (!pm_blockhdr_read(p, &r)) {
        if (!pm_should_track())
            return d->orig.realloc(d->orig.ctx, p, size);
        /* A block from before our hooks: grown by a record's room and its bytes shifted up (the
         * first `size` of them are all a realloc keeps), it is tracked from now on. */
        pm_guard_enter();
        void *base = d->orig.realloc(d->orig.ctx, p, size + PM_BLOCKHDR_SIZE);
        pm_guard_leave();
        if (!base)
            return NULL;
        memmove((char *)base + PM_BLOCKHDR_SIZE, base, size);
        return record(d, base, size);
    }
    pm_guard_enter();
    void *base = d->orig.realloc(d->orig.ctx, (char *)p - PM_BLOCKHDR_SIZE, size + PM_BLOCKHDR_SIZE);
    pm_guard_leave();
    if (!base)
        return NULL;    /* p is untouched, record and all */
    /* Once a block has a record it keeps one (its free must find it), counted or not. */
    struct pm_blockrec moved = { r.stack, r.domain, size };
    if (atomic_load_explicit(&pm_tracking_on, memory_order_relaxed)) {
        pm_track_count(r.stack, r.size, PM_KIND_PYTHON, -1);
        if (pm_guard_active())
            pm_track_count(r.stack, pm_blockhdr_clamp(size), PM_KIND_PYTHON, +1);
        else
            moved.stack = pm_track_count_alloc(pm_blockhdr_clamp(size), PM_KIND_PYTHON);
    }
    return pm_blockhdr_write(base, &moved);
}

static void
inband_free(void *ctx, void *p)
{
    struct pm_pydomain *d = ctx;
    struct pm_blockrec r;

    if (!p || PM_UNLIKELY(freed_with_libc(p)))
        return;
    if (d->domain == PYMEM_DOMAIN_OBJ && atomic_load_explicit(&pm_tracking_on, memory_order_relaxed))
        pm_stackcache_note_free(p);
    if (!pm_blockhdr_read(p, &r)) {
        d->orig.free(d->orig.ctx, p);
        return;
    }
    /* Counted after the wrapped free, so that the counters' line loads while it runs. */
    bool on = atomic_load_explicit(&pm_tracking_on, memory_order_relaxed);
    if (on)
        pm_track_prefetch_counts(r.stack);
    void *base = pm_blockhdr_release(p);
    pm_guard_enter();
    installed[1 + r.domain]->orig.free(installed[1 + r.domain]->orig.ctx, base);
    if (on)
        pm_track_count(r.stack, r.size, PM_KIND_PYTHON, -1);
    pm_guard_leave();
}

bool
pm_pyhooks_free_foreign(void *p)
{
    struct pm_blockrec r;

    if (!pm_blockhdr_read(p, &r))
        return false;
    inband_free(installed[1 + r.domain], p);
    return true;
}

void *
pm_pyhooks_realloc_foreign(void *p, size_t size, bool *handled)
{
    struct pm_blockrec r;

    *handled = pm_blockhdr_read(p, &r);
    return *handled ? inband_realloc(installed[1 + r.domain], p, size) : NULL;
}

/* ---- RAW, and MEM and OBJ without in-band records: the live table ---- */

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
    bool taken, handled;

    if (p && pm_pyhooks_inband && d->kind == PM_KIND_RAW) {
        void *q = pm_pyhooks_realloc_foreign(p, size, &handled);  /* PyMem_RawRealloc of a MEM block */
        if (handled)
            return q;
    }
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

    if (!p || PM_UNLIKELY(freed_with_libc(p)))
        return;
    if (pm_pyhooks_inband && d->kind == PM_KIND_RAW && pm_pyhooks_free_foreign(p))
        return;     /* PyMem_RawFree of a MEM block */
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

/* In-band records only over CPython's own allocators (pymalloc or malloc, with or without the
 * debug hooks) on glibc's malloc, whose blocks are 16-byte aligned and always have readable
 * bytes in front of them (a pool's, a chunk header): not over a custom allocator or another
 * malloc preloaded before us (a block at the start of a page could have nothing mapped in
 * front), nor over tracemalloc started before us (-X tracemalloc), whose stop() puts back the
 * allocators it saw at start. */
static bool
inband_allocator(void)
{
    static const char *const known[] = { "pymalloc", "pymalloc_debug", "malloc", "malloc_debug" };
    const char *name = pm_py.current_allocator_name ? pm_py.current_allocator_name() : NULL;

    if (!pm_real_malloc_is_libc())
        return false;

    for (size_t i = 0; name && i < ARRAY_SIZE(known); i++)
        if (strcmp(name, known[i]) == 0)
            return true;
    return false;
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

    static bool chosen;

    if (!chosen) {  /* once: blocks with records must always be freed by the in-band hooks */
        chosen = true;
        pm_pyhooks_inband = inband_allocator();
        pm_blockhdr_init_key();
        pm_debug(pm_pyhooks_inband ? "MEM and OBJ blocks: in-band records"
                                   : "MEM and OBJ blocks: the live table (allocator not CPython's "
                                     "own on glibc's malloc)");
    }
    for (size_t i = 0; i < ARRAY_SIZE(domains); i++) {
        struct pm_pydomain *d = pm_calloc(1, sizeof(*d));   /* fresh context, never freed */
        if (!d)
            return -ENOMEM;
        d->domain = domains[i].domain;
        d->kind = domains[i].kind;
        pm_py.PyMem_GetAllocator(d->domain, &d->orig);
        bool inband = pm_pyhooks_inband && d->kind == PM_KIND_PYTHON;
        PyMemAllocatorEx hook = { d, inband ? inband_malloc : py_malloc,
                                  inband ? inband_calloc : py_calloc,
                                  inband ? inband_realloc : py_realloc,
                                  inband ? inband_free : py_free };
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
