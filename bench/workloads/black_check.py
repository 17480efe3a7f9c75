"""black --check on a copy of standard-library code: a pure-Python real program.

Runs `python3 -m black --check -q <copy>` in this process. With several files black forks
worker processes (ProcessPoolExecutor, one per CPU), so this also exercises the profiler
across fork. The cache goes to a fresh directory (BLACK_CACHE_DIR) so no run benefits from
an earlier one. Size: 1 = one file (json/encoder.py), 2 or more = the json package (5 files).
Exit status 1 (some file would be reformatted) is a normal run.
"""

import os
import sys
import sysconfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _realprog import main  # noqa: E402
from _size import size  # noqa: E402

if __name__ == "__main__":
    json_dir = os.path.join(sysconfig.get_paths()["stdlib"], "json")
    source = os.path.join(json_dir, "encoder.py") if size(2) == 1 else json_dir

    def argv(copies, scratch):
        os.environ["BLACK_CACHE_DIR"] = os.path.join(scratch, "black-cache")
        return ["--check", "-q", *copies]

    main("black", argv, [source])
