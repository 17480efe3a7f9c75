#!/usr/bin/env python3
"""bench/ab.py: a one-round comparison prints one row per variant with its ratios, and a bad
workload or library is a usage error (exit 2). argv[1]: the libpymem.so to compare."""
import os
import re
import subprocess
import sys

AB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "ab.py")


def run(*args):
    return subprocess.run(["/usr/bin/python3", AB, *args], capture_output=True, text=True,
                          timeout=120)


def main():
    lib = sys.argv[1]
    failures = []
    r = run("--rounds", "1", "--size", "18", "fib", lib, lib + ",PYMEM_INTERVAL=0")
    rows = re.findall(r"^\| `([^`]+)` \| ([0-9.]+)× \| [0-9.]+–[0-9.]+× \| ([0-9.]+)× \|$",
                      r.stdout, re.M)
    if r.returncode != 0:
        failures.append(f"exit {r.returncode}: {r.stderr[-300:]}")
    if [name for name, _, _ in rows] != [lib, lib + ",PYMEM_INTERVAL=0"]:
        failures.append(f"rows {rows!r} in {r.stdout!r}")
    if any(not 0.5 < float(wall) < 20 or not 0.2 < float(cpu) < 20 for _, wall, cpu in rows):
        failures.append(f"implausible ratios {rows!r}")
    for args, what in ((("fib", "/nonexistent/libpymem.so"), "missing library"),
                       (("no-such-workload", lib), "unknown workload"),
                       (("fib", lib + ",NOEQUALS"), "bad setting")):
        r = run(*args)
        if r.returncode != 2 or "error:" not in r.stderr:
            failures.append(f"{what}: exit {r.returncode}, stderr {r.stderr[-200:]!r}")
    for f in failures:
        print("FAIL", f)
    print("bench-ab:", "all checks passed" if not failures else f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
