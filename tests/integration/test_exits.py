"""Acceptance 7: ways to end. sys.exit(3), an uncaught exception, os._exit(4), SIGTERM to itself,
from outside and while the thread runs pymem code, SIGKILL after a periodic snapshot: the exit status is preserved, the file opens
and has the snapshots promised for that path, and process.end_reason is as specified."""
import os
import signal
import sqlite3
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def check_file(c, db, name, src, line_k, end_reason, exit_status, want_final=True):
    if not c.check(os.path.exists(db), "%s: profile exists" % name, db, "missing"):
        return
    p = h.Profile(db)
    c.eq(p.integrity(), "ok", "%s: integrity_check" % name)
    root = p.root()
    if isinstance(end_reason, tuple):
        c.check(root["end_reason"] in end_reason, "%s: end_reason" % name, " or ".join(end_reason),
                repr(root["end_reason"]))
    else:
        c.eq(root["end_reason"], end_reason, "%s: end_reason" % name)
    if exit_status != "ANY":
        c.eq(root["exit_status"], exit_status, "%s: exit_status" % name)
    if end_reason is None:
        c.eq(root["end_time"], None, "%s: end_time" % name)
    else:
        c.check(root["end_time"] is not None, "%s: end_time" % name, "set", None)
    kinds = [s["kind"] for s in p.snapshots(root["id"])]
    if want_final:
        final = p.last(root["id"], "final")
        if c.check(final is not None, "%s: final snapshot" % name, "present", kinds):
            c.eq(kinds.count("final"), 1, "%s: exactly one final snapshot (kinds %r)" % (name, kinds))
            c.near(p.line(final["id"], src, line_k), 30 * h.MiB,
                   "%s: final snapshot: line K [top: %s]" % (name, p.top_lines(final["id"])))
    else:
        c.eq(kinds.count("final"), 0, "%s: final snapshots (kinds %r)" % (name, kinds))
        per = p.last(root["id"], "periodic")
        if c.check(per is not None, "%s: periodic snapshot" % name, "present", kinds):
            c.near(p.line(per["id"], src, line_k), 30 * h.MiB,
                   "%s: periodic snapshot: line K [top: %s]" % (name, p.top_lines(per["id"])))
    p.close()


def main():
    h.need_python()
    h.shim_lib()
    view = h.viewer()
    c = h.Checker("exits")
    with h.TempDir("exits") as tmp:
        src = h.prog(tmp, "exits.py")
        line_k = h.find_line(src, "K")
        work = tmp.sub("work", make=True)

        # run-to-completion cases: name, argv mode, expected returncode, end_reason, exit_status
        cases = [
            ("sys.exit(3)", "sys-exit", 3, "exit", 3),
            ("uncaught exception", "raise", 1, "exit", 1),
            ("os._exit(4)", "_exit", 4, "_exit", 4),
            ("SIGTERM to itself", "sigterm-self", -signal.SIGTERM, "signal", signal.SIGTERM),
            ("normal end", "normal", 0, "exit", 0),
            ("SIGTERM with a Python handler (sys.exit(7))", "sigterm-handled", 7, "exit", 7),
            ("SIGTERM ignored", "sigterm-ignored", 0, "exit", 0),
            # KeyboardInterrupt: CPython finalizes, then re-raises SIGINT (status -2)
            # end_reason: 'signal' (exit_status 2) or 'exit', but recorded (not NULL as if killed)
            ("SIGINT to itself", "sigint-self", -signal.SIGINT, ("signal", "exit"), "ANY"),
        ]
        for name, mode, rc, reason, status in cases:
            db = tmp.sub("%s.db" % mode)
            plain = h.run([h.PY, src, mode], shim=False, cwd=work)
            c.eq(plain.returncode, rc, "%s: unprofiled exit status (sanity)" % name)
            res = h.run([h.PY, src, mode], output=db, cwd=work)
            c.same_output(plain, res, name, normalize=h.normalize_addresses)
            if mode == "raise":
                c.check("ValueError: boom" in res.stderr, "%s: traceback on stderr" % name,
                        "ValueError: boom ...", res.stderr[-500:])
            check_file(c, db, name, src, line_k, reason, status)

        # the interpreter's teardown comes after the final snapshot: tracking stops there, so
        # the 30 MiB freed during it stay in the final snapshot, no timeline point follows it,
        # and a child forked during it is not profiled
        name = "teardown"
        db = tmp.sub("teardown.db")
        plain = h.run([h.PY, src, "teardown"], shim=False, cwd=work)
        res = h.run([h.PY, src, "teardown"], output=db, cwd=work, env={"PYMEM_TIMELINE_MS": "10"})
        c.same_output(plain, res, name)
        c.check("teardown done" in res.stdout, "%s: the teardown ran" % name, "teardown done",
                res.stdout[-200:])
        check_file(c, db, name, src, line_k, "exit", 0)
        if os.path.exists(db):
            p = h.Profile(db)
            root = p.root()
            final = p.last(root["id"], "final")
            late = p.q("SELECT count(*) FROM timeline WHERE process = ? AND time > ?", root["id"],
                       final["time"] + 0.05 if final else 0)[0][0]
            c.eq(late, 0, "%s: timeline points after the final snapshot" % name)
            c.eq(len(p.processes()), 1, "%s: process rows (the teardown's child is not profiled)"
                 % name)
            p.close()

        # exec: the exec'ing process ends with 'exec' and a final snapshot; an exec'd Python is a
        # new process of the same run whose parent is the exec'ing one; a non-Python image is not
        for mode, rc, python in (("exec-python", 6, True), ("exec-echo", 0, False)):
            name = mode
            db = tmp.sub("%s.db" % mode)
            plain = h.run([h.PY, src, mode], shim=False, cwd=work)
            c.eq(plain.returncode, rc, "%s: unprofiled exit status (sanity)" % name)
            res = h.run([h.PY, src, mode], output=db, cwd=work)
            c.same_output(plain, res, name)
            if not c.check(os.path.exists(db), "%s: profile" % name, "present", "missing"):
                continue
            p = h.Profile(db)
            procs = p.processes()
            c.eq(len(procs), 2 if python else 1, "%s: process rows %r" % (
                name, [(x["pid"], x["argv"], x["end_reason"]) for x in procs]))
            first = procs[0]
            c.eq(first["parent"], None, "%s: first process is the root" % name)
            c.eq(first["end_reason"], "exec", "%s: end_reason of the exec'ing process" % name)
            f = p.last(first["id"], "final")
            if c.check(f is not None, "%s: final snapshot of the exec'ing process" % name, "present",
                       [s["kind"] for s in p.snapshots(first["id"])]):
                c.near(p.line(f["id"], src, line_k), 30 * h.MiB, "%s: its line K" % name)
            if python and len(procs) == 2:
                second = procs[1]
                c.eq(second["pid"], first["pid"], "%s: exec'd process keeps the pid" % name)
                c.eq(second["run"], first["run"], "%s: exec'd process: same run" % name)
                c.eq(second["parent"], first["id"], "%s: exec'd process: parent" % name)
                c.eq(second["end_reason"], "exit", "%s: exec'd process end_reason" % name)
                c.eq(second["exit_status"], 6, "%s: exec'd process exit_status" % name)
                f = p.last(second["id"], "final")
                if c.check(f is not None, "%s: exec'd process final snapshot" % name, "present",
                           [s["kind"] for s in p.snapshots(second["id"])]):
                    c.near(p.line(f["id"], "<string>", 1), 10 * h.MiB, "%s: exec'd <string>:1" % name)
                    c.eq(p.line(f["id"], src, line_k), 0, "%s: exec'd process has no line K" % name)
            p.close()

        # SIGTERM from the test
        name = "SIGTERM from outside"
        db = tmp.sub("sigterm-ext.db")
        for shim in (False, True):
            p = h.start([h.PY, src, "wait"], shim=shim, output=db if shim else None, cwd=work)
            first, ready = h.read_line(p), h.read_line(p)
            c.eq(ready, "ready\n", "%s (shim=%s): program reached its wait" % (name, shim))
            p.send_signal(signal.SIGTERM)
            r = h.finish(p)
            c.eq(r.returncode, -signal.SIGTERM, "%s (shim=%s): exit status" % (name, shim))
            if shim:
                c.eq(h.pymem_lines(r.stderr), [], "%s: pymem lines on stderr" % name)
        check_file(c, db, name, src, line_k, "signal", signal.SIGTERM)

        # SIGTERM while the thread runs pymem code: its atexit callback waits for the final
        # snapshot, which waits for the write lock the test holds. The signal is handled once
        # the thread leaves pymem (preload/guard.h), and still ends the process with its status.
        name = "SIGTERM inside pymem"
        db = tmp.sub("sigterm-deferred.db")
        p = h.start([h.PY, src, "end-on-input"], output=db, cwd=work)
        first, ready = h.read_line(p), h.read_line(p)
        c.eq(ready, "ready\n", "%s: program: ready line" % name)
        time.sleep(0.5)     # the writer has registered the process
        holder = sqlite3.connect(db, isolation_level=None, timeout=10)
        holder.execute("BEGIN IMMEDIATE")
        h.write_line(p, "go\n")
        c.eq(h.read_line(p), "ending\n", "%s: program: ending line" % name)
        time.sleep(1.0)     # its atexit callback now waits for the final snapshot
        p.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        c.eq(p.poll(), None, "%s: still alive while its final snapshot waits for the lock" % name)
        released = time.monotonic()
        holder.execute("ROLLBACK")
        holder.close()
        r = h.finish(p)
        c.at_most(time.monotonic() - released, 15.0,
                  "%s: seconds from the lock's release to the end" % name)
        c.eq(r.returncode, -signal.SIGTERM, "%s: exit status (stderr %r)" % (name, r.stderr[-1000:]))
        c.eq(h.pymem_lines(r.stderr), [], "%s: pymem lines on stderr" % name)
        check_file(c, db, name, src, line_k, "signal", signal.SIGTERM)

        # SIGKILL after one periodic snapshot
        name = "SIGKILL"
        db = tmp.sub("sigkill.db")
        p = h.start([h.PY, src, "wait"], output=db, cwd=work, env={"PYMEM_INTERVAL": "0.5"})
        first, ready = h.read_line(p), h.read_line(p)
        c.eq(ready, "ready\n", "%s: program reached its wait" % name)
        t_ready = time.monotonic()
        got_periodic = h.wait_for(lambda: h.has_snapshot(db, "periodic"), timeout=60, step=0.25)
        c.check(got_periodic, "%s: a periodic snapshot within 60 s with PYMEM_INTERVAL=0.5" % name,
                "present", "none")
        time.sleep(max(0.0, 1.5 - (time.monotonic() - t_ready)))
        # the periodic snapshot must have been taken after line K: wait for one that shows it
        if got_periodic:
            def k_visible():
                pr = h.Profile(db)
                try:
                    root = pr.root()
                    s = pr.last(root["id"], "periodic")
                    return s and pr.line(s["id"], src, line_k) >= 30 * h.MiB
                finally:
                    pr.close()
            h.wait_for(k_visible, timeout=30, step=0.25)
        p.kill()
        r = h.finish(p)
        c.eq(r.returncode, -signal.SIGKILL, "%s: exit status" % name)
        check_file(c, db, name, src, line_k, None, None, want_final=False)

        # SIGKILL with the default 10 s interval, a second after the peak: the first peak
        # snapshot is written as soon as the peak has held for a moment, not at the interval
        name2 = "SIGKILL-early-peak"
        db2 = tmp.sub("sigkill-peak.db")
        p2 = h.start([h.PY, src, "wait"], output=db2, cwd=work)
        h.read_line(p2)
        c.eq(h.read_line(p2), "ready\n", "%s: program reached its wait" % name2)
        got_peak = h.wait_for(lambda: h.has_snapshot(db2, "peak"), timeout=5, step=0.05)
        c.check(got_peak, "%s: a peak snapshot within 5 s of the peak (interval 10 s)" % name2,
                "present", "none")
        p2.kill()
        r2 = h.finish(p2)
        c.eq(r2.returncode, -signal.SIGKILL, "%s: exit status" % name2)
        if got_peak:
            pr = h.Profile(db2)
            try:
                s = pr.last(pr.root()["id"], "peak")
                c.check(s and pr.line(s["id"], src, line_k) >= 30 * h.MiB,
                        "%s: line K at the peak of a killed run" % name2, ">= 30 MiB",
                        s and pr.line(s["id"], src, line_k))
                c.check(pr.last(pr.root()["id"], "final") is None,
                        "%s: no final snapshot" % name2, "none", "a final")
            finally:
                pr.close()
        if view:
            snaps = h.view_json(view, db, "snapshots", check=c, what="%s: snapshots" % name)
            if snaps:
                kinds = [s.get("kind") for s in snaps.get("snapshots", [])]
                c.check("periodic" in kinds and "final" not in kinds,
                        "%s: viewer snapshots of a killed run" % name, "periodic, no final", kinds)
            runs = h.view_json(view, db, "runs", check=c, what="%s: runs" % name)
            if runs and runs.get("runs"):
                pr = runs["runs"][-1]["processes"][0]
                c.eq(pr.get("end_reason"), None, "%s: viewer runs end_reason" % name)
    c.finish()


if __name__ == "__main__":
    main()
