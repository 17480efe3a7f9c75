/* SPDX-License-Identifier: MIT */
/* What the analysis queries share (query_analysis.c, query_growth.c); not part of the API. */
#pragma once

#include <sqlite3.h>

#include "error.h"
#include "query.h"
#include "query_analysis.h"

/* The innermost frame of a live row's stack, with the synthetic names top uses for rows missing
 * from the file. Result columns 1-4: file, function, line, stack. */
#define KEY_COLUMNS                                                                                \
    "CASE WHEN f.id IS NULL THEN '<pymem>' ELSE f.file END,"                                       \
    " CASE WHEN s.id IS NULL THEN '<unknown stack>' WHEN f.id IS NULL THEN '<unknown frame>'"      \
    "  ELSE f.function END"
#define KEY_JOIN                                                                                   \
    " FROM live l LEFT JOIN stack s ON s.id = l.stack LEFT JOIN frame f ON f.id = s.frame"

/* Sets diag to "out of memory"; returns -ENOMEM. */
int pm_analysis_oom(struct pm_diag *diag);

void pm_analysis_key_clear(struct pm_analysis_key *k);

/* Orders keys by stack key, file, line, function. */
int pm_analysis_key_cmp(const struct pm_analysis_key *a, const struct pm_analysis_key *b);
