// The host side of the escape battery (escape.c): prepares a root with symlinks
// that point out of it, a sibling "outside" directory holding a secret, and
// afterwards lists every change the guest made outside the root.
//
//   const s = setupEscapeScenario();
//   // run escape.wasm with s.root mounted (or preopened) as the guest's "/" and
//   // the arguments s.args
//   const changes = s.check();   // [] when nothing outside the root changed
//   s.cleanup();
//
// runEscapeBattery(runner) does all of that with any runtime: runner receives
// { wasm, args, env, root } (mount `root` as guest "/") and returns (or resolves
// to) { exitCode, stdout, stderr }.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ESCAPE_WASM = fileURLToPath(new URL('./escape.wasm', import.meta.url));

// Names the guest gives to what it creates; only these are looked for in the
// shared temporary directory above the scenario (it belongs to everyone).
const GUEST_NAME = /^(pw|md|sl|lk|mv|moved|dirmv|stolen|grab)_\d+$/;

/** Every entry under dir (not following symlinks), except the names in skip. */
function snapshot(dir, skip = new Set()) {
  const out = new Map();
  const walk = (p, rel) => {
    let st;
    try {
      st = fs.lstatSync(p, { bigint: true });
    } catch {
      return;
    }
    let desc;
    if (st.isSymbolicLink()) desc = `link -> ${fs.readlinkSync(p)}`;
    else if (st.isDirectory()) desc = `dir mode=${st.mode.toString(8)}`;
    else if (st.isFile()) {
      const hash = createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16);
      desc = `file size=${st.size} mtime=${st.mtimeNs} mode=${st.mode.toString(8)} sha=${hash}`;
    } else desc = `other mode=${st.mode.toString(8)}`;
    if (rel) out.set(rel, desc);
    if (st.isDirectory() && !st.isSymbolicLink()) {
      for (const name of fs.readdirSync(p).sort()) {
        if (!rel && skip.has(name)) continue;
        walk(path.join(p, name), rel ? `${rel}/${name}` : name);
      }
    }
  };
  walk(dir, '');
  return out;
}

function diff(before, after, label) {
  const changes = [];
  for (const [k, v] of before) {
    if (!after.has(k)) changes.push(`removed ${label}/${k} (${v})`);
    else if (after.get(k) !== v) changes.push(`modified ${label}/${k}: ${v} => ${after.get(k)}`);
  }
  for (const [k, v] of after) if (!before.has(k)) changes.push(`added ${label}/${k} (${v})`);
  return changes;
}

/**
 * Creates  BASE/root  (the guest's "/")  and  BASE/outside/secret.txt ("TOP-SECRET"),
 * with the symlinks escape.c expects inside root.
 * Returns { base, root, outside, args, check(), cleanup() }.
 */
export function setupEscapeScenario({ tmpdir = os.tmpdir() } = {}) {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir, 'wtm-escape-')));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'TOP-SECRET');
  fs.writeFileSync(path.join(base, 'beside-root.txt'), 'a file next to the root\n');
  const links = {
    up: '..',
    upup: '../..',
    deep: '../../../../../../../../..',
    abs: outside,
    abs_etc: '/etc',
    chain1: 'chain2',
    chain2: 'chain3',
    chain3: '..',
    loop1: 'loop2',
    loop2: 'loop1',
  };
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(root, name));
  fs.mkdirSync(path.join(root, 'sub'));
  fs.symlinkSync('../..', path.join(root, 'sub', 'up'));

  const grand = path.dirname(base);
  const before = snapshot(base, new Set(['root']));
  const guestNamesAbove = () => new Set(fs.readdirSync(grand).filter((n) => GUEST_NAME.test(n)));
  const aboveBefore = guestNamesAbove();

  return {
    base,
    root,
    outside,
    args: ['/', outside, path.basename(outside)],
    /** Changes outside the root: in the outside dir, next to the root, or (guest-named) above. */
    check() {
      const changes = diff(before, snapshot(base, new Set(['root'])), base);
      for (const n of guestNamesAbove()) if (!aboveBefore.has(n)) changes.push(`added ${grand}/${n}`);
      return changes;
    },
    cleanup() {
      for (const n of guestNamesAbove()) {
        if (!aboveBefore.has(n)) fs.rmSync(path.join(grand, n), { recursive: true, force: true });
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Reads "attempts=N escapes=M" and the ESCAPE lines from the battery's stdout. */
export function parseEscapeOutput(stdout) {
  const m = /^attempts=(\d+) escapes=(\d+)$/m.exec(stdout);
  return {
    attempts: m ? Number(m[1]) : null,
    escapes: m ? Number(m[2]) : null,
    escapeLines: stdout.split('\n').filter((l) => l.startsWith('ESCAPE: ')),
  };
}

/**
 * Sets the scenario up, runs the battery through runner, checks the host.
 * Returns { attempts, escapes, escapeLines, hostChanges, exitCode, stdout, stderr, root }.
 */
export async function runEscapeBattery(runner, { keep = false, wasm = ESCAPE_WASM } = {}) {
  const s = setupEscapeScenario();
  try {
    const r = await runner({ wasm, args: s.args, env: {}, root: s.root });
    const parsed = parseEscapeOutput(r.stdout ?? '');
    return { ...parsed, hostChanges: s.check(), exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, root: s.root };
  } finally {
    if (!keep) s.cleanup();
  }
}
