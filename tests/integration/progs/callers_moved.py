"""Scenario 10d: a deep stack whose innermost frame comes back at the same address and the same
instruction while a caller, or a caller's caller, has moved to another line: capture must see
the move (it checks the previous capture's callers instead of walking them)."""
KEEP = []


def leaf(n):
    KEEP.append(bytearray(n))  # LINE:L


def mid(n):
    leaf(n)  # LINE:M1
    leaf(2 * n)  # LINE:M2


def top(n):
    mid(n)  # LINE:T1
    mid(3 * n)  # LINE:T2


def deep(k, n):
    if k:
        return deep(k - 1, n)
    for _ in range(50):
        top(n)


deep(20, 1000)
print("kept", len(KEEP))
