/* SPDX-License-Identifier: MIT */
/* Prints PM_SCHEMA_SQL and the PRAGMA that goes with it, so that the viewer tests can check that
 * the fixtures' CREATE statements are the ones the shim writes. */
#include <stdio.h>

#include "schema.h"

int
main(void)
{
    fputs(PM_SCHEMA_SQL, stdout);
    printf("PRAGMA user_version = %d;\n", PM_SCHEMA_VERSION);
    return 0;
}
