/* SPDX-License-Identifier: MIT */
/* pymem-view flamegraph: placeholder until the command lands (issue 3). */
#include "cmd.h"
#include "out.h"

int
cmd_flamegraph(int argc, char **argv)
{
    pm_error("'flamegraph' is not implemented yet");
    return PM_EXIT_DATA;
}
