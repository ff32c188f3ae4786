// wtm diff through the real CLI, on runs of the views guest whose calls are known from its
// source: record 0 is args_get; in mode `env` record 1 is environ_get, then one write of
// "who=VALUE\n"; mode `clock 3` makes three clock_time_get calls (records 1-3), one random_get
// (record 4) and one write; mode `out` the same seven writes every time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineError, wtmIn } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const views = path.join(root, 'tests/guests/views.wasm');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-diff-'));
const { cli, record } = wtmIn(home);

function json(args) {
  const r = cli(['diff', '-o', 'json', ...args]);
  assert.equal(r.stderr, '');
  return { status: r.status, d: JSON.parse(r.stdout) };
}

const alice = record(['--env', 'WHO=alice', views, 'env']);
const bob = record(['--env', 'WHO=bob', views, 'env']);

test('diff of two runs with another environment: record 1, environ_get, the variable by name; exit 1', () => {
  const r = cli(['diff', alice, bob]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^first difference at record 1: the result differs$/m);
  assert.match(r.stdout, /^ {4}record 0 {2}args_get\(\) = /m);
  assert.match(r.stdout, /^ {2}A record 1 {2}environ_get\(\) = \["WHO=…"\]$/m);
  assert.match(r.stdout, /^ {2}B record 1 {2}environ_get\(\) = \["WHO=…"\]$/m);
  assert.match(r.stdout, /^ {2}environment: +WHO differs \(values not shown: --show-env\)$/m);
  assert.match(r.stdout, /^ {2}stdout: +A wrote 10 bytes, B 8; they differ from byte 4 \(line 1\): A "who=alice\\n" \(record 2\), B "who=bob\\n" \(record 2\)$/m);
  assert.doesNotMatch(r.stdout, /clock|random|exit:|args:/);
  assert.doesNotMatch(r.stdout.split('over the whole runs')[0], /alice|bob/, 'values are not shown before --show-env');

  const { status, d } = json([alice, bob]);
  assert.equal(status, 1);
  assert.equal(d.same, false);
  assert.deepEqual(d.calls, [3, 3]);
  assert.equal(d.first.record, 1);
  assert.equal(d.first.a.call, 'environ_get');
  assert.equal(d.first.b.call, 'environ_get');
  assert.deepEqual(d.first.before.map((c) => [c.record, c.call]), [[0, 'args_get']]);
  assert.deepEqual(d.environment, { onlyA: [], onlyB: [], changed: ['WHO'] });
  for (const k of ['clock', 'random', 'reads', 'stdin', 'args', 'exit', 'counts', 'modules', 'stderr']) assert.equal(d[k], undefined, k);

  const shown = cli(['diff', '--show-env', alice, bob]);
  assert.match(shown.stdout, /environ_get\(\) = \["WHO=alice"\]/);
  assert.match(shown.stdout, /environment: +WHO differs: WHO A "alice" B "bob"/);
});

test('two runs reading the clock and random bytes differ in clock and random only', () => {
  const a = record([views, 'clock', '3']);
  const b = record([views, 'clock', '3']);
  const { status, d } = json([a, b]);
  assert.equal(status, 1);
  assert.deepEqual(d.calls, [6, 6]);
  assert.equal(d.first.record, 1);
  assert.equal(d.first.what, 'result');
  assert.equal(d.first.a.call, 'clock_time_get');
  assert.equal(d.differInStep, 4, 'three clock reads and the random bytes');
  assert.deepEqual([d.clock.a, d.clock.b, d.clock.differ], [3, 3, 3]);
  assert.deepEqual(d.clock.first.records, [1, 1]);
  assert.deepEqual([d.random.a, d.random.b, d.random.differ], [1, 1, 1]);
  assert.deepEqual(d.random.first.records, [4, 4]);
  assert.match(d.random.first.a, /^[0-9a-f]{32}$/);
  for (const k of ['environment', 'args', 'stdout', 'stderr', 'exit', 'counts', 'reads', 'modules']) assert.equal(d[k], undefined, k);
  const text = cli(['diff', '--context', '0', a, b]);
  assert.equal(text.status, 1);
  assert.doesNotMatch(text.stdout, /^ {4}record/m, 'no calls before it with --context 0');
  assert.match(text.stdout, /^ {2}clock: +3 of 3 clock_time_get results differ; first #1 \(record 1\): A \d+, B \d+$/m);
  assert.match(text.stdout, /^ {2}random: +1 of 1 random_get results differ; first #1 \(record 4\): /m);
});

test('two runs reading a file whose content changed: record 2 (fd_read) differs in its outputs, and only the reads', () => {
  // views read data.txt: args_get, path_open, fd_read (record 2), fd_close, fd_write "read 6 bytes".
  const dirs = ['hello\n', 'hellO\n'].map((text) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-diff-dir-'));
    fs.writeFileSync(path.join(d, 'data.txt'), text);
    return d;
  });
  const [a, b] = dirs.map((d) => record(['--dir', `${d}:/d:ro`, views, 'read', 'data.txt']));
  const { status, d } = json([a, b]);
  assert.equal(status, 1);
  assert.equal(d.first.record, 2);
  assert.equal(d.first.what, 'outputs');
  assert.match(d.first.a.text, /^fd_read\(fd=4, /);
  assert.match(d.first.a.result, /^6 "hello\\n"$/);
  assert.match(d.first.b.result, /^6 "hellO\\n"$/);
  assert.deepEqual([d.reads.a, d.reads.b, d.reads.differ], [1, 1, 1]);
  assert.deepEqual(d.reads.first.records, [2, 2]);
  assert.equal(d.differInStep, 1);
  for (const k of ['clock', 'random', 'environment', 'args', 'stdout', 'stderr', 'exit', 'counts', 'stdin']) assert.equal(d[k], undefined, k);
});

test('two runs of a guest that does the same every time: no difference, exit 0', () => {
  const a = record([views, 'out']);
  const b = record([views, 'out']);
  const r = cli(['diff', a, b]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `A: ${a}\nB: ${b}\nno difference in 8 calls\n`);
  assert.equal(json([a, b]).d.same, true);
});

test('different arguments and exit codes; different modules said in one line', () => {
  const zero = record([views, 'exit', '0']);
  const three = record([views, 'exit', '3']);
  const { status, d } = json([zero, three]);
  assert.equal(status, 1);
  assert.deepEqual(d.exit, { a: 'exited 0', b: 'exited 3' });
  assert.equal(d.args.b.at(-1), '3');
  assert.deepEqual(d.counts, [{ call: 'proc_exit', a: 0, b: 1 }]);
  const hello = record([path.join(root, 'examples/hello.wasm')]);
  const r = cli(['diff', zero, hello]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout.split('\n').filter((l) => /modules differ/.test(l)).length, 1);
  assert.match(r.stdout, /^the modules differ: A is sha256:[0-9a-f]{64}, B is sha256:[0-9a-f]{64}$/m);
});

test('diff: trouble is one line and exit 2', () => {
  assertOneLineError(cli(['diff']), 2, /^wtm diff: needs two process IDs/);
  assertOneLineError(cli(['diff', alice]), 2, /^wtm diff: needs two process IDs/);
  assertOneLineError(cli(['diff', '--context', 'x', alice, bob]), 2, /^wtm diff: --context x: expected a whole number/);
  assertOneLineError(cli(['diff', '-o', 'yaml', alice, bob]), 2, /^wtm diff: -o yaml: expected text or json/);
  assertOneLineError(cli(['diff', alice, '00000000-0000-4000-8000-000000000000']), 2, /^wtm diff: /);
  const other = record([views, 'exit', '0']);
  fs.rmSync(path.join(home, 'blobs', 'logs', other));
  assertOneLineError(cli(['diff', alice, other]), 2, new RegExp(`^wtm diff: process ${other} has no log$`));
});
