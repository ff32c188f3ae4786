// A module that imports a WASI (or wtm) function with the wrong signature is refused before it
// starts, as wasmtime refuses it at link time: through `wtm run`, as a task a guest submits,
// and as a task the library spawns. The modules are tests/guests/imports_*.wat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../dist/index.js';
import { assertOneLineError } from './helpers.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-test-home-'));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);

function run(args) {
  return spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 30000, env: { ...process.env, WTM_HOME: home } });
}


const FD_WRITE = '\\(i32, i32, i32, i32\\) -> i32';
const BAD = {
  imports_arity: `imports wasi_snapshot_preview1\\.fd_write as \\(i32\\) -> i32, but wtm provides ${FD_WRITE}$`,
  imports_i64: 'imports wasi_snapshot_preview1\\.fd_seek as \\(i32, i32, i32, i32\\) -> i32, but wtm provides \\(i32, i64, i32, i32\\) -> i32$',
  imports_result: 'imports wasi_snapshot_preview1\\.proc_exit as \\(i32\\) -> i32, but wtm provides \\(i32\\) -> \\(\\)$',
  imports_missing: 'imports wasi_snapshot_preview1\\.fd_teleport, which wtm does not provide$',
};

test('wtm run refuses a module whose imports do not match, in one line, recording nothing', () => {
  for (const [name, re] of Object.entries(BAD)) {
    const r = run(['run', guest(name)]);
    assertOneLineError(r, 1, new RegExp(`^wtm run: ${guest(name).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} ${re}`));
  }
  // The registry's directories may exist now (and its sweep marker), but nothing was stored in them.
  assert.deepEqual(fs.readdirSync(home, { recursive: true }).filter((f) => f !== '.swept' && fs.statSync(path.join(home, f)).isFile()), []);
});

test('wtm run runs a module importing WASI functions with their signatures', () => {
  const good = run(['run', guest('imports_good')]);
  assert.equal(good.status, 0, good.stderr);
  assert.equal(good.stdout, 'ok\n');
  // Every function wasi-libc declares (the calls are not made: it exits 0 at once).
  const all = run(['run', '--no-record', guest('all_imports')]);
  assert.equal(all.status, 0, all.stderr);
  assert.equal(all.stderr, '');
});

test('a task a guest submits with such a module ends in error, naming the import', () => {
  const specs = [...Object.keys(BAD), 'imports_good'].map((n) => JSON.stringify({ module: guest(n) }));
  const r = run(['run', '--no-record', guest('task_spec'), ...specs]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 10, r.stdout);
  for (const [i, re] of Object.values(BAD).entries()) {
    assert.equal(lines[2 * i], 'submit 0');
    const result = JSON.parse(lines[2 * i + 1]);
    assert.equal(result.state, 'error');
    assert.equal(result.exit_code, 1);
    assert.match(result.error, new RegExp(`^the module ${re}`));
  }
  assert.equal(JSON.parse(lines[9]).state, 'success');
  assert.equal(JSON.parse(lines[9]).stdout, 'ok\n');
});

test('runtime.spawn of such a module: an error result naming the import', async () => {
  const rt = new Runtime({});
  try {
    const r = await rt.spawn({ module: guest('imports_i64') }).wait();
    assert.equal(r.state, 'error');
    assert.match(r.error, new RegExp(`^the module ${BAD.imports_i64}`));
    const bytes = await rt.spawn({ module: fs.readFileSync(guest('imports_arity')) }).wait();
    assert.match(bytes.error, new RegExp(`^the module ${BAD.imports_arity}`));
    // Runtime.run (the main process) refuses it before anything runs.
    await assert.rejects(rt.run({ module: guest('imports_result') }), new RegExp(BAD.imports_result));
  } finally {
    await rt.close();
  }
});
