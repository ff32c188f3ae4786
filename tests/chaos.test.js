// Fault injection (wtm run --chaos SEED[:RATE], system/chaos.ts): faults a real system can
// give, chosen by the seed alone, recorded and marked, replayed exactly; a guest that handles
// short writes survives, one that does not is caught with the call that caught it on record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChaosSystem, Errno, Filetype, FdFlags, parseChaos, Runtime } from '../dist/internal.js';
import { assertOneLineError } from './helpers.js';
import { taskChaosSeed } from '../dist/runtime/guest-tasks.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = path.join(root, 'tests/guests/chaos_io.wasm');

const tmp = (p) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const wtmIn = (home, args) => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 60000, env: { ...process.env, WTM_HOME: home } });
const processId = (stderr) => /^wtm: process (\S+)$/m.exec(stderr)[1];

/** A System stub: fd 3 a regular file, fd 4 a blocking pipe, fd 5 a non-blocking socket; fd 9 closed. */
function stub() {
  const kinds = { 0: [Filetype.CHARACTER_DEVICE, 0], 1: [Filetype.CHARACTER_DEVICE, 0], 3: [Filetype.REGULAR_FILE, 0], 4: [Filetype.UNKNOWN, 0], 5: [Filetype.SOCKET_STREAM, FdFlags.NONBLOCK] };
  let t = 1000;
  const total = (iovs) => iovs.reduce((n, b) => n + b.byteLength, 0);
  return {
    fdFdstatGet(fd, out) {
      const k = kinds[fd];
      if (!k) return Errno.BADF;
      out.filetype = k[0]; out.flags = k[1];
      return 0;
    },
    fdWrite: (fd, iovs) => (kinds[fd] ? total(iovs) : -Errno.BADF),
    fdRead: (fd, iovs) => { for (const b of iovs) b.fill(7); return kinds[fd] ? total(iovs) : -Errno.BADF; },
    fdPwrite: (_fd, iovs) => total(iovs),
    fdPread: (_fd, iovs) => total(iovs),
    fdSync: () => 0,
    fdAllocate: () => 0,
    clockTimeGet: () => (t += 10),
    pathOpen: () => 6,
    procRaise: () => 0,
  };
}

/** Drives 6000 calls through a ChaosSystem; returns what each call gave. */
function drive(seed, rate) {
  const sys = new ChaosSystem(stub(), { seed, rate });
  const out = [];
  const buf = () => [new Uint8Array(10), new Uint8Array(20)];
  for (let i = 0; i < 1000; i++) {
    for (const fd of [3, 4, 5]) {
      out.push(['write', fd, sys.fdWrite(fd, buf()), sys.injected]); sys.injected = false;
      out.push(['read', fd, sys.fdRead(fd, buf()), sys.injected]); sys.injected = false;
    }
  }
  return { out, sys };
}

test('chaos: the same seed makes the same choices; faults are ones a real system gives', () => {
  const a = drive(42, 0.2);
  const b = drive(42, 0.2);
  assert.deepEqual(a.out, b.out);
  const c = drive(43, 0.2);
  assert.notDeepEqual(a.out, c.out);
  const injected = a.out.filter((r) => r[3]);
  // About RATE of the calls (binomial, 6000 draws: far inside 0.15..0.25).
  assert.ok(injected.length > 0.15 * 6000 && injected.length < 0.25 * 6000, `${injected.length} injected`);
  for (const [kind, fd, ret, inj] of a.out) {
    if (!inj) { assert.equal(ret, 30); continue; }
    if (ret >= 0) { assert.ok(ret >= 1 && ret < 30, `short ${ret}`); continue; }
    const errno = -ret;
    if (errno === Errno.AGAIN) assert.equal(fd, 5, 'EAGAIN only on a non-blocking fd');
    if (errno === Errno.NOSPC) assert.ok(kind === 'write' && fd === 3, 'ENOSPC only on writes to files');
    if (errno === Errno.INTR) assert.notEqual(fd, 3, 'no EINTR on regular files');
    assert.ok([Errno.AGAIN, Errno.NOSPC, Errno.INTR, Errno.IO].includes(errno), `errno ${errno}`);
  }
  const kinds = a.sys.counts;
  for (const k of ['short', 'intr', 'again', 'io', 'nospc']) assert.ok(kinds[k] > 0, `no ${k} in 6000 calls`);
});

test('chaos: a closed fd gets its real error, path and exit calls are never faulted, clocks only jump forward', () => {
  const sys = new ChaosSystem(stub(), { seed: 7, rate: 1 });
  assert.equal(sys.fdWrite(9, [new Uint8Array(4)]), -Errno.BADF);
  assert.equal(sys.injected, false);
  for (let i = 0; i < 100; i++) assert.equal(sys.pathOpen(3, 0, 'x', 0, 0, 0, 0), 6);
  // A 1-byte write can fail but never come back short (0 bytes would read as end of file).
  for (let i = 0; i < 200; i++) assert.notEqual(sys.fdWrite(3, [new Uint8Array(1)]), 0);
  let last = 0;
  for (let i = 0; i < 200; i++) {
    const t = sys.clockTimeGet(1, 1);
    assert.ok(t > last);
    last = t;
  }
  assert.ok(sys.counts.clock === 200 && last > 200 * 1e6);
});

test('chaos: --chaos SEED[:RATE] is checked, with one line for a mistake', () => {
  assert.deepEqual(parseChaos('42'), { seed: 42 });
  assert.deepEqual(parseChaos('42:0.05'), { seed: 42, rate: 0.05 });
  assert.deepEqual(parseChaos('7:5%'), { seed: 7, rate: 0.05 });
  const home = tmp('wtm-chaos-home-');
  for (const bad of ['abc', '1:2', '1:0', '-3', '1:x', '99999999999999999']) {
    assertOneLineError(wtmIn(home, ['run', '--chaos', bad, guest, 'careful', '/x', '1']), 2, /--chaos/);
  }
  assert.match(wtmIn(home, ['run', '--help']).stdout, /--chaos SEED\[:RATE\]/);
  assert.deepEqual(fs.readdirSync(home).filter((n) => n !== 'config.yaml' && n !== 'tasks'), []);
});

test('chaos: the library option is checked', async () => {
  const rt = new Runtime();
  try {
    await assert.rejects(rt.run({ module: guest, args: ['careful', '/x', '1'], chaos: { seed: -1 } }), /chaos.seed/);
    await assert.rejects(rt.run({ module: guest, args: ['careful', '/x', '1'], chaos: { seed: 1, rate: 0 } }), /chaos.rate/);
  } finally {
    await rt.close();
  }
});

/** The records of a run as [call, injected, result] (clock values left out: they are the host's). */
function calls(home, id) {
  const r = wtmIn(home, ['trace', id, '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((j) => [j.call, j.injected === true, j.call === 'clock_time_get' ? 0 : j.result]);
}

const expected = (n) => Array.from({ length: n }, (_, i) => `line ${String(i).padStart(5, '0')} of the chaos test, with some padding to make it longer\n`).join('');

test('chaos: a careful guest survives; its faults are recorded, marked, replayed exactly, and chosen by the seed alone', () => {
  const home = tmp('wtm-chaos-home-');
  // Each run in a directory of its own, with the same arguments.
  const run = (seed) => {
    const work = tmp('wtm-chaos-work-');
    const r = wtmIn(home, ['run', '--no-host', '--chaos', `${seed}:0.3`, '--dir', `${work}:/data`, guest, 'careful', '/data/out', '150']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(work, 'out'), 'utf8'), expected(150));
    return r;
  };
  const a = run(11);
  const idA = processId(a.stderr);
  // Marked in describe and in trace.
  const d = wtmIn(home, ['describe', idA]);
  assert.match(d.stdout, /^Chaos: {5}seed 11, rate 0\.3/m);
  const m = /^Injected: {2}(\d+) results/m.exec(d.stdout);
  assert.ok(m && Number(m[1]) > 10, d.stdout);
  const t = wtmIn(home, ['trace', idA]);
  const marked = t.stdout.split('\n').filter((l) => l.includes('[injected]'));
  assert.equal(marked.length, Number(m[1]));
  assert.ok(marked.some((l) => / fd_write\(.*\) = \d+ \[injected\]/.test(l)), 'a short write');
  assert.ok(marked.some((l) => /= (IO|NOSPC|INTR|AGAIN) \[injected\]/.test(l)), 'a failed call');
  // Replay gives the guest the same results without injecting anything: same output, same exit.
  const r = wtmIn(home, ['replay', idA]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, a.stdout);
  // The same seed again: the same choices at the same calls.
  const b = run(11);
  assert.deepEqual(calls(home, processId(b.stderr)), calls(home, idA));
  // Another seed: other choices.
  const c = run(12);
  assert.notDeepEqual(calls(home, processId(c.stderr)), calls(home, idA));
});

test('chaos: a guest that does not handle short writes is caught, and the record shows the call that caught it', () => {
  const home = tmp('wtm-chaos-home-');
  const work = tmp('wtm-chaos-work-');
  const r = wtmIn(home, ['run', '--no-host', '--chaos', '5:0.2', '--dir', `${work}:/data`, guest, 'naive', '/data/out', '200']);
  assert.equal(r.status, 3, r.stderr);
  const caught = /naive caught: write (\d+) of (\d+) bytes returned (\d+) errno (\d+)/.exec(r.stderr);
  assert.ok(caught, r.stderr);
  const id = processId(r.stderr);
  const t = wtmIn(home, ['trace', id, '--call', 'fd_write', '-o', 'json']);
  const writes = t.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((j) => j.args.fd > 2);
  const last = writes.at(-1);
  assert.equal(last.injected, true);
  assert.equal(last.args.iovs.bytes, Number(caught[2]));
  if (Number(caught[4]) === 0) assert.equal(last.result, Number(caught[3]));
  // Every write before it went through whole, unmarked.
  assert.equal(writes.length, Number(caught[1]) + 1);
  assert.ok(writes.slice(0, -1).every((j) => !j.injected && j.result === j.args.iovs.bytes));
  // Replay is caught at the same call.
  const rp = wtmIn(home, ['replay', id]);
  assert.equal(rp.status, 3);
  assert.match(rp.stderr, new RegExp(caught[0]));
});

// The tasks a guest starts while it runs with chaos get chaos too, each a seed of its own drawn
// from the guest's seed and the submit's number: the same seed gives the same task seeds and
// the same faults in each task; the tasks of one guest differ.
test('chaos reaches the tasks a guest starts: a seed each, drawn from the parent seed, the same faults again', () => {
  const hello = path.join(root, 'examples/hello.wasm');
  const fanout = path.join(root, 'examples/fanout.wasm');
  const runTree = () => {
    const home = tmp('wtm-chaos-tasks-');
    const r = wtmIn(home, ['run', '--chaos', '5:0.5', fanout, hello, '4']);
    assert.equal(r.status, 0, r.stderr);
    const all = JSON.parse(wtmIn(home, ['get', 'processes', '-o', 'json']).stdout);
    const parent = processId(r.stderr);
    const tasks = all.filter((p) => p.parentId === parent);
    assert.equal(tasks.length, 4);
    // Task i (argv task-i) was the (i+1)-th submit.
    return Object.fromEntries(tasks.map((t) => {
      const d = wtmIn(home, ['describe', t.id]).stdout;
      const m = /^Chaos: +seed (\d+), rate 0\.5/m.exec(d);
      assert.ok(m, d);
      return [t.argv[1], { seed: Number(m[1]), calls: calls(home, t.id) }];
    }));
  };
  const a = runTree();
  const b = runTree();
  for (let i = 0; i < 4; i++) {
    assert.equal(a[`task-${i}`].seed, taskChaosSeed(5, i + 1));
    assert.deepEqual(b[`task-${i}`], a[`task-${i}`], `task-${i}: the same seed, the same faults`);
  }
  assert.equal(new Set(Object.values(a).map((t) => t.seed)).size, 4, 'a seed each');
  assert.ok(Object.values(a).some((t) => t.calls.some(([, injected]) => injected)), 'faults reached the tasks');
});
