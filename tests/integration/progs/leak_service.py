"""A service-like loop for the analysis commands' end-to-end test: every iteration leaks 4 KiB
on one line (appended to a module-level list, never freed) amid heavy churn on another line
(a 1 MiB list made and dropped each iteration). Runs for the seconds given in argv[1]."""
import sys
import time

KEEP = []


def handle(request):
    KEEP.append(bytearray(4096))  # LINE:LEAK
    return request


def work(n):
    scratch = [n] * (128 * 1024)  # LINE:CHURN
    return len(scratch)


def main():
    end = time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 6)
    i = 0
    while time.monotonic() < end:
        handle(i)
        work(i)
        i += 1
        time.sleep(0.01)
    print("iterations", i, "kept", len(KEEP))


main()
