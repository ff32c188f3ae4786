// wtm logs -t, --stream and -o json, through the real CLI on the views guest in mode `out`,
// whose writes are known from its source: 1 "alpha\n", 2 "warn one\n", 1 "be", 1 "ta\n",
// 1 "gamma\ndelta\n", 2 "warn two", 2 "\n".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineError, wtmIn } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const views = path.join(root, 'tests/guests/views.wasm');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-logs-'));
const { cli, record } = wtmIn(home);

const STAMP = /^\[ *(\d+\.\d{3}) ms\] /;

/** Each line's stamp (ms) and its text. */
function stamped(text) {
  return text.split('\n').filter((l) => l !== '').map((l) => {
    const m = STAMP.exec(l);
    assert.ok(m, `no stamp on ${JSON.stringify(l)}`);
    return { ms: Number(m[1]), text: l.slice(m[0].length) };
  });
}

const id = record([views, 'out']);

test('logs without flags: unchanged (stdout to stdout, stderr to stderr, no stamps)', () => {
  const r = cli(['logs', id]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'alpha\nbeta\ngamma\ndelta\n');
  assert.equal(r.stderr, 'warn one\nwarn two\n');
});

test('logs -t: every line stamped, stamps increasing, a write without a newline continued by the next', () => {
  const r = cli(['logs', '-t', id]);
  assert.equal(r.status, 0, r.stderr);
  const out = stamped(r.stdout);
  const err = stamped(r.stderr);
  assert.deepEqual(out.map((l) => l.text), ['alpha', 'beta', 'gamma', 'delta']);
  assert.deepEqual(err.map((l) => l.text), ['warn one', 'warn two']);
  for (const lines of [out, err]) {
    for (let i = 1; i < lines.length; i++) assert.ok(lines[i].ms >= lines[i - 1].ms, `${lines[i - 1].ms} then ${lines[i].ms}`);
  }
  // gamma and delta come from one write: one time. Stamps are times since the start, so small.
  assert.equal(out[2].ms, out[3].ms);
  assert.ok(out[0].ms > 0 && out[3].ms < 60000);
  // --timestamps is the same flag.
  assert.equal(cli(['logs', '--timestamps', id]).stdout.replace(/\[[^\]]*\]/g, ''), r.stdout.replace(/\[[^\]]*\]/g, ''));
});

test('logs --stream stderr (and stdout): only that stream', () => {
  const e = cli(['logs', '--stream', 'stderr', id]);
  assert.equal(e.status, 0, e.stderr);
  assert.equal(e.stdout, '');
  assert.equal(e.stderr, 'warn one\nwarn two\n');
  const o = cli(['logs', '--stream=stdout', '-t', id]);
  assert.equal(o.stderr, '');
  assert.deepEqual(stamped(o.stdout).map((l) => l.text), ['alpha', 'beta', 'gamma', 'delta']);
});

test('logs -o json: one object per write, in order, with the time of each', () => {
  const r = cli(['logs', '-o', 'json', id]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const writes = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(writes.map((w) => [w.stream, w.data]), [
    ['stdout', 'alpha\n'], ['stderr', 'warn one\n'], ['stdout', 'be'], ['stdout', 'ta\n'],
    ['stdout', 'gamma\ndelta\n'], ['stderr', 'warn two'], ['stderr', '\n'],
  ]);
  for (let i = 1; i < writes.length; i++) assert.ok(writes[i].t_ns >= writes[i - 1].t_ns);
  assert.ok(writes.every((w) => Number.isInteger(w.t_ns) && Object.keys(w).length === 3));
  const only = cli(['logs', '-o', 'json', '--stream', 'stderr', id]);
  assert.deepEqual(only.stdout.trim().split('\n').map((l) => JSON.parse(l).data), ['warn one\n', 'warn two', '\n']);
});

test('logs: bad input is one line', () => {
  assertOneLineError(cli(['logs']), 2, /^wtm logs: needs one process ID/);
  assertOneLineError(cli(['logs', '--stream', 'stdin', id]), 2, /^wtm logs: --stream stdin: expected stdout or stderr/);
  assertOneLineError(cli(['logs', '-o', 'yaml', id]), 2, /^wtm logs: -o yaml: expected text or json/);
  assertOneLineError(cli(['logs', '-t', '00000000-0000-4000-8000-000000000000']), 1, /^wtm logs: /);
  // A process whose log is gone.
  const other = record([views, 'exit', '0']);
  fs.rmSync(path.join(home, 'blobs', 'logs', other));
  assertOneLineError(cli(['logs', '-t', other]), 1, new RegExp(`^wtm logs: process ${other} has no log$`));
});

test('--tail N keeps the last N lines of both streams, in order', () => {
  const id = record([views, 'out']);
  const r = cli(['logs', id, '--tail', '3']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'gamma\ndelta\n');
  assert.equal(r.stderr, 'warn two\n');
  assert.equal(cli(['logs', id, '--tail', '1', '--stream', 'stdout']).stdout, 'delta\n');
  assert.equal(cli(['logs', id, '--tail', '0']).stdout, '');
  assertOneLineError(cli(['logs', id, '--tail', 'x']), 2, /--tail x: expected a whole number/);
});

test('logs -f follows a running process as it writes, to its end', async () => {
  const { spawn } = await import('node:child_process');
  const ticker = path.join(root, 'tests/guests/ticker.wasm');
  const env = { ...process.env, WTM_HOME: home };
  // A guest printing a line every 100 ms, stopped after 4 s: slow enough that most lines are
  // in the unsealed tail when -f reads them. (4 s, not 2.5: on a loaded machine the worker may
  // take a second to start, and the test wants 10 lines at least.)
  const lines = (t) => t.split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
  const run = spawn(process.execPath, [wtm, 'run', '--timeout', '4000ms', ticker, '100'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  run.stdout.on('data', (d) => (out += d));
  run.stderr.on('data', (d) => (err += d));
  const ran = new Promise((r) => run.on('close', r));
  while (!/wtm: process (\S+)/.test(err)) await new Promise((r) => setTimeout(r, 20));
  const id = /wtm: process (\S+)/.exec(err)[1];
  const follower = spawn(process.execPath, [wtm, 'logs', '-f', id], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let followed = '';
  const seenAt = [];
  follower.stdout.on('data', (d) => {
    followed += d;
    seenAt.push(Date.now());
  });
  await new Promise((r) => setTimeout(r, 800));
  const tailed = spawnSync(process.execPath, [wtm, 'logs', '-f', '--tail', '2', id], { env, encoding: 'utf8' });
  const code = await new Promise((r) => follower.on('close', r));
  await ran;
  // --tail 2 -f: two lines of what was there, then the rest: a contiguous end of the output.
  const tl = lines(tailed.stdout);
  assert.ok(tl.length >= 2 && tl.length < lines(out).length, tailed.stdout);
  const start = lines(out).indexOf(tl[0]);
  assert.deepEqual(tl, lines(out).slice(start, start + tl.length));
  assert.equal(code, 0);
  assert.ok(lines(out).length >= 10, out);
  // What -f printed is what the guest printed, every line, in order: the timeout's stop lets a
  // write in progress be recorded first (callgate.ts), so not even the last line is missing.
  assert.deepEqual(lines(followed), lines(out));
  assert.ok(seenAt.length >= 3, 'the output came in pieces while the guest ran, not at its end');
});
