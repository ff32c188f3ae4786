// Time travel: `wtm replay ID --until N [--inspect] [--dump-memory FILE]` through a real guest
// (timetravel.c opens files in a known order), and the fd tracker (views/fds.ts) on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineError } from './helpers.js';
import { Registry } from '../dist/index.js';
import { LogStream } from '../dist/timemachine/stream.js';
import { decodeRecord } from '../dist/timemachine/describe.js';
import { CALL_BY_METHOD } from '../dist/timemachine/calls.js';
import { FdTracker, joinGuest } from '../dist/views/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-tt-'));
const reg = path.join(home, 'registry');

function run(args, opts = {}) {
  return spawnSync(process.execPath, [wtm, ...args, '--registry', reg], { encoding: 'utf8', input: '', timeout: 60000, ...opts });
}

/** Runs the timetravel guest on a fresh directory; its id, stdout and decoded records. */
async function recordGuest() {
  const dir = fs.mkdtempSync(path.join(home, 'data-'));
  fs.writeFileSync(path.join(dir, 'a.txt'), 'TT-FILE-CONTENT-0123456789\n');
  fs.writeFileSync(path.join(dir, 'b.txt'), 'bee\n');
  fs.mkdirSync(path.join(dir, 'sub'));
  // run takes its flags before the module; --registry goes there too.
  const r = spawnSync(process.execPath, [wtm, 'run', '--registry', reg, '--no-host', '--dir', `${dir}:/data`, path.join(root, 'tests/guests/timetravel.wasm'), '/data'], { encoding: 'utf8', input: '', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  const id = /process ([0-9a-f-]{36})/.exec(r.stderr)[1];
  const registry = await Registry.open(reg);
  const records = [];
  for await (const payload of new LogStream(await registry.streamLog(id)).records()) records.push(decodeRecord(payload));
  return { id, stdout: r.stdout, records };
}

const guest = recordGuest();

/** Index of the first record matching `pred`. */
function find(records, pred) {
  const i = records.findIndex(pred);
  assert.ok(i >= 0, 'record not found');
  return i;
}

function inspectJson(id, n) {
  const r = run(['replay', id, '--until', String(n), '--inspect', '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^wtm: stopped at record ${n} of \\d+\\n$`));
  return JSON.parse(r.stdout);
}

const fdView = (j) => j.fds.map((f) => [f.fd, f.kind, f.path, f.offset]);

test('--until N --inspect shows the fds open at N, with guest paths and offsets', async () => {
  const { id, records } = await guest;
  const isOpen = (name) => (r) => r.call.wasi === 'path_open' && r.params[2] === name;
  const readA = find(records, (r) => r.call.wasi === 'fd_read');
  const openC = find(records, isOpen('c.txt'));
  const writeD = find(records, (r) => r.call.wasi === 'fd_write' && r.params[0] === records[find(records, isOpen('d.txt'))].ret);

  // Right after reading 16 bytes of a.txt: a and b open, b by its normalised path.
  let j = inspectJson(id, readA);
  assert.equal(j.stoppedAt, readA);
  assert.equal(j.records, records.length);
  assert.deepEqual(fdView(j), [
    [0, 'stdio', '<stdin>', null], [1, 'stdio', '<stdout>', null], [2, 'stdio', '<stderr>', null],
    [3, 'preopen', '/data', null], [4, 'file', '/data/a.txt', 16], [5, 'file', '/data/b.txt', 0],
  ]);
  assert.equal(j.fds[4].access, 'r');
  assert.equal(j.memory.bytes % 65536, 0);
  assert.equal(j.memory.pages, j.memory.bytes / 65536);
  assert.ok(j.memory.pages >= 1);
  assert.equal(j.lastCalls.length, Math.min(10, readA + 1));
  assert.equal(j.lastCalls.at(-1).index, readA);
  assert.equal(j.lastCalls.at(-1).call, 'fd_read');

  // b closed, c opened with b's number, created and truncated.
  j = inspectJson(id, openC);
  assert.deepEqual(fdView(j).slice(3), [[3, 'preopen', '/data', null], [4, 'file', '/data/a.txt', 16], [5, 'file', '/data/c.txt', 0]]);
  assert.equal(j.fds[5].names.oflags, 'CREAT|TRUNC');
  assert.equal(j.fds[5].access, 'rw');
  assert.equal(j.fds[5].openedAt, openC);

  // a seeked back to 2, c written 5 bytes, d appends.
  j = inspectJson(id, writeD);
  assert.deepEqual(fdView(j).slice(3), [
    [3, 'preopen', '/data', null], [4, 'file', '/data/a.txt', 2], [5, 'file', '/data/c.txt', 5], [6, 'file', '/data/d.txt', 'append'],
  ]);
  assert.equal(j.fds[6].names.fdflags, 'APPEND');
});

test('--until stops cleanly (exit 0): the text view, and the output up to there only', async () => {
  const { id, records } = await guest;
  const last = records.length - 1;
  const readA = find(records, (r) => r.call.wasi === 'fd_read');
  let r = run(['replay', id, '--until', String(readA)]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '', 'the guest prints only at its end');
  assert.equal(r.stderr, `wtm: stopped at record ${readA} of ${records.length}\n`);

  r = run(['replay', id, '--until', String(readA), '--inspect', '--last', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Stopped: +after record \d+ of \d+/m);
  assert.match(r.stdout, /^Memory: +\d+ pages \(\d+ bytes/m);
  assert.match(r.stdout, /^ +4 +file +\/data\/a\.txt +16 +r /m);
  assert.match(r.stdout, /^ +5 +file +\/data\/b\.txt +0 +r /m);
  assert.match(r.stdout, /^Last 2 calls:$/m);
  assert.match(r.stdout, new RegExp(`#${readA} fd_read\\(fd=4, iovs=16\\) = 16 "TT-FILE-CONTENT-"`));

  // The last record: the guest ends there; its output is all replayed.
  r = run(['replay', id, '--until', String(last)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^done TT-FILE-CONTENT- WTM-TIMETRAVEL-[A-Z]{8}\n$/);
  assert.match(r.stderr, new RegExp(`^wtm: stopped at record ${last} of ${records.length}`));
});

test('--dump-memory writes the linear memory at N (mode 0600), holding what the guest put there', async () => {
  const { id, stdout, records } = await guest;
  const marker = /WTM-TIMETRAVEL-[A-Z]{8}/.exec(stdout)[0];
  const openA = find(records, (r) => r.call.wasi === 'path_open' && r.params[2] === 'a.txt');
  const readA = find(records, (r) => r.call.wasi === 'fd_read');
  const printed = find(records, (r) => r.call.wasi === 'fd_write' && r.params[0] === 1);
  const dump = (n) => {
    const file = path.join(home, `mem-${n}.bin`);
    const r = run(['replay', id, '--until', String(n), '--inspect', '-o', 'json', '--dump-memory', file]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.byteLength, j.memory.bytes);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    return bytes.toString('latin1');
  };
  // Bytes the replayed fd_read wrote: there after it, not before.
  assert.ok(!dump(openA).includes('TT-FILE-CONTENT-'));
  assert.ok(dump(readA).includes('TT-FILE-CONTENT-'));
  // The marker the guest built in memory, just before printing it.
  assert.ok(!dump(readA).includes(marker));
  assert.ok(dump(printed).includes(marker));
});

test('bad time-travel input is one line and a non-zero exit', async () => {
  const { id, records } = await guest;
  assertOneLineError(run(['replay', id, '--until', 'abc']), 2, /--until abc: expected a whole number/);
  assertOneLineError(run(['replay', id, '--until', '-1']), 2, /--until/);
  assertOneLineError(run(['replay', id, '--until', String(records.length)]), 1, new RegExp(`--until ${records.length} is past the end of the log: .* has ${records.length} records \\(0 to ${records.length - 1}\\)`));
  assertOneLineError(run(['replay', '--until', '3']), 2, /needs one process ID/);
  assertOneLineError(run(['replay', 'ffffffff', '--until', '3']), 1, /ffffffff/);
  assertOneLineError(run(['replay', id, '--inspect']), 2, /--inspect needs --until N/);
  assertOneLineError(run(['replay', id, '--until', '1', '--last', 'x']), 2, /--last x/);
  const help = run(['replay', '--help']).stdout;
  assert.match(help, /--until N +stop after record N/);
  assert.match(help, /numbered from 0/);
});

// ---- the fd tracker, on records made by hand ----------------------------------------------

function rec(method, params, ret, out) {
  const call = CALL_BY_METHOD.get(method);
  const errno = call.result === 'errno' ? ret : ret < 0 ? -ret : 0;
  return { call, start: 0, duration: 0, params, ret, errno, out: errno === 0 ? out : undefined };
}

const openArgs = (dir, p, oflags = 0, fdflags = 0, rights = 0x2 | 0x4 | 0x40) => [dir, 1, p, oflags, rights, rights, fdflags];

test('FdTracker: preopens, opens relative to dir fds, reads, writes, seeks, closes', () => {
  const t = new FdTracker();
  t.apply(rec('fdPrestatGet', [3], 0, '/work'));
  t.apply(rec('fdPrestatGet', [4], 8 /* BADF */));
  t.apply(rec('pathOpen', openArgs(3, 'src', 2 /* DIRECTORY */), 4));
  t.apply(rec('pathOpen', openArgs(4, './x/../main.c'), 5));
  t.apply(rec('pathOpen', openArgs(3, 'missing'), -44 /* NOENT */));
  t.apply(rec('fdRead', [5, 100], 10, new Uint8Array(10)));
  t.apply(rec('fdRead', [5, 100], 7, new Uint8Array(7)));
  t.apply(rec('fdPread', [5, 100, 0], 50, new Uint8Array(50)));
  t.apply(rec('fdWrite', [1, new Uint8Array(3)], 3));
  assert.deepEqual(t.snapshot().map((f) => [f.fd, f.kind, f.path, f.offset, f.openedAt]), [
    [0, 'stdio', '<stdin>', null, null], [1, 'stdio', '<stdout>', null, null], [2, 'stdio', '<stderr>', null, null],
    [3, 'preopen', '/work', null, null], [4, 'directory', '/work/src', null, 2], [5, 'file', '/work/src/main.c', 17, 3],
  ]);
  assert.equal(t.records, 9);
  t.apply(rec('fdSeek', [5, -2, 1], 15));
  assert.equal(t.get(5).offset, 15);
  t.apply(rec('fdPwrite', [5, new Uint8Array(4), 0], 4));
  t.apply(rec('fdTell', [5], 15));
  assert.equal(t.get(5).offset, 15);
  t.apply(rec('fdClose', [4], 0));
  t.apply(rec('fdClose', [9], 8 /* BADF: nothing changes */));
  assert.deepEqual(t.snapshot().map((f) => f.fd), [0, 1, 2, 3, 5]);
  // A snapshot is a copy.
  const snap = t.snapshot();
  t.apply(rec('fdRead', [5, 10], 10, new Uint8Array(10)));
  assert.equal(snap.at(-1).offset, 15);
  assert.equal(t.get(5).offset, 25);
});

test('FdTracker: append, renumber, flags, rights, unknown fds', () => {
  const t = new FdTracker();
  t.apply(rec('fdPrestatGet', [3], 0, '.'));
  t.apply(rec('pathOpen', openArgs(3, 'log.txt', 1 /* CREAT */, 1 /* APPEND */), 4));
  assert.equal(t.get(4).path, 'log.txt');
  assert.equal(t.get(4).offset, 'append');
  assert.equal(t.get(4).names.oflags, 'CREAT');
  assert.equal(t.get(4).names.fdflags, 'APPEND');
  assert.equal(t.get(4).access, 'rw');
  t.apply(rec('fdSeek', [4, 0, 0], 0));
  assert.equal(t.get(4).offset, 0);
  t.apply(rec('fdWrite', [4, new Uint8Array(5)], 5));
  assert.equal(t.get(4).offset, 'append', 'an O_APPEND write goes to the end, whatever the position');
  t.apply(rec('fdFdstatSetFlags', [4, 0], 0));
  t.apply(rec('fdSeek', [4, 0, 0], 0));
  t.apply(rec('fdWrite', [4, new Uint8Array(5)], 5));
  assert.equal(t.get(4).offset, 5);
  assert.equal(t.get(4).names.fdflags, '0');
  t.apply(rec('pathOpen', openArgs(3, '/abs/../other'), 5));
  assert.equal(t.get(5).path, '/other');
  t.apply(rec('fdRenumber', [4, 5], 0));
  assert.equal(t.get(4), undefined);
  assert.equal(t.get(5).path, 'log.txt');
  assert.equal(t.get(5).fd, 5);
  t.apply(rec('fdFdstatSetRights', [5, 0x2, 0], 0));
  assert.equal(t.get(5).access, 'r');
  // An fd the log never showed opening, used successfully: listed, path and offset unknown.
  t.apply(rec('fdRead', [7, 10], 3, new Uint8Array(3)));
  assert.deepEqual({ ...t.get(7) }, { fd: 7, kind: 'unknown', path: null, offset: null, openedAt: null });
  // An open under an fd the tracker does not know.
  t.apply(rec('pathOpen', openArgs(9, 'f'), 8));
  assert.equal(t.get(8).path, '<fd 9>/f');
  assert.equal(joinGuest('/', 'a/./b/'), '/a/b');
  assert.equal(joinGuest('/data', '../../x'), '/x');
});
