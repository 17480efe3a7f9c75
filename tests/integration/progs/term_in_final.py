"""SIGTERM while the program's final snapshot is being written: 30 MiB kept on line K, then the
program ends normally once the test has locked the profile, so its atexit callback waits inside
pymem for the writer when the test's SIGTERM arrives."""
import sys

KiB = 1024
KEEP = [bytearray(64 * KiB) for _ in range(480)]  # LINE:K
print("ready", flush=True)
sys.stdin.readline()    # the test holds the profile's write lock now
print("ending", flush=True)
