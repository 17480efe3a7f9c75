/* SPDX-License-Identifier: MIT */
/* The name index (see nameset.h). */
#include "nameset.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"

/* FNV-1a over file, a separator and function, then the line. */
static uint64_t
name_hash(struct pm_name n)
{
    uint64_t h = 0xcbf29ce484222325u ^ (uint64_t)n.line;

    for (const char *c = n.file; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3u;
    h = (h ^ 0xff) * 0x100000001b3u;
    for (const char *c = n.function; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3u;
    return h ^ (h >> 29);
}

static int
grow(struct pm_nameset *s, size_t n, pm_name_of_fn name_of, const void *ctx)
{
    size_t cap = s->cap ? 2 * s->cap : 1024;
    uint32_t *slot = pm_malloc(cap * sizeof(*slot));

    if (!slot)
        return -ENOMEM;
    memset(slot, 0xff, cap * sizeof(*slot));        /* PM_NAMESET_NONE */
    for (size_t j = 0; j < n; j++) {
        size_t i = name_hash(name_of(ctx, (uint32_t)j)) & (cap - 1);
        while (slot[i] != PM_NAMESET_NONE)
            i = (i + 1) & (cap - 1);
        slot[i] = (uint32_t)j;
    }
    pm_free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return 0;
}

int
pm_nameset_find(struct pm_nameset *s, size_t n, struct pm_name name, pm_name_of_fn name_of,
                const void *ctx, uint32_t *found, size_t *hole)
{
    size_t i;

    if (2 * (n + 1) > s->cap && grow(s, n, name_of, ctx) < 0)
        return -ENOMEM;
    for (i = name_hash(name) & (s->cap - 1); s->slot[i] != PM_NAMESET_NONE;
         i = (i + 1) & (s->cap - 1)) {
        struct pm_name x = name_of(ctx, s->slot[i]);
        if (x.line == name.line && strcmp(x.file, name.file) == 0 &&
            strcmp(x.function, name.function) == 0) {
            *found = s->slot[i];
            return 0;
        }
    }
    *found = PM_NAMESET_NONE;
    *hole = i;
    return 0;
}

void
pm_nameset_release(struct pm_nameset *s)
{
    pm_free(s->slot);
    *s = (struct pm_nameset){0};
}
