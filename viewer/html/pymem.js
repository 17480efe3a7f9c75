// SPDX-License-Identifier: MIT
// The script of pymem-view's HTML pages (flamegraph, report). Written for pymem; no library.
// Everything the profiled program named (files, functions, argv) comes from the JSON element
// #pymem-data and reaches the page only through textContent or SVG text nodes, never as markup.
'use strict';
(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const ROW = 18;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  // Same units as the terminal commands: powers of 1024.
  function fmtSize(b) {
    if (b === null || b === undefined) return '-';
    if (b > -1024 && b < 1024) return b + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
    let v = b / 1024;
    let u = 0;
    while (Math.abs(v) >= 1023.95 && u + 1 < units.length) { v /= 1024; u++; }
    return v.toFixed(1) + ' ' + units[u];
  }

  function fmtInt(n) { return Number(n).toLocaleString('en-US'); }

  function fmtTime(s) {
    const a = Math.abs(s);
    if (a === 0) return '0 s';
    if (a < 1) return (s * 1000).toFixed(a < 0.001 ? 2 : 0) + ' ms';
    if (a < 10) return s.toFixed(2) + ' s';
    if (a < 100) return s.toFixed(1) + ' s';
    return s.toFixed(0) + ' s';
  }

  function pct(part, total) { return total > 0 ? (100 * part / total).toFixed(1) + '%' : '-'; }

  // argv shown as a shell would need it typed; control characters made visible.
  function argvText(argv) {
    if (!Array.isArray(argv) || argv.length === 0) return '(unknown command line)';
    return argv.map(function (a) {
      a = String(a).replace(/[\u0000-\u001f\u007f]/g, function (c) {
        return c === '\n' ? '\\n' : c === '\t' ? '\\t' : '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
      });
      return a === '' || /[\s'"\\$`]/.test(a) ? "'" + a.replace(/'/g, "'\\''") + "'" : a;
    }).join(' ');
  }

  function visible(s) {
    return String(s).replace(/[\u0000-\u001f\u007f]/g, function (c) {
      return c === '\n' ? '\\n' : c === '\t' ? '\\t' : '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
    });
  }

  function snapText(s) {
    if (!s) return '';
    return 'snapshot ' + s.id + ' (' + visible(s.kind) + (s.label ? ', ' + visible(s.label) : '') +
      ') at ' + fmtTime(s.time) + ': heap ' + fmtSize(s.heap_bytes) + ' in ' + fmtInt(s.heap_blocks) +
      ' blocks, rss ' + fmtSize(s.rss_bytes);
  }

  // A warm colour per function name, stable across pages; pymem's own frames are grey.
  function colour(fn, file) {
    if (fn.charAt(0) === '<' && file.charAt(0) === '<') return 'hsl(220, 10%, 78%)';
    let h = 2166136261;
    for (let i = 0; i < fn.length; i++) { h ^= fn.charCodeAt(i); h = Math.imul(h, 16777619); }
    h >>>= 0;
    return 'hsl(' + (8 + h % 45) + ', ' + (62 + (h >>> 8) % 25) + '%, ' + (58 + (h >>> 16) % 14) + '%)';
  }

  // ---- the flame graph (an icicle: callers on top, callees below) ----

  function FlameGraph(parent, flame, unit) {
    const frames = flame && flame.frames ? flame.frames : [];
    const nodes = flame && flame.nodes ? flame.nodes : [];
    const n = nodes.length;
    const par = new Int32Array(n), fr = new Int32Array(n), depth = new Int32Array(n);
    const bytes = new Float64Array(n), blocks = new Float64Array(n), start = new Float64Array(n);
    const cursor = new Float64Array(n);
    const kids = [];
    let maxDepth = 0;
    for (let i = 0; i < n; i++) {
      const v = nodes[i];
      par[i] = v[0]; fr[i] = v[1]; bytes[i] = v[2]; blocks[i] = v[3];
      kids.push([]);
      if (i > 0) {
        const p = par[i];
        kids[p].push(i);
        depth[i] = depth[p] + 1;
        start[i] = cursor[p];
        cursor[p] += Math.max(0, bytes[i]);
        if (depth[i] > maxDepth) maxDepth = depth[i];
      }
      cursor[i] = start[i];
    }
    const total = n ? bytes[0] : 0;
    const lower = frames.map(function (f) { return [String(f[0]).toLowerCase(), String(f[1]).toLowerCase()]; });

    const bar = el('div', 'fg-bar');
    const search = el('input');
    search.type = 'search';
    search.placeholder = 'Search functions and files';
    search.setAttribute('aria-label', 'search');
    const reset = el('button', null, 'Reset zoom');
    reset.type = 'button';
    const info = el('span', 'fg-info');
    bar.append(search, reset, info);
    const crumbs = el('div', 'fg-crumbs');
    const box = el('div', 'fg');
    const tip = el('div', 'fg-tip');
    parent.append(bar, crumbs, box);
    document.body.appendChild(tip);

    let zoom = 0;
    let term = '';

    function name(i) { return i === 0 ? 'all' : String(frames[fr[i]][0]); }
    function where(i) { return i === 0 ? '' : visible(frames[fr[i]][1]) + ':' + frames[fr[i]][2]; }
    function matches(i) {
      return i > 0 && term !== '' && (lower[fr[i]][0].includes(term) || lower[fr[i]][1].includes(term));
    }

    function frameDiv(i, left, width, cls) {
      const d = el('div', 'fg-frame' + (cls ? ' ' + cls : ''), i === 0 ? 'all' : visible(name(i)));
      d.style.left = left + '%';
      d.style.width = width + '%';
      d.style.top = (depth[i] * ROW) + 'px';
      if (i === 0) d.classList.add('fg-root');
      else d.style.background = colour(String(frames[fr[i]][0]), String(frames[fr[i]][1]));
      if (matches(i)) d.classList.add('fg-match');
      d.dataset.node = String(i);
      return d;
    }

    function render() {
      const out = [];
      const px = box.clientWidth || 1000;
      const zs = start[zoom], zb = bytes[zoom] > 0 ? bytes[zoom] : 1;
      let deepest = depth[zoom];
      for (let a = par[zoom]; zoom !== 0 && a >= 0; a = par[a]) out.push(frameDiv(a, 0, 100, 'fg-ancestor'));
      const todo = [zoom];
      while (todo.length) {
        const i = todo.pop();
        const w = bytes[i] / zb;
        if (i !== zoom && w * px < 0.5) continue;
        out.push(frameDiv(i, (start[i] - zs) / zb * 100, Math.max(w, 0) * 100, i === zoom ? 'fg-zoomed' : ''));
        if (depth[i] > deepest) deepest = depth[i];
        for (let k = kids[i].length - 1; k >= 0; k--) todo.push(kids[i][k]);
      }
      box.replaceChildren.apply(box, out);
      box.style.height = ((deepest + 1) * ROW + 2) + 'px';
      box.dataset.zoom = String(zoom);
      box.classList.toggle('fg-searching', term !== '');
      reset.disabled = zoom === 0;
      const path = [];
      for (let a = zoom; a > 0; a = par[a]) path.unshift(visible(name(a)));
      crumbs.textContent = zoom === 0 ? 'Click a frame to zoom in; click a frame above the zoomed one to zoom out.'
        : 'Zoomed: ' + path.join(' \u203a ') + ' \u2014 ' + fmtSize(bytes[zoom]) + ' (' + pct(bytes[zoom], total) + ' of all)';
      showInfo();
    }

    function showInfo() {
      if (term === '') {
        info.textContent = fmtSize(total) + ' ' + unit + ' in ' + (n - 1) + ' frames';
        return;
      }
      // Bytes under a matching frame, each stack counted once (the outermost match).
      let hit = 0, count = 0;
      const under = new Uint8Array(n);
      for (let i = 1; i < n; i++) {
        under[i] = under[par[i]];
        if (matches(i)) {
          count++;
          if (!under[i]) { hit += bytes[i]; under[i] = 1; }
        }
      }
      info.textContent = count + (count === 1 ? ' matching frame: ' : ' matching frames: ') + fmtSize(hit) + ' (' + pct(hit, total) + ' of ' + unit + ')';
    }

    box.addEventListener('click', function (ev) {
      const d = ev.target.closest('.fg-frame');
      if (!d) return;
      zoom = Number(d.dataset.node);
      render();
    });
    box.addEventListener('mousemove', function (ev) {
      const d = ev.target.closest('.fg-frame');
      if (!d) { tip.style.display = 'none'; return; }
      const i = Number(d.dataset.node);
      const b = el('b', null, i === 0 ? 'all' : visible(name(i)));
      const lines = [];
      if (i > 0) lines.push(where(i));
      lines.push(fmtSize(bytes[i]) + ' (' + fmtInt(bytes[i]) + ' bytes), ' + fmtInt(blocks[i]) + ' blocks');
      lines.push(pct(bytes[i], total) + ' of ' + unit + (zoom !== 0 ? ', ' + pct(bytes[i], bytes[zoom]) + ' of the zoomed frame' : ''));
      tip.replaceChildren(b, document.createTextNode(lines.join('\n')));
      tip.style.display = 'block';
      const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
      const y = ev.clientY + 18 + tip.offsetHeight > window.innerHeight ? ev.clientY - tip.offsetHeight - 10 : ev.clientY + 18;
      tip.style.left = Math.max(4, x) + 'px';
      tip.style.top = Math.max(4, y) + 'px';
    });
    box.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
    search.addEventListener('input', function () { term = search.value.trim().toLowerCase(); render(); });
    reset.addEventListener('click', function () { zoom = 0; render(); });
    document.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape') { zoom = 0; render(); }
    });
    window.addEventListener('resize', render);
    if (n === 0 || total <= 0) {
      parent.appendChild(el('p', 'note', 'Nothing to show: no live bytes.'));
    }
    render();
    return { render: render };
  }

  // ---- the timeline chart (SVG) ----

  function niceMax(v) {
    if (!(v > 0)) return 1024;
    let unit = 1;
    while (v / unit >= 1024) unit *= 1024;
    const steps = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8];
    for (let dec = 1; dec <= 1000; dec *= 10) {
      for (const s of steps) if (s * dec * unit >= v) return s * dec * unit;
    }
    return 1024 * unit;
  }

  // 1, 2 or 5 times a power of ten, at least v.
  function niceStep(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v > 0 ? v : 1)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function Timeline(parent, points, snapshots) {
    const W = 1000, H = 280, L = 78, R = 16, T = 26, B = 40;
    const pts = points.map(function (p) { return { t: p[0], h: p[1], r: p[2] }; });
    for (const s of snapshots) pts.push({ t: s.time, h: s.heap_bytes, r: s.rss_bytes, snap: s });
    pts.sort(function (a, b) { return a.t - b.t; });
    if (pts.length === 0) {
      parent.appendChild(el('p', 'note', 'No timeline points.'));
      return;
    }
    const line = pts.filter(function (p) { return !p.snap || points.length === 0; });
    let peak = pts[0], tmax = 0, ymax = 0;
    for (const p of pts) {
      if (p.h > peak.h) peak = p;
      tmax = Math.max(tmax, p.t);
      ymax = Math.max(ymax, p.h, p.r);
    }
    ymax = niceMax(ymax);
    tmax = tmax > 0 ? tmax : 1;
    const X = function (t) { return L + (W - L - R) * Math.max(0, t) / tmax; };
    const Y = function (v) { return H - B - (H - T - B) * v / ymax; };
    const s = svg('svg', { class: 'tl', viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    s.appendChild(svg('title', {}, 'heap and RSS over time'));
    for (let k = 0; k <= 4; k++) {
      const v = ymax * k / 4, y = Y(v);
      s.appendChild(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y, y2: y }));
      s.appendChild(svg('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, fmtSize(v)));
    }
    const tstep = niceStep(tmax / 6);
    for (let t = 0; t <= tmax * 1.0001; t += tstep) {
      const x = X(t);
      s.appendChild(svg('line', { class: 'axis', x1: x, x2: x, y1: H - B, y2: H - B + 4 }));
      s.appendChild(svg('text', { x: x, y: H - B + 16, 'text-anchor': t === 0 ? 'start' : x > W - R - 20 ? 'end' : 'middle' }, fmtTime(t)));
    }
    const src = line.length ? line : pts;
    let heapPath = 'M' + X(src[0].t) + ' ' + Y(0);
    let rssPath = '';
    for (let i = 0; i < src.length; i++) {
      const p = src[i];
      if (i > 0) heapPath += ' L' + X(p.t) + ' ' + Y(src[i - 1].h);   // a step: the value holds until the next point
      heapPath += ' L' + X(p.t) + ' ' + Y(p.h);
      rssPath += (i ? ' L' : 'M') + X(p.t) + ' ' + Y(p.r);
    }
    heapPath += ' L' + X(src[src.length - 1].t) + ' ' + Y(0) + ' Z';
    s.appendChild(svg('path', { class: 'heap', d: heapPath }));
    s.appendChild(svg('path', { class: 'rss', d: rssPath }));
    for (const sn of snapshots) {
      const x = X(sn.time);
      s.appendChild(svg('line', { class: 'snap', x1: x, x2: x, y1: T, y2: H - B }));
      const m = svg('path', { class: 'snapmark', d: 'M' + (x - 4) + ' ' + (H - B + 30) + ' L' + x + ' ' + (H - B + 22) + ' L' + (x + 4) + ' ' + (H - B + 30) + ' Z' });
      m.appendChild(svg('title', {}, snapText(sn)));
      s.appendChild(m);
    }
    s.appendChild(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    s.appendChild(svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
    const px = X(peak.t), py = Y(peak.h);
    const dot = svg('circle', { class: 'peak', cx: px, cy: py, r: 4.5 });
    dot.appendChild(svg('title', {}, 'peak ' + fmtSize(peak.h) + ' at ' + fmtTime(peak.t)));
    s.appendChild(dot);
    const label = svg('text', { class: 'peaklabel', x: px, y: Math.max(12, py - 9),
      'text-anchor': px > W - 180 ? 'end' : px < L + 100 ? 'start' : 'middle' },
      'peak ' + fmtSize(peak.h) + ' at ' + fmtTime(peak.t));
    s.appendChild(label);
    parent.appendChild(s);
    const legend = el('div', 'legend');
    legend.append(el('span', 'l-heap', 'heap (live tracked bytes)'), el('span', 'l-rss', 'RSS'),
      el('span', 'l-peak', 'heap peak'), el('span', null, '\u25b2 snapshots (hover for details)'));
    parent.appendChild(legend);
  }

  // ---- tables ----

  function table(parent, headers, rows) {
    const t = el('table', 'data');
    const head = el('tr');
    for (const h of headers) head.appendChild(el('th', h[1], h[0]));
    const thead = el('thead');
    thead.appendChild(head);
    const body = el('tbody');
    for (const r of rows) {
      const tr = el('tr');
      r.forEach(function (cell, k) { tr.appendChild(el('td', headers[k][1], cell)); });
      body.appendChild(tr);
    }
    t.append(thead, body);
    parent.appendChild(t);
    return t;
  }

  function card(parent, key, value) {
    const c = el('div', 'card');
    c.append(el('div', 'k', key), el('div', 'v', value));
    parent.appendChild(c);
  }

  // ---- pages ----

  function header(main, title, data) {
    main.appendChild(el('h1', null, title));
    const p = data.process;
    main.appendChild(el('p', 'sub mono', argvText(p.argv)));
    main.appendChild(el('p', 'sub', 'process ' + p.id + ' (pid ' + p.pid + ') of run ' + p.run));
    document.title = title + ' \u2014 ' + argvText(p.argv);
  }

  function pageFlamegraph(main, data) {
    const leaks = data.mode === 'leaks';
    header(main, leaks ? 'pymem leaks flame graph' : 'pymem flame graph', data);
    if (leaks) {
      main.appendChild(el('p', 'sub', 'Growth: live at ' + snapText(data.snapshot)));
      main.appendChild(el('p', 'sub', data.baseline ? 'minus live at ' + snapText(data.baseline)
        : 'minus nothing: the process has no periodic snapshot to use as a baseline'));
    } else {
      main.appendChild(el('p', 'sub', 'Live at ' + snapText(data.snapshot)));
    }
    FlameGraph(main, data.flame, leaks ? 'grown' : 'live');
  }

  function pageReport(main, data) {
    header(main, 'pymem report', data);
    const procs = data.processes || [];
    const me = procs.find(function (p) { return p.id === data.process.id; }) || {};
    const cards = el('div', 'cards');
    card(cards, 'processes in the run', String(procs.length));
    card(cards, 'heap peak', me.peak ? fmtSize(me.peak.heap_bytes) : '-');
    card(cards, 'RSS peak', me.peak ? fmtSize(Math.max.apply(null, data.snapshots.map(function (s) { return s.rss_bytes; }).concat(data.timeline.map(function (p) { return p[2]; })))) : '-');
    card(cards, 'heap at exit', me.final ? fmtSize(me.final.heap_bytes) : 'no final snapshot');
    main.appendChild(cards);

    main.appendChild(el('h2', null, 'Processes'));
    table(main, [['pid', 'n'], ['parent', 'n'], ['command', 'w mono'], ['ended', null],
      ['snapshots', 'n'], ['heap peak', 'n'], ['heap at exit', 'n']],
    procs.map(function (p) {
      const parentPid = (procs.find(function (q) { return q.id === p.parent; }) || {}).pid;
      const ended = p.end_reason === null ? (p.end_time === null ? 'running or killed' : 'ended')
        : visible(p.end_reason) + (p.exit_status !== null ? ' ' + p.exit_status : '');
      return [String(p.pid), parentPid === undefined ? '-' : String(parentPid), argvText(p.argv), ended,
        String(p.snapshots), p.peak ? fmtSize(p.peak.heap_bytes) + ' at ' + fmtTime(p.peak.time) : '-',
        p.final ? fmtSize(p.final.heap_bytes) : '-'];
    }));

    main.appendChild(el('h2', null, 'Heap and RSS over time (pid ' + data.process.pid + ')'));
    Timeline(main, data.timeline || [], data.snapshots || []);

    main.appendChild(el('h2', null, 'Top lines at ' + snapText(data.snapshot)));
    table(main, [['self', 'n'], ['blocks', 'n'], ['total', 'n'], ['blocks', 'n'], ['location', 'w mono'], ['function', 'w mono']],
      data.top.map(function (r) {
        return [fmtSize(r[3]), fmtInt(r[4]), fmtSize(r[5]), fmtInt(r[6]), visible(r[0]) + ':' + r[1], visible(r[2])];
      }));
    if (data.top_rows > data.top.length) {
      main.appendChild(el('p', 'note', (data.top_rows - data.top.length) + ' more lines (pymem-view report --limit 0 shows all)'));
    }

    main.appendChild(el('h2', null, 'Flame graph at snapshot ' + data.snapshot.id));
    FlameGraph(main, data.flame, 'live');
  }

  const main = el('main');
  document.body.appendChild(main);
  try {
    const data = JSON.parse(document.getElementById('pymem-data').textContent);
    if (data.page === 'report') pageReport(main, data);
    else pageFlamegraph(main, data);
    document.body.dataset.ready = '1';
  } catch (e) {
    main.appendChild(el('p', 'error', 'This page could not be drawn: ' + e));
    throw e;
  }
})();
