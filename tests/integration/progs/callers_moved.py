"""Scenario 10d: a deep stack whose innermost frame comes back at the same address and the same
instruction while only its caller, or only its caller's caller, or only the outermost frame has
moved to another line, or the innermost frame alone has (two allocations in a row in one
function): capture must see the move (it checks the previous capture's callers, two
at a time, instead of walking them). The callers allocate nothing between their calls (sizes
are passed in), so the previous capture is always the innermost frame's. argv[1]: the depth of
the recursion (run odd and even, so that the outermost frame is checked both in a pair and
alone)."""
import sys

KEEP = []


def leaf(n):
    KEEP.append(bytearray(n))  # LINE:L


def mid(a, b):
    leaf(a)  # LINE:M1
    leaf(b)  # LINE:M2


def top(a, b, c, d):
    mid(a, b)  # LINE:T1
    mid(c, d)  # LINE:T2


def one(n):
    leaf(n)  # LINE:O


def top_of_one(a, b):
    one(a)  # LINE:U1
    one(b)  # LINE:U2


def two(a, b):
    x = bytearray(a)  # LINE:W1
    y = bytearray(b)  # LINE:W2
    KEEP.append(x)
    KEEP.append(y)


def deep(k, sizes):
    if k:
        return deep(k - 1, sizes)
    for _ in range(50):
        top(*sizes[:4])
        top_of_one(*sizes[4:6])
        two(*sizes[6:])


def chain(k, n):
    if k:
        return chain(k - 1, n)
    leaf(n)


depth = int(sys.argv[1]) if len(sys.argv) > 1 else 20
SIZES = (1000, 2000, 3000, 6000, 5000, 7000, 11000, 13000)
A, B = 100000, 300000
deep(depth, SIZES)
chain(depth, A)  # LINE:A
chain(depth, B)  # LINE:B
print("kept", len(KEEP))
