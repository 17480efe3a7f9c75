"""Acceptance 3: 4 threads each keep 8 MiB on one line (after concurrent churn elsewhere):
that line holds 32 MiB at the final snapshot."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    h.need_python()
    h.shim_lib()
    view = h.viewer()
    c = h.Checker("threads")
    with h.TempDir("threads") as tmp:
        src = h.prog(tmp, "threads.py")
        line_t, line_churn = h.find_line(src, "T"), h.find_line(src, "CHURN")
        db = tmp.sub("profile.db")
        plain = h.run([h.PY, src], shim=False, cwd=tmp.path)
        res = h.run([h.PY, src], output=db, cwd=tmp.path)
        c.same_output(plain, res, "threads program output")
        p = h.Profile(db)
        root = p.root()
        final = p.last(root["id"], "final")
        if c.check(final is not None, "final snapshot", "present",
                   [s["kind"] for s in p.snapshots(root["id"])]):
            agg = p.by_line(final["id"])
            t = agg.get((src, line_t))
            c.near(t["total_bytes"] if t else 0, 32 * h.MiB,
                   "line T (%d) total bytes at the final snapshot [top: %s]" % (line_t, p.top_lines(final["id"])))
            c.at_least(t["total_blocks"] if t else 0, 4 * 128,
                       "line T blocks at the final snapshot")
            ch = agg.get((src, line_churn))
            c.at_most(ch["total_bytes"] if ch else 0, 1 * h.MiB,
                      "churn line (%d) bytes still live at the final snapshot" % line_churn)
            # churn shows up in the per-process allocation totals: 4 threads x 50 x 2000 blocks
            churn_blocks = 0
            for r in p.q("SELECT stack, alloc_blocks FROM churn WHERE process = ?", root["id"]):
                if (src, line_churn) in {(f, l) for f, _fn, l in p.chain(r[0])}:
                    churn_blocks += r[1]
            c.at_least(churn_blocks, 4 * 50 * 2000, "churn table: blocks allocated on the churn line")
        p.close()
        if view:
            top = h.view_json(view, db, "top", "--final", "--limit", "0", check=c, what="top --final")
            if top:
                c.near(h.view_line(top, src, line_t), 32 * h.MiB, "viewer top --final: line T total_bytes")
        # daemon threads allocating at exit, 200 short-lived threads
        src = h.prog(tmp, "threads_exit.py")
        line_short = h.find_line(src, "SHORT")
        for i in range(3):
            name = "daemon threads at exit (run %d)" % (i + 1)
            db = tmp.sub("exit%d.db" % i)
            res = h.run([h.PY, src], output=db, cwd=tmp.path)
            c.eq((res.returncode, res.stdout, res.stderr), (0, "kept 200\n", ""),
                 "%s: exit status, stdout, stderr" % name)
            if not c.check(os.path.exists(db), "%s: profile" % name, "present", "missing"):
                continue
            p = h.Profile(db)
            root = p.root()
            c.eq(root["end_reason"], "exit", "%s: end_reason" % name)
            final = p.last(root["id"], "final")
            if c.check(final is not None, "%s: final snapshot" % name, "present",
                       [s["kind"] for s in p.snapshots(root["id"])]):
                c.near(p.line(final["id"], src, line_short), 200 * 100 * 1024,
                       "%s: line SHORT (200 threads x 100 KiB)" % name)
            p.close()
    c.finish()


if __name__ == "__main__":
    main()
