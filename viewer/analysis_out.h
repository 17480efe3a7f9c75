/* SPDX-License-Identifier: MIT */
/* Output pieces shared by summary, leaks, growth and diff: signed sizes, CSV fields (RFC 4180),
 * shortened stacks, snapshot and process descriptions in text and JSON, --by parsing. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "query.h"
#include "query_analysis.h"
#include "cmd.h"

/* The options the analysis commands share. PM_AOPT_LONG lists them for getopt_long (-f and -h
 * need "hf:" in the short options); pm_aopt_handle takes getopt_long's result c. */
enum {
    PM_AOPT_RUN = 300,
    PM_AOPT_PID,
    PM_AOPT_LIMIT,
    PM_AOPT_JSON,
    PM_AOPT_CSV,
    PM_AOPT_BYTES,
    PM_AOPT_BY
};
#define PM_AOPT_LONG                                                                               \
    {"file", required_argument, NULL, 'f'}, {"run", required_argument, NULL, PM_AOPT_RUN},         \
        {"pid", required_argument, NULL, PM_AOPT_PID},                                             \
        {"limit", required_argument, NULL, PM_AOPT_LIMIT},                                         \
        {"json", no_argument, NULL, PM_AOPT_JSON}, {"csv", no_argument, NULL, PM_AOPT_CSV},        \
        {"bytes", no_argument, NULL, PM_AOPT_BYTES},                                               \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

struct pm_aopts {
    const char *file;        /* default PM_DEFAULT_FILE */
    int64_t run, pid, limit; /* run 0 = latest, pid -1 = root; limit default 20, 0 = all */
    bool json, csv, bytes, help, file_given;
    enum pm_analysis_by by; /* default by line */
};

void pm_aopts_init(struct pm_aopts *o);
/* Returns 0 if c was one of the shared options (stored in o), PM_EXIT_USAGE if its value was
 * bad (reported), -1 if c is not a shared option. */
int pm_aopt_handle(const char *cmd, int c, const char *arg, struct pm_aopts *o);
/* Checks what the options exclude (--json with --csv). Returns 0 or PM_EXIT_USAGE (reported). */
int pm_aopts_check(const char *cmd, const struct pm_aopts *o);
/* How many of n rows to show under the --limit. */
size_t pm_aopts_shown(const struct pm_aopts *o, size_t n);

/* Parses the value of --by (line, function, stack). On error reports it and returns
 * PM_EXIT_USAGE, else 0. */
int pm_aout_parse_by(const char *cmd, const char *arg, enum pm_analysis_by *by);
const char *pm_aout_by_name(enum pm_analysis_by by);

/* A size, human ("4.0 KiB") or exact ("4096"); with sign, always signed ("+4.0 KiB", "0 B"). */
const char *pm_aout_size(char buf[32], int64_t bytes, bool exact, bool sign);

/* Writes one CSV field (quoted when it holds a comma, a quote, CR or LF; NULL is empty),
 * preceded by a comma unless first. pm_aout_csv_end ends the record with CRLF. */
void pm_aout_csv(FILE *f, const char *s, bool first);
void pm_aout_csv_int(FILE *f, int64_t v);
void pm_aout_csv_end(FILE *f);

/* "file:line" escaped for a terminal ("file" alone when line < 0). NULL if out of memory;
 * free with pm_free. */
char *pm_aout_location(const char *file, int64_t line);

/* The frames outermost first as "function (file:line) > ...", file names shortened to their
 * last component, escaped; with more than `max` frames the middle ones become "...". NULL if
 * out of memory; free with pm_free. */
char *pm_aout_stack_text(const struct pm_analysis_frames *fr, size_t max);
/* The frames as file:line:function joined with ';' (raw, for CSV). */
char *pm_aout_stack_csv(const struct pm_analysis_frames *fr);

/* JSON: a frame array, a snapshot object, a process object {id, pid, argv}. */
void pm_aout_json_frames(FILE *f, const struct pm_analysis_frames *fr);
void pm_aout_json_snapshot(FILE *f, const struct pm_snapshot_info *s);
void pm_aout_json_process(FILE *f, const struct pm_process_info *p);

/* Prints "process ID (pid PID): ARGV" and a newline. Returns PM_EXIT_OK or the OOM exit. */
int pm_aout_process_line(const struct pm_process_info *p);

/* Writes "snapshot ID (KIND) at T s" to buf (the kind escaped). */
void pm_aout_snapshot_text(char *buf, size_t size, const struct pm_snapshot_info *s);

/* Flushes stdout; on a write error reports it and returns PM_EXIT_DATA, else rc. */
int pm_aout_finish(int rc);
