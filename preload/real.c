/* SPDX-License-Identifier: MIT */
/* dlsym(RTLD_NEXT) resolution of the interposed functions, and the bootstrap arena. */
#include "real.h"

#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

struct pm_real_fns pm_real;
bool pm_real_resolving;

/* dlsym's own allocations (dlerror buffers) arrive here before malloc is known. */
static _Alignas(64) unsigned char boot_arena[64 * 1024];
static size_t boot_used;

void *
pm_boot_alloc(size_t size, size_t align)
{
    uintptr_t base = (uintptr_t)boot_arena, p;

    if (align < 16)
        align = 16;
    p = (base + boot_used + 16 + align - 1) & ~(uintptr_t)(align - 1);  /* 16-byte size header */
    if (p + size > base + sizeof(boot_arena)) {
        static const char msg[] = "pymem: bootstrap arena exhausted\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(127);
    }
    ((size_t *)p)[-1] = size;
    boot_used = p + size - base;
    return (void *)p;   /* static storage: already zero */
}

bool
pm_boot_owns(const void *p)
{
    return (const unsigned char *)p >= boot_arena &&
           (const unsigned char *)p < boot_arena + sizeof(boot_arena);
}

size_t
pm_boot_size(const void *p)
{
    return ((const size_t *)p)[-1];
}

static void *
must(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);

    if (!f) {
        static const char msg[] = "pymem: cannot find the next malloc in the chain\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(127);
    }
    return f;
}

void
pm_real_init(void)
{
    if (pm_real_resolving)
        return;
    pm_real_resolving = true;
    pm_real.calloc = must("calloc");
    pm_real.realloc = must("realloc");
    pm_real.posix_memalign = must("posix_memalign");
    pm_real.aligned_alloc = must("aligned_alloc");
    pm_real.memalign = must("memalign");
    pm_real.valloc = must("valloc");
    pm_real.pvalloc = must("pvalloc");
    pm_real.malloc_usable_size = must("malloc_usable_size");
    pm_real.exit = must("exit");
    pm_real._exit = must("_exit");
    pm_real._Exit = must("_Exit");
    pm_real.execve = must("execve");
    pm_real.execvpe = must("execvpe");
    pm_real.fexecve = must("fexecve");
    pm_real.kill = must("kill");
    pm_real.raise = must("raise");
    pm_real.free = must("free");
    __atomic_store_n(&pm_real.malloc, must("malloc"), __ATOMIC_RELEASE);   /* last: "ready" */
    pm_real_resolving = false;
}

bool pm_real_malloc_called;

static bool
in_libc(void *fn)
{
    Dl_info info;
    const char *slash;

    if (!fn || !dladdr(fn, &info) || !info.dli_fname)
        return false;
    slash = strrchr(info.dli_fname, '/');
    return strncmp(slash ? slash + 1 : info.dli_fname, "libc.so", 7) == 0;
}

bool
pm_real_malloc_is_libc(void)
{
    return pm_real_malloc_called && in_libc((void *)pm_real.malloc);
}
