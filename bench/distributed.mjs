#!/usr/bin/env node
// wtm on NATS JetStream, measured in one run against a nats-server started here (127.0.0.1,
// a temporary store; Debian's nats-server must be installed):
// - tasks/s through the queue with 2 `wtm worker` processes, against the in-process scheduler
//   with as many slots, both recording (the queue's tasks into the registry on the server);
// - added latency per task: one task at a time, submit to result, queue against in-process;
// - registry throughput for a 50 MB log: put whole, read whole, and appended in 256 KiB pieces
//   (as a recording appends), and the same 50 MB as a module-like blob in the object store;
// - `wtm get processes` with 10,000 process records in the KV bucket (the CLI, start-up
//   included), against a local registry holding the same records.
// usage: node bench/distributed.mjs [--quick] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStore, NatsStore, NatsTaskQueue, Registry, Runtime } from '../dist/internal.js';
import { startNats } from '../tests/nats-server.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtmBin = path.join(repo, 'bin/wtm.js');
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const N = quick ? 200 : 1000;
const LAT = quick ? 30 : 100;
const RECORDS = 10_000;
const SLOTS = 2; // per worker
const hello = path.join(repo, 'examples/hello.wasm');
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-bench-dist-'));
const server = await startNats();
const out = { machine: { cores: os.availableParallelism(), load: os.loadavg().map((x) => +x.toFixed(2)), node: process.version } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const workers = [];
try {
  // ---- tasks/s and latency ----
  const local = new Runtime({ registry: await Registry.open(path.join(base, 'local')), tasksDir: path.join(base, 'tasks'), maxConcurrency: 2 * SLOTS });
  await Promise.all(Array.from({ length: 2 * SLOTS }, () => local.spawn({ module: hello }).wait()));
  let t = performance.now();
  await Promise.all(Array.from({ length: N }, (_, i) => local.spawn({ module: hello, args: [String(i)] }).wait()));
  const localMs = performance.now() - t;
  const localLat = [];
  for (let i = 0; i < LAT; i++) {
    t = performance.now();
    await local.spawn({ module: hello, args: [String(i)] }).wait();
    localLat.push(performance.now() - t);
  }
  await local.close();

  for (let i = 0; i < 2; i++) {
    const proc = spawn(process.execPath, [wtmBin, 'worker', '--queue', server.url, '--concurrency', String(SLOTS)], { env: { ...process.env, WTM_HOME: path.join(base, `w${i}`) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    workers.push(proc);
    for (let k = 0; k < 200 && !/serving/.test(err); k++) await sleep(25);
  }
  const reg = new Registry(await NatsStore.open(server.url));
  const q = await NatsTaskQueue.open(server.url, { registry: reg });
  await Promise.all(Array.from({ length: 4 * SLOTS }, () => q.submit({ module: hello }).wait()));
  t = performance.now();
  const rs = await Promise.all(Array.from({ length: N }, (_, i) => q.submit({ module: hello, args: [String(i)] }).wait()));
  const queueMs = performance.now() - t;
  const failed = rs.filter((r) => r.state !== 'success').length;
  const queueLat = [];
  for (let i = 0; i < LAT; i++) {
    t = performance.now();
    await q.submit({ module: hello, args: [String(i)] }).wait();
    queueLat.push(performance.now() - t);
  }
  await q.close();
  for (const w of workers) w.kill('SIGTERM');
  out.tasks = {
    count: N, slots: 2 * SLOTS, failed,
    inProcessPerSec: +(N / (localMs / 1000)).toFixed(0), queuePerSec: +(N / (queueMs / 1000)).toFixed(0),
    ratio: +((N / queueMs) / (N / localMs)).toFixed(2),
    latencyMs: { inProcess: +median(localLat).toFixed(2), queue: +median(queueLat).toFixed(2), added: +(median(queueLat) - median(localLat)).toFixed(2) },
  };

  // ---- 50 MB log and blob ----
  const s = reg.store;
  const big = new Uint8Array(50 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big[i] = (i * 2654435761) >>> 24;
  const mbps = (ms) => +(50 / (ms / 1000)).toFixed(0);
  t = performance.now();
  await s.putBlob('logs/bench-put', big);
  const putMs = performance.now() - t;
  t = performance.now();
  const back = await s.readBlob('logs/bench-put');
  const getMs = performance.now() - t;
  if (back.byteLength !== big.byteLength) throw new Error('log read back short');
  t = performance.now();
  for (let off = 0; off < big.length; off += 256 * 1024) await s.appendBlob('logs/bench-append', big.subarray(off, off + 256 * 1024));
  const appendMs = performance.now() - t;
  const hex = createHash('sha256').update(big).digest('hex');
  t = performance.now();
  await s.putBlob(`modules/sha256/${hex}`, big);
  const objPutMs = performance.now() - t;
  t = performance.now();
  await s.readBlob(`modules/sha256/${hex}`);
  const objGetMs = performance.now() - t;
  out.blobs50MB = {
    logPutMBps: mbps(putMs), logGetMBps: mbps(getMs), logAppend256KiBMBps: mbps(appendMs),
    objectPutMBps: mbps(objPutMs), objectGetMBps: mbps(objGetMs),
  };

  // ---- get processes with 10,000 records ----
  const lst = await LocalStore.open(path.join(base, 'local-10k'));
  const now = Date.now();
  const recs = Array.from({ length: RECORDS }, (_, i) => ({
    id: randomUUID(), moduleDigest: hex, configDigest: hex, argv: ['bench.wasm', String(i)],
    startTime: new Date(now - i * 1000).toISOString(), endTime: new Date(now - i * 1000 + 5).toISOString(),
    state: 'exited', exitCode: 0, calls: 3, logBytes: 146, wtmVersion: '0.1.0',
  }));
  for (let i = 0; i < recs.length; i += 200) await Promise.all(recs.slice(i, i + 200).map((r) => Promise.all([s.putRecord('process', r.id, r), lst.putRecord('process', r.id, r)])));
  const cli = (registry) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [wtmBin, 'get', 'processes', '--registry', registry, '-o', 'json'], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, WTM_HOME: path.join(base, 'cli') } });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(r.stderr);
    return { ms: +ms.toFixed(0), count: JSON.parse(r.stdout).length };
  };
  cli(server.url); // warm
  const natsRun = cli(server.url);
  const localRun = cli(path.join(base, 'local-10k'));
  out.getProcesses10k = { natsMs: natsRun.ms, localMs: localRun.ms, listed: natsRun.count };
  await reg.store.close();
} finally {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await server.stop();
  fs.rmSync(base, { recursive: true, force: true });
}

if (json) {
  console.log(JSON.stringify(out, null, 2));
} else {
  const t = out.tasks;
  console.log(`machine: ${out.machine.cores} cores, load ${out.machine.load.join(' ')}, node ${out.machine.node}`);
  console.log(`tasks (${t.count} x hello.wasm, ${t.slots} slots, recorded): in-process ${t.inProcessPerSec}/s, queue with 2 workers ${t.queuePerSec}/s (x${t.ratio})${t.failed ? `, ${t.failed} FAILED` : ''}`);
  console.log(`latency per task (median, one at a time): in-process ${t.latencyMs.inProcess} ms, queue ${t.latencyMs.queue} ms (+${t.latencyMs.added} ms)`);
  const b = out.blobs50MB;
  console.log(`50 MB log: put ${b.logPutMBps} MB/s, get ${b.logGetMBps} MB/s, appended in 256 KiB pieces ${b.logAppend256KiBMBps} MB/s; object store: put ${b.objectPutMBps} MB/s, get ${b.objectGetMBps} MB/s`);
  const g = out.getProcesses10k;
  console.log(`wtm get processes -o json, ${g.listed} records: nats ${g.natsMs} ms, local directory ${g.localMs} ms (CLI start-up included)`);
}
