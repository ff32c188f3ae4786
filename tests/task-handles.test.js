// Task mounts travel as handles: a guest that swaps a shared directory for a link right after
// task_submit changes nothing for the task (containment finding 1), and every handle is closed
// exactly once (the process's fd count comes back to where it was).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, Runtime } from '../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));
const wtm = path.join(root, 'bin/wtm.js');
const text = (b) => Buffer.from(b).toString('utf8');

/** A directory W (holding swap.wasm and d/marker) and a canary beside it, outside every mount. */
function swapScene() {
  const base = tmp('swap');
  const w = path.join(base, 'w');
  fs.mkdirSync(path.join(w, 'd'), { recursive: true });
  fs.writeFileSync(path.join(w, 'd', 'marker'), 'ORIGINAL');
  fs.copyFileSync(guest('swap'), path.join(w, 'swap.wasm'));
  const canary = path.join(base, 'canary.txt');
  fs.writeFileSync(canary, 'SECRET-CANARY');
  // The canary as a path from the host's `/`: what the planted link would reach if followed.
  return { base, w, canary, secret: fs.realpathSync(canary).slice(1) };
}

function checkScene(s, out) {
  assert.match(out, /marker: ORIGINAL/, out);
  assert.match(out, /\/m: marker\\/, out); // the child listed the original directory: its marker only
  assert.match(out, /secret: errno 44/, out); // NOENT: /m is not the host's /
  assert.match(out, /write beside the secret: refused/, out);
  assert.doesNotMatch(out, /SECRET-CANARY|\/m: .*\b(etc|proc|usr)\b/, out);
  assert.equal(fs.readFileSync(s.canary, 'utf8'), 'SECRET-CANARY');
  assert.deepEqual(fs.readdirSync(s.base).sort(), ['canary.txt', 'w']);
  // The planted link is there, and the child wrote into the directory that was shared.
  assert.ok(fs.lstatSync(path.join(s.w, 'd')).isSymbolicLink());
  assert.equal(fs.readFileSync(path.join(s.w, 'd.moved', 'child-was-here'), 'utf8'), 'child');
}

for (const [name, args, maxTasks] of [
  ['right after task_submit', ['attack'], 2],
  ['while the task waits in the queue behind --max-tasks 1', ['attack', 'queued'], 1],
  ['by a task that started the task', ['middle'], 3],
  ['by a task, the task queued behind a sleeping one', ['middle', 'queued'], 2],
]) {
  test(`a shared directory swapped for a link to / ${name}: the task still sees the directory that was checked`, () => {
    const s = swapScene();
    const home = tmp('home');
    const [mode, ...rest] = args;
    const r = spawnSync(process.execPath, [wtm, 'run', '--no-host', '--max-tasks', String(maxTasks), '--dir', `${s.w}:/w`, guest('swap'), mode, '/w', s.secret, ...rest],
      { encoding: 'utf8', timeout: 60000, env: { ...process.env, WTM_HOME: home } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /submit 0, rename 0, symlink 0/, r.stdout);
    assert.doesNotMatch(r.stderr, /deadlock/);
    checkScene(s, r.stdout);
  });
}

const fdCount = () => fs.readdirSync('/proc/self/fd').length;

/** The process's open fds and what each names. */
function openFds() {
  const out = new Map();
  for (const n of fs.readdirSync('/proc/self/fd')) {
    try {
      out.set(n, fs.readlinkSync(`/proc/self/fd/${n}`));
    } catch {
      // closed meanwhile (the listing's own fd)
    }
  }
  return out;
}

/** The fds open now that were not open (to the same thing) in `before`. */
function leftOpen(before) {
  return [...openFds()].filter(([n, t]) => before.get(n) !== t).map(([n, t]) => `${n} -> ${t}`).join(', ');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The fd count once it has come down to `target` (or stopped changing): stopped workers release their loop's fds a little later. */
async function settleFds(target) {
  const deadline = Date.now() + 10000;
  let last = -1;
  for (;;) {
    const n = fdCount();
    if ((target !== undefined && n <= target) || (target === undefined && n === last) || Date.now() > deadline) return n;
    last = n;
    await sleep(100);
  }
}

test('every handle is closed once: the fd count returns to its baseline after shared mounts, cancels, refusals and timeouts', { skip: !fs.existsSync('/proc/self/fd') }, async () => {
  // Warm up once (the first worker start may open fds for good), then take the baseline.
  const warm = new Runtime({ tasksDir: tmp('tasks') });
  await warm.spawn({ module: path.join(root, 'examples/hello.wasm') }).wait();
  await warm.close();
  const baseline = await settleFds();
  const before = openFds();

  const registry = await Registry.open(tmp('home'));
  const rt = new Runtime({ registry, maxConcurrency: 2, maxTasksPerTree: 6, maxTaskDepth: 2 });
  let most = 0;
  const sample = setInterval(() => (most = Math.max(most, fdCount())), 20);
  try {
    // Guest-shared mounts, with the swap attack.
    for (const queued of [false, true]) {
      const s = swapScene();
      const r = await rt.run({ module: guest('swap'), args: ['attack', '/w', s.secret, ...(queued ? ['queued'] : [])], mounts: [{ host: s.w, guest: '/w' }], stdout: 'pipe' });
      assert.equal(r.exitCode, 0, text(r.stdout));
      checkScene(s, text(r.stdout));
    }
    // Each copy shares its directory with its own copies: refused by the tree's limits (AGAIN,
    // PERM), cancelled when their parent ends, cancelled while queued.
    const w = tmp('bomb');
    fs.copyFileSync(guest('bomb'), path.join(w, 'bomb.wasm'));
    for (const mode of ['flood', 'exit', 'orphan']) {
      const r = await rt.run({ module: guest('bomb'), args: ['/w/bomb.wasm', mode], mounts: [{ host: w, guest: '/w', readonly: true }], stdout: 'pipe' });
      assert.equal(r.exitCode, 7, `${mode}: ${text(r.stdout)} ${r.error ?? ''}`);
    }
    // Timeouts and cancels of tasks holding directories and files open, on mounts the runner opened.
    const holds = [];
    for (let i = 0; i < 3; i++) holds.push(rt.spawn({ module: guest('hold'), args: ['/w'], mounts: [{ host: tmp('hold'), guest: '/w' }], timeoutMs: 1500 }));
    const cancelled = rt.spawn({ module: guest('hold'), args: ['/w'], mounts: [{ host: tmp('hold'), guest: '/w' }] });
    setTimeout(() => cancelled.cancel(), 1500);
    for (const h of holds) assert.equal((await h.wait()).state, 'timeout');
    assert.equal((await cancelled.wait()).state, 'cancelled');
    // A task that times out while its own tasks hold shared handles.
    const parent = await rt.spawn({ module: guest('bomb'), args: ['/w/bomb.wasm', 'orphan'], mounts: [{ host: w, guest: '/w', readonly: true }], timeoutMs: 300 }).wait();
    assert.equal(parent.state, 'timeout');
  } finally {
    clearInterval(sample);
    await rt.close();
  }
  const after = await settleFds(baseline);
  console.log(`# fd count: baseline ${baseline}, at most ${most} while tasks ran, ${after} after close`);
  assert.ok(after <= baseline, `${after - baseline} fds left open: ${leftOpen(before)}`);
});
