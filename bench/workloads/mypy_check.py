"""mypy type-checking real code: a large, long-running, allocation-heavy real program.

Runs `python3 -m mypy --no-incremental --cache-dir=/dev/null <copy of the code>` in this
process (Debian's python3-mypy, mypyc-compiled: its hot code is C calling the Python object
allocator). mypy ends with os._exit() (its "fast exit"), so this also exercises the
profiler's _exit path. Even a tiny file costs ~0.8 s: mypy loads the builtins' stubs first.
Size: 1 = one small file (bench's own _size.py), 2 or more = the click package (~10k lines).
Exit status 0 or 1 (1 = type errors found) is a normal run.
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _realprog import main  # noqa: E402
from _size import size  # noqa: E402


def package_dir(name):
    """Where the installed package `name` lives, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"mypy_check: package {name!r} is not installed")
    return list(spec.submodule_search_locations)[0]


if __name__ == "__main__":
    target = os.path.join(HERE, "_size.py") if size(2) == 1 else package_dir("click")
    main("mypy", lambda copies, scratch: ["--no-incremental", "--cache-dir=/dev/null",
                                          "--ignore-missing-imports", "--no-error-summary",
                                          *copies],
         [target])
