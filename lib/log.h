/* SPDX-License-Identifier: MIT */
/* Messages to stderr without stdio or allocation: usable from hooks, the writer and at exit.
 * Every line starts "pymem: ". Rate-limited so a failing path cannot flood the program's stderr. */
#pragma once

#include "pm.h"

enum pm_log_level { PM_LOG_QUIET, PM_LOG_WARN, PM_LOG_INFO, PM_LOG_DEBUG };

extern enum pm_log_level pm_log_level;

/* Formats into a stack buffer and write(2)s one line to fd 2 if level <= pm_log_level.
 * At most 50 lines per process. Keeps errno. */
void pm_log(enum pm_log_level level, const char *fmt, ...) PM_PRINTF(2, 3);

#define pm_warn(...) pm_log(PM_LOG_WARN, __VA_ARGS__)
#define pm_info(...) pm_log(PM_LOG_INFO, __VA_ARGS__)
#define pm_debug(...) pm_log(PM_LOG_DEBUG, __VA_ARGS__)
