// Reading what the registry holds when it is damaged or cut short, through the real CLI: a
// corrupt module blob, a corrupt process record, a tampered export file, a log cut inside a
// batch (a killed wtm), a log with a corrupt batch; and readers that stream a big log in
// bounded memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineError } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));

function cli(home, args, opts = {}) {
  return spawnSync(process.execPath, [...(opts.node ?? []), wtm, ...args], {
    encoding: opts.encoding ?? 'utf8', input: '', timeout: 60000, maxBuffer: 1 << 28,
    env: { ...process.env, WTM_HOME: home },
  });
}
const idOf = (stderr) => /wtm: process ([0-9a-f-]{36})/.exec(stderr)?.[1];


/** Records a run; its stdout as bytes. */
function record(home, args) {
  const r = cli(home, ['run', '--no-host', ...args], { encoding: 'buffer' });
  const id = idOf(String(r.stderr));
  assert.ok(id, String(r.stderr));
  return { id, stdout: r.stdout, status: r.status };
}

/** The byte offsets of the batch frames of a log file ("WTMB" after the 16-byte header). */
function batchOffsets(bytes) {
  const out = [];
  for (let off = 16; off + 32 <= bytes.length; off += 32 + bytes.readUInt32LE(off + 4)) out.push(off);
  return out;
}

test('a corrupt module blob: replay and export refuse it in one line, exit 1', () => {
  const home = tmp('home');
  const { id } = record(home, [path.join(root, 'examples/hello.wasm'), 'x']);
  const rec = JSON.parse(fs.readFileSync(path.join(home, 'records', 'process', `${id}.json`), 'utf8'));
  const blob = path.join(home, 'blobs', 'modules', 'sha256', rec.moduleDigest);
  const bytes = fs.readFileSync(blob);
  bytes[bytes.length >> 1] ^= 0x01;
  fs.writeFileSync(blob, bytes);
  const corrupt = new RegExp(`module sha256:${rec.moduleDigest} is corrupt: its bytes hash to sha256:[0-9a-f]{64}$`);
  assertOneLineError(cli(home, ['replay', id]), 1, corrupt);
  const out = path.join(tmp('export'), 'p.wtm');
  assertOneLineError(cli(home, ['export', id, out]), 1, corrupt);
  assert.equal(fs.existsSync(out), false, 'no export file is left behind');
  assert.deepEqual(fs.readdirSync(path.dirname(out)), [], 'nor a temporary one');
});

test('a corrupt process record is skipped with a warning; the others list and describe as before', () => {
  const home = tmp('home');
  const a = record(home, [path.join(root, 'examples/hello.wasm'), 'a']);
  const b = record(home, [path.join(root, 'examples/hello.wasm'), 'b']);
  const c = record(home, [path.join(root, 'examples/hello.wasm'), 'c']);
  fs.writeFileSync(path.join(home, 'records', 'process', `${b.id}.json`), '{"id": "' + b.id);
  const recC = path.join(home, 'records', 'process', `${c.id}.json`);
  fs.writeFileSync(recC, JSON.stringify({ ...JSON.parse(fs.readFileSync(recC, 'utf8')), state: 'zombie' }));
  const warnings = (stderr) => stderr.trim().split('\n').sort();
  const expected = [
    `wtm: skipped corrupt process record ${b.id}: not JSON`,
    `wtm: skipped corrupt process record ${c.id}: state must be one of running, exited, trapped, failed, killed, cancelled, interrupted, crashed`,
  ].sort();

  const ps = cli(home, ['get', 'processes']);
  assert.equal(ps.status, 0, ps.stderr);
  assert.match(ps.stdout, new RegExp(a.id));
  assert.doesNotMatch(ps.stdout, new RegExp(`${b.id}|${c.id}`));
  assert.deepEqual(warnings(ps.stderr), expected);
  const json = cli(home, ['get', 'processes', '-o', 'json']);
  assert.deepEqual(JSON.parse(json.stdout).map((r) => r.id), [a.id]);
  assert.deepEqual(warnings(json.stderr), expected);
  for (const what of ['tasks', 'logs']) {
    const r = cli(home, ['get', what]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(warnings(r.stderr), expected, what);
  }

  const d = cli(home, ['describe', a.id]);
  assert.equal(d.status, 0, d.stderr);
  assert.equal(d.stderr, '');
  assert.match(d.stdout, new RegExp(`Process:   ${a.id}`));
  assert.equal(cli(home, ['logs', a.id]).stdout, 'hello from wasm a\n');
  assert.equal(cli(home, ['replay', a.id]).stdout, 'hello from wasm a\n');
  // The corrupt one itself is one line.
  assertOneLineError(cli(home, ['describe', b.id]), 1, /corrupt \(not JSON\)/);
});

test('export of a corrupt log batch is refused; an export whose log was altered does not import', () => {
  const home = tmp('home');
  const { id } = record(home, [guest('bigout'), '1']);
  const dir = tmp('export');
  const file = path.join(dir, 'p.wtm');
  const ok = cli(home, ['export', id, file]);
  assert.equal(ok.status, 0, ok.stderr);
  const good = fs.readFileSync(file);
  assert.equal(good.readUInt32LE(8), 2, 'export format version 2');

  // Flip a byte inside the log section and recompute the file checksum: the batch checksum tells.
  const plog = good.indexOf('PLOG');
  const logLen = Number(good.readBigUInt64LE(plog + 4));
  const fixSum = (b) => createHash('sha256').update(b.subarray(0, b.length - 44)).digest().copy(b, b.length - 32);
  const altered = Buffer.from(good);
  const inLog = batchOffsets(good.subarray(plog + 12, plog + 12 + logLen));
  altered[plog + 12 + inLog[2] + 100] ^= 0x20; // inside the payload of batch 2
  fixSum(altered);
  fs.writeFileSync(file, altered);
  const other = tmp('home');
  assertOneLineError(cli(other, ['import', file]), 1, new RegExp(`log is corrupt: batch 2 at byte offset ${inLog[2]}: checksum mismatch`));
  // And with the log digest recomputed as well.
  createHash('sha256').update(altered.subarray(plog + 12, plog + 12 + logLen)).digest().copy(altered, plog + 12 + logLen + 12);
  fixSum(altered);
  fs.writeFileSync(file, altered);
  assertOneLineError(cli(other, ['import', file]), 1, new RegExp(`log is corrupt: batch 2 at byte offset ${inLog[2]}: checksum mismatch`));
  assert.deepEqual(JSON.parse(cli(other, ['get', 'processes', '-o', 'json']).stdout), [], 'nothing imported');
  assert.equal(fs.existsSync(path.join(other, 'blobs', 'logs', id)), false);
  // The good file imports and replays.
  fs.writeFileSync(file, good);
  const imp = cli(other, ['import', file]);
  assert.equal(imp.status, 0, imp.stderr);
  assert.equal(imp.stdout, `${id}\n`);
  assert.equal(cli(other, ['replay', id], { encoding: 'buffer' }).stdout.length, 1 << 20);

  // A corrupt batch in the registry's log: export refuses it and leaves no file.
  const log = path.join(home, 'blobs', 'logs', id);
  const bytes = fs.readFileSync(log);
  const offsets = batchOffsets(bytes);
  bytes[offsets[2] + 100] ^= 0x01;
  fs.writeFileSync(log, bytes);
  fs.rmSync(file);
  assertOneLineError(cli(home, ['export', id, file]), 1, new RegExp(`cannot export process ${id}: log is corrupt: batch 2 at byte offset ${offsets[2]}: checksum mismatch`));
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('a log cut inside a batch: logs prints what it holds and warns; replay stops where it ends', () => {
  const home = tmp('home');
  const { id, stdout } = record(home, [guest('bigout'), '1', '1000']);
  assert.equal(stdout.length, 1 << 20);
  const log = path.join(home, 'blobs', 'logs', id);
  const bytes = fs.readFileSync(log);
  const offsets = batchOffsets(bytes);
  assert.ok(offsets.length > 10, `${offsets.length} batches`);
  // Cut in the middle of batch 5: batches 0-4 are whole.
  fs.writeFileSync(log, bytes.subarray(0, offsets[5] + 1000));
  const whole = (n) => {
    let calls = 0;
    for (let i = 0; i < n; i++) calls += bytes.readUInt32LE(offsets[i] + 12);
    return calls;
  };
  const calls = whole(5);
  const out = cli(home, ['logs', id], { encoding: 'buffer' });
  assert.equal(out.status, 0, String(out.stderr));
  assert.equal(String(out.stderr), `wtm logs: the log of ${id} is cut short after ${calls} calls (the run was interrupted)\n`);
  assert.ok(out.stdout.length > 0);
  assert.deepEqual(out.stdout, stdout.subarray(0, out.stdout.length), 'the output up to the cut, exactly');
  const full = cli(home, ['replay', id], { encoding: 'buffer' });
  assert.equal(full.status, 1);
  assert.deepEqual(full.stdout, out.stdout, 'replay reproduces the same output up to the cut');
  const err = String(full.stderr).trim().split('\n');
  assert.equal(err.length, 1, String(full.stderr));
  assert.match(err[0], new RegExp(`^wtm: the log ends here \\(the run was interrupted\\): all ${calls} recorded calls were replayed, then the guest called fd_write\\(fd=1, `));

  // describe says so too.
  const d = cli(home, ['describe', id]);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, new RegExp(`${calls} calls in 5 batches \\(cut short\\)`));

  // Cut at a batch boundary with a record that says the run ended: replay calls it a divergence,
  // not an interruption (nothing says the run was cut); once the record says interrupted, it is one.
  fs.writeFileSync(log, bytes.subarray(0, offsets[5]));
  const clean = cli(home, ['replay', id]);
  assert.equal(clean.status, 1);
  assert.match(clean.stderr, new RegExp(`replay diverged: the log ends after ${calls} records`));
  assert.equal(cli(home, ['logs', id]).stderr, '');
  const recFile = path.join(home, 'records', 'process', `${id}.json`);
  const rec = JSON.parse(fs.readFileSync(recFile, 'utf8'));
  fs.writeFileSync(recFile, JSON.stringify({ ...rec, state: 'interrupted', signal: 'SIGKILL', endTime: undefined, exitCode: undefined }));
  const cut = cli(home, ['replay', id]);
  assert.equal(cut.status, 1);
  assert.match(cut.stderr, /^wtm: the log ends here \(the run was interrupted\): all \d+ recorded calls were replayed/);
  assert.equal(cli(home, ['logs', id]).stderr, `wtm logs: the log of ${id} is cut short after ${calls} calls (the run was interrupted)\n`);
});

test('a corrupt batch after good ones: logs prints the good part, then one line, exit 1', () => {
  const home = tmp('home');
  const { id, stdout } = record(home, [guest('bigout'), '1', '1000']);
  const log = path.join(home, 'blobs', 'logs', id);
  const bytes = fs.readFileSync(log);
  const offsets = batchOffsets(bytes);
  bytes[offsets[3] + 200] ^= 0x01;
  fs.writeFileSync(log, bytes);
  const r = cli(home, ['logs', id], { encoding: 'buffer' });
  assert.equal(r.status, 1);
  const err = String(r.stderr).trim().split('\n');
  assert.equal(err.length, 1, String(r.stderr));
  assert.match(err[0], new RegExp(`^wtm logs: log is corrupt: batch 3 at byte offset ${offsets[3]}: checksum mismatch`));
  assert.ok(r.stdout.length > 0);
  assert.deepEqual(r.stdout, stdout.subarray(0, r.stdout.length), 'the good part, exactly');
  const rep = cli(home, ['replay', id]);
  assert.equal(rep.status, 1);
  assert.match(rep.stderr, /replay stopped: log is corrupt: batch 3/);
});
