#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End to end test of growth, leaks and diff (suite 'python'): runs
tests/integration/progs/leak_service.py (4 KiB leaked per iteration on one line, a 1 MiB list
made and dropped per iteration on another) under the shim for 6 s with a periodic snapshot
every 0.5 s, then asks pymem-view.

  e2e_leak.py LIBPYMEM VIEW LEAK_SERVICE_PY
Exit 0 pass, 77 skip (no /usr/bin/python3), 1 fail.
"""
import json
import os
import subprocess
import sys
import tempfile

PY = '/usr/bin/python3'
SECONDS = 6
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print(f'FAIL: {what}', file=sys.stderr)
    return cond


def marker_line(path, marker):
    with open(path) as f:
        for n, text in enumerate(f, 1):
            if f'# LINE:{marker}' in text:
                return n
    raise SystemExit(f'no marker {marker} in {path}')


def view_json(view, *args):
    p = subprocess.run([view, *args, '--json'], capture_output=True, timeout=60)
    if not check(p.returncode == 0, f'pymem-view {" ".join(args)}: exit {p.returncode}, '
                 f'{p.stderr!r}'):
        raise SystemExit(1)
    return json.loads(p.stdout)


def main():
    lib, view, prog = (os.path.abspath(a) for a in sys.argv[1:])
    if not os.access(PY, os.X_OK):
        print(f'SKIP: no {PY}', file=sys.stderr)
        return 77
    leak, churn = marker_line(prog, 'LEAK'), marker_line(prog, 'CHURN')
    name = os.path.basename(prog)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, 'p.db')
        env = {'PATH': '/usr/bin:/bin', 'LD_PRELOAD': lib, 'PYMEM_OUTPUT': db,
               'PYMEM_INTERVAL': '0.5', 'PYTHONDONTWRITEBYTECODE': '1'}
        p = subprocess.run([PY, prog, str(SECONDS)], env=env, capture_output=True, text=True,
                           timeout=90, cwd=tmp)
        if not check(p.returncode == 0, f'leak_service exit {p.returncode}: {p.stderr}'):
            return 1
        iterations = int(p.stdout.split()[1])
        rate = iterations / SECONDS
        print(f'{iterations} iterations', file=sys.stderr)

        def is_line(r, n):
            return r['file'].endswith(name) and r.get('line') == n

        g = view_json(view, 'growth', '-f', db, '--limit', '0')
        print(json.dumps(g['rows'][:3], indent=1), file=sys.stderr)
        check(g['rows'] and is_line(g['rows'][0], leak),
              f'growth: the leaking line {leak} must come first: {g["rows"][:3]}')
        check(not any(is_line(r, churn) for r in g['rows']),
              f'growth: the churn line {churn} must not be listed')
        if g['rows'] and is_line(g['rows'][0], leak):
            per_min = g['rows'][0]['bytes_per_minute']
            want = rate * 4096 * 60
            check(0.6 * want <= per_min <= 1.6 * want,
                  f'growth: {per_min:.0f} B/min, expected about {want:.0f}')

        lk = view_json(view, 'leaks', '-f', db)
        rows = [r for r in lk['rows'] if is_line(r, leak)]
        check(rows and rows[0] is lk['rows'][0], f'leaks: the leak line first: {lk["rows"][:2]}')
        check(sum(r['bytes_grown'] for r in rows) >= 4096 * iterations * 0.5,
              f'leaks: {sum(r["bytes_grown"] for r in rows)} B grown on line {leak}')

        snaps = view_json(view, 'snapshots', '-f', db)['snapshots']
        periodic = [s for s in snaps if s['kind'] == 'periodic']
        if not check(len(periodic) >= 4, f'{len(periodic)} periodic snapshots'):
            return 1
        a, b = periodic[1], periodic[-1]
        d = view_json(view, 'diff', '-f', db, str(a['id']), str(b['id']), '--limit', '0')
        change = sum(r['change_bytes'] for r in d['rows'] if is_line(r, leak))
        want = 4096 * rate * (b['time'] - a['time'])
        check(0.7 * want <= change <= 1.5 * want + 65536,
              f'diff {a["id"]} {b["id"]}: line {leak} changed by {change} B, expected about '
              f'{want:.0f} (4 KiB x {rate * (b["time"] - a["time"]):.0f} iterations)')
    return 1 if FAILURES else 0


if __name__ == '__main__':
    sys.exit(main())
