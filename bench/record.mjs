#!/usr/bin/env node
// Recording overhead, replay speed and log size, measured in one run:
// - the syscall-heavy guest (bench_syscalls `mixed`: 64-byte writes and reads, seeks, clock
//   reads, stats, opens, directory listings) with and without recording, per call;
// - a compute-bound guest (bench_compute) with and without recording, whole run;
// - `wtm replay` of the recorded syscall run next to the recorded run itself;
// - log bytes per recorded call, after compression.
// usage: node bench/record.mjs [--quick] [--json]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(repo, 'bin', 'wtm.js');
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const reps = quick ? 3 : 5;
const N = quick ? 20000 : 60000; // iterations of `mixed` (7 calls each)
const ROUNDS = quick ? 60 : 200; // compute rounds (1 MiB each)

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-bench-rec-'));
process.on('exit', () => fs.rmSync(home, { recursive: true, force: true }));
const env = { ...process.env, WTM_HOME: home };

function timed(args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`wtm ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stderr: r.stderr, stdout: r.stdout };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function syscallRun(record, n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-bench-dir-'));
  try {
    // Both in a worker (`--timeout`), as for the compute pair below: an unrecorded run without
    // one goes on the main thread, and the ratio would compare threads, not recording.
    return timed(['run', ...(record ? [] : ['--no-record']), '--timeout', '1h', '--no-host', '--dir', `${dir}:/bench`,
      path.join(repo, 'tests/guests/bench_syscalls.wasm'), 'mixed', String(n), '/bench']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const samples = { off: [], on: [], off0: [], on0: [], replay: [], cOff: [], cOn: [] };
let lastId = null;
for (let i = 0; i < reps; i++) {
  samples.off0.push(syscallRun(false, 0).ms);
  samples.on0.push(syscallRun(true, 0).ms);
  samples.off.push(syscallRun(false, N).ms);
  const rec = syscallRun(true, N);
  samples.on.push(rec.ms);
  lastId = /wtm: process ([0-9a-f-]{36})/.exec(rec.stderr)[1];
  samples.replay.push(timed(['replay', lastId]).ms);
  // Both in a worker (`--timeout`: an unrecorded run without one goes on the main thread, which
  // would put a worker's start-up, not recording, into the ratio).
  samples.cOff.push(timed(['run', '--no-record', '--timeout', '1h', path.join(repo, 'tests/guests/bench_compute.wasm'), String(ROUNDS)]).ms);
  samples.cOn.push(timed(['run', '--timeout', '1h', path.join(repo, 'tests/guests/bench_compute.wasm'), String(ROUNDS)]).ms);
}
const procs = JSON.parse(timed(['get', 'processes', '-o', 'json']).stdout);
const last = procs.find((p) => p.id === lastId);

const calls = N * 7;
const perCallOff = (median(samples.off) - median(samples.off0)) / calls * 1e6;
const perCallOn = (median(samples.on) - median(samples.on0)) / calls * 1e6;
const result = {
  syscall: { iterations: N, calls: last.calls, nsPerCallUnrecorded: perCallOff, nsPerCallRecorded: perCallOn, ratio: perCallOn / perCallOff, wholeRunRatio: median(samples.on) / median(samples.off) },
  compute: { rounds: ROUNDS, msUnrecorded: median(samples.cOff), msRecorded: median(samples.cOn), ratio: median(samples.cOn) / median(samples.cOff) },
  replay: { msRecordedRun: median(samples.on), msReplay: median(samples.replay), ratio: median(samples.replay) / median(samples.on) },
  log: { bytes: last.logBytes, calls: last.calls, bytesPerCall: last.logBytes / last.calls },
  samples,
};
if (json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const f = (x, d = 2) => x.toFixed(d);
  console.log(`recording overhead, syscall-heavy guest (mixed, ${calls} calls, median of ${reps}):`);
  console.log(`  unrecorded ${f(perCallOff, 0)} ns/call, recorded ${f(perCallOn, 0)} ns/call: ratio ${f(result.syscall.ratio)}x (whole run ${f(result.syscall.wholeRunRatio)}x)`);
  console.log(`recording overhead, compute-bound guest (${ROUNDS} rounds):`);
  console.log(`  unrecorded ${f(result.compute.msUnrecorded, 0)} ms, recorded ${f(result.compute.msRecorded, 0)} ms: ratio ${f(result.compute.ratio, 3)}x`);
  console.log(`replay of the recorded syscall run: ${f(result.replay.msReplay, 0)} ms vs ${f(result.replay.msRecordedRun, 0)} ms recorded: ratio ${f(result.replay.ratio)}x`);
  console.log(`log size: ${result.log.bytes} bytes for ${result.log.calls} calls = ${f(result.log.bytesPerCall)} bytes/call (compressed)`);
}
