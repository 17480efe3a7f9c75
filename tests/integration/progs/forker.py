"""Scenario 4: os.fork(). Pre-fork 10 MiB (line Q). Each child first keeps 4 MiB from the same
stack, which neither the parent nor the other child had met (line S), then child 1 allocates
30 MiB (C1) and leaves with os._exit(0); child 2 allocates 20 MiB (C2) and leaves with
sys.exit(0); the parent allocates 50 MiB (P) after both forks, then waits."""
import os
import sys

MiB = 1024 * 1024
PRE = bytearray(10 * MiB)  # LINE:Q


def after_fork():
    return bytearray(4 * MiB)  # LINE:S


def child1():
    buf = bytearray(30 * MiB)  # LINE:C1
    os._exit(0 if len(buf) else 9)


def child2():
    global C2
    C2 = bytearray(20 * MiB)  # LINE:C2
    sys.exit(0)


def child(n):
    global KEPT
    KEPT = after_fork()
    (child1 if n == 1 else child2)()


sys.stdout.flush()
sys.stderr.flush()
pids = []
for n in (1, 2):
    pid = os.fork()
    if pid == 0:
        child(n)
    pids.append(pid)
p1, p2 = pids
PARENT = bytearray(50 * MiB)  # LINE:P
s1 = os.waitpid(p1, 0)[1]
s2 = os.waitpid(p2, 0)[1]
print("parent=%d child1=%d child2=%d status1=%d status2=%d" % (os.getpid(), p1, p2, s1, s2))
