#!/usr/bin/env python3
"""pymem's bundled example: one small program, one memory lesson per function.

Profile it and look around:

    LD_PRELOAD=libpymem.so python3 examples/app.py     # writes ./pymem.db
    pymem-view timeline          # heap and RSS over time: the hills and the plateau below
    pymem-view top --peak --user # who held the memory at the high-water mark, by line of yours
    pymem-view leaks             # what was still live when the program ended

(examples/README.md also shows how to read the churn with sqlite3.)

It also runs unchanged without the profiler.  Each function below says what the profile
will show for it; the sizes are chosen so every situation stands out from the rest
(about a second without the profiler).
"""

import numpy as np

MiB = 1024 * 1024

N_SQUARES = 2_000_000


def squares_with_a_list():
    """The list comprehension materialises all 2M ints (32 bytes each) and a 16 MB array of
    pointers before sum() sees the first one: ~75 MiB live at once, on this line. In the
    timeline (heap over time) it is a hill that lasts as long as the function."""
    return sum([i * i for i in range(N_SQUARES)])


def squares_with_a_generator():
    """Same work, same result, but each square is dropped as soon as sum() has added it:
    almost nothing is live at any moment, so the timeline stays flat while it runs. The
    churn (bytes allocated over the run) is of the same order for both: what differs is
    how much is alive at once."""
    return sum(i * i for i in range(N_SQUARES))


def dict_built_in_a_loop():
    """A dict of 200k str -> int filled one key at a time: the hash table is resized
    (reallocated) as it grows, and the keys are 200k small string objects. Expect ~25 MiB
    attributed to the key-formatting line and the assignment, plus the table itself."""
    d = {}
    for i in range(200_000):
        d[f"key-{i}"] = i
    return d


def concat_in_a_loop(pieces):
    """`s += piece` in a loop. CPython cheats here: while nothing else references `s` it
    grows the string in place with realloc, so live memory stays small. But every step is
    still a new, slightly bigger block: the churn (bytes allocated over the run) on this
    line is over 30 GiB for a 0.7 MB result. Keep a second reference to `s` and each step
    becomes a full copy."""
    s = ""
    for p in pieces:
        s += p
    return s


def concat_with_join(pieces):
    """''.join computes the final size first and allocates once: one block, no churn."""
    return "".join(pieces)


def numpy_array():
    """np.ones(5_000_000) is a 40 MB buffer allocated by NumPy's C code with malloc, not by
    Python's allocator: pymem counts it as 'native' and still gives it this Python line."""
    a = np.ones(5_000_000)
    return float(a.sum())


# A cache that only grows: every distinct argument adds an entry and nothing ever evicts
# one. Module-level, so it is still alive at exit: `pymem-view leaks` points here.
_CACHE = {}


def expensive(n):
    """Memoised through _CACHE; each result is a 1000-element list (8 KB of pointers plus
    1000 int objects, ~40 KiB in all), kept forever."""
    if n not in _CACHE:
        _CACHE[n] = [n * k for k in range(1000)]
    return _CACHE[n]


def grow_the_cache():
    """400 distinct keys: ~15 MiB that stay in _CACHE until the program exits."""
    return sum(expensive(n)[-1] for n in range(400))


def big_temporary():
    """A 150 MiB bytearray that lives only inside this function. It is the program's
    peak: `top --peak` shows it at the top, while the final snapshot (`leaks`) no longer
    has it. Peak and end of run are different questions."""
    buf = bytearray(150 * MiB)
    buf[::4096] = b"x" * len(buf[::4096])  # touch every page so RSS rises too
    return buf.count(b"x")


def main():
    print(f"sum of squares (list)      = {squares_with_a_list()}")
    print(f"sum of squares (generator) = {squares_with_a_generator()}")

    d = dict_built_in_a_loop()
    print(f"dict built in a loop       : {len(d)} keys")
    del d

    pieces = [f"{i:06d}," for i in range(100_000)]
    a = concat_in_a_loop(pieces)
    b = concat_with_join(pieces)
    assert a == b
    print(f"concatenation              : {len(a)} characters, both ways")
    del a, b, pieces

    print(f"numpy sum of ones          = {numpy_array():.0f}")
    print(f"pages touched in temporary = {big_temporary()}")
    print(f"cache                      : {grow_the_cache()} (sum), "
          f"{len(_CACHE)} entries kept until exit")


if __name__ == "__main__":
    main()
