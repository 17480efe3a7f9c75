"""Shared helpers for pymem's integration tests (suite 'python').

Every test_*.py in this directory is one meson test: it runs real Python programs (progs/*.py)
under the shim with an explicit, minimal environment in a fresh temporary directory, then
reads the profile with the sqlite3 module and, when available, with `pymem-view ... --json`,
and compares the numbers with what the program is known to have allocated.

Exit status: 0 pass, 77 skip (a prerequisite is missing), 1 fail. Every failed check is
printed on stderr as "FAIL <what>: expected <x>, got <y>".

Environment given by meson: PYMEM_LIB (path of the built libpymem.so), PYMEM_VIEW (path of
the built pymem-view). Set PYMEM_TEST_KEEP=1 to keep the temporary directories for debugging.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

PY = "/usr/bin/python3"          # Debian's CPython 3.11.2 with python3-numpy
PY_SHARED = "/root/.pyenv/versions/3.11.7/bin/python3"   # CPython 3.11.7, shared libpython
HERE = os.path.dirname(os.path.abspath(__file__))
PROGS = os.path.join(HERE, "progs")
MiB = 1024 * 1024
SKIP = 77
MARKER = ("<pymem>", "<truncated>", 0)
NATIVE_THREAD = ("<pymem>", "<native thread>")

RUN_TIMEOUT = 150   # seconds for one program run (meson's per-test timeout is 180)


# ----------------------------------------------------------------------------------------------
# outcome

def skip(msg):
    print("SKIP: " + msg, file=sys.stderr)
    sys.exit(SKIP)


def note(msg):
    print(msg, file=sys.stderr)


class Checker:
    """Collects failed checks; finish() exits 1 listing all of them, or 0."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passed = 0

    def fail(self, what, expected, got):
        msg = "FAIL %s: expected %s, got %s" % (what, expected, got)
        self.failures.append(msg)
        print(msg, file=sys.stderr, flush=True)

    def check(self, cond, what, expected="true", got="false"):
        if cond:
            self.passed += 1
        else:
            self.fail(what, expected, got)
        return cond

    def eq(self, got, expected, what):
        return self.check(got == expected, what, repr(expected), repr(got))

    def near(self, got, expected, what, rel=0.01):
        """|got - expected| <= rel * expected."""
        ok = got is not None and abs(got - expected) <= rel * expected
        return self.check(ok, what, "%s within %.1f%% (%s..%s)" % (
            fmt(expected), rel * 100, fmt(expected * (1 - rel)), fmt(expected * (1 + rel))), fmt(got))

    def at_least(self, got, expected, what):
        return self.check(got is not None and got >= expected, what, ">= %s" % fmt(expected), fmt(got))

    def at_most(self, got, expected, what):
        return self.check(got is not None and got <= expected, what, "<= %s" % fmt(expected), fmt(got))

    def same_output(self, plain, shim, what, normalize=None):
        """stdout, stderr and exit status of a run under the shim equal those without it."""
        norm = normalize or (lambda s: s)
        self.check(shim.returncode == plain.returncode, what + ": exit status",
                   repr(plain.returncode) + " (as without the shim)", repr(shim.returncode))
        self.check(shim.stdout == plain.stdout, what + ": stdout",
                   repr(plain.stdout[:2000]) + " (as without the shim)", repr(shim.stdout[:2000]))
        self.check(norm(shim.stderr) == norm(plain.stderr), what + ": stderr",
                   repr(plain.stderr[:2000]) + " (as without the shim)", repr(shim.stderr[:2000]))

    def finish(self):
        if self.failures:
            print("%s: %d check(s) failed, %d passed" % (self.name, len(self.failures), self.passed),
                  file=sys.stderr)
            sys.exit(1)
        print("%s: all %d checks passed" % (self.name, self.passed))
        sys.exit(0)


def fmt(n):
    if n is None:
        return "None"
    if isinstance(n, (int, float)) and abs(n) >= 10 * 1024:
        return "%d (%.2f MiB)" % (n, n / MiB)
    return repr(n)


# ----------------------------------------------------------------------------------------------
# prerequisites

def shim_lib():
    lib = os.environ.get("PYMEM_LIB")
    if not lib:
        skip("PYMEM_LIB is not set (the shim target libpymem is not built by this meson tree)")
    if not os.path.exists(lib):
        skip("PYMEM_LIB=%s does not exist" % lib)
    return lib


def viewer():
    """Path of pymem-view, or None when the build has no viewer (viewer checks are skipped)."""
    v = os.environ.get("PYMEM_VIEW")
    if not v:
        note("note: PYMEM_VIEW not set: viewer checks skipped")
        return None
    if not os.path.exists(v):
        note("note: PYMEM_VIEW=%s does not exist: viewer checks skipped" % v)
        return None
    return v


def need_python(path=PY):
    if not os.access(path, os.X_OK):
        skip("%s not found" % path)


# ----------------------------------------------------------------------------------------------
# temp dirs and programs

class TempDir:
    """A fresh directory removed on exit (kept when PYMEM_TEST_KEEP=1)."""

    def __init__(self, tag):
        self.path = tempfile.mkdtemp(prefix="pymem-it-%s-" % tag)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if os.environ.get("PYMEM_TEST_KEEP"):
            note("kept " + self.path)
            return False
        for root, dirs, _files in os.walk(self.path):   # undo chmods made by tests
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o755)
                except OSError:
                    pass
        shutil.rmtree(self.path, ignore_errors=True)
        return False

    def sub(self, *parts, make=False):
        p = os.path.join(self.path, *parts)
        if make:
            os.makedirs(p, exist_ok=True)
        return p


def prog(tmp, name, dest=None):
    """Copy progs/<name> into the temp dir and return its absolute path (so frames carry a
    path that the test knows, and nothing is written into the source tree)."""
    d = dest or tmp.sub("progs", make=True)
    dst = os.path.join(d, name)
    shutil.copyfile(os.path.join(PROGS, name), dst)
    return dst


def find_line(path, tag):
    """Line number (1-based) of the line carrying the comment '# LINE:<tag>'."""
    pat = re.compile(r"#\s*LINE:%s\b" % re.escape(tag))
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if pat.search(line):
                return i
    raise AssertionError("no '# LINE:%s' in %s" % (tag, path))


def base_env():
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return env


class Result:
    def __init__(self, argv, returncode, stdout, stderr, duration):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.duration = duration

    def __repr__(self):
        return "<rc=%r stdout=%r stderr=%r>" % (self.returncode, self.stdout[:300], self.stderr[:600])


def make_env(shim, output=None, env=None):
    e = base_env()
    if shim:
        e["LD_PRELOAD"] = shim_lib()
        if output is not None:
            e["PYMEM_OUTPUT"] = output
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


def run(argv, *, shim=True, output=None, env=None, cwd=None, stdin=None, timeout=RUN_TIMEOUT,
        text=True):
    """Run argv to completion. shim: preload libpymem.so; output: PYMEM_OUTPUT (None = unset,
    i.e. the shim's default ./pymem.db in cwd); env: extra variables (None value = remove).
    stdin: a string fed to the program (or None for /dev/null)."""
    e = make_env(shim, output, env)
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, env=e, cwd=cwd, input=stdin if stdin is not None else None,
                           stdin=None if stdin is not None else subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, text=text)
    except subprocess.TimeoutExpired as ex:
        raise AssertionError("timeout after %ss running %s (shim=%s); stdout=%r stderr=%r" % (
            timeout, argv, shim, ex.stdout, ex.stderr))
    return Result(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def run_prog(c, tmp, name, prog_name, stdout_re):
    """Runs progs/prog_name under the shim into a profile of its own and checks that it exited 0
    and printed a line matching stdout_re. Returns (its source path, the profile path, the
    match), the match None after a failed check."""
    src = prog(tmp, prog_name)
    db = tmp.sub(prog_name.replace(".py", ".db"))
    res = run([PY, src], output=db, cwd=tmp.path)
    c.eq(res.returncode, 0, "%s: exit status (stderr %r)" % (name, res.stderr[-1000:]))
    m = re.search(stdout_re, res.stdout)
    c.check(m is not None, "%s: stdout" % name, stdout_re, repr(res.stdout))
    return src, db, m


def start(argv, *, shim=True, output=None, env=None, cwd=None):
    """Start argv with pipes on stdin/stdout/stderr (unbuffered); drive it with read_line(),
    write_line() and finish()."""
    e = make_env(shim, output, env)
    return subprocess.Popen(argv, env=e, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)


def read_line(p, timeout=60):
    """Read one stdout line of a started process, byte by byte so nothing is left in a buffer
    ('' on EOF or timeout)."""
    import select
    fd = p.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            break
        ch = os.read(fd, 1)
        if not ch:
            break
        buf += ch
    return buf.decode("utf-8", "replace")


def write_line(p, line):
    try:
        p.stdin.write(line.encode())
        p.stdin.flush()
    except OSError:
        pass


def finish(p, timeout=RUN_TIMEOUT):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("timeout waiting for %s; stdout=%r stderr=%r" % (p.args, out, err))
    return Result(p.args, p.returncode, out.decode("utf-8", "replace"),
                  err.decode("utf-8", "replace"), 0)


def pymem_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("pymem: ")]


def other_lines(stderr):
    return [l for l in stderr.splitlines() if not l.startswith("pymem: ")]


# ----------------------------------------------------------------------------------------------
# the profile, read with sqlite3

class Profile:
    """Read-only access to a profile file, plus per-line aggregations of snapshot_live."""

    def __init__(self, path):
        if not os.path.exists(path):
            raise AssertionError("profile %s was not created" % path)
        self.path = path
        self.db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
        self.db.row_factory = sqlite3.Row
        self._frames = None
        self._stacks = None
        self._chains = {}
        self._by_line = {}

    def close(self):
        self.db.close()

    def q(self, sql, *args):
        return self.db.execute(sql, args).fetchall()

    def q1(self, sql, *args):
        r = self.db.execute(sql, args).fetchone()
        return None if r is None else r[0]

    def integrity(self):
        return self.q1("PRAGMA integrity_check")

    def dangling(self):
        """Rows naming a stack the file lacks: live and churn rows, and stacks whose caller is
        missing. (0, 0, 0) in a sound file."""
        return (self.q1("SELECT count(*) FROM live l LEFT JOIN stack s ON s.id = l.stack"
                        " WHERE s.id IS NULL"),
                self.q1("SELECT count(*) FROM churn c LEFT JOIN stack s ON s.id = c.stack"
                        " WHERE s.id IS NULL"),
                self.q1("SELECT count(*) FROM stack c LEFT JOIN stack s ON s.id = c.parent"
                        " WHERE c.parent <> 0 AND s.id IS NULL"))

    def stack_owners(self, process):
        """The processes whose ids the stacks of a process's live and churn rows carry (a stack
        id is process id << 32 | n)."""
        return {r[0] for r in self.q("SELECT DISTINCT stack >> 32 FROM live WHERE process = ?"
                                     " UNION SELECT DISTINCT stack >> 32 FROM churn"
                                     " WHERE process = ?", process, process)}

    # processes and snapshots
    def processes(self, run=None):
        if run is None:
            return [dict(r) for r in self.q("SELECT * FROM process ORDER BY id")]
        return [dict(r) for r in self.q("SELECT * FROM process WHERE run = ? ORDER BY id", run)]

    def root(self):
        """Root process of the latest run."""
        r = self.q("SELECT * FROM process WHERE parent IS NULL ORDER BY run DESC, id DESC LIMIT 1")
        if not r:
            raise AssertionError("no root process in %s (processes: %r)" % (self.path, self.processes()))
        return dict(r[0])

    def process_by_pid(self, pid):
        r = self.q("SELECT * FROM process WHERE pid = ? ORDER BY id DESC LIMIT 1", pid)
        return dict(r[0]) if r else None

    def snapshots(self, process, kind=None):
        if kind is None:
            rows = self.q("SELECT * FROM snapshot WHERE process = ? ORDER BY id", process)
        else:
            rows = self.q("SELECT * FROM snapshot WHERE process = ? AND kind = ? ORDER BY id",
                          process, kind)
        return [dict(r) for r in rows]

    def last(self, process, kind):
        s = self.snapshots(process, kind)
        return s[-1] if s else None

    # frames and stacks
    def frames(self):
        if self._frames is None:
            self._frames = {r[0]: (r[1], r[2], r[3])
                            for r in self.db.execute("SELECT id, file, function, line FROM frame")}
        return self._frames

    def stacks(self):
        if self._stacks is None:
            self._stacks = {r[0]: (r[1], r[2], r[3])
                            for r in self.db.execute("SELECT id, parent, frame, depth FROM stack")}
        return self._stacks

    def chain(self, stack_id):
        """Frames (file, function, line) of a stack, innermost first."""
        c = self._chains.get(stack_id)
        if c is not None:
            return c
        frames, stacks = self.frames(), self.stacks()
        out = []
        s = stack_id
        seen = 0
        while s:
            if s not in stacks:
                out.append(("<missing stack %d>" % s, "?", -1))
                break
            parent, frame, _depth = stacks[s]
            out.append(frames.get(frame, ("<missing frame %d>" % frame, "?", -1)))
            s = parent
            seen += 1
            if seen > 100000:
                out.append(("<stack cycle>", "?", -1))
                break
        c = tuple(out)
        self._chains[stack_id] = c
        return c

    def live(self, snapshot_id):
        return [dict(r) for r in self.q("SELECT * FROM snapshot_live WHERE snapshot = ?", snapshot_id)]

    def by_line(self, snapshot_id):
        """{(file, line): {'self_bytes','self_blocks','total_bytes','total_blocks','native_bytes'
        (self), 'functions'}} for a snapshot. total counts a stack once per distinct line in it."""
        if snapshot_id in self._by_line:
            return self._by_line[snapshot_id]
        agg = defaultdict(lambda: {"self_bytes": 0, "self_blocks": 0, "total_bytes": 0,
                                   "total_blocks": 0, "native_bytes": 0, "functions": set()})
        for r in self.live(snapshot_id):
            ch = self.chain(r["stack"])
            if not ch:
                continue
            f0, fn0, l0 = ch[0]
            a = agg[(f0, l0)]
            a["self_bytes"] += r["bytes"]
            a["self_blocks"] += r["blocks"]
            a["native_bytes"] += r["native_bytes"]
            for key in {(f, l) for f, _fn, l in ch}:
                agg[key]["total_bytes"] += r["bytes"]
                agg[key]["total_blocks"] += r["blocks"]
            for f, fn, l in ch:
                agg[(f, l)]["functions"].add(fn)
        self._by_line[snapshot_id] = agg
        return agg

    def line(self, snapshot_id, file, line, field="total_bytes"):
        """One field of by_line for (file, line); 0 when the line is absent."""
        a = self.by_line(snapshot_id).get((file, line))
        return a[field] if a else 0

    def live_sum(self, snapshot_id):
        return self.q1("SELECT COALESCE(SUM(bytes), 0) FROM snapshot_live WHERE snapshot = ?",
                       snapshot_id)

    def top_lines(self, snapshot_id, n=8):
        """A short human description of the biggest lines of a snapshot (for messages)."""
        agg = self.by_line(snapshot_id)
        rows = sorted(agg.items(), key=lambda kv: -kv[1]["self_bytes"])[:n]
        return "; ".join("%s:%s self=%d total=%d" % (os.path.basename(f), l, a["self_bytes"],
                                                      a["total_bytes"]) for (f, l), a in rows)


def check_exit_final(c, prof, pid, src, sizes):
    """The program (process `pid`) ended with a normal exit and its final snapshot holds each
    line of src at its size: sizes is [(tag, line, MiB)], each within 5%."""
    par = prof.process_by_pid(pid)
    if c.check(par is not None, "program's process row") and par:
        c.eq(par["end_reason"], "exit", "program: end_reason")
        final = prof.last(par["id"], "final")
        if c.check(final is not None, "program: final snapshot", "present",
                   [s["kind"] for s in prof.snapshots(par["id"])]):
            for tag, line, size in sizes:
                c.near(prof.line(final["id"], src, line), size * MiB,
                       "final snapshot, line %s" % tag, rel=0.05)


def wait_for(pred, timeout=60, step=0.1):
    """Poll pred() until true (returns True) or timeout (returns False). Exceptions = false."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def has_snapshot(db_path, kind):
    """True when the (possibly still being written) profile has a snapshot of that kind."""
    if not os.path.exists(db_path):
        return False
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=5)
    try:
        return con.execute("SELECT count(*) FROM snapshot WHERE kind = ?", (kind,)).fetchone()[0] > 0
    finally:
        con.close()


# ----------------------------------------------------------------------------------------------
# the viewer

def view_json(view, db_path, *args, check=None, what="pymem-view"):
    """Run `pymem-view <args> -f db --json`; returns the parsed JSON or None (and records a
    failure in check) when it fails."""
    argv = [view] + list(args) + ["-f", db_path, "--json"]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=base_env())
    except subprocess.TimeoutExpired:
        if check:
            check.fail(what + " (%s)" % " ".join(argv), "to finish within 60 s", "timeout")
        return None
    if p.returncode != 0:
        if check:
            check.fail(what + " (%s)" % " ".join(argv), "exit 0 with JSON",
                       "exit %d, stderr %r" % (p.returncode, p.stderr[:500]))
        return None
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        if check:
            check.fail(what + " (%s)" % " ".join(argv), "valid JSON", "%s: %r" % (e, p.stdout[:500]))
        return None


def view_line(top, file, line, field="total_bytes"):
    """From `top --json` output: the field for (file, line) (max of total over the rows of that
    line, sum of self), 0 when absent."""
    vals = [r.get(field, 0) for r in top.get("rows", [])
            if r.get("file") == file and r.get("line") == line]
    if not vals:
        return 0
    return sum(vals) if field.startswith("self") else max(vals)


def normalize_addresses(s):
    return re.sub(r"0x[0-9a-fA-F]+", "0x?", s)
