/* SPDX-License-Identifier: MIT */
/* pm_log: vsnprintf into a stack buffer, one write(2). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum pm_log_level pm_log_level = PM_LOG_WARN;
static atomic_uint lines_written;

void
pm_log(enum pm_log_level level, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int saved = errno, n;

    if (level > pm_log_level || atomic_fetch_add(&lines_written, 1) >= 50)
        goto out;
    memcpy(buf, "pymem: ", 7);
    va_start(ap, fmt);
    n = vsnprintf(buf + 7, sizeof(buf) - 8, fmt, ap);
    va_end(ap);
    if (n < 0)
        goto out;
    n += 7;
    if ((size_t)n > sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    while (write(2, buf, (size_t)n) < 0 && errno == EINTR)
        ;
out:
    errno = saved;
}
