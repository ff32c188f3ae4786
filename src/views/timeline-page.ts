// The style and script of the timeline page (timeline.ts puts them inline). The script reads
// the JSON in #data, decodes each lane's columns (base64 typed arrays) and draws on a canvas:
// only the calls in view are visited (binary search on start times, per kind), and calls that
// fall into the same pixel of a row are drawn as one mark whose strength says how many.
// It sets data-lanes, data-marks (calls in its data), data-drawn (marks drawn last),
// data-load-ms (from its start to the first drawing; data-inflate-ms of it until the data was
// inflated) and data-ready="1" on #timeline, for tests and for whoever wants to check it.
// (Plain ES2017 in a raw string: no backticks and no dollar-brace in it.)

export const PAGE_STYLE = String.raw`
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; font: 12px/1.4 system-ui, sans-serif; color: #1f2933; background: #fff; }
#timeline { display: flex; flex-direction: column; height: 100%; }
header { display: flex; gap: 12px; align-items: center; padding: 6px 10px; border-bottom: 1px solid #d9dee3; flex-wrap: wrap; }
header button { font: inherit; min-width: 28px; padding: 2px 8px; cursor: pointer; }
#legend span { display: inline-flex; align-items: center; gap: 4px; margin-right: 10px; }
#legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
#status { color: #616e7c; margin-left: auto; }
#view { position: relative; flex: 1 1 auto; min-height: 160px; overflow: hidden; cursor: grab; }
#view.dragging { cursor: grabbing; }
#canvas { position: absolute; left: 0; top: 0; }
#tip { position: absolute; pointer-events: none; background: #1f2933; color: #f5f7fa; padding: 6px 8px; border-radius: 4px;
  max-width: 560px; white-space: pre-wrap; word-break: break-all; font: 11px/1.35 ui-monospace, monospace; z-index: 2; }
#panel { flex: 0 0 30%; overflow: auto; border-top: 1px solid #d9dee3; padding: 4px 10px; }
#panel h2 { font-size: 12px; margin: 4px 0; color: #616e7c; font-weight: 600; }
#output div { font: 11px/1.35 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; cursor: pointer; padding: 1px 0; }
#output div:hover { background: #f0f4f8; }
#output .t { color: #616e7c; }
#output .stderr { color: #b42318; }
#output .stdin { color: #1d4ed8; }
#output .more { color: #616e7c; cursor: default; }
`;

export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var t0load = performance.now();
  var root = document.getElementById('timeline');
  var data = JSON.parse(document.getElementById('data').textContent);
  var COLORS = ['#2563eb', '#d97706', '#9333ea', '#059669', '#dc2626', '#6b7280'];
  var INJECTED_COLOR = '#e11d48';
  var LABEL_W = 250, AXIS_H = 26, ROW_H = 9, HEAD_H = 16, PAD = 5;
  var KN = data.kinds.length;
  var LANE_H = HEAD_H + KN * ROW_H + PAD * 2;

  var LUT = new Uint8Array(256);
  var ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (var q = 0; q < 64; q++) LUT[ALPHA.charCodeAt(q)] = q;
  function b64(s) {
    var n = s.length, pad = n && s.charAt(n - 1) === '=' ? (s.charAt(n - 2) === '=' ? 2 : 1) : 0;
    var out = new Uint8Array(n / 4 * 3 - pad), j = 0, len = out.length;
    for (var i = 0; i < n; i += 4) {
      var v = (LUT[s.charCodeAt(i)] << 18) | (LUT[s.charCodeAt(i + 1)] << 12) | (LUT[s.charCodeAt(i + 2)] << 6) | LUT[s.charCodeAt(i + 3)];
      out[j++] = v >> 16;
      if (j < len) out[j++] = (v >> 8) & 255;
      if (j < len) out[j++] = v & 255;
    }
    return out.buffer;
  }

  function fmtNs(ns) {
    var a = Math.abs(ns);
    if (a < 1e3) return ns.toFixed(0) + ' ns';
    if (a < 1e6) return (ns / 1e3).toFixed(a < 1e4 ? 2 : 1) + ' \u00b5s';
    if (a < 1e9) return (ns / 1e6).toFixed(a < 1e7 ? 3 : 2) + ' ms';
    return (ns / 1e9).toFixed(3) + ' s';
  }
  // As wtm trace: an errno by name (SUCCESS for 0 when the result is an errno), else the value.
  function fmtRet(c, r) {
    if (r !== r) return '';
    var kind = data.calls[c].result;
    if (kind === 'exit') return '';
    if (kind === 'errno') return r === 0 ? '0' : (data.errnos[r] || String(r));
    return r < 0 ? (data.errnos[-r] || String(-r)) : String(r);
  }

  // The columns: one deflated blob, inflated by the browser itself (nothing is fetched).
  function inflate(s) {
    var ds = new DecompressionStream('deflate-raw'), w = ds.writable.getWriter(), r = ds.readable.getReader(), chunks = [], n = 0;
    w.write(new Uint8Array(b64(s)));
    w.close();
    function more(x) {
      if (x.done) {
        var out = new Uint8Array(n), o = 0;
        for (var i = 0; i < chunks.length; i++) { out.set(chunks[i], o); o += chunks[i].length; }
        return out.buffer;
      }
      chunks.push(x.value);
      n += x.value.length;
      return r.read().then(more);
    }
    return r.read().then(more);
  }
  inflate(data.blob).then(start, function (e) {
    document.getElementById('status').textContent = 'cannot read the page data: ' + e;
    throw e;
  });

  function start(buf) {
  var t1 = performance.now();
  root.dataset.inflateMs = (t1 - t0load).toFixed(1);
  // ---- lanes ---------------------------------------------------------------------------
  var lanes = [], marks = 0, minT = Infinity, maxT = -Infinity, outputs = [];
  data.lanes.forEach(function (l, li) {
    var c = l.cols;
    var L = {
      src: l, start: new Float64Array(buf, c.start[0], c.start[1]), dur: new Float32Array(buf, c.dur[0], c.dur[1]),
      call: new Uint8Array(buf, c.call[0], c.call[1]), kind: new Uint8Array(buf, c.kind[0], c.kind[1]),
      ret: new Float64Array(buf, c.ret[0], c.ret[1]), args: new Uint32Array(buf, c.args[0], c.args[1]),
      notes: new Map(), end: 0, byKind: [], maxDur: []
    };
    var n = L.start.length, sorted = true, counts = new Int32Array(KN), prevRet = new Float64Array(data.calls.length);
    // A call whose result fault injection (--chaos) gave: bit 0x80 of its call id, as in the log.
    L.injected = [];
    for (var i = 0; i < n; i++) if (L.call[i] & 0x80) { L.call[i] &= 0x7f; L.injected.push(i); }
    // Undo the deltas: starts from the call before, results from the last of the same call.
    for (i = 1; i < n; i++) L.start[i] += L.start[i - 1];
    for (i = 0; i < n; i++) {
      var r = L.ret[i];
      if (r === r) { r += prevRet[L.call[i]]; prevRet[L.call[i]] = r; L.ret[i] = r; }
    }
    for (i = 0; i < n; i++) {
      var e = L.start[i] + L.dur[i];
      if (e > L.end) L.end = e;
      if (i && L.start[i] < L.start[i - 1]) sorted = false;
      counts[L.kind[i]]++;
    }
    var order = new Int32Array(n);
    for (i = 0; i < n; i++) order[i] = i;
    if (!sorted) order.sort(function (a, b) { return L.start[a] - L.start[b]; });
    for (var k = 0; k < KN; k++) { L.byKind.push(new Int32Array(counts[k])); L.maxDur.push(0); }
    var fill = new Int32Array(KN);
    for (i = 0; i < n; i++) {
      var x = order[i], kk = L.kind[x];
      L.byKind[kk][fill[kk]++] = x;
      if (L.dur[x] > L.maxDur[kk]) L.maxDur[kk] = L.dur[x];
    }
    l.notes.forEach(function (nt) {
      L.notes.set(nt[0], nt);
      if (nt[1]) outputs.push({ lane: li, i: nt[0], t: l.offsetNs + L.start[nt[0]], stream: nt[1], text: nt[2] });
    });
    marks += n;
    minT = Math.min(minT, l.offsetNs);
    maxT = Math.max(maxT, l.offsetNs + L.end);
    lanes.push(L);
  });
  if (!isFinite(minT)) { minT = 0; maxT = 1e6; }
  if (maxT <= minT) maxT = minT + 1e6;
  outputs.sort(function (a, b) { return a.t - b.t; });
  root.dataset.lanes = String(lanes.length);
  root.dataset.marks = String(marks);

  // ---- view ----------------------------------------------------------------------------
  var viewEl = document.getElementById('view'), canvas = document.getElementById('canvas'), tip = document.getElementById('tip');
  var ctx = canvas.getContext('2d');
  var W = 0, H = 0, t0 = minT, scale = 1, scrollY = 0, selected = null, dpr = 1;

  function plotW() { return Math.max(50, W - LABEL_W - 10); }
  function fit() {
    var span = maxT - minT;
    scale = span / plotW() * 1.02;
    t0 = minT - span * 0.01;
    scrollY = 0;
  }
  function resize() {
    dpr = window.devicePixelRatio || 1;
    W = viewEl.clientWidth; H = viewEl.clientHeight;
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
  }
  function clampScroll() {
    var maxScroll = Math.max(0, AXIS_H + lanes.length * LANE_H - H);
    scrollY = Math.min(Math.max(0, scrollY), maxScroll);
  }
  function lowerBound(L, list, t) {
    var lo = 0, hi = list.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (L.start[list[mid]] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function niceStep(ns) {
    var p = Math.pow(10, Math.floor(Math.log10(ns))), m = ns / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  var frame = 0;
  function schedule() { if (!frame) frame = requestAnimationFrame(function () { frame = 0; draw(); }); }

  function draw() {
    clampScroll();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    var pw = plotW(), tL = t0, tR = t0 + pw * scale, drawn = 0;
    // lanes
    for (var li = 0; li < lanes.length; li++) {
      var L = lanes[li], y = AXIS_H + li * LANE_H - scrollY;
      if (y + LANE_H < AXIS_H || y > H) continue;
      var off = L.src.offsetNs;
      ctx.fillStyle = li % 2 ? '#f8fafc' : '#ffffff';
      ctx.fillRect(0, y, W, LANE_H);
      // lifetime
      var x0 = LABEL_W + (off - t0) / scale, x1 = LABEL_W + (off + L.end - t0) / scale;
      ctx.fillStyle = '#e8edf2';
      ctx.fillRect(Math.max(LABEL_W, x0), y + HEAD_H, Math.max(1, Math.min(W, x1) - Math.max(LABEL_W, x0)), KN * ROW_H + PAD);
      for (var k = 0; k < KN; k++) {
        var list = L.byKind[k], ry = y + HEAD_H + PAD / 2 + k * ROW_H, color = COLORS[k];
        if (!list.length) continue;
        var i = lowerBound(L, list, tL - off - L.maxDur[k]), bucket = -1e9, count = 0;
        ctx.fillStyle = color;
        for (; i < list.length; i++) {
          var c = list[i], s = L.start[c] + off;
          if (s > tR) break;
          var x = LABEL_W + (s - t0) / scale, w = L.dur[c] / scale;
          if (x + w < LABEL_W) continue;
          if (w >= 2) {
            ctx.globalAlpha = 0.9; ctx.fillRect(Math.max(LABEL_W, x), ry, w, ROW_H - 1); drawn++;
            continue;
          }
          var px = Math.floor(x);
          if (px === bucket) { count++; continue; }
          if (count) { ctx.globalAlpha = Math.min(1, 0.45 + 0.12 * Math.log2(count)); ctx.fillRect(bucket, ry, 2, ROW_H - 1); drawn++; }
          bucket = px; count = 1;
        }
        if (count) { ctx.globalAlpha = Math.min(1, 0.45 + 0.12 * Math.log2(count)); ctx.fillRect(bucket, ry, 2, ROW_H - 1); drawn++; }
        ctx.globalAlpha = 1;
      }
      // Injected results: a red frame around the mark, whatever its kind.
      ctx.strokeStyle = INJECTED_COLOR; ctx.lineWidth = 1.5;
      for (var j = 0; j < L.injected.length; j++) {
        var ic = L.injected[j], is = L.start[ic] + off;
        if (is > tR || is + L.dur[ic] < tL) continue;
        var ix = LABEL_W + (is - t0) / scale, iy = y + HEAD_H + PAD / 2 + L.kind[ic] * ROW_H;
        if (ix < LABEL_W) continue;
        ctx.strokeRect(ix - 1.5, iy - 1, Math.max(3, L.dur[ic] / scale) + 3, ROW_H + 1);
      }
      if (selected && selected.lane === li) {
        var sx = LABEL_W + (off + L.start[selected.i] - t0) / scale, sy = y + HEAD_H + PAD / 2 + L.kind[selected.i] * ROW_H;
        ctx.strokeStyle = '#111827'; ctx.lineWidth = 2;
        ctx.strokeRect(sx - 3, sy - 2, Math.max(6, L.dur[selected.i] / scale + 6), ROW_H + 3);
      }
      // label
      ctx.fillStyle = li % 2 ? '#f1f5f9' : '#f8fafc';
      ctx.fillRect(0, y, LABEL_W, LANE_H);
      ctx.fillStyle = '#1f2933';
      ctx.font = '600 11px system-ui, sans-serif';
      var ind = 8 + L.src.depth * 12;
      ctx.fillText((L.src.depth ? '\u2514 ' : '') + L.src.id.slice(0, 8), ind, y + 13, LABEL_W - ind - 4);
      ctx.font = '11px system-ui, sans-serif';
      ctx.fillStyle = '#52606d';
      var state = L.src.state + (L.src.exitCode === null ? '' : ' ' + L.src.exitCode) + ' \u00b7 ' + L.src.count + ' calls';
      ctx.fillText(state, ind, y + 27, LABEL_W - ind - 4);
      ctx.fillText(L.src.argv.join(' '), ind, y + 41, LABEL_W - ind - 4);
      if (!L.src.hasLog) ctx.fillText('(no log)', ind, y + 55, LABEL_W - ind - 4);
      ctx.strokeStyle = '#d9dee3'; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(0, y + LANE_H - 0.5); ctx.lineTo(W, y + LANE_H - 0.5); ctx.stroke();
    }
    // axis (drawn last: lanes scroll under it)
    ctx.fillStyle = '#ffffff'; ctx.fillRect(0, 0, W, AXIS_H);
    ctx.strokeStyle = '#d9dee3'; ctx.beginPath(); ctx.moveTo(0, AXIS_H - 0.5); ctx.lineTo(W, AXIS_H - 0.5); ctx.stroke();
    var step = niceStep(scale * 90);
    ctx.fillStyle = '#52606d'; ctx.font = '11px system-ui, sans-serif';
    for (var t = Math.ceil(tL / step) * step; t <= tR; t += step) {
      var tx = LABEL_W + (t - t0) / scale;
      ctx.fillRect(tx, AXIS_H - 6, 1, 6);
      ctx.fillText(fmtNs(t), tx + 3, AXIS_H - 9);
    }
    ctx.fillText('time since start', 8, AXIS_H - 9);
    root.dataset.drawn = String(drawn);
    document.getElementById('status').textContent = lanes.length + ' lane' + (lanes.length === 1 ? '' : 's') + ', ' + marks + ' calls \u00b7 view ' + fmtNs(tL) + ' \u2013 ' + fmtNs(tR) + ' \u00b7 ' + drawn + ' marks drawn';
  }

  // ---- interaction ---------------------------------------------------------------------
  function zoomAt(px, factor) {
    var t = t0 + (px - LABEL_W) * scale;
    scale = Math.min(Math.max(scale * factor, 1e-3), (maxT - minT + 1e6) * 10 / plotW());
    t0 = t - (px - LABEL_W) * scale;
    schedule();
  }
  document.getElementById('zoom-in').onclick = function () { zoomAt(LABEL_W + plotW() / 2, 0.5); };
  document.getElementById('zoom-out').onclick = function () { zoomAt(LABEL_W + plotW() / 2, 2); };
  document.getElementById('fit').onclick = function () { fit(); schedule(); };
  viewEl.addEventListener('wheel', function (e) {
    e.preventDefault();
    var r = viewEl.getBoundingClientRect();
    // Over the labels (or with shift) the wheel scrolls the lanes; over the plot it zooms.
    if (e.shiftKey || e.clientX - r.left < LABEL_W) { scrollY += e.deltaY; schedule(); return; }
    if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) { t0 += e.deltaX * scale; schedule(); return; }
    zoomAt(Math.max(LABEL_W, e.clientX - r.left), Math.pow(1.0015, e.deltaY));
  }, { passive: false });
  var drag = null;
  viewEl.addEventListener('mousedown', function (e) { drag = { x: e.clientX, y: e.clientY, t0: t0, s: scrollY }; viewEl.classList.add('dragging'); });
  window.addEventListener('mouseup', function () { drag = null; viewEl.classList.remove('dragging'); });
  window.addEventListener('mousemove', function (e) {
    if (drag) {
      t0 = drag.t0 - (e.clientX - drag.x) * scale;
      scrollY = drag.s - (e.clientY - drag.y);
      tip.hidden = true;
      schedule();
      return;
    }
    var r = viewEl.getBoundingClientRect();
    hover(e.clientX - r.left, e.clientY - r.top);
  });
  window.addEventListener('keydown', function (e) {
    if (e.key === '+' || e.key === '=') zoomAt(LABEL_W + plotW() / 2, 0.5);
    else if (e.key === '-') zoomAt(LABEL_W + plotW() / 2, 2);
    else if (e.key === '0') { fit(); schedule(); }
    else if (e.key === 'ArrowLeft') { t0 -= plotW() * scale / 5; schedule(); }
    else if (e.key === 'ArrowRight') { t0 += plotW() * scale / 5; schedule(); }
  });
  window.addEventListener('resize', function () { resize(); schedule(); });

  function describe(L, c) {
    var spec = data.calls[L.call[c]], nt = L.notes.get(c);
    var lines = [spec.name + '(' + data.strings[L.args[c]] + ')' + (fmtRet(L.call[c], L.ret[c]) ? ' = ' + fmtRet(L.call[c], L.ret[c]) : '')];
    lines.push('record ' + c + ' \u00b7 ' + data.kinds[L.kind[c]] + ' \u00b7 lane ' + L.src.id.slice(0, 8));
    if (L.injected.indexOf(c) >= 0) lines.push('[injected] this result was given by fault injection (--chaos), not by the system');
    lines.push('at ' + fmtNs(L.start[c]) + ' in its process' + (L.src.offsetNs ? ' (' + fmtNs(L.src.offsetNs + L.start[c]) + ' on the timeline)' : '') + ', took ' + fmtNs(L.dur[c]));
    if (nt) lines.push((nt[1] ? nt[1] + ': ' : '') + (nt[2].length > 600 ? nt[2].slice(0, 600) + '\u2026' : nt[2]));
    return lines.join('\n');
  }
  function hover(mx, my) {
    if (mx < LABEL_W || my < AXIS_H || mx > W || my > H) { tip.hidden = true; return; }
    var li = Math.floor((my - AXIS_H + scrollY) / LANE_H), L = lanes[li];
    if (!L) { tip.hidden = true; return; }
    var k = Math.floor((my - (AXIS_H + li * LANE_H - scrollY) - HEAD_H - PAD / 2) / ROW_H);
    if (k < 0 || k >= KN) { tip.hidden = true; return; }
    var off = L.src.offsetNs, t = t0 + (mx - LABEL_W) * scale - off, list = L.byKind[k];
    var i = lowerBound(L, list, t - 4 * scale - L.maxDur[k]), best = -1, bestD = Infinity, near = 0;
    for (var n = 0; i < list.length && n < 20000; i++, n++) {
      var c = list[i], s = L.start[c];
      if (s > t + 4 * scale) break;
      var d = t < s ? s - t : t > s + L.dur[c] ? t - s - L.dur[c] : 0;
      if (d <= 4 * scale) { near++; if (d < bestD) { bestD = d; best = c; } }
    }
    if (best < 0) { tip.hidden = true; return; }
    tip.textContent = (near > 1 ? near + ' calls here; the nearest:\n' : '') + describe(L, best);
    tip.hidden = false;
    var tx = mx + 14, ty = my + 14;
    if (tx + tip.offsetWidth > W) tx = Math.max(0, mx - tip.offsetWidth - 14);
    if (ty + tip.offsetHeight > H) ty = Math.max(0, my - tip.offsetHeight - 14);
    tip.style.left = tx + 'px'; tip.style.top = ty + 'px';
  }

  // ---- output panel --------------------------------------------------------------------
  var outEl = document.getElementById('output'), SHOW = 3000, frag = document.createDocumentFragment();
  outputs.slice(0, SHOW).forEach(function (o) {
    var div = document.createElement('div'), ts = document.createElement('span');
    div.className = o.stream;
    ts.className = 't';
    ts.textContent = '[' + fmtNs(o.t).padStart(11) + '] ' + lanes[o.lane].src.id.slice(0, 8) + ' ' + o.stream + ': ';
    div.appendChild(ts);
    div.appendChild(document.createTextNode(o.text));
    div.onclick = function () {
      selected = { lane: o.lane, i: o.i };
      var span = plotW() * scale;
      t0 = o.t - span / 2;
      scrollY = o.lane * LANE_H - (H - AXIS_H) / 2;
      schedule();
    };
    frag.appendChild(div);
  });
  var cut = data.lanes.some(function (l) { return l.textCut; });
  if (outputs.length > SHOW || cut) {
    var more = document.createElement('div');
    more.className = 'more';
    more.textContent = (outputs.length > SHOW ? '\u2026 ' + (outputs.length - SHOW) + ' more writes (hover their marks)' : '') + (cut ? ' \u2026 text cut: the page keeps a few MiB of it per lane' : '');
    frag.appendChild(more);
  }
  if (!outputs.length) { var none = document.createElement('div'); none.className = 'more'; none.textContent = '(nothing was written to stdout or stderr, nor read from stdin)'; frag.appendChild(none); }
  outEl.appendChild(frag);

  // ---- legend, first draw ----------------------------------------------------------------
  var totals = new Array(KN).fill(0);
  lanes.forEach(function (L) { for (var k = 0; k < KN; k++) totals[k] += L.byKind[k].length; });
  var legend = document.getElementById('legend');
  data.kinds.forEach(function (name, k) {
    var s = document.createElement('span'), sw = document.createElement('i');
    sw.style.background = COLORS[k];
    s.appendChild(sw);
    s.appendChild(document.createTextNode(name + ' ' + totals[k]));
    legend.appendChild(s);
  });
  var injectedTotal = lanes.reduce(function (n, L) { return n + L.injected.length; }, 0);
  if (injectedTotal) {
    var si = document.createElement('span'), swi = document.createElement('i');
    swi.style.background = 'transparent'; swi.style.outline = '2px solid ' + INJECTED_COLOR;
    si.appendChild(swi);
    si.appendChild(document.createTextNode('injected (--chaos) ' + injectedTotal));
    legend.appendChild(si);
  }
  root.dataset.injected = String(injectedTotal);
  document.getElementById('title').textContent = data.title;
  document.title = data.title + ' \u00b7 wtm timeline';
  resize();
  fit();
  draw();
  // For tests and the console: where a call's mark is (CSS px in #view), the view, redraws.
  window.wtmTimeline = {
    position: function (li, i) {
      var L = lanes[li];
      return { x: LABEL_W + (L.src.offsetNs + L.start[i] - t0) / scale, y: AXIS_H + li * LANE_H - scrollY + HEAD_H + PAD / 2 + L.kind[i] * ROW_H + ROW_H / 2 };
    },
    view: function () { return { t0: t0, nsPerPx: scale, scrollY: scrollY }; },
    lanes: function () { return lanes.map(function (L) { return { id: L.src.id, calls: L.start.length, offsetNs: L.src.offsetNs, injected: L.injected.slice() }; }); },
    describe: function (li, i) { return describe(lanes[li], i); }
  };
  root.dataset.drawMs = (performance.now() - t1).toFixed(1);
  root.dataset.loadMs = (performance.now() - t0load).toFixed(1);
  root.dataset.ready = '1';
  }
})();
`;
