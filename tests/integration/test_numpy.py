"""Acceptance 2: numpy.ones(10_000_000) on a user line: that line holds 80,000,000 B (native
allocation, attributed to the calling Python line) at the final snapshot."""
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    h.need_python()
    if subprocess.run([h.PY, "-c", "import numpy"], capture_output=True).returncode != 0:
        h.skip("numpy is not importable by %s" % h.PY)
    h.shim_lib()
    view = h.viewer()
    c = h.Checker("numpy")
    with h.TempDir("numpy") as tmp:
        src = h.prog(tmp, "numpy_ones.py")
        line_n = h.find_line(src, "N")
        db = tmp.sub("profile.db")
        plain = h.run([h.PY, src], shim=False, cwd=tmp.path)
        res = h.run([h.PY, src], output=db, cwd=tmp.path)
        c.same_output(plain, res, "numpy program output")
        p = h.Profile(db)
        root = p.root()
        final = p.last(root["id"], "final")
        if c.check(final is not None, "final snapshot", "present",
                   [s["kind"] for s in p.snapshots(root["id"])]):
            agg = p.by_line(final["id"]).get((src, line_n))
            total = agg["total_bytes"] if agg else 0
            c.near(total, 80_000_000, "line N (%s:%d) total bytes at the final snapshot [top: %s]" % (
                os.path.basename(src), line_n, p.top_lines(final["id"])))
            # the buffer is malloc'd by numpy's C code: kind 'native', on a stack through line N
            native = sum(r["native_bytes"] for r in p.live(final["id"])
                         if (src, line_n) in {(f, l) for f, _fn, l in p.chain(r["stack"])})
            c.near(native, 80_000_000, "native bytes on stacks through line N")
            # 3.2 GB (calloc'd, never touched): sizes beyond 32 bits
            line_z = h.find_line(src, "Z")
            c.near(p.line(final["id"], src, line_z), 3_200_000_000,
                   "line Z (%d): np.zeros(400M) = 3.2 GB total bytes at the final snapshot" % line_z)
            c.near(final["heap_bytes"], 3_280_000_000, "final heap_bytes (3.28 GB of arrays + the rest)",
                   rel=0.02)
        p.close()
        if view:
            top = h.view_json(view, db, "top", "--final", "--limit", "0", check=c, what="top --final")
            if top:
                c.near(h.view_line(top, src, line_n), 80_000_000, "viewer top --final: line N total_bytes")
    c.finish()


if __name__ == "__main__":
    main()
