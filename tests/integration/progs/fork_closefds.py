"""A forked child that closes every inherited descriptor (as daemons and preexec_fn-style code
do), then allocates 8 MiB (line CD) and ends normally."""
import os
import sys

MiB = 1024 * 1024
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    os.closerange(3, 65536)
    buf = bytearray(8 * MiB)  # LINE:CD
    sys.exit(0)
st = os.waitpid(pid, 0)[1]
print("child status", st)
