// Process isolation for tasks (RuntimeOptions.isolation 'process', wtm run --isolation process):
// a task whose host process dies is recorded as crashed with the signal, its log kept up to its
// last flush, while the other tasks and the registry carry on. Tested with a task that kills
// its own host process (the test-only hook WTM_TEST_HOOKS=1, src/runtime/procchild.ts) and
// with one that exhausts its memory (a real V8 out-of-memory abort under the child's data limit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, Runtime } from '../dist/internal.js';
import { assertOneLineError } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guests = path.join(root, 'tests/guests');
const tmp = (p) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const wtmIn = (home, args, env = {}) => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 60000, env: { ...process.env, WTM_HOME: home, ...env } });

test('isolation: a task that kills its host process is crashed with the signal; its neighbours and the registry carry on', () => {
  const home = tmp('wtm-iso-home-');
  const work = tmp('wtm-iso-work-');
  fs.copyFileSync(path.join(guests, 'crash_host.wasm'), path.join(work, 'crash_host.wasm'));
  // task-0 kills its host process; task-1 and task-2 sleep 800 ms and print.
  const r = wtmIn(home, ['run', '--isolation', 'process', '--max-tasks', '3', '--dir', `${work}:/data`, path.join(root, 'examples/fanout.wasm'), '/data/crash_host.wasm', '3'], { WTM_TEST_HOOKS: '1' });
  assert.match(r.stdout, /fanout: 3 tasks done, 1 failed/, r.stderr);
  const results = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const crashed = results.find((x) => x.state === 'crashed');
  assert.ok(crashed, r.stdout);
  assert.equal(crashed.signal, 'SIGKILL');
  assert.equal(crashed.exit_code, 128 + 9);
  assert.deepEqual(results.filter((x) => x.state === 'success').map((x) => x.stdout).sort(), ['task-1 slept 800\n', 'task-2 slept 800\n']);
  // The registry: crashed with the signal, in text and JSON.
  const tasks = wtmIn(home, ['get', 'tasks']);
  assert.match(tasks.stdout, new RegExp(`${crashed.process_id}\\s+\\S+\\s+crashed \\(SIGKILL\\)\\s+137`));
  const json = JSON.parse(wtmIn(home, ['get', 'processes', '-o', 'json']).stdout);
  const rec = json.find((p) => p.id === crashed.process_id);
  assert.equal(rec.state, 'crashed');
  assert.equal(rec.signal, 'SIGKILL');
  assert.equal(json.filter((p) => p.state === 'exited').length, 3, 'the main process and the two neighbours');
  // Its log holds what it wrote before its host died (flushed at most 100 ms before), and says it is cut.
  const logs = wtmIn(home, ['logs', crashed.process_id]);
  assert.equal(logs.status, 0);
  assert.equal(logs.stdout, 'alive\n');
  assert.match(logs.stderr, /cut short .*host process crashed/);
  const rp = wtmIn(home, ['replay', crashed.process_id]);
  assert.equal(rp.stdout, 'alive\n');
  assert.match(rp.stderr, /the log ends here \(the task's host process crashed\)/);
});

test('isolation: a task that exhausts its memory aborts only its own process (SIGABRT); the runtime runs on', async () => {
  const home = tmp('wtm-iso-home-');
  const registry = await Registry.open(home);
  // 256 MiB of data per child process: memhog grows its memory past it, and V8 aborts.
  const rt = new Runtime({ isolation: 'process', registry, maxConcurrency: 2, processMemoryLimitBytes: 256 * 2 ** 20 });
  try {
    const hog = rt.spawn({ module: path.join(guests, 'memhog.wasm') });
    const neighbour = rt.spawn({ module: path.join(guests, 'crash_host.wasm'), args: ['sleep', '300'] });
    const h = await hog.wait();
    assert.equal(h.state, 'crashed', h.error);
    assert.equal(h.signal, 'SIGABRT');
    assert.equal(h.exitCode, 134);
    const n = await neighbour.wait();
    assert.equal(n.state, 'success');
    assert.equal(Buffer.from(n.stdout).toString(), 'slept 300\n');
    const rec = await registry.getProcess(hog.id);
    assert.equal(rec.state, 'crashed');
    assert.equal(rec.signal, 'SIGABRT');
    // A fresh child takes the next task.
    const after = await rt.spawn({ module: path.join(root, 'examples/hello.wasm') }).wait();
    assert.equal(after.state, 'success');
  } finally {
    await rt.close();
  }
});

test('isolation: the kill hook is for tests only; timeouts stop a task in a child process', async () => {
  const rt = new Runtime({ isolation: 'process', maxConcurrency: 1 });
  const saved = process.env.WTM_TEST_HOOKS;
  delete process.env.WTM_TEST_HOOKS;
  try {
    const r = await rt.spawn({ module: path.join(guests, 'crash_host.wasm'), args: ['SIGKILL'], timeoutMs: 1500 }).wait();
    assert.equal(r.state, 'timeout', r.error);
    assert.match(Buffer.from(r.stdout).toString(), /^alive\nWTM-TEST-KILL-HOST-PROCESS:SIGKILL\n$/);
  } finally {
    if (saved !== undefined) process.env.WTM_TEST_HOOKS = saved;
    await rt.close();
  }
});

test('isolation: --isolation takes thread or process, and --help says so', () => {
  const home = tmp('wtm-iso-home-');
  assertOneLineError(wtmIn(home, ['run', '--isolation', 'vm', path.join(root, 'examples/hello.wasm')]), 2, /--isolation vm: expected thread or process/);
  assert.match(wtmIn(home, ['run', '--help']).stdout, /--isolation thread\|process/);
  assert.throws(() => new Runtime({ isolation: 'vm' }), /isolation must be/);
});
