"""A program whose exit queues behind other writers of the profile: the test keeps the file's
write lock taken, writing all along as a queue of large final snapshots would, for longer than
a final snapshot waits for a lock held still. The program tells the test it is ready on stdout
and exits once told to on stdin."""
import sys
import time

KiB = 1024
HELD = [bytearray(64 * KiB) for _ in range(64)]  # LINE:A
MORE = [bytearray(64 * KiB) for _ in range(32)]  # LINE:B
time.sleep(0.5)     # the writer has opened the file and written this process's row
print("ready", flush=True)
sys.stdin.readline()
print("exiting", flush=True)
