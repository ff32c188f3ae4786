#!/usr/bin/env node
// Task throughput and parallel speed-up, measured in one run:
// - short tasks per second: N tasks of a guest that does almost nothing (examples/hello.wasm),
//   recorded into a registry, maxConcurrency = cores;
// - the speed-up of 2 compute-bound tasks (bench_compute) run at once against one after the
//   other.
// usage: node bench/tasks.mjs [--quick] [--json] [--no-record]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, Runtime } from '../dist/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const record = !process.argv.includes('--no-record');
const N = quick ? 200 : 1000;
const ROUNDS = quick ? 60 : 150;

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-bench-tasks-'));
process.on('exit', () => fs.rmSync(base, { recursive: true, force: true }));
const registry = record ? await Registry.open(path.join(base, 'registry')) : undefined;
const rt = new Runtime({ tasksDir: path.join(base, 'tasks'), registry });
const hello = path.join(repo, 'examples/hello.wasm');
const compute = path.join(repo, 'tests/guests/bench_compute.wasm');

// Warm up: workers started, module compiled.
await Promise.all(Array.from({ length: os.availableParallelism() }, () => rt.spawn({ module: hello }).wait()));

// CPU time of the whole process (main thread and workers): on a shared, loaded machine it
// moves far less than tasks/s, which is wall time.
const cpu0 = process.cpuUsage();
let t = performance.now();
const results = await Promise.all(Array.from({ length: N }, (_, i) => rt.spawn({ module: hello, args: [String(i)] }).wait()));
const shortMs = performance.now() - t;
const cpu = process.cpuUsage(cpu0);
const failed = results.filter((r) => r.state !== 'success').length;

await rt.spawn({ module: compute, args: ['1'] }).wait();
t = performance.now();
for (let i = 0; i < 2; i++) await rt.spawn({ module: compute, args: [String(ROUNDS)] }).wait();
const serialMs = performance.now() - t;
t = performance.now();
await Promise.all([0, 1].map(() => rt.spawn({ module: compute, args: [String(ROUNDS)] }).wait()));
const parallelMs = performance.now() - t;
await rt.close();

const result = {
  cores: os.availableParallelism(), recorded: record,
  shortTasks: { n: N, ms: shortMs, perSecond: N / (shortMs / 1000), failed, cpuMsPerTask: (cpu.user + cpu.system) / 1000 / N, userMsPerTask: cpu.user / 1000 / N, systemMsPerTask: cpu.system / 1000 / N },
  compute: { rounds: ROUNDS, serialMs, parallelMs, speedup: serialMs / parallelMs },
};
if (json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`short tasks (${record ? 'recorded' : 'not recorded'}, ${result.cores} cores): ${N} in ${shortMs.toFixed(0)} ms = ${result.shortTasks.perSecond.toFixed(0)} tasks/s${failed ? ` (${failed} failed)` : ''}; CPU ${result.shortTasks.cpuMsPerTask.toFixed(2)} ms a task (user ${result.shortTasks.userMsPerTask.toFixed(2)}, system ${result.shortTasks.systemMsPerTask.toFixed(2)}), load average ${os.loadavg()[0].toFixed(1)}`);
  console.log(`2 compute-bound tasks: one after the other ${serialMs.toFixed(0)} ms, at once ${parallelMs.toFixed(0)} ms: speed-up ${result.compute.speedup.toFixed(2)}x`);
}
