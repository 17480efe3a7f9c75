"""PYMEM_SIGNAL=USR2: the program sends itself SIGUSR2 and continues; a snapshot of kind 'signal'
holds what was live then (40 MiB on line S), the final one no longer has it."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    h.need_python()
    h.shim_lib()
    view = h.viewer()
    c = h.Checker("signal")
    with h.TempDir("signal") as tmp:
        src = h.prog(tmp, "signal_snap.py")
        line_s = h.find_line(src, "S")
        db = tmp.sub("profile.db")
        p = h.start([h.PY, src], output=db, cwd=tmp.path, env={"PYMEM_SIGNAL": "USR2"})
        first = h.read_line(p)
        c.eq(first, "signalled\n", "program survives its SIGUSR2 and goes on")
        got = h.wait_for(lambda: h.has_snapshot(db, "signal"), timeout=60, step=0.2)
        c.check(got, "a snapshot of kind 'signal' appears while the program waits", "within 60 s", "none")
        h.write_line(p, "go\n")
        r = h.finish(p)
        c.eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr[-500:])
        c.eq(r.stdout, "done go 1000\n", "rest of stdout")
        c.eq(r.stderr, "", "stderr")
        if not c.check(os.path.exists(db), "profile", "present", "missing"):
            c.finish()
        pr = h.Profile(db)
        root = pr.root()
        kinds = [s["kind"] for s in pr.snapshots(root["id"])]
        sig = pr.last(root["id"], "signal")
        if c.check(sig is not None, "signal snapshot", "present", kinds):
            c.eq(kinds.count("signal"), 1, "number of signal snapshots (%r)" % kinds)
            c.near(pr.line(sig["id"], src, line_s), 40 * h.MiB,
                   "signal snapshot: line S [top: %s]" % pr.top_lines(sig["id"]))
        final = pr.last(root["id"], "final")
        if c.check(final is not None, "final snapshot", "present", kinds):
            c.eq(pr.line(final["id"], src, line_s), 0, "final snapshot: line S (freed)")
        pr.close()
        if view and sig:
            top = h.view_json(view, db, "top", "--snapshot", str(sig["id"]), "--limit", "0",
                              check=c, what="top --snapshot <signal>")
            if top:
                c.eq(top.get("snapshot", {}).get("kind"), "signal", "viewer: snapshot kind")
                c.near(h.view_line(top, src, line_s), 40 * h.MiB, "viewer: line S in the signal snapshot")
        steps(c, tmp)
    c.finish()


STEPS = [(10, 0), (0, 20), (5, 20), (5, 0), (5, 7), (0, 0)]


def steps(c, tmp):
    """Six signal snapshots with periodic ones (every 0.2 s) in between: each holds exactly the
    state of its step (only changes are stored; this checks they add up)."""
    name = "signal steps"
    src = h.prog(tmp, "signal_steps.py")
    la, lb = h.find_line(src, "A"), h.find_line(src, "B")
    db = tmp.sub("steps.db")
    p = h.start([h.PY, src], output=db, cwd=tmp.path,
                env={"PYMEM_SIGNAL": "USR2", "PYMEM_INTERVAL": "0.2", "PYMEM_TIMELINE_MS": "20"})

    def count():
        if not os.path.exists(db):
            return 0
        pr = h.Profile(db)
        try:
            return pr.q1("SELECT count(*) FROM snapshot WHERE kind = 'signal'")
        finally:
            pr.close()

    for k in range(1, len(STEPS) + 1):
        line = h.read_line(p)
        if not c.eq(line, "step %d\n" % k, "%s: program reached step %d" % (name, k)):
            break
        ok = h.wait_for(lambda: count() >= k, timeout=60, step=0.1)
        c.check(ok, "%s: signal snapshot %d written" % (name, k), "within 60 s", "not")
        h.write_line(p, "go\n")
    r = h.finish(p)
    c.eq((r.returncode, r.stdout, r.stderr), (0, "end\n", ""), "%s: end of the program" % name)
    pr = h.Profile(db)
    root = pr.root()
    sigs = pr.snapshots(root["id"], "signal")
    c.eq(len(sigs), len(STEPS), "%s: signal snapshots" % name)
    for k, (s, (ea, eb)) in enumerate(zip(sigs, STEPS), 1):
        for tag, line, mib in (("A", la, ea), ("B", lb, eb)):
            got = pr.line(s["id"], src, line)
            if mib:
                c.near(got, mib * h.MiB, "%s: snapshot of step %d: line %s" % (name, k, tag))
            else:
                c.at_most(got, 4096, "%s: snapshot of step %d: line %s (nothing live)" % (name, k, tag))
    per = pr.snapshots(root["id"], "periodic")
    c.at_least(len(per), 1, "%s: periodic snapshots (PYMEM_INTERVAL=0.2)" % name)
    for s in pr.snapshots(root["id"]):
        c.near(pr.live_sum(s["id"]), s["heap_bytes"], "%s: snapshot %d (%s): sum of live rows vs heap_bytes"
               % (name, s["id"], s["kind"]))
    # timeline: points in time order with plausible values
    tl = pr.q("SELECT time, heap_bytes, rss_bytes FROM timeline WHERE process = ? ORDER BY rowid", root["id"])
    c.at_least(len(tl), 3, "%s: timeline points" % name)
    c.eq([t for t in range(1, len(tl)) if tl[t][0] < tl[t - 1][0]], [], "%s: timeline out of order" % name)
    c.check(all(r[1] >= 0 and r[2] > 0 for r in tl), "%s: timeline values" % name,
            "heap >= 0, rss > 0", tl[:3])
    c.at_least(max((r[1] for r in tl), default=0), 25 * h.MiB, "%s: timeline max heap (>= 25 MiB live at step 3)" % name)
    pr.close()


if __name__ == "__main__":
    main()
