/* Native allocations for progs/native.py (compiled by test_native.py with gcc; loaded with ctypes).
 * Every function allocates exactly the size it is asked for and touches it. */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *touch(void *p, size_t n) { if (p) memset(p, 1, n); return p; }

void *pm_malloc(size_t n) { return touch(malloc(n), n); }
void *pm_calloc(size_t n) { return calloc(n / 16, 16); }
void *pm_realloc_grow(size_t n)
{
    void *p = malloc(16);
    for (size_t s = 4096; s < n; s *= 2)
        p = realloc(p, s);
    return touch(realloc(p, n), n);
}
void *pm_reallocarray(size_t n) { return touch(reallocarray(NULL, n / 8, 8), n); }
void *pm_posix_memalign(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, n))
        return NULL;
    return touch(p, n);
}
void *pm_aligned_alloc(size_t n) { return touch(aligned_alloc(65536, n), n); }
void *pm_memalign(size_t n) { return touch(memalign(256, n), n); }
void *pm_valloc(size_t n) { return touch(valloc(n), n); }
void *pm_pvalloc(size_t n) { return touch(pvalloc(n), n); }
void pm_free(void *p) { free(p); }

/* A thread with no Python thread state allocates and keeps the block. */
static void *kept_by_native_thread;
static void *native_main(void *arg)
{
    size_t n = (size_t)arg;
    kept_by_native_thread = touch(malloc(n), n);
    return NULL;
}
int pm_native_thread(size_t n)
{
    pthread_t t;
    if (pthread_create(&t, NULL, native_main, (void *)n))
        return -1;
    return pthread_join(t, NULL);
}

/* Free, from a native thread, a block the caller allocated. */
static void *free_main(void *p) { free(p); return NULL; }
int pm_free_in_thread(void *p)
{
    pthread_t t;
    if (pthread_create(&t, NULL, free_main, p))
        return -1;
    return pthread_join(t, NULL);
}
