#!/usr/bin/env python3
"""Interleaved A/B comparison of pymem builds or settings on one workload.

    python3 bench/ab.py [--rounds N] [--size S] WORKLOAD VARIANT [VARIANT ...]

A VARIANT is a libpymem.so path, optionally followed by environment settings for that run:
`build/preload/libpymem.so,PYMEM_INTERVAL=0`. Each round runs plain Python, then every variant,
once each, in an order that rotates from round to round; the report gives, per variant, the
median over rounds of (variant / plain of the same round) for wall time and for CPU time (user +
system of the process and the children it reaped), with the range of the wall ratios. On this
noisy machine a difference under ~3% needs 15+ rounds to show, and CPU moves less than wall.
The bars of DESIGN.md §5 are run.py's job; this is for telling two builds apart.

Exit status: 0 when every run worked; 1 when one exited abnormally or hung; 2 on a usage error.
"""

import argparse
import os
import statistics
import sys
import tempfile

import run as harness


def parse_variant(text):
    """'lib[,VAR=value...]' -> (label, lib path, {VAR: value})."""
    lib, *settings = text.split(",")
    env = {}
    for s in settings:
        name, sep, value = s.partition("=")
        if not sep or not name:
            raise ValueError(f"bad setting {s!r} in {text!r} (want VAR=value)")
        env[name] = value
    if not os.path.isfile(lib):
        raise ValueError(f"no such library: {lib}")
    return text, os.path.abspath(lib), env


def one_run(workload, size, lib, env_extra, tmp, n):
    """One run of the workload, through run.py's command builder: plain when lib is None,
    else pymem with lib and env_extra on top. Returns a harness.Run."""
    setup = harness.Setup(python=sys.executable, lib=lib, view=None, memray=False, tmp=tmp,
                          timeout=600)
    profile = os.path.join(tmp, f"ab-{n}.db")
    argv, env = harness.workload_command(setup, harness.PYMEM if lib else harness.PLAIN,
                                         os.path.join(harness.WORKLOADS_DIR, workload.script),
                                         size, profile)
    if lib:
        env.update(env_extra)
    run = harness.run_process(argv, env, setup.timeout, cwd=tmp)
    harness.remove_profile(profile)
    return run


def main(argv):
    p = argparse.ArgumentParser(description="interleaved A/B comparison of pymem variants")
    p.add_argument("workload", help="a workload name of bench/run.py, e.g. black")
    p.add_argument("variants", nargs="+", help="LIB[,VAR=value...]")
    p.add_argument("--rounds", type=int, default=11)
    p.add_argument("--size", type=int, help="the workload's size (default: its full size)")
    args = p.parse_args(argv)
    by_name = {w.name: w for w in harness.WORKLOADS}
    if args.workload not in by_name:
        p.error(f"unknown workload {args.workload!r} (one of {', '.join(by_name)})")
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    try:
        variants = {label: (lib, env) for label, lib, env in map(parse_variant, args.variants)}
    except ValueError as e:
        p.error(str(e))
    variants["plain"] = (None, {})
    workload = by_name[args.workload]
    size = args.size or workload.full
    labels = ["plain"] + [label for label in variants if label != "plain"]
    runs = {label: [] for label in labels}
    failed = False
    with tempfile.TemporaryDirectory(prefix="pymem-ab-") as tmp:
        n = 0
        for r in range(args.rounds):
            order = labels[r % len(labels):] + labels[:r % len(labels)]
            for label in order:
                run = one_run(workload, size, *variants[label], tmp, n)
                n += 1
                if run.timed_out or run.status not in workload.ok:
                    failed = True
                    print(f"round {r + 1} {label}: exit {run.status}"
                          f"{' (timed out)' if run.timed_out else ''}", file=sys.stderr)
                runs[label].append(harness.normalize(run, workload))
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    plain = runs["plain"]
    print(f"{workload.name} size {size}, {args.rounds} rounds; plain: wall "
          f"{statistics.median(r.wall for r in plain):.3f} s, CPU "
          f"{statistics.median(r.cpu for r in plain):.3f} s")
    print(f"| variant | wall × plain | range | CPU × plain |\n|---|---:|---:|---:|")
    for label in labels[1:]:
        wall = harness.ratios(runs[label], plain, lambda r: r.wall)
        cpu = harness.ratios(runs[label], plain, lambda r: r.cpu)
        if not wall:
            print(f"| `{label}` | n/a | n/a | n/a |")
            continue
        print(f"| `{label}` | {statistics.median(wall):.3f}× | {min(wall):.2f}–{max(wall):.2f}× "
              f"| {statistics.median(cpu):.3f}× |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
