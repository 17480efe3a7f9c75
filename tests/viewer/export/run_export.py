#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of pymem-view export beyond the golden outputs (tests/viewer/export/meson.build).

  run_export.py parse VIEW BASIC BROKEN    json/speedscope/csv/folded parse and agree with each
                                           other, with 'top --json' and with the fixtures
  run_export.py output VIEW BASIC          -o FILE, '-o -', pipes, no file left on errors
  run_export.py tty VIEW BASIC             pprof to a terminal is refused (exit 2)
  run_export.py pprof VIEW DB [ARGS...]    'go tool pprof' reads the export and agrees with
                                           'top --json' and 'export --format json' (77 w/o go)
  run_export.py e2e VIEW SHIM              a real Python program under the shim, exported to
                                           pprof and read back by go (77 without go)
"""
import csv
import gzip
import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run(view, args, **kw):
    p = subprocess.run([os.path.abspath(view)] + args, capture_output=True, timeout=60, **kw)
    return p.returncode, p.stdout, p.stderr


def export(view, db, fmt, *extra):
    rc, out, err = run(view, ['export', '-f', db, '--format', fmt, *extra])
    check(rc == 0 and err == b'', f'export --format {fmt} {extra}: exit {rc}, {err!r}')
    return out


def top_json(view, db, *extra):
    rc, out, err = run(view, ['top', '-f', db, '--json', '--limit', '0', *extra])
    check(rc == 0, f'top --json: {rc} {err!r}')
    return json.loads(out)


def frame_text(fr):
    return (fr['file'], fr['line'], fr['function'])


def cmd_parse(argv):
    view, basic, broken = argv
    for db, extra in ((basic, []), (basic, ['--final']), (basic, ['--snapshot', '3']),
                      (basic, ['--pid', '4243']), (broken, []), (broken, ['--final'])):
        d = json.loads(export(view, db, 'json', *extra))
        frames, samples = d['frames'], d['samples']
        check(all(0 <= i < len(frames) for s in samples for i in s['frames']), 'frame index')
        check(sum(s['bytes'] for s in samples) == d['totals']['bytes'], 'totals.bytes')
        for s in samples:
            check(s['python_bytes'] + s['raw_bytes'] + s['native_bytes'] == s['bytes'],
                  f'kinds add up: {s}')
        # Self per line from the samples equals top's self column.
        top = top_json(view, db, *extra)
        check(top['snapshot']['id'] == d['snapshot']['id'], 'same default snapshot as top')
        self_bytes = {}
        for s in samples:
            key = frame_text(frames[s['frames'][-1]])
            self_bytes[key] = self_bytes.get(key, 0) + s['bytes']
        want = {(r['file'], r['line'], r['function']): r['self_bytes'] for r in top['rows']
                if r['self_bytes']}
        check({k: v for k, v in self_bytes.items() if v} == want,
              f'self bytes {self_bytes} != top {want}')
        # speedscope: the same stacks, live ones only, weights = bytes.
        sp = json.loads(export(view, db, 'speedscope', *extra))
        check(sp['$schema'] == 'https://www.speedscope.app/file-format-schema.json', 'schema')
        prof = sp['profiles'][0]
        check(prof['type'] == 'sampled' and prof['unit'] == 'bytes', 'profile type')
        check(len(prof['samples']) == len(prof['weights']), 'samples and weights')
        live = [s for s in samples if s['bytes'] > 0]
        check(prof['weights'] == [s['bytes'] for s in live], 'weights')
        check(prof['endValue'] == sum(prof['weights']), 'endValue')
        sf = sp['shared']['frames']
        check([[(sf[i]['file'], sf[i]['line'], sf[i]['name']) for i in st]
               for st in prof['samples']] ==
              [[frame_text(frames[i]) for i in s['frames']] for s in live], 'speedscope stacks')
        # folded: one line per live stack, the bytes at the end.
        folded = export(view, db, 'folded', *extra).decode('utf-8')
        lines = folded.splitlines()
        check(len(lines) == len(live), f'folded lines: {lines}')
        for line, s in zip(lines, live):
            stack, n = line.rsplit(' ', 1)
            check(int(n) == s['bytes'] and stack.count(';') == len(s['frames']) - 1,
                  f'folded line {line!r} for {s}')
        # csv: RFC 4180, one row per sample, same numbers.
        text = export(view, db, 'csv', *extra).decode('utf-8')
        check(text.endswith('\r\n'), 'csv rows end in CRLF')
        rows = list(csv.DictReader(io.StringIO(text, newline='')))
        check(len(rows) == len(samples), 'csv rows')
        for r, s in zip(rows, samples):
            check(int(r['stack']) == s['stack'] and int(r['bytes']) == s['bytes'] and
                  int(r['alloc_bytes']) == s['alloc_bytes'] and
                  int(r['line']) == frames[s['frames'][-1]]['line'] and
                  r['frames'].count(' <- ') == len(s['frames']) - 1, f'csv row {r} for {s}')
    # The damaged file: synthetic frames, a cycle cut, escaping.
    d = json.loads(export(view, broken, 'json'))
    names = [[frame_text(d['frames'][i]) for i in s['frames']] for s in d['samples']]
    unknown = ('<pymem>', 0, '<unknown stack>')
    check(names[1] == [unknown, ('main.py', 4, 'leaf')], f'missing parent: {names[1]}')
    check(names[2][-1] == ('<pymem>', 0, '<unknown frame>'), f'missing frame: {names[2]}')
    check(names[3] == [unknown, ('main.py', 1, '<module>'), ('main.py', 4, 'leaf')],
          f'cycle: {names[3]}')
    check(names[4] == [unknown], f'missing stack: {names[4]}')
    check(d['samples'][-1]['bytes'] == 0 and d['samples'][-1]['alloc_bytes'] == 50,
          'churn-only stack last')
    check(names[0][-1] == ('dir, with "quotes"\ttab\\x.py', 3, 'new\nline'), 'names as stored')
    folded = export(view, broken, 'folded')
    check(b'semi\\x3bcolon' in folded and b'new\\nline' in folded and b'\t' not in folded,
          f'folded escapes: {folded!r}')
    check(len(folded.splitlines()) == 5, 'a newline in a name does not split a line')
    rows = list(csv.reader(io.StringIO(export(view, broken, 'csv').decode(), newline='')))
    check(rows[1][11] == 'dir, with "quotes"\\ttab\\\\x.py' and rows[1][13] == 'new\\nline',
          f'csv quoting: {rows[1]}')


def cmd_output(argv):
    view, basic = argv
    for args in (['export', '--help'], ['export', '-h']):
        rc, out, err = run(view, args)
        check(rc == 0 and out.startswith(b'usage: pymem-view export') and err == b'', 'help')
    want = export(view, basic, 'json')
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'out.json')
        rc, out, err = run(view, ['export', '-f', basic, '--format', 'json', '-o', path])
        check(rc == 0 and out == b'' and err == b'', f'-o: {rc} {out!r} {err!r}')
        with open(path, 'rb') as f:
            check(f.read() == want, '-o FILE holds what stdout gets')
        check(export(view, basic, 'json', '-o', '-') == want, "'-o -' is stdout")
        pb = os.path.join(tmp, 'p.pb.gz')
        rc, out, err = run(view, ['export', '-f', basic, '--format', 'pprof', '-o', pb])
        check(rc == 0 and out == b'', f'pprof -o: {rc} {err!r}')
        with open(pb, 'rb') as f:
            data = f.read()
        check(data[:2] == b'\x1f\x8b', 'gzip magic')
        raw = gzip.decompress(data)
        check(raw[:1] == b'\x0a' and b'inuse_space' in raw and b'alloc_objects' in raw, 'proto')
        rc, piped, err = run(view, ['export', '-f', basic, '--format', 'pprof'],
                             stdin=subprocess.DEVNULL)
        check(rc == 0 and piped == data, 'pprof to a pipe is allowed and equal to -o')
        # Errors leave no file behind.
        bad = os.path.join(tmp, 'bad.json')
        rc, out, err = run(view, ['export', '-f', basic, '--format', 'json', '-o', bad,
                                  '--snapshot', '999'])
        check(rc == 1 and not os.path.exists(bad), f'unknown snapshot: {rc}, file left')
        rc, out, err = run(view, ['export', '-f', basic, '--format', 'json', '-o',
                                  os.path.join(tmp, 'no', 'such', 'dir.json')])
        check(rc == 1 and err.startswith(b'pymem-view: cannot create') and
              err.count(b'\n') == 1, f'unwritable output: {rc} {err!r}')
        if os.path.exists('/dev/full'):
            rc, out, err = run(view, ['export', '-f', basic, '--format', 'csv', '-o',
                                      '/dev/full'])
            check(rc == 1 and b'cannot write' in err, f'/dev/full: {rc} {err!r}')


def cmd_tty(argv):
    view, basic = argv
    for extra in ([], ['-o', '-']):
        master, slave = pty.openpty()
        try:
            p = subprocess.run([os.path.abspath(view), 'export', '-f', basic, '--format',
                                'pprof', *extra], stdout=slave, stderr=subprocess.PIPE,
                               timeout=60)
        finally:
            os.close(slave)
            os.close(master)
        err = p.stderr.decode()
        check(p.returncode == 2, f'pprof to a tty: exit {p.returncode}, {err!r}')
        check(err.startswith('pymem-view: ') and err.count('\n') == 1 and 'terminal' in err,
              f'message: {err!r}')


def go_env(tmp):
    go = shutil.which('go')
    if not go:
        print('SKIP: go is not installed (golang-go)')
        sys.exit(SKIP)
    env = dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, 'cache'),
               GOPATH=os.path.join(tmp, 'gopath'), GOFLAGS='-mod=mod', GOTOOLCHAIN='local',
               GOPROXY='off')
    return go, env


def pprof(go, env, path, *args):
    p = subprocess.run([go, 'tool', 'pprof', *args, path], capture_output=True, env=env,
                       timeout=300, text=True)
    check(p.returncode == 0, f'go tool pprof {args}: exit {p.returncode}: {p.stderr}')
    return p.stdout


def parse_raw(text):
    """The sample values of 'go tool pprof -raw' (names are checked with decode() instead: a
    name may hold a newline)."""
    lines = text.splitlines()
    i = lines.index('Samples:') + 1
    types = lines[i].split()
    check([t.split('/')[0] for t in types] == ['inuse_space', 'inuse_objects', 'alloc_space',
                                               'alloc_objects'], f'sample types: {types}')
    values = []
    for line in lines[i + 1:]:
        if not re.match(r'\s+-?\d', line):
            break
        values.append(tuple(int(v) for v in line.split(':')[0].split()))
    return values


def fields(buf):
    """(field number, value) pairs of one protobuf message: ints or bytes."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        if key & 7 == 0:
            v, i = varint(buf, i)
        elif key & 7 == 2:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise Failure(f'unexpected wire type {key & 7}')
        yield key >> 3, v


def varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7f) << shift
        shift += 7
        if b < 0x80:
            return v, i


def packed(v):
    if isinstance(v, int):
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(x)
    return out


def decode(data):
    """The samples of a pprof file as (values, [(file, line, function)] innermost first), by
    our own decoder, and the string table."""
    strings, samples, locs, funcs = [], [], {}, {}
    for f, v in fields(gzip.decompress(data)):
        if f == 6:
            strings.append(v.decode('utf-8'))
        elif f == 2:
            s = {1: [], 2: []}
            for g, w in fields(v):
                s[g] += packed(w)
            samples.append(s)
        elif f == 4:
            loc = dict(fields(v))
            line = dict(fields(loc[4]))
            locs[loc[1]] = (line[1], line.get(2, 0))
        elif f == 5:
            fn = dict(fields(v))
            funcs[fn[1]] = (fn.get(2, 0), fn.get(4, 0))
    check(strings and strings[0] == '', 'string table starts with ""')
    out = []
    for s in samples:
        frames = []
        for lid in s[1]:
            fid, line = locs[lid]
            name, file = funcs[fid]
            frames.append((strings[file], line, strings[name]))
        out.append((tuple(s[2]), frames))
    return out, strings


def check_pprof(view, go, env, db, path, extra):
    """The pprof file at path, exported from db with extra, against the JSON export."""
    d = json.loads(export(view, db, 'json', *extra))
    kept = [s for s in d['samples'] if s['bytes'] or s['blocks'] or s['alloc_bytes'] or
            s['alloc_blocks']]
    with open(path, 'rb') as f:
        ours, strings = decode(f.read())
    want = sorted(((s['bytes'], s['blocks'], s['alloc_bytes'], s['alloc_blocks']),
                   [frame_text(d['frames'][i]) for i in reversed(s['frames'])]) for s in kept)
    check(sorted(ours) == want, f'pprof samples differ:\n{sorted(ours)}\n{want}')
    check(len(strings) == len(set(strings)), 'strings are interned once')
    values = parse_raw(pprof(go, env, path, '-raw'))
    check(sorted(values) == sorted(v for v, _ in want), f'go reads other values: {values}')
    # The top entry of 'go tool pprof -top' (flat, by line) is top's first row.
    top = top_json(view, db, *extra)
    text = pprof(go, env, path, '-top', '-lines', '-unit=B', '-sample_index=inuse_space',
                 '-nodecount=1000')
    m = re.search(r'of (\d+)B total', text)
    check(m and int(m.group(1)) == d['totals']['bytes'] == top['snapshot']['heap_bytes'] ==
          sum(r['self_bytes'] for r in top['rows']), f'pprof total: {text}')
    rows = [l for l in text.splitlines() if re.match(r'\s*\d+B ', l)]
    if top['rows'] and top['rows'][0]['self_bytes'] > 0:
        r = top['rows'][0]
        flat = int(rows[0].split()[0][:-1])
        check(flat == r['self_bytes'], f'top entry {rows[0]!r}, expected {r}')
        if '\n' not in r['function']:     # else go's line is cut in two
            check(rows[0].endswith(f"{r['file']}:{r['line']}"), f'top entry {rows[0]!r}')


def cmd_pprof(argv):
    view, db, *extra = argv
    with tempfile.TemporaryDirectory() as tmp:
        go, env = go_env(tmp)
        path = os.path.join(tmp, 'p.pb.gz')
        rc, out, err = run(view, ['export', '-f', db, '--format', 'pprof', '-o', path, *extra])
        check(rc == 0 and err == b'', f'export pprof: {rc} {err!r}')
        check_pprof(view, go, env, db, path, extra)


PROGRAM = r'''
import sys
keep = []
def grow(n):
    keep.append(bytearray(n))
def load():
    for i in range(64):
        grow(64 * 1024)
load()
print("ok", flush=True)
'''


def cmd_e2e(argv):
    view, shim = argv
    shim = os.path.abspath(shim)
    with tempfile.TemporaryDirectory() as tmp:
        go, env = go_env(tmp)
        prog, db = os.path.join(tmp, 'prog.py'), os.path.join(tmp, 'p.db')
        with open(prog, 'w') as f:
            f.write(PROGRAM)
        penv = {'PATH': '/usr/bin:/bin', 'HOME': tmp, 'LANG': 'C.UTF-8',
                'LD_PRELOAD': shim, 'PYMEM_OUTPUT': db, 'PYTHONDONTWRITEBYTECODE': '1'}
        p = subprocess.run(['/usr/bin/python3', prog], env=penv, capture_output=True,
                           timeout=120, cwd=tmp)
        check(p.returncode == 0 and p.stdout == b'ok\n', f'python under the shim: {p}')
        path = os.path.join(tmp, 'p.pb.gz')
        for extra in ([], ['--final']):
            rc, out, err = run(view, ['export', '-f', db, '--format', 'pprof', '-o', path,
                                      *extra])
            check(rc == 0, f'export pprof {extra}: {rc} {err!r}')
            check_pprof(view, go, env, db, path, extra)
        # The 64 x 64 KiB of grow() are live at the peak, under load() and <module>.
        rc, out, err = run(view, ['export', '-f', db, '--format', 'pprof', '-o', path])
        text = pprof(go, env, path, '-top', '-lines', '-unit=B', '-sample_index=inuse_space',
                     '-nodecount=1000')
        grow = [l for l in text.splitlines() if re.search(r' grow \S*prog\.py:5$', l)]
        check(grow and int(grow[0].split()[0][:-1]) >= 64 * 64 * 1024,
              f'grow() holds 4 MiB at the peak:\n{text}')
        traces = pprof(go, env, path, '-traces', '-sample_index=inuse_space')
        check(re.search(r'grow\n\s+load\n\s+<module>', traces), f'stack order:\n{traces}')


def main():
    cmds = {'parse': cmd_parse, 'output': cmd_output, 'tty': cmd_tty, 'pprof': cmd_pprof,
            'e2e': cmd_e2e}
    try:
        cmds[sys.argv[1]](sys.argv[2:])
    except Failure as e:
        print(f'FAIL: {e}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
