#!/usr/bin/env node
// The syscall benchmark: wtm against Node's built-in node:wasi, measured in the same run.
// `npm run bench` runs this; see bench/README.md for what the figures mean.
//
//   node bench/run.mjs [--quick] [--json] [--reps N] [--modes write,stat,...] [--n N] [--record]
//   node bench/run.mjs --syscalls [...]   host syscalls per guest call (bench/count-syscalls.mjs)
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  allModes, checkPrerequisites, fail, fdModes, geomean, helloCommands, makeTmpDir, median, pathModes, runtimes, timed,
  useWtm, wtmRunFlags,
} from './common.mjs';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    reps: { type: 'string' },
    modes: { type: 'string' },
    n: { type: 'string' },
    syscalls: { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    wtm: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: false,
});

if (opt.help) {
  process.stdout.write(`Usage: node bench/run.mjs [--quick] [--json] [--reps N] [--modes a,b] [--n N] [--syscalls]
  --quick      ~20 s smoke run (fewer repetitions, shorter loops)
  --json       print one JSON object instead of the table
  --reps N     repetitions per measurement (default 5, quick 3); the median is used
  --modes a,b  only these modes (${allModes.join(', ')})
  --n N        a fixed iteration count for every mode instead of calibrating one
  --record     let wtm record the runs (into a temporary registry); default: --no-record
  --wtm FILE   the wtm.js to run (default bin/wtm.js), e.g. a copy of the tree before a change
  --syscalls   count host syscalls per guest call instead (see bench/count-syscalls.mjs)
`);
  process.exit(0);
}
if (opt.syscalls) {
  await import('./count-syscalls.mjs');
} else {
  await main();
}

async function main() {
  if (opt.wtm) useWtm(opt.wtm);
  checkPrerequisites();
  const quick = opt.quick;
  const reps = opt.reps ? Number(opt.reps) : quick ? 2 : 5;
  const modes = opt.modes ? opt.modes.split(',') : allModes;
  for (const m of modes) if (!allModes.includes(m)) fail(`unknown mode ${m} (modes: ${allModes.join(', ')})`);
  if (!(reps >= 1)) fail('--reps needs a positive number');
  // Each runtime's loop should take about `target` seconds: whole-process startup jitters by
  // tens of ms here, so a loop much shorter than that drowns in it.
  const target = 0.4;
  const helloReps = quick ? 2 : 10;
  const names = Object.keys(runtimes);
  const tmp = makeTmpDir();
  const log = (s) => process.stderr.write(s);
  const t0 = Date.now();
  const loadBefore = loadavg()[0];

  const record = opt.record;
  const run = (rt, mode, n) => timed(runtimes[rt](tmp, mode, n, { record }), { expect: `done ${mode} ${n}` });

  // Startup (N=0: Node, the runtime, compiling the module, preparing the tree).
  const base = Object.fromEntries(names.map((rt) => [rt, []]));
  const sampleBase = (order) => { for (const rt of order) base[rt].push(run(rt, 'clock', 0)); };
  log('bench: startup');
  for (const rt of names) run(rt, 'clock', 0); // warm the file cache and the tree
  for (let i = 0; i < 2; i++) sampleBase(i % 2 ? [...names].reverse() : names);

  // N per mode and runtime. --quick uses a fixed N (the same for both runtimes); otherwise
  // a short run per runtime, lengthened until its loop stands out of the startup noise,
  // estimates the cost per call and N is chosen so the loop takes about `target` seconds.
  const quickN = { write: 50000, read: 50000, seek: 100000, clock: 1000000, stat: 10000, open: 5000, readdir: 2500, mixed: 300 };
  const estimate = (rt, mode) => {
    let n = mode === 'mixed' ? 500 : pathModes.includes(mode) ? 3000 : 50000;
    for (;;) {
      const dt = run(rt, mode, n) - median(base[rt]);
      if (dt >= 0.12 || n >= 5e6) {
        // A second run, and the smaller of the two: a busy moment only ever adds time.
        const dt2 = Math.min(dt, run(rt, mode, n) - median(base[rt]));
        // A start-up that happened to be slow can make the loop look free: lengthen it and
        // measure again rather than take ~0 (which would ask for millions of iterations).
        if (dt2 >= 0.06 || n >= 5e6) return Math.max(dt2, 0.06) / n;
      }
      n *= 4;
    }
  };
  const ns = Object.fromEntries(modes.map((m) => [m, {}]));
  if (!quick && !opt.n) log(', calibrating');
  for (const mode of modes) {
    for (const rt of names) {
      if (opt.n) ns[mode][rt] = Number(opt.n);
      else if (quick) ns[mode][rt] = quickN[mode];
      else ns[mode][rt] = roundN(Math.min(Math.max(target / estimate(rt, mode), 200), 2e7));
    }
  }

  // The measurement: repetitions alternate which runtime goes first.
  const samples = Object.fromEntries(modes.map((m) => [m, Object.fromEntries(names.map((rt) => [rt, []]))]));
  for (let r = 0; r < reps; r++) {
    log(`, rep ${r + 1}/${reps}`);
    const order = r % 2 ? [...names].reverse() : names;
    sampleBase(order);
    for (const mode of modes) for (const rt of order) samples[mode][rt].push(run(rt, mode, ns[mode][rt]));
    if (!quick) sampleBase(order);
  }

  // Hello: whole-process wall time, as a user sees it: `wtm run examples/hello.wasm` exactly
  // (which records the run, if this wtm records by default), and with --no-record.
  log(', hello');
  const helloVariants = { wtm: { record: true }, 'wtm --no-record': { record: false }, 'node:wasi': {} };
  const helloCmd = (v) => helloCommands[v.startsWith('wtm') ? 'wtm' : v](helloVariants[v]);
  const helloT = Object.fromEntries(Object.keys(helloVariants).map((v) => [v, []]));
  for (const v of Object.keys(helloVariants)) timed(helloCmd(v), { expect: 'ello' }); // warm the file cache
  for (let i = 0; i < helloReps; i++) {
    const order = Object.keys(helloVariants);
    for (const v of i % 2 ? order.reverse() : order) helloT[v].push(timed(helloCmd(v), { expect: 'ello' }));
  }
  log(` (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);

  const load = { before: loadBefore, after: loadavg()[0] };
  const startup = Object.fromEntries(names.map((rt) => [rt, median(base[rt])]));
  const rows = modes.map((mode) => {
    const per = Object.fromEntries(names.map((rt) => [rt, ((median(samples[mode][rt]) - startup[rt]) / ns[mode][rt]) * 1e9]));
    const ok = per.wtm > 0 && per['node:wasi'] > 0;
    return {
      mode, n_wtm: ns[mode].wtm, n_node_wasi: ns[mode]['node:wasi'],
      wtm_ns: per.wtm, node_wasi_ns: per['node:wasi'], ratio: ok ? per.wtm / per['node:wasi'] : null,
    };
  });
  const group = (list) => {
    const rs = rows.filter((r) => list.includes(r.mode) && r.ratio !== null).map((r) => r.ratio);
    return rs.length ? geomean(rs) : null;
  };
  const helloMs = Object.fromEntries(Object.keys(helloT).map((v) => [v, median(helloT[v]) * 1e3]));
  const result = {
    node: process.version,
    reps,
    quick,
    wtm_flags: wtmRunFlags({ record }),
    seconds: (Date.now() - t0) / 1000,
    load_average_1min: load,
    startup_ms: { wtm: startup.wtm * 1e3, node_wasi: startup['node:wasi'] * 1e3 },
    modes: rows,
    fd_ratio: group(fdModes),
    path_ratio: group(pathModes),
    hello: {
      wtm_ms: helloMs.wtm, wtm_no_record_ms: helloMs['wtm --no-record'], node_wasi_ms: helloMs['node:wasi'],
      ratio: helloMs.wtm / helloMs['node:wasi'], ratio_no_record: helloMs['wtm --no-record'] / helloMs['node:wasi'], reps: helloReps,
    },
    samples_s: { startup: base, modes: samples, hello: helloT },
  };
  if (opt.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const f = (x, d = 0) => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
  const lines = [];
  const flags = wtmRunFlags({ record });
  lines.push(`wtm${flags.length ? ' ' + flags.join(' ') : ''} vs node:wasi, ${process.version}, median of ${reps}, startup (N=0) subtracted${quick ? ' (--quick: rough figures)' : ''}`);
  lines.push('');
  lines.push(`${'mode'.padEnd(17)}${'wtm ns/call'.padStart(12)}${'node:wasi ns/call'.padStart(19)}${'ratio'.padStart(8)}${'N wtm'.padStart(11)}${'N node:wasi'.padStart(13)}`);
  for (const r of rows) {
    const label = r.mode === 'mixed' ? 'mixed (7 calls)' : r.mode;
    const ns = (x) => (x <= 0 ? '~0' : f(x));
    lines.push(`${label.padEnd(17)}${ns(r.wtm_ns).padStart(12)}${ns(r.node_wasi_ns).padStart(19)}${f(r.ratio, 2).padStart(8)}${String(r.n_wtm).padStart(11)}${String(r.n_node_wasi).padStart(13)}`);
  }
  lines.push('');
  if (result.fd_ratio !== null) lines.push(`fd-based calls (write, read, seek, clock): ratio ${f(result.fd_ratio, 2)}`);
  if (result.path_ratio !== null) lines.push(`path-based calls (stat, open, readdir): ratio ${f(result.path_ratio, 2)}`);
  lines.push(`hello: wtm ${f(helloMs.wtm, 1)} ms, node:wasi ${f(helloMs['node:wasi'], 1)} ms, ratio ${f(result.hello.ratio, 2)} (whole process, median of ${helloReps})`);
  lines.push(`hello, wtm --no-record: ${f(helloMs['wtm --no-record'], 1)} ms, ratio ${f(result.hello.ratio_no_record, 2)}`);
  lines.push(`startup (N=0, tree setup included): wtm ${f(startup.wtm * 1e3, 1)} ms, node:wasi ${f(startup['node:wasi'] * 1e3, 1)} ms`);
  lines.push(`machine: ${cpus().length} cores, 1-min load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after (above ~0.5, other work skews the figures)`);
  process.stdout.write(lines.join('\n') + '\n');
}

/** Rounds an iteration count to two significant digits. */
function roundN(n) {
  const p = 10 ** Math.max(0, Math.floor(Math.log10(n)) - 1);
  return Math.round(n / p) * p;
}
