"""Acceptance 10: a 900-deep recursion allocating at the bottom (PYMEM_DEPTH=64 and the default
128: no crash, no stack deeper than the cap, the truncation marker at the caller end, the
allocation on the right line), 20,000 distinct call sites (all present as frames, each
holding its allocation at the final snapshot), and allocations on several lines of one function
in loops that jump back (each on its exact line)."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

N_SITES = 20_000


def deep(c, tmp, cap, env):
    src = h.prog(tmp, "deep.py")
    line_d, line_r = h.find_line(src, "D"), h.find_line(src, "R")
    db = tmp.sub("deep-%d.db" % cap)
    plain = h.run([h.PY, src], shim=False, cwd=tmp.path)
    res = h.run([h.PY, src], output=db, cwd=tmp.path, env=env)
    name = "deep recursion, depth cap %d" % cap
    c.same_output(plain, res, name)
    if not c.check(os.path.exists(db), "%s: profile" % name, "present", "missing"):
        return
    p = h.Profile(db)
    c.eq(p.integrity(), "ok", "%s: integrity_check" % name)
    c.at_most(p.q1("SELECT max(depth) FROM stack"), cap, "%s: max(stack.depth)" % name)
    stacks = p.stacks()
    too_long = [s for s in stacks if len(p.chain(s)) > cap]
    c.eq(len(too_long), 0, "%s: stacks whose parent chain is longer than %d" % (name, cap))
    wrong_depth = [(s, stacks[s][2], len(p.chain(s))) for s in stacks if stacks[s][2] != len(p.chain(s))]
    c.eq(wrong_depth[:5], [], "%s: stacks whose depth column != chain length" % name)
    marker = p.q("SELECT id FROM frame WHERE file = ? AND function = ? AND line = ?", *h.MARKER)
    marker_ids = {r[0] for r in marker}
    using = [sid for sid, (_par, fr, _d) in stacks.items() if fr in marker_ids]
    if cap < 902:
        c.eq(len(marker), 1, "%s: marker frame <pymem>/<truncated>/0 in the frame table" % name)
        c.at_least(len(using), 1, "%s: stacks ending in the marker frame" % name)
    else:
        c.eq(len(using), 0, "%s: stacks using the marker frame (nothing is deeper than the cap)" % name)
    c.eq([sid for sid in using if stacks[sid][0] != 0], [],
         "%s: marker frames that are not the outermost frame of their stack" % name)
    root = p.root()
    final = p.last(root["id"], "final")
    if c.check(final is not None, "%s: final snapshot" % name, "present",
               [s["kind"] for s in p.snapshots(root["id"])]):
        c.near(p.line(final["id"], src, line_d, "self_bytes"), 8 * h.MiB,
               "%s: line D self bytes [top: %s]" % (name, p.top_lines(final["id"])))
        rows = [r for r in p.live(final["id"]) if p.chain(r["stack"])[0][:1] == (src,)
                and p.chain(r["stack"])[0][2] == line_d and r["bytes"] >= 8 * h.MiB]
        if c.check(len(rows) >= 1, "%s: the stack holding the 8 MiB" % name, "found", "none") and cap > 902:
            ch = p.chain(rows[0]["stack"])
            c.eq(len(ch), 902, "%s: frames kept for a 902-frame stack (under the cap)" % name)
            c.eq(ch[-1], (src, "<module>", h.find_line(src, "TOP")), "%s: outermost frame" % name)
            c.eq(ch[0], (src, "dive", line_d), "%s: innermost frame" % name)
        elif rows:
            ch = p.chain(rows[0]["stack"])
            c.eq(len(ch), cap, "%s: frames kept for a 902-frame stack" % name)
            c.eq(ch[-1], h.MARKER, "%s: outermost kept frame" % name)
            c.eq(ch[0], (src, "dive", line_d), "%s: innermost frame" % name)
            c.eq(set(ch[1:-1]), {(src, "dive", line_r)}, "%s: the frames between" % name)
    p.close()


def sites(c, tmp, view):
    name = "20k call sites"
    mods = tmp.sub("mods", make=True)
    modfile = os.path.join(mods, "pymem_sites.py")
    with open(modfile, "w") as f:
        f.write("KEEP = []\n")
        for i in range(N_SITES):     # function f<i> on line i + 2, allocating 1000 + i % 97 bytes
            f.write("def f%05d(): KEEP.append(bytearray(%d))\n" % (i, 1000 + i % 97))
    src = h.prog(tmp, "many_sites.py")
    db = tmp.sub("sites.db")
    plain = h.run([h.PY, src, mods, "pymem_sites"], shim=False, cwd=tmp.path)
    res = h.run([h.PY, src, mods, "pymem_sites"], output=db, cwd=tmp.path)
    c.same_output(plain, res, name)
    if not c.check(os.path.exists(db), "%s: profile" % name, "present", "missing"):
        return
    p = h.Profile(db)
    frames = {(f, fn, l) for f, fn, l in p.frames().values() if f == modfile}
    want = {(modfile, "f%05d" % i, i + 2) for i in range(N_SITES)}
    missing = sorted(want - frames)
    c.eq(len(missing), 0, "%s: sites missing from the frame table (first: %r)" % (name, missing[:3]))
    root = p.root()
    final = p.last(root["id"], "final")
    if c.check(final is not None, "%s: final snapshot" % name, "present",
               [s["kind"] for s in p.snapshots(root["id"])]):
        agg = p.by_line(final["id"])
        short = [i for i in range(N_SITES)
                 if agg.get((modfile, i + 2), {}).get("self_bytes", 0) < 1000 + i % 97]
        c.eq(len(short), 0, "%s: sites holding less than their bytearray at the final snapshot "
             "(first: %r)" % (name, short[:5]))
    p.close()
    if view:
        top = h.view_json(view, db, "top", "--final", "--limit", "5", check=c, what="%s: top" % name)
        if top:
            c.eq(len(top.get("rows", [])), 5, "%s: viewer top --limit 5 rows" % name)


def lines_in_loops(c, tmp):
    """Every allocation on its own line, in loops that jump back: the line of each is exact."""
    name = "lines in loops"
    src = h.prog(tmp, "lines_loop.py")
    db = tmp.sub("lines.db")
    res = h.run([h.PY, src], output=db, cwd=tmp.path)
    c.eq(res.stdout, "kept %d\n" % (200 + 100 + 100 + 1 + 200), "%s: program output" % name)
    if not c.check(os.path.exists(db), "%s: profile" % name, "present", "missing"):
        return
    p = h.Profile(db)
    final = p.last(p.root()["id"], "final")
    if c.check(final is not None, "%s: final snapshot" % name, "present", "none"):
        agg = p.by_line(final["id"])
        # (tag, blocks kept, bytes each): a bytearray's object and buffer both count on its line
        for tag, count, size in (("A", 200, 1000), ("B", 100, 3000), ("C", 100, 5000),
                                 ("D", 1, 7000), ("E", 200, 11000)):
            got = agg.get((src, h.find_line(src, tag)), {}).get("self_bytes", 0)
            c.at_least(got, count * size, "%s: line %s self bytes" % (name, tag))
            c.at_most(got, count * (size + 128), "%s: line %s self bytes" % (name, tag))
    p.close()


def callers_moved(c, tmp, depth):
    """Each (caller line, caller's caller line) pair holds exactly its own allocations, and so
    does each module line when only it differs between two allocations."""
    name = "callers moved (depth %d)" % depth
    src = h.prog(tmp, "callers_moved.py")
    db = tmp.sub("callers%d.db" % depth)
    res = h.run([h.PY, src, str(depth)], output=db, cwd=tmp.path)
    c.eq(res.stdout, "kept 402\n", "%s: program output" % name)
    if not c.check(os.path.exists(db), "%s: profile" % name, "present", "missing"):
        return
    p = h.Profile(db)
    final = p.last(p.root()["id"], "final")
    if c.check(final is not None, "%s: final snapshot" % name, "present", "none"):
        tags = ("M1", "M2", "T1", "T2", "O", "U1", "U2", "W1", "W2", "A", "B")
        lines = {tag: h.find_line(src, tag) for tag in tags}
        under = {}
        for r in p.live(final["id"]):
            here = {ln for f, _fn, ln in p.chain(r["stack"]) if f == src}
            for key in (("T1", "M1"), ("T1", "M2"), ("T2", "M1"), ("T2", "M2"), ("U1", "O"),
                        ("U2", "O"), ("W1",), ("W2",), ("A",), ("B",)):
                if all(lines[t] in here for t in key):
                    under[key] = under.get(key, 0) + r["bytes"]
        # 50 rounds; a bytearray's object and buffer both count; KEEP's own array grows on L
        for key, size, rounds in ((("T1", "M1"), 1000, 50), (("T1", "M2"), 2000, 50),
                                  (("T2", "M1"), 3000, 50), (("T2", "M2"), 6000, 50),
                                  (("U1", "O"), 5000, 50), (("U2", "O"), 7000, 50),
                                  (("W1",), 11000, 50), (("W2",), 13000, 50),
                                  (("A",), 100000, 1), (("B",), 300000, 1)):
            got = under.get(key, 0)
            what = "%s: bytes under %s" % (name, " then ".join(key))
            c.at_least(got, rounds * size, what)
            c.at_most(got, rounds * (size + 128) + 4096, what)
    p.close()


def main():
    h.need_python()
    h.shim_lib()
    view = h.viewer()
    c = h.Checker("deep")
    with h.TempDir("deep") as tmp:
        deep(c, tmp, 64, {"PYMEM_DEPTH": "64"})
        deep(c, tmp, 128, {})
        deep(c, tmp, 1024, {"PYMEM_DEPTH": "1024"})
        sites(c, tmp, view)
        lines_in_loops(c, tmp)
        callers_moved(c, tmp, 0)     # 5 and 6 frames: below the known-frames walk's minimum
        callers_moved(c, tmp, 1)
        callers_moved(c, tmp, 20)
        callers_moved(c, tmp, 21)
    c.finish()


if __name__ == "__main__":
    main()
