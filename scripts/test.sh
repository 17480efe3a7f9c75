#!/bin/sh
# The whole test suite on a fresh Debian 12 machine: installs what it needs, builds, runs every
# suite (unit, viewer, python) and the benchmark's quick smoke run, and ends with the plain line
# "N passed, N failed, N skipped" counted from the test runner's own log.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
BUILD=${PYMEM_TEST_BUILD:-build-test}
if [ -d "$BUILD" ]; then meson setup --reconfigure "$BUILD" >/dev/null; else meson setup "$BUILD" >/dev/null; fi
ninja -C "$BUILD"
status=0
meson test -C "$BUILD" --print-errorlogs --num-processes 2 || status=$?
python3 scripts/test_summary.py "$BUILD/meson-logs/testlog.json"
exit $status
