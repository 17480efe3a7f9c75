/* SPDX-License-Identifier: MIT */
/* pymem-view export: placeholder until the command lands (issue 3). */
#include "cmd.h"
#include "out.h"

int
cmd_export(int argc, char **argv)
{
    pm_error("'export' is not implemented yet");
    return PM_EXIT_DATA;
}
