/* SPDX-License-Identifier: MIT */
/* Frames and stacks a forked child inherited before its parent had written them. Their ids are
 * the parent's (stackrows.h) and the parent writes them, so the child does not: each child of a
 * parent that forks several (black, a preforking server) would otherwise write the same rows
 * again (black: 0 to 26k stacks and up to 3.9k frames a worker, as the fork falls between two
 * of the parent's flushes). A child's final snapshot writes whichever are still missing, for a
 * parent that ended first without writing them. Writer thread and fork child handler only. */
#pragma once

#include <stdint.h>

#include "store.h"

/* In a forked child: stack indices [stacks_from, stacks_to) and frame indices
 * [frames_from, frames_to) were interned by an ancestor, which has not written them yet. */
void pm_inherited_note_fork(uint32_t stacks_from, uint32_t stacks_to, uint32_t frames_from,
                            uint32_t frames_to);

/* Writes the noted frames and stacks that are not in the file yet (this process's id is
 * `self`) and forgets them. Inside the writer's transaction. Returns 0 or a negative code. */
int pm_inherited_write_missing(struct pm_store *st, int64_t self);
