/* SPDX-License-Identifier: MIT */
/* pymem-view diff: placeholder until the command lands (issue 3). */
#include "cmd.h"
#include "out.h"

int
cmd_diff(int argc, char **argv)
{
    pm_error("'diff' is not implemented yet");
    return PM_EXIT_DATA;
}
