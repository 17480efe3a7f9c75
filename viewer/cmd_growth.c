/* SPDX-License-Identifier: MIT */
/* pymem-view growth: placeholder until the command lands (issue 3). */
#include "cmd.h"
#include "out.h"

int
cmd_growth(int argc, char **argv)
{
    pm_error("'growth' is not implemented yet");
    return PM_EXIT_DATA;
}
