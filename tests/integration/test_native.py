"""Native allocations (the contract: attributed to the Python line that called them): every
interposed entry point (malloc, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
memalign, valloc, pvalloc, C++ operator new) called through ctypes from its own line holds its
size at the final snapshot, kind 'native'; freed blocks (also when freed by another thread) are
gone; a thread without a Python thread state gets the single frame <pymem>/<native thread>; a
bytearray grown by realloc holds its capacity."""
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

KEPT = [("MALLOC", 11), ("CALLOC", 12), ("REALLOC", 13), ("REALLOCARRAY", 14),
        ("POSIX_MEMALIGN", 15), ("ALIGNED_ALLOC", 16), ("MEMALIGN", 17), ("VALLOC", 18),
        ("PVALLOC", 20)]


def main():
    h.need_python()
    h.shim_lib()
    if not shutil.which("gcc"):
        h.skip("gcc not found")
    c = h.Checker("native")
    with h.TempDir("native") as tmp:
        so = tmp.sub("libpmnative.so")
        r = subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-pthread", "-o", so,
                            os.path.join(h.PROGS, "native_lib.c")], capture_output=True, text=True)
        if r.returncode != 0:
            h.skip("cannot compile native_lib.c: %s" % r.stderr)
        cxx = "-"
        if shutil.which("g++"):
            cxx = tmp.sub("libpmnew.so")
            r = subprocess.run(["g++", "-O1", "-shared", "-fPIC", "-o", cxx,
                                os.path.join(h.PROGS, "native_new.cpp")], capture_output=True, text=True)
            if r.returncode != 0:
                h.note("note: cannot compile native_new.cpp, operator new not tested: " + r.stderr)
                cxx = "-"
        src = h.prog(tmp, "native.py")
        db = tmp.sub("profile.db")
        plain = h.run([h.PY, src, so, cxx], shim=False, cwd=tmp.path)
        res = h.run([h.PY, src, so, cxx], output=db, cwd=tmp.path)
        c.same_output(plain, res, "native program output")
        m = re.search(r"grow-alloc (\d+)", plain.stdout)
        p = h.Profile(db)
        root = p.root()
        final = p.last(root["id"], "final")
        if not c.check(final is not None, "final snapshot", "present",
                       [s["kind"] for s in p.snapshots(root["id"])]):
            c.finish()
        fid = final["id"]
        agg = p.by_line(fid)
        top = p.top_lines(fid)
        kept = list(KEPT) + ([("NEW", 23)] if cxx != "-" else [])
        for tag, mib in kept:
            line = h.find_line(src, tag)
            a = agg.get((src, line), {})
            c.near(a.get("self_bytes", 0), mib * h.MiB, "%s (line %d): self bytes [top: %s]" % (tag, line, top))
            c.near(a.get("native_bytes", 0), mib * h.MiB, "%s (line %d): native bytes" % (tag, line))
        for tag in ("FREED", "XTHREAD_FREED") + (("NEW_DELETED",) if cxx != "-" else ()):
            line = h.find_line(src, tag)
            c.at_most(agg.get((src, line), {}).get("total_bytes", 0), 64 * 1024,
                      "%s (line %d): bytes after free" % (tag, line))
        # the native thread's block
        nt = [(r["bytes"], p.chain(r["stack"])) for r in p.live(fid)
              if p.chain(r["stack"]) and p.chain(r["stack"])[0][:2] == h.NATIVE_THREAD]
        nt_bytes = sum(b for b, _ in nt)
        c.near(nt_bytes, 22 * h.MiB, "bytes on <pymem>/<native thread> stacks")
        c.eq(sorted({len(ch) for _, ch in nt}), [1], "frames in a <native thread> stack")
        line_nt = h.find_line(src, "NATIVE_THREAD")
        c.at_most(agg.get((src, line_nt), {}).get("total_bytes", 0), 64 * 1024,
                  "NATIVE_THREAD line (%d): bytes (the block belongs to the native thread)" % line_nt)
        # realloc growth: the line holds the bytearray's capacity, not the sum of the steps
        if c.check(m is not None, "grow-alloc in the output", "present", plain.stdout):
            line = h.find_line(src, "GROW")
            c.near(agg.get((src, line), {}).get("total_bytes", 0), int(m.group(1)),
                   "GROW (line %d): bytes = the bytearray's capacity" % line)
            churn = 0
            for row in p.q("SELECT stack, alloc_bytes FROM churn WHERE process = ?", root["id"]):
                if (src, line) in {(f, l) for f, _fn, l in p.chain(row[0])}:
                    churn += row[1]
            c.at_least(churn, int(m.group(1)), "GROW: churn (allocated over the run) >= final size")
        p.close()
    c.finish()


if __name__ == "__main__":
    main()
