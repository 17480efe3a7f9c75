#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks of summary, leaks, growth and diff beyond the golden outputs (suite 'viewer'):
the numbers in --json, --csv parsed as RFC 4180, the stderr note of leaks on a process without
a final snapshot, --help.

  check.py VIEW ANALYSIS_GROWTH_DB DIFF_A_DB DIFF_B_DB BASIC_DB
"""
import csv
import io
import json
import os
import subprocess
import sys

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print(f'FAIL: {what}')


def run(view, *args):
    p = subprocess.run([os.path.abspath(view), *args], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def ok(view, *args):
    rc, out, err = run(view, *args)
    check(rc == 0, f'{args}: exit {rc}, stderr {err!r}')
    return out, err


def js(view, *args):
    out, err = ok(view, *args, '--json')
    check(err == b'', f'{args}: stderr {err!r}')
    return json.loads(out)


def rows_csv(view, *args):
    out, _ = ok(view, *args, '--csv')
    check(out.endswith(b'\r\n'), f'{args}: CSV records end with CRLF')
    return list(csv.DictReader(io.StringIO(out.decode('utf-8'), newline='')))


def main():
    view, g, da, db, basic, weird = sys.argv[1:]
    KiB = 1024

    # growth: the steady leak first, the slower one second, churn / flat / shrinking absent.
    d = js(view, 'growth', '-f', g)
    lines = [(r['file'], r['line']) for r in d['rows']]
    check(lines == [('svc.py', 12), ('svc.py', 14)], f'growth lines: {lines}')
    check(d['points'] == 9 and d['periodic'] == 8 and d['final'] is True, f'points: {d}')
    r = d['rows'][0]
    check(r['steadiness'] == 1 and r['fit'] > 0.99 and r['bytes'] == 36 * KiB, f'leak row: {r}')
    check(235 * KiB < r['bytes_per_minute'] < 255 * KiB, f'slope of 4 KiB/s: {r}')
    check(d['rows'][1]['steadiness'] == 0.75, f'slow leak steadiness: {d["rows"][1]}')
    d = js(view, 'growth', '-f', g, '--by', 'stack')
    check([r['stack'] for r in d['rows']] == [1005, 1006, 1007], f'growth stacks: {d["rows"]}')
    check([f['function'] for f in d['rows'][0]['frames']] == ['<module>', 'main', 'serve', 'handle'],
          'frames outermost first')
    rows = rows_csv(view, 'growth', '-f', g)
    check([(r['file'], r['line']) for r in rows] == [('svc.py', '12'), ('svc.py', '14')], 'csv')

    # leaks: final minus the first periodic, by stack; the killed child uses its latest snapshot.
    d = js(view, 'leaks', '-f', g)
    check(d['end']['id'] == 10 and d['baseline']['id'] == 1, f'leaks snapshots: {d}')
    grown = {r['stack']: r['bytes_grown'] for r in d['rows']}
    check(grown == {1008: 1048576, 1005: 24 * KiB, 1006: 8 * KiB, 1007: 6 * KiB}, f'{grown}')
    check(d['grown_bytes'] == sum(grown.values()), 'grown_bytes')
    rc, out, err = run(view, 'leaks', '-f', g, '--pid', '5001')
    check(rc == 0 and err == b'pymem-view: pid 5001 has no final snapshot (killed or still'
          b' running): using its latest, snapshot 12 (periodic) at 2.00 s\n', f'no final: {err!r}')
    d = js(view, 'leaks', '-f', g, '--since', '10')
    check(d['rows'] == [] and d['grown_bytes'] == 0, 'baseline = end: nothing grew')
    d = js(view, 'leaks', '-f', g, '--since', '3.5')
    check(d['baseline']['id'] == 4, 'the first snapshot at or after 3.5 s')
    d = js(view, 'leaks', '-f', g, '--since', '3.6s')
    check(d['baseline']['id'] == 5, 'the first snapshot at or after 3.6 s')
    rows = rows_csv(view, 'leaks', '-f', g, '--limit', '0')
    check(len(rows) == 4 and rows[1]['frames'] ==
          'svc.py:60:<module>;svc.py:55:main;svc.py:40:serve;svc.py:12:handle', f'{rows[1]}')

    # diff: the same file, by line; two files.
    d = js(view, 'diff', '-f', g, '2', '9')
    ch = {(r['file'], r['line']): r['change_bytes'] for r in d['rows']}
    check(ch[('svc.py', 12)] == 6 * 4 * KiB and ('svc.py', 30) not in ch, f'diff: {ch}')
    check([abs(r['change_bytes']) for r in d['rows']] ==
          sorted((abs(r['change_bytes']) for r in d['rows']), reverse=True), 'sorted by |change|')
    d = js(view, 'diff', da, db)
    check(d['before']['snapshot']['id'] == 2 and d['after']['snapshot']['id'] == 1, 'latest peaks')
    ch = {(r['file'], r['line']): (r['before_bytes'], r['after_bytes']) for r in d['rows']}
    check(ch == {('x.py', 1): (1048576, 2097152), ('x.py', 4): (0, 10240), ('x.py', 3): (100, 0),
                 ('x.py', 5): (1000, 3000)}, f'two files: {ch}')
    d = js(view, 'diff', '--by', 'function', da, db)
    ch = {(r['file'], r['function']): r['change_bytes'] for r in d['rows']}
    check(ch == {('x.py', 'f'): 1050576, ('x.py', 'k'): 10240, ('x.py', 'h'): -100}, f'{ch}')
    check('line' not in d['rows'][0], 'no line when by function')
    # Snapshot ids of another process are found without --pid.
    d = js(view, 'diff', '-f', g, '11', '12')
    check(d['before']['process']['pid'] == 5001 and d['rows'][0]['change_bytes'] == 4096,
          f'child snapshots: {d}')

    # summary.
    d = js(view, 'summary', '-f', g)
    check([p['pid'] for p in d['processes']] == [5000, 5001], 'processes')
    check(d['processes'][1]['ended'] is False and d['processes'][1]['duration'] == 2.0, 'child')
    check(d['heap_peak']['snapshot']['id'] == 4 and len(d['heap_peak']['top']) == 3, 'heap peak')
    check(d['heap_peak']['top'][0]['line'] == 20, 'the churn line holds the peak')
    check(d['rss_peak']['bytes'] == 64 * 1048576 + 16 * 1048576 + d['heap_peak']['snapshot'][
        'heap_bytes'], f'rss peak from the timeline: {d["rss_peak"]}')
    check(d['heap_at_exit']['id'] == 10, 'heap at exit')
    check(d['snapshots'] == {'total': 10, 'by_kind': {'periodic': 8, 'peak': 1, 'final': 1}},
          f'{d["snapshots"]}')
    check(d['tool_bytes'] == {'snapshot': 10, 'bytes': 2 * 1048576 + 9 * 4096}, 'tool bytes')
    d = js(view, 'summary', '-f', basic, '--pid', '4243')
    check(d['heap_at_exit'] is None and d['ended'] is False, 'killed child: no exit')

    # Names from the program are escaped in text and valid in JSON; weird's root has no final.
    for fmt in ([], ['--json'], ['--csv']):
        rc, out, err = run(view, 'leaks', '-f', weird, '--limit', '0', *fmt)
        check(rc == 0 and err.startswith(b'pymem-view: pid 500 has no final snapshot') and
              err.count(b'\n') == 1, f'weird leaks {fmt}: {rc} {err!r}')
        if fmt != ['--csv']:
            check(b'\x1b' not in out and b'\xe9.py' not in out, f'raw bytes in leaks {fmt}')
        if fmt == []:
            check(b'esc\\x1b[31mred' in out, f'escaped function name: {out!r}')
        if fmt == ['--json']:
            names = {r['function'] for r in json.loads(out)['rows']}
            check('esc\x1b[31mred' in names and '<img src=x onerror=alert(1)>' in names,
                  f'JSON names: {names}')

    for cmd in ('summary', 'leaks', 'growth', 'diff'):
        for h in ('-h', '--help'):
            rc, out, err = run(view, cmd, h)
            check(rc == 0 and out.startswith(b'usage: pymem-view ' + cmd.encode()) and err == b'',
                  f'{cmd} {h}')
    return 1 if FAILURES else 0


if __name__ == '__main__':
    sys.exit(main())
