"""Another process of the machine holds the profile's write lock (the test does, from outside)
while this program allocates and forks, and while its child, whose writer is still registering
it, forks too. The program reports to the test on stdout and waits for its go-ahead on stdin."""
import os
import sys
import time

KiB = 1024
HELD = [bytearray(64 * KiB) for _ in range(64)]  # LINE:A
time.sleep(0.5)     # the writer has opened the file and written this process's row
print("ready", flush=True)
sys.stdin.readline()    # the test holds the write lock now
MORE = [bytearray(64 * KiB) for _ in range(128)]  # LINE:B
time.sleep(1.5)     # every batch of the writer meanwhile finds the file locked
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    # the child's writer is registering this process: it waits for the lock, and this fork
    # waits for the registration (the grandchild's row must name this one as its parent)
    time.sleep(0.5)
    t1 = time.monotonic()
    grandchild = os.fork()
    if grandchild == 0:
        os._exit(0)
    print("child_fork_ms=%.1f grandchild=%d" % ((time.monotonic() - t1) * 1000, grandchild),
          flush=True)
    os.waitpid(grandchild, 0)
    os._exit(0)
print("fork_ms=%.1f" % ((time.monotonic() - t0) * 1000), flush=True)
sys.stdin.readline()    # the lock is released
_, status = os.waitpid(pid, 0)
LATER = [bytearray(64 * KiB) for _ in range(32)]  # LINE:C
time.sleep(0.3)
print("child=%d status=%d" % (pid, status), flush=True)
