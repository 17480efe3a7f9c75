"""Acceptance 1: a 120 MiB temporary then 200k kept small strings. The peak snapshot shows the
temporary's line at 120 MiB and the heap peak at the true high-water mark; the final snapshot
no longer has it and shows the 200k strings."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def scenario(interp, c, tag, env=None):
    h.need_python(interp)
    h.shim_lib()
    view = h.viewer()
    with h.TempDir(tag) as tmp:
        src = h.prog(tmp, "peak_then_small.py")
        line_a, line_b = h.find_line(src, "A"), h.find_line(src, "B")
        db = tmp.sub("profile.db")
        plain = h.run([interp, src], shim=False, cwd=tmp.path)
        res = h.run([interp, src], output=db, cwd=tmp.path, env=env)
        c.same_output(plain, res, "%s: program output" % tag)
        if not c.check(os.path.exists(db), "%s: profile created at PYMEM_OUTPUT" % tag,
                       db, "missing; stderr=%r" % res.stderr):
            return
        p = h.Profile(db)
        c.eq(p.integrity(), "ok", "%s: integrity_check" % tag)
        root = p.root()
        c.eq(root["end_reason"], "exit", "%s: end_reason" % tag)
        c.eq(root["exit_status"], 0, "%s: exit_status" % tag)
        if interp == h.PY:
            c.check(root["python_version"] and root["python_version"].startswith("3.11"),
                    "%s: python_version" % tag, "3.11.*", root["python_version"])
        peak = p.last(root["id"], "peak")
        final = p.last(root["id"], "final")
        if not c.check(peak is not None, "%s: a peak snapshot" % tag, "present",
                       "kinds %r" % [s["kind"] for s in p.snapshots(root["id"])]):
            return
        if not c.check(final is not None, "%s: a final snapshot" % tag, "present",
                       "kinds %r" % [s["kind"] for s in p.snapshots(root["id"])]):
            return
        c.eq(len(p.snapshots(root["id"], "final")), 1, "%s: number of final snapshots" % tag)
        if env and env.get("PYMEM_INTERVAL") == "0":
            c.eq(len(p.snapshots(root["id"], "periodic")), 0, "%s: periodic snapshots" % tag)

        a_peak = p.line(peak["id"], src, line_a)
        c.near(a_peak, 120 * h.MiB, "%s: line A (%s:%d) total bytes at the peak [top: %s]" % (
            tag, os.path.basename(src), line_a, p.top_lines(peak["id"])))
        b_final = p.line(final["id"], src, line_b)
        b_blocks = p.line(final["id"], src, line_b, "total_blocks")
        c.at_least(b_blocks, 200_000, "%s: line B (%d) blocks at the final snapshot" % (tag, line_b))
        c.at_least(b_final, 200_000 * 50, "%s: line B (%d) bytes at the final snapshot" % (tag, line_b))
        a_final = p.line(final["id"], src, line_a)
        c.eq(a_final, 0, "%s: line A bytes at the final snapshot (freed)" % tag)
        # True high-water mark = heap just before the temporary + 120 MiB. The heap before it
        # is approximated by the final heap minus what line B added afterwards.
        truth = 120 * h.MiB + (final["heap_bytes"] - b_final)
        c.near(peak["heap_bytes"], truth,
               "%s: peak heap_bytes vs 120 MiB + (final heap %d - line B %d)" % (
                   tag, final["heap_bytes"], b_final))
        c.check(peak["heap_bytes"] >= final["heap_bytes"], "%s: peak heap >= final heap" % tag,
                ">= %d" % final["heap_bytes"], peak["heap_bytes"])
        # the per-stack rows of a snapshot add up to its heap total
        for s in (peak, final):
            c.near(p.live_sum(s["id"]), s["heap_bytes"],
                   "%s: sum of snapshot_live bytes of the %s snapshot vs its heap_bytes" % (tag, s["kind"]))
        for s in p.snapshots(root["id"]):
            c.at_most(s["heap_bytes"], peak["heap_bytes"],
                      "%s: heap_bytes of snapshot %d (%s) <= the peak's" % (tag, s["id"], s["kind"]))
        # every stack's innermost frame resolves
        frames, stacks = p.frames(), p.stacks()
        bad = [sid for sid, (par, fr, _d) in stacks.items()
               if fr not in frames or (par != 0 and par not in stacks)]
        c.eq(bad[:5], [], "%s: stacks with a dangling frame or parent" % tag)
        p.close()

        if view:
            top = h.view_json(view, db, "top", "--peak", "--limit", "0", check=c,
                              what="%s: top --peak" % tag)
            if top:
                c.eq(top.get("snapshot", {}).get("kind"), "peak", "%s: viewer top --peak kind" % tag)
                c.eq(top.get("snapshot", {}).get("heap_bytes"), peak["heap_bytes"],
                     "%s: viewer top --peak heap_bytes = the file's" % tag)
                c.near(h.view_line(top, src, line_a), 120 * h.MiB,
                       "%s: viewer top --peak: line A total_bytes" % tag)
            top = h.view_json(view, db, "top", "--final", "--limit", "0", check=c,
                              what="%s: top --final" % tag)
            if top:
                c.eq(top.get("snapshot", {}).get("kind"), "final", "%s: viewer top --final kind" % tag)
                c.eq(h.view_line(top, src, line_a), 0, "%s: viewer top --final: line A absent" % tag)
                c.at_least(h.view_line(top, src, line_b, "total_blocks"), 200_000,
                           "%s: viewer top --final: line B total_blocks" % tag)
            snaps = h.view_json(view, db, "snapshots", check=c, what="%s: snapshots" % tag)
            if snaps:
                kinds = [s.get("kind") for s in snaps.get("snapshots", [])]
                c.check("peak" in kinds and "final" in kinds, "%s: viewer snapshots kinds" % tag,
                        "peak and final", kinds)


def main():
    c = h.Checker("peak_final")
    scenario(h.PY, c, "py3.11.2")
    # periodic snapshots off: the peak and final snapshots are still written at exit
    scenario(h.PY, c, "py3.11.2 PYMEM_INTERVAL=0", env={"PYMEM_INTERVAL": "0"})
    c.finish()


if __name__ == "__main__":
    main()
