"""NumPy arrays: native allocations (NumPy's C code calling malloc), big and small.

Big arrays are a few malloc calls each (the profiler must attribute them to the Python line
that asked); many tiny arrays make the per-malloc cost visible. Size: rounds of big arrays
(and 25,000 tiny ones per round).
"""

import numpy as np

from _size import size


def big(rounds):
    rng = np.random.default_rng(1)
    acc = 0.0
    for _ in range(rounds):
        a = rng.random(1_000_000)
        b = a * 2.0 + 1.0
        c = np.sort(b)
        acc += float(c[-1]) + float(np.ones(500_000).sum())
    return acc


def small(count):
    acc = 0.0
    for i in range(count):
        a = np.arange(i % 16 + 1, dtype=np.float64)
        acc += float((a * a).sum())
    return acc


if __name__ == "__main__":
    n = size(4)
    print(big(n), small(n * 25_000))
