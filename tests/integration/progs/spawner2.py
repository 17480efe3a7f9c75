"""Other ways to start children: os.posix_spawn of a Python child, subprocess with preexec_fn
(fork + Python code in the child + exec), os.system."""
import os
import subprocess
import sys

listing_dir = sys.argv[1]
code = "import sys; K = bytearray(12 * 1024 * 1024); print('spawned', sys.argv[1], len(K))"
pid = os.posix_spawn(sys.executable, [sys.executable, "-c", code, "posix_spawn_child"], os.environ)
print("posix_spawn status", os.waitpid(pid, 0)[1], flush=True)
r = subprocess.run(["ls", listing_dir], preexec_fn=lambda: None, capture_output=True)
print("preexec ls", r.returncode, repr(r.stdout), flush=True)
r = subprocess.run([sys.executable, "-c", code, "preexec_child"], preexec_fn=lambda: None,
                   capture_output=True)
print("preexec python", r.returncode, repr(r.stdout), flush=True)
print("system", os.system("echo from-system; exit 4") >> 8, flush=True)
