/* SPDX-License-Identifier: MIT */
/* pymem-view timeline: placeholder until the command lands (issue 3). */
#include "cmd.h"
#include "out.h"

int
cmd_timeline(int argc, char **argv)
{
    pm_error("'timeline' is not implemented yet");
    return PM_EXIT_DATA;
}
