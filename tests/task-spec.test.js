// Every number (and every type) of a task spec is checked: a guest's bad spec is INVAL from
// task_submit (tests/guests/task_spec.c through `wtm run`), a library spec is a one-line Error
// from runtime.spawn, and no value makes Node warn (a timeout past 2^31-1 ms used to become
// 1 ms with a TimeoutOverflowWarning).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../dist/index.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-test-home-'));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const hello = path.join(root, 'examples/hello.wasm');
const taskSpec = path.join(root, 'tests/guests/task_spec.wasm');

/** Submits each spec (one line of the guest's stdin); the errno of each, or the result of an accepted one. */
function submitAll(specs) {
  const input = specs.map((s) => (typeof s === 'string' ? s : JSON.stringify(s)) + '\n').join('');
  const r = spawnSync(process.execPath, [wtm, 'run', '--no-record', taskSpec],
    { encoding: 'utf8', input, timeout: 60000, env: { ...process.env, WTM_HOME: home } });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Warning/);
  // One `submit N` line per spec, then the result line of an accepted one.
  const out = [];
  const lines = r.stdout.trim().split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^submit (\d+)$/.exec(lines[i]);
    assert.ok(m, lines[i]);
    out.push(m[1] === '0' ? JSON.parse(lines[++i]) : Number(m[1]));
  }
  assert.equal(out.length, specs.length, r.stdout);
  return out;
}

const INVAL = 28, TOOBIG = 1;
const base = { module: hello };

test('a guest\'s spec: a number of the wrong type or out of its range is INVAL', () => {
  const bad = [
    // timeout_ms: whole ms from 0 to 2^31-1
    { timeout_ms: -1 }, { timeout_ms: 1.5 }, { timeout_ms: 2 ** 31 }, { timeout_ms: 1e300 }, { timeout_ms: '1000' },
    { timeout_ms: true }, { timeout_ms: null }, { timeout_ms: [5] },
    // memory_limit: whole bytes from one page to 4 GiB
    { memory_limit: 0 }, { memory_limit: 65535 }, { memory_limit: 65536.5 }, { memory_limit: 2 ** 32 + 1 }, { memory_limit: -65536 },
    { memory_limit: '16777216' }, { memory_limit: Number.POSITIVE_INFINITY /* JSON null */ },
    // other types
    { args: [1] }, { args: 'a' }, { env: { A: 1 } }, { env: ['A=1', 2] }, { env: 'A=1' }, { stdin: 5 },
    { mounts: {} }, { mounts: [[]] }, { mounts: [{ guest: '/x', path: '/tmp', readonly: 'yes' }] },
    { mounts: [{ guest: '/x', path: '/tmp', readonly: 1 }] }, { mounts: [{ guest: 5, path: '/tmp' }] },
    { mounts: [{ guest: '/x', path: '/tmp', mode: 'rw' }] },
    // unknown fields: `timeoutMs` for `timeout_ms` would silently mean no limit
    { timeoutMs: 10 }, { memoryLimitBytes: 65536 },
  ].map((s) => ({ ...base, ...s }));
  const texts = [...bad.map((s) => JSON.stringify(s)), `{"module":"${hello}","timeout_ms":NaN}`, `{"module":"${hello}","timeout_ms":1e999}`];
  const got = submitAll(texts);
  for (const [i, g] of got.entries()) assert.equal(g, INVAL, `${texts[i]} answered ${JSON.stringify(g)}`);
});

test('a guest\'s spec: the bounds themselves are accepted, and no Node warning', () => {
  const good = [
    { timeout_ms: 0 }, { timeout_ms: 2 ** 31 - 1 }, { timeout_ms: 5000 }, { memory_limit: 2 ** 32 }, { memory_limit: 16 << 20 },
    { env: { A: 'b' } }, { env: ['A=b'] }, { args: [] }, { mounts: [] },
  ].map((s) => ({ ...base, ...s }));
  const got = submitAll(good);
  for (const [i, g] of got.entries()) {
    assert.equal(typeof g, 'object', `${JSON.stringify(good[i])} answered ${g}`);
    assert.equal(g.state, 'success', JSON.stringify(good[i]) + ' ' + g.error);
    assert.match(g.stdout, /hello from wasm/);
  }
  // One page is a valid limit; hello needs more than that, so the task ends in error (it does not start).
  const [page] = submitAll([{ ...base, memory_limit: 65536 }]);
  assert.equal(page.state, 'error');
  // 65535 arguments after argv[0] are as many as a record holds; one more is TOOBIG.
  const args = (n) => `{"module":"${hello}","args":[${Array(n).fill('""').join(',')}]}`;
  assert.deepEqual(submitAll([args(65536)]), [TOOBIG]);
});

test('runtime.spawn: a bad spec is a one-line Error naming the field; no Node warning', async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  const rt = new Runtime({});
  try {
    const bad = [
      [{ timeoutMs: -1 }, /^task spec: timeoutMs must be a whole number of ms \(0: no limit\) from 0 to 2147483647, got -1$/],
      [{ timeoutMs: 2 ** 31 }, /timeoutMs .* got 2147483648$/],
      [{ timeoutMs: 1.5 }, /timeoutMs .* got 1\.5$/],
      [{ timeoutMs: NaN }, /timeoutMs .* got NaN$/],
      [{ timeoutMs: Infinity }, /timeoutMs .* got Infinity$/],
      [{ timeoutMs: '100' }, /timeoutMs .* got "100"$/],
      [{ memoryLimitBytes: 1000 }, /^task spec: memoryLimitBytes must be a whole number of bytes from 65536 to 4294967296, got 1000$/],
      [{ memoryLimitBytes: 2 ** 32 + 65536 }, /memoryLimitBytes .* got 4295032832$/],
      [{ memoryLimitBytes: 1e6 + 0.5 }, /memoryLimitBytes .* got 1000000\.5$/],
      [{ memoryLimitBytes: 10n }, /memoryLimitBytes .* got 10n$/],
      [{ args: 'a b' }, /^task spec: args must be an array of strings, got "a b"$/],
      [{ args: ['a', 2] }, /^task spec: args\[1\] must be a string, got 2$/],
      [{ args: Array(65536).fill('') }, /^task spec: args may hold at most 65535 entries, got 65536$/],
      [{ args: ['x'.repeat((1 << 20) + 1)] }, /^task spec: args\[0\] is longer than 1048576 characters$/],
      [{ env: { A: 1 } }, /^task spec: env\["A"\] must be a string, got 1$/],
      [{ env: 'A=1' }, /^task spec: env must be an object or an array of strings/],
      [{ stdin: 5 }, /^task spec: stdin must be a string or bytes, got 5$/],
      [{ mounts: [{ host: '/tmp', guest: '/x', readonly: 'yes' }] }, /^task spec: mounts\[0\]\.readonly must be true or false, got "yes"$/],
      [{ mounts: [{ host: '/tmp', guest: '/x', handle: { fd: -1, path: '/tmp' } }] }, /^task spec: mounts\[0\]\.handle\.fd must be a file descriptor from 0 to 2147483647, got -1$/],
      [{ mounts: [{ host: '/tmp', guest: '/x', handle: { fd: 3.5, path: '/tmp' } }] }, /handle\.fd .* got 3\.5$/],
      [{ mounts: [{ host: '/tmp', guest: '/x', kind: 'zip' }] }, /^task spec: mounts\[0\]\.kind must be dir, tar or image, got "zip"$/],
      [{ mounts: [{ host: 5, guest: '/x' }] }, /^task spec: mounts\[0\]\.host must be a string, got 5$/],
      [{ module: 5 }, /^task spec: module must be a path, a digest or bytes, got 5$/],
      [{ module: undefined }, /^task spec: names neither a module nor an image$/],
    ];
    for (const [extra, re] of bad) {
      assert.throws(() => rt.spawn({ ...base, ...extra }), (e) => e instanceof Error && re.test(e.message) && !e.message.includes('\n') || assert.fail(e.message), JSON.stringify(extra, (_k, v) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 100));
    }
    assert.throws(() => rt.spawn(null), { message: 'task spec: must be an object, got null' });
    // The bounds themselves run.
    for (const extra of [{ timeoutMs: 0 }, { timeoutMs: 2 ** 31 - 1 }, { memoryLimitBytes: 2 ** 32 }]) {
      const r = await rt.spawn({ ...base, ...extra }).wait();
      assert.equal(r.state, 'success', `${JSON.stringify(extra)}: ${r.error}`);
    }
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.map((w) => w.name), []);
  } finally {
    process.off('warning', onWarning);
    await rt.close();
  }
});
