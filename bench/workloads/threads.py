"""Four threads allocating at once.

The GIL serialises bytecode, but allocation hooks run on every thread and native code
allocates while the GIL is released: checks that the profiler's tables do not become a
point of contention. Size: loop iterations per thread.
"""

import threading

from _size import size

THREADS = 4


def worker(n, out, slot):
    total = 0
    for i in range(n):
        d = {"i": i, "s": str(i)}
        items = [d, (i, i), d["s"] * 2]
        total += len(items) + len(d["s"])
    out[slot] = total


if __name__ == "__main__":
    n = size(250_000)
    results = [0] * THREADS
    threads = [threading.Thread(target=worker, args=(n, results, k)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sum(results))
