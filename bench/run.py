#!/usr/bin/env python3
"""pymem's benchmark harness: what the profiler costs, measured against the same run without it.

    python3 bench/run.py [--quick] [--out bench/results.md] [--lib PATH] [--view PATH] [--rounds N]

Every workload in bench/workloads/ runs under every configuration (plain, pymem, tracemalloc
at depth 1 and 128, Memray when installed). Configurations are interleaved within a round and
the order rotates from round to round, so a machine that slows down mid-run (thermal, another
build) hurts every configuration alike; only ratios to the plain run *of the same round* are
reported, as medians over the rounds. The result is a markdown report checked against the
budgets of DESIGN.md §5, each bar marked PASS or FAIL.

Exit status: 0 when every run worked, whether or not the bars pass (this is a report);
1 when a workload exited non-zero or hung under any configuration, a pymem run left no
profile with at least one snapshot, or pymem-view failed on one (these are bugs to surface);
2 on a usage error.
"""

import argparse
import datetime
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORKLOADS_DIR = os.path.join(BENCH, "workloads")


@dataclass
class Workload:
    """One program to measure. `full` and `quick` are its size knob (first argument); `ok`
    lists the exit statuses of a normal run (mypy says 1 when it finds type errors)."""
    name: str
    script: str
    full: int
    quick: int
    ok: tuple = (0,)


WORKLOADS = [
    Workload("alloc-heavy", "alloc_heavy.py", full=1_000_000, quick=20_000),
    Workload("fib", "fib.py", full=34, quick=20),
    Workload("object-graph", "object_graph.py", full=700_000, quick=20_000),
    Workload("big-heap", "big_heap.py", full=600_000, quick=20_000),
    Workload("json", "json_roundtrip.py", full=40, quick=2),
    Workload("list-append", "list_append.py", full=3_000_000, quick=50_000),
    Workload("numpy", "numpy_arrays.py", full=4, quick=1),
    Workload("threads", "threads.py", full=250_000, quick=5_000),
    Workload("mypy", "mypy_check.py", full=2, quick=1, ok=(0, 1)),
    Workload("black", "black_check.py", full=2, quick=1),
]

# The budgets of DESIGN.md §5: (workload, what, limit). Wall-time bars are pymem's ratio to plain.
TIME_BARS = [("alloc-heavy", 2.5), ("fib", 1.10), ("mypy", 2.0), ("black", 2.0)]
TOOL_BYTES_BAR = ("object-graph", 32.0)
GROWTH_BAR = ("alloc-heavy", 1.2)

PLAIN, PYMEM, TM1, TM128, MEMRAY = "plain", "pymem", "tracemalloc=1", "tracemalloc=128", "memray"
ALL_CONFIGS = [PLAIN, PYMEM, TM1, TM128, MEMRAY]
# Full-fidelity references are 15-100x slower (black under tracemalloc=128: a minute a run):
# they run in the first round only, to keep the full benchmark under 10 minutes. They are
# anchors to compare with, not budgets.
FIRST_ROUND_ONLY = {TM128, MEMRAY}


@dataclass
class Run:
    """The outcome of one process: wall time, CPU time and peak RSS (from wait4, which cover
    the process and the children it reaped), how it ended, and its profile if any."""
    wall: float
    cpu: float                  # user + system seconds
    maxrss_kib: int
    status: int                 # exit status, or -signal
    timed_out: bool
    stderr: str
    profile: dict = field(default_factory=dict)


@dataclass
class Setup:
    """Everything a run needs to know that does not change between runs."""
    python: str
    lib: str
    view: str | None
    memray: bool
    tmp: str
    timeout: float


# ---------------------------------------------------------------------------------------------
# Running things

def run_process(argv, env, timeout, cwd):
    """Runs argv to completion and returns a Run. The child gets its own session so a timeout
    can kill it together with any workers it forked (black does). Peak RSS comes from os.wait4
    on this very child: RUSAGE_CHILDREN deltas would mix runs up."""
    with tempfile.TemporaryFile(mode="w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, wait_status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(wait_status)  # tell Popen it is reaped
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode,
               timed_out.is_set(), stderr)


def workload_command(setup, config, script_path, size, profile_path):
    """The argv and environment that run `script_path` at `size` under `config`."""
    env = dict(os.environ)
    for var in [v for v in env if v.startswith("PYMEM_")] + ["LD_PRELOAD", "PYTHONTRACEMALLOC"]:
        env.pop(var, None)                      # the caller's settings must not leak in
    py = [setup.python]
    args = [script_path, str(size)]
    if config == PYMEM:
        env["LD_PRELOAD"] = setup.lib
        env["PYMEM_OUTPUT"] = profile_path
        return py + args, env
    if config == TM1:
        return py + ["-X", "tracemalloc=1"] + args, env
    if config == TM128:
        return py + ["-X", "tracemalloc=128"] + args, env
    if config == MEMRAY:
        out = profile_path + ".memray"
        return py + ["-m", "memray", "run", "-q", "-f", "--trace-python-allocators",
                     "-o", out] + args, env
    return py + args, env


def run_workload(setup, workload, config, size, tag):
    """Runs one workload once under one configuration; for pymem also reads what the profile
    says and times the viewer on it, then deletes the profile (they can be large)."""
    profile_path = os.path.join(setup.tmp, f"{workload.name}-{tag}.db")
    argv, env = workload_command(setup, config, os.path.join(WORKLOADS_DIR, workload.script),
                                 size, profile_path)
    run = run_process(argv, env, setup.timeout, cwd=setup.tmp)
    if config == PYMEM:
        run.profile = read_profile(profile_path)
        if setup.view and run.profile.get("snapshots"):
            run.profile["view"] = time_viewer(setup, profile_path)
    remove_profile(profile_path)
    return run


def remove_profile(path):
    """Deletes a profile and its SQLite side files (and a Memray capture), if present."""
    for suffix in ("", "-wal", "-shm", "-journal", ".memray"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass


def time_viewer(setup, db):
    """Wall time of `pymem-view top --peak -f <db>` (the first thing a user runs), and its
    exit status: a viewer that fails on a profile the shim just wrote is a bug too.
    (-f is an option of the command, not of pymem-view itself.)"""
    start = time.perf_counter()
    try:
        done = subprocess.run([setup.view, "top", "--peak", "-f", db], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=setup.timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "status": "timeout", "stderr": ""}
    return {"seconds": time.perf_counter() - start, "status": done.returncode,
            "stderr": done.stderr.decode("utf-8", "replace")}


def read_profile(path):
    """What a pymem profile says about itself: size on disk (db + WAL), snapshot count, and
    from the root process's latest 'peak' snapshot the heap and the tool's own memory.
    Returns {} when there is no readable profile."""
    if not os.path.exists(path):
        return {}
    size = os.path.getsize(path)
    if os.path.exists(path + "-wal"):
        size += os.path.getsize(path + "-wal")
    info = {"file_bytes": size}
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            info["snapshots"] = con.execute("SELECT count(*) FROM snapshot").fetchone()[0]
            row = con.execute(
                "SELECT tool_bytes, heap_blocks, heap_bytes FROM snapshot WHERE kind = 'peak'"
                " AND process = (SELECT id FROM process WHERE parent IS NULL"
                "                ORDER BY id DESC LIMIT 1)"
                " ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:             # no root row: fall back to any process's latest peak
                row = con.execute("SELECT tool_bytes, heap_blocks, heap_bytes FROM snapshot"
                                  " WHERE kind = 'peak' ORDER BY id DESC LIMIT 1").fetchone()
            if row is not None:
                info["tool_bytes"], info["heap_blocks"], info["heap_bytes"] = row
        finally:
            con.close()
    except sqlite3.Error as e:
        info["error"] = str(e)
    return info


# ---------------------------------------------------------------------------------------------
# The benchmark

def configs_for(setup):
    """The configurations this machine can run (Memray only when it imports)."""
    return [c for c in ALL_CONFIGS if c != MEMRAY or setup.memray]


def run_rounds(setup, workloads, rounds, quick):
    """Runs every workload under every configuration, `rounds` times (FIRST_ROUND_ONLY
    configurations once); returns results[workload][config] = [Run per round]. The
    configuration order rotates each round."""
    configs = configs_for(setup)
    results = {w.name: {c: [] for c in configs} for w in workloads}
    later = [c for c in configs if c not in FIRST_ROUND_ONLY]
    total = len(workloads) * (len(configs) + (rounds - 1) * len(later))
    done = 0
    for r in range(rounds):
        this_round = configs if r == 0 else later
        order = this_round[r % len(this_round):] + this_round[:r % len(this_round)]
        for w in workloads:
            size = w.quick if quick else w.full
            for config in order:
                run = run_workload(setup, w, config, size, f"r{r}")
                results[w.name][config].append(run)
                done += 1
                progress(f"[{done}/{total}] round {r + 1} {w.name:13} {config:16} "
                         f"{run.wall:7.2f} s  {describe_end(w, run)}")
    return results


def run_growth(setup, quick):
    """The file-growth check: alloc-heavy at size N and 2N under pymem. The profile must grow
    with unique stacks x snapshots, not with the number of events, so 2N may not cost much
    more file than N. Returns (run at N, run at 2N)."""
    w = next(x for x in WORKLOADS if x.name == GROWTH_BAR[0])
    n = w.quick if quick else w.full
    runs = []
    for mult in (1, 2):
        run = run_workload(setup, w, PYMEM, n * mult, f"growth{mult}")
        progress(f"[growth] {w.name} size {n * mult}: {run.wall:.2f} s, "
                 f"{run.profile.get('file_bytes', 0)} bytes  {describe_end(w, run)}")
        runs.append(run)
    return runs


def describe_end(workload, run):
    """'ok', or how a run went wrong, in a few words."""
    if run.timed_out:
        return "TIMEOUT"
    if run.status < 0:
        try:
            name = signal.Signals(-run.status).name
        except ValueError:
            name = f"signal {-run.status}"
        return f"FAILED (killed by {name})"
    if run.status not in workload.ok:
        return f"FAILED (status {run.status})"
    return "ok"


def progress(line):
    print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Problems: anything that makes the exit status 1

def find_problems(results, growth_runs, workloads):
    """Every run that went wrong, one line each (with the tail of its stderr)."""
    problems = []
    by_name = {w.name: w for w in workloads}
    all_runs = [(name, config, f"round {i + 1}", run) for name, per in results.items()
                for config, runs in per.items() for i, run in enumerate(runs)]
    all_runs += [(GROWTH_BAR[0], PYMEM, f"growth check, size ×{i + 1}", run)
                 for i, run in enumerate(growth_runs)]
    for name, config, which, run in all_runs:
        where = f"{name} under {config} ({which})"
        end = describe_end(by_name[name], run)
        if end != "ok":
            problems.append(f"{where}: {end}; stderr: {tail(run.stderr)}")
        if config != PYMEM:
            continue
        if not run.profile:
            problems.append(f"{where}: no profile file was written; stderr: {tail(run.stderr)}")
        elif "error" in run.profile:
            problems.append(f"{where}: profile unreadable: {run.profile['error']}")
        elif not run.profile.get("snapshots"):
            problems.append(f"{where}: profile has no snapshot")
        view = run.profile.get("view")
        if view and view["status"] != 0:
            problems.append(f"{where}: `pymem-view top --peak` exited {view['status']}: "
                            f"{tail(view['stderr'])}")
    return problems


def tail(text, lines=4):
    """The last few lines of a process's stderr, on one line."""
    kept = [x for x in text.strip().splitlines() if x.strip()][-lines:]
    return " | ".join(kept) if kept else "(empty)"


def pymem_messages(results):
    """Distinct stderr lines mentioning pymem from the pymem runs: warnings worth reading."""
    seen = []
    for per in results.values():
        for run in per.get(PYMEM, []):
            for line in run.stderr.splitlines():
                if ("pymem" in line or "ld.so" in line) and line not in seen:
                    seen.append(line)
    return seen


# ---------------------------------------------------------------------------------------------
# Numbers

def ratios(num_runs, den_runs, key):
    """key(run) / key(plain run of the same round) for each round, skipping failed runs."""
    return [key(a) / key(b) for a, b in zip(num_runs, den_runs)
            if a.status == 0 and b.status == 0 and not a.timed_out and key(b) > 0]


def median_ratio(num_runs, den_runs, key):
    """Median over rounds of key(run) / key(plain run of the same round)."""
    values = ratios(num_runs, den_runs, key)
    return statistics.median(values) if values else None


def median_of(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def tool_bytes_per_block(run):
    p = run.profile
    if p.get("heap_blocks"):
        return p["tool_bytes"] / p["heap_blocks"]
    return None


def summarize(results, workloads, configs):
    """Per workload: plain time, each configuration's time and peak-RSS ratios, and what the
    pymem profiles say (tool bytes per live block, peak heap, file size, viewer latency)."""
    rows = {}
    for w in workloads:
        per = results[w.name]
        plain = per[PLAIN]
        ok_plain = [r for r in plain if r.status in w.ok and not r.timed_out]
        row = {
            "plain_s": median_of([r.wall for r in ok_plain]),
            "plain_rss": median_of([r.maxrss_kib for r in ok_plain]),
            "time": {}, "rss": {},
        }
        for c in configs:
            if c == PLAIN:
                continue
            runs = [normalize(r, w) for r in per[c]]
            base = [normalize(r, w) for r in plain]
            row["time"][c] = median_ratio(runs, base, lambda r: r.wall)
            if c == PYMEM:
                spread = ratios(runs, base, lambda r: r.wall)
                row["pymem_range"] = (min(spread), max(spread)) if len(spread) > 1 else None
                row["pymem_cpu"] = median_ratio(runs, base, lambda r: r.cpu)
            row["rss"][c] = median_ratio(runs, base, lambda r: r.maxrss_kib)
        pruns = per.get(PYMEM, [])
        row["tool_per_block"] = median_of([tool_bytes_per_block(r) for r in pruns])
        row["heap_bytes"] = median_of([r.profile.get("heap_bytes") for r in pruns])
        row["file_bytes"] = median_of([r.profile.get("file_bytes") for r in pruns])
        row["view_s"] = median_of([r.profile["view"]["seconds"] for r in pruns
                                   if r.profile.get("view") and r.profile["view"]["status"] == 0])
        rows[w.name] = row
    return rows


def normalize(run, workload):
    """A copy of run whose status is 0 when it is a normal end for this workload, so the
    ratio code only has to know 'worked or not'."""
    ok = run.status in workload.ok and not run.timed_out
    return Run(run.wall, run.cpu, run.maxrss_kib, 0 if ok else 1, run.timed_out, "", run.profile)


def check_bars(rows, growth_runs, quick):
    """The budgets as (bar, measured text, limit text, PASS/FAIL/n/a); in quick mode the
    verdicts get a '*': at tiny sizes start-up dominates, so they say little."""
    bars = [(b, m, l, f"**{v}**") for b, m, l, v in check_bars_raw(rows, growth_runs)]
    if quick:
        bars = [(b, m, l, v + "\\*" if v != "**n/a**" else v) for b, m, l, v in bars]
    return bars


def check_bars_raw(rows, growth_runs):
    bars = []
    for name, limit in TIME_BARS:
        value = rows.get(name, {}).get("time", {}).get(PYMEM)
        bars.append((f"{name}: wall time under pymem", fmt_ratio(value), f"≤ {limit:.2f}×",
                     verdict(value, limit)))
    name, limit = TOOL_BYTES_BAR
    value = rows.get(name, {}).get("tool_per_block")
    bars.append((f"{name}: tool memory per live block", fmt_num(value, " B"), f"≤ {limit:.0f} B",
                 verdict(value, limit)))
    name, limit = GROWTH_BAR
    sizes = [r.profile.get("file_bytes") for r in growth_runs]
    value = sizes[1] / sizes[0] if len(sizes) == 2 and all(sizes) else None
    measured = (f"{fmt_ratio(value)} ({fmt_bytes(sizes[0])} → {fmt_bytes(sizes[1])})"
                if value else "n/a")
    bars.append((f"{name}: profile size at 2N / at N", measured, f"≤ {limit:.1f}×",
                 verdict(value, limit)))
    return bars


def verdict(value, limit):
    if value is None:
        return "n/a"
    return "PASS" if value <= limit else "FAIL"


def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.2f}×"


def fmt_secs(x):
    return "n/a" if x is None else f"{x:.3f} s"


def fmt_num(x, unit=""):
    return "n/a" if x is None else f"{x:.1f}{unit}"


def fmt_bytes(n):
    if n is None:
        return "n/a"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


# ---------------------------------------------------------------------------------------------
# Report

def machine_description(python):
    """nproc, CPU model, the workloads' Python version, kernel."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    return (f"{len(os.sched_getaffinity(0))} CPUs (nproc), {model}, "
            f"Python {version} ({python}), Linux {platform.release()}")


def git_revision():
    done = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "no commit"


def render(setup, args, rows, bars, configs, problems, messages, workloads):
    """The markdown report."""
    cols = [c for c in configs if c != PLAIN]
    out = []
    add = out.append
    add("# pymem benchmark")
    add("")
    add(f"- Date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}")
    add(f"- Machine: {machine_description(setup.python)}")
    add(f"- pymem: {args.lib_desc}, git {git_revision()}; viewer: {args.view_desc}")
    add(f"- Mode: {'quick (tiny sizes: ratios mostly measure start-up)' if args.quick else 'full'}"
        f", {args.rounds} round(s), configurations interleaved; ratios are medians over rounds of "
        f"(config / plain of the same round)")
    slow = [c for c in cols if c in FIRST_ROUND_ONLY]
    if slow and args.rounds > 1:
        add(f"- {', '.join(slow)}: first round only (15-100× slower; a reference, not a budget)")
    if not setup.memray:
        add("- Memray: unavailable (`import memray` fails), not measured")
    add("")
    add("## Budgets (DESIGN.md §5)")
    add("")
    add("| bar | measured | limit | result |")
    add("|---|---|---|---|")
    for bar, measured, limit, result in bars:
        add(f"| {bar} | {measured} | {limit} | {result} |")
    if args.quick:
        add("")
        add("\\* quick mode: tiny sizes, where interpreter and profiler start-up dominate; these "
            "verdicts do not measure the budgets (run without --quick for that).")
    add("")
    add("## Wall time (× plain)")
    add("")
    add("The pymem range is the lowest and highest ratio over the rounds: a wide one means a "
        "noisy machine. pymem CPU is the median ratio of CPU time (user + system, the process and "
        "the children it reaped): steadier than wall time on a noisy machine; the bars are on "
        "wall time.")
    add("")
    add("| workload | size | plain | " + " | ".join(cols) + " | pymem range | pymem CPU |")
    add("|---|---:|---:|" + "---:|" * len(cols) + "---:|---:|")
    for w in workloads:
        r = rows[w.name]
        size = w.quick if args.quick else w.full
        spread = r.get("pymem_range")
        spread = f"{spread[0]:.2f}–{spread[1]:.2f}×" if spread else "n/a"
        add(f"| {w.name} | {size:,} | {fmt_secs(r['plain_s'])} | "
            + " | ".join(fmt_ratio(r["time"].get(c)) for c in cols)
            + f" | {spread} | {fmt_ratio(r.get('pymem_cpu'))} |")
    add("")
    add("## Memory and profile")
    add("")
    add("Peak RSS is ru_maxrss of the workload process (os.wait4). Tool memory per live block is "
        "tool_bytes / heap_blocks of the profile's latest `peak` snapshot (root process); "
        "profile size is the .db plus its -wal; the viewer column is the wall time of "
        "`pymem-view top --peak -f <db>`.")
    add("")
    add("| workload | plain RSS | " + " | ".join(f"RSS {c}" for c in cols)
        + " | pymem peak heap | tool B / live block | profile size | `top --peak` |")
    add("|---|---:|" + "---:|" * len(cols) + "---:|---:|---:|---:|")
    for w in workloads:
        r = rows[w.name]
        plain_rss = None if r["plain_rss"] is None else r["plain_rss"] * 1024
        view_ms = None if r["view_s"] is None else r["view_s"] * 1000
        add(f"| {w.name} | {fmt_bytes(plain_rss)} | "
            + " | ".join(fmt_ratio(r["rss"].get(c)) for c in cols)
            + f" | {fmt_bytes(r['heap_bytes'])} | {fmt_num(r['tool_per_block'], ' B')}"
            f" | {fmt_bytes(r['file_bytes'])} | {fmt_num(view_ms, ' ms')} |")
    add("")
    add("## Problems")
    add("")
    if problems:
        add("These make the exit status 1:")
        add("")
        out.extend(f"- {p}" for p in problems)
    else:
        add("None: every run exited normally and every pymem run left a profile with snapshots.")
    if messages:
        add("")
        add("Messages on stderr from the pymem runs:")
        add("")
        add("```")
        out.extend(messages[:30])
        add("```")
    add("")
    add(f"Command: `python3 bench/run.py {' '.join(sys.argv[1:])}`".replace("  ", " "))
    add("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Command line

def default_lib():
    """build/preload/libpymem.so when built, else the bare name the loader resolves once
    pymem is installed (DESIGN.md §2.1)."""
    built = os.path.join(REPO, "build", "preload", "libpymem.so")
    return built if os.path.exists(built) else "libpymem.so"


def default_view():
    built = os.path.join(REPO, "build", "viewer", "pymem-view")
    return built if os.path.exists(built) else shutil.which("pymem-view")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run.py", description=(
        "Measure pymem's overhead against plain runs and tracemalloc; write a markdown report."))
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes, one round: CI's smoke test (< 2 min)")
    p.add_argument("--out", default=os.path.join(BENCH, "results.md"),
                   help="markdown report to write (default: bench/results.md)")
    p.add_argument("--lib", default=None,
                   help="libpymem.so to preload (default: build/preload/libpymem.so if built, "
                        "else the bare name libpymem.so)")
    p.add_argument("--view", default=None,
                   help="pymem-view (default: build/viewer/pymem-view, else on PATH)")
    p.add_argument("--rounds", type=int, default=None,
                   help="rounds of every workload under every configuration (default 5; 1 with "
                        "--quick)")
    p.add_argument("--only", default=None, metavar="W1,W2",
                   help="run only these workloads (comma-separated names); bars of the others "
                        "show n/a")
    args = p.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.lib is None:
        args.lib = default_lib()
    elif "/" in args.lib:
        if not os.path.isfile(args.lib):
            p.error(f"--lib {args.lib}: no such file")
        args.lib = os.path.abspath(args.lib)   # runs happen in a temp dir
    if args.view is None:
        args.view = default_view()
    else:
        found = shutil.which(args.view)
        if not found:
            p.error(f"--view {args.view}: not found or not executable")
        args.view = os.path.abspath(found)
    if args.only:
        names = args.only.split(",")
        unknown = [n for n in names if n not in {w.name for w in WORKLOADS}]
        if unknown:
            p.error(f"--only: unknown workload(s) {', '.join(unknown)}; known: "
                    + ", ".join(w.name for w in WORKLOADS))
        args.workloads = [w for w in WORKLOADS if w.name in names]
    else:
        args.workloads = list(WORKLOADS)
    return args


def freeze(path, tmp):
    """Copies the library or viewer under test into the temp dir and returns the copy, so a
    rebuild during the benchmark (ninja rewrites build/ in place) cannot hand a half-written
    file to some runs and a different build to others. A bare name is left to the loader."""
    if not path or "/" not in path:
        return path
    dst = os.path.join(tmp, "under-test", os.path.basename(path))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(path, dst)
    return dst


def describe_file(path):
    """`path` (modified <time>), for the report: which build was measured."""
    if not path or "/" not in path or not os.path.exists(path):
        return f"`{path or 'not found'}`"
    mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path)).strftime("%Y-%m-%d %H:%M:%S")
    return f"`{path}` (built {mtime})"


def memray_available(python):
    return subprocess.run([python, "-c", "import memray"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def main(argv):
    args = parse_args(argv)
    started = time.perf_counter()
    args.lib_desc, args.view_desc = describe_file(args.lib), describe_file(args.view)
    with tempfile.TemporaryDirectory(prefix="pymem-bench-") as tmp:
        setup = Setup(python=sys.executable, lib=freeze(args.lib, tmp), view=freeze(args.view, tmp),
                      memray=memray_available(sys.executable), tmp=tmp,
                      timeout=120.0 if args.quick else 600.0)
        configs = configs_for(setup)
        progress(f"pymem: {args.lib}; viewer: {args.view or 'not found'}; memray: "
                 f"{'yes' if setup.memray else 'unavailable'}; {args.rounds} round(s)")
        results = run_rounds(setup, args.workloads, args.rounds, args.quick)
        growth = (run_growth(setup, args.quick)
                  if any(w.name == GROWTH_BAR[0] for w in args.workloads) else [])
        problems = find_problems(results, growth, args.workloads)
        rows = summarize(results, args.workloads, configs)
        report = render(setup, args, rows, check_bars(rows, growth, args.quick), configs, problems,
                        pymem_messages(results), args.workloads)
    with open(args.out, "w") as f:
        f.write(report)
    print(report)
    progress(f"wrote {args.out} in {time.perf_counter() - started:.0f} s"
             + (f"; {len(problems)} problem(s)" if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
