/* SPDX-License-Identifier: MIT */
/* Stack ids in the file: (process id << 32) | stack index, for the process that interned the
 * stack. They grow with the index, so the writer's stack rows append to the table's B-tree:
 * content-hash ids put every batch all over it, so that each flush rewrote every page (black:
 * 2.70x -> 2.49x plain, 7 interleaved rounds). A forked child keeps its parent's ids for the
 * stacks it inherited, written or not yet (the parent writes those; see inherited.h), and gives
 * its own from the index it was forked at. Process ids grow along
 * a fork chain, so ids still grow with the index. Writer thread and fork child handler only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The id of stack index idx (> 0) in this process, whose process id is `self`. */
int64_t pm_stackrows_id(uint32_t idx, int64_t self);

/* Stack index idx, not written yet, is named by `id`: a row another process of the tree has
 * committed (sharedstacks.h). Returns 0, or -ENOMEM (the stack then keeps its own id). */
int pm_stackrows_share(uint32_t idx, int64_t id);

/* Whether idx is named by another process's row. */
bool pm_stackrows_is_shared(uint32_t idx);

/* In a forked child (no other thread runs): stacks below n_stacks were interned by the parent
 * (process id `parent`; 0 if it had none yet: the child then gives them ids of its own). */
void pm_stackrows_after_fork(uint32_t n_stacks, int64_t parent);
