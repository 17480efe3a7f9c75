/* SPDX-License-Identifier: MIT */
/* Names of the model's enums. */
#include "model.h"

const char *
pm_kind_name(enum pm_kind kind)
{
    static const char *const names[] = {
#define PM_KIND_TEXT(name, text) text,
        PM_KINDS(PM_KIND_TEXT)
#undef PM_KIND_TEXT
    };
    return (unsigned)kind < PM_KIND_COUNT ? names[kind] : "?";
}

const char *
pm_snapshot_kind_name(enum pm_snapshot_kind kind)
{
    static const char *const names[] = {
#define PM_SNAP_TEXT(name, text) text,
        PM_SNAPSHOT_KINDS(PM_SNAP_TEXT)
#undef PM_SNAP_TEXT
    };
    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}
