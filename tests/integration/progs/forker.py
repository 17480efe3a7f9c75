"""Scenario 4: os.fork(). Pre-fork 10 MiB (line Q). Child 1 allocates 30 MiB (C1) and leaves
with os._exit(0); child 2 allocates 20 MiB (C2) and leaves with sys.exit(0); the parent
allocates 50 MiB (P) after both forks, then waits."""
import os
import sys

MiB = 1024 * 1024
PRE = bytearray(10 * MiB)  # LINE:Q


def child1():
    buf = bytearray(30 * MiB)  # LINE:C1
    os._exit(0 if len(buf) else 9)


def child2():
    global C2
    C2 = bytearray(20 * MiB)  # LINE:C2
    sys.exit(0)


sys.stdout.flush()
sys.stderr.flush()
p1 = os.fork()
if p1 == 0:
    child1()
p2 = os.fork()
if p2 == 0:
    child2()
PARENT = bytearray(50 * MiB)  # LINE:P
s1 = os.waitpid(p1, 0)[1]
s2 = os.waitpid(p2, 0)[1]
print("parent=%d child1=%d child2=%d status1=%d status2=%d" % (os.getpid(), p1, p2, s1, s2))
