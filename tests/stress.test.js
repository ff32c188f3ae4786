// Concurrency stress test of the sandbox (the containment issue): tasks run in parallel through
// the library, each in its own fresh root with a shared writable mount (/w) and a shared :ro
// mount (/ro) on the same host file system, and churn for a bounded time (tests/guests/churn.c:
// mkdir/rmdir, renames of files and directories back and forth, link/unlink, symlinks with
// `..` targets, opens through links, `..` after links, walks 300 directories deep, past the
// directory cache, writes into /ro and reaches outside, which must all fail). Some of them
// share a directory onward with a task of their own and swap it for symlinks while that task
// runs. Meanwhile a host thread (tests/stress-swapper.js) swaps directories under /w for
// symlinks and back as fast as it can: to `..`, `../..`, `/`, the :ro mount's host path, the
// outside canary directory, another task's root, and restores them; half the time the
// directory waits out of the mount, beside the canary, while the link is in its place.
//
// Afterwards the host checks on its own: the canaries (random contents outside every mount)
// are unchanged and in no task's output; the :ro mount is byte-identical and none of its
// files gained a link (or turned up elsewhere); every task's root holds only what that task
// wrote (its token, names carrying its id) and no task's token or files are anywhere else;
// nothing new appeared beside the mounts or in the host's /; the process's fd count is back
// to its baseline; every task ended in time.
//
// WTM_STRESS_SECONDS (default 10): the churn budget, shared by the tasks (each churns
// SECONDS * concurrency / tasks); WTM_STRESS_TASKS (default 12) the number of tasks;
// WTM_STRESS_VERBOSE=1 prints each task's counts; WTM_KEEP_STRESS=1 keeps the directories.
// A soak: WTM_STRESS_SECONDS=120 node --test tests/stress.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { treeDigest } from './helpers.js';
import { Runtime } from '../dist/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const guest = (name) => path.join(repo, 'tests/guests', `${name}.wasm`);
const text = (b) => Buffer.from(b ?? []).toString('utf8');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const SECONDS = Number(process.env.WTM_STRESS_SECONDS ?? 10);
const TASKS = Number(process.env.WTM_STRESS_TASKS ?? 12);
const CONCURRENCY = 4;
// Tasks that start tasks of their own: fewer than the slots, so parents waiting for their
// tasks can never hold every slot (no deadlock of the task tree). They come last and churn
// twice as long, so that their tasks find free slots once the other tasks are done.
const PARENTS = Math.min(CONCURRENCY - 1, 2, TASKS);
const NSLOTS = 4; // /w/swap0..3 and /w/swap0/in, /w/swap1/in are swapped by the host
const MS = Math.max(400, Math.round((SECONDS * 1000 * CONCURRENCY) / (TASKS + 2 * PARENTS)));
const CHILD_MS = Math.max(150, Math.round(MS / 6)); // the parents' tasks, one after the other
const DEADLINE_MS = SECONDS * 1000 * 3 + 60000;

// A tmpfs where there is one (thousands of entries are made); every directory of the test
// (mounts, canaries, task roots) on one file system, so hard links and renames across would work.
const fastTmp = (() => {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
})();

const fdCount = () => fs.readdirSync('/proc/self/fd').length;

/** The fd count once it has come down to `target` (or stopped changing, without one). */
async function settleFds(target) {
  const deadline = Date.now() + 10000;
  let last = -1;
  for (;;) {
    const n = fdCount();
    if ((target !== undefined && n <= target) || (target === undefined && n === last) || Date.now() > deadline) return n;
    last = n;
    await sleep(100);
  }
}

/** Every entry under dir, links not followed: { rel, st, content? } (content of regular files). */
function walk(dir, { contents = true } = {}) {
  const out = [];
  const go = (d, rel) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      const st = fs.lstatSync(p, { bigint: true });
      const e = { rel: rel + n, st };
      if (st.isFile() && contents) e.content = fs.readFileSync(p, 'utf8');
      out.push(e);
      if (st.isDirectory()) go(p, `${rel}${n}/`);
    }
  };
  go(dir, '');
  return out;
}

/** A digest of the :ro tree with link counts, and its files by inode. */
function survey(dir) {
  const h = crypto.createHash('sha256');
  const inodes = new Map();
  for (const e of walk(dir).sort((a, b) => (a.rel < b.rel ? -1 : 1))) {
    h.update(`${e.rel}|${e.st.mode}|${e.st.size}|${e.st.mtimeNs}|${e.st.ctimeNs}|${e.st.nlink}|${e.st.ino}\n`);
    if (e.content !== undefined) {
      h.update(e.content);
      inodes.set(`${e.st.dev}:${e.st.ino}`, { rel: e.rel, nlink: Number(e.st.nlink) });
    }
  }
  return { digest: h.digest('hex'), inodes };
}

/** Names a guest makes for task X (the churn guest's patterns). */
const GUEST_NAME = /^(token-(c\d+_\d+|\d+)\.txt|own-(c\d+_\d+|\d+)|[a-z]+-(c\d+_\d+|\d+)-\d+)$/;
const ownerOf = (name) => {
  const m = GUEST_NAME.exec(name);
  return m ? m[2] ?? m[3] ?? m[4] : null;
};

function scene() {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(fastTmp, 'wtm-stress-')));
  const canary = `CANARY-${crypto.randomUUID()}`;
  const s = {
    base, canary,
    outside: path.join(base, 'outside'), w: path.join(base, 'w'), ro: path.join(base, 'ro'), tasks: path.join(base, 'tasks'),
  };
  // The outside directory looks like a swapped one (marker, in/): a host path looked up again
  // after the host pointed swapK at it would land on the canary.
  fs.mkdirSync(path.join(s.outside, 'in'), { recursive: true });
  for (const f of ['secret.txt', 'marker', 'in/secret.txt', 'in/marker']) fs.writeFileSync(path.join(s.outside, f), canary);
  fs.writeFileSync(path.join(base, 'canary-beside.txt'), canary);
  fs.mkdirSync(s.tasks);
  for (let k = 0; k < NSLOTS; k++) {
    fs.mkdirSync(path.join(s.w, `swap${k}`, 'in'), { recursive: true });
    fs.writeFileSync(path.join(s.w, `swap${k}`, 'marker'), `SWAP-${k}`);
    fs.writeFileSync(path.join(s.w, `swap${k}`, 'in', 'marker'), `SWAP-${k}-in`);
  }
  fs.mkdirSync(path.join(s.ro, 'RO-dir'), { recursive: true });
  for (let k = 0; k < 4; k++) fs.writeFileSync(path.join(s.ro, `RO-file-${k}.txt`), `RO-${crypto.randomUUID()}-${k}`);
  fs.writeFileSync(path.join(s.ro, 'RO-dir', 'RO-sub.txt'), `RO-${crypto.randomUUID()}-sub`);
  fs.copyFileSync(guest('churn'), path.join(s.ro, 'churn.wasm'));
  return s;
}

/** The guest's two report lines, its ESCAPE/WRONG lines. */
function report(out) {
  const m = /^attempts=(\d+) escapes=(\d+) wrong=(\d+)$/m.exec(out);
  const ops = /^churn (\S+) ops=(\d+) (.*)$/m.exec(out);
  return {
    attempts: m ? Number(m[1]) : null, escapes: m ? Number(m[2]) : null, wrong: m ? Number(m[3]) : null,
    ops: ops ? Number(ops[2]) : null, counts: ops ? ops[3] : '',
    lines: out.split('\n').filter((l) => l.startsWith('ESCAPE: ') || l.startsWith('WRONG: ')),
  };
}

test(`stress: ${TASKS} tasks churn /w and /ro in parallel while the host swaps directories for symlinks under them`, { skip: !fs.existsSync('/proc/self/fd') && 'needs /proc/self/fd (Linux)', timeout: DEADLINE_MS + 60000 }, async () => {
  const t0 = Date.now();
  // Warm up once (the first worker start may open fds for good), then take the fd baseline.
  const warmDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-stress-warm-'));
  const warm = new Runtime({ tasksDir: warmDir });
  await warm.spawn({ module: path.join(repo, 'examples/hello.wasm') }).wait();
  await warm.close();
  fs.rmSync(warmDir, { recursive: true, force: true });
  const fdBaseline = await settleFds();

  const s = scene();
  const roBefore = survey(s.ro);
  const outsideBefore = treeDigest(s.outside);
  const baseBefore = fs.readdirSync(s.base).sort();
  const hostRootBefore = fs.readdirSync('/').sort();
  const tokens = new Map(); // task name (i, or c<i>_<k> for the k-th task of task i) -> its token
  const childSecrets = new Map(); // parent name -> the secret in its children's tokens
  const problems = [];
  const rt = new Runtime({ tasksDir: s.tasks, maxConcurrency: CONCURRENCY });
  const control = new SharedArrayBuffer(12);
  let swapper = null;
  let swapperDone = null;
  let fdMost = 0;
  const sampler = setInterval(() => (fdMost = Math.max(fdMost, fdCount())), 50);
  const results = new Map(); // task name -> result
  let closed = false;
  try {
    // ---- the tasks, all at once ----
    // The parents come last: their tasks then wait behind no other main task (the queue is
    // first come, first served, and a parent holds its slot while it waits for its task).
    const handles = [];
    for (let i = 0; i < TASKS; i++) {
      const name = String(i);
      tokens.set(name, `TOKEN-${name}-${crypto.randomUUID()}`);
      const parent = i >= TASKS - PARENTS;
      const args = ['main', name, String(parent ? 2 * MS : MS), String(NSLOTS), tokens.get(name)];
      if (parent) {
        childSecrets.set(name, crypto.randomUUID());
        args.push(childSecrets.get(name), String(CHILD_MS));
      }
      handles.push([name, rt.spawn({
        module: guest('churn'), args, timeoutMs: MS * 8 + 60000,
        mounts: [{ host: s.w, guest: '/w' }, { host: s.ro, guest: '/ro', readonly: true }],
      })]);
    }
    // ---- the host's swaps, under /w, as fast as it can ----
    const taskRoots = handles.map(([, h]) => path.join(s.tasks, h.id));
    swapper = new Worker(path.join(repo, 'tests/stress-swapper.js'), {
      workerData: {
        w: s.w, park: s.outside, control,
        slots: [...Array.from({ length: NSLOTS }, (_, k) => ({ parent: '', name: `swap${k}` })),
          { parent: 'swap0', name: 'in' }, { parent: 'swap1', name: 'in' }],
        relTargets: { top: ['..', '../..', '../../..', '.'], inner: ['..', '../..', '../../..', '../../../..'] },
        // Kinds of target, each as likely as the others (then one of its kind).
        absTargets: [['/'], ['/etc'], [s.ro], [s.outside], [s.base], [s.tasks], [s.w], taskRoots],
      },
    });
    swapperDone = new Promise((resolve, reject) => {
      swapper.once('message', resolve);
      swapper.once('error', reject);
      swapper.once('exit', (code) => reject(new Error(`the swapper exited (${code}) without a report`)));
    });

    let timer;
    const hung = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`tasks still running after ${DEADLINE_MS} ms: ${rt.tasks.list().filter((t) => t.state === 'running' || t.state === 'queued').length} left`)), DEADLINE_MS)));
    try {
      await Promise.race([Promise.all(handles.map(async ([name, h]) => results.set(name, await h.wait()))), hung]);
    } finally {
      clearTimeout(timer);
    }
    Atomics.store(new Int32Array(control), 0, 1);
    const swaps = await swapperDone;
    swapper = null;
    // The tasks the guests started: every task of the queue that is not one of ours.
    const ours = new Set(handles.map(([, h]) => h.id));
    for (const t of rt.tasks.list()) {
      if (ours.has(t.id)) continue;
      const r = await rt.tasks.wait(t.id);
      const name = t.spec.args?.[0] === 'child' ? t.spec.args[1] : `?${t.id}`;
      results.set(name, r);
      const parent = /^c(\d+)_\d+$/.exec(name)?.[1];
      if (parent !== undefined && childSecrets.has(parent)) tokens.set(name, `TOKEN-${name}-${childSecrets.get(parent)}`);
    }
    await rt.close();
    closed = true;
    clearInterval(sampler);
    const wall = (Date.now() - t0) / 1000;

    // ---- what each task said ----
    const outputs = new Map();
    const perTask = [];
    let escapes = 0;
    let wrong = 0;
    let attempts = 0;
    for (const [name, r] of [...results].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }))) {
      const out = text(r.stdout) + text(r.stderr);
      outputs.set(name, out);
      const rep = report(out);
      if (r.state !== 'success') problems.push(`task ${name}: ${r.state} (exit ${r.exitCode}) ${r.error ?? ''} ${out.slice(-500)}`);
      if (rep.escapes === null) problems.push(`task ${name}: no report line: ${out.slice(-500)}`);
      escapes += rep.escapes ?? 0;
      wrong += rep.wrong ?? 0;
      attempts += rep.attempts ?? 0;
      if (rep.lines.length) problems.push(`task ${name}:\n  ${rep.lines.slice(0, 20).join('\n  ')}`);
      perTask.push({ name, ops: rep.ops, counts: rep.counts });
      if (!tokens.has(name)) problems.push(`an unexpected task ${name}`);
    }
    for (const [parent] of childSecrets) {
      const said = Number(/children=(\d+)/.exec(perTask.find((t) => t.name === parent)?.counts ?? '')?.[1] ?? 0);
      const ran = [...results.keys()].filter((n) => n.startsWith(`c${parent}_`)).length;
      if (said < 1 || ran !== said) problems.push(`task ${parent} started ${said} tasks, the queue ran ${ran}`);
    }

    // ---- canaries and tokens in the output ----
    for (const [name, out] of outputs) {
      if (out.includes(s.canary)) problems.push(`task ${name}: the canary is in its output`);
      for (const [other, tok] of tokens) if (other !== name && out.includes(tok)) problems.push(`task ${name}: task ${other}'s token is in its output`);
    }
    if (treeDigest(s.outside) !== outsideBefore) problems.push(`the outside directory changed: ${fs.readdirSync(s.outside).join(', ')}`);
    if (fs.readFileSync(path.join(s.base, 'canary-beside.txt'), 'utf8') !== s.canary) problems.push('canary-beside.txt changed');

    // ---- the :ro mount ----
    const roAfter = survey(s.ro);
    if (roAfter.digest !== roBefore.digest) problems.push(`the :ro mount changed: ${walk(s.ro).map((e) => e.rel).join(', ')}`);
    for (const f of roAfter.inodes.values()) if (f.nlink !== 1) problems.push(`the :ro file ${f.rel} has ${f.nlink} links`);

    // ---- nothing beside the mounts, nothing in the host's / ----
    const baseAfter = fs.readdirSync(s.base).sort();
    if (baseAfter.join() !== baseBefore.join()) problems.push(`entries beside the mounts: ${baseAfter.filter((n) => !baseBefore.includes(n)).join(', ')}`);
    const hostRootNew = fs.readdirSync('/').filter((n) => !hostRootBefore.includes(n));
    if (hostRootNew.some((n) => ownerOf(n) !== null)) problems.push(`the host's / gained ${hostRootNew.join(', ')}`);
    const besideBase = fs.readdirSync(path.dirname(s.base)).filter((n) => ownerOf(n) !== null);
    if (besideBase.length) problems.push(`${path.dirname(s.base)} gained ${besideBase.join(', ')}`);

    // ---- every task's root holds only what that task wrote ----
    const roots = new Map([...results].map(([name, r]) => [path.basename(r.root), name]));
    const tasksNow = fs.readdirSync(s.tasks);
    for (const d of tasksNow) if (!roots.has(d)) problems.push(`the tasks directory holds ${d}, no task's root`);
    let throughLinks = 0; // entries a task made in /w/swapK that a link took to its own root
    for (const [dir, name] of roots) {
      const root = path.join(s.tasks, dir);
      if (!fs.existsSync(root)) { problems.push(`task ${name}: no root`); continue; }
      for (const top of fs.readdirSync(root)) {
        const owner = ownerOf(top);
        if (/^[a-z]+-/.test(top) && owner === name) throughLinks++;
        if (owner !== name) problems.push(`task ${name}'s root holds ${top}${owner !== null ? ` (task ${owner}'s)` : ''}`);
      }
      let token = null;
      try { token = fs.readFileSync(path.join(root, `token-${name}.txt`), 'utf8'); } catch { /* missing */ }
      if (token !== tokens.get(name)) problems.push(`task ${name}'s token file holds ${token}`);
      for (const e of walk(root)) {
        if (e.content === undefined) continue;
        if (e.content.includes('CANARY')) problems.push(`task ${name}'s root: ${e.rel} holds a canary`);
        if (/^(RO-|SWAP-|SHARE-)/.test(e.content)) problems.push(`task ${name}'s root: ${e.rel} holds "${e.content.slice(0, 40)}"`);
        for (const [other, tok] of tokens) if (other !== name && e.content.includes(tok)) problems.push(`task ${name}'s root: ${e.rel} holds task ${other}'s token`);
        if (roBefore.inodes.has(`${e.st.dev}:${e.st.ino}`)) problems.push(`task ${name}'s root: ${e.rel} is a :ro file`);
      }
    }

    // ---- the shared mount: only what tasks may write there; the swapped directories back ----
    let wEntries = 0;
    for (const e of walk(s.w)) {
      wEntries++;
      const leaf = path.basename(e.rel);
      if (/^(token-|own-|RO-)/.test(leaf) || /^(outside|tasks|canary-beside\.txt|secret\.txt)$/.test(leaf)) problems.push(`/w holds ${e.rel}`);
      if (e.content !== undefined && (e.content.includes('CANARY') || /^(RO-|TOKEN-|OWN-)/.test(e.content))) problems.push(`/w: ${e.rel} holds "${e.content.slice(0, 40)}"`);
      if (roBefore.inodes.has(`${e.st.dev}:${e.st.ino}`)) problems.push(`/w: ${e.rel} is a :ro file`);
    }
    for (let k = 0; k < NSLOTS; k++) {
      const m = (p) => { try { return fs.readFileSync(path.join(s.w, p), 'utf8'); } catch (e) { return e.code; } };
      if (m(`swap${k}/marker`) !== `SWAP-${k}` || m(`swap${k}/in/marker`) !== `SWAP-${k}-in`) problems.push(`/w/swap${k} was not restored`);
    }
    if (swaps.errors) problems.push(`the swapper failed ${swaps.errors} times (first: ${swaps.firstError})`);

    // ---- fds ----
    const fdAfter = await settleFds(fdBaseline);
    if (fdAfter > fdBaseline) problems.push(`${fdAfter - fdBaseline} fds left open (baseline ${fdBaseline}, after ${fdAfter})`);

    // ---- what was measured ----
    const ops = perTask.map((t) => t.ops ?? 0);
    const sorted = [...ops].sort((a, b) => a - b);
    const mainOps = perTask.filter((t) => !t.name.startsWith('c')).map((t) => t.ops ?? 0);
    console.log(`# stress: ${TASKS} tasks + ${results.size - TASKS} started by tasks, maxConcurrency ${CONCURRENCY}, ${MS} ms of churn each (${2 * MS} ms for the ${PARENTS} that start tasks, ${CHILD_MS} ms for those); wall ${wall.toFixed(1)} s`);
    console.log(`# stress: ops per task min ${sorted[0]} median ${sorted[Math.floor(sorted.length / 2)]} max ${sorted[sorted.length - 1]}, total ${ops.reduce((a, b) => a + b, 0)} (main tasks ${mainOps.reduce((a, b) => a + b, 0)}); checked attempts ${attempts}, escapes ${escapes}, wrong ${wrong}`);
    console.log(`# stress: host swaps ${swaps.swaps} (${Math.round(swaps.swaps / wall)}/s over the wall time; ${swaps.parkedOut} times the directory parked out of the mount, beside the canary), swapper errors ${swaps.errors}; /w holds ${wEntries} entries after; fds: baseline ${fdBaseline}, at most ${fdMost}, after ${fdAfter}`);
    const kinds = new Map();
    for (const t of perTask) for (const [, k, v] of t.counts.matchAll(/(\w+)=(\d+)/g)) if (!/ms$|^s2$/.test(k)) kinds.set(k, (kinds.get(k) ?? 0) + Number(v));
    console.log(`# stress: ops per task ${perTask.map((t) => `${t.name}:${t.ops}`).join(' ')}`);
    console.log(`# stress: all tasks: ${[...kinds].map(([k, v]) => `${k}=${v}`).join(' ')}; entries that reached a task's own root through a swapped link: ${throughLinks}`);
    if (process.env.WTM_STRESS_VERBOSE) for (const t of perTask) console.log(`# stress: task ${t.name}: ops=${t.ops} ${t.counts}`);
    assert.deepEqual(problems, []);
    assert.equal(escapes, 0);
    assert.equal(wrong, 0);
    assert.ok(swaps.swaps > 100, `only ${swaps.swaps} host swaps`);
  } finally {
    clearInterval(sampler);
    if (swapper) {
      Atomics.store(new Int32Array(control), 0, 1);
      await swapperDone.catch(() => {});
    }
    if (!closed) await rt.close().catch(() => {});
    if (!process.env.WTM_KEEP_STRESS) fs.rmSync(s.base, { recursive: true, force: true });
    else console.log(`# stress: kept ${s.base}`);
  }
});

// A directory the host moves out of a mount while a guest runs stays reachable for that guest
// through the handles it holds: its own fds (as on Linux and in wasmtime) and wtm's directory
// cache, by the old name, until the cache drops it (docs/sandbox.md, "What a concurrent host
// writer can do"). The exposure is that directory's own subtree and nothing around it: `..`
// and links are walked by guest paths, never by the kernel's idea of the moved directory's
// new parent. This test holds the bound.
test('a directory the host moves out of a mount exposes at most its own subtree, never its new surroundings', {
  skip: !fs.existsSync('/proc/self/fd') && 'needs /proc/self/fd (Linux)',
}, async () => {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(fastTmp, 'wtm-stale-')));
  const w = path.join(base, 'w');
  const outside = path.join(base, 'outside');
  const canary = `CANARY-${crypto.randomUUID()}`;
  fs.mkdirSync(path.join(w, 'x'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(w, 'x', 'secret.txt'), 'W-inside');
  fs.writeFileSync(path.join(w, 'beside.txt'), 'W-beside');
  // Beside where x will go: what the guest must never see.
  fs.writeFileSync(path.join(outside, 'beside.txt'), canary);
  fs.symlinkSync('..', path.join(w, 'x', 'up'));
  const rt = new Runtime({ tasksDir: path.join(base, 'tasks') });
  try {
    const task = rt.spawn({
      module: guest('churn'), args: ['stale', '/w', '1500', 'x/secret.txt', 'x/../beside.txt', 'x/up/beside.txt', 'x/up/x/up/beside.txt'],
      mounts: [{ host: w, guest: '/w' }],
    });
    for (const until = Date.now() + 20000; !fs.existsSync(path.join(w, 'ready')) && Date.now() < until;) await sleep(5);
    // The host takes x out of the mount and keeps a file of its own in it.
    fs.renameSync(path.join(w, 'x'), path.join(outside, 'x'));
    fs.writeFileSync(path.join(outside, 'x', 'secret.txt'), 'HOST-moved');
    const r = await task.wait();
    const out = text(r.stdout);
    console.log(`# moved out: ${out.trim().split('\n').join('; ')}`);
    assert.equal(r.state, 'success', out);
    assert.match(out, /^read 0 x\/secret\.txt: SUCCESS W-inside$/m);
    assert.ok(!out.includes(canary), `the guest reached the moved directory's new surroundings:\n${out}`);
    // `..` from the moved directory is the guest's /w, whether reached by name or through a link.
    for (const p of ['x/../beside.txt', 'x/up/beside.txt']) {
      const answers = out.split('\n').filter((l) => l.includes(` ${p}: `)).map((l) => l.slice(l.indexOf(': ') + 2));
      for (const a of answers) assert.ok(a === 'SUCCESS W-beside' || a.startsWith('NOENT'), `${p}: ${a}`);
    }
  } finally {
    await rt.close();
    fs.rmSync(base, { recursive: true, force: true });
  }
});
