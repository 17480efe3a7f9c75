/* SPDX-License-Identifier: MIT */
/* The next definitions of the functions we interpose (libc's, normally), found with
 * dlsym(RTLD_NEXT) on first use from any entry point, and a static bootstrap arena that serves
 * the allocations dlsym itself makes meanwhile. Hook-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pm_real_fns {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    void (*exit)(int) __attribute__((noreturn));
    void (*_exit)(int) __attribute__((noreturn));
    void (*_Exit)(int) __attribute__((noreturn));
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    int (*kill)(pid_t, int);
    int (*raise)(int);
};

extern struct pm_real_fns pm_real;

/* Resolves every pm_real member; aborts with a message if libc's allocator is not found. */
void pm_real_init(void);

/* Set by our malloc on its first call: the program's malloc is ours (no allocator preloaded
 * before us). */
extern bool pm_real_malloc_called;

/* Whether the program's malloc is ours and the next one glibc's (no other allocator preloaded
 * before or after us), whose blocks always have a chunk header in front of them. Calls dladdr:
 * not from an allocation hook. */
bool pm_real_malloc_is_libc(void);

/* Bootstrap arena: used only while pm_real_init runs. Blocks are never freed. */
void *pm_boot_alloc(size_t size, size_t align);
bool pm_boot_owns(const void *p);
size_t pm_boot_size(const void *p);
extern bool pm_real_resolving;
