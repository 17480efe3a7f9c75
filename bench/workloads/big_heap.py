"""A big heap kept to the end: ~3M objects (dicts, lists, strings) alive at exit.

The shape of a program chasing a peak or an OOM: the live-block table grows to millions of
entries (each insert a cache miss in a large table), and the interpreter's teardown frees
every block. Size: number of records (a dict holding a list of an int and a str).
"""

from _size import size


def build(n):
    return [{"k": i, "v": [i, str(i)]} for i in range(n)]


if __name__ == "__main__":
    records = build(size(600_000))
    print(len(records), sum(len(r["v"][1]) for r in records))
