/* SPDX-License-Identifier: MIT */
/* Error codes of lib/ (0 or negative: -errno or -PM_E*) and struct pm_diag for the detail. */
#pragma once

#include "pm.h"

enum pm_error {
    PM_EBASE = 10000,   /* above every errno value */
    PM_ESQLITE,         /* SQLite said no; the diag has its message */
    PM_ESCHEMA,         /* not a pymem file, or a schema version we do not know */
    PM_EFORMAT,         /* malformed input */
    PM_ENOTFOUND,       /* no such run, process or snapshot */
    PM_EBUSY,           /* another connection kept the file's write lock past the wait */
};

/* Fixed-size message buffer: usable from hooks and signal paths (no allocation). */
struct pm_diag {
    int code;
    char msg[256];
};

/* Human name of a code returned by lib/ (negative or positive). Never NULL. */
const char *pm_strerror(int code);

/* Stores code and a printf-formatted message in diag (NULL-safe). Returns code. */
int pm_diag_set(struct pm_diag *diag, int code, const char *fmt, ...) PM_PRINTF(3, 4);
