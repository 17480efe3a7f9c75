"""fork() under concurrent allocation (no deadlocked child, every child recorded), and
multiprocessing pools with the fork and spawn start methods (output unchanged, every worker a
process of the same run with a recorded end)."""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def fork_stress(c, tmp):
    name = "fork under 4 allocating threads"
    src = h.prog(tmp, "fork_stress.py")
    line_fc = h.find_line(src, "FC")
    db = tmp.sub("stress.db")
    res = h.run([h.PY, src], output=db, cwd=tmp.path)
    c.eq(res.returncode, 0, "%s: exit status (stderr %r)" % (name, res.stderr[-800:]))
    m = re.search(r"children (\d+) hung (\d+) nonzero (\d+)", res.stdout)
    if not c.check(m is not None, "%s: summary line" % name, "children N hung N nonzero N", res.stdout):
        return
    c.eq(int(m.group(2)), 0, "%s: children that hung" % name)
    c.eq(int(m.group(3)), 0, "%s: children with a non-zero status" % name)
    p = h.Profile(db)
    c.eq(p.integrity(), "ok", "%s: integrity_check" % name)
    root = p.root()
    kids = [x for x in p.processes() if x["id"] != root["id"]]
    c.eq(len(kids), 24, "%s: child process rows" % name)
    c.eq(sorted({x["parent"] for x in kids}), [root["id"]], "%s: parents of the children" % name)
    no_final = [x["pid"] for x in kids if p.last(x["id"], "final") is None]
    c.eq(no_final, [], "%s: children without a final snapshot" % name)
    reasons = sorted({x["end_reason"] for x in kids})
    c.eq(reasons, ["_exit", "exit"], "%s: children's end reasons" % name)
    short = []
    for x in kids:
        f = p.last(x["id"], "final")
        if f and p.line(f["id"], src, line_fc) < 2 * h.MiB:
            short.append((x["pid"], p.line(f["id"], src, line_fc)))
    c.eq(short, [], "%s: children whose final lacks the 2 MiB of line FC" % name)
    c.eq(p.dangling(), (0, 0, 0), "%s: live, churn and stack rows naming a missing stack" % name)
    run_ids = {x["id"] for x in p.processes()}
    foreign = [(x["pid"], sorted(p.stack_owners(x["id"]) - run_ids)) for x in kids]
    c.eq([f for f in foreign if f[1]], [],
         "%s: children's rows naming stacks of no process of the run" % name)
    fc = p.q("SELECT s.id >> 32, s.key FROM stack s JOIN frame f ON f.id = s.frame"
             " WHERE f.file = ? AND f.line = ?", src, line_fc)
    kid_ids = {x["id"] for x in kids}
    c.check(1 <= len(fc) <= len(kids) and {r[0] for r in fc} <= kid_ids,
            "%s: line FC's stack, met after each fork: at most a row per child, a child's" % name,
            "1 to %d rows of children" % len(kids), sorted(r[0] for r in fc))
    c.eq(len({r[1] for r in fc}), 1, "%s: line FC's rows have one key" % name)
    p.close()


def pool(c, tmp, method):
    name = "multiprocessing %s pool" % method
    src = h.prog(tmp, "mp.py")
    line_w = h.find_line(src, "W")
    db = tmp.sub("mp-%s.db" % method)
    plain = h.run([h.PY, src, method], shim=False, cwd=tmp.path)
    c.eq(plain.returncode, 0, "%s: unprofiled run works (%r)" % (name, plain.stderr[-500:]))
    res = h.run([h.PY, src, method], output=db, cwd=tmp.path)
    c.same_output(plain, res, name)
    p = h.Profile(db)
    c.eq(p.integrity(), "ok", "%s: integrity_check" % name)
    procs = p.processes()
    root = p.root()
    kids = [x for x in procs if x["id"] != root["id"]]
    c.at_least(len(kids), 2, "%s: worker process rows" % name)
    c.eq(sorted({x["run"] for x in procs}), [root["run"]], "%s: one run" % name)
    c.eq(sorted({x["parent"] for x in kids}), [root["id"]], "%s: the workers' parent" % name)
    c.eq([x["pid"] for x in kids if x["end_reason"] is None], [],
         "%s: workers with no recorded end (%r)" % (name, [(x["pid"], x["argv"]) for x in kids]))
    c.eq([x["pid"] for x in kids if p.last(x["id"], "final") is None], [],
         "%s: workers without a final snapshot" % name)
    # the workers ran `work`: its line shows up in their churn
    churn = 0
    for x in kids:
        for row in p.q("SELECT stack, alloc_blocks FROM churn WHERE process = ?", x["id"]):
            if (src, line_w) in {(f, l) for f, _fn, l in p.chain(row[0])}:
                churn += row[1]
    c.at_least(churn, 20 * 2000, "%s: blocks allocated on line W across the workers" % name)
    p.close()


def main():
    h.need_python()
    h.shim_lib()
    c = h.Checker("multiproc")
    with h.TempDir("multiproc") as tmp:
        fork_stress(c, tmp)
        pool(c, tmp, "fork")
        pool(c, tmp, "spawn")
    c.finish()


if __name__ == "__main__":
    main()
