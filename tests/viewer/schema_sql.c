/* SPDX-License-Identifier: MIT */
/* Prints PM_SCHEMA_SQL and the PRAGMA that goes with it, so that the viewer tests can check that
 * the fixtures' CREATE statements are the ones the shim writes. With --live-index it adds the
 * index the shim makes once the live table is big (PM_LIVE_INDEX_SQL): the viewer reads a file
 * with it and one without, and must answer the same. */
#include <stdio.h>
#include <string.h>

#include "schema.h"

int
main(int argc, char **argv)
{
    fputs(PM_SCHEMA_SQL, stdout);
    if (argc > 1 && strcmp(argv[1], "--live-index") == 0)
        puts(PM_LIVE_INDEX_SQL ";");
    printf("PRAGMA user_version = %d;\n", PM_SCHEMA_VERSION);
    return 0;
}
