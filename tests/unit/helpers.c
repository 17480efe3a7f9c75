/* SPDX-License-Identifier: MIT */
/* Shared helpers of the unit tests. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
pm_test_tmpdir(char dir[PATH_MAX])
{
    const char *base = getenv("TMPDIR");
    int n;

    if (!base || !*base)
        base = "/tmp";
    n = snprintf(dir, PATH_MAX, "%s/pymem-unit-XXXXXX", base);
    cr_assert(n > 0 && n < PATH_MAX, "TMPDIR too long");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp(%s) failed", dir);
}

void
pm_test_path(char out[PATH_MAX], const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

    cr_assert(n > 0 && n < PATH_MAX, "path too long");
}

void
pm_test_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
