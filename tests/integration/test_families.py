"""Blocks of one allocator family freed or resized by another (progs/families.py). In each mode
of the MEM and OBJ hooks the program runs as it does without pymem and a kept block holds its
size on its line (kind 'python'). With in-band records (pymalloc; PYTHONMALLOC=malloc) a freed
block is gone and a resized one holds its new size on the resizing line. With the live table
(-X tracemalloc started before pymem; another malloc preloaded before pymem) the MEM and OBJ blocks have a table of their own, so a
libc or RAW free of one is not seen (README, limits): only the program's run is checked there."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

KEPT = [("KEEP_MEM", 5), ("KEEP_OBJ", 6), ("MEM_LIBC_REALLOC", 10), ("MEM_RAW_REALLOC", 11)]
FREED = ["MEM_LIBC_FREE", "MEM_RAW_FREE", "OBJ_MEM_FREE"]
MODES = [("pymalloc", [], {}, "in-band records"),
         ("PYTHONMALLOC=malloc", [], {"PYTHONMALLOC": "malloc"}, "in-band records"),
         ("-X tracemalloc", ["-X", "tracemalloc"], {}, "the live table")]
MIXED = {"MEM_LIBC_REALLOC", "MEM_RAW_REALLOC"}
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"    # libjemalloc-dev's, a build dependency


def main():
    h.need_python()
    h.shim_lib()
    c = h.Checker("families")
    modes = list(MODES)
    if os.path.exists(JEMALLOC):    # another malloc preloaded before pymem: the table
        modes.append(("jemalloc preloaded first", [], {"LD_PRELOAD": JEMALLOC + " " + h.shim_lib()},
                      "the live table"))
    with h.TempDir("families") as tmp:
        src = h.prog(tmp, "families.py")
        for label, flags, env, hooks in modes:
            db = tmp.sub("profile-%d.db" % modes.index((label, flags, env, hooks)))
            plain = h.run([h.PY] + flags + [src], shim=False,
                          env={k: v for k, v in env.items() if k != "LD_PRELOAD"}, cwd=tmp.path)
            res = h.run([h.PY] + flags + [src], output=db, env=dict(env, PYMEM_LOG="debug"),
                        cwd=tmp.path)
            c.eq(res.returncode, 0, "%s: exit status [%r]" % (label, res))
            c.eq(res.stdout, plain.stdout, "%s: program output" % label)
            c.eq(h.other_lines(res.stderr), h.other_lines(plain.stderr), "%s: stderr" % label)
            c.check("True" in plain.stdout and "False" not in plain.stdout,
                    "%s: bytes kept across each resize" % label, "True", plain.stdout)
            c.check(any("MEM and OBJ blocks: " + hooks in l for l in h.pymem_lines(res.stderr)),
                    "%s: hooks" % label, hooks, h.pymem_lines(res.stderr))
            p = h.Profile(db)
            root = p.root()
            final = p.last(root["id"], "final")
            if not c.check(final is not None, "%s: final snapshot" % label, "present",
                           [s["kind"] for s in p.snapshots(root["id"])]):
                continue
            agg = p.by_line(final["id"])
            inband = hooks == "in-band records"
            for tag, mib in KEPT:
                if not inband and tag in MIXED:
                    continue
                line = h.find_line(src, tag)
                a = agg.get((src, line), {})
                c.near(a.get("self_bytes", 0), mib * h.MiB, "%s: %s (line %d): self bytes [top: %s]"
                       % (label, tag, line, p.top_lines(final["id"])))
                python = sum(r["python_bytes"] for r in p.live(final["id"])
                             if p.chain(r["stack"]) and p.chain(r["stack"])[0][0] == src
                             and p.chain(r["stack"])[0][2] == line)
                c.near(python, mib * h.MiB, "%s: %s: kind python" % (label, tag))
            for tag in FREED if inband else ["OBJ_MEM_FREE"]:
                line = h.find_line(src, tag)
                c.at_most(agg.get((src, line), {}).get("total_bytes", 0), 64 * 1024,
                          "%s: %s (line %d): bytes after free" % (label, tag, line))
            p.close()
    c.finish()


if __name__ == "__main__":
    main()
