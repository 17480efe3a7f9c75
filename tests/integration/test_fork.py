"""Acceptance 4: os.fork(). Three processes in the file, one run, the children's parent is the
forking process; each process's final snapshot holds its own lines and not the others'. Stack
ids: the children share the parent's for what they inherited; a stack the children met on their
own is named by the row of whichever child committed it first (a second row, with the same key,
only when both wrote it at once), and the viewer counts it as one."""
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    h.need_python()
    h.shim_lib()
    view = h.viewer()
    c = h.Checker("fork")
    with h.TempDir("fork") as tmp:
        src = h.prog(tmp, "forker.py")
        L = {t: h.find_line(src, t) for t in ("Q", "S", "C1", "C2", "P")}
        db = tmp.sub("profile.db")
        res = h.run([h.PY, src], output=db, cwd=tmp.path)
        c.eq(res.returncode, 0, "forker exit status (stderr %r)" % res.stderr[-1000:])
        c.eq(res.stderr, "", "forker stderr")
        m = re.search(r"parent=(\d+) child1=(\d+) child2=(\d+) status1=(\d+) status2=(\d+)", res.stdout)
        if not c.check(m is not None, "forker stdout", "parent=... line", repr(res.stdout)):
            c.finish()
        ppid, c1pid, c2pid, st1, st2 = map(int, m.groups())
        c.eq(st1, 0, "child 1 wait status")
        c.eq(st2, 0, "child 2 wait status")
        p = h.Profile(db)
        c.eq(p.integrity(), "ok", "integrity_check")
        procs = p.processes()
        c.eq(len(procs), 3, "number of processes (%r)" % [(x["pid"], x["parent"]) for x in procs])
        par, ch1, ch2 = p.process_by_pid(ppid), p.process_by_pid(c1pid), p.process_by_pid(c2pid)
        for name, pr in (("parent", par), ("child1", ch1), ("child2", ch2)):
            c.check(pr is not None, "%s process row" % name, "present", "absent (%r)" % procs)
        if not (par and ch1 and ch2):
            c.finish()
        c.eq(par["parent"], None, "parent process: parent column")
        c.eq(ch1["run"], par["run"], "child1: same run as the parent")
        c.eq(ch2["run"], par["run"], "child2: same run as the parent")
        c.eq(ch1["parent"], par["id"], "child1: parent = forking process id")
        c.eq(ch2["parent"], par["id"], "child2: parent = forking process id")
        c.eq(ch1["ppid"], ppid, "child1: ppid")
        c.eq(ch1["end_reason"], "_exit", "child1 (os._exit(0)): end_reason")
        c.eq(ch1["exit_status"], 0, "child1: exit_status")
        c.eq(ch2["end_reason"], "exit", "child2 (sys.exit(0)): end_reason")
        c.eq(ch2["exit_status"], 0, "child2: exit_status")
        c.eq(par["end_reason"], "exit", "parent: end_reason")

        def final_of(name, pr):
            f = p.last(pr["id"], "final")
            c.check(f is not None, "%s: final snapshot" % name, "present",
                    [s["kind"] for s in p.snapshots(pr["id"])])
            return f

        f_par, f_c1, f_c2 = final_of("parent", par), final_of("child1", ch1), final_of("child2", ch2)
        if f_par:
            c.near(p.line(f_par["id"], src, L["P"]), 50 * h.MiB,
                   "parent final: line P [top: %s]" % p.top_lines(f_par["id"]))
            c.eq(p.line(f_par["id"], src, L["C1"]), 0, "parent final: line C1 absent")
            c.eq(p.line(f_par["id"], src, L["C2"]), 0, "parent final: line C2 absent")
            c.near(p.line(f_par["id"], src, L["Q"]), 10 * h.MiB, "parent final: pre-fork line Q")
        if f_c1:
            c.near(p.line(f_c1["id"], src, L["C1"]), 30 * h.MiB,
                   "child1 final: line C1 [top: %s]" % p.top_lines(f_c1["id"]))
            c.eq(p.line(f_c1["id"], src, L["P"]), 0, "child1 final: line P absent")
            c.eq(p.line(f_c1["id"], src, L["C2"]), 0, "child1 final: line C2 absent")
            c.near(p.line(f_c1["id"], src, L["Q"]), 10 * h.MiB,
                   "child1 final: pre-fork line Q (inherited, still live in the child)")
        if f_c2:
            c.near(p.line(f_c2["id"], src, L["C2"]), 20 * h.MiB,
                   "child2 final: line C2 [top: %s]" % p.top_lines(f_c2["id"]))
            c.eq(p.line(f_c2["id"], src, L["P"]), 0, "child2 final: line P absent")
            c.eq(p.line(f_c2["id"], src, L["C1"]), 0, "child2 final: line C1 absent")
            c.near(p.line(f_c2["id"], src, L["S"]), 4 * h.MiB, "child2 final: line S")
        if f_c1:
            c.near(p.line(f_c1["id"], src, L["S"]), 4 * h.MiB, "child1 final: line S")
        stack_ids(c, p, src, L, par, ch1, ch2)
        p.close()
        if view:
            runs = h.view_json(view, db, "runs", check=c, what="runs")
            if runs:
                rs = runs.get("runs", [])
                c.eq(len(rs), 1, "viewer runs: number of runs")
                if rs:
                    got = sorted((x.get("pid"), x.get("ppid")) for x in rs[0].get("processes", []))
                    c.eq(got, sorted([(ppid, par["ppid"]), (c1pid, ppid), (c2pid, ppid)]),
                         "viewer runs: (pid, ppid) of the processes")
            top = h.view_json(view, db, "top", "--final", "--pid", str(c1pid), "--limit", "0",
                              check=c, what="top --final --pid child1")
            if top:
                c.eq(top.get("process", {}).get("pid"), c1pid, "viewer top --pid child1: process pid")
                c.near(h.view_line(top, src, L["C1"]), 30 * h.MiB, "viewer child1: line C1")
                c.eq(h.view_line(top, src, L["P"]), 0, "viewer child1: line P absent")
            top = h.view_json(view, db, "top", "--final", "--limit", "0", check=c,
                              what="top --final (default: root)")
            if top:
                c.eq(top.get("process", {}).get("pid"), ppid, "viewer top default process = root")
                c.near(h.view_line(top, src, L["P"]), 50 * h.MiB, "viewer parent: line P")
                c.eq(h.view_line(top, src, L["C1"]), 0, "viewer parent: line C1 absent")
            top = h.view_json(view, db, "top", "--final", "--all-processes", "--by", "stack",
                              "--limit", "0", check=c, what="top --all-processes --by stack")
            if top:
                rows = [r for r in top.get("rows", [])
                        if r.get("file") == src and r.get("line") == L["S"]]
                c.eq(len(rows), 1, "viewer --all-processes --by stack: rows of line S (one stack)")
                c.near(sum(r.get("self_bytes", 0) for r in rows), 8 * h.MiB,
                       "viewer --all-processes --by stack: line S, both children")
            snaps = [p_final["id"] for p_final in (f_c1, f_c2) if p_final]
            if len(snaps) == 2:
                diff = h.view_json(view, db, "diff", "--by", "stack", "--limit", "0",
                                   *map(str, snaps), check=c, what="diff --by stack child1 child2")
                if diff:
                    changed = [(r.get("line"), r.get("change_bytes")) for r in diff.get("rows", [])
                               if r.get("file") == src]
                    c.eq([x for x in changed if x[0] == L["S"]], [],
                         "diff --by stack child1 child2: line S unchanged (%r)" % changed)
                    c.near(dict(changed).get(L["C2"], 0), 20 * h.MiB,
                           "diff --by stack child1 child2: line C2 appears")
        closefds(c, tmp)
        orphan(c, tmp)
        killed_child(c, tmp)
        pool(c, tmp, view)
    c.finish()


def stack_ids(c, p, src, L, par, ch1, ch2):
    """Stack ids are (process id << 32 | n) of the process that met the stack first."""
    def stacks_at(line):
        return p.q("SELECT s.id, s.key FROM stack s JOIN frame f ON f.id = s.frame"
                   " WHERE f.file = ? AND f.line = ? ORDER BY s.id", src, line)

    q = stacks_at(L["Q"])
    c.eq([r["id"] >> 32 for r in q], [par["id"]], "line Q: one stack row, the parent's id")
    s = stacks_at(L["S"])
    # both children meet S at once: a second row only if neither had committed its own yet
    c.check(1 <= len(s) <= 2 and {r["id"] >> 32 for r in s} <= {ch1["id"], ch2["id"]},
            "line S: one stack row per child at most, under a child's id", "1 or 2 rows of the "
            "children", [(r["id"] >> 32) for r in s])
    c.eq(len({r["key"] for r in s}), 1, "line S: its rows have one key")
    for name, pr in (("child1", ch1), ("child2", ch2)):
        used = {r[0] for r in p.q("SELECT DISTINCT stack FROM live WHERE process = ?", pr["id"])}
        c.check(bool(q) and q[0]["id"] in used, "%s: its line Q rows use the parent's stack id"
                % name, "yes", sorted(used))
    c.eq(p.dangling(), (0, 0, 0), "live, churn and stack rows naming a missing stack")


def closefds(c, tmp):
    name = "forked child closing all descriptors"
    src = h.prog(tmp, "fork_closefds.py")
    line_cd = h.find_line(src, "CD")
    db = tmp.sub("closefds.db")
    plain = h.run([h.PY, src], shim=False, cwd=tmp.path)
    res = h.run([h.PY, src], output=db, cwd=tmp.path)
    c.same_output(plain, res, name)
    c.at_most(res.duration, plain.duration + 5.0, "%s: run time in seconds (unprofiled %.2f s)" % (
        name, plain.duration))
    p = h.Profile(db)
    procs = p.processes()
    c.eq(len(procs), 2, "%s: process rows" % name)
    if len(procs) == 2:
        kid = procs[1]
        c.eq(kid["end_reason"], "exit", "%s: child end_reason" % name)
        f = p.last(kid["id"], "final")
        if c.check(f is not None, "%s: child final snapshot" % name, "present",
                   [s["kind"] for s in p.snapshots(kid["id"])]):
            c.near(p.line(f["id"], src, line_cd), 8 * h.MiB, "%s: child line CD" % name)
    p.close()


def orphan(c, tmp):
    """The parent dies right after the fork, before writing the stacks it made last: the child,
    whose rows name them by the parent's ids, writes them with its final snapshot."""
    name = "child of a killed parent"
    src = h.prog(tmp, "fork_orphan.py")
    L = {t: h.find_line(src, t) for t in ("G", "K")}
    db = tmp.sub("orphan.db")
    res = h.run([h.PY, src], output=db, cwd=tmp.path, env={"PYMEM_LOG": "debug"})
    c.eq(res.returncode, -9, "%s: the parent died of SIGKILL" % name)
    m = re.search(r"child=(\d+)", res.stdout)
    if not c.check(m is not None, "%s: child stdout" % name, "child=...", repr(res.stdout)):
        return
    c.check("stacks its parent had not written" in res.stderr, "%s: the child wrote stacks for "
            "its parent" % name, "a debug line saying so", repr(res.stderr[-2000:]))
    kid = None
    for _ in range(100):    # the child outlives the parent whose exit the runner saw
        p = h.Profile(db)
        kid = p.process_by_pid(int(m.group(1)))
        if kid and kid["end_time"] is not None:
            break
        p.close()
        time.sleep(0.1)
    if not c.check(kid is not None and kid["end_time"] is not None, "%s: child ended" % name):
        return
    par = p.processes()[0]
    c.eq(par["end_time"], None, "%s: the parent never ended (killed)" % name)
    c.eq(kid["parent"], par["id"], "%s: child's parent" % name)
    c.check(par["id"] in p.stack_owners(kid["id"]), "%s: child rows carry the parent's stack ids"
            % name, "yes", sorted(p.stack_owners(kid["id"])))
    c.eq(p.dangling(), (0, 0, 0), "%s: live, churn and stack rows naming a missing stack" % name)
    f = p.last(kid["id"], "final")
    if c.check(f is not None, "%s: child final snapshot" % name):
        c.near(p.line(f["id"], src, L["G"]), 200 * 64 * 1024, "%s: child line G" % name, rel=0.05)
        c.near(p.line(f["id"], src, L["K"]), 8 * h.MiB, "%s: child line K" % name)
    p.close()


def killed_child(c, tmp):
    """A child SIGKILLed after its first peak snapshot keeps its run totals in the file, even
    when its parent wrote its own less than a minute before the fork (the once-a-minute clock
    of run totals is per process)."""
    name = "SIGKILLed child"
    src, db, m = h.run_prog(c, tmp, name, "fork_killed.py", r"child=(\d+) signaled=1 sig=9")
    if not m:
        return
    line_k = h.find_line(src, "K")
    p = h.Profile(db)
    kid = p.process_by_pid(int(m.group(1)))
    if not c.check(kid is not None, "%s: child process row" % name):
        p.close()
        return
    par = p.processes()[0]
    first_of_child = min([s["id"] for s in p.snapshots(kid["id"])], default=None)
    c.check(first_of_child is not None and p.snapshots(par["id"], "peak") and
            p.snapshots(par["id"], "peak")[0]["id"] < first_of_child,
            "%s: the parent's first peak (with its run totals) was written before the fork"
            % name, "yes", [(s["process"], s["kind"], s["id"]) for s in p.q("SELECT * FROM snapshot")])
    c.eq(p.last(kid["id"], "final"), None, "%s: no final snapshot (killed)" % name)
    peak = p.last(kid["id"], "peak")
    if c.check(peak is not None, "%s: child peak snapshot" % name, "present",
               [s["kind"] for s in p.snapshots(kid["id"])]):
        c.near(p.line(peak["id"], src, line_k), 8 * h.MiB, "%s: child peak, line K" % name,
               rel=0.05)
    got = p.q1("SELECT coalesce(sum(c.alloc_bytes), 0) FROM churn c JOIN stack s ON s.id = c.stack"
               " JOIN frame f ON f.id = s.frame WHERE c.process = ? AND f.file = ? AND f.line = ?",
               kid["id"], src, line_k)
    c.near(got, 8 * h.MiB, "%s: child run total of line K (churn)" % name, rel=0.05)
    p.close()


def pool(c, tmp, view):
    """A worker forked after its sibling has exited names the stacks they both met by the
    sibling's rows: one row for line W's stack and its callers, the sibling's."""
    name = "sequential workers"
    src, db, m = h.run_prog(c, tmp, name, "fork_pool.py", r"a=(\d+) b=(\d+)")
    if not m:
        return
    line_w = h.find_line(src, "W")
    p = h.Profile(db)
    a, b = p.process_by_pid(int(m.group(1))), p.process_by_pid(int(m.group(2)))
    if not c.check(a is not None and b is not None, "%s: both workers' process rows" % name):
        p.close()
        return
    rows = p.q("SELECT s.id FROM stack s JOIN frame f ON f.id = s.frame"
               " WHERE f.file = ? AND f.line = ?", src, line_w)
    c.eq(sorted({r[0] >> 32 for r in rows}), [a["id"]],
         "%s: owners of line W's stack rows (the list and, in its comprehension, the bytearrays)"
         % name)
    chain = p.q("SELECT count(*) FROM stack WHERE id >> 32 = ? AND key IN (SELECT s.key FROM stack"
                " s JOIN frame f ON f.id = s.frame WHERE f.file = ? AND f.function IN"
                " ('work', 'middle', 'leaf', '<listcomp>'))", b["id"], src)[0][0]
    c.eq(chain, 0, "%s: rows worker B wrote for the stacks of work, middle, leaf and its list" % name)
    for who, pr in (("A", a), ("B", b)):
        f = p.last(pr["id"], "final")
        if c.check(f is not None, "%s: worker %s final snapshot" % (name, who)):
            c.near(p.line(f["id"], src, line_w), 6 * h.MiB, "%s: worker %s, line W" % (name, who))
    c.eq(p.dangling(), (0, 0, 0), "%s: live, churn and stack rows naming a missing stack" % name)
    c.eq(p.integrity(), "ok", "%s: integrity_check" % name)
    p.close()
    if view:
        top = h.view_json(view, db, "top", "--final", "--pid", str(b["pid"]), "--limit", "0",
                          check=c, what="%s: top --final --pid B" % name)
        if top:
            c.near(h.view_line(top, src, line_w), 6 * h.MiB, "%s: viewer, worker B, line W" % name)


if __name__ == "__main__":
    main()
