/* SPDX-License-Identifier: MIT */
/* Parsing of the PYMEM_* variables. */
#include "options.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

struct pm_options pm_options;

static bool
parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static bool
parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (end == s || *end || *s == '-' || v < lo || v > hi)
        return false;
    *out = (unsigned)v;
    return true;
}

static bool
parse_signal(const char *s, int *out)
{
    static const struct { const char *name; int sig; } names[] = {
        { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP }, { "URG", SIGURG },
        { "WINCH", SIGWINCH }, { "PROF", SIGPROF }, { "QUIT", SIGQUIT },
    };
    unsigned n;

    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].sig;
            return true;
        }
    }
    if (parse_uint(s, 1, (unsigned)SIGRTMAX, &n) && n != SIGKILL && n != SIGSTOP) {
        *out = (int)n;
        return true;
    }
    return false;
}

static bool
parse_log(const char *s, enum pm_log_level *out)
{
    static const char *const names[] = { "quiet", "warn", "info", "debug" };

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum pm_log_level)i;
            return true;
        }
    }
    return false;
}

static void
bad(const char *name, const char *value, const char *expected)
{
    pm_warn("ignoring %s='%s': expected %s", name, value, expected);
}

void
pm_options_load(void)
{
    const char *v;
    enum pm_log_level level = PM_LOG_WARN;

    /* PYMEM_LOG first, so that it governs the warnings below (except its own). */
    if ((v = getenv("PYMEM_LOG")) && *v && !parse_log(v, &level))
        bad("PYMEM_LOG", v, "quiet, warn, info or debug");
    pm_log_level = level;

    strcpy(pm_options.output, "pymem.db");
    pm_options.interval = 10.0;
    pm_options.timeline_ms = 100;
    pm_options.depth = PM_DEFAULT_DEPTH;
    pm_options.signal = 0;
    pm_options.disable = false;

    if ((v = getenv("PYMEM_OUTPUT")) && *v) {
        if (strlen(v) >= sizeof(pm_options.output))
            bad("PYMEM_OUTPUT", "...", "a path shorter than 4096 bytes");
        else
            strcpy(pm_options.output, v);
    }
    if ((v = getenv("PYMEM_INTERVAL")) && *v &&
        !parse_double(v, 0.0, 86400.0, &pm_options.interval))
        bad("PYMEM_INTERVAL", v, "seconds between 0 (off) and 86400");
    if ((v = getenv("PYMEM_TIMELINE_MS")) && *v &&
        !parse_uint(v, 1, 60000, &pm_options.timeline_ms))
        bad("PYMEM_TIMELINE_MS", v, "milliseconds between 1 and 60000");
    if ((v = getenv("PYMEM_DEPTH")) && *v && !parse_uint(v, 2, 1024, &pm_options.depth))
        bad("PYMEM_DEPTH", v, "a frame count between 2 and 1024");
    if ((v = getenv("PYMEM_SIGNAL")) && *v && !parse_signal(v, &pm_options.signal))
        bad("PYMEM_SIGNAL", v, "a signal name such as USR2, or a number");
    if ((v = getenv("PYMEM_DISABLE")) && *v) {
        if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0)
            pm_options.disable = true;
        else if (strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0 && strcasecmp(v, "no") != 0)
            bad("PYMEM_DISABLE", v, "1 or 0");
    }
    pm_debug("output=%s interval=%g timeline_ms=%u depth=%u signal=%d", pm_options.output,
             pm_options.interval, pm_options.timeline_ms, pm_options.depth, pm_options.signal);
}
