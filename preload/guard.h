/* SPDX-License-Identifier: MIT */
/* The per-thread reentrancy depth: non-zero while this thread runs pymem code, or is a pymem
 * thread. Every hook checks it first; initial-exec TLS so reading it never allocates.
 *
 * A SIGTERM that lands while the thread runs pymem code waits until the thread leaves it: that
 * code may hold a lock (pymem's allocator, say) that the writer needs for the final snapshot
 * the signal asks for, and the handler waits for that snapshot. */
#pragma once

#include <signal.h>
#include <stdbool.h>

#include "pm.h"

extern _Thread_local unsigned pm_guard_depth PM_TLS_IE;
extern _Thread_local volatile sig_atomic_t pm_deferred_signal PM_TLS_IE;  /* 0 = none */

/* Handles pm_deferred_signal (lifecycle.c): the final snapshot, then the signal's default. */
void pm_handle_deferred_signal(void);

static inline bool pm_guard_active(void) { return pm_guard_depth != 0; }
static inline void pm_guard_enter(void) { pm_guard_depth++; }

static inline void
pm_guard_leave(void)
{
    if (--pm_guard_depth == 0 && PM_UNLIKELY(pm_deferred_signal))
        pm_handle_deferred_signal();
}
