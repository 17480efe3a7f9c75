/* SPDX-License-Identifier: MIT */
/* Stack rows one process of a fork tree wrote, found by the others. Forked workers (black's, a
 * preforking server's) meet the same new stacks, and each wrote its own row for them under its
 * own id (black: ~44k stack rows a worker, most of them its sibling's too). A table in memory
 * shared by the whole tree (MAP_SHARED, made at the first fork and inherited by every forked
 * descendant) maps a stack's content key to the id of a row already committed to the file; a
 * process about to write a stack that another one committed names it by that id instead.
 * Entries are published only after the transaction that wrote the row has committed, so an id
 * found always names a row in the file. A full table only stops the sharing. Writer threads and
 * fork handlers only. */
#pragma once

#include <stdint.h>

/* Makes the table if this process has none (fork prepare handler: before the first fork). */
void pm_sharedstacks_create(void);

/* The id of a committed stack row with this content key, or 0. */
int64_t pm_sharedstacks_find(uint64_t key);

/* Publishes that the row of stack `key` is committed under `id` (the first one published
 * stays). */
void pm_sharedstacks_publish(uint64_t key, int64_t id);
