#!/usr/bin/env node
// Per-call cost inside one process: wtm's host (the same code a worker runs: runProcess with a
// sandbox, optionally recording) against node:wasi, on the bench guest, in the same process,
// alternating. Process start-up is left out entirely, so the figures are steadier than run.mjs's
// on a busy machine; the ratio is what matters. For each mode and runtime:
//   ns/call = (min time of N iterations - min time of 0 iterations) / N
// over --reps repetitions (the minimum: a busy moment only ever adds time). Times are CPU time
// of the process (user + system, process.cpuUsage) by default: on a machine shared with other
// work, the wall time of a run waits for the CPU while its CPU time does not; --wall measures
// wall time instead.
//
//   node bench/calls.mjs [--modes write,clock] [--reps 7] [--n-scale 1] [--record] [--wall] [--json]
import fs from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { WASI } from 'node:wasi';
import { allModes, guest, guestDir, makeTmpDir } from './common.mjs';
import { floorHost } from './floor-host.mjs';
import { configureRun } from '../dist/runtime/configure.js';
import { runProcess } from '../dist/runtime/process.js';

const { values: opt } = parseArgs({
  options: {
    modes: { type: 'string' },
    reps: { type: 'string', default: '7' },
    'n-scale': { type: 'string', default: '1' },
    record: { type: 'boolean', default: false },
    wall: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write('usage: node bench/calls.mjs [--modes a,b] [--reps N] [--n-scale X] [--record] [--wall] [--json]\n');
  process.exit(0);
}
const modes = opt.modes ? opt.modes.split(',') : allModes;
const reps = Number(opt.reps);
// Iterations per mode: about 0.1-0.3 s of calls each.
const baseN = { write: 100000, read: 100000, seek: 1000000, clock: 2000000, stat: 30000, open: 20000, readdir: 10000, mixed: 5000 };
const scale = Number(opt['n-scale']);
const tmp = makeTmpDir('wtm-bench-calls-');
const module = new WebAssembly.Module(fs.readFileSync(guest));
const devnull = fs.openSync('/dev/null', 'w');

/** Seconds: CPU time of this process (default) or wall time. */
const clock = opt.wall ? () => Number(process.hrtime.bigint()) / 1e9 : () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Runs the guest once under `rt` with `n` iterations; seconds. */
function once(rt, mode, n) {
  const args = [mode, String(n), guestDir];
  const t0 = clock();
  if (rt === 'node:wasi') {
    const wasi = new WASI({ version: 'preview1', args: ['bench', ...args], env: {}, preopens: { [guestDir]: tmp }, returnOnExit: true, stdout: devnull });
    const code = wasi.start(new WebAssembly.Instance(module, wasi.getImportObject()));
    if (code !== 0) throw new Error(`node:wasi exited ${code}`);
  } else if (rt === 'floor' || rt === 'floor-handles') {
    const host = floorHost({ args: ['bench', ...args], preopen: guestDir, hostDir: tmp, stdout: devnull, handles: rt === 'floor-handles' });
    const code = host.run(new WebAssembly.Instance(module, host.imports));
    if (code !== 0) throw new Error(`the floor host exited ${code}`);
  } else {
    const config = { ...configureRun({ mounts: [{ host: tmp, guest: guestDir }], args, stdout: 'null', stderr: 'inherit' }), record: opt.record };
    const report = runProcess(module, config, () => {});
    if (report.exitCode !== 0) throw new Error(`wtm exited ${report.exitCode}: ${report.error ?? report.trap ?? ''}`);
  }
  return clock() - t0;
}

// floor: the least a JS host can do (bench/floor-host.mjs), so that wtm / node:wasi splits into
// what Node's JS API costs (floor / node:wasi) and what wtm adds (wtm / floor). floor-handles:
// the same host with path calls through held directory handles, as a sandbox must name them.
const runtimes = ['wtm', 'node:wasi', 'floor', 'floor-handles'];
const load0 = loadavg()[0];
const rows = [];
for (const mode of modes) {
  const n = Math.round(baseN[mode] * scale);
  const best = Object.fromEntries(runtimes.map((rt) => [rt, [Infinity, Infinity]]));
  for (const rt of runtimes) once(rt, mode, Math.ceil(n / 10)); // warm up the JIT
  for (let r = 0; r < reps; r++) {
    for (const rt of r % 2 ? [...runtimes].reverse() : runtimes) {
      best[rt][0] = Math.min(best[rt][0], once(rt, mode, 0));
      best[rt][1] = Math.min(best[rt][1], once(rt, mode, n));
    }
  }
  const ns = Object.fromEntries(runtimes.map((rt) => [rt, ((best[rt][1] - best[rt][0]) / n) * 1e9]));
  rows.push({ mode, n, wtm_ns: ns.wtm, node_wasi_ns: ns['node:wasi'], floor_ns: ns.floor, floor_handles_ns: ns['floor-handles'], ratio: ns.wtm / ns['node:wasi'], floor_ratio: ns.floor / ns['node:wasi'], wtm_over_floor: ns.wtm / ns.floor, floor_handles_ratio: ns['floor-handles'] / ns['node:wasi'], wtm_over_floor_handles: ns.wtm / ns['floor-handles'] });
  if (!opt.json) process.stderr.write(`${mode} `);
}
const load = { before: load0, after: loadavg()[0] };
if (opt.json) {
  process.stdout.write(JSON.stringify({ node: process.version, reps, record: opt.record, clock: opt.wall ? 'wall' : 'cpu', load_average_1min: load, modes: rows }, null, 2) + '\n');
} else {
  process.stderr.write('\n');
  const lines = [`in-process per-call cost, wtm${opt.record ? ' (recording)' : ' (not recording)'} vs node:wasi, ${process.version}, ${opt.wall ? 'wall' : 'CPU'} time, min of ${reps}`, ''];
  lines.push(`${'mode'.padEnd(17)}${'wtm ns/call'.padStart(12)}${'node:wasi ns/call'.padStart(19)}${'ratio'.padStart(8)}${'floor ns'.padStart(10)}${'floor/node'.padStart(12)}${'wtm/floor'.padStart(11)}${'handles'.padStart(9)}${'wtm/handles'.padStart(13)}${'N'.padStart(10)}`);
  for (const r of rows) lines.push(`${(r.mode === 'mixed' ? 'mixed (7 calls)' : r.mode).padEnd(17)}${r.wtm_ns.toFixed(0).padStart(12)}${r.node_wasi_ns.toFixed(0).padStart(19)}${r.ratio.toFixed(2).padStart(8)}${r.floor_ns.toFixed(0).padStart(10)}${r.floor_ratio.toFixed(2).padStart(12)}${r.wtm_over_floor.toFixed(2).padStart(11)}${r.floor_handles_ratio.toFixed(2).padStart(9)}${r.wtm_over_floor_handles.toFixed(2).padStart(13)}${String(r.n).padStart(10)}`);
  lines.push('', 'floor: the least a JS host on Node\'s public API does per call, without a sandbox (bench/floor-host.mjs);', 'handles: floor-handles / node:wasi, the same with path calls through held directory handles (/proc/PID/fd/N/name), as a sandbox must');
  lines.push('', `1-min load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after`);
  process.stdout.write(lines.join('\n') + '\n');
}
