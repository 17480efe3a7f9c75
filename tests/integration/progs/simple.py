"""A small well-behaved program: 20 MiB on line K (kept), a line on stdout and one on stderr,
exit status argv[1] (default 0)."""
import sys

MiB = 1024 * 1024


def hold(n):
    return bytearray(n * MiB)  # LINE:K


KEEP = hold(int(sys.argv[2]) if len(sys.argv) > 2 else 20)
print("simple", len(KEEP), sum(range(1000)))
print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
