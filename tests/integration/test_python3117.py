"""The basic scenario (acceptance 1) under CPython 3.11.7 built with a shared libpython."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_peak_final  # noqa: E402


def main():
    if not os.access(h.PY_SHARED, os.X_OK):
        h.skip("%s not present" % h.PY_SHARED)
    c = h.Checker("python3117")
    test_peak_final.scenario(h.PY_SHARED, c, "py3.11.7-shared")
    c.finish()


if __name__ == "__main__":
    main()
