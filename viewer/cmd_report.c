/* SPDX-License-Identifier: MIT */
/* pymem-view report: placeholder until the command lands (issue 3). */
#include "cmd.h"
#include "out.h"

int
cmd_report(int argc, char **argv)
{
    pm_error("'report' is not implemented yet");
    return PM_EXIT_DATA;
}
