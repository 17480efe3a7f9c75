"""fork() while 4 threads allocate and free: 24 children (half leave with os._exit, half with
sys.exit) must all finish; a child that hangs (a lock held across fork) is reported and killed."""
import os
import sys
import threading
import time

MiB = 1024 * 1024
stop = threading.Event()


def churn(i):
    keep = []
    while not stop.is_set():
        keep.append(bytes(100 + len(keep) % 900))
        if len(keep) > 5000:
            keep.clear()


threads = [threading.Thread(target=churn, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
pids = []
for k in range(24):
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        data = bytearray(2 * MiB)  # LINE:FC
        if k % 2:
            os._exit(0 if data else 1)
        sys.exit(0)
    pids.append(pid)
    time.sleep(0.01)
hung = 0
statuses = []
deadline = time.monotonic() + 90
pending = set(pids)
while pending and time.monotonic() < deadline:
    for pid in list(pending):
        r, st = os.waitpid(pid, os.WNOHANG)
        if r:
            statuses.append(st)
            pending.discard(pid)
    time.sleep(0.05)
for pid in pending:
    hung += 1
    os.kill(pid, 9)
    os.waitpid(pid, 0)
stop.set()
for t in threads:
    t.join()
print("children", len(pids), "hung", hung, "nonzero", sum(1 for s in statuses if s))
