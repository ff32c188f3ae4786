#!/usr/bin/env node
// How fast the views read a big log: records tests/guests/bench_syscalls.wasm in `mixed` mode
// (writes, reads, seeks, clock reads, stats, opens, directory listings) until the log holds
// about CALLS calls, then times each view on it, piped through `cat > /dev/null` as a terminal
// pipe would take it, and prints calls/s and MB/s. The peer, in the same run: `cat` moving the
// same number of bytes through the same kind of pipe (the pipe's own speed).
//
//   node bench/views.mjs [--calls 1000000] [--wtm path/to/bin/wtm.js]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { guest, guestDir, makeTmpDir, repo } from './common.mjs';

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const target = Number(flag('--calls', '1000000'));
const wtm = path.resolve(flag('--wtm', path.join(repo, 'bin/wtm.js')));
const home = makeTmpDir('wtm-bench-views-');
const work = makeTmpDir('wtm-bench-views-work-');
const env = { ...process.env, WTM_HOME: home };

// One mixed iteration makes about 8 calls (the count printed is read from the log itself).
const iterations = Math.ceil(target / 8);
const t = performance.now();
const run = spawnSync(process.execPath, [wtm, 'run', '--dir', `${work}:${guestDir}`, guest, 'mixed', String(iterations), guestDir], { env, encoding: 'utf8' });
const runMs = performance.now() - t;
if (run.status !== 0) {
  console.error(`the recorded run failed: ${run.stderr}`);
  process.exit(1);
}
const id = /wtm: process (\S+)/.exec(run.stderr)[1];
const described = JSON.parse(spawnSync(process.execPath, [wtm, 'describe', id, '-o', 'json'], { env, encoding: 'utf8' }).stdout);
const calls = described.log.calls;
console.log(`recorded ${calls} calls (${(described.log.bytes / 1e6).toFixed(1)} MB of log) in ${(runMs / 1000).toFixed(2)} s`);

/** Times a shell pipeline; returns seconds. */
function timed(cmd) {
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `set -o pipefail; ${cmd}`], { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

const sh = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const node = sh(process.execPath);
const out = path.join(work, 'trace.txt');
const rows = [];
for (const [name, view] of [['trace', 'trace'], ['trace -o json', 'trace -o json'], ['trace --errors (filter)', 'trace --errors'], ['logs', 'logs'], ['describe', 'describe']]) {
  // The size of what the view prints, then its time through a pipe.
  timed(`${node} ${sh(wtm)} ${view} ${id} > ${sh(out)}`);
  const bytes = fs.statSync(out).size;
  const secs = timed(`${node} ${sh(wtm)} ${view} ${id} | cat > /dev/null`);
  const pipe = timed(`cat ${sh(out)} | cat > /dev/null`);
  rows.push({ view: name, seconds: secs.toFixed(2), 'calls/s': Math.round(calls / secs).toLocaleString('en'), 'MB/s': (bytes / 1e6 / secs).toFixed(1), 'output MB': (bytes / 1e6).toFixed(1), 'cat of the same bytes, s': pipe.toFixed(3) });
}
console.table(rows);

// Views that write a file or re-run the guest: against the run itself and a plain replay.
const page = path.join(work, 'timeline.html');
const prof = path.join(work, 'run.cpuprofile');
const timed2 = [
  ['timeline (HTML page)', `${node} ${sh(wtm)} timeline ${id} --out ${sh(page)} > /dev/null`, () => fs.statSync(page).size],
  ['replay (peer of profile)', `${node} ${sh(wtm)} replay ${id} > /dev/null`, () => 0],
  ['profile (replay + V8 profiler)', `${node} ${sh(wtm)} profile ${id} --out ${sh(prof)} > /dev/null`, () => fs.statSync(prof).size],
];
console.table(timed2.map(([name, cmd, size]) => {
  const secs = timed(cmd);
  return { view: name, seconds: secs.toFixed(2), 'vs the run': (secs / (runMs / 1000)).toFixed(2), 'file MB': (size() / 1e6).toFixed(1) };
}));
console.log(`the run itself took ${(runMs / 1000).toFixed(2)} s (recorded)`);
