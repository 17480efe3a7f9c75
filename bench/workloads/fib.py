"""Recursive fib: millions of calls, almost no allocation.

Checks that the profiler costs nothing per call (3.11 frames live on the interpreter's data
stack, small ints are cached): a profiler that hooks calls or returns shows up here.
Size: n in fib(n).
"""

from _size import size


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


if __name__ == "__main__":
    print(fib(size(34)))
