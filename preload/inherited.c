/* SPDX-License-Identifier: MIT */
#include "inherited.h"

#include "log.h"
#include "stackrows.h"
#include "tracker.h"

/* Spans of indices; a deeper fork chain than this merges its last spans (the rows between are
 * in the file already and are only checked again). */
#define MAX_SPANS 16

struct span {
    uint32_t from, to;
};

static struct span stacks[MAX_SPANS], frames[MAX_SPANS];
static int n_stack_spans, n_frame_spans;

static void
note(struct span *v, int *n, uint32_t from, uint32_t to)
{
    if (from >= to)
        return;
    if (*n == MAX_SPANS)
        v[*n - 1].to = to;
    else
        v[(*n)++] = (struct span){ from, to };
}

void
pm_inherited_note_fork(uint32_t stacks_from, uint32_t stacks_to, uint32_t frames_from,
                       uint32_t frames_to)
{
    note(stacks, &n_stack_spans, stacks_from, stacks_to);
    note(frames, &n_frame_spans, frames_from, frames_to);
}

/* Writes the noted stacks that their owner has not. An owner writes its stacks in index order,
 * which is id order (stackrows.h), and all of them: those up to the largest id of its range in
 * the file are there. Counts in *missing those that were not. */
static int
write_stacks(struct pm_store *st, int64_t self, uint32_t *missing)
{
    struct pm_stacktab *t = &pm_tracker.stacks;
    int64_t owner = -1, written = 0;
    int rc = 0;

    for (int k = 0; k < n_stack_spans; k++) {
        for (uint32_t i = stacks[k].from; i < stacks[k].to && rc == 0; i++) {
            int64_t id = pm_stackrows_id(i, self);
            if (id >> 32 != owner) {
                owner = id >> 32;
                if ((rc = pm_store_max_stack_id(st, owner << 32, owner << 32 | UINT32_MAX,
                                                &written)) < 0)
                    return rc;
            }
            if (id <= written)
                continue;
            const struct pm_stack_rec *s = pm_stacktab_stack_at(t, i);
            ++*missing;
            rc = pm_store_add_stack(st, id, s->parent ? pm_stackrows_id(s->parent, self) : 0,
                                    pm_stacktab_frame_at(t, s->frame)->id, (int)s->depth, s->key);
        }
    }
    return rc;
}

/* Frames go out with the stacks of the same flush: if the owner has written the stacks, it has
 * written the frames noted with them. Otherwise each is inserted (a no-op where it exists). */
static int
write_frames(struct pm_store *st)
{
    struct pm_stacktab *t = &pm_tracker.stacks;
    int rc = 0;

    for (int k = 0; k < n_frame_spans; k++) {
        for (uint32_t i = frames[k].from; i < frames[k].to && rc == 0; i++) {
            const struct pm_frame_rec *f = pm_stacktab_frame_at(t, i);
            rc = pm_store_add_frame(st, f->id, f->file, f->function, f->line);
        }
    }
    return rc;
}

int
pm_inherited_write_missing(struct pm_store *st, int64_t self)
{
    uint32_t missing = 0;
    int rc = write_stacks(st, self, &missing);

    if (rc == 0 && (missing || !n_stack_spans))
        rc = write_frames(st);
    if (missing)
        pm_debug("wrote %u stacks its parent had not written", missing);
    if (rc == 0)
        n_stack_spans = n_frame_spans = 0;
    return rc;
}
