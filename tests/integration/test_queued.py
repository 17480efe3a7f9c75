"""An exit that queues for the profile's write lock. When many processes of a run exit at once
(a pool shutting down), each final snapshot waits for the ones before it. A lock held still ends
that wait after 10 s, but a queue that keeps writing must not: here the test holds the lock for
12.5 s while writing into the file all along. The program's final snapshot is then written
after the wait, holding every line at its size, with nothing on stderr, and the exit took as
long as the queue."""
import os
import sqlite3
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

QUEUE_S = 12.5      # past the 10 s after which a final gives up on a lock held still


def hold_while_writing(db, held, seconds):
    """Holds the write lock for `seconds`, inserting all along into a table of its own: with a
    one-page cache the inserts spill into the write-ahead log, which so keeps moving. Rolled
    back at the end, so the profile keeps nothing of it."""
    con = sqlite3.connect(db, isolation_level=None, timeout=10)
    con.execute("PRAGMA cache_size = 1")
    con.execute("BEGIN IMMEDIATE")
    con.execute("CREATE TABLE queue_filler(x)")
    held.set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        con.execute("INSERT INTO queue_filler VALUES (zeroblob(8192))")
        time.sleep(0.005)
    con.execute("ROLLBACK")
    con.close()


def main():
    h.need_python()
    h.shim_lib()
    c = h.Checker("queued")
    with h.TempDir("queued") as tmp:
        src = h.prog(tmp, "queued_exit.py")
        lines = {t: h.find_line(src, t) for t in ("A", "B")}
        db = tmp.sub("profile.db")
        p = h.start([h.PY, src], output=db, cwd=tmp.path)
        c.eq(h.read_line(p).strip(), "ready", "program: ready line")
        held = threading.Event()
        holder = threading.Thread(target=hold_while_writing, args=(db, held, QUEUE_S))
        holder.start()
        held.wait(10)
        t0 = time.monotonic()
        h.write_line(p, "go\n")
        res = h.finish(p)
        took = time.monotonic() - t0
        holder.join()
        c.eq(res.returncode, 0, "exit status (stderr %r)" % res.stderr[-1000:])
        c.eq(res.stdout, "exiting\n", "program output")
        c.eq(h.pymem_lines(res.stderr), [], "pymem's stderr lines")
        c.at_least(took, QUEUE_S - 1.0, "exit, seconds (it waited for the queue)")
        prof = h.Profile(db)
        c.eq(prof.integrity(), "ok", "integrity_check")
        h.check_exit_final(c, prof, p.pid, src,
                           [(t, lines[t], size) for t, size in (("A", 4), ("B", 2))])
        prof.close()
    c.finish()


if __name__ == "__main__":
    main()
