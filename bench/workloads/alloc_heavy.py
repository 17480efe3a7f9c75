"""Allocation-heavy loop: small dicts, lists, strings and tuples made and dropped at once.

The worst case for a tracing profiler: nearly every bytecode allocates or frees, so the
per-event cost (hook + stack walk + table update) dominates. Live memory stays flat.
Size: loop iterations.
"""

from _size import size


def churn(n):
    total = 0
    for i in range(n):
        d = {"id": i, "name": str(i), "pair": (i, i + 1)}
        items = [d, d["name"] * 3, [i] * 4]
        key = f"{i}:{len(items)}"
        t = tuple(items) + (key,)
        total += len(t) + len(key)
    return total


if __name__ == "__main__":
    print(churn(size(1_000_000)))
