"""Acceptance 8: non-Python programs under the shim (ls, bash, sh, gcc) create no file, print
nothing beyond their own output and keep their exit status."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    h.shim_lib()
    c = h.Checker("nonpython")
    with h.TempDir("nonpython") as tmp:
        listing = tmp.sub("listing", make=True)
        for n in ("one", "two", "three.c"):
            with open(os.path.join(listing, n), "w") as f:
                f.write("int main(void) { return 0; }\n")
        cprog = os.path.join(listing, "three.c")
        cases = [
            ("ls", ["ls", listing]),
            ("ls -l", ["ls", "-l", "--time-style=+", listing]),
            ("ls missing", ["ls", os.path.join(listing, "missing")]),
            ("bash -c true", ["bash", "-c", "true"]),
            ("bash -c exit 7", ["bash", "-c", "echo out; echo err >&2; exit 7"]),
            ("sh pipe", ["sh", "-c", "ls %s | sort -r | head -2" % listing]),
            ("gcc --version", ["gcc", "--version"]),
            ("gcc compile", ["gcc", "-c", "-o", os.path.join(tmp.path, "obj", "three.o"), cprog]),
        ]
        os.makedirs(tmp.sub("obj"))
        for name, argv in cases:
            for variant, output in (("default output", None), ("PYMEM_OUTPUT", tmp.sub("out", "x.db"))):
                work = tmp.sub("work-%s-%s" % (name.replace(" ", "_"), variant[0]), make=True)
                if output:
                    os.makedirs(os.path.dirname(output), exist_ok=True)
                plain = h.run(argv, shim=False, cwd=work)
                res = h.run(argv, output=output, cwd=work)
                c.same_output(plain, res, "%s (%s)" % (name, variant))
                c.eq(sorted(os.listdir(work)), [], "%s (%s): files created in the cwd" % (name, variant))
                if output:
                    c.eq(os.listdir(os.path.dirname(output)), [],
                         "%s (%s): files created next to PYMEM_OUTPUT" % (name, variant))
        # even with verbose logging the pass-through processes stay silent? Only check no file.
        work = tmp.sub("work-log", make=True)
        res = h.run(["bash", "-c", "exit 5"], cwd=work, env={"PYMEM_LOG": "info"})
        c.eq(res.returncode, 5, "bash exit 5 with PYMEM_LOG=info: exit status")
        c.eq(sorted(os.listdir(work)), [], "bash with PYMEM_LOG=info: files created in the cwd")
    c.finish()


if __name__ == "__main__":
    main()
