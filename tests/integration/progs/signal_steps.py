"""Six signal snapshots of a changing heap: each step changes lines A/B, sends SIGUSR2, and
waits for the test (which waits for the snapshot) before the next step."""
import os
import signal
import sys
import time

MiB = 1024 * 1024


def step(k):
    os.kill(os.getpid(), signal.SIGUSR2)
    print("step", k, flush=True)
    sys.stdin.readline()


def a(n):
    return bytearray(n * MiB)  # LINE:A


def b(n):
    return bytearray(n * MiB)  # LINE:B


x = a(10)
step(1)                          # A=10 B=0
y = b(20)
del x
step(2)                          # A=0 B=20
x = a(5)
time.sleep(1.0)                  # for the timeline: 25 MiB live for a while
step(3)                          # A=5 B=20
del y
step(4)                          # A=5 B=0
y = [b(1) for _ in range(7)]
step(5)                          # A=5 B=7
del x, y
step(6)                          # A=0 B=0
print("end")
