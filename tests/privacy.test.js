// What a record and an export give away: the host environment's values are recorded in the
// user's private registry, and an export leaves out those inherited from the host unless
// --with-host-env; a replay of such an export stops at environ_get, naming what was withheld.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineError } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = path.join(root, 'tests/guests/env_names.wasm');
const SECRET = 's3cr3t-T0KEN-value';
const tmp = (name) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-privacy-${name}-`));

function cli(home, args, env = {}) {
  return spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 60000, env: { ...process.env, WTM_HOME: home, ...env } });
}
/** The run under test sees a small host environment (so every withheld name fits in one message). */
const smallEnv = { PATH: process.env.PATH };

/** Every byte under dir, the log decompressed as the trace prints it (`wtm trace -o json --width 0`). */
function holds(home, id, text) {
  const trace = cli(home, ['trace', id, '-o', 'json', '--width', '0']).stdout;
  const describe = cli(home, ['describe', id, '-o', 'json']).stdout;
  return trace.includes(text) || describe.includes(text);
}

const home = tmp('home');
const run = spawnSync(process.execPath, [wtm, 'run', '--env', 'GIVEN=visible-value', guest], { encoding: 'utf8', input: '', timeout: 60000, env: { ...smallEnv, WTM_HOME: home, MY_API_TOKEN: SECRET } });
const id = /wtm: process (\S+)/.exec(run.stderr)?.[1];

test('the run sees its environment; the record keeps it, the registry is private', () => {
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`^MY_API_TOKEN ${SECRET.length}$`, 'm'));
  assert.match(run.stdout, /^GIVEN 13$/m);
  assert.ok(holds(home, id, SECRET), 'the record keeps the value, to replay the run here');
  assert.equal(fs.statSync(home).mode & 0o077, 0, 'the registry is private to its user');
  const d = cli(home, ['describe', id]);
  assert.match(d.stdout, /inherited from the host/);
  assert.doesNotMatch(d.stdout, new RegExp(SECRET));
});

test('an export leaves out the values inherited from the host, keeps --env values, and its replay stops at environ_get naming them', () => {
  const file = path.join(tmp('out'), 'run.wtm');
  const ex = cli(home, ['export', id, file]);
  assert.equal(ex.status, 0, ex.stderr);
  assert.match(ex.stderr, /withheld the values of \d+ variables inherited from the host \(.+\); --with-host-env keeps them/);
  assert.ok(!fs.readFileSync(file).includes(SECRET), 'the secret is not in the file');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const other = tmp('other');
  assert.equal(cli(other, ['import', file]).status, 0);
  assert.ok(!holds(other, id, SECRET), 'nor anywhere in what the import stored');
  assert.ok(holds(other, id, 'GIVEN=visible-value'), '--env values are the user\'s own choice: kept');
  const env = JSON.parse(cli(other, ['trace', id, '--call', 'environ_get', '-o', 'json', '--width', '0']).stdout).result;
  assert.ok(env.includes('MY_API_TOKEN='), env.join(' '));
  assert.match(cli(other, ['describe', id]).stdout, /values withheld by the export \(\d+\):[\s\S]*\bMY_API_TOKEN\b/);
  // Replay: one line naming what was withheld, and how to keep it.
  const replay = cli(other, ['replay', id]);
  assertOneLineError({ ...replay, stdout: '' }, 1, /replay stopped at record 0: environ_get: the values of .*MY_API_TOKEN.* were withheld when this run was exported .*--with-host-env/);
  assert.equal(replay.stdout, '');
});

test('--with-host-env keeps every value: the export replays to the same output', () => {
  const file = path.join(tmp('out-all'), 'run.wtm');
  const ex = cli(home, ['export', '--with-host-env', id, file]);
  assert.equal(ex.status, 0, ex.stderr);
  assert.doesNotMatch(ex.stderr, /withheld/);
  const other = tmp('other-all');
  assert.equal(cli(other, ['import', file]).status, 0);
  const replay = cli(other, ['replay', id]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal(replay.stdout, run.stdout);
  // And in the user's own registry, the run replays as it always did.
  assert.equal(cli(home, ['replay', id]).stdout, run.stdout);
});

test('--env NAME passes the host\'s value of one variable, counted as the host\'s', () => {
  const h = tmp('one');
  const r = cli(h, ['run', '--no-host', '--env', 'MY_API_TOKEN', '--env', 'NOT_SET_ANYWHERE', guest], { MY_API_TOKEN: SECRET });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `MY_API_TOKEN ${SECRET.length}\n`, 'only that variable; an unset one is left out');
  const rid = /wtm: process (\S+)/.exec(r.stderr)[1];
  const file = path.join(tmp('one-out'), 'run.wtm');
  assert.match(cli(h, ['export', rid, file]).stderr, /withheld the values of 1 variable inherited from the host \(MY_API_TOKEN\)/);
  assertOneLineError(cli(h, ['run', '--env', '=x', guest]), 2, /--env =x: expected NAME=VALUE, or NAME/);
});
