"""Acceptance 5: subprocess runs ls, bash and a Python child under the inherited preload. The
program's output is byte-identical to a run without the shim; the Python child is a process of
the same run whose parent is the spawning process; ls and bash leave no process rows."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    h.need_python()
    h.shim_lib()
    view = h.viewer()
    c = h.Checker("subprocess")
    with h.TempDir("subprocess") as tmp:
        src = h.prog(tmp, "spawner.py")
        listing = tmp.sub("listing", make=True)
        for n in ("alpha", "beta", "gamma.txt"):
            open(os.path.join(listing, n), "w").close()
        work = tmp.sub("work", make=True)
        db = tmp.sub("out", "profile.db")
        os.makedirs(os.path.dirname(db))
        plain = h.run([h.PY, src, listing], shim=False, cwd=work)
        res = h.run([h.PY, src, listing], output=db, cwd=work)
        c.same_output(plain, res, "spawner output (incl. the children's, as captured)")
        c.check("python 5 b'child 20971520\\n' b''" in plain.stdout, "unprofiled run sanity",
                "the Python child's output", plain.stdout)
        c.eq(sorted(os.listdir(work)), [], "files created in the cwd")
        p = h.Profile(db)
        c.eq(p.integrity(), "ok", "integrity_check")
        procs = p.processes()
        c.eq(len(procs), 2, "process rows (the spawner and its Python child only): %r" % [
            (x["pid"], x["argv"]) for x in procs])
        root = p.root()
        kids = [x for x in procs if x["id"] != root["id"]]
        if c.check(len(kids) >= 1, "Python child process row", "present", procs):
            kid = kids[0]
            c.eq(kid["run"], root["run"], "child: same run")
            c.eq(kid["parent"], root["id"], "child: parent = spawner's process id")
            c.eq(kid["ppid"], root["pid"], "child: ppid = spawner's pid")
            c.check('"-c"' in kid["argv"], "child argv", "contains \"-c\"", kid["argv"])
            c.eq(kid["end_reason"], "exit", "child end_reason")
            c.eq(kid["exit_status"], 5, "child exit_status")
            f = p.last(kid["id"], "final")
            if c.check(f is not None, "child final snapshot", "present",
                       [s["kind"] for s in p.snapshots(kid["id"])]):
                c.near(p.line(f["id"], "<string>", 1), 20 * h.MiB,
                       "child final: <string>:1 [top: %s]" % p.top_lines(f["id"]))
        c.eq(root["end_reason"], "exit", "spawner end_reason")
        c.eq(root["exit_status"], 0, "spawner exit_status")
        c.check(p.last(root["id"], "final") is not None, "spawner final snapshot", "present",
                [s["kind"] for s in p.snapshots(root["id"])])
        p.close()
        if view:
            runs = h.view_json(view, db, "runs", check=c, what="runs")
            if runs:
                rs = runs.get("runs", [])
                c.eq(len(rs), 1, "viewer runs: one run")
                if rs:
                    c.eq(len(rs[0].get("processes", [])), 2, "viewer runs: two processes")
        other_spawns(c, tmp, listing)
    c.finish()


def other_spawns(c, tmp, listing):
    name = "posix_spawn / preexec_fn / os.system"
    src = h.prog(tmp, "spawner2.py")
    work = tmp.sub("work2", make=True)
    db = tmp.sub("out", "spawn2.db")
    plain = h.run([h.PY, src, listing], shim=False, cwd=work)
    c.eq(plain.returncode, 0, "%s: unprofiled run works (%r)" % (name, plain.stderr[-500:]))
    res = h.run([h.PY, src, listing], output=db, cwd=work)
    c.same_output(plain, res, name)
    c.at_most(res.duration, plain.duration + 5.0, "%s: run time in seconds (unprofiled %.2f s)" % (
        name, plain.duration))
    p = h.Profile(db)
    c.eq(p.integrity(), "ok", "%s: integrity_check" % name)
    procs = p.processes()
    root = p.root()
    ids = {x["id"] for x in procs}
    c.eq(sorted({x["run"] for x in procs}), [root["run"]], "%s: one run" % name)
    c.eq([x["pid"] for x in procs if x["id"] != root["id"] and x["parent"] not in ids], [],
         "%s: processes whose parent is not in the file" % name)
    c.eq([(x["pid"], x["argv"]) for x in procs if x["end_reason"] is None], [],
         "%s: processes with no recorded end" % name)
    for marker in ("posix_spawn_child", "preexec_child"):
        kids = [x for x in procs if marker in x["argv"]]
        if not c.eq(len(kids), 1, "%s: process rows of the Python child %s (%r)" % (
                name, marker, [(x["pid"], x["argv"]) for x in procs])):
            continue
        kid = kids[0]
        c.check(kid["parent"] in ids, "%s: %s has a parent in the file" % (name, marker), "yes", kid["parent"])
        if marker == "posix_spawn_child":
            c.eq(kid["parent"], root["id"], "%s: %s's parent is the spawner" % (name, marker))
        f = p.last(kid["id"], "final")
        if c.check(f is not None, "%s: %s final snapshot" % (name, marker), "present", None):
            c.near(p.line(f["id"], "<string>", 1), 12 * h.MiB, "%s: %s <string>:1" % (name, marker))
    p.close()


if __name__ == "__main__":
    main()
