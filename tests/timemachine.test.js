// Record and replay through the CLI, as a user does: every test guest is recorded, its files
// are deleted, and `wtm replay` must reproduce stdout, stderr and the exit code byte for byte.
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
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));

function cli(home, args, opts = {}) {
  return spawnSync(process.execPath, [wtm, ...args], {
    encoding: 'utf8', input: '', timeout: 60000, ...opts, env: { ...process.env, WTM_HOME: home, ...(opts.env ?? {}) },
  });
}
const idOf = (stderr) => /wtm: process ([0-9a-f-]{36})/.exec(stderr)?.[1];

/** Guests and how to run them; `dir` gets a fresh directory mounted at /work. */
const cases = [
  { name: 'hello', wasm: path.join(root, 'examples/hello.wasm'), args: ['a', 'b'] },
  { name: 'args_env', args: ['a', 'b'], flags: ['--env', 'FOO=bar'] },
  { name: 'clock_random', args: [] },
  { name: 'fd_ops', args: ['/work'], dir: true },
  { name: 'path_ops', args: ['/work'], dir: true },
  { name: 'misc', args: ['/work'], dir: true },
  { name: 'exit_code', args: ['9'] },
  { name: 'trap', args: [] },
  { name: 'readonly', args: ['/work'], dir: 'ro' },
];

for (const c of cases) {
  test(`record and replay ${c.name}: same stdout, stderr and exit code, with its files gone`, () => {
    const home = tmp('home');
    const work = c.dir ? tmp('work') : null;
    if (c.dir === 'ro') {
      fs.writeFileSync(path.join(work, 'data.txt'), 'readonly data\n');
      fs.mkdirSync(path.join(work, 'sub'));
    }
    const flags = ['--no-host', ...(c.flags ?? []), ...(work ? ['--dir', `${work}:/work${c.dir === 'ro' ? ':ro' : ''}`] : [])];
    const run = cli(home, ['run', ...flags, c.wasm ?? guest(c.name), ...c.args]);
    const id = idOf(run.stderr);
    assert.ok(id, `no process id on stderr: ${run.stderr}`);
    assert.ok(run.stderr.startsWith(`wtm: process ${id}\n`), 'the process id is the first thing on stderr');
    if (work) fs.rmSync(work, { recursive: true, force: true });
    const replay = cli(home, ['replay', id.slice(0, 8)]);
    assert.equal(replay.status, run.status, replay.stderr);
    assert.equal(replay.stdout, run.stdout);
    // The guest's own stderr comes back; wtm's lines (process id, trap report) are its own.
    const guestErr = (s) => s.split('\n').filter((l) => !l.startsWith('wtm:') && !l.startsWith('  at ')).join('\n');
    assert.equal(guestErr(replay.stderr), guestErr(run.stderr));
    // `wtm logs` prints the same stdout without running anything.
    const logs = cli(home, ['logs', id]);
    assert.equal(logs.stdout, run.stdout);
  });
}

test('replay with a different module or different args stops at the first difference', async () => {
  const home = tmp('home');
  const registry = await Registry.open(home);
  const rt = new Runtime();
  const rec = await rt.run({ module: path.join(root, 'examples/hello.wasm'), args: ['one'], registry, stdout: 'pipe' });
  assert.equal(rec.exitCode, 0);
  const proc = await registry.getProcess(rec.processId);
  const config = await registry.getConfig(proc.configDigest);

  // Different args: the recorded args_get does not match what the guest is given.
  const { runInWorker } = await import('../dist/runtime/runtime.js');
  const log = await registry.readLog(rec.processId);
  const { module } = await rt.load(path.join(root, 'examples/hello.wasm'));
  const { result: differentArgs } = await runInWorker(module, {
    args: [...config.args.slice(0, 1), 'two'], env: config.env, mounts: [], preopens: [], stdin: 'null',
    stdout: 'pipe', stderr: 'pipe', record: false, replayLog: log,
  });
  assert.equal(differentArgs.exitCode, 1);
  assert.match(differentArgs.error, /replay diverged at record 0: args_get/);

  // A different module: it makes other calls than the log holds.
  const other = await rt.load(guest('exit_code'));
  const { result: differentModule } = await runInWorker(other.module, {
    args: config.args, env: config.env, mounts: [], preopens: [], stdin: 'null',
    stdout: 'pipe', stderr: 'pipe', record: false, replayLog: log,
  });
  assert.equal(differentModule.exitCode, 1);
  assert.match(differentModule.error, /replay diverged at record \d+: the log has .* but the guest called /);
});

test('export and import: a process replays in another registry', () => {
  const a = tmp('home-a');
  const b = tmp('home-b');
  const work = tmp('work');
  const run = cli(a, ['run', '--no-host', '--dir', `${work}:/work`, guest('fd_ops'), '/work']);
  const id = idOf(run.stderr);
  const file = path.join(tmp('export'), 'proc.wtm');
  assert.equal(cli(a, ['export', id.slice(0, 6), file]).status, 0);
  fs.rmSync(a, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
  const imp = cli(b, ['import', file]);
  assert.equal(imp.status, 0, imp.stderr);
  assert.equal(imp.stdout.trim(), id);
  const replay = cli(b, ['replay', id]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal(replay.stdout, run.stdout);
  // A tampered file is refused and nothing is stored.
  const bytes = fs.readFileSync(file);
  bytes[bytes.length >> 1] ^= 0xff;
  const bad = path.join(path.dirname(file), 'bad.wtm');
  fs.writeFileSync(bad, bytes);
  const c = tmp('home-c');
  const r = cli(c, ['import', bad]);
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.deepEqual(JSON.parse(cli(c, ['get', 'processes', '-o', 'json']).stdout), []);
});

test('get, describe and prefixes read the registry back', () => {
  const home = tmp('home');
  const ids = [];
  for (let i = 0; i < 2; i++) ids.push(idOf(cli(home, ['run', '--no-host', path.join(root, 'examples/hello.wasm'), String(i)]).stderr));
  const list = JSON.parse(cli(home, ['get', 'processes', '-o', 'json']).stdout);
  assert.deepEqual(list.map((p) => p.id).sort(), [...ids].sort());
  assert.match(cli(home, ['get', 'processes']).stdout, /^ID\s+STATE\s+EXIT/);
  assert.match(cli(home, ['get', 'modules', '-o', 'yaml']).stdout, /^- [0-9a-f]{64}/);
  const d = cli(home, ['describe', ids[0]]);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /Log: .*calls/);
  assert.match(d.stdout, /fd_write\s+1\s+0 errors/);
  const none = cli(home, ['describe', 'ffffffff']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^wtm describe: no process ffffffff\n$/);
});

test('--no-record leaves the registry empty', () => {
  const home = tmp('home');
  const r = cli(home, ['run', '--no-record', path.join(root, 'examples/hello.wasm')]);
  assert.equal(r.status, 0);
  assert.equal(idOf(r.stderr), undefined);
  assert.deepEqual(JSON.parse(cli(home, ['get', 'processes', '-o', 'json']).stdout), []);
});

test('a corrupt log is reported by its checksum, one line, never replayed or printed as data', () => {
  const home = tmp('home');
  const run = cli(home, ['run', '--no-host', path.join(root, 'examples/hello.wasm'), 'x']);
  const id = idOf(run.stderr);
  const log = path.join(home, 'blobs', 'logs', id);
  const bytes = fs.readFileSync(log);
  bytes[bytes.length - 3] ^= 0xff; // inside the (only) batch's payload
  fs.writeFileSync(log, bytes);
  for (const cmd of [['replay', id], ['logs', id], ['describe', id]]) {
    const r = cli(home, cmd);
    assert.equal(r.status, 1, `${cmd[0]}: ${r.stderr}`);
    assert.equal(r.stdout, '', `${cmd[0]} printed data from a corrupt log`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /log is corrupt: batch 0/);
  }
  fs.writeFileSync(log, 'not a log at all');
  const r = cli(home, ['replay', id]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not a wtm log/);
});
