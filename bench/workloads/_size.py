"""Shared by the workloads: the size knob.

Each workload takes its size as the first command-line argument (or the BENCH_SIZE environment
variable), so bench/run.py can make quick mode tiny; the default is the full-benchmark size.
"""

import os
import sys


def size(default):
    """Returns the workload's size: argv[1], else $BENCH_SIZE, else `default`."""
    text = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_SIZE", "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        sys.exit(f"{sys.argv[0]}: size must be an integer, not {text!r}")
    if value < 1:
        sys.exit(f"{sys.argv[0]}: size must be at least 1")
    return value
