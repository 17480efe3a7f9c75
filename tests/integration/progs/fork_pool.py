"""Sequential workers of one parent meet the same new stacks: worker A allocates 6 MiB on line W
(three calls deep, a stack the parent never met) and exits; only then is worker B forked, and
it does the same. A's rows are committed before B starts, so B names W's stack and its callers
by A's rows instead of writing its own."""
import os
import sys

MiB = 1024 * 1024


def leaf():
    return [bytearray(64 * 1024) for _ in range(96)]  # LINE:W


def middle():
    return leaf()


def work():
    global KEPT
    KEPT = middle()
    sys.exit(0)


sys.stdout.flush()
pids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        work()
    os.waitpid(pid, 0)
    pids.append(pid)
print("a=%d b=%d" % tuple(pids))
