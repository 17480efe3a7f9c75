/* SPDX-License-Identifier: MIT */
/* The writers of pymem-view export. Each gets the samples of one snapshot (query_samples.h)
 * and writes one format to f; each returns 0 or -ENOMEM (write errors are left in f's error
 * flag for the caller to check). Names from the profiled program are escaped as each format
 * needs: JSON escapes, or pm_text_escape() (\n, \t, \\, \xNN) for the line-based formats. */
#pragma once

#include <stdio.h>

#include "query.h"
#include "query_samples.h"

struct pm_export {
    const struct pm_process_info *proc;
    const struct pm_snapshot_info *snap;
    const struct pm_sample_list *samples;   /* loaded with churn */
};

/* Folded stacks (flamegraph.pl, speedscope, inferno): "outer;...;inner bytes", one line per
 * stack live at the snapshot; a frame is "function (file:line)" with ';' written as \x3b. */
int pm_export_folded(FILE *f, const struct pm_export *e);

/* RFC 4180 CSV (CRLF line ends), a header row then one row per stack, live ones first. */
int pm_export_csv(FILE *f, const struct pm_export *e);

/* One JSON object: process, snapshot, totals, frames[] and samples[] (frame indices,
 * outermost first). */
int pm_export_json(FILE *f, const struct pm_export *e);

/* speedscope's file format: one "sampled" profile weighted by live bytes. */
int pm_export_speedscope(FILE *f, const struct pm_export *e);
