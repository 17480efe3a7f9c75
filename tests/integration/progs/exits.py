"""Scenario 7: ways to end. 30 MiB kept on line K, then argv[1] decides."""
import os
import signal
import sys
import time

MiB = 1024 * 1024


def hold():
    return bytearray(30 * MiB)  # LINE:K


KEEP = hold()
mode = sys.argv[1]
print("mode", mode, flush=True)


def fail_deep(n):
    if n == 0:
        raise ValueError("boom %d" % len(KEEP))
    fail_deep(n - 1)


if mode == "sys-exit":
    sys.exit(3)
elif mode == "raise":
    fail_deep(3)
elif mode == "_exit":
    sys.stdout.flush()
    os._exit(4)
elif mode == "sigterm-self":
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)
    print("not reached")
elif mode == "sigterm-handled":
    def on_term(signum, frame):
        print("caught", signum, flush=True)
        sys.exit(7)
    signal.signal(signal.SIGTERM, on_term)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)
    print("not reached")
elif mode == "sigterm-ignored":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.2)
    print("survived")
elif mode == "sigint-self":
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(60)
    print("not reached")
elif mode == "exec-python":
    sys.stdout.flush()
    code = ("import sys; K = bytearray(10 * 1024 * 1024); print('exec child', len(K)); "
            "sys.exit(6)")
    os.execv(sys.executable, [sys.executable, "-c", code])
elif mode == "exec-echo":
    sys.stdout.flush()
    os.execv("/bin/echo", ["echo", "exec'd echo"])
elif mode == "end-on-input":
    # ends normally once the test says so (it holds the profile's write lock by then): the
    # atexit callback then waits inside pymem for the final snapshot
    print("ready", flush=True)
    sys.stdin.readline()
    print("ending", flush=True)
elif mode == "wait":
    print("ready", flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.05)
    print("not killed")
elif mode == "teardown":
    # Module teardown, after every atexit callback (so after the final snapshot): free line K's
    # block, wait while the writer ticks, and fork a child that ends at once.
    class AtTeardown:
        def __del__(self):
            global KEEP
            KEEP = None
            time.sleep(0.3)
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            print("teardown done", flush=True)

    TEARDOWN = AtTeardown()
    print("normal end")
else:
    print("normal end")
