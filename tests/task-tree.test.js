// Task trees are bounded (tasks alive, depth), a process that ends cancels the tasks it left,
// a deadlock of the slots ends with a message, and task directories live with the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, Runtime } from '../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bomb = path.join(root, 'tests/guests/bomb.wasm');
const hello = path.join(root, 'examples/hello.wasm');
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));
const wtm = path.join(root, 'bin/wtm.js');
const text = (b) => Buffer.from(b).toString('utf8');
const cli = (env, args) => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 120000, env: { ...process.env, ...env } });

const bounds = path.join(root, 'tests/guests/bounds.wasm');

/** A directory holding bomb.wasm, shared read-only by every copy at /w. */
function bombDir() {
  const w = tmp('bomb');
  fs.copyFileSync(bomb, path.join(w, 'bomb.wasm'));
  return w;
}

// --max-tasks is given so that the trees do not depend on the machine's number of cores.
for (const [mode, flags, message] of [
  ['exit', ['--max-tasks', '2'], /the main process ended and left 2 tasks queued or running: cancelled/],
  ['sleep', ['--max-tasks', '2'], /the main process ended and left 2 tasks queued or running: cancelled/],
  ['wait', ['--max-tasks', '2'], /a deadlock\): the tree's queued tasks were cancelled/],
  ['wait', ['--max-tasks', '6'], /a deadlock\): the tree's queued tasks were cancelled/],
  ['flood', ['--max-tasks', '2', '--max-tasks-per-tree', '100'], /the task tree reached 100 tasks alive \(queued, running, or with a result not yet collected\): further task_submit calls answer AGAIN/],
]) {
  test(`a fork bomb (${mode} ${flags.join(' ')}) under wtm run --no-host ends in bounded time with one clear line`, () => {
    const home = tmp('home');
    const started = Date.now();
    const r = cli({ WTM_HOME: home }, ['run', '--no-host', ...flags, '--dir', `${bombDir()}:/w:ro`, bomb, '/w/bomb.wasm', mode]);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.status, 7, r.stdout + r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.split('\n').filter((l) => message.test(l)).length, 1, r.stderr);
    const procs = JSON.parse(cli({ WTM_HOME: home }, ['get', 'processes', '-o', 'json']).stdout);
    const tasks = procs.filter((p) => p.parentId);
    const dirs = fs.readdirSync(path.join(home, 'tasks'));
    console.log(`# bomb ${mode} ${flags.join(' ')}: ended in ${seconds.toFixed(1)} s, ${tasks.length} task records `
      + `(${tasks.filter((t) => t.state === 'cancelled').length} cancelled), ${dirs.length} task directories`);
    assert.ok(seconds < 30, `took ${seconds} s`);
    // Nothing left running, every task recorded with its end, and at most one tree's worth.
    assert.deepEqual(procs.filter((p) => p.state === 'running' || !p.endTime), []);
    assert.ok(tasks.length >= 2 && tasks.length <= 2048, `${tasks.length} task records`);
    assert.ok(dirs.length <= tasks.length, `${dirs.length} directories for ${tasks.length} tasks`);
    for (const d of dirs) assert.ok(tasks.some((t) => t.id === d), `directory ${d} has no record`);
  });
}

test('tree limits through real guests: AGAIN at the tasks-alive limit, PERM past the depth limit, each reported once', async () => {
  const events = [];
  const rt = new Runtime({ tasksDir: tmp('tasks'), maxTasksPerTree: 5, maxTaskDepth: 1 });
  try {
    const r = await rt.run({ module: bomb, args: ['/w/bomb.wasm', 'flood'], mounts: [{ host: bombDir(), guest: '/w', readonly: true }], stdout: 'pipe', onTaskEvent: (e) => events.push(e) });
    assert.equal(r.exitCode, 7, r.error);
    assert.match(text(r.stdout), /level 0: flood submitted 5, then errno 6\n/);
    assert.deepEqual(events.filter((e) => e.kind === 'limit').sort((a, b) => a.limit.localeCompare(b.limit)),
      [{ kind: 'limit', limit: 'depth', value: 1 }, { kind: 'limit', limit: 'tasks', value: 5 }]);
    // A chain of tasks stops at the depth limit: the deepest level is refused with PERM.
    for (const [depth, code] of [[3, 103], [undefined, 108]]) {
      const chainRt = new Runtime({ tasksDir: tmp('tasks'), maxConcurrency: 9, ...(depth ? { maxTaskDepth: depth } : {}) });
      try {
        const c = await chainRt.run({ module: bomb, args: ['/w/bomb.wasm', 'chain'], mounts: [{ host: bombDir(), guest: '/w', readonly: true }], stdout: 'pipe' });
        assert.equal(c.exitCode, code, text(c.stdout));
        assert.match(text(c.stdout), new RegExp(`chain: code ${code}, submit errno at level 0: 0`));
      } finally {
        await chainRt.close();
      }
    }
  } finally {
    await rt.close();
  }
});

test('a process that ends cancels the tasks it left queued or running; each is recorded, naming it', async () => {
  const home = tmp('home');
  const registry = await Registry.open(home);
  const rt = new Runtime({ registry, maxConcurrency: 2 });
  const events = [];
  try {
    // The main process: three spinning tasks (two running, one queued) left behind.
    const started = Date.now();
    const r = await rt.run({ module: bomb, args: ['/w/bomb.wasm', 'orphan'], mounts: [{ host: bombDir(), guest: '/w', readonly: true }], stdout: 'pipe', onTaskEvent: (e) => events.push(e) });
    assert.equal(r.exitCode, 7, r.error);
    assert.equal(r.cancelledTasks, 3);
    assert.deepEqual(events, [{ kind: 'cancelled', count: 3 }]);
    assert.ok(Date.now() - started < 20000);
    const children = (await registry.listProcesses()).filter((p) => p.parentId === r.processId);
    assert.equal(children.length, 3);
    for (const c of children) {
      assert.equal(c.state, 'cancelled');
      assert.equal(c.exitCode, 130);
      assert.ok(c.endTime);
    }
    assert.equal(rt.tasks.list().filter((t) => t.state === 'running' || t.state === 'queued').length, 0);
    // A task does the same: its own tasks end with it.
    const task = await rt.spawn({ module: bomb, args: ['/w/bomb.wasm', 'orphan', '1'], mounts: [{ host: bombDir(), guest: '/w', readonly: true }] }).wait();
    assert.equal(task.state, 'success', task.error);
    const grandchildren = (await registry.listProcesses()).filter((p) => p.parentId === task.id);
    assert.equal(grandchildren.length, 3);
    assert.ok(grandchildren.every((g) => g.state === 'cancelled' && g.exitCode === 130));
    const results = rt.tasks.list().filter((t) => t.spec.parentId === task.id);
    assert.equal(results.length, 3);
    assert.ok(results.every((t) => t.state === 'cancelled'));
  } finally {
    await rt.close();
  }
});

test('every slot held by a task waiting for a queued task: the tree\'s queued tasks are cancelled, with the reason', async () => {
  const events = [];
  const rt = new Runtime({ tasksDir: tmp('tasks'), maxConcurrency: 1 });
  try {
    const r = await rt.run({ module: bomb, args: ['/w/bomb.wasm', 'wait'], mounts: [{ host: bombDir(), guest: '/w', readonly: true }], stdout: 'pipe', onTaskEvent: (e) => events.push(e) });
    assert.equal(r.exitCode, 7, r.error);
    assert.deepEqual(events, [{ kind: 'deadlock', slots: 1 }]);
    const cancelled = rt.tasks.list().filter((t) => t.state === 'cancelled');
    assert.ok(cancelled.length >= 2, JSON.stringify(rt.tasks.list().map((t) => t.state)));
    const results = await Promise.all(cancelled.map((t) => rt.tasks.wait(t.id)));
    assert.ok(results.every((x) => /a deadlock of its task tree/.test(x.error)), results.map((x) => x.error).join('\n'));
  } finally {
    await rt.close();
  }
});

test('task directories live with the registry; without one, in a temporary directory removed by close(); nothing under HOME', () => {
  const home = tmp('emptyhome');
  const reg = path.join(tmp('reg'), 'registry');
  const work = tmp('work');
  fs.copyFileSync(hello, path.join(work, 'hello.wasm'));
  const env = { HOME: home, WTM_HOME: '' };
  const r = cli(env, ['run', '--no-host', '--registry', reg, '--dir', `${work}:/work`, path.join(root, 'examples/fanout.wasm'), '/work/hello.wasm', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.readdirSync(path.join(reg, 'tasks')).length, 2);
  // --no-record: a temporary directory, gone when wtm ends. A TMPDIR of its own: other test
  // files run wtm at the same time, making and removing theirs in the shared one.
  const ownTmp = tmp('tmpdir');
  const nr = cli({ ...env, TMPDIR: ownTmp }, ['run', '--no-host', '--no-record', '--dir', `${work}:/work`, path.join(root, 'examples/fanout.wasm'), '/work/hello.wasm', '2']);
  assert.equal(nr.status, 0, nr.stderr);
  assert.match(nr.stdout, /fanout: 2 tasks done, 0 failed/);
  assert.deepEqual(fs.readdirSync(ownTmp), []);
  // The library: no registry, no tasksDir.
  const script = `
    import fs from 'node:fs';
    import { Runtime, Registry } from ${JSON.stringify(path.join(root, 'dist/index.js'))};
    const rt = new Runtime();
    const r = await rt.spawn({ module: ${JSON.stringify(hello)} }).wait();
    const existed = fs.existsSync(r.root);
    await rt.close();
    const withReg = new Runtime({ registry: await Registry.open(${JSON.stringify(reg)}) });
    console.log(JSON.stringify({ state: r.state, root: r.root, existed, gone: !fs.existsSync(r.root), regTasks: withReg.tasksDir }));
    await withReg.close();`;
  const file = path.join(tmp('script'), 'lib.mjs');
  fs.writeFileSync(file, script);
  const lib = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000 });
  assert.equal(lib.status, 0, lib.stderr);
  const out = JSON.parse(lib.stdout);
  assert.equal(out.state, 'success');
  assert.ok(out.root.startsWith(os.tmpdir()), out.root);
  assert.ok(out.existed && out.gone);
  assert.equal(out.regTasks, path.join(reg, 'tasks'));
  assert.deepEqual(fs.readdirSync(home), []);
});

// A guest names a task's module as it names its own files: a relative path lands in its `.`
// preopen (the directory wtm was run in), so the README's fanout example works from the
// repository with relative paths; without a `.` preopen (--no-host) it is INVAL, as before.
test('a relative module path in a task spec is found in the current directory', () => {
  const work = tmp('relmod');
  fs.mkdirSync(path.join(work, 'mods'));
  fs.copyFileSync(hello, path.join(work, 'mods', 'hello.wasm'));
  fs.copyFileSync(path.join(root, 'examples/fanout.wasm'), path.join(work, 'fanout.wasm'));
  const run = (args) => spawnSync(process.execPath, [wtm, 'run', '--no-record', ...args], { encoding: 'utf8', input: '', timeout: 120000, cwd: work });
  const r = run(['fanout.wasm', 'mods/hello.wasm', '2']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /hello from wasm task-0/);
  assert.match(r.stdout, /fanout: 2 tasks done, 0 failed/);
  const up = run(['fanout.wasm', './mods/../mods/hello.wasm', '1']);
  assert.match(up.stdout, /fanout: 1 tasks done, 0 failed/, up.stdout + up.stderr);
  const noHost = run(['--no-host', '--dir', `${work}:/w`, 'fanout.wasm', 'mods/hello.wasm', '1']);
  assert.match(noHost.stdout, /submit 0 failed: errno 28/, noHost.stdout + noHost.stderr);
});

// What one untrusted guest may hold of the host's shared resources (found by an outsider's
// attack: one task took every fd of the process, uncollected results and huge specs took
// gigabytes of memory).
test('a guest holds at most --max-open-files fds (MFILE past it); the main process and its tasks go on', () => {
  const w = tmp('bounds');
  const r = cli({ WTM_HOME: tmp('home') }, ['run', '--no-host', '--no-record', '--max-open-files', '50', '--dir', `${w}:/w`, bounds, 'fds', '/w']);
  assert.equal(r.status, 0, r.stderr);
  // stdio and the preopen take 4 of the 50.
  assert.match(r.stdout, /^fds 46 MFILE$/m);
  const dflt = cli({ WTM_HOME: tmp('home') }, ['run', '--no-host', '--no-record', '--dir', `${w}:/w`, bounds, 'fds', '/w']);
  assert.match(dflt.stdout, /^fds 1020 MFILE$/m);
});

test('a task whose result was not collected still counts against the tree; collecting frees its place', () => {
  const w = tmp('bounds');
  fs.copyFileSync(bounds, path.join(w, 'bounds.wasm'));
  const r = cli({ WTM_HOME: tmp('home') }, ['run', '--no-host', '--no-record', '--max-tasks-per-tree', '5', '--dir', `${w}:/w`, bounds, 'zombies', '/w/bounds.wasm', '/w']);
  assert.equal(r.status, 0, r.stderr);
  // AGAIN (6) at 5 alive, still AGAIN once all five ended uncollected, 0 after one is collected.
  assert.match(r.stdout, /^zombies 5 again=6 after_end=6 collected=0 after_collect=0$/m);
});

test('task specs are bounded: 1 MiB of JSON, 64 shared directories each, 1024 shared directories per tree (2BIG, AGAIN)', () => {
  const w = tmp('bounds');
  fs.copyFileSync(bounds, path.join(w, 'bounds.wasm'));
  const specs = cli({ WTM_HOME: tmp('home') }, ['run', '--no-host', '--no-record', '--dir', `${w}:/w`, bounds, 'specs', '/w/bounds.wasm', '/w']);
  assert.match(specs.stdout, /^specs big=1 mounts=1 ok=0$/m, specs.stdout + specs.stderr);
  // One slot, tasks that sleep: the queued ones hold their 64 handles each, 16 of them fill 1024.
  const started = Date.now();
  const handles = cli({ WTM_HOME: tmp('home') }, ['run', '--no-host', '--no-record', '--max-tasks', '1', '--dir', `${w}:/w`, bounds, 'handles', '/w/bounds.wasm', '/w']);
  assert.match(handles.stdout, /^handles 16 6$/m, handles.stdout + handles.stderr);
  assert.match(handles.stderr, /the task tree holds 1024 shared directories/);
  assert.ok(Date.now() - started < 30000);
});

test('poll_oneoff takes at most 65536 subscriptions (INVAL); stdout cannot be read nor stdin written (NOTCAPABLE)', () => {
  const poll = cli({ WTM_HOME: tmp('home') }, ['run', '--no-host', '--no-record', bounds, 'poll']);
  assert.match(poll.stdout, /^poll 28$/m, poll.stdout + poll.stderr);
  const stdio = cli({ WTM_HOME: tmp('home') }, ['run', '--no-host', '--no-record', bounds, 'stdio']);
  assert.match(stdio.stdout, /^stdio 76 76$/m, stdio.stdout + stdio.stderr);
});
