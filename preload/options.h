/* SPDX-License-Identifier: MIT */
/* PYMEM_* environment variables: one table of name, default and help. A bad value gets one
 * warning and the default. Read once, at start-up, only in Python processes. */
#pragma once

#include <stdbool.h>

/* Frames kept when PYMEM_DEPTH is unset (the stack capture's fixed buffers too) */
#define PM_DEFAULT_DEPTH 128u

struct pm_options {
    char output[4096];      /* PYMEM_OUTPUT, default "pymem.db" */
    double interval;        /* PYMEM_INTERVAL seconds, 0 = no periodic snapshots; default 10 */
    unsigned timeline_ms;   /* PYMEM_TIMELINE_MS, default 100 */
    unsigned depth;         /* PYMEM_DEPTH, default PM_DEFAULT_DEPTH, 2..1024 */
    int signal;             /* PYMEM_SIGNAL, 0 = none */
    bool disable;           /* PYMEM_DISABLE=1 */
};

extern struct pm_options pm_options;

/* Reads the environment into pm_options (and pm_log_level), warning about bad values. */
void pm_options_load(void);
