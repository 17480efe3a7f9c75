"""Acceptance 6: launch modes and allocator settings. PYTHONMALLOC=malloc, PYTHONMALLOC=debug,
-X dev, -X tracemalloc (the program stops tracemalloc, then allocates), -c, -m, stdin: output
unchanged and the 50 MiB allocation on the right line."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    h.need_python()
    h.shim_lib()
    view = h.viewer()
    c = h.Checker("modes")
    with h.TempDir("modes") as tmp:
        src = h.prog(tmp, "modes.py")
        line_m = h.find_line(src, "M")
        line_s = h.find_line(src, "SMALL")
        code = open(src).read()
        mods = tmp.sub("mods", make=True)
        modfile = os.path.join(mods, "pymem_modprobe.py")
        with open(modfile, "w") as f:
            f.write(code)
        cases = [
            # name, argv, env, stdin, file expected in the frame
            ("PYTHONMALLOC=malloc", [h.PY, src], {"PYTHONMALLOC": "malloc"}, None, src),
            ("PYTHONMALLOC=debug", [h.PY, src], {"PYTHONMALLOC": "debug"}, None, src),
            ("-X dev", [h.PY, "-X", "dev", src], {}, None, src),
            ("-X tracemalloc", [h.PY, "-X", "tracemalloc", src], {}, None, src),
            ("PYTHONTRACEMALLOC=5", [h.PY, src], {"PYTHONTRACEMALLOC": "5"}, None, src),
            ("PYTHONMALLOC=malloc_debug", [h.PY, src], {"PYTHONMALLOC": "malloc_debug"}, None, src),
            ("-S (no site)", [h.PY, "-S", src], {}, None, src),
            ("-I (isolated)", [h.PY, "-I", src], {}, None, src),
            ("-c", [h.PY, "-c", code], {}, None, "<string>"),
            ("-S -c", [h.PY, "-S", "-c", code], {}, None, "<string>"),
            ("-m", [h.PY, "-m", "pymem_modprobe"], {"PYTHONPATH": mods}, None, modfile),
            ("stdin", [h.PY, "-"], {}, code, "<stdin>"),
        ]
        for i, (name, argv, env, stdin, file) in enumerate(cases):
            work = tmp.sub("w%d" % i, make=True)
            db = tmp.sub("p%d.db" % i)
            plain = h.run(argv, shim=False, env=env, cwd=work, stdin=stdin)
            c.eq(plain.returncode, 0, "%s: unprofiled run works (stderr %r)" % (name, plain.stderr[-500:]))
            res = h.run(argv, output=db, env=env, cwd=work, stdin=stdin)
            c.same_output(plain, res, name)
            if not c.check(os.path.exists(db), "%s: profile created" % name, db, "missing"):
                continue
            p = h.Profile(db)
            root = p.root()
            c.eq(root["end_reason"], "exit", "%s: end_reason" % name)
            final = p.last(root["id"], "final")
            if c.check(final is not None, "%s: final snapshot" % name, "present",
                       [s["kind"] for s in p.snapshots(root["id"])]):
                c.near(p.line(final["id"], file, line_m), 50 * h.MiB,
                       "%s: %s:%d total bytes at the final snapshot [top: %s]" % (
                           name, file, line_m, p.top_lines(final["id"])))
                # the interpreter's own allocations are seen too (not only the big one)
                c.at_least(p.line(final["id"], file, line_s, "total_blocks"), 9900,
                           "%s: blocks of the 10000 small strings (line %d)" % (name, line_s))
            p.close()
            if view and name == "-m":
                top = h.view_json(view, db, "top", "--final", "--limit", "0", check=c,
                                  what="%s: top --final" % name)
                if top:
                    c.near(h.view_line(top, file, line_m), 50 * h.MiB, "%s: viewer line M" % name)
    c.finish()


if __name__ == "__main__":
    main()
