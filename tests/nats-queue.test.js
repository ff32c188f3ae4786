// Tasks through a queue on NATS JetStream served by real `wtm worker` processes, against a
// real nats-server started here (tests/nats-server.js).
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NatsStore, NatsTaskQueue, Registry } from '../dist/internal.js';
import { attemptProcessId } from '../dist/runtime/nats-queue.js';
import { natsMissing, startNats } from './nats-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtmBin = path.join(root, 'bin/wtm.js');
const hello = path.join(root, 'examples/hello.wasm');
const nap = path.join(root, 'tests/guests/nap.wasm');
const tmp = (p) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${p}-`));
const dec = (b) => new TextDecoder().decode(b);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('a task queue on NATS JetStream with wtm workers', { skip: natsMissing, timeout: 240_000 }, () => {
  let server;
  let reg;
  let queue;
  const workers = new Set();
  /** A `wtm worker` process: { proc, id (host/worker id, once it said so), exited }. */
  const startWorker = async (concurrency = 2) => {
    const proc = spawn(process.execPath, [wtmBin, 'worker', '--queue', server.url, '--concurrency', String(concurrency), '--ack-wait', '2s'], {
      env: { ...process.env, WTM_HOME: tmp('worker-home') }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    const w = { proc, stderr: '', exited: new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal }))) };
    workers.add(w);
    proc.stderr.on('data', (d) => (w.stderr += d));
    for (let i = 0; i < 600 && !/serving .* as (\S+)/.test(w.stderr); i++) await sleep(25);
    const m = /serving .* as (\S+)/.exec(w.stderr);
    assert.ok(m, `the worker did not start: ${w.stderr}`);
    w.id = m[1];
    return w;
  };
  const stopWorker = async (w, signal = 'SIGTERM') => {
    if (w.proc.exitCode === null && w.proc.signalCode === null) process.kill(w.proc.pid, signal);
    workers.delete(w);
    return w.exited;
  };
  /** Process records of the shared registry whose argv[2] (nap) or argv[1] (hello) is `tag`. */
  const recordsTagged = async (tag) => (await reg.listProcesses()).filter((r) => r.argv.includes(tag));

  before(async () => {
    server = await startNats();
    reg = new Registry(await NatsStore.open(server.url));
    queue = await NatsTaskQueue.open(server.url, { registry: reg });
  });
  beforeEach(async () => {
    // A test that failed may have left its workers: they would take the next test's tasks.
    for (const w of [...workers]) await stopWorker(w, 'SIGKILL');
  });
  after(async () => {
    for (const w of [...workers]) await stopWorker(w, 'SIGKILL');
    await queue?.close();
    await reg?.store.close();
    await server?.stop();
  });

  it('two workers share one queue: 200 tasks, each run exactly once, each record naming its worker', async () => {
    const a = await startWorker(2);
    const b = await startWorker(2);
    const handles = [];
    for (let i = 0; i < 200; i++) handles.push(queue.submit({ module: hello, args: [`t200-${i}`] }));
    const results = await Promise.all(handles.map((h) => h.wait()));
    for (const [i, r] of results.entries()) {
      assert.equal(r.state, 'success', r.error);
      assert.equal(dec(r.stdout), `hello from wasm t200-${i}\n`);
      assert.equal(r.id, handles[i].id);
    }
    const byWorker = new Map();
    for (const r of results) byWorker.set(`${r.worker.host}/${r.worker.id}`, (byWorker.get(`${r.worker.host}/${r.worker.id}`) ?? 0) + 1);
    assert.deepEqual([...byWorker.keys()].sort(), [a.id, b.id].sort(), 'both workers took tasks');
    // Exactly once: one process record per task, all exited, each with its worker.
    const recs = (await reg.listProcesses()).filter((r) => r.argv[1]?.startsWith('t200-'));
    assert.equal(recs.length, 200);
    assert.equal(new Set(recs.map((r) => r.argv[1])).size, 200);
    for (const r of recs) {
      assert.equal(r.state, 'exited');
      assert.ok([a.id, b.id].includes(`${r.worker.host}/${r.worker.id}`));
    }
    // get processes -o json shows the worker; a task recorded by a worker replays in another process.
    const env = { ...process.env, WTM_HOME: tmp('client') };
    const listed = JSON.parse(spawnSync(process.execPath, [wtmBin, 'get', 'processes', '--registry', server.url, '-o', 'json'], { encoding: 'utf8', env }).stdout);
    const one = listed.find((r) => r.argv[1] === 't200-7');
    assert.equal(`${one.worker.host}/${one.worker.id}`, `${results[7].worker.host}/${results[7].worker.id}`);
    const replay = spawnSync(process.execPath, [wtmBin, 'replay', one.id, '--registry', server.url], { encoding: 'utf8', env });
    assert.equal(replay.status, 0, replay.stderr);
    assert.equal(replay.stdout, 'hello from wasm t200-7\n');
    await stopWorker(a);
    await stopWorker(b);
  });

  it('a worker killed mid-task: the task is delivered again and finished by the other', async () => {
    const a = await startWorker(1);
    const h = queue.submit({ module: nap, args: ['1500', 'killed-mid'] });
    let first;
    for (let i = 0; i < 600 && !first; i++) {
      first = (await recordsTagged('killed-mid'))[0];
      if (!first) await sleep(25);
    }
    assert.ok(first, `the task started: ${a.stderr}`);
    assert.equal(`${first.worker.host}/${first.worker.id}`, a.id);
    const b = await startWorker(1);
    await stopWorker(a, 'SIGKILL');
    const r = await h.wait();
    assert.equal(r.state, 'success', r.error);
    assert.equal(dec(r.stdout), 'napped killed-mid\n');
    assert.equal(`${r.worker.host}/${r.worker.id}`, b.id);
    assert.notEqual(r.processId, first.id, 'the second run has a process of its own');
    assert.equal(r.processId, attemptProcessId(first.id, 2), 'named after the task and the attempt');
    const runs = await recordsTagged('killed-mid');
    assert.equal(runs.filter((x) => x.state === 'exited').length, 1, 'it finished once');
    // The first attempt's record as stored (not as read on this machine, where its dead pid
    // already reads as interrupted): the worker of the second marked it, naming its successor.
    const stored = await reg.getStoredProcess(first.id);
    assert.equal(stored.state, 'interrupted');
    assert.match(stored.error, new RegExp(`worker ${a.id} stopped answering; the task was delivered again and ran as process ${r.processId} \\(attempt 2\\)`));
    await stopWorker(b);
  });

  it('SIGTERM drains a worker: it finishes what it holds, takes nothing new, exits 0', async () => {
    const a = await startWorker(1);
    const held = queue.submit({ module: nap, args: ['800', 'drain-held'] });
    for (let i = 0; i < 600 && (await recordsTagged('drain-held')).length === 0; i++) await sleep(25);
    assert.equal((await recordsTagged('drain-held')).length, 1, `the held task started: ${a.stderr}`);
    const later = queue.submit({ module: hello, args: ['drain-later'] });
    const exit = await stopWorker(a, 'SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, a.stderr);
    assert.match(a.stderr, /draining/);
    const r = await held.wait();
    assert.equal(r.state, 'success', r.error);
    assert.equal(`${r.worker.host}/${r.worker.id}`, a.id);
    assert.equal((await recordsTagged('drain-later')).length, 0, 'the drained worker took no new task');
    const b = await startWorker(1);
    const r2 = await later.wait();
    assert.equal(dec(r2.stdout), 'hello from wasm drain-later\n');
    assert.equal(`${r2.worker.host}/${r2.worker.id}`, b.id);
    await stopWorker(b);
  });

  it('host directory mounts are refused for remote tasks, in one line', () => {
    assert.throws(() => queue.submit({ module: hello, mounts: [{ host: '/etc', guest: '/etc' }] }), /a host directory cannot follow a task to another machine/);
  });

  it('wtm run --queue: the tasks a guest starts run on the workers', async () => {
    const w = await startWorker(2);
    const home = tmp('run-home');
    // The module path is the guest's (the main process sees the host's /): its bytes travel.
    const r = spawnSync(process.execPath, [wtmBin, 'run', '--queue', server.url, path.join(root, 'examples/fanout.wasm'), hello, '3'], { encoding: 'utf8', env: { ...process.env, WTM_HOME: home } });
    assert.equal(r.status, 0, r.stderr);
    for (let i = 0; i < 3; i++) assert.match(r.stdout, new RegExp(`hello from wasm task-${i}`));
    const main = /process ([0-9a-f-]{36})/.exec(r.stderr)[1];
    const tasks = JSON.parse(spawnSync(process.execPath, [wtmBin, 'get', 'tasks', '--registry', server.url, '-o', 'json'], { encoding: 'utf8', env: { ...process.env, WTM_HOME: home } }).stdout)
      .filter((t) => t.parentId === main);
    assert.equal(tasks.length, 3);
    for (const t of tasks) assert.equal(`${t.worker.host}/${t.worker.id}`, w.id);
    await stopWorker(w);
  });
});
