/* SPDX-License-Identifier: MIT */
/* Shared helpers of the unit tests: private temporary directories. */
#pragma once

#include <limits.h>
#include <stddef.h>

/* Creates a fresh private directory ($TMPDIR or /tmp, "pymem-unit-XXXXXX") and writes its path
 * to dir. Aborts the test (cr_assert) on failure. */
void pm_test_tmpdir(char dir[PATH_MAX]);

/* Writes dir + "/" + name to out. Aborts the test if it does not fit. */
void pm_test_path(char out[PATH_MAX], const char *dir, const char *name);

/* Removes dir and everything in it (one level deep: the tests create no subdirectories). */
void pm_test_rmdir(const char *dir);
