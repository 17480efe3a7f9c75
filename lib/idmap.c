/* SPDX-License-Identifier: MIT */
/* See idmap.h. */
#include "idmap.h"

#include <errno.h>

#include "alloc.h"

/* The slot holding id, or the empty slot where it would go. */
static size_t
find(const struct pm_idmap_slot *slot, size_t cap, int64_t id)
{
    size_t i = pm_idmap_slot_of(id, cap);

    while (slot[i].v != PM_IDMAP_NONE && slot[i].id != id)
        i = (i + 1) & (cap - 1);
    return i;
}

uint32_t
pm_idmap_get(const struct pm_idmap *m, int64_t id)
{
    return m->cap ? m->slot[find(m->slot, m->cap, id)].v : PM_IDMAP_NONE;
}

static int
grow(struct pm_idmap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 1024;
    struct pm_idmap_slot *slot = pm_malloc(cap * sizeof(*slot));

    if (!slot)
        return -ENOMEM;
    for (size_t i = 0; i < cap; i++)
        slot[i].v = PM_IDMAP_NONE;
    for (size_t j = 0; j < m->cap; j++)
        if (m->slot[j].v != PM_IDMAP_NONE)
            slot[find(slot, cap, m->slot[j].id)] = m->slot[j];
    pm_free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return 0;
}

int
pm_idmap_put(struct pm_idmap *m, int64_t id, uint32_t v)
{
    size_t i;

    if (2 * (m->n + 1) > m->cap && grow(m) < 0)
        return -ENOMEM;
    i = find(m->slot, m->cap, id);
    m->n += m->slot[i].v == PM_IDMAP_NONE;
    m->slot[i] = (struct pm_idmap_slot){.id = id, .v = v};
    return 0;
}

void
pm_idmap_release(struct pm_idmap *m)
{
    pm_free(m->slot);
    *m = (struct pm_idmap){0};
}
