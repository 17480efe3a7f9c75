/* SPDX-License-Identifier: MIT */
/* Error names and struct pm_diag. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
pm_strerror(int code)
{
    if (code < 0)
        code = -code;
    switch (code) {
    case 0:
        return "success";
    case PM_ESQLITE:
        return "SQLite error";
    case PM_ESCHEMA:
        return "not a pymem profile of a known version";
    case PM_EFORMAT:
        return "malformed input";
    case PM_ENOTFOUND:
        return "not found";
    case PM_EBUSY:
        return "the file is locked by another writer";
    default:
        return code < PM_EBASE ? strerror(code) : "unknown error";
    }
}

int
pm_diag_set(struct pm_diag *diag, int code, const char *fmt, ...)
{
    va_list ap;

    if (!diag)
        return code;
    diag->code = code;
    va_start(ap, fmt);
    vsnprintf(diag->msg, sizeof(diag->msg), fmt, ap);
    va_end(ap);
    return code;
}
