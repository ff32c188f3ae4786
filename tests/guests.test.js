// The C test guests (tests/guests/*.c), run through wtm: each guest checks WASI calls from the
// inside and prints `ok`/`not ok` lines; the host checks what it can see from the outside.
// File-system guests run twice: on a host directory (through the CLI) and on an in-memory
// file system (through the library), so both backends give the guest the same answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeDigest } from './helpers.js';
import { MemFs, Sandbox, runGuest } from '../dist/internal.js';
import { BytesStdin, SinkStdio } from '../dist/sandbox/stdio.js';

// Runs record into a registry of this test file's own, never the user's ~/.wtm.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-test-home-'));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guestPath = (name) => path.join(root, 'tests/guests', `${name}.wasm`);
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));

function cli(args, opts = {}) {
  return spawnSync(process.execPath, [wtm, 'run', ...args], { encoding: 'utf8', input: '', timeout: 60000, ...opts, env: { ...process.env, WTM_HOME: home, ...(opts.env ?? {}) } });
}

/** Fails with the guest's own `not ok` lines, so a failure says which check broke. */
function assertGuestPassed(r, name) {
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  const failed = out.split('\n').filter((l) => l.startsWith('not ok') || l.startsWith('ESCAPE'));
  assert.deepEqual(failed, [], `${name} reported failures`);
  assert.equal(r.status, 0, `${name} exited ${r.status}:\n${out.slice(-2000)}`);
  assert.match(out, new RegExp(`# guest ${name}: \\d+ ok, 0 failed`));
}

/** Runs a guest in this thread on in-memory mounts. */
async function onMemory(name, args, mounts) {
  const module = await WebAssembly.compile(fs.readFileSync(guestPath(name)));
  const chunks = [];
  const sink = new SinkStdio((c) => chunks.push(c));
  const sys = new Sandbox({
    args: [name, ...args], env: [], mounts,
    stdin: new BytesStdin(new Uint8Array()), stdout: sink, stderr: sink,
  });
  try {
    const report = runGuest(module, sys);
    return { status: report.exitCode, stdout: Buffer.concat(chunks).toString('utf8'), stderr: report.trap ?? report.error ?? '' };
  } finally {
    sys.close();
  }
}

test('args_env: argv, environ and EFAULT on bad pointers', () => {
  assertGuestPassed(cli(['--no-host', '--env', 'FOO=bar', guestPath('args_env'), 'a', 'b']), 'args_env');
});

test('clock_random: clocks, random, sched_yield, poll_oneoff sleeps', () => {
  assertGuestPassed(cli(['--no-host', guestPath('clock_random')]), 'clock_random');
});

for (const name of ['fd_ops', 'path_ops', 'misc']) {
  test(`${name} on a host directory`, () => {
    const dir = tmp(name);
    assertGuestPassed(cli(['--no-host', '--dir', `${dir}:/work`, guestPath(name), '/work']), name);
  });
  test(`${name} on an in-memory file system`, async () => {
    const r = await onMemory(name, ['/work'], [{ guestPath: '/work', fs: new MemFs() }]);
    assertGuestPassed(r, name);
  });
}


test('readonly: every write-type call fails and the disk is unchanged', { skip: !fs.existsSync(guestPath('readonly')) }, () => {
  const dir = tmp('ro');
  fs.writeFileSync(path.join(dir, 'data.txt'), 'readonly data\n');
  fs.mkdirSync(path.join(dir, 'sub'));
  const before = treeDigest(dir);
  assertGuestPassed(cli(['--no-host', '--dir', `${dir}:/ro:ro`, guestPath('readonly'), '/ro']), 'readonly');
  assert.equal(treeDigest(dir), before);
});

test('escape battery: no way out of the root, nothing outside read or changed', async () => {
  const { runEscapeBattery } = await import('./guests/escape-scenario.mjs');
  const r = await runEscapeBattery(({ wasm, args, root }) => {
    const p = cli(['--no-host', '--dir', `${root}:/`, wasm, ...args]);
    return { exitCode: p.status, stdout: p.stdout, stderr: p.stderr };
  });
  assert.ok(r.attempts >= 60, `only ${r.attempts} attempts: the battery did not run`);
  assert.equal(r.escapes, 0, r.stdout.split('\n').filter((l) => l.startsWith('ESCAPE')).join('\n'));
  assert.deepEqual(r.hostChanges, []);
  assert.equal(r.exitCode, 0, r.stderr);
});
