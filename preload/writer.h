/* SPDX-License-Identifier: MIT */
/* The background writer: the only thread that touches SQLite. It owns the store, registers the
 * process, and writes timeline points, snapshots (periodic, peak, signal, final) and the end of
 * the process, each batch in one transaction. Its thread holds the guard for life and has every
 * signal blocked. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"

/* Who this process is, filled by lifecycle.c before pm_writer_start. */
struct pm_identity {
    pid_t pid, ppid;
    char argv_json[8192];
    char executable[1024];
    char python_version[64];
    double start_wall;      /* unix seconds */
    double start_mono;      /* CLOCK_MONOTONIC seconds */
    long long parent_id;    /* process row of the forking parent; 0 = look it up */
    long long run_id;
};

extern struct pm_identity pm_identity;

/* Starts the writer thread; it opens the file and registers the process. When wait is set,
 * returns only after that, with 0 or a negative code (the warning is already printed). */
int pm_writer_start(bool wait);

/* Writes the final snapshot (once) and, when reason is not NULL, the end of the process, then
 * returns. Waits at most a few seconds. Safe to call from several exit paths. */
void pm_writer_finish(const char *reason, int status);

/* Asks for a snapshot of kind 'signal'. Async-signal-safe. */
void pm_writer_request_signal_snapshot(void);

/* True once the process's end has been written (or the writer never started). */
bool pm_writer_finished(void);

/* Fork handlers: prepare waits for the current transaction; the child starts its own writer,
 * with a fresh connection, as a new process whose parent is the forking one. */
void pm_writer_prefork(void);
/* In prepare, with interning locked: the fork falls at stack index n_stacks. The child inherits
 * the stacks below it under this process's ids; only those interned from then on may be named
 * by rows of other processes (sharedstacks.h). */
void pm_writer_fork_point(uint32_t n_stacks);
void pm_writer_postfork_parent(void);
void pm_writer_postfork_child(void);
