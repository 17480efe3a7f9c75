/* SPDX-License-Identifier: MIT */
/* The write side of the profile file: creation, schema, and one prepared statement per row type.
 * A store is used by one thread at a time (the shim's writer thread). */
#pragma once

#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"
#include "model.h"

struct pm_store;

struct pm_process_row {
    int64_t parent;         /* 0 = none: a new run */
    int64_t run;            /* ignored when parent is 0 */
    pid_t pid, ppid;
    const char *argv_json;  /* borrowed */
    const char *executable; /* borrowed, may be NULL */
    const char *python_version;
    const char *mode;
    double start_time;      /* unix seconds */
};

struct pm_snapshot_row {
    int64_t process;
    enum pm_snapshot_kind kind;
    const char *label;      /* borrowed, may be NULL */
    double time;            /* seconds since the process started */
    int64_t heap_bytes, heap_blocks, rss_bytes, tool_bytes;
};

/* Opens or creates the profile at path for writing: the file is created 0600 without following
 * a symlink, put in WAL mode, and its schema created or checked. On success *out owns the
 * store (pm_store_close). Returns 0 or a negative code; diag (may be NULL) says why. */
int pm_store_open(const char *path, struct pm_store **out, struct pm_diag *diag);

/* Closes the database and frees the store. NULL-safe. */
void pm_store_close(struct pm_store *st);

/* A descriptor SQLite holds for the store, with the identity of the file behind it. */
struct pm_store_fd {
    int fd;
    dev_t dev;
    ino_t ino;
};

/* Lists the descriptors open on the store's files (database, -wal, -shm) into fds; returns how
 * many (at most max). */
int pm_store_list_fds(struct pm_store *st, struct pm_store_fd *fds, int max);

/* Closes a connection whose descriptors the program may have closed, or that a fork copied:
 * numbers that are now closed get a /dev/null placeholder first so that nothing of anyone else's
 * is closed, and no checkpoint runs (it could act on stale state). If a number now belongs to
 * another file, the connection is leaked instead and -EBUSY returned. NULL-safe. */
int pm_store_close_orphan(struct pm_store *st, const struct pm_store_fd *fds, int n);

/* Transactions: everything between begin and commit lands at once or not at all. Frame, stack,
 * live and churn rows are buffered and written in multi-row statements: an error in one may be
 * reported by a later add, by pm_store_flush or by commit. Commit (and close) flush first;
 * rollback discards what is buffered. */
int pm_store_begin(struct pm_store *st);
/* Begins as pm_store_begin does, but waits for another connection's write lock at most
 * max_idle_ms (pm_store_begin: 10 s) counted from the last time the file's write-ahead log
 * moved (other writers taking their turns), and at most max_wait_ms in all (at or below
 * max_idle_ms: a plain bound of max_idle_ms); no longer once *give_up is set (NULL: never).
 * Returns 0, or with nothing begun -PM_EBUSY (the wait ran out), -EINTR (give_up ended it) or
 * -PM_ESQLITE. */
int pm_store_try_begin(struct pm_store *st, int max_idle_ms, int max_wait_ms,
                       const atomic_bool *give_up);
int pm_store_commit(struct pm_store *st);
void pm_store_rollback(struct pm_store *st);

/* Writes every buffered row now. Returns 0 or -PM_ESQLITE (the buffered rows are dropped). */
int pm_store_flush(struct pm_store *st);

/* Inserts a process row; *id gets its id and *run its run (its own id for a root). */
int pm_store_add_process(struct pm_store *st, const struct pm_process_row *row, int64_t *id,
                         int64_t *run);

/* Looks for the still-running process row of pid (or one that ended by exec when
 * exec_only is set). Returns 0 and fills *id, *run, or -PM_ENOTFOUND. */
int pm_store_find_process(struct pm_store *st, pid_t pid, int exec_only, int64_t *id, int64_t *run);

/* Records how a process ended. */
int pm_store_end_process(struct pm_store *st, int64_t id, double end_time, const char *reason,
                         int status);

/* Inserting a frame or stack id twice is a no-op (frame ids are content hashes; a stack id is
 * given by one process, and its children may write it again). The strings are borrowed until the
 * next flush, commit or close. */
int pm_store_add_frame(struct pm_store *st, int64_t id, const char *file, const char *function,
                       int line);
int pm_store_add_stack(struct pm_store *st, int64_t id, int64_t parent, int64_t frame, int depth,
                       int64_t key);

/* The largest stack id written in [lo, hi] (buffered rows included), 0 if none. */
int pm_store_max_stack_id(struct pm_store *st, int64_t lo, int64_t hi, int64_t *out);

/* Inserts a snapshot row; *id gets its id. */
int pm_store_add_snapshot(struct pm_store *st, const struct pm_snapshot_row *row, int64_t *id);

/* Sets a snapshot's block count and adds more_tool to its tool_bytes (both known only once every
 * stack has been read: the in-band records of the live blocks are the tool's memory too). */
int pm_store_finish_snapshot(struct pm_store *st, int64_t snapshot, int64_t blocks,
                             int64_t more_tool);

/* Starts a live row (valid from snapshot on); *rowid identifies it for pm_store_end_live. */
int pm_store_add_live(struct pm_store *st, int64_t process, int64_t stack, int64_t snapshot,
                      const struct pm_counts *c, int64_t *rowid);
/* Ends a live row: it no longer holds from snapshot `until` on. */
int pm_store_end_live(struct pm_store *st, int64_t rowid, int64_t until);

/* Sets the run-long allocation totals of a stack in a process. */
int pm_store_set_churn(struct pm_store *st, int64_t process, int64_t stack, int64_t bytes,
                       int64_t blocks);

int pm_store_add_timeline(struct pm_store *st, int64_t process, double time, int64_t heap_bytes,
                          int64_t rss_bytes);

/* The last SQLite error message of the store. */
const char *pm_store_errmsg(struct pm_store *st);
