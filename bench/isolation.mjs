#!/usr/bin/env node
// Thread against process isolation for tasks, measured in one run (docs/RATIONALE.md):
// - tasks/s: N short tasks (examples/hello.wasm) at maxConcurrency = cores, recorded, warm pool;
// - start latency: one task at a time, from spawn to its result: cold (a new runtime, so a new
//   worker or child process) and warm (the pool keeps one idle), median of R;
// - memory per task: K tasks held alive at once (crash_host sleep), the RSS of this process
//   and of its children during, less before, divided by K.
// usage: node bench/isolation.mjs [--quick] [--json]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, Runtime } from '../dist/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const N = quick ? 100 : 400;
const R = quick ? 5 : 15;
const K = 8;
const cores = os.availableParallelism();
const hello = path.join(repo, 'examples/hello.wasm');
const sleeper = path.join(repo, 'tests/guests/crash_host.wasm');

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-bench-iso-'));
process.on('exit', () => fs.rmSync(base, { recursive: true, force: true }));

/** RSS in bytes of this process and every process below it. */
function treeRss() {
  const kids = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(name));
    } catch {}
  }
  let total = 0;
  const visit = (pid) => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {}
    for (const k of kids.get(pid) ?? []) visit(k);
  };
  visit(process.pid);
  return total;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(isolation) {
  const registry = await Registry.open(path.join(base, `reg-${isolation}`));
  const out = { isolation };
  // Throughput, warm.
  let rt = new Runtime({ isolation, registry, tasksDir: path.join(base, `tasks-${isolation}`) });
  await Promise.all(Array.from({ length: cores }, () => rt.spawn({ module: hello }).wait()));
  let t = performance.now();
  const rs = await Promise.all(Array.from({ length: N }, (_, i) => rt.spawn({ module: hello, args: [String(i)] }).wait()));
  out.tasksPerSec = Math.round(N / ((performance.now() - t) / 1000));
  out.failed = rs.filter((r) => r.state !== 'success').length;
  // Warm start latency: one at a time, the pool holding an idle worker/child.
  const warm = [];
  for (let i = 0; i < R; i++) {
    t = performance.now();
    await rt.spawn({ module: hello }).wait();
    warm.push(performance.now() - t);
  }
  out.warmStartMs = Math.round(median(warm) * 10) / 10;
  await rt.close();
  // Cold start latency: a new runtime each time (a new worker or child process).
  const cold = [];
  for (let i = 0; i < R; i++) {
    rt = new Runtime({ isolation, registry, tasksDir: path.join(base, `tasks-${isolation}`) });
    t = performance.now();
    await rt.spawn({ module: hello }).wait();
    cold.push(performance.now() - t);
    await rt.close();
  }
  out.coldStartMs = Math.round(median(cold) * 10) / 10;
  // Memory per task: K tasks alive at once.
  rt = new Runtime({ isolation, maxConcurrency: K, tasksDir: path.join(base, `tasks-${isolation}`) });
  await new Promise((r) => setTimeout(r, 300));
  globalThis.gc?.();
  const before = treeRss();
  const held = Array.from({ length: K }, () => rt.spawn({ module: sleeper, args: ['sleep', '2500'] }));
  await new Promise((r) => setTimeout(r, 1800));
  const during = treeRss();
  await Promise.all(held.map((h) => h.wait()));
  await rt.close();
  out.memoryPerTaskMiB = Math.round(((during - before) / K / 2 ** 20) * 10) / 10;
  return out;
}

const load = os.loadavg()[0];
const results = [await measure('thread'), await measure('process')];
const [th, pr] = results;
const ratios = {
  tasksPerSec: Math.round((pr.tasksPerSec / th.tasksPerSec) * 100) / 100,
  warmStart: Math.round((pr.warmStartMs / th.warmStartMs) * 100) / 100,
  coldStart: Math.round((pr.coldStartMs / th.coldStartMs) * 100) / 100,
  memoryPerTask: Math.round((pr.memoryPerTaskMiB / th.memoryPerTaskMiB) * 100) / 100,
};
if (json) {
  console.log(JSON.stringify({ cores, load1: load, N, R, K, results, ratios }, null, 2));
} else {
  console.log(`isolation bench: ${cores} cores, load ${load.toFixed(2)} at start; ${N} tasks for throughput, median of ${R} starts, ${K} tasks held for memory`);
  console.log('isolation  tasks/s  warm start  cold start  memory/task');
  for (const r of results) {
    console.log(`${r.isolation.padEnd(9)}  ${String(r.tasksPerSec).padStart(7)}  ${`${r.warmStartMs} ms`.padStart(10)}  ${`${r.coldStartMs} ms`.padStart(10)}  ${`${r.memoryPerTaskMiB} MiB`.padStart(11)}${r.failed ? `  (${r.failed} failed)` : ''}`);
  }
  console.log(`process/thread: tasks/s x${ratios.tasksPerSec}, warm start x${ratios.warmStart}, cold start x${ratios.coldStart}, memory/task x${ratios.memoryPerTask}`);
}
