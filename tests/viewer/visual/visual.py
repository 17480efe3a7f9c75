#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks of the visual commands that need no browser (suite 'viewer').

  visual.py html VIEW BASIC WEIRD      the HTML pages: only our tags, the data JSON escaped so
                                       no name can end its element, the CSP hashes match
  visual.py terminal VIEW BASIC WEIRD  timeline on a pseudo-terminal: its size, colour unless
                                       NO_COLOR is set, none on a pipe
  visual.py widths VIEW BASIC WEIRD    timeline fits $COLUMNS from 40 to 200 columns
  visual.py help VIEW BASIC WEIRD      each command's --help, and the main help lists them
"""
import base64
import fcntl
import hashlib
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios

EVIL = '<img src=x onerror=alert(1)>'
ANSI = re.compile(r'\x1b\[[0-9;]*m')


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run(view, args, env=None):
    e = dict(os.environ)
    e.pop('NO_COLOR', None)
    e.update(env or {})
    p = subprocess.run([os.path.abspath(view)] + args, capture_output=True, timeout=60, env=e)
    check(p.returncode == 0 and p.stderr == b'', f'{args}: exit {p.returncode}, {p.stderr!r}')
    return p.stdout


def sha256(text):
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def check_page(path, names):
    with open(path, encoding='utf-8') as f:
        page = f.read()
    tags = set(t.lower() for t in re.findall(r'<([A-Za-z][A-Za-z0-9-]*)', page))
    check(tags <= {'html', 'head', 'meta', 'title', 'style', 'body', 'noscript', 'script'},
          f'{path}: unexpected tags {sorted(tags)}')
    m = re.search(r'<script type="application/json" id="pymem-data">(.*?)</script>', page, re.S)
    check(m, f'{path}: no data element')
    raw = m.group(1)
    check(not re.search(r'[<>&]', raw), f'{path}: raw <, > or & in the data')
    check('\u2028' not in raw and '\u2029' not in raw, f'{path}: raw line separators in the data')
    data = json.loads(raw)
    frames = data['flame']['frames']
    for n in names:
        check(any(n in (f[0], f[1]) for f in frames), f'{path}: {n!r} not in the data')
    scripts = re.findall(r'<script>(.*?)</script>', page, re.S)
    styles = re.findall(r'<style>(.*?)</style>', page, re.S)
    check(len(scripts) == 1 and len(styles) == 1, f'{path}: expected one script and one style')
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    check(csp, f'{path}: no Content-Security-Policy')
    policy = csp.group(1)
    check("default-src 'none'" in policy, f'{path}: CSP does not default to none: {policy}')
    check(f"script-src 'sha256-{sha256(scripts[0])}'" in policy, f'{path}: script hash mismatch')
    check(f"style-src 'sha256-{sha256(styles[0])}'" in policy, f'{path}: style hash mismatch')
    check('innerHTML' not in scripts[0] and 'insertAdjacentHTML' not in scripts[0] and
          'document.write' not in scripts[0] and 'eval(' not in scripts[0],
          f'{path}: the script uses an HTML-parsing sink')
    return data


def cmd_html(view, basic, weird):
    with tempfile.TemporaryDirectory() as tmp:
        for name, args, names in (
                ('fw', ['flamegraph', '-f', weird], [EVIL, 'we"ird\\dir\nname.py', 'latin\ufffd.py']),
                ('rw', ['report', '-f', weird], [EVIL]),
                ('fb', ['flamegraph', '-f', basic], ['helper', 'lib/util.py']),
                ('rb', ['report', '-f', basic, '--final'], ['<module>'])):
            path = os.path.join(tmp, name + '.html')
            out = run(view, args + ['-o', path])
            check(out == b'', f'{args}: wrote to stdout with -o')
            data = check_page(path, names)
            # The same page on stdout.
            with open(path, 'rb') as f:
                check(run(view, args) == f.read(), f'{args}: -o and stdout differ')
            if name == 'rb':
                check(data['snapshot']['kind'] == 'final', 'report --final')
                check(data['processes'][0]['final']['heap_bytes'] == 72684, 'final heap')
            if name == 'fb':
                nodes = data['flame']['nodes']
                check(nodes[0][:2] == [-1, -1] and nodes[0][2] == 125901704, 'root node')
                check(all(n[0] < i for i, n in enumerate(nodes) if i), 'nodes in pre-order')


def winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))


def run_pty(view, args, cols, env):
    master, slave = pty.openpty()
    winsize(slave, 40, cols)
    e = dict(os.environ)
    e.pop('NO_COLOR', None)
    e['COLUMNS'] = '33'                     # the terminal's own size wins
    e.update(env)
    p = subprocess.Popen([os.path.abspath(view)] + args, stdout=slave, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=e)
    os.close(slave)
    out = b''
    while True:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    check(p.wait(timeout=30) == 0, f'{args} on a terminal: exit {p.returncode}')
    return out.decode('utf-8').replace('\r\n', '\n')


def cmd_terminal(view, basic, weird):
    args = ['timeline', '-f', basic]
    out = run_pty(view, args, 100, {})
    check('\x1b[' in out, 'no colour on a terminal')
    plain = ANSI.sub('', out)
    widths = [len(l) for l in plain.split('\n')]
    check(max(widths) <= 99, f'wider than the terminal: {max(widths)}')
    axis = [l for l in plain.split('\n') if '\u2514' in l]
    check(len(axis) == 1 and len(axis[0]) == 99, f'axis does not span the terminal: {axis}')
    for l in out.split('\n'):
        check(not l.endswith(' '), f'trailing blanks: {l!r}')
    out = run_pty(view, args, 100, {'NO_COLOR': '1'})
    check('\x1b' not in out, 'colour despite NO_COLOR')
    check(ANSI.sub('', run_pty(view, args, 100, {})) == out, 'colour changes the text')
    out = run(view, args, {'COLUMNS': '100'}).decode()
    check('\x1b' not in out, 'colour on a pipe')


def cmd_widths(view, basic, weird):
    for db in (basic, weird):
        for cols in (40, 57, 80, 132, 200):
            out = run(view, ['timeline', '-f', db], {'COLUMNS': str(cols)}).decode()
            lines = out.rstrip('\n').split('\n')
            chart = lines[lines.index('') + 1:]     # after the header
            for l in chart:
                check(len(l) <= cols - 1, f'{cols} columns: {len(l)}: {l!r}')
                check(not l.endswith(' '), f'trailing blank: {l!r}')
            axis = [l for l in chart if '\u2514' in l]
            check(len(axis) == 1 and len(axis[0]) == cols - 1, f'{cols}: axis {axis}')
            check(sum('\u25bc' in l for l in chart) == 2, f'{cols}: peak marker and legend')
            if cols >= 80:
                check(all(len(l) <= cols - 1 for l in lines[1:]), f'{cols}: header too wide')
        # Unset or junk COLUMNS: 80.
        out = run(view, ['timeline', '-f', db], {'COLUMNS': 'junk'}).decode()
        check(max(len(l) for l in out.split('\n')[2:]) == 79, 'default width is not 80')


def cmd_help(view, basic, weird):
    main = run(view, ['--help']).decode()
    for cmd in ('timeline', 'tree', 'flamegraph', 'report'):
        check(f'\n  {cmd} ' in main, f'--help does not list {cmd}')
        for h in ('--help', '-h'):
            out = run(view, [cmd, h]).decode()
            check(out.startswith(f'usage: pymem-view {cmd}'), f'{cmd} {h}: {out[:60]!r}')
            check(all(len(l) <= 100 for l in out.split('\n')), f'{cmd} {h}: line over 100')
            for opt in ('-f, --file', '--run', '--pid', '-h, --help'):
                check(opt in out, f'{cmd} --help lacks {opt}')
            check('--json' in out, f'{cmd} --help lacks --json')


def main():
    cmds = {'html': cmd_html, 'terminal': cmd_terminal, 'widths': cmd_widths, 'help': cmd_help}
    try:
        cmds[sys.argv[1]](*sys.argv[2:])
    except Failure as e:
        print(f'FAIL: {e}')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
