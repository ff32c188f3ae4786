// Task processes through the library: isolation between tasks, limits, cancel, records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeDigest } from './helpers.js';
import { Registry, Runtime } from '../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);
const hello = path.join(root, 'examples/hello.wasm');
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));
const text = (b) => Buffer.from(b).toString('utf8');


test('50 tasks at once write the same guest paths and each sees only its own data', async () => {
  const tasksDir = tmp('tasks');
  const shared = tmp('shared');
  fs.writeFileSync(path.join(shared, 'data.txt'), 'shared data\n');
  const sharedBefore = treeDigest(shared);
  const rt = new Runtime({ tasksDir, maxConcurrency: 2 });
  try {
    const handles = [];
    for (let i = 0; i < 50; i++) {
      handles.push(rt.spawn({ module: guest('task_worker'), args: [`token-${i}`], mounts: [{ host: shared, guest: '/shared', readonly: true }] }));
    }
    const results = await Promise.all(handles.map((h) => h.wait()));
    for (const [i, r] of results.entries()) {
      const out = text(r.stdout);
      assert.equal(r.state, 'success', `task ${i}: ${out} ${r.error ?? ''}`);
      assert.match(out, /own data ok/);
      assert.match(out, /entries in \/: 2/);
      assert.match(out, /shared: shared data/);
      assert.match(out, /shared is read-only/);
      // On the host: the task's directory holds exactly its own file.
      assert.deepEqual(fs.readdirSync(r.root), ['out.txt']);
      assert.equal(fs.readFileSync(path.join(r.root, 'out.txt'), 'utf8'), `token-${i}`);
      assert.equal(path.dirname(r.root), tasksDir);
    }
    // Nothing appeared beside the tasks' directories, and the shared mount is unchanged.
    assert.deepEqual(fs.readdirSync(tasksDir).sort(), results.map((r) => r.id).sort());
    assert.equal(treeDigest(shared), sharedBefore);
  } finally {
    await rt.close();
  }
});

test('the escape battery run as a task: nothing outside is read or changed', async () => {
  const { setupEscapeScenario, parseEscapeOutput } = await import('./guests/escape-scenario.mjs');
  const s = setupEscapeScenario();
  const tasksDir = tmp('tasks');
  const neighbour = path.join(tasksDir, 'neighbour');
  fs.mkdirSync(neighbour);
  fs.writeFileSync(path.join(neighbour, 'secret.txt'), 'NEIGHBOUR');
  const rt = new Runtime({ tasksDir });
  try {
    // The scenario's root is the task's `/` (named by the host, as an image root will be).
    const r = await rt.spawn({ module: guest('escape'), args: s.args, mounts: [{ host: s.root, guest: '/' }] }).wait();
    const parsed = parseEscapeOutput(text(r.stdout));
    assert.ok(parsed.attempts >= 60, `only ${parsed.attempts} attempts: ${text(r.stdout).slice(-500)} ${r.error ?? ''}`);
    assert.equal(parsed.escapes, 0, parsed.escapeLines.join('\n'));
    assert.deepEqual(s.check(), []);
    assert.deepEqual(fs.readdirSync(tasksDir), ['neighbour']);
    assert.deepEqual(fs.readdirSync(neighbour), ['secret.txt']);
    assert.equal(fs.readFileSync(path.join(neighbour, 'secret.txt'), 'utf8'), 'NEIGHBOUR');
  } finally {
    await rt.close();
    s.cleanup();
  }
});

test('a host mount cannot be widened: read-only stays read-only', async () => {
  const tasksDir = tmp('tasks');
  const ro = tmp('ro');
  fs.writeFileSync(path.join(ro, 'data.txt'), 'readonly data\n');
  fs.mkdirSync(path.join(ro, 'sub'));
  const before = treeDigest(ro);
  const rt = new Runtime({ tasksDir });
  try {
    const r = await rt.spawn({ module: guest('readonly'), args: ['/ro'], mounts: [{ host: ro, guest: '/ro', readonly: true }] }).wait();
    assert.equal(r.state, 'success', text(r.stdout).split('\n').filter((l) => l.startsWith('not ok')).join('\n'));
    assert.equal(treeDigest(ro), before);
  } finally {
    await rt.close();
  }
});

test('timeout, memory limit, trap and cancel each end one task; the others finish normally', async () => {
  const rt = new Runtime({ tasksDir: tmp('tasks'), maxConcurrency: 3 });
  try {
    const spin = rt.spawn({ module: guest('spin'), timeoutMs: 300 });
    const hog = rt.spawn({ module: guest('memhog'), memoryLimitBytes: 16 << 20 });
    const trap = rt.spawn({ module: guest('trap') });
    const toCancel = rt.spawn({ module: guest('spin') });
    const controller = new AbortController();
    const aborted = rt.spawn({ module: guest('spin') }, { signal: controller.signal });
    const normal = [];
    for (let i = 0; i < 5; i++) normal.push(rt.spawn({ module: hello, args: [String(i)] }));
    setTimeout(() => toCancel.cancel(), 200);
    setTimeout(() => controller.abort(), 200);

    const s = await spin.wait();
    assert.equal(s.state, 'timeout');
    assert.equal(s.exitCode, 124);
    const h = await hog.wait();
    assert.equal(h.state, 'success', h.error);
    const mib = Number(/allocated (\d+) MiB/.exec(text(h.stdout))[1]);
    assert.ok(mib > 0 && mib < 16, `allocated ${mib} MiB under a 16 MiB limit`);
    const t = await trap.wait();
    assert.equal(t.state, 'error');
    assert.match(t.error, /unreachable/);
    assert.equal((await toCancel.wait()).state, 'cancelled');
    assert.equal((await aborted.wait()).state, 'cancelled');
    for (const [i, n] of normal.entries()) {
      const r = await n.wait();
      assert.equal(r.state, 'success');
      assert.equal(text(r.stdout), `hello from wasm ${i}\n`);
    }
  } finally {
    await rt.close();
  }
});

test('tasks are recorded under their own ids, naming their parent, and replay on their own', async () => {
  const home = tmp('home');
  const registry = await Registry.open(home);
  const rt = new Runtime({ tasksDir: tmp('tasks'), registry });
  try {
    const parentId = crypto.randomUUID();
    const r = await rt.spawn({ module: hello, args: ['task'], parentId }).wait();
    assert.equal(r.state, 'success');
    const rec = await registry.getProcess(r.id);
    assert.equal(rec.parentId, parentId);
    assert.equal(rec.state, 'exited');
    const replay = await rt.replay({ registry, processId: r.id, stdout: 'pipe' });
    assert.equal(replay.exitCode, 0);
    assert.equal(text(replay.stdout), 'hello from wasm task\n');
  } finally {
    await rt.close();
  }
});

test('queued tasks wait for a free slot: at most maxConcurrency run at once', async () => {
  const rt = new Runtime({ tasksDir: tmp('tasks'), maxConcurrency: 2 });
  try {
    const hs = [];
    for (let i = 0; i < 6; i++) hs.push(rt.spawn({ module: guest('spin'), timeoutMs: 150 }));
    // Watched until every task ended, never slept on: the state asserted is waited for.
    const count = (state) => hs.filter((h) => h.state === state).length;
    let most = 0;
    let bothBusyWithFourWaiting = false;
    const all = Promise.all(hs.map((h) => h.wait()));
    let done = false;
    all.then(() => (done = true), () => (done = true));
    while (!done) {
      most = Math.max(most, count('running'));
      if (count('running') === 2 && count('queued') === 4) bothBusyWithFourWaiting = true;
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(bothBusyWithFourWaiting, 'two ran while four waited');
    assert.equal(most, 2, 'never more than maxConcurrency at once');
    for (const r of await all) assert.equal(r.state, 'timeout');
  } finally {
    await rt.close();
  }
});

test('a bad module is an error result, not an exception', async () => {
  const rt = new Runtime({ tasksDir: tmp('tasks') });
  try {
    const r = await rt.spawn({ module: '/nonexistent.wasm' }).wait();
    assert.equal(r.state, 'error');
    assert.match(r.error, /cannot read module/);
  } finally {
    await rt.close();
  }
});

import { spawnSync } from 'node:child_process';
const wtm = path.join(root, 'bin/wtm.js');
const cli = (home, args) => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 60000, env: { ...process.env, WTM_HOME: home } });

test('guest API: a guest starts, waits for, polls and cancels tasks, within its own access', () => {
  const home = tmp('home');
  const work = tmp('work');
  const ro = tmp('ro');
  fs.copyFileSync(hello, path.join(work, 'hello.wasm'));
  fs.copyFileSync(guest('spin'), path.join(work, 'spin.wasm'));
  const r = cli(home, ['run', '--no-host', '--max-tasks', '2', '--dir', `${work}:/work`, '--dir', `${ro}:/ro:ro`, guest('task_parent'), '/work', '/ro']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('not ok')), []);
  const parent = /wtm: process ([0-9a-f-]{36})/.exec(r.stderr)[1];
  // The tasks are recorded as children of the guest that started them.
  const procs = JSON.parse(cli(home, ['get', 'processes', '-o', 'json']).stdout);
  const children = procs.filter((p) => p.parentId === parent);
  assert.equal(children.length, 2, JSON.stringify(procs, null, 1));
  assert.match(cli(home, ['get', 'tasks']).stdout, new RegExp(parent.slice(0, 8)));
  assert.match(cli(home, ['describe', parent]).stdout, /Children: /);
  // Replaying the parent needs no task: its log holds the results it received.
  fs.rmSync(work, { recursive: true, force: true });
  const replay = cli(home, ['replay', parent]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal(replay.stdout, r.stdout);
  assert.equal(JSON.parse(cli(home, ['get', 'processes', '-o', 'json']).stdout).length, procs.length);
});

test('the fan-out example gathers the results of its tasks', () => {
  const home = tmp('home');
  const work = tmp('work');
  fs.copyFileSync(hello, path.join(work, 'hello.wasm'));
  const r = cli(home, ['run', '--no-host', '--dir', `${work}:/work`, path.join(root, 'examples/fanout.wasm'), '/work/hello.wasm', '8']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /fanout: 8 tasks done, 0 failed/);
  for (let i = 0; i < 8; i++) assert.match(r.stdout, new RegExp(`hello from wasm task-${i}\\\\n`));
});

test('wtm rm removes a task record, its log and its directory; keepTaskDirs never removes at once', async () => {
  const home = tmp('home');
  const work = tmp('work');
  fs.copyFileSync(hello, path.join(work, 'hello.wasm'));
  cli(home, ['run', '--no-host', '--dir', `${work}:/work`, path.join(root, 'examples/fanout.wasm'), '/work/hello.wasm', '2']);
  const tasks = JSON.parse(cli(home, ['get', 'tasks', '-o', 'json']).stdout);
  assert.equal(tasks.length, 2);
  const dir = path.join(home, 'tasks', tasks[0].id);
  assert.ok(fs.existsSync(dir));
  const r = cli(home, ['rm', tasks[0].id.slice(0, 8)]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!fs.existsSync(dir));
  assert.equal(JSON.parse(cli(home, ['get', 'tasks', '-o', 'json']).stdout).length, 1);
  assert.equal(cli(home, ['rm', 'ffffffff']).status, 1);

  const tasksDir = tmp('tasks');
  const rt = new Runtime({ tasksDir, keepTaskDirs: 'never' });
  try {
    const res = await rt.spawn({ module: hello }).wait();
    assert.equal(res.state, 'success');
    assert.deepEqual(fs.readdirSync(tasksDir), []);
  } finally {
    await rt.close();
  }
});

test('the task queue: wait by id, results in finishing order, serve ends when the queue closes', async () => {
  const rt = new Runtime({ tasksDir: tmp('tasks'), maxConcurrency: 2 });
  const seen = [];
  const collecting = (async () => {
    for await (const r of rt.tasks.results()) seen.push(r.id);
  })();
  const serving = rt.tasks.serve();
  const ids = [0, 1, 2].map((i) => rt.spawn({ module: hello, args: [String(i)] }).id);
  const r = await rt.tasks.wait(ids[1]);
  assert.equal(text(r.stdout), 'hello from wasm 1\n');
  await assert.rejects(rt.tasks.wait('nope'), /no task nope/);
  assert.deepEqual(rt.tasks.list().map((t) => t.id).sort(), [...ids].sort());
  await rt.close();
  await serving;
  await collecting;
  assert.deepEqual([...seen].sort(), [...ids].sort());
});
