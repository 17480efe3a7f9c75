"""Daemon threads still allocating when the interpreter exits; 200 short-lived threads each
keep 100 KiB on one line (thread-state churn)."""
import threading
import time

KEPT = []
lock = threading.Lock()


def short(i):
    b = bytearray(100 * 1024)  # LINE:SHORT
    with lock:
        KEPT.append(b)


for batch in range(20):
    ts = [threading.Thread(target=short, args=(i,)) for i in range(10)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def forever(i):
    keep = []
    while True:
        keep.append(str(len(keep)) * 3)  # LINE:DAEMON
        if len(keep) > 20000:
            keep = []


for i in range(3):
    threading.Thread(target=forever, args=(i,), daemon=True).start()
time.sleep(0.3)
print("kept", len(KEPT))
