/* SPDX-License-Identifier: MIT */
/* The commands of pymem-view and what they share. Adding a command = a file cmd_<name>.c with
 * its usage string at the top, a prototype here, a row in main.c's table. */
#pragma once

#include <stdint.h>

#include "query.h"

/* One row of the command table. run() gets argv starting at the command name and returns the
 * exit status (PM_EXIT_*). */
struct pm_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

int cmd_top(int argc, char **argv);
int cmd_snapshots(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_growth(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_tree(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* The profile every command opens unless told otherwise. */
#define PM_DEFAULT_FILE "pymem.db"

/* An open profile and the process a command looks at. */
struct pm_target {
    struct pm_query *q;
    struct pm_process_info proc;
};

/* Opens `file` read-only and, unless no_process is set, picks the process: the root of the run
 * (run <= 0: the latest run), or with pid >= 0 the process of that run with that pid. Errors are
 * printed; returns PM_EXIT_OK or PM_EXIT_DATA. On failure *t needs no release. */
int pm_target_open(struct pm_target *t, const char *file, int64_t run, int64_t pid,
                   int no_process);
void pm_target_close(struct pm_target *t);

/* Reports an option getopt_long() refused (it returned c, '?' or ':') for command cmd and
 * returns PM_EXIT_USAGE. */
int pm_bad_option(const char *cmd, int c, char **argv);

/* Reports extra words after the options of cmd and returns PM_EXIT_USAGE. */
int pm_extra_args(const char *cmd, const char *arg);

/* Parses a decimal integer >= min for option opt; on error reports it and returns
 * PM_EXIT_USAGE, else 0. */
int pm_parse_int(const char *opt, const char *arg, int64_t min, int64_t *out);

/* Which snapshot a command looks at: id >= 0 names one, else the latest of `kind`. */
struct pm_snap_choice {
    int64_t id;
    const char *kind;           /* "peak" (default) or "final" */
    int picked;                 /* how many of --peak/--final/--snapshot were given */
};

/* getopt_long values of the shared options (see pm_common_option). */
enum { PM_OPT_PEAK = 300, PM_OPT_FINAL, PM_OPT_SNAPSHOT, PM_OPT_PID, PM_OPT_RUN, PM_OPT_JSON };

/* Their getopt_long entries, for a command's option table (-f and -h need "hf:" in the short
 * options): the file and run, the pid, the snapshot choice, and -h with the table's end. */
#define PM_OPTS_TARGET \
    { "file", required_argument, NULL, 'f' }, { "run", required_argument, NULL, PM_OPT_RUN }
#define PM_OPTS_PID { "pid", required_argument, NULL, PM_OPT_PID }
#define PM_OPTS_SNAPSHOT \
    { "peak", no_argument, NULL, PM_OPT_PEAK }, { "final", no_argument, NULL, PM_OPT_FINAL }, \
    { "snapshot", required_argument, NULL, PM_OPT_SNAPSHOT }
#define PM_OPTS_END { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }

/* Loads the chosen snapshot of t's process into *out (clear with pm_snapshot_info_clear).
 * Errors are printed (naming the snapshots that exist when a kind is missing); returns
 * PM_EXIT_OK or PM_EXIT_DATA. */
int pm_snap_load(struct pm_target *t, const struct pm_snap_choice *c,
                 struct pm_snapshot_info *out);

/* The options most commands share: -h, -f FILE, --run, --pid, --json and, when snap is set,
 * --peak/--final/--snapshot. Each pointer is the command's own variable. */
struct pm_common_opts {
    const char *usage;          /* printed by -h */
    const char **file;
    int64_t *run, *pid;         /* pid NULL: the command takes no --pid */
    int *json;                  /* NULL: no --json */
    struct pm_snap_choice *snap;    /* NULL: the command picks no snapshot */
};

enum { PM_OPT_NOT_MINE = -1, PM_OPT_TAKEN = -2 };

/* Handles option c (what getopt_long returned) if it is a shared one: PM_OPT_TAKEN, or an exit
 * status to return at once (PM_EXIT_OK after -h, PM_EXIT_USAGE with a message); else
 * PM_OPT_NOT_MINE. */
int pm_common_option(const struct pm_common_opts *o, int c, const char *arg);
