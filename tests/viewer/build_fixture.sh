#!/bin/sh
# Builds a fixture database: build_fixture.sh OUT.db SQLITE3 FIXTURE.sql [SCHEMA_SQL [FLAG]]
# With SCHEMA_SQL (the tests' schema_sql program, given FLAG), lib/schema.h's schema and
# user_version are loaded first, so data fixtures hold only their rows and can never drift from the real schema.
# Without it the fixture is loaded as it is (foreign, partial and newer-schema files).
set -eu
out=$1 sqlite3=$2 fixture=$3
rm -f "$out"
if [ $# -ge 4 ]; then
    shift 3
    { "$@"; cat "$fixture"; } | "$sqlite3" -bail "$out"
else
    "$sqlite3" -bail "$out" < "$fixture"
fi
