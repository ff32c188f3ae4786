// Property test of wtm's path resolution against the Linux kernel: random trees (directories,
// files, relative/absolute/host-absolute/dangling links, loops, 1–3 mounts, :ro) and random
// scripts of path operations, run by tests/guests/pathops_script.c under wtm and natively
// (private mount namespace, bind mounts, chroot). Every result and the final trees must agree,
// except where wtm's RULES.md differs from a chrooted kernel (rules 1, 3, 7: the native side
// prints the answer the rule demands). Canaries outside the trees must never be read, changed
// or named. How to run long runs and reproduce a seed: tests/property/README.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Runtime } from '../../dist/index.js';
import { directedCases } from './directed-cases.js';
import { agrees, buildNative, caseArb, describeCase, firstClass, guestWasm, layout, minimize, normalizeCase, runCase, treeLines } from './pathops-harness.js';

const env = process.env;
const SEED = env.WTM_PROPERTY_SEED !== undefined ? Number(env.WTM_PROPERTY_SEED) : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
const RUNS = Number(env.WTM_PROPERTY_RUNS ?? 150);
/** Stop after this long (0: no limit), shrinking included. */
const TIME_MS = Number(env.WTM_PROPERTY_TIME_MS ?? (RUNS > 300 ? 0 : 25000));
const PATH = env.WTM_PROPERTY_PATH;
const IGNORE = env.WTM_PROPERTY_IGNORE ? new RegExp(env.WTM_PROPERTY_IGNORE) : null;
/** Run wtm through `Runtime.run` (a worker per case) instead of in this thread. */
const WORKER = env.WTM_PROPERTY_WORKER === '1';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-prop-bin-'));
const native = buildNative(work);
const skip = native.skip ? `native side unavailable: ${native.skip}` : false;
let runtime;
let module;

before(async () => {
  runtime = new Runtime({ maxConcurrency: 1 });
  module = await WebAssembly.compile(fs.readFileSync(guestWasm));
});
after(async () => {
  await runtime?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const lines = (s) => s.split('\n').filter((l) => l !== '');

/** Runs the native helper on one side of a laid-out case (for the harness's own tests). */
function nativeRun(side, script, extra = []) {
  const args = [...extra, '--root', side.root];
  for (const m of side.mounts) args.push('--mount', `${m.host}:${m.guest}${m.ro ? ':ro' : ''}`);
  const r = spawnSync(native.bin, [...args, '-'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return lines(r.stdout);
}

const fixed = (c) => normalizeCase({ root: { ro: false, tree: [] }, mounts: [], ops: [], ...c });

test('native side: the chroot holds, mounts are real, :ro is read-only (helper without rules)', { skip }, () => {
  const c = fixed({
    root: { ro: false, tree: [
      { name: 'hostlink', kind: 'l', target: '@TMP/outside/@CANARY' },
      { name: 'hostdir', kind: 'l', target: '@TMP' },
      { name: 'up', kind: 'l', target: '../../../../..' },
      { name: 'f', kind: 'f', data: 'root file' },
    ] },
    mounts: [{ guest: '/a/m1', ro: true, tree: [{ name: 'x', kind: 'f', data: 'ro file' }] }],
  });
  const e = layout(c);
  try {
    const side = e.sides.n;
    const before = treeLines(side.mounts[0].host);
    const script = [
      'ls\t/\t.', 'ls\t/\t..', 'ls\t/\t../../..', 'ls\t/\tup', 'read\t/\thostlink\t', 'ls\t/\thostdir',
      'read\t/\ta/m1/x\t', 'ls\t/a/m1\t..', 'write\t/a/m1\ty\tc\tdata', 'write\t/a/m1\tx\tt\tdata', 'unlink\t/\ta/m1/x',
      'mkdir\t/a/m1\td', 'utimes\t/a/m1\tx\t\t5', 'rmdir\t/\ta/m1', 'rename\t/\ta/m1\t/\tz', 'rename\t/\ta/m1/x\t/\tx2',
      'link\t/\ta/m1/x\t/\tx3\t', 'link\t/\tf\t/\tg\t', 'ls\t/\t.',
    ].join('\n').replaceAll('@CANARY', e.canaryName) + '\n';
    const out = nativeRun(side, script, ['--no-rules']);
    const rootList = 'ok ..:d .:d a:d f:f hostdir:l hostlink:l up:l';
    assert.deepEqual(out, [
      rootList, rootList, rootList, rootList, // `..` at the chroot's / stays at /
      'err ENOENT', 'err ENOENT', // host-absolute links resolve inside the chroot
      'ok n=7 h=' + out[6].split('h=')[1], // the mount is there
      'ok ..:d .:d m1:d', // `..` at a mount's root: the directory holding the mount point
      'err EROFS', 'err EROFS', 'err EROFS', 'err EROFS', 'err EROFS', // :ro
      'err EBUSY', 'err EBUSY', // a mount point cannot be removed or renamed
      'err EXDEV', 'err EXDEV', 'ok', // never across mounts; within one, fine
      'ok ..:d .:d a:d f:f g:f hostdir:l hostlink:l up:l',
      'done',
    ]);
    assert.equal(out[6], `ok n=7 h=${out[6].split('h=')[1]}`);
    assert.match(out[6], /"ro file"/);
    assert.deepEqual(treeLines(side.mounts[0].host), before, 'the read-only mount changed');
    // A read-only root (--ro-root) is read-only too.
    assert.deepEqual(nativeRun(side, 'mkdir\t/\tx\nunlink\t/\tf\n', ['--no-rules', '--ro-root']), ['err EROFS', 'err EROFS', 'done']);
    // The mount lived only in the helper's namespace: on the host the mount point shows the shadowed canary.
    assert.deepEqual(fs.readdirSync(path.join(side.root, 'a/m1')).map((n) => n.replace(/[0-9a-f]+$/, '')), ['shadow-']);
    assert.deepEqual(fs.readdirSync(path.join(e.tmp, 'outside')), [e.canaryName]);
  } finally {
    fs.rmSync(e.tmp, { recursive: true, force: true });
  }
});

test('native side: the oracle applies rules 0, 1, 3, 6 and 7 (literal `..` above the fd, also after links)', { skip }, () => {
  const c = fixed({
    root: { ro: false, tree: [
      { name: 'sub', kind: 'd', children: [
        { name: 'lnk', kind: 'l', target: '.' },
        { name: 'deep', kind: 'l', target: 'd/e' },
        { name: 'd', kind: 'd', children: [{ name: 'e', kind: 'd', children: [] }] },
        { name: 'abs', kind: 'l', target: '/sub/d' },
        { name: 'out', kind: 'l', target: '../other' },
      ] },
      { name: 'other', kind: 'd', children: [{ name: 'x', kind: 'f', data: 'x' }] },
      { name: 'x', kind: 'f', data: 'x' },
    ] },
  });
  const e = layout(c);
  try {
    const script = [
      'stat\t/\tsub/lnk/../../x', // RULES.md's example: NOTCAPABLE
      'stat\t/\tsub/lnk/../x', // back at the fd's directory: fine
      'stat\t/\tsub/deep/../../../x', // sub/d/e -> sub/d -> sub -> /: each `..` starts below the fd
      'stat\t/\tsub/deep/../../../../x', // the fourth starts at the fd: NOTCAPABLE
      'opendir\t$1\t/\tsub\t',
      'stat\t$1\tlnk/..', // at $1 itself: `..` climbs above it
      'stat\t$1\tabs/..', // the link went to /sub/d, strictly below $1: fine
      'stat\t$1\tout/..', // the link left $1's subtree: NOTCAPABLE
      'stat\t$1\tnope/../..', // the kernel's ENOENT comes first
      'stat\t/\t/x', // rule 1
      'symlink\t/x\t/\tnewlink', // rule 7
      'symlink\t/x\t/\tx', // rule 7, where the kernel says EEXIST
      'rename\t/\tnope\t/\t../x', // second path climbs; the kernel would say ENOENT for the first
      'stat\t$2\t/x', // a slot that is not open: BADF before anything else
      'open\t/\tsub/lnk\tdn', // rule 6: LOOP where Linux says ENOTDIR
      'ls\t/\t.',
    ].join('\n') + '\n';
    const out = nativeRun(e.sides.n, script);
    assert.deepEqual(out, [
      'rule3 ENOTCAPABLE', 'ok f size=1 nlink=1', 'ok f size=1 nlink=1', 'rule3 ENOTCAPABLE', 'ok',
      'rule3 ENOTCAPABLE', 'ok d', 'rule3 ENOTCAPABLE', 'err ENOENT', 'rule1 ENOTCAPABLE',
      'rule7 EPERM', 'rule7 EPERM|EEXIST', 'rule3 ENOTCAPABLE|ENOENT', 'rule0 EBADF', 'rule6 ELOOP', 'ok ..:d .:d other:d sub:d x:f', 'done',
    ]);
    assert.ok(agrees('rule3 ENOTCAPABLE|ENOENT', 'err ENOENT'));
    assert.ok(!agrees('rule3 ENOTCAPABLE', 'ok d'));
  } finally {
    fs.rmSync(e.tmp, { recursive: true, force: true });
  }
});

test('harness: planted discrepancies are caught (results, trees, :ro, canaries, outside changes)', { skip }, async () => {
  const base = fixed({
    root: { ro: false, tree: [{ name: 'f', kind: 'f', data: 'root' }] },
    mounts: [{ guest: '/m1', ro: true, tree: [{ name: 'f', kind: 'f', data: 'in m1' }] }],
  });
  const kinds = async (ops, plant, opts = { twin: true }) => {
    const problems = await runCase({ ...base, ops }, { bin: native.bin, runtime, module, plant, ...opts });
    return [...new Set(problems.map((p) => p.kind))].sort();
  };
  // Without a plant the cases agree, so what follows is each plant's doing. The plants are
  // tested with the kernel on both sides ("twin"), so wtm's own bugs cannot hide them.
  const ops = [['stat', '/', 'nope'], ['write', '/m1', 'f', '', 'w1'], ['ls', '/m1', '.'], ['read', '/', 'f', '']];
  assert.deepEqual(await kinds(ops, null), []);
  assert.deepEqual(await kinds([['stat', '/', 'nope']], 'flip-result'), ['result']);
  assert.deepEqual(await kinds([['write', '/m1', 'f', '', 'w1']], 'rw-mounts'), ['result']);
  assert.deepEqual(await kinds([['ls', '/m1', '.']], 'expose-outside'), ['canary-named', 'result']);
  assert.deepEqual(await kinds([['read', '/m1', '@CANARY', '']], 'expose-outside'), ['canary-read', 'result']);
  assert.deepEqual(await kinds([['stat', '/', 'f']], 'wtm-writes-tree'), ['tree']);
  assert.deepEqual(await kinds([['stat', '/', 'f']], 'wtm-writes-outside'), ['outside']);
  // And wtm itself, in this thread and in a worker, on calls it gets right today.
  const easy = [['stat', '/', 'nope'], ['ls', '/m1', '.'], ['read', '/', 'f', ''], ['mkdir', '/', 'd']];
  assert.deepEqual(await kinds(easy, null, {}), []);
  assert.deepEqual(await kinds(easy, null, { worker: true }), []);
  assert.deepEqual(await kinds(easy, 'flip-result', {}), ['result']);
});

test('harness: native against itself agrees, and a planted bug is found and shrunk (fast-check)', { skip }, async () => {
  const twin = { bin: native.bin, runtime, module, twin: true };
  // No false alarms: the same case twice on the kernel gives the same results and trees.
  const clean = await fc.check(fc.asyncProperty(caseArb(), async (c) => (await runCase(c, twin)).length === 0), { seed: 42, numRuns: 20 });
  assert.equal(clean.failed, false, clean.counterexample && describeCase(clean.counterexample[0]));
  // A planted bug (ENOENT reported as EACCES) is found and shrunk to a single operation.
  const r = await fc.check(fc.asyncProperty(caseArb(), async (c) => (await runCase(c, { ...twin, plant: 'flip-result' })).length === 0), { seed: 42, numRuns: 100 });
  assert.equal(r.failed, true, 'the planted bug was not found');
  const small = await minimize(r.counterexample[0], async (c) => (await runCase(c, { ...twin, plant: 'flip-result' })).length > 0, { parts: ['ops'] });
  assert.equal(small.ops.length, 1, describeCase(small));
  assert.match(small.ops[0].join(' '), /./);
});

test('wtm agrees with the kernel on hand-picked cases (directed-cases.js)', { skip }, async (t) => {
  for (const [title, dc] of directedCases) {
    await t.test(title, async () => {
      const c = normalizeCase(dc);
      const problems = await runCase(c, { bin: native.bin, runtime, module, all: true });
      assert.deepEqual(problems.map((p) => p.text), [], describeCase(c));
    });
  }
});

test('wtm agrees with the kernel on random trees and path operations', { skip, timeout: 600000 }, async (t) => {
  const started = Date.now();
  t.diagnostic(`seed ${SEED}, ${RUNS} runs${TIME_MS ? `, at most ${TIME_MS} ms` : ''}${PATH ? `, path ${PATH}` : ''}`);
  let ran = 0;
  const prop = fc.asyncProperty(caseArb(), async (c) => {
    ran++;
    const problems = await runCase(c, { bin: native.bin, runtime, module, ignore: IGNORE, worker: WORKER });
    if (problems.length) throw new Error(problems.map((p) => p.text).join('\n'));
  });
  const r = await fc.check(prop, {
    seed: SEED, numRuns: RUNS, ...(PATH ? { path: PATH } : {}),
    // The limit covers shrinking too: a failure is reported with the smallest case found in time.
    ...(TIME_MS ? { interruptAfterTimeLimit: TIME_MS } : {}),
  });
  t.diagnostic(`${ran} cases (with shrinking) in ${Date.now() - started} ms`);
  if (!r.failed) return;
  // fast-check's shrinking, then ours: drop what plays no part, keeping the same first problem.
  const ctx = { bin: native.bin, runtime, module, ignore: IGNORE, worker: WORKER };
  const want = firstClass(r.counterexample[0], await runCase(r.counterexample[0], ctx));
  const c = want ? await minimize(r.counterexample[0], async (x) => firstClass(x, await runCase(x, ctx)) === want) : r.counterexample[0];
  const again = await runCase(c, ctx);
  assert.fail([
    `wtm and the kernel disagree (seed ${r.seed}, path "${r.counterexamplePath}", shrunk ${r.numShrinks} times, then minimized).`,
    `Reproduce: WTM_PROPERTY_SEED=${r.seed} WTM_PROPERTY_PATH="${r.counterexamplePath}" node --test tests/property/pathops.test.js`,
    describeCase(c),
    'problems:',
    ...(again.length ? again : [{ text: String(r.errorInstance?.message ?? r.error) }]).map((p) => `  ${p.text.replaceAll('\n', '\n  ')}`),
  ].join('\n'));
});
