"""Where the profile goes: PYMEM_DISABLE=1 writes nothing and changes nothing; without
PYMEM_OUTPUT the file is ./pymem.db, mode 0600; a symlink at the output path is not followed;
two runs into one file are two runs and the viewer shows the latest."""
import os
import stat
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    h.need_python()
    h.shim_lib()
    view = h.viewer()
    c = h.Checker("output")
    with h.TempDir("output") as tmp:
        src = h.prog(tmp, "simple.py")
        line_k = h.find_line(src, "K")
        work = tmp.sub("work", make=True)
        plain = h.run([h.PY, src, "0"], shim=False, cwd=work)

        # PYMEM_DISABLE=1: pass-through, no file anywhere
        out = tmp.sub("out", make=True)
        res = h.run([h.PY, src, "0"], output=os.path.join(out, "x.db"), cwd=work,
                    env={"PYMEM_DISABLE": "1"})
        c.same_output(plain, res, "PYMEM_DISABLE=1")
        c.eq(os.listdir(out), [], "PYMEM_DISABLE=1: files at PYMEM_OUTPUT's directory")
        c.eq(os.listdir(work), [], "PYMEM_DISABLE=1: files in the cwd")
        res = h.run([h.PY, src, "0"], cwd=work, env={"PYMEM_DISABLE": "1"})
        c.eq(os.listdir(work), [], "PYMEM_DISABLE=1 without PYMEM_OUTPUT: files in the cwd")

        # default output ./pymem.db, created 0600
        res = h.run([h.PY, src, "0"], cwd=work)
        c.same_output(plain, res, "default output")
        dflt = os.path.join(work, "pymem.db")
        if c.check(os.path.exists(dflt), "default output ./pymem.db", "created", os.listdir(work)):
            c.eq(oct(stat.S_IMODE(os.stat(dflt).st_mode)), oct(0o600), "mode of ./pymem.db")
            p = h.Profile(dflt)
            root = p.root()
            final = p.last(root["id"], "final")
            if c.check(final is not None, "default output: final snapshot", "present", None):
                c.near(p.line(final["id"], src, line_k), 20 * h.MiB, "default output: line K")
            c.eq(p.q1("PRAGMA journal_mode"), "wal", "journal_mode")
            c.check(p.q1("PRAGMA user_version") >= 1, "PRAGMA user_version", ">= 1",
                    p.q1("PRAGMA user_version"))
            p.close()

        # a symlink at the output path is not followed
        target = tmp.sub("symlink-target.db")
        link = tmp.sub("out", "link.db")
        os.symlink(target, link)
        res = h.run([h.PY, src, "0"], output=link, cwd=work)
        c.eq(res.stdout, plain.stdout, "symlinked output: stdout")
        c.eq(res.returncode, plain.returncode, "symlinked output: exit status")
        c.eq(h.other_lines(res.stderr), h.other_lines(plain.stderr), "symlinked output: program's stderr")
        c.check(not os.path.exists(target), "symlinked output: the symlink's target", "not created",
                "created")

        # two runs into one file
        db = tmp.sub("two-runs.db")
        r1 = h.run([h.PY, src, "0", "20"], output=db, cwd=work)
        r2 = h.run([h.PY, src, "0", "30"], output=db, cwd=work)
        c.eq((r1.returncode, r2.returncode), (0, 0), "two runs: exit statuses")
        if c.check(os.path.exists(db), "two runs: profile", "present", "missing"):
            p = h.Profile(db)
            procs = p.processes()
            c.eq(len(procs), 2, "two runs: process rows")
            c.eq(len({x["run"] for x in procs}), 2, "two runs: distinct run ids")
            root = p.root()
            final = p.last(root["id"], "final")
            if final:
                c.near(p.line(final["id"], src, line_k), 30 * h.MiB, "two runs: latest root's line K")
            p.close()
            if view:
                top = h.view_json(view, db, "top", "--final", "--limit", "0", check=c,
                                  what="two runs: top --final")
                if top:
                    c.near(h.view_line(top, src, line_k), 30 * h.MiB,
                           "two runs: viewer defaults to the latest run")
                runs = h.view_json(view, db, "runs", check=c, what="two runs: runs")
                if runs:
                    c.eq(len(runs.get("runs", [])), 2, "two runs: viewer runs")
        # an output path with spaces and non-ASCII characters
        odd = tmp.sub("dir with space", "pröfile ü.db")
        os.makedirs(os.path.dirname(odd))
        res = h.run([h.PY, src, "0"], output=odd, cwd=work)
        c.same_output(plain, res, "odd output path")
        c.check(os.path.exists(odd), "odd output path: profile", "created", os.listdir(os.path.dirname(odd)))

        # four runs writing one file at the same time
        db = tmp.sub("concurrent.db")
        procs = [h.start([h.PY, src, "0", str(20 + k)], output=db, cwd=work) for k in range(4)]
        results = [h.finish(p) for p in procs]
        c.eq([r.returncode for r in results], [0] * 4, "concurrent runs: exit statuses")
        c.eq([h.pymem_lines(r.stderr) for r in results], [[]] * 4, "concurrent runs: pymem lines on stderr")
        if c.check(os.path.exists(db), "concurrent runs: profile", "present", "missing"):
            p = h.Profile(db)
            c.eq(p.integrity(), "ok", "concurrent runs: integrity_check")
            roots = [dict(r) for r in p.q("SELECT * FROM process WHERE parent IS NULL")]
            c.eq(len(roots), 4, "concurrent runs: root processes")
            c.eq(len({r["run"] for r in roots}), 4, "concurrent runs: distinct runs")
            got = []
            for r in roots:
                f = p.last(r["id"], "final")
                got.append(round(p.line(f["id"], src, line_k) / h.MiB) if f else None)
            c.eq(sorted(got, key=str), [20, 21, 22, 23], "concurrent runs: MiB on line K per run")
            p.close()
    c.finish()


if __name__ == "__main__":
    main()
