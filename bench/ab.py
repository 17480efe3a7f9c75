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
    """One run of the workload: plain when lib is None. Returns a harness.Run."""
    profile = os.path.join(tmp, f"ab-{n}.db")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYMEM_") and k not in ("LD_PRELOAD", "PYTHONTRACEMALLOC")}
    if lib:
        env["LD_PRELOAD"] = lib
        env["PYMEM_OUTPUT"] = profile
        env.update(env_extra)
    argv = [sys.executable, os.path.join(harness.WORKLOADS_DIR, workload.script), str(size)]
    run = harness.run_process(argv, env, 600, cwd=tmp)
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
    if args.workload not in by_name or args.rounds < 1:
        p.error(f"unknown workload {args.workload!r} (one of {', '.join(by_name)})"
                if args.workload not in by_name else "--rounds must be at least 1")
    try:
        variants = [parse_variant(v) for v in args.variants]
    except ValueError as e:
        p.error(str(e))
    workload = by_name[args.workload]
    size = args.size or workload.full
    labels = ["plain"] + [v[0] for v in variants]
    runs = {label: [] for label in labels}
    failed = False
    with tempfile.TemporaryDirectory(prefix="pymem-ab-") as tmp:
        n = 0
        for r in range(args.rounds):
            order = labels[r % len(labels):] + labels[:r % len(labels)]
            for label in order:
                lib, extra = next(((v[1], v[2]) for v in variants if v[0] == label), (None, {}))
                run = one_run(workload, size, lib, extra, tmp, n)
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
