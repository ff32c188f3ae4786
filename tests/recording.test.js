// Never lose a recording: wtm killed at random moments, interrupted by signals, stopped by a
// full disk, a guest that opens files without end, and the limits of a main process. Each
// through the real CLI, as a user meets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);
const tmp = (what) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-rec-${what}-`));

function run(home, args, opts = {}) {
  return spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 60000, ...opts, env: { ...process.env, WTM_HOME: home } });
}

function processes(home) {
  const r = run(home, ['get', 'processes', '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Lines "N t=MS" the ticker printed, as numbers. */
function ticks(text) {
  return text.split('\n').filter((l) => /^\d+ t=\d+$/.test(l)).map((l) => ({ n: Number(l.split(' ')[0]), t: Number(l.split('=')[1]) }));
}

/** Starts `wtm run` of the ticker; resolves with what it printed once it has ended. */
function startTicker(home, extra = []) {
  const child = spawn(process.execPath, [wtm, 'run', ...extra, guest('ticker'), '5'], { env: { ...process.env, WTM_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const ended = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return { child, ended, printed: () => out };
}

/** Resolves once `printed()` holds `lines` lines (the guest runs), then waits `ms` more. */
async function whenPrinted(printed, lines, ms) {
  const until = Date.now() + 30_000;
  while (printed().split('\n').length <= lines && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, ms));
}

// A small seeded generator: the kill points are the same on every run (WTM_KILL_SEED changes them).
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32);
}

test('SIGKILL at random moments: every run that printed leaves a readable log and an interrupted record, losing at most ~250 ms', { timeout: 240_000 }, async () => {
  const trials = Number(process.env.WTM_KILL_TRIALS ?? 10);
  const random = rng(Number(process.env.WTM_KILL_SEED ?? 9));
  const home = tmp('kill');
  const report = [];
  const seen = new Set();
  for (let i = 0; i < trials; i++) {
    const at = Math.round(50 + random() * 2500);
    const t = startTicker(home);
    // Even trials count from the spawn (some land in wtm's start-up), odd ones from the guest's
    // first line: on a loaded machine start-up alone can outlast the whole range.
    if (i % 2 === 1) await whenPrinted(t.printed, 1, at);
    else await new Promise((r) => setTimeout(r, at));
    t.child.kill('SIGKILL');
    const { out } = await t.ended;
    const printed = ticks(out);
    report.push({ at, printed: printed.length });
    const recs = processes(home).filter((p) => !seen.has(p.id));
    recs.forEach((p) => { seen.add(p.id); });
    assert.ok(recs.length <= 1, `trial ${i}: at most one new record`);
    // Killed before its record was written, the guest had not started: nothing to lose.
    if (printed.length > 0) assert.equal(recs.length, 1, `trial ${i}: the guest printed, so it has a record`);
    if (recs.length === 0) continue;
    const rec = recs[0];
    report[i].id = rec.id;
    assert.equal(rec.state, 'interrupted', `trial ${i} (kill at ${at} ms)`);
    const logs = run(home, ['logs', rec.id]);
    assert.equal(logs.status, 0, logs.stderr);
    const kept = ticks(logs.stdout);
    // What the log kept is exactly the start of what was printed.
    assert.deepEqual(kept, printed.slice(0, kept.length), `trial ${i}: the log holds what the guest printed, in order`);
    const lostMs = printed.length === 0 ? 0 : printed[printed.length - 1].t - (kept.length ? kept[kept.length - 1].t : 0);
    report[i].kept = kept.length;
    report[i].lostMs = lostMs;
    // 250 ms between copies; the margin is for a loaded CI machine's timers.
    assert.ok(lostMs <= 750, `trial ${i} (kill at ${at} ms): lost ${lostMs} ms of output`);
  }
  const withLog = report.filter((r) => r.id);
  console.log(`# ${trials} kills at ${report.map((r) => r.at).join(', ')} ms; ${withLog.length} had started the guest, all interrupted with a readable log; ` +
    `lost ms: ${withLog.map((r) => r.lostMs).join(', ')} (max ${Math.max(0, ...withLog.map((r) => r.lostMs))})`);
  assert.ok(withLog.length >= Math.floor(trials / 2), 'most kills came after the guest started');
});

for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  test(`${sig} stops the guest, keeps its log, records it as interrupted and exits ${code}`, async () => {
    const home = tmp(sig.toLowerCase());
    const t = startTicker(home);
    // Once the guest runs (a loaded machine may take a while to start it), and a bit more.
    await whenPrinted(t.printed, 3, 300);
    t.child.kill(sig);
    const { code: status, out, err } = await t.ended;
    assert.equal(status, code, err);
    assert.match(err, new RegExp(`interrupted by ${sig}`));
    const [rec] = processes(home);
    assert.equal(rec.state, 'interrupted');
    assert.equal(rec.signal, sig);
    assert.equal(rec.exitCode, 130);
    const logs = run(home, ['logs', rec.id]);
    assert.equal(logs.status, 0, logs.stderr);
    // Nothing printed is missing: the worker was stopped first, then its last records saved.
    assert.deepEqual(ticks(logs.stdout), ticks(out));
  });
}

// The record of a call is written after its effect: a stop between the two would keep a line
// on the terminal that the log does not hold. A test hook (WTM_TEST_SLOW_WRITE) holds the write
// of line 3 for 600 ms after it is printed and before it returns to the recorder; SIGTERM comes
// in that window. The stop must let the call be recorded before it ends the worker.
test('SIGTERM between a write and its record: the printed line is in the log', async () => {
  const home = tmp('gate');
  const child = spawn(process.execPath, [wtm, 'run', guest('ticker'), '5'], {
    env: { ...process.env, WTM_HOME: home, WTM_TEST_HOOKS: '1', WTM_TEST_SLOW_WRITE: '3 t=' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const ended = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const until = Date.now() + 30_000;
  while (!/^3 t=/m.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGTERM');
  assert.equal(await ended, 143, err);
  assert.match(out, /^3 t=/m, 'line 3 was printed');
  const [rec] = processes(home);
  assert.equal(rec.state, 'interrupted');
  const logs = run(home, ['logs', rec.id]);
  assert.equal(logs.status, 0, logs.stderr);
  assert.deepEqual(ticks(logs.stdout), ticks(out));
  assert.equal(ticks(out).at(-1).n, 3, 'the guest was stopped inside the held write');
});

test('SIGINT while the guest is blocked reading stdin: wtm still ends, the record says interrupted', async () => {
  const home = tmp('stdin');
  const fifo = path.join(tmp('fifo'), 'in');
  spawnSync('mkfifo', [fifo]);
  // A writer that holds the pipe open and never writes: the guest's read blocks.
  const holder = spawn('sleep', ['60'], { stdio: ['ignore', fs.openSync(fifo, 'r+'), 'ignore'] });
  const child = spawn(process.execPath, [wtm, 'run', guest('cat_lines')], { env: { ...process.env, WTM_HOME: home }, stdio: [fs.openSync(fifo, 'r'), 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', (d) => (out += d));
  const ended = new Promise((resolve) => child.on('close', (c, s) => resolve({ c, s })));
  await whenPrinted(() => out, 1, 300); // "reading": the guest now blocks in its read
  const t0 = Date.now();
  child.kill('SIGINT');
  const { c, s } = await ended;
  holder.kill();
  assert.ok(Date.now() - t0 < 10_000, 'ends within seconds');
  assert.ok(c === 130 || s === 'SIGINT', `status ${c} signal ${s}: ${err}`);
  const [rec] = processes(home);
  assert.equal(rec.state, 'interrupted');
  assert.equal(rec.signal, 'SIGINT');
});

test('--timeout stops the guest (124, killed) and keeps everything it logged; bad limits are one-line errors', () => {
  const home = tmp('timeout');
  const r = run(home, ['run', '--timeout', '700ms', guest('ticker'), '5']);
  assert.equal(r.status, 124, r.stderr);
  assert.match(r.stderr, /timed out after 700 ms/);
  const [rec] = processes(home);
  assert.equal(rec.state, 'killed');
  const logs = run(home, ['logs', rec.id]);
  assert.deepEqual(ticks(logs.stdout), ticks(r.stdout));
  for (const [flag, value] of [['--timeout', 'soon'], ['--timeout', '0'], ['--max-memory', '1K'], ['--max-memory', '5G'], ['--max-fds', '-1']]) {
    const bad = run(home, ['run', flag, value, guest('ticker')]);
    assert.equal(bad.status, 2, `${flag} ${value}`);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, new RegExp(`${flag} ${value}`));
  }
});

test('--max-memory bounds the guest: malloc fails past it, and the replay does the same', () => {
  const home = tmp('memory');
  const r = run(home, ['run', '--max-memory', '16M', guest('memhog')]);
  assert.equal(r.status, 0, r.stderr);
  const mib = Number(/allocated (\d+) MiB/.exec(r.stdout)?.[1]);
  assert.ok(mib >= 8 && mib < 16, r.stdout);
  const [rec] = processes(home);
  const replay = run(home, ['replay', rec.id]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal(replay.stdout, r.stdout);
});

test('a guest opening files without end gets EMFILE at --max-fds and runs on; the host never runs out', () => {
  const home = tmp('fds');
  const data = tmp('data');
  fs.writeFileSync(path.join(data, 'f'), 'x');
  const r = run(home, ['run', '--no-host', '--dir', `${data}:/data`, guest('openmany'), '/data/f']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^opened 1020, then No file descriptors available\nafter one close: opens again\n$/);
  const small = run(home, ['run', '--max-fds', '64', '--no-host', '--dir', `${data}:/data`, guest('openmany'), '/data/f']);
  assert.match(small.stdout, /^opened 60, then/);
  const recs = processes(home);
  assert.ok(recs.every((p) => p.state === 'exited'));
});

test('a guest that traps before its first call still has a log, which replays to the same trap', () => {
  const home = tmp('trap');
  const wat = path.join(root, 'tests/guests/trap_first.wasm');
  const r = run(home, ['run', wat]);
  assert.equal(r.status, 134, r.stderr);
  const [rec] = processes(home);
  assert.equal(rec.state, 'trapped');
  const replay = run(home, ['replay', rec.id]);
  assert.equal(replay.status, 134, replay.stderr);
  assert.match(replay.stderr, /unreachable/);
});

/** A 2 MiB tmpfs, mounted by the test (root only): a registry that fills up. */
function smallDisk(t) {
  if (process.getuid?.() !== 0) return t.skip('needs root to mount a tmpfs'), null;
  const dir = tmp('tmpfs');
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) return t.skip(`cannot mount a tmpfs here: ${m.stderr.trim()}`), null;
  t.after(() => spawnSync('umount', ['-l', dir]));
  return dir;
}

test('a full registry disk (ENOSPC) stops the guest with one line; the record says failed and the log so far reads', (t) => {
  const home = smallDisk(t);
  if (!home) return;
  const r = run(home, ['run', guest('ticker'), '0', 'bulk'], { timeout: 60000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 1, r.stderr);
  // The guest's own stderr is lowercase letters without newlines: take them out to see wtm's lines.
  const mine = r.stderr.match(/wtm: (?!process )[^\n]*/g) ?? [];
  assert.equal(mine.length, 1, r.stderr.slice(-2000));
  assert.match(mine[0], /recording failed: .*ENOSPC.*wtm gc/);
  assert.doesNotMatch(r.stderr, /\n\s+at .*\.js:\d+/);
  const [rec] = processes(home);
  assert.equal(rec.state, 'failed');
  assert.match(rec.error, /ENOSPC/);
  const logs = run(home, ['logs', rec.id], { maxBuffer: 64 << 20 });
  assert.equal(logs.status, 0, logs.stderr.slice(-500));
  const kept = ticks(logs.stdout);
  assert.ok(kept.length > 0 && kept.every((k, i) => k.n === i), 'the log reads, from the start, in order');
});

test('guests together never take the host\'s last fds: past the shared budget they get NFILE, and recording goes on', async () => {
  const { Registry, Runtime } = await import('../dist/index.js');
  const home = tmp('budget');
  const data = tmp('budget-data');
  fs.writeFileSync(path.join(data, 'f'), 'x');
  const registry = await Registry.open(home);
  // Each guest may hold far more than the host can give all of them at once.
  const rt = new Runtime({ registry, maxOpenFiles: 1 << 20, maxConcurrency: 3 });
  try {
    const spec = { module: guest('openmany'), args: ['/data/f'], mounts: [{ host: data, guest: '/data', readonly: true }] };
    const results = await Promise.all([1, 2, 3].map(() => rt.spawn(spec).wait()));
    let total = 0;
    for (const r of results) {
      assert.equal(r.state, 'success', r.error);
      const out = new TextDecoder().decode(r.stdout);
      // After one close it may open again, or another guest may have taken that fd meanwhile.
      const m = /^opened (\d+), then (.*)\nafter one close: (opens again|Too many open files in system)\n$/.exec(out);
      assert.ok(m, out);
      total += Number(m[1]);
      // One of them meets the budget, unless an earlier one ended first and gave its fds back.
      assert.match(m[2], /Too many open files in system|No file descriptors available/);
    }
    assert.ok(total >= 1000, `the guests held ${total} fds in all`);
    // Every one was recorded, and the budget came back whole: one guest alone gets it all again.
    const recs = await registry.listProcesses();
    assert.equal(recs.filter((p) => p.state === 'exited').length, 3);
    const again = await rt.spawn(spec).wait();
    const alone = Number(/^opened (\d+)/.exec(new TextDecoder().decode(again.stdout))[1]);
    assert.ok(alone >= Math.max(...results.map((r) => Number(/^opened (\d+)/.exec(new TextDecoder().decode(r.stdout))[1]))) - 8, `alone: ${alone}`);
  } finally {
    await rt.close();
  }
});
