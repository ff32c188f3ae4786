// Containment regression tests, written as an attacker would: real guests (tests/guests/
// attack_*.c) run by the real CLI as untrusted processes (`wtm run --no-host`), each trying one
// class of escape the issue reported, with variants. The guest reports its own view (its last
// line is `attempts=N escapes=M wrong=K`: an escape got out or acted on another directory than
// the one named, a wrong one got another errno or result than RULES.md asks for); the host then
// checks on its own that nothing escaped: canary files with unique contents outside the mounts
// never appear in the guest's output, nothing outside the mounts changed, `:ro` mounts are
// byte-identical and no hard link to a `:ro` file exists anywhere else.
//
//   A. task mounts (rule 12): a directory shared with a task is swapped for a symlink after
//      task_submit; the task must see the directory that was checked, or fail cleanly.
//   B. directory handles (handles, not names): a lookup that opens more directories than the
//      directory cache holds must not close (and so free the fd number of) a directory the
//      call still holds; fd numbers are the whole process's, so a freed one can be taken by
//      another task's directory.
//   C. `..` after links (rule 3): the literal `..` of a path may not climb above its fd, after
//      links were followed too; where it stays strictly below, the call works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeDigest } from './helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(repo, 'bin/wtm.js');
const guest = (name) => path.join(repo, 'tests/guests', `${name}.wasm`);
// Runs record into a registry of this file's own, never the user's ~/.wtm.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-test-home-'));
const keep = !!process.env.WTM_KEEP_ATTACKS;

function run(args, wtmHome = home) {
  return spawnSync(process.execPath, [wtm, 'run', '--no-host', ...args], {
    encoding: 'utf8', input: '', timeout: 60000, maxBuffer: 64 << 20, env: { ...process.env, WTM_HOME: wtmHome },
  });
}

/** A fresh scenario directory: BASE with an `outside` sibling of the mounts holding a canary. */
function scenario(name, tmpdir = os.tmpdir()) {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir, `wtm-attack-${name}-`)));
  const canary = `CANARY-${name}-${crypto.randomUUID()}`;
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), canary);
  fs.writeFileSync(path.join(base, 'canary-beside.txt'), canary);
  return { base, canary, outside };
}

/** The guest's report: its counts and its ESCAPE/WRONG lines. */
function report(r) {
  const m = /^attempts=(\d+) escapes=(\d+) wrong=(\d+)$/m.exec(r.stdout ?? '');
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('ESCAPE: ') || l.startsWith('WRONG: '));
  return { attempts: m ? Number(m[1]) : 0, escapes: m ? Number(m[2]) : null, wrong: m ? Number(m[3]) : null, lines };
}

/** Every entry under dir (no links followed) as "rel type", to compare the names in a tree. */
function names(dir) {
  const out = [];
  const walk = (d, rel) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      const st = fs.lstatSync(p);
      out.push(`${rel}${n} ${st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : 'file'}`);
      if (st.isDirectory()) walk(p, `${rel}${n}/`);
    }
  };
  walk(dir, '');
  return out;
}

/**
 * What failed, all at once, so a red test names every class of finding: the guest's own
 * counts and lines, canaries in its output, and the host's changes.
 */
function verdict(label, r, rep, { canary, hostChanges, minAttempts }) {
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  const found = {
    ran: rep.attempts >= minAttempts && rep.escapes !== null,
    escapes: rep.escapes,
    wrong: rep.wrong,
    canaryInOutput: out.includes(canary),
    hostChanges,
  };
  const want = { ran: true, escapes: 0, wrong: 0, canaryInOutput: false, hostChanges: [] };
  console.log(`# ${label}: attempts=${rep.attempts} escapes=${rep.escapes} wrong=${rep.wrong}, host changes ${hostChanges.length}, canary ${found.canaryInOutput ? 'SEEN' : 'never seen'}`);
  const detail = [
    `${label}: attempts=${rep.attempts} escapes=${rep.escapes} wrong=${rep.wrong} exit=${r.status}`,
    ...rep.lines.slice(0, 60),
    rep.lines.length > 60 ? `... ${rep.lines.length - 60} more` : '',
    found.ran ? '' : `guest output:\n${out.slice(-3000)}`,
  ].filter(Boolean).join('\n');
  assert.deepEqual(found, want, detail);
  assert.equal(r.status, 0, detail);
}

// ---- A. task mounts ------------------------------------------------------------------------

function taskScenario() {
  const s = scenario('tasks');
  const w = path.join(s.base, 'w');
  const bin = path.join(s.base, 'bin');
  fs.mkdirSync(w);
  fs.mkdirSync(bin);
  for (const g of ['attack_probe', 'attack_tasks']) fs.copyFileSync(guest(g), path.join(bin, `${g}.wasm`));
  const outsideBefore = treeDigest(s.outside);
  const binBefore = treeDigest(bin);
  const topBefore = fs.readdirSync(s.base).sort();
  return {
    ...s, w, bin,
    hostChanges() {
      const changes = [];
      if (treeDigest(s.outside) !== outsideBefore) changes.push(`outside changed: ${names(s.outside).join(', ')}`);
      if (treeDigest(bin) !== binBefore) changes.push('the read-only /bin mount changed');
      const top = fs.readdirSync(s.base).sort();
      if (top.join() !== topBefore.join()) changes.push(`entries beside the mounts: ${top.join(', ')}`);
      if (fs.readFileSync(path.join(s.base, 'canary-beside.txt'), 'utf8') !== s.canary) changes.push('canary-beside.txt changed');
      return changes;
    },
  };
}

test('A. task mounts: a shared directory swapped for a symlink after task_submit (at once, queued, intermediate, relayed, read-only, through a link, as /)', () => {
  const s = taskScenario();
  try {
    const r = run(['--max-tasks', '2', '--dir', `${s.w}:/w`, '--dir', `${s.bin}:/bin:ro`, guest('attack_tasks'), 'all', '/w', '/bin', 'outside']);
    verdict('attack_tasks all', r, report(r), { canary: s.canary, hostChanges: s.hostChanges(), minAttempts: 10 });
  } finally {
    if (!keep) fs.rmSync(s.base, { recursive: true, force: true });
  }
});

test('A. task mounts: the swap while the task waits for the only slot (--max-tasks 1)', () => {
  const s = taskScenario();
  try {
    const r = run(['--max-tasks', '1', '--dir', `${s.w}:/w`, '--dir', `${s.bin}:/bin:ro`, guest('attack_tasks'), 'queued', '/w', '/bin', 'outside']);
    verdict('attack_tasks queued', r, report(r), { canary: s.canary, hostChanges: s.hostChanges(), minAttempts: 2 });
  } finally {
    if (!keep) fs.rmSync(s.base, { recursive: true, force: true });
  }
});

// ---- B. directory handles held by a call ---------------------------------------------------

const DEPTH = 300;
const DIR_FLAGS = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;

/**
 * The chain is DEPTH levels deep: every host call goes through /proc/self/fd/N/NAME (one name
 * in an open directory), or each would walk DEPTH components. Linux only, as the attack.
 */
function survey(dir) {
  const h = crypto.createHash('sha256');
  const inodes = new Map();
  const walk = (dfd, rel) => {
    const at = (n) => `/proc/self/fd/${dfd}/${n}`;
    for (const name of fs.readdirSync(`/proc/self/fd/${dfd}`).sort()) {
      const st = fs.lstatSync(at(name), { bigint: true });
      h.update(`${rel}${name}|${st.mode}|${st.size}|${st.mtimeNs}|${st.nlink}\n`);
      if (st.isDirectory()) {
        const c = fs.openSync(at(name), DIR_FLAGS);
        try { walk(c, `${rel}${name}/`); } finally { fs.closeSync(c); }
      } else if (st.isSymbolicLink()) {
        h.update(fs.readlinkSync(at(name)));
      } else if (st.isFile()) {
        h.update(fs.readFileSync(at(name)));
        inodes.set(`${st.dev}:${st.ino}`, { rel: `${rel}${name}`, nlink: Number(st.nlink) });
      }
    }
  };
  const fd = fs.openSync(dir, DIR_FLAGS);
  try { walk(fd, ''); } finally { fs.closeSync(fd); }
  return { digest: h.digest('hex'), inodes };
}

/** ro/f/f/.../f: each level holds v and d0..d5 (files the guest names), e0 and e1, rl -> RO-LINK. */
function makeChain(ro) {
  let fd = fs.openSync(ro, DIR_FLAGS);
  try {
    for (let level = 1; level <= DEPTH; level++) {
      fs.mkdirSync(`/proc/self/fd/${fd}/f`);
      const next = fs.openSync(`/proc/self/fd/${fd}/f`, DIR_FLAGS);
      fs.closeSync(fd);
      fd = next;
      const at = (n) => `/proc/self/fd/${fd}/${n}`;
      for (const n of ['v', 'd0', 'd1', 'd2', 'd3', 'd4', 'd5']) fs.writeFileSync(at(n), `RO-VICTIM-${level}-${n}`);
      fs.mkdirSync(at('e0'));
      fs.mkdirSync(at('e1'));
      fs.symlinkSync('RO-LINK', at('rl'));
    }
  } finally {
    fs.closeSync(fd);
  }
  // l1 -> l2 -> ... -> l38 -> . in the root: links to follow without opening anything.
  for (let i = 1; i <= 38; i++) fs.symlinkSync(i === 38 ? '.' : `l${i + 1}`, path.join(ro, `l${i}`));
}

// A tmpfs where there is one: a few thousand entries are made and read twice, which costs
// seconds on some disks. Both mounts stay on one file system (hard links across must work).
const fastTmp = (() => {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
})();

test(`B. handle reuse: lookups that open ${DEPTH} new directories while a call holds others (link, rename, open, stat, unlink, mkdir, rmdir, symlink, readlink, times)`, { skip: !fs.existsSync('/proc/self/fd') && 'needs /proc/self/fd (Linux)' }, () => {
  const s = scenario('cache', fastTmp);
  const w = path.join(s.base, 'w');
  const ro = path.join(s.base, 'ro');
  fs.mkdirSync(path.join(w, 'n'), { recursive: true });
  fs.mkdirSync(ro);
  makeChain(ro);
  const roBefore = survey(ro);
  const outsideBefore = treeDigest(s.outside);
  try {
    // The same :ro directory at /ro and inside the writable mount at /w/n/ro (as node_modules
    // inside a project): same host file system, so a hard link or rename across would work.
    const r = run(['--dir', `${w}:/w`, '--dir', `${ro}:/ro:ro`, '--dir', `${ro}:/w/n/ro:ro`, guest('attack_cache'), '/w', '/ro', String(DEPTH)]);
    const changes = [];
    const roAfter = survey(ro);
    if (roAfter.digest !== roBefore.digest) changes.push('the :ro mount changed');
    for (const f of roAfter.inodes.values()) if (f.nlink !== 1) changes.push(`a :ro file has ${f.nlink} links: ${f.rel.replace(/(f\/)+/, (m) => `f/*${m.length / 2}/`)}`);
    if (roAfter.inodes.size !== roBefore.inodes.size) changes.push(`the :ro mount holds ${roAfter.inodes.size} files, not ${roBefore.inodes.size}`);
    for (const [key, f] of survey(w).inodes) if (roBefore.inodes.has(key)) changes.push(`a :ro file is linked or moved into /w: ${f.rel}`);
    if (treeDigest(s.outside) !== outsideBefore) changes.push('outside changed');
    verdict('attack_cache', r, report(r), { canary: s.canary, hostChanges: changes.slice(0, 20), minAttempts: 40 });
  } finally {
    if (!keep) spawnSync('rm', ['-rf', s.base]);
  }
});

test('B. handle reuse across tasks: a freed fd number taken by another task\'s directory', { skip: !fs.existsSync('/proc/self/fd') && 'needs /proc/self/fd (Linux)' }, () => {
  const s = scenario('cross', fastTmp);
  const w = path.join(s.base, 'w');
  const ro = path.join(s.base, 'ro');
  const bin = path.join(s.base, 'bin');
  const xhome = path.join(s.base, 'home');
  fs.mkdirSync(path.join(w, 'n'), { recursive: true });
  fs.mkdirSync(ro);
  fs.mkdirSync(bin);
  makeChain(ro);
  fs.copyFileSync(guest('attack_probe'), path.join(bin, 'attack_probe.wasm'));
  const roBefore = survey(ro).digest;
  try {
    // The other task (attack_probe churn) keeps a secret of its own in its own root and opens
    // that root over and over; the guest tries for 1 s to be handed it.
    const r = run(['--dir', `${w}:/w`, '--dir', `${ro}:/ro:ro`, '--dir', `${ro}:/w/n/ro:ro`, '--dir', `${bin}:/bin:ro`,
      guest('attack_cache'), '/w', '/ro', String(DEPTH), 'cross', '/bin'], xhome);
    const changes = [];
    const tasksDir = path.join(xhome, 'tasks');
    const taskDirs = fs.existsSync(tasksDir) ? fs.readdirSync(tasksDir) : [];
    if (taskDirs.length !== 1) changes.push(`expected the one other task's directory, found ${taskDirs.length}`);
    let childCanary = null;
    for (const t of taskDirs) {
      const entries = fs.readdirSync(path.join(tasksDir, t));
      if (entries.join() !== 'canary-child.txt') changes.push(`the other task's directory holds ${entries.join(', ')}`);
      if (entries.includes('canary-child.txt')) childCanary = fs.readFileSync(path.join(tasksDir, t, 'canary-child.txt'), 'utf8');
    }
    if (childCanary && ((r.stdout ?? '') + (r.stderr ?? '')).includes(childCanary)) changes.push('the other task\'s secret is in the guest\'s output');
    if (survey(ro).digest !== roBefore) changes.push('the :ro mount changed');
    verdict('attack_cache cross', r, report(r), { canary: s.canary, hostChanges: changes, minAttempts: 1 });
  } finally {
    if (!keep) spawnSync('rm', ['-rf', s.base]);
  }
});

// ---- C. `..` after links --------------------------------------------------------------------

test('C. `..` after links: NOTCAPABLE exactly when the literal `..` climbs above the fd, in every path call', () => {
  const s = scenario('dotdot');
  const root = path.join(s.base, 'root');
  const data = path.join(s.base, 'data');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'root.txt'), 'ROOT-ONLY');
  fs.symlinkSync('root.txt', path.join(root, 'rootlink'));
  for (let i = 0; i < 40; i++) {
    fs.writeFileSync(path.join(root, `v${i}`), `v${i}`);
    fs.writeFileSync(path.join(root, `r${i}`), `r${i}`);
    fs.mkdirSync(path.join(root, `vd${i}`));
  }
  fs.mkdirSync(path.join(data, 'sub/deep'), { recursive: true });
  fs.mkdirSync(path.join(data, 'sub2'));
  fs.writeFileSync(path.join(data, 'file.txt'), 'DATA-FILE');
  fs.symlinkSync('file.txt', path.join(data, 'datalink'));
  fs.writeFileSync(path.join(data, 'sub/subfile.txt'), 'SUB-FILE');
  fs.writeFileSync(path.join(data, 'sub2/s2.txt'), 'SUB2-FILE');
  fs.symlinkSync('/', path.join(data, 'abs')); // a guest cannot make this one
  const rootBefore = treeDigest(root);
  const dataNames = names(data);
  const outsideBefore = treeDigest(s.outside);
  try {
    const r = run(['--dir', `${root}:/`, '--dir', `${data}:/data`, guest('attack_dotdot'), '/data']);
    const changes = [];
    if (treeDigest(root) !== rootBefore) {
      const extra = names(root).filter((n) => !/^(v|r|vd)\d+ /.test(n) && !/^root(\.txt|link) /.test(n));
      changes.push(`the root mount (above /data) changed${extra.length ? `: ${extra.slice(0, 10).join(', ')}` : ''}`);
    }
    const after = names(data);
    if (after.join('\n') !== dataNames.join('\n')) changes.push(`/data keeps entries it did not have: ${after.filter((n) => !dataNames.includes(n)).slice(0, 10).join(', ')}`);
    if (treeDigest(s.outside) !== outsideBefore) changes.push('outside changed');
    verdict('attack_dotdot', r, report(r), { canary: s.canary, hostChanges: changes, minAttempts: 300 });
  } finally {
    if (!keep) fs.rmSync(s.base, { recursive: true, force: true });
  }
});
