/* SPDX-License-Identifier: MIT */
/* The read side of the profile file: a read-only connection that checks the schema version,
 * lists runs, processes and snapshots, picks the defaults the viewer shows, and computes the
 * per-line "top" table of a snapshot. All the SQL the viewer runs lives in query.c and binds
 * every value it gets from a user; the whole session reads one consistent state of the file
 * (one read transaction), so it works while the profiled program is still writing (WAL).
 *
 * Every function returns 0 or a negative code (-errno or -PM_E*) and, on failure, puts a
 * one-line lowercase message in diag (may be NULL). Strings in the result structs are owned by
 * the struct and freed by its _clear/_free function; every _clear/_free is NULL-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct pm_query;

/* One row of the process table. */
struct pm_process_info {
    int64_t id;
    int64_t run;                /* id of the run's root process */
    int64_t parent;             /* process id of the parent; 0 for a root */
    int64_t pid, ppid;
    char *argv_json;            /* as stored: meant to be a JSON array of strings, not checked */
    char *executable;           /* NULL if unknown */
    char *python_version;       /* NULL if unknown */
    char *mode;
    double start_time;          /* unix seconds */
    double end_time;            /* valid if has_end_time */
    bool has_end_time;
    char *end_reason;           /* NULL while running or after SIGKILL */
    int64_t exit_status;        /* valid if has_exit_status */
    bool has_exit_status;
};

struct pm_process_list {
    struct pm_process_info *v;
    size_t n;
};

/* One row of the snapshot table. */
struct pm_snapshot_info {
    int64_t id;
    int64_t process;
    char *kind;                 /* peak | periodic | signal | manual | final (as stored) */
    char *label;                /* NULL if none */
    double time;                /* seconds since the process started */
    int64_t heap_bytes, heap_blocks, rss_bytes, tool_bytes;
};

struct pm_snapshot_list {
    struct pm_snapshot_info *v;
    size_t n;
};

/* One source line of the top table. "self" counts the live allocations whose innermost frame
 * is this line, "total" those with this line anywhere in their stack (once per stack). */
struct pm_top_row {
    char *file;
    char *function;
    int64_t line;
    int64_t self_bytes, self_blocks;
    int64_t total_bytes, total_blocks;
    int64_t stack_id;           /* PM_TOP_BY_STACK: the stack; 0 otherwise */
};

struct pm_top_list {
    struct pm_top_row *v;       /* by self bytes desc, total bytes desc, file, line, function */
    size_t n;
};

/* What pm_query_top_ex groups by: a source line (file, line, function), a function (file,
 * function; line 0), a file (function ""; line 0), or a whole stack (one row per stack; file,
 * line and function are its innermost frame's, stack_id is its id). */
enum pm_top_by { PM_TOP_BY_LINE, PM_TOP_BY_FUNCTION, PM_TOP_BY_FILE, PM_TOP_BY_STACK };

/* The order of the rows: self bytes, total bytes or self blocks first (descending); ties by
 * the other counts, then file, line, function. */
enum pm_top_sort { PM_TOP_SORT_SELF, PM_TOP_SORT_TOTAL, PM_TOP_SORT_BLOCKS };

/* Which bytes and blocks count: all (the live table's bytes, blocks), or one allocator
 * domain's (python_*, raw_*, native_*). */
enum pm_top_kind { PM_TOP_KIND_ALL, PM_TOP_KIND_PYTHON, PM_TOP_KIND_RAW, PM_TOP_KIND_NATIVE };

/* One (process, snapshot) whose live memory is added into the table. */
struct pm_top_point {
    int64_t process, snapshot;
};

struct pm_top_opts {
    const struct pm_top_point *points;  /* borrowed; their memory is summed */
    size_t n_points;
    enum pm_top_by by;
    enum pm_top_sort sort;
    enum pm_top_kind kind;
    /* Attribute each allocation to the innermost "user" frame of its stack, dropping the
     * frames inside it: with focus, a frame whose file matches the fnmatch(3) glob focus;
     * otherwise one that pm_top_is_library_file() refuses. A stack with no user frame keeps
     * its innermost frame. */
    bool user;
    const char *focus;                  /* borrowed; NULL = the library rule; implies user */
};

/* The top table for the options above (pm_query_top is the one-point, by-line, all-kinds,
 * self-sorted case). In PM_TOP_BY_STACK mode "self" counts the stack's own allocations and
 * "total" those of the stack and of every deeper stack that extends it. Uses an index on
 * live(process, until_snapshot, ...) when the file has one (see README.md). */
int pm_query_top_ex(struct pm_query *q, const struct pm_top_opts *o, struct pm_top_list *out,
                    struct pm_diag *diag);

/* Whether a frame of this file is library code for --user: "<frozen ...>", "<pymem>", or a
 * path holding "/lib/python3", "/site-packages/" or "/dist-packages/". */
bool pm_top_is_library_file(const char *file);

/* One frame of a stack's chain. */
struct pm_chain_frame {
    char *file;
    char *function;
    int64_t line;
};

struct pm_chain {
    struct pm_chain_frame *v;   /* outermost first */
    size_t n;
};

/* The frames of stack `stack`, outermost first (at most 4096; a missing stack or frame row
 * gives a "<pymem>" frame, a parent cycle ends the chain). Clear with pm_chain_clear. */
int pm_query_chain(struct pm_query *q, int64_t stack, struct pm_chain *out, struct pm_diag *diag);
void pm_chain_clear(struct pm_chain *c);

/* For the other read-side files of lib/ (query_*.c) only: the connection, and the message and
 * negative code of a failed SQLite call (an SQLITE_* result). */
struct sqlite3 *pm_query_db(struct pm_query *q);
int pm_query_fail(struct pm_query *q, struct pm_diag *diag, int sqlite_rc);
/* Prepares sql on q's connection; a failure goes to diag. Returns 0 or < 0. */
struct sqlite3_stmt;
int pm_query_prepare(struct pm_query *q, const char *sql, struct sqlite3_stmt **s,
                     struct pm_diag *diag);

/* Opens the profile at path read-only (never creates it) and checks that it is a pymem profile
 * of a schema version this code knows: -ENOENT and friends if it cannot be opened, -PM_ESCHEMA
 * if it is not a pymem profile or is newer, -PM_ESQLITE if it is not SQLite or is corrupt.
 * On success *out owns the connection (pm_query_close); on failure *out is NULL. */
int pm_query_open(const char *path, struct pm_query **out, struct pm_diag *diag);

/* Ends the read transaction and closes the connection. NULL-safe. */
void pm_query_close(struct pm_query *q);

/* Every process of every run, ordered by run, then id. */
int pm_query_processes(struct pm_query *q, struct pm_process_list *out, struct pm_diag *diag);

/* The id of the latest run (the greatest one); -PM_ENOTFOUND if the file holds no process. */
int pm_query_latest_run(struct pm_query *q, int64_t *run, struct pm_diag *diag);

/* The process of `run` whose pid is `pid` (the latest such if the pid was reused), or with
 * pid < 0 the run's root process. -PM_ENOTFOUND if there is none. *out must be cleared with
 * pm_process_info_clear. */
int pm_query_process(struct pm_query *q, int64_t run, int64_t pid, struct pm_process_info *out,
                     struct pm_diag *diag);

/* Every snapshot of a process, ordered by id. */
int pm_query_snapshots(struct pm_query *q, int64_t process, struct pm_snapshot_list *out,
                       struct pm_diag *diag);

/* The snapshot `id` of the process; -PM_ENOTFOUND if it does not exist or belongs to another
 * process. */
int pm_query_snapshot(struct pm_query *q, int64_t process, int64_t id,
                      struct pm_snapshot_info *out, struct pm_diag *diag);

/* The latest snapshot of the given kind ("peak", "final", ...) of the process; -PM_ENOTFOUND
 * (with a message naming the kinds that exist) if there is none. */
int pm_query_latest_snapshot(struct pm_query *q, int64_t process, const char *kind,
                             struct pm_snapshot_info *out, struct pm_diag *diag);

/* The per-line table of the memory live at `snapshot` of `process`. Rows whose self and total
 * bytes and blocks are all zero are left out. */
int pm_query_top(struct pm_query *q, int64_t process, int64_t snapshot, struct pm_top_list *out,
                 struct pm_diag *diag);

/* Live bytes and blocks summed over every stack at a snapshot (through the snapshot_live view):
 * what the outermost lines of the top table add up to. Meant for tests and checks. */
int pm_query_live_total(struct pm_query *q, int64_t snapshot, int64_t *bytes, int64_t *blocks,
                        struct pm_diag *diag);

void pm_process_info_clear(struct pm_process_info *p);
void pm_process_list_clear(struct pm_process_list *l);
void pm_snapshot_info_clear(struct pm_snapshot_info *s);
void pm_snapshot_list_clear(struct pm_snapshot_list *l);
void pm_top_list_clear(struct pm_top_list *l);
