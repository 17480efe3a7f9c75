/* SPDX-License-Identifier: MIT */
/* Attribute macros and tiny helpers shared by every part of pymem. */
#pragma once

#include <stddef.h>

#define PM_EXPORT __attribute__((visibility("default")))
#define PM_HIDDEN __attribute__((visibility("hidden")))
#define PM_COLD __attribute__((cold, noinline))
#define PM_UNUSED __attribute__((unused))
#define PM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PM_LIKELY(x) __builtin_expect(!!(x), 1)
#define PM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PM_TLS_IE __attribute__((tls_model("initial-exec")))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Returns *pp and sets it to NULL: marks a transfer of ownership. */
static inline void *
pm_steal(void *pp)
{
    void **p = pp;
    void *v = *p;
    *p = NULL;
    return v;
}
