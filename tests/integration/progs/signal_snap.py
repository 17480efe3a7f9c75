"""Signal snapshot: 40 MiB on line S, SIGUSR2 to self, wait for the test's 'go', free, end."""
import os
import signal
import sys

MiB = 1024 * 1024


def hold():
    return bytearray(40 * MiB)  # LINE:S


X = hold()
os.kill(os.getpid(), signal.SIGUSR2)
print("signalled", flush=True)
go = sys.stdin.readline()
del X
Y = [str(i) for i in range(1000)]
print("done", go.strip(), len(Y))
