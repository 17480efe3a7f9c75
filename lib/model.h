/* SPDX-License-Identifier: MIT */
/* The data model shared by the shim and the viewer: allocator kinds and counter sets. */
#pragma once

#include <stdint.h>

/* Where a block came from. Python = PyMem_Malloc/PyObject_Malloc (MEM, OBJ domains),
 * raw = PyMem_RawMalloc, native = malloc & co. called from C code. */
#define PM_KINDS(X) \
    X(PYTHON, "python") \
    X(RAW, "raw") \
    X(NATIVE, "native")

enum pm_kind {
#define PM_KIND_ENUM(name, text) PM_KIND_##name,
    PM_KINDS(PM_KIND_ENUM)
#undef PM_KIND_ENUM
    PM_KIND_COUNT
};

/* Live bytes and blocks, split by kind. */
struct pm_counts {
    int64_t bytes[PM_KIND_COUNT];
    int64_t blocks[PM_KIND_COUNT];
};

/* Snapshot kinds, as written in snapshot.kind. */
#define PM_SNAPSHOT_KINDS(X) \
    X(PEAK, "peak") \
    X(PERIODIC, "periodic") \
    X(SIGNAL, "signal") \
    X(MANUAL, "manual") \
    X(FINAL, "final")

enum pm_snapshot_kind {
#define PM_SNAP_ENUM(name, text) PM_SNAPSHOT_##name,
    PM_SNAPSHOT_KINDS(PM_SNAP_ENUM)
#undef PM_SNAP_ENUM
};

/* Text of a kind, as stored in the file. */
const char *pm_kind_name(enum pm_kind kind);
const char *pm_snapshot_kind_name(enum pm_snapshot_kind kind);

static inline int64_t
pm_counts_bytes(const struct pm_counts *c)
{
    return c->bytes[0] + c->bytes[1] + c->bytes[2];
}

static inline int64_t
pm_counts_blocks(const struct pm_counts *c)
{
    return c->blocks[0] + c->blocks[1] + c->blocks[2];
}
