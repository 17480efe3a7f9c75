/* SPDX-License-Identifier: MIT */
/* pymem-view tree: placeholder until the command lands (issue 3). */
#include "cmd.h"
#include "out.h"

int
cmd_tree(int argc, char **argv)
{
    pm_error("'tree' is not implemented yet");
    return PM_EXIT_DATA;
}
