"""A forked child killed by SIGKILL keeps its run totals: the parent's first peak snapshot
(written once that peak has held, with the parent's run totals) comes before the fork, then the
child allocates 8 MiB on line K, holds it until its own first peak snapshot is in the file and
is killed from outside (as the OOM killer would: a process killing itself gets its final
snapshot written first). That snapshot is all the file has of the child: it must
carry the child's run totals too, although its parent wrote its own less than a minute before."""
import os
import signal
import sys
import time

KiB = 1024
BASE = [bytearray(64 * KiB) for _ in range(64)]  # LINE:B
time.sleep(0.8)     # the parent's peak settles and is written, run totals with it
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    KEEP = [bytearray(8 * KiB) for _ in range(1024)]  # LINE:K
    time.sleep(30)      # not reached: killed
    os._exit(3)
time.sleep(1.5)         # the child's peak settles and is written
os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
print("child=%d signaled=%d sig=%d" % (pid, os.WIFSIGNALED(status), os.WTERMSIG(status)))
