#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Test driver for pymem-view (registered in tests/viewer/meson.build, suite 'viewer').

  run.py golden VIEW EXPECTED [NAME=VALUE...] -- ARGS...
                                           stdout must equal EXPECTED, exit 0, stderr empty, and
                                           the profile must be left unchanged
                                           (PM_UPDATE_GOLDEN=1 rewrites EXPECTED instead); the
                                           NAME=VALUE pairs go into the environment
  run.py fail CODE REGEX VIEW -- ARGS...   exit CODE, nothing on stdout, one stderr line
                                           "pymem-view: <message>" with REGEX in the message
  run.py file KIND VIEW BASIC              errors about the file itself (missing, directory, ...)
  run.py json VIEW BASIC WEIRD             --json output parses and holds the exact numbers
  run.py help VIEW                         --help / -h / -V print to stdout and exit 0
  run.py wal VIEW BASIC                    reads while another connection writes (WAL)
  run.py schema SCHEMA_SQL [--live-index] DB...
                                           the fixtures' schema is the shim's (lib/schema.h),
                                           with the big live table's index or without
"""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run(view, args, cwd=None, env=None):
    # Output must not depend on the caller's terminal settings.
    e = {k: v for k, v in os.environ.items() if k not in ('COLUMNS', 'NO_COLOR')}
    e.update(env or {})
    p = subprocess.run([os.path.abspath(view)] + args, capture_output=True, cwd=cwd, timeout=60,
                       env=e)
    return p.returncode, p.stdout, p.stderr


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def expect_error(code, regex, rc, out, err, args):
    where = f'pymem-view {" ".join(args)}'
    check(rc == code, f'{where}: exit {rc}, expected {code}; stderr: {err!r}')
    check(out == b'', f'{where}: wrote to stdout on error: {out!r}')
    text = err.decode('utf-8', 'replace')
    check(text.endswith('\n') and text.count('\n') == 1, f'{where}: stderr is not one line: {text!r}')
    check(text.startswith('pymem-view: '), f'{where}: no "pymem-view: " prefix: {text!r}')
    msg = text[len('pymem-view: '):-1]
    check(msg and not msg.endswith('.') and not msg[0].isupper(),
          f'{where}: message must be lowercase with no final period: {msg!r}')
    check(re.search(regex, msg), f'{where}: message {msg!r} does not match {regex!r}')


def split_args(argv):
    i = argv.index('--')
    return argv[:i], argv[i + 1:]


def cmd_golden(argv):
    (view, expected, *env), args = split_args(argv)
    dbs = [a for a in args if os.path.isfile(a)]
    before = [sha(d) for d in dbs]
    rc, out, err = run(view, args, env=dict(e.split('=', 1) for e in env))
    check(rc == 0, f'exit {rc}, stderr: {err!r}')
    check(err == b'', f'stderr not empty: {err!r}')
    check([sha(d) for d in dbs] == before, 'the profile was modified by a read-only viewer')
    if os.environ.get('PM_UPDATE_GOLDEN') == '1':
        with open(expected, 'wb') as f:
            f.write(out)
        return
    with open(expected, 'rb') as f:
        want = f.read()
    if out != want:
        import difflib
        diff = difflib.unified_diff(want.decode('utf-8', 'replace').splitlines(True),
                                    out.decode('utf-8', 'replace').splitlines(True),
                                    'expected', 'actual')
        sys.stdout.writelines(diff)
        raise Failure(f'output differs from {expected}')


def cmd_fail(argv):
    (code, regex, view), args = split_args(argv)
    rc, out, err = run(view, args)
    expect_error(int(code), regex, rc, out, err, args)


def cmd_file(argv):
    kind, view, basic = argv
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'p.db')
        if kind == 'missing':
            args = ['top', '-f', path]
            rc, out, err = run(view, args)
            expect_error(1, r"cannot open '.*p\.db': no such file or directory", rc, out, err, args)
            check(not os.listdir(tmp), 'the viewer created files for a missing profile')
        elif kind == 'missing-default':
            rc, out, err = run(view, ['runs'], cwd=tmp)
            expect_error(1, r"cannot open 'pymem\.db'", rc, out, err, ['runs'])
            check(not os.listdir(tmp), 'the viewer created ./pymem.db')
        elif kind == 'default':
            shutil.copy(basic, os.path.join(tmp, 'pymem.db'))
            rc, out, err = run(view, ['top', '--limit', '1'], cwd=tmp)
            check(rc == 0 and b'lib/util.py:3' in out, f'default ./pymem.db not read: {rc} {err!r}')
        elif kind == 'directory':
            os.mkdir(path)
            args = ['snapshots', '-f', path]
            rc, out, err = run(view, args)
            expect_error(1, r'is a directory', rc, out, err, args)
        elif kind == 'not-sqlite':
            with open(path, 'wb') as f:
                f.write(b'#!/bin/sh\necho this is not a database\n' * 200)
            args = ['top', '-f', path]
            rc, out, err = run(view, args)
            expect_error(1, r"is not an SQLite database", rc, out, err, args)
        elif kind == 'zero-bytes':
            open(path, 'wb').close()
            args = ['runs', '-f', path]
            rc, out, err = run(view, args)
            expect_error(1, r"is not a pymem profile", rc, out, err, args)
            check(os.path.getsize(path) == 0, 'the viewer wrote to an empty file')
        elif kind == 'truncated':
            with open(basic, 'rb') as f:
                data = f.read()
            check(len(data) >= 8 * 4096, f'basic.db is too small to truncate ({len(data)} bytes)')
            for cut in (len(data) // 2, 3 * 4096, 4096 + 100, 100):
                with open(path, 'wb') as f:
                    f.write(data[:cut])
                args = ['top', '-f', path]
                rc, out, err = run(view, args)
                expect_error(1, r'corrupt|truncated|not a pymem profile|not an SQLite database',
                             rc, out, err, args)
        else:
            raise Failure(f'unknown file test {kind}')


def top_json(view, db, *extra):
    rc, out, err = run(view, ['top', '-f', db, '--json', *extra])
    check(rc == 0 and err == b'', f'top --json failed: {rc} {err!r}')
    check(out.endswith(b'\n') and out.count(b'\n{') == 0, 'not exactly one JSON object')
    return json.loads(out)


def cmd_json(argv):
    view, basic, weird = argv
    d = top_json(view, basic)
    check(set(d) == {'process', 'snapshot', 'rows'}, f'top keys: {sorted(d)}')
    check(d['process'] == {'id': 2, 'pid': 4242, 'argv': ['python3', 'app.py', '--size', 'big']},
          f'process: {d["process"]}')
    check(d['snapshot'] == {'id': 6, 'kind': 'peak', 'time': 2.0, 'heap_bytes': 125901704,
                            'rss_bytes': 157286400}, f'snapshot: {d["snapshot"]}')
    rows = [(r['file'], r['line'], r['function'], r['self_bytes'], r['self_blocks'],
             r['total_bytes'], r['total_blocks']) for r in d['rows']]
    check(rows == [
        ('lib/util.py', 3, 'helper', 125829120, 120, 125829120, 120),
        ('<pymem>', 0, '<native thread>', 65536, 1, 65536, 1),
        ('app.py', 7, 'fib', 5000, 50, 5000, 50),
        ('app.py', 10, 'load', 2048, 2, 125831168, 122),
        ('app.py', 20, 'main', 0, 0, 125836168, 172),
        ('app.py', 30, '<module>', 0, 0, 125836168, 172),
        ('app.py', 6, 'fib', 0, 0, 5000, 50),       # recursive: counted once per stack
    ], f'rows at the peak: {rows}')
    # Snapshot 3: the recursive line allocates itself; S5 ended at 6, S3 changed at 4.
    d = top_json(view, basic, '--snapshot', '3')
    fib6 = [r for r in d['rows'] if r['line'] == 6][0]
    check((fib6['self_bytes'], fib6['self_blocks'], fib6['total_bytes'], fib6['total_blocks'])
          == (300, 3, 5300, 53), f'fib:6 at snapshot 3: {fib6}')
    load = [r for r in d['rows'] if r['function'] == 'load'][0]
    check(load['self_bytes'] == 1048576, f'load at snapshot 3: {load}')
    d = top_json(view, basic, '--final')
    check(d['snapshot']['id'] == 8 and sum(r['self_bytes'] for r in d['rows']) == 72684,
          f'final: {d["snapshot"]}')
    d = top_json(view, basic, '--limit', '2')
    check(len(d['rows']) == 2, 'limit 2')
    d = top_json(view, basic, '--pid', '4243')
    check(d['process']['id'] == 3 and d['snapshot']['id'] == 7, 'child peak')
    # Self sums to the heap, and the outermost total is the whole heap.
    d = top_json(view, basic, '--limit', '0')
    check(sum(r['self_bytes'] for r in d['rows']) == d['snapshot']['heap_bytes'], 'self sum')

    d = top_json(view, weird, '--limit', '0')
    names = {(r['file'], r['function']) for r in d['rows']}
    check(('we"ird\\dir\nname.py', '<img src=x onerror=alert(1)>') in names, f'quotes: {names}')
    check(('latin\ufffd.py', 'f') in names, 'a non-UTF-8 byte becomes U+FFFD')
    check(('term.py', 'esc\x1b[31mred') in names, 'control characters')
    check(d['process']['argv'] == ['python3', '-c', 'print("hi")\n', 'caf\u00e9', 'x y', ''],
          f'argv: {d["process"]["argv"]}')
    rc, out, err = run(view, ['top', '-f', weird, '--json'])
    check(b'\x1b' not in out and b'\xe9.py' not in out, 'raw control or non-UTF-8 bytes in JSON')
    out.decode('utf-8')

    rc, out, err = run(view, ['snapshots', '-f', basic, '--json'])
    d = json.loads(out)
    check([s['id'] for s in d['snapshots']] == [2, 3, 4, 6, 8], 'snapshot ids')
    check(set(d['snapshots'][0]) == {'id', 'kind', 'label', 'time', 'heap_bytes', 'heap_blocks',
                                     'rss_bytes', 'tool_bytes'}, 'snapshot keys')
    rc, out, err = run(view, ['snapshots', '-f', weird, '--json'])
    check(json.loads(out)['snapshots'][0]['label'] == 'label with "quotes" and a tab\t!', 'label')
    rc, out, err = run(view, ['runs', '-f', basic, '--json'])
    d = json.loads(out)
    check([r['run'] for r in d['runs']] == [1, 2], 'runs')
    child = d['runs'][1]['processes'][1]
    check(child == {'id': 3, 'pid': 4243, 'ppid': 4242, 'parent': 2,
                    'argv': ['python3', 'app.py', '--size', 'big'], 'python_version': '3.11.2',
                    'start_time': 1700000100.75, 'end_time': None, 'end_reason': None,
                    'exit_status': None}, f'child: {child}')
    rc, out, err = run(view, ['runs', '-f', weird, '--json'])
    check(json.loads(out)['runs'][0]['processes'][1]['argv'] == [], 'invalid argv becomes []')


def cmd_help(argv):
    view, = argv
    for args in (['--help'], ['-h'], ['top', '--help'], ['top', '-h'], ['snapshots', '--help'],
                 ['runs', '-h'], ['-V'], ['--version']):
        rc, out, err = run(view, args)
        check(rc == 0 and out and err == b'', f'{args}: exit {rc}, stderr {err!r}')
    rc, out, err = run(view, ['--help'])
    for name in (b'top', b'snapshots', b'runs'):
        check(b'\n  ' + name + b' ' in out, f'--help does not list {name}')


def cmd_wal(argv):
    view, basic = argv
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'live.db')
        shutil.copy(basic, path)
        w = sqlite3.connect(path, isolation_level=None)
        check(w.execute('PRAGMA journal_mode=WAL').fetchone()[0] == 'wal', 'WAL mode')
        w.execute('PRAGMA wal_autocheckpoint=0')
        # Committed but only in the WAL: a new, bigger peak of the root process.
        w.execute('BEGIN IMMEDIATE')
        w.execute("INSERT INTO snapshot VALUES (9, 2, 'peak', NULL, 4.0, 72684, 54, 1, 1)")
        w.execute('COMMIT')
        # Not committed: must stay invisible, and the writer keeps its lock meanwhile.
        w.execute('BEGIN IMMEDIATE')
        w.execute("INSERT INTO snapshot VALUES (10, 2, 'peak', NULL, 5.0, 1, 1, 1, 1)")
        w.execute("INSERT INTO live VALUES (2, 7000000000000000001, 10, NULL, 7, 7, 7, 7, 0, 0, 0, 0)")
        rc, out, err = run(view, ['top', '-f', path, '--json', '--limit', '0'])
        check(rc == 0, f'reading while a writer holds the lock: exit {rc}, {err!r}')
        d = json.loads(out)
        check(d['snapshot']['id'] == 9, f'expected the committed peak 9, got {d["snapshot"]}')
        check(sum(r['self_bytes'] for r in d['rows']) == 72684, 'live rows at snapshot 9')
        rc, out, err = run(view, ['snapshots', '-f', path])
        check(rc == 0 and b'\n10 ' not in out and b' 9  peak' in out, f'snapshots: {out!r}')
        w.execute('COMMIT')
        rc, out, err = run(view, ['top', '-f', path, '--json'])
        check(rc == 0 and json.loads(out)['snapshot']['id'] == 10, 'after commit')
        w.close()


def schema_of(db):
    return sorted(db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())


def cmd_schema(argv):
    exe, *dbs = argv
    flags = [dbs.pop(0)] if dbs and dbs[0] == '--live-index' else []
    sql = subprocess.run([exe] + flags, capture_output=True, check=True, text=True).stdout
    ref = sqlite3.connect(':memory:')
    ref.executescript(sql)
    want = schema_of(ref)
    check(want, 'the schema is empty')
    for path in dbs:
        db = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
        check(schema_of(db) == want, f'{path}: CREATE statements differ from lib/schema.h')
        check(db.execute('PRAGMA user_version').fetchone()[0] ==
              ref.execute('PRAGMA user_version').fetchone()[0], f'{path}: user_version')
        db.close()


def main():
    cmds = {'golden': cmd_golden, 'fail': cmd_fail, 'file': cmd_file, 'json': cmd_json,
            'help': cmd_help, 'wal': cmd_wal, 'schema': cmd_schema}
    try:
        cmds[sys.argv[1]](sys.argv[2:])
    except Failure as e:
        print(f'FAIL: {e}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
