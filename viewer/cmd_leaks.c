/* SPDX-License-Identifier: MIT */
/* pymem-view leaks: placeholder until the command lands (issue 3). */
#include "cmd.h"
#include "out.h"

int
cmd_leaks(int argc, char **argv)
{
    pm_error("'leaks' is not implemented yet");
    return PM_EXIT_DATA;
}
