/* SPDX-License-Identifier: MIT */
/* pymem-view summary: placeholder until the command lands (issue 3). */
#include "cmd.h"
#include "out.h"

int
cmd_summary(int argc, char **argv)
{
    pm_error("'summary' is not implemented yet");
    return PM_EXIT_DATA;
}
