"""Acceptance 9: bad values of every PYMEM_* variable give exactly one 'pymem: ' warning line
each, defaults are used and the program is otherwise unaffected. An unwritable output path gives
one warning and the program runs normally with its own output and exit status."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

BAD = [
    ("PYMEM_INTERVAL", "abc"),
    ("PYMEM_INTERVAL", "-1"),
    ("PYMEM_TIMELINE_MS", "-5"),
    ("PYMEM_TIMELINE_MS", "fast"),
    ("PYMEM_DEPTH", "0"),
    ("PYMEM_DEPTH", "99999999999999999999999"),
    ("PYMEM_DEPTH", "12abc"),
    ("PYMEM_SIGNAL", "NOPE"),
    ("PYMEM_LOG", "loud"),
    ("PYMEM_DISABLE", "maybe"),
]


def main():
    h.need_python()
    h.shim_lib()
    c = h.Checker("env")
    with h.TempDir("env") as tmp:
        src = h.prog(tmp, "simple.py")
        line_k = h.find_line(src, "K")
        work = tmp.sub("work", make=True)
        plain = h.run([h.PY, src, "5"], shim=False, cwd=work)
        c.eq(plain.returncode, 5, "unprofiled run (sanity)")

        def one_warning(res, name, n=1):
            warns = h.pymem_lines(res.stderr)
            c.eq(len(warns), n, "%s: number of 'pymem: ' lines on stderr (%r)" % (name, warns))
            c.eq(h.other_lines(res.stderr), h.other_lines(plain.stderr),
                 "%s: the program's own stderr" % name)
            c.eq(res.stdout, plain.stdout, "%s: stdout" % name)
            c.eq(res.returncode, plain.returncode, "%s: exit status" % name)

        for i, (var, val) in enumerate(BAD):
            name = "%s=%s" % (var, val)
            db = tmp.sub("bad%d.db" % i)
            res = h.run([h.PY, src, "5"], output=db, cwd=work, env={var: val})
            one_warning(res, name)
            # defaults used: the run is profiled as usual
            if c.check(os.path.exists(db), "%s: profile still written with defaults" % name, db, "missing"):
                p = h.Profile(db)
                root = p.root()
                final = p.last(root["id"], "final")
                if c.check(final is not None, "%s: final snapshot" % name, "present",
                           [s["kind"] for s in p.snapshots(root["id"])]):
                    c.near(p.line(final["id"], src, line_k), 20 * h.MiB, "%s: line K" % name)
                if var == "PYMEM_DEPTH":
                    c.at_most(p.q1("SELECT max(depth) FROM stack"), 128,
                              "%s: default depth 128 in force: max stack depth" % name)
                p.close()

        # all of them at once: one line per variable
        allbad = {}
        for var, val in BAD:
            allbad.setdefault(var, val)
        res = h.run([h.PY, src, "5"], output=tmp.sub("allbad.db"), cwd=work, env=allbad)
        one_warning(res, "all bad at once (%d variables)" % len(allbad), n=len(allbad))

        # good values: no warning at all
        good = {"PYMEM_INTERVAL": "2.5", "PYMEM_TIMELINE_MS": "50", "PYMEM_DEPTH": "32",
                "PYMEM_SIGNAL": "USR1", "PYMEM_LOG": "warn", "PYMEM_DISABLE": "0"}
        res = h.run([h.PY, src, "5"], output=tmp.sub("good.db"), cwd=work, env=good)
        one_warning(res, "all good values", n=0)
        c.check(os.path.exists(tmp.sub("good.db")), "good values: profile written", "present", "missing")

        # unwritable output paths
        afile = tmp.sub("regular-file")
        open(afile, "w").close()
        ro = tmp.sub("readonly", make=True)
        os.chmod(ro, 0o555)
        unwritable = [
            ("missing directory", "/nonexistent/dir/x.db"),
            ("parent is a regular file", os.path.join(afile, "x.db")),
            ("output is a directory", tmp.sub("a-dir", make=True)),
        ]
        if os.geteuid() != 0:
            unwritable.append(("read-only directory", os.path.join(ro, "x.db")))
        else:
            # root writes through a 0555 directory; sysfs refuses file creation even to root
            unwritable.append(("read-only directory (sysfs, running as root)", "/sys/pymem-it-x.db"))
        for name, path in unwritable:
            res = h.run([h.PY, src, "5"], output=path, cwd=work)
            one_warning(res, "unwritable PYMEM_OUTPUT (%s: %s)" % (name, path))
        c.eq(os.listdir(ro), [], "read-only directory stays empty")
        c.eq(sorted(os.listdir(work)), [], "nothing written in the cwd by the unwritable cases")
    c.finish()


if __name__ == "__main__":
    main()
