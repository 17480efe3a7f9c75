"""Scenario 5: subprocesses under the inherited preload: ls, bash, and a Python child."""
import subprocess
import sys

listing_dir = sys.argv[1]
CHILD = "import sys; KEEP = bytearray(20 * 1024 * 1024); print('child', len(KEEP)); sys.exit(5)"


def show(name, r):
    print(name, r.returncode, repr(r.stdout), repr(r.stderr), flush=True)


show("ls", subprocess.run(["ls", listing_dir], capture_output=True))
show("ls-missing", subprocess.run(["ls", listing_dir + "/missing"], capture_output=True))
show("bash", subprocess.run(["bash", "-c", "echo hi; exit 3"], capture_output=True))
show("python", subprocess.run(["python3", "-c", CHILD], capture_output=True))
show("shell", subprocess.run("ls %s | wc -l; echo err >&2" % listing_dir, shell=True,
                             capture_output=True))
sys.stdout.flush()
# and straight onto our own stdout/stderr
rc = subprocess.call(["bash", "-c", "echo direct; echo direct-err >&2; exit 2"])
print("direct rc", rc)
