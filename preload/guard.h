/* SPDX-License-Identifier: MIT */
/* The per-thread reentrancy depth: non-zero while this thread runs pymem code, or is a pymem
 * thread. Every hook checks it first; initial-exec TLS so reading it never allocates. */
#pragma once

#include <stdbool.h>

#include "pm.h"

extern _Thread_local unsigned pm_guard_depth PM_TLS_IE;

static inline bool pm_guard_active(void) { return pm_guard_depth != 0; }
static inline void pm_guard_enter(void) { pm_guard_depth++; }
static inline void pm_guard_leave(void) { pm_guard_depth--; }
