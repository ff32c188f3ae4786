// The live trace (wtm run -T, wtm replay -T, RunOptions.trace) through a real guest whose calls
// are known in advance (tests/guests/livetrace.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, Runtime } from '../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = path.join(root, 'tests/guests/livetrace.wasm');

function tmp(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function wtmIn(home, args) {
  return spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 30000, env: { ...process.env, WTM_HOME: home } });
}

/** `wtm run -T` of the guest in a fresh directory mounted at /work. */
function runTraced(home, extra = [], guestArgs = []) {
  const work = tmp('wtm-live-work-');
  fs.copyFileSync(guest, path.join(work, 'livetrace.wasm'));
  return { work, r: wtmIn(home, ['run', ...extra, '--no-host', '--dir', `${work}:/work`, guest, ...guestArgs]) };
}

// A trace line: [process ]    12.345 ms  #N call(args) = outcome  <duration>
const LINE = /^(?:([0-9a-f]{8}) )?\s*\d+\.\d{3} ms {2}#(\d+) (\S+?)\((.*)\)(?: = (.*))? {2}<[^>]+>$/;
const traceLines = (stderr) => stderr.split('\n').filter((l) => LINE.test(l));
const processId = (stderr) => /^wtm: process (\S+)$/m.exec(stderr)[1];
/** A line without its leading time and trailing duration. */
const strip = (l) => l.replace(/^((?:[0-9a-f]{8} )?)\s*\d+\.\d{3} ms {2}/, '$1').replace(/ {2}<[^>]+>$/, '');

// The guest's own calls, in order (after libc's start-up: args_get).
const EXPECTED = [
  '#0 args_get() = ["GUEST"]',
  '#1 path_open(fd=3, lookupFlags=SYMLINK_FOLLOW, path="live.txt", oflags=CREAT|TRUNC, rightsBase=FD_READ|FD_WRITE, rightsInheriting=0, fdflags=0) = 4',
  '#2 fd_write(fd=4, iovs="hello trace\\n") = 12',
  '#3 fd_close(fd=4) = 0',
  '#4 path_open(fd=3, lookupFlags=0, path="missing.txt", oflags=0, rightsBase=FD_READ, rightsInheriting=0, fdflags=0) = NOENT',
  '#5 fd_write(fd=1, iovs="out line\\n") = 9',
  '#6 fd_write(fd=2, iovs="err line\\n") = 9',
].map((l) => l.replace('GUEST', guest));

test('run -T prints one line per recorded call, naming each call, in order, with the guest\'s stdout unchanged', () => {
  const home = tmp('wtm-live-home-');
  const { work, r } = runTraced(home, ['-T']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'out line\n');
  assert.equal(fs.readFileSync(path.join(work, 'live.txt'), 'utf8'), 'hello trace\n');
  const lines = traceLines(r.stderr);
  assert.deepEqual(lines.map(strip), EXPECTED);
  // As many lines as the record counts calls.
  const described = JSON.parse(wtmIn(home, ['describe', '-o', 'json', processId(r.stderr)]).stdout);
  assert.equal(described.process.calls, lines.length);
  // The guest's own stderr comes where its call is, before that call's line (written, then traced).
  const all = r.stderr.split('\n');
  const at = all.indexOf('err line');
  assert.ok(at > 0, r.stderr);
  assert.equal(strip(all[at + 1]), EXPECTED[6]);
  assert.equal(strip(all[at - 1]), EXPECTED[5]);
  // Untraced, the same run prints no line, and the same stdout.
  const plain = runTraced(home).r;
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.stdout, r.stdout);
  assert.deepEqual(traceLines(plain.stderr), []);
});

test('replay -T and wtm trace print the same lines as the live run (times are the recorded ones)', () => {
  const home = tmp('wtm-live-home-');
  const { r } = runTraced(home, ['--trace']);
  assert.equal(r.status, 0, r.stderr);
  const replay = wtmIn(home, ['replay', '-T', processId(r.stderr)]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal(replay.stdout, 'out line\n');
  const live = traceLines(r.stderr);
  assert.deepEqual(traceLines(replay.stderr).map(strip), live.map(strip));
  // Even the times: the replayed lines are the recorded records.
  assert.deepEqual(traceLines(replay.stderr), live);
  // And `wtm trace ID`, reading the log, prints them too: one formatter for all three.
  const read = wtmIn(home, ['trace', processId(r.stderr)]);
  assert.equal(read.status, 0, read.stderr);
  assert.deepEqual(read.stdout.split('\n').filter((l) => l !== ''), live);
  // And the replayed stderr interleaves as it did.
  assert.deepEqual(replay.stderr.split('\n').filter((l) => l !== ''), [...live.slice(0, 6), 'err line', live[6]]);
});

test('--trace-width cuts buffers at N bytes (0: all), and implies -T', () => {
  const home = tmp('wtm-live-home-');
  const cut = runTraced(home, ['--trace-width', '4']).r;
  assert.equal(cut.status, 0, cut.stderr);
  assert.equal(strip(traceLines(cut.stderr)[2]), '#2 fd_write(fd=4, iovs="hell"…) = 12');
  const all = runTraced(home, ['-T', '--trace-width=0']).r;
  assert.equal(strip(traceLines(all.stderr)[2]), EXPECTED[2]);
  const bad = runTraced(home, ['--trace-width', '-1']).r;
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--trace-width -1: expected a whole number/);
  assert.match(wtmIn(home, ['run', '--help']).stdout, /-T, --trace/);
  assert.match(wtmIn(home, ['replay', '--help']).stdout, /-T, --trace/);
});

test('--no-record -T traces every call and stores no process', () => {
  const home = tmp('wtm-live-home-');
  const { r } = runTraced(home, ['--no-record', '-T']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'out line\n');
  assert.doesNotMatch(r.stderr, /wtm: process/);
  assert.deepEqual(traceLines(r.stderr).map(strip), EXPECTED);
  const listed = JSON.parse(wtmIn(home, ['get', 'processes', '-o', 'json']).stdout);
  assert.deepEqual(listed, []);
});

test('a traced run traces its tasks, each line prefixed with the task\'s short id', () => {
  const home = tmp('wtm-live-home-');
  const { r } = runTraced(home, ['-T'], ['task']);
  assert.equal(r.status, 0, r.stderr);
  const lines = traceLines(r.stderr);
  const main = lines.filter((l) => LINE.exec(l)[1] === undefined);
  const task = lines.filter((l) => LINE.exec(l)[1] !== undefined);
  assert.deepEqual(main.slice(0, 7).map(strip), EXPECTED.map((l) => l.replace(`["${guest}"]`, `["${guest}","task"]`)));
  assert.match(strip(main[7]), /^#7 wtm\.task_submit\(spec="\{\\"module\\":\\"\/work\/livetrace\.wasm\\",\\"args\\":\[\\"child\\"\]\}"\) = 1$/);
  assert.match(strip(main[8]), /^#8 wtm\.task_wait\(id=1, bufLen=1024\) = 0 "\{\\"id\\":1,/);
  const short = LINE.exec(task[0])[1];
  assert.deepEqual(task.map(strip), [
    `${short} #0 args_get() = ["/work/livetrace.wasm","child"]`,
    `${short} #1 fd_write(fd=1, iovs="child\\n") = 6`,
  ]);
  // The prefix is the task's process id, whose record names the main process as its parent.
  const described = JSON.parse(wtmIn(home, ['describe', '-o', 'json', short]).stdout);
  assert.ok(described.process.id.startsWith(short));
  assert.equal(described.process.parentId, processId(r.stderr));
  assert.equal(described.process.calls, task.length);
  // The task's lines come while the main process waits for it.
  assert.ok(lines.indexOf(task[1]) < lines.indexOf(main[8]));
  assert.ok(lines.indexOf(task[0]) > lines.indexOf(main[7]));
});

test('library: trace lines go where the guest\'s stderr goes (piped, in call order); off by default', async () => {
  const home = tmp('wtm-live-home-');
  const work = tmp('wtm-live-work-');
  const registry = await Registry.open(home);
  const rt = new Runtime();
  try {
    const opts = { module: guest, mounts: [{ host: work, guest: '/work' }], stdout: 'pipe', stderr: 'pipe', registry };
    const traced = await rt.run({ ...opts, trace: { width: 0 } });
    assert.equal(traced.exitCode, 0, traced.error);
    assert.equal(Buffer.from(traced.stdout).toString(), 'out line\n');
    const err = Buffer.from(traced.stderr).toString().split('\n').filter((l) => l !== '');
    assert.deepEqual(err.map((l) => (LINE.test(l) ? strip(l) : l)), [...EXPECTED.slice(0, 6), 'err line', EXPECTED[6]]);
    assert.equal(traced.calls, 7);
    const plain = await rt.run(opts);
    assert.equal(Buffer.from(plain.stderr).toString(), 'err line\n');
    const replayed = await rt.replay({ registry, processId: traced.processId, stdout: 'pipe', stderr: 'pipe', trace: { width: 0 } });
    assert.deepEqual(replayed.stderr, traced.stderr);
  } finally {
    await rt.close();
  }
});
