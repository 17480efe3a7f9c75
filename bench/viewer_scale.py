#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How fast pymem-view reads a big profile.

Generates a profile directly with the sqlite3 module, using exactly the schema the shim writes
(PM_SCHEMA_SQL, extracted from lib/schema.h), then times pymem-view commands on it:

  /usr/bin/python3 bench/viewer_scale.py                 # ~1 GB, 1,000 snapshots (a few minutes)
  /usr/bin/python3 bench/viewer_scale.py --quick         # ~20 MB, seconds
  /usr/bin/python3 bench/viewer_scale.py --size-gb 0.3 --db /tmp/p.db --index

The file is shaped like the shim's: one process, frames and a stack trie, periodic snapshots
with a 'peak' whenever the heap passes its previous peak by 5 %, a 'final' one at the end, and
live rows stored only when they change (a changed stack's row gets until_snapshot = the new
snapshot and a new row starts there), written in time order. The heap grows for the first 60 %
of the run and shrinks afterwards, so the latest peak is not the last snapshot.

An existing --db file is reused (its generation is slow); --regen rebuilds it. --index adds the
index the shim creates once a file holds PM_LIVE_INDEX_ROWS live rows (lib/schema.h), and
pymem-view uses when present, to the generated file (made without it) before timing; --drop-index removes them again. Timings are the best of --rounds runs.
Exit status: 0, or 1 when a command failed.
"""
import argparse
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def schema_define(name):
    """The SQL text of the string macro `name` in lib/schema.h."""
    with open(os.path.join(ROOT, 'lib', 'schema.h')) as f:
        text = f.read()
    lines = []
    for line in text[text.index('#define %s ' % name):].splitlines():
        lines.append(line)
        if not line.rstrip().endswith('\\'):
            break
    body = re.sub(r'/\*.*?\*/', '', '\n'.join(lines), flags=re.S)
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    return ''.join(bytes(p, 'utf-8').decode('unicode_escape') for p in parts)


def schema_sql():
    """PM_SCHEMA_SQL and PM_SCHEMA_VERSION from lib/schema.h, as SQL text."""
    with open(os.path.join(ROOT, 'lib', 'schema.h')) as f:
        version = int(re.search(r'#define PM_SCHEMA_VERSION (\d+)', f.read()).group(1))
    return schema_define('PM_SCHEMA_SQL') + f'PRAGMA user_version = {version};\n'


def live_indexes():
    """[(name, CREATE INDEX statement)] of PM_LIVE_INDEX_SQL: what the shim makes once the live
    table is big."""
    stmts = [q.strip() for q in schema_define('PM_LIVE_INDEX_SQL').split(';') if q.strip()]
    return [(re.search(r'EXISTS (\w+)', q).group(1), q) for q in stmts]


FILES = (['/usr/lib/python3.11/%s.py' % n for n in
          ('json/decoder', 'json/encoder', 'collections/__init__', 'copy', 're/_parser',
           'typing', 'functools', 'threading', 'ast', 'enum')] +
         ['<frozen importlib._bootstrap>', '<frozen runpy>'] +
         ['/usr/lib/python3/dist-packages/numpy/core/%s.py' % n for n in
          ('numeric', 'fromnumeric', 'shape_base', '_methods')] +
         ['/home/dev/venv/lib/python3.11/site-packages/pkg%d/mod.py' % i for i in range(20)] +
         ['/home/dev/project/src/app/module_%03d.py' % i for i in range(200)])


def generate(path, size_gb, n_snap, n_stacks, n_frames, seed):
    rnd = random.Random(seed)
    # ~60 bytes per live row (table row + index entry) once written.
    n_rows = int(size_gb * 1e9 / 60)
    per_snap = max(1, n_rows // n_snap)
    tmp = path + '.tmp'
    for p in (tmp, tmp + '-journal'):
        if os.path.exists(p):
            os.remove(p)
    db = sqlite3.connect(tmp, isolation_level=None)
    db.executescript(schema_sql())
    db.execute('PRAGMA journal_mode=OFF')
    db.execute('PRAGMA synchronous=OFF')
    db.execute('PRAGMA cache_size=-1000000')
    db.execute('BEGIN')
    db.execute("INSERT INTO process VALUES (1, 1, NULL, 1000, 1, '[\"python3\",\"big.py\"]',"
               " '/usr/bin/python3', '3.11.2', 'full', 1700000000.0, 1700003600.0, 'exit', 0)")
    frame_ids = [rnd.getrandbits(62) + 1 for _ in range(n_frames)]
    db.executemany('INSERT OR IGNORE INTO frame VALUES (?, ?, ?, ?)',
                   ((fid, FILES[i % len(FILES)], 'func_%d' % (i % 5000), 1 + i % 900)
                    for i, fid in enumerate(frame_ids)))
    # A trie: each stack extends an earlier one (or starts a new root), depth up to ~40.
    ids, depth = [], []
    rows = []
    for i in range(n_stacks):
        if i < 50 or rnd.random() < 0.01:
            parent, d = 0, 1
        else:
            j = len(ids) - 1 - int(rnd.expovariate(1 / 2000)) % len(ids)
            if depth[j] >= 40:
                j = rnd.randrange(len(ids))
            parent, d = ids[j], depth[j] + 1
        sid = 1 << 32 | (i + 1)     # the shim's ids: process id << 32 | index
        ids.append(sid)
        depth.append(d)
        rows.append((sid, parent, rnd.choice(frame_ids), d, rnd.getrandbits(62) + 1))
    db.executemany('INSERT OR IGNORE INTO stack VALUES (?, ?, ?, ?, ?)', rows)
    rows = None

    # Live rows: stack index -> (rowid, bytes, blocks) of its open row.
    open_row = {}
    next_rowid = 1
    heap = 0
    peak = 0
    live_batch, end_batch = [], []

    def flush():
        db.executemany('INSERT INTO live(rowid, process, stack, first_snapshot, bytes, blocks, python_bytes,'
                       ' python_blocks, raw_bytes, raw_blocks, native_bytes, native_blocks)'
                       ' VALUES (?,?,?,?,?,?,?,?,?,?,?,?)', live_batch)
        db.executemany('UPDATE live SET until_snapshot = ? WHERE rowid = ?', end_batch)
        live_batch.clear()
        end_batch.clear()

    hot = n_stacks // 4             # most changes hit a quarter of the stacks
    for snap in range(1, n_snap + 1):
        growing = snap < 0.6 * n_snap
        for _ in range(per_snap if snap > 1 else max(per_snap, n_stacks // 2)):
            k = rnd.randrange(hot) if rnd.random() < 0.8 else rnd.randrange(n_stacks)
            old = open_row.pop(k, None)
            if old:
                end_batch.append((snap, old[0]))
                heap -= old[1]
            if old and rnd.random() < (0.05 if growing else 0.4):
                continue            # freed
            base = old[1] if old else rnd.choice((64, 512, 4096, 65536, 1 << 20))
            nbytes = int(base * (rnd.uniform(0.9, 1.6) if growing else rnd.uniform(0.5, 1.1)))
            nbytes = min(max(16, nbytes), 1 << 30)
            blocks = max(1, nbytes // 256)
            split = rnd.randrange(3)
            py = nbytes if split == 0 else nbytes // 2 if split == 1 else 0
            raw = nbytes - py if split == 1 else 0
            nat = nbytes - py - raw
            live_batch.append((next_rowid, 1, ids[k], snap, nbytes, blocks,
                               py, blocks if py else 0, raw, blocks if raw and not py else 0,
                               nat, blocks if nat and not py and not raw else 0))
            open_row[k] = (next_rowid, nbytes)
            next_rowid += 1
            heap += nbytes
        kind = 'periodic'
        if heap > peak * 1.05:
            peak = heap
            kind = 'peak'
        if snap == n_snap:
            kind = 'final'
        blocks = len(open_row)
        db.execute('INSERT INTO snapshot VALUES (?, 1, ?, NULL, ?, ?, ?, ?, ?)',
                   (snap, kind, snap * 0.5, heap, blocks, heap + (50 << 20), 8 << 20))
        db.execute('INSERT INTO timeline VALUES (1, ?, ?, ?)', (snap * 0.5, heap, heap + (50 << 20)))
        if len(live_batch) > 200000:
            flush()
        if snap % 100 == 0:
            print(f'  snapshot {snap}/{n_snap}: {next_rowid - 1} live rows', file=sys.stderr)
    flush()
    db.executemany('INSERT OR IGNORE INTO churn VALUES (1, ?, ?, ?)',
                   ((ids[k], v[1] * 3, 3) for k, v in open_row.items()))
    db.execute('COMMIT')
    db.execute('PRAGMA journal_mode=WAL')   # as the shim leaves it
    db.close()
    os.replace(tmp, path)


def add_indexes(path, drop=False):
    db = sqlite3.connect(path, isolation_level=None)
    for name, sql in live_indexes():
        t = time.perf_counter()
        db.execute(f'DROP INDEX IF EXISTS {name}' if drop else sql)
        print(f'{"dropped" if drop else "created"} {name} in {time.perf_counter() - t:.1f} s',
              file=sys.stderr)
    db.close()


def timed(view, args, rounds):
    best, out = None, None
    for _ in range(rounds):
        t = time.perf_counter()
        p = subprocess.run([view] + args, capture_output=True, timeout=600)
        dt = time.perf_counter() - t
        if p.returncode != 0:
            return None, p.stderr.decode('utf-8', 'replace').strip()
        best = dt if best is None else min(best, dt)
    return best, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size-gb', type=float, default=1.0)
    ap.add_argument('--quick', action='store_true', help='a small file (~20 MB)')
    ap.add_argument('--snapshots', type=int, default=1000)
    ap.add_argument('--stacks', type=int, default=200000)
    ap.add_argument('--frames', type=int, default=50000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--db', help='profile to generate or reuse (default: in $TMPDIR)')
    ap.add_argument('--regen', action='store_true', help='rebuild --db even if it exists')
    ap.add_argument('--index', action='store_true', help='add the live indexes the shim makes once a file is big')
    ap.add_argument('--drop-index', action='store_true', help='remove them first')
    ap.add_argument('--view', help='pymem-view to time (default: build*/viewer/pymem-view)')
    ap.add_argument('--rounds', type=int, default=3)
    a = ap.parse_args()
    if a.quick:
        a.size_gb, a.snapshots, a.stacks, a.frames = 0.02, 100, 5000, 2000
    if not a.view:
        for b in ('build', 'build-top', 'build-viewer'):
            p = os.path.join(ROOT, b, 'viewer', 'pymem-view')
            if os.path.exists(p):
                a.view = p
                break
        else:
            a.view = shutil.which('pymem-view') or 'pymem-view'
    if not a.db:
        tmpdir = os.environ.get('TMPDIR', '/tmp')
        a.db = os.path.join(tmpdir, f'pymem-scale-{a.size_gb:g}g-{a.snapshots}s-{a.seed}.db')
    if a.regen or not os.path.exists(a.db):
        print(f'generating {a.db} ...', file=sys.stderr)
        t = time.perf_counter()
        generate(a.db, a.size_gb, a.snapshots, a.stacks, a.frames, a.seed)
        print(f'generated in {time.perf_counter() - t:.0f} s', file=sys.stderr)
    if a.drop_index:
        add_indexes(a.db, drop=True)
    if a.index:
        add_indexes(a.db)

    db = sqlite3.connect(f'file:{a.db}?mode=ro', uri=True)
    n_live = db.execute('SELECT max(rowid) FROM live').fetchone()[0]
    snaps = [r[0] for r in db.execute('SELECT id FROM snapshot WHERE process = 1 ORDER BY id')]
    peak = db.execute("SELECT max(id) FROM snapshot WHERE kind = 'peak'").fetchone()[0]
    indexes = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'"
                                        " AND tbl_name = 'live'")]
    db.close()
    size = os.path.getsize(a.db)
    print(f'profile: {a.db}\n  {size / 1e9:.2f} GB, {len(snaps)} snapshots, {n_live} live rows,'
          f' latest peak = snapshot {peak}; live indexes: {", ".join(indexes)}')
    print(f'viewer: {a.view}')

    f = ['-f', a.db]
    cases = [
        ('top --peak', ['top', '--peak'] + f),
        ('top --peak --by stack', ['top', '--peak', '--by', 'stack'] + f),
        ('top --peak --user', ['top', '--peak', '--user'] + f),
        ('top --final', ['top', '--final'] + f),
        (f'top --snapshot {snaps[len(snaps) // 10]} (10 %)',
         ['top', '--snapshot', str(snaps[len(snaps) // 10])] + f),
        (f'top --snapshot {snaps[len(snaps) // 2]} (50 %)',
         ['top', '--snapshot', str(snaps[len(snaps) // 2])] + f),
        ('snapshots', ['snapshots'] + f),
    ]
    if subprocess.run([a.view, 'growth', '--help'], capture_output=True).returncode == 0:
        cases.append(('growth', ['growth'] + f))
    failed = False
    print(f'\n{"command":<40} {"best of " + str(a.rounds):>12}')
    for name, args in cases:
        dt, err = timed(a.view, args, a.rounds)
        if dt is None:
            failed = True
            print(f'{name:<40} {"FAILED":>12}  {err}')
        else:
            print(f'{name:<40} {dt:>10.3f} s')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
