import sys
import tracemalloc

if tracemalloc.is_tracing():
    tracemalloc.stop()
    print("tracemalloc stopped")
MiB = 1 << 20


def build(n):
    return bytearray(n * MiB)  # LINE:M


KEEP = build(50)
small = [str(i) for i in range(10000)]  # LINE:SMALL
print("kept", len(KEEP), len(small), sys.flags.dev_mode)
