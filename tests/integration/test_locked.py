"""The profile file locked by another writer. While a process outside the run holds the write
lock (as a long final snapshot of a sibling does):
- the program's fork() is not held up by its writer waiting for that lock;
- a child's fork while the child's writer is still registering it does wait, so that the
  grandchild's row names the child as its parent;
- no warning is printed.
Once the lock is released everything is written: the process's final snapshot holds every line
at its size, and the forked child and grandchild are in the file with their exits."""
import os
import re
import sqlite3
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HOLD_S = 4.0        # 1.5 s of it before the fork: every batch of that time is put off


def main():
    h.need_python()
    h.shim_lib()
    c = h.Checker("locked")
    with h.TempDir("locked") as tmp:
        src = h.prog(tmp, "locked_file.py")
        lines = {t: h.find_line(src, t) for t in ("A", "B", "C")}
        db = tmp.sub("profile.db")
        p = h.start([h.PY, src], output=db, cwd=tmp.path)
        c.eq(h.read_line(p).strip(), "ready", "program: ready line")
        holder = sqlite3.connect(db, isolation_level=None, timeout=10)
        holder.execute("BEGIN IMMEDIATE")
        held_at = time.monotonic()
        h.write_line(p, "go\n")
        fork_line = h.read_line(p, timeout=30)
        time.sleep(max(0.0, HOLD_S - (time.monotonic() - held_at)))
        holder.execute("ROLLBACK")
        holder.close()
        child_fork_line = h.read_line(p, timeout=30)
        h.write_line(p, "go\n")
        res = h.finish(p)
        c.eq(res.returncode, 0, "exit status (stderr %r)" % res.stderr[-1000:])
        c.eq(h.pymem_lines(res.stderr), [], "pymem's stderr lines")
        m = re.match(r"fork_ms=([\d.]+)", fork_line)
        if c.check(m is not None, "fork line", "fork_ms=...", repr(fork_line)):
            c.at_most(float(m.group(1)), 500.0, "fork() while the file is locked, ms")
        gm = re.match(r"child_fork_ms=[\d.]+ grandchild=(\d+)", child_fork_line)
        c.check(gm is not None, "child's fork line", "child_fork_ms=... grandchild=...",
                repr(child_fork_line))
        m = re.search(r"child=(\d+) status=(\d+)", res.stdout)
        if not c.check(m is not None, "child line", "child=... status=...", repr(res.stdout)):
            c.finish()
        c.eq(int(m.group(2)), 0, "child wait status")
        prof = h.Profile(db)
        c.eq(prof.integrity(), "ok", "integrity_check")
        h.check_exit_final(c, prof, p.pid, src,
                           [(t, lines[t], size) for t, size in (("A", 4), ("B", 8), ("C", 2))])
        kid = prof.process_by_pid(int(m.group(1)))
        if c.check(kid is not None, "child's process row") and kid:
            c.eq(kid["end_reason"], "_exit", "child: end_reason")
            c.check(prof.last(kid["id"], "final") is not None, "child: final snapshot")
            grand = prof.process_by_pid(int(gm.group(1))) if gm else None
            if c.check(grand is not None, "grandchild's process row"):
                c.eq(grand["parent"], kid["id"], "grandchild: parent = the child that forked it "
                     "(its fork waited for the child's registration)")
        prof.close()
    c.finish()


if __name__ == "__main__":
    main()
