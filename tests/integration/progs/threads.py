"""Scenario 3: 4 threads each keep 8 MiB (128 bytes objects of 64 KiB) allocated on one line,
after some concurrent churn on another line."""
import threading

KIB64 = 64 * 1024
KEPT = [None] * 4
barrier = threading.Barrier(4)


def worker(i):
    barrier.wait()
    for _ in range(50):
        tmp = [bytes(100 + j % 700) for j in range(2000)]  # LINE:CHURN
        del tmp
    barrier.wait()
    KEPT[i] = [bytes(KIB64) for _ in range(128)]  # LINE:T


threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("kept", sum(len(b) for lst in KEPT for b in lst))
