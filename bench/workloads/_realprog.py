"""Shared by the real-program workloads (mypy, black): copy sources to a scratch directory
and run a tool's __main__ in this very process, as `python3 -m tool` would.

Running in-process (runpy) rather than through a subprocess keeps the measured program the
one bench/run.py started, under whatever profiler it started it with. Both tools exit 1 for
an ordinary finding (type errors, files that would be reformatted): that is success here;
anything else is a crash and is passed on.
"""

import os
import runpy
import shutil
import sys
import tempfile


def copy_source(src, dst_root):
    """Copies the file or package directory `src` into `dst_root` (without __pycache__) and
    returns the copy's path: the tools must find no caches, and a package checked in place
    inside site-packages or the stdlib would shadow installed modules."""
    dst = os.path.join(dst_root, os.path.basename(src.rstrip("/")))
    if os.path.isdir(src):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    else:
        shutil.copyfile(src, dst)
    return dst


def run_module(module, argv):
    """Runs `python3 -m module argv...` in this process; returns the tool's exit status."""
    saved = sys.argv
    sys.argv = [module] + list(argv)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = saved
    return status


def main(module, argv_for, sources, ok=(0, 1)):
    """Copies each source to a temp dir, runs the tool on the copies with the arguments
    argv_for(copies, scratch) builds, and exits 0 for any status in `ok`, else that status.
    (mypy ends with os._exit() unless told otherwise, as `python3 -m mypy` does: then its own
    status, 0 or 1 for a normal run, is the process's.)"""
    with tempfile.TemporaryDirectory(prefix="pymem-bench-") as scratch:
        copies = [copy_source(s, scratch) for s in sources]
        os.chdir(scratch)
        sys.stdout.flush()
        status = run_module(module, argv_for(copies, scratch))
    if status not in ok:
        print(f"{module} exited with status {status}", file=sys.stderr)
        sys.exit(status if isinstance(status, int) and status else 3)
    print(f"{module}: status {status} (ok)")
