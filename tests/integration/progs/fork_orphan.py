"""A forked child whose parent dies before it writes what it interned: the parent makes 200
new stacks (a recursion of depth 0-199, 64 KiB kept at each, line G) and forks at once; the
child SIGKILLs it (from outside: a process killing itself gets its final snapshot written
first), keeps those blocks, allocates 8 MiB on line K and exits normally.
Stacks the parent had not written are named by the parent's ids in the child's rows; the
child's final snapshot must write them itself."""
import os
import signal
import sys
import time

KiB = 1024
time.sleep(0.3)     # past the writer's first flush: the stacks below then wait for the next


def grow(n):
    if n == 0:
        return bytearray(64 * KiB)  # LINE:G
    return grow(n - 1)


KEEP = [grow(n) for n in range(200)]
sys.stdout.flush()
if os.fork():
    time.sleep(30)
    sys.exit(3)     # not reached
os.kill(os.getppid(), signal.SIGKILL)
time.sleep(0.5)
MORE = bytearray(8 * 1024 * KiB)  # LINE:K
print("child=%d" % os.getpid())
sys.exit(0 if len(KEEP) == 200 else 9)
