"""Scenario 10a: 900-deep recursion allocating 8 MiB at the bottom (kept)."""
import sys

sys.setrecursionlimit(5000)
MiB = 1024 * 1024
KEEP = []


def dive(n):
    if n == 0:
        KEEP.append(bytearray(8 * MiB))  # LINE:D
        return
    dive(n - 1)  # LINE:R


dive(900)  # LINE:TOP
print("deep", len(KEEP[0]))
