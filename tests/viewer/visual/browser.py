#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Opens pymem-view's HTML pages in headless Chromium and checks them (suite 'viewer').

  browser.py VIEW BASIC WEIRD OUTDIR

Writes the flame graph and report pages of the fixtures into OUTDIR, opens each in Chromium
(no network: file:// only, and the page's CSP allows nothing else), and speaks the DevTools
protocol over a websocket (Debian's python3-websocket) to check: no console error, no
exception, no dialog, no request other than the page itself; the expected names are in the DOM
as text; a click on a frame zooms; the search box highlights; hovering shows the tooltip. The
weird fixture's function '<img src=x onerror=alert(1)>' must show as text and create no element.
Screenshots go to OUTDIR/*.png. Exit 77 (skip) without chromium or the websocket module.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import websocket
except ImportError:
    websocket = None

SKIP = 77


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Browser:
    def __init__(self, exe, tmp):
        self.log = open(os.path.join(tmp, 'chromium.log'), 'wb')
        self.proc = subprocess.Popen(
            [exe, '--headless=new', '--no-sandbox', '--disable-gpu', '--remote-debugging-port=0',
             '--remote-allow-origins=*', '--user-data-dir=' + os.path.join(tmp, 'profile'),
             '--no-first-run', '--no-default-browser-check', '--disable-extensions',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--disable-default-apps', '--window-size=1280,900', '--hide-scrollbars',
             '--force-device-scale-factor=1', 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        port_file = os.path.join(tmp, 'profile', 'DevToolsActivePort')
        deadline = time.time() + 60
        while not (os.path.exists(port_file) and os.path.getsize(port_file) > 0):
            if self.proc.poll() is not None or time.time() > deadline:
                raise Failure(f'chromium did not start (exit {self.proc.poll()}); see {self.log.name}')
            time.sleep(0.1)
        with open(port_file) as f:
            port = int(f.readline())
        targets = []
        while not [t for t in targets if t.get('type') == 'page']:
            if time.time() > deadline:
                raise Failure('chromium opened no page')
            with urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list', timeout=10) as r:
                targets = json.load(r)
            time.sleep(0.05)
        page = [t for t in targets if t.get('type') == 'page'][0]
        self.ws = websocket.create_connection(page['webSocketDebuggerUrl'], timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        for domain in ('Page', 'Runtime', 'Log', 'Network'):
            self.call(domain + '.enable')

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({'id': my_id, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == my_id:
                if 'error' in msg:
                    raise Failure(f'{method}: {msg["error"]}')
                return msg.get('result', {})
            if 'method' in msg:
                self.on_event(msg)

    def on_event(self, msg):
        self.events.append(msg)
        if msg['method'] == 'Page.javascriptDialogOpening':   # an alert() ran: fail, unblock
            self.ws.send(json.dumps({'id': 0, 'method': 'Page.handleJavaScriptDialog',
                                     'params': {'accept': True}}))

    def wait_event(self, method, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e in self.events:
                if e['method'] == method:
                    return e
            self.ws.settimeout(max(0.1, deadline - time.time()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            finally:
                self.ws.settimeout(30)
            if 'method' in msg:
                self.on_event(msg)
        raise Failure(f'no {method} within {timeout} s')

    def eval(self, expr):
        r = self.call('Runtime.evaluate', expression=expr, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r:
            raise Failure(f'evaluating {expr!r}: {r["exceptionDetails"]}')
        return r['result'].get('value')

    def open(self, path):
        self.events = []
        self.call('Page.navigate', url='file://' + os.path.abspath(path))
        self.wait_event('Page.loadEventFired')
        deadline = time.time() + 20
        while self.eval("document.body && document.body.dataset.ready || ''") != '1':
            check(time.time() < deadline, f'{path}: the page never finished drawing '
                  f'({self.problems()})')
            time.sleep(0.05)

    def problems(self):
        """Console errors and warnings, exceptions, dialogs, requests that are not the page."""
        out = []
        for e in self.events:
            m, p = e['method'], e.get('params', {})
            if m == 'Runtime.exceptionThrown':
                out.append('exception: ' + json.dumps(p['exceptionDetails'])[:400])
            elif m == 'Runtime.consoleAPICalled' and p['type'] in ('error', 'warning', 'assert'):
                out.append('console.' + p['type'] + ': ' + json.dumps(p['args'])[:400])
            elif m == 'Log.entryAdded' and p['entry']['level'] in ('error', 'warning'):
                out.append('log: ' + p['entry'].get('text', '')[:400])
            elif m == 'Page.javascriptDialogOpening':
                out.append('dialog: ' + p.get('message', ''))
            elif m == 'Network.requestWillBeSent':
                url = p['request']['url']
                if not url.startswith('file://'):
                    out.append('request: ' + url[:200])
        return out

    def mouse(self, x, y, click=False):
        self.call('Input.dispatchMouseEvent', type='mouseMoved', x=x, y=y)
        if click:
            self.call('Input.dispatchMouseEvent', type='mousePressed', x=x, y=y, button='left',
                      clickCount=1)
            self.call('Input.dispatchMouseEvent', type='mouseReleased', x=x, y=y, button='left',
                      clickCount=1)

    def frame_center(self, name, nth=0):
        """Centre of the nth flame-graph frame whose text is name, scrolled into view."""
        r = self.eval(f"""(() => {{
            const d = [...document.querySelectorAll('.fg-frame')]
                .filter(e => e.textContent === {json.dumps(name)})[{nth}];
            if (!d) return null;
            d.scrollIntoView({{block: 'center'}});
            const r = d.getBoundingClientRect();
            return [r.left + Math.min(r.width / 2, 40), r.top + r.height / 2, d.dataset.node];
        }})()""")
        check(r is not None, f'no frame {name!r} in the flame graph')
        return r

    def screenshot(self, path):
        # Let the page paint what the last events changed before capturing it.
        self.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        m = self.call('Page.getLayoutMetrics')['cssContentSize']
        clip = {'x': 0, 'y': 0, 'width': m['width'], 'height': min(m['height'], 6000), 'scale': 1}
        shot = self.call('Page.captureScreenshot', format='png', clip=clip,
                         captureBeyondViewport=True)
        with open(path, 'wb') as f:
            f.write(base64.b64decode(shot['data']))

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def view(exe, *args):
    p = subprocess.run([exe, *args], capture_output=True, timeout=60)
    check(p.returncode == 0 and p.stderr == b'', f'pymem-view {" ".join(args)}: exit '
          f'{p.returncode}, {p.stderr!r}')


def frame_texts(b):
    return b.eval("[...document.querySelectorAll('.fg .fg-frame')].map(e => e.textContent)")


def check_flamegraph(b, path, names, zoom_on, search, hover_file, shot):
    b.open(path)
    check(b.problems() == [], f'{path}: {b.problems()}')
    texts = frame_texts(b)
    for n in names:
        check(n in texts, f'{path}: frame {n!r} not in the DOM (have {texts})')
    check(b.eval("document.querySelectorAll('img, iframe, object, embed').length") == 0,
          f'{path}: the page created an element from a name')
    # Hover: the tooltip names the frame and its file:line.
    x, y, node = b.frame_center(zoom_on)
    b.mouse(x, y)
    tip = b.eval("(() => { const t = document.querySelector('.fg-tip');"
                 " return t.style.display === 'block' ? t.textContent : null; })()")
    check(tip and zoom_on in tip and hover_file in tip and 'blocks' in tip,
          f'{path}: tooltip {tip!r} lacks {zoom_on!r} / {hover_file!r}')
    # Click: that frame becomes the full width.
    b.mouse(x, y, click=True)
    z = b.eval("""(() => { const f = document.querySelector('.fg');
        const d = f.querySelector('.fg-zoomed');
        return [f.dataset.zoom, d && d.textContent, d && d.style.width]; })()""")
    check(z[0] == node and z[1] == zoom_on and z[2] == '100%', f'{path}: click did not zoom: {z}')
    check(zoom_on in b.eval("document.querySelector('.fg-crumbs').textContent"), 'crumbs')
    # Search: the matching frames, and only they, are highlighted.
    b.eval("(() => { const s = document.querySelector('.fg-bar input'); s.focus(); s.select(); })()")
    b.call('Input.insertText', text=search)
    hits = b.eval("[...document.querySelectorAll('.fg .fg-match')].map(e => e.textContent)")
    check(hits and all(search.lower() in h.lower() or h == 'all' for h in hits) is True,
          f'{path}: search {search!r} highlighted {hits}')
    info = b.eval("document.querySelector('.fg-info').textContent")
    check('matching' in info, f'{path}: search info {info!r}')
    b.screenshot(shot)
    # Reset: Escape zooms out, clearing the search shows everything again.
    b.eval("document.querySelector('.fg-bar button').click()")
    check(b.eval("document.querySelector('.fg').dataset.zoom") == '0', 'reset zoom')
    check(b.problems() == [], f'{path}: {b.problems()}')


def main():
    view_exe, basic, weird, outdir = sys.argv[1:]
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    if not chromium or websocket is None:
        print('SKIP: needs chromium and python3-websocket')
        return SKIP
    os.makedirs(outdir, exist_ok=True)
    pages = {
        'flame-basic': ('flamegraph', basic),
        'flame-leaks': ('flamegraph', basic, '--leaks'),
        'flame-weird': ('flamegraph', weird),
        'report-basic': ('report', basic),
        'report-weird': ('report', weird),
    }
    for name, (cmd, db, *extra) in pages.items():
        view(view_exe, cmd, '-f', db, *extra, '-o', os.path.join(outdir, name + '.html'))
    html = lambda n: os.path.join(outdir, n + '.html')
    png = lambda n: os.path.join(outdir, n + '.png')
    evil = '<img src=x onerror=alert(1)>'
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        b = Browser(chromium, tmp)
        try:
            # fib (5000 bytes of 120 MiB) is too narrow to draw at the peak; it shows in leaks.
            check_flamegraph(b, html('flame-basic'), ['all', '<module>', 'main', 'load', 'helper',
                             '<native thread>'], 'load', 'LOAD', 'app.py:10',
                             png('flame-basic'))
            check_flamegraph(b, html('flame-leaks'), ['fib', '<module>'], 'main', 'fib',
                             'app.py:20', png('flame-leaks'))
            check(b.eval("document.body.textContent").count('helper') == 0,
                  'leaks view shows a stack that did not grow')
            check_flamegraph(b, html('flame-weird'), [evil, 'c\u00f6d\u00e9', 'esc\\x1b[31mred'],
                             evil, 'c\u00f6d', 'we"ird\\dir\\nname.py:1', png('flame-weird'))
            for name, want in (('report-basic', ['helper', 'app.py:10', 'python3 app.py --size big',
                                                 'Heap and RSS over time', 'peak 120.1 MiB']),
                               ('report-weird', [evil, 'we"ird\\dir\\nname.py:1',
                                                 "'print(\"hi\")\\n'", 'latin\ufffd.py'])):
                b.open(html(name))
                check(b.problems() == [], f'{name}: {b.problems()}')
                text = b.eval("document.body.innerText + ' ' + "
                              "[...document.querySelectorAll('svg text')].map(t => t.textContent).join(' ')")
                for w in want:
                    check(w in text, f'{name}: {w!r} not shown (page text: {text[:1500]!r})')
                check(b.eval("document.querySelectorAll('svg.tl path.heap').length") == 1,
                      f'{name}: no timeline chart')
                check(b.eval("document.querySelectorAll('table.data tbody tr').length") >= 2,
                      f'{name}: tables are empty')
                check(b.eval("document.querySelectorAll('img, iframe, object, embed').length") == 0,
                      f'{name}: the page created an element from a name')
                x, y, node = b.frame_center('main' if name == 'report-basic' else evil)
                b.mouse(x, y, click=True)
                check(b.eval("document.querySelector('.fg').dataset.zoom") == node,
                      f'{name}: click did not zoom')
                b.eval("document.querySelector('.fg-bar button').click()")
                b.eval("window.scrollTo(0, 0)")
                b.screenshot(png(name))
                check(b.problems() == [], f'{name}: {b.problems()}')
        finally:
            b.close()
    print('screenshots:', ', '.join(png(n) for n in pages))
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Failure as e:
        print(f'FAIL: {e}')
        sys.exit(1)
