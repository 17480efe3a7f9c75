"""A SIGTERM that lands while the thread runs pymem code is handled when the thread leaves it
(preload/guard.h): that code may hold a lock the writer needs for the final snapshot. Here the
thread is inside pymem for sure: its atexit callback waits for the final snapshot, which waits
for the profile's write lock, held by the test. The signal must still end the process, with its
status, once the final is written: exit status -SIGTERM, end_reason 'signal', and the final
snapshot holds line K."""
import os
import signal
import sqlite3
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    h.need_python()
    h.shim_lib()
    c = h.Checker("sigterm_deferred")
    with h.TempDir("sigterm-deferred") as tmp:
        src = h.prog(tmp, "term_in_final.py")
        line_k = h.find_line(src, "K")
        db = tmp.sub("profile.db")
        p = h.start([h.PY, src], output=db, cwd=tmp.path)
        c.eq(h.read_line(p).strip(), "ready", "program: ready line")
        time.sleep(0.5)     # the writer has registered the process
        holder = sqlite3.connect(db, isolation_level=None, timeout=10)
        holder.execute("BEGIN IMMEDIATE")
        h.write_line(p, "go\n")
        c.eq(h.read_line(p).strip(), "ending", "program: ending line")
        time.sleep(1.0)     # its atexit callback now waits for the final snapshot
        p.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        c.eq(p.poll(), None, "still alive while its final snapshot waits for the lock")
        released = time.monotonic()
        holder.execute("ROLLBACK")
        holder.close()
        res = h.finish(p)
        c.at_most(time.monotonic() - released, 15.0, "seconds from the lock's release to the end")
        c.eq(res.returncode, -signal.SIGTERM, "exit status (stderr %r)" % res.stderr[-1000:])
        c.eq(h.pymem_lines(res.stderr), [], "pymem's stderr lines")
        prof = h.Profile(db)
        c.eq(prof.integrity(), "ok", "integrity_check")
        root = prof.root()
        c.eq(root["end_reason"], "signal", "end_reason")
        c.eq(root["exit_status"], signal.SIGTERM, "exit_status")
        final = prof.last(root["id"], "final")
        if c.check(final is not None, "final snapshot"):
            c.near(prof.line(final["id"], src, line_k), 30 * h.MiB, "final snapshot: line K")
        prof.close()
    c.finish()


if __name__ == "__main__":
    main()
