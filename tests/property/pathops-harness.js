// The machinery of the path-resolution property test (pathops.test.js): random cases (trees,
// mounts, operation scripts), building them twice on disk, running the script under wtm and
// under the Linux kernel (tests/guests/pathops_script.c built natively, in a private mount
// namespace and a chroot), and comparing everything. See tests/property/README.md.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { runProcess } from '../../dist/internal.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const guestSource = path.join(repo, 'tests/guests/pathops_script.c');
export const guestWasm = path.join(repo, 'tests/guests/pathops_script.wasm');

// ---- the native helper -----------------------------------------------------------------------

/**
 * Builds the native helper with the machine's cc (static, so it needs nothing inside the
 * chroot) and checks that it can make a mount namespace. Returns { bin } or { skip: reason }.
 */
export function buildNative(dir) {
  if (process.platform !== 'linux') return { skip: 'the native side needs Linux (mount namespaces, chroot)' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { skip: 'the native side needs root (unshare -m, bind mounts, chroot); CI runs as root' };
  }
  const bin = path.join(dir, 'pathops_script');
  const cc = process.env.CC_NATIVE ?? 'cc';
  const r = spawnSync(cc, ['-static', '-O2', '-Wall', '-o', bin, guestSource], { encoding: 'utf8' });
  if (r.error) return { skip: `no C compiler (${cc}: ${r.error.code}); install one (apt-get install gcc libc6-dev)` };
  if (r.status !== 0) return { skip: `${cc} -static failed (is libc6-dev installed?):\n${r.stderr}` };
  // Probe: a namespace, a bind mount, a read-only remount and a chroot on a scratch tree.
  const probe = fs.mkdtempSync(path.join(dir, 'probe-'));
  fs.mkdirSync(path.join(probe, 'root/m'), { recursive: true });
  fs.mkdirSync(path.join(probe, 'm'));
  const p = spawnSync(bin, ['--root', path.join(probe, 'root'), '--mount', `${path.join(probe, 'm')}:/m:ro`, '-'],
    { input: 'mkdir\t/m\tx\n', encoding: 'utf8' });
  fs.rmSync(probe, { recursive: true, force: true });
  if (p.status !== 0 || p.stdout !== 'err EROFS\ndone\n') {
    return { skip: `cannot run the native side here (mount namespace/bind mount/chroot): ${(p.stderr || p.stdout).trim()}` };
  }
  return { bin };
}

// ---- generators ------------------------------------------------------------------------------

/** Names in trees and in paths: few, so that paths often name what exists. */
const NAMES = ['a', 'b', 'c', 'f', 'l', 'up'];
/** Where mounts may go (a mount inside a mount when both are chosen). */
const MOUNT_POINTS = ['/m1', '/a/m2', '/a/b/m3', '/m1/c/m4', '/b'];
/** Host-absolute link targets and path arguments (`@TMP` is the case's temp dir on the host). */
const HOST_PATHS = ['@TMP/outside/@CANARY', '@TMP/outside', '@TMP', '@TMP/w/root', '@TMP/n/root', '@TMP/canary-top'];

const name = fc.constantFrom(...NAMES);
const anyName = fc.oneof({ weight: 8, arbitrary: name }, { weight: 1, arbitrary: fc.constantFrom('m1', 'm2', 'm4', 'nope') });

/** A relative link target: `.`, `..`, `../..`, names, chains, loops (a link to itself). */
const relTarget = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('.', '..', '../..', '../../..', '../../../../../..', '../a', '../b/c', 'a/..', 'a/../..', 'nope') },
  { weight: 4, arbitrary: fc.array(fc.oneof({ weight: 3, arbitrary: anyName }, { weight: 2, arbitrary: fc.constant('..') }, { weight: 1, arbitrary: fc.constant('.') }), { minLength: 1, maxLength: 4 }).map((c) => c.join('/')) },
);
/** An absolute link target: the guest's `/` (mount paths included), or a host path. */
const absTarget = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('/', '/a', '/m1', '/m1/a', '/a/m2/..', '/a/b/m3/../..', '/etc', '/b/c', '/..', '/../..', '/up') },
  { weight: 2, arbitrary: fc.array(anyName, { minLength: 1, maxLength: 3 }).map((c) => '/' + c.join('/')) },
  { weight: 1, arbitrary: fc.constantFrom(...HOST_PATHS) },
);
const linkTarget = fc.oneof({ weight: 3, arbitrary: relTarget }, { weight: 1, arbitrary: absTarget });

const fileData = fc.integer({ min: 0, max: 0xffff }).map((n) => `data-${n.toString(16)}`);

/** A tree: directories (at most 3 deep), files, links; names unique in each directory. */
const treeArb = fc.letrec((tie) => ({
  entries: fc.uniqueArray(tie('entry'), { selector: (e) => e.name, maxLength: 5 }),
  entry: fc.oneof(
    // At the depth limit fast-check takes the first choice: a leaf.
    { maxDepth: 3, depthIdentifier: 'tree' },
    { weight: 2, arbitrary: fc.record({ name: anyName, kind: fc.constant('f'), data: fileData }) },
    { weight: 3, arbitrary: fc.record({ name: anyName, kind: fc.constant('l'), target: linkTarget }) },
    { weight: 2, arbitrary: fc.record({ name: anyName, kind: fc.constant('d'), children: tie('entries') }) },
  ),
})).entries;

/** A path argument: names, `.`, `..`, `lnk/..`, empty components, trailing slashes. */
function pathArb() {
  const seg = fc.oneof(
    { weight: 6, arbitrary: anyName },
    { weight: 3, arbitrary: fc.constant('..') },
    { weight: 1, arbitrary: fc.constant('.') },
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 3, arbitrary: name.map((n) => `${n}/..`) },
  );
  const segs = fc.tuple(fc.array(seg, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 9 }))
    .map(([list, r]) => list.join('/') + (r < 1 ? '/' : ''));
  return fc.oneof(
    { weight: 40, arbitrary: segs },
    // Mount points and the directories holding them (rename, rmdir, `..` across them).
    // Any name in place of the first component, so that they are also found after a rename.
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom('a', 'm1', 'b'), anyName, fc.constantFrom('', '/m2', '/b', '/b/m3', '/c', '/c/m4', '/m2/..'), fc.option(segs, { freq: 2 }))
      .map(([first, other, tail, rest]) => `${tail === '' ? first : other}${tail}${rest === null ? '' : `/${rest}`}`) },
    { weight: 2, arbitrary: fc.constantFrom('.', '..', '', '/', '/a', '/m1/a', '/..') },
    { weight: 1, arbitrary: fc.constantFrom(...HOST_PATHS) },
    // Over 4096 bytes (NAMETOOLONG), and a component over 255 bytes.
    { weight: 1, arbitrary: fc.constantFrom('./'.repeat(2100) + 'a', '../'.repeat(1400) + 'a', 'x'.repeat(300), 'a/' + 'y'.repeat(256)) },
  );
}

/** A dir fd: 0 `/`, 1–3 a mount (modulo their number), 4–5 the slots `$1`, `$2` (see normalizeCase). */
const baseArb = fc.nat(5).map((b) => ({ b }));

function opArb() {
  const base = baseArb;
  const p = pathArb();
  const flags = (letters) => fc.subarray(letters.split('')).map((a) => a.join(''));
  const openFlags = fc.tuple(fc.constantFrom('', 'w', 'r'), flags('cxtnd')).map(([acc, f]) => acc + (f.includes('c') ? f.replace('d', '') : f));
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom('stat', 'lstat'), base, p) },
    { weight: 3, arbitrary: fc.tuple(fc.constant('read'), base, p, flags('n')) },
    { weight: 3, arbitrary: fc.tuple(fc.constant('write'), base, p, flags('cxtanr'), fc.integer({ min: 0, max: 99 }).map((n) => `w${n}`)) },
    { weight: 3, arbitrary: fc.tuple(fc.constant('open'), base, p, openFlags) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('opendir'), fc.constantFrom('$1', '$2'), base, p, flags('n')) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('close'), fc.constantFrom('$1', '$2')) },
    { weight: 4, arbitrary: fc.tuple(fc.constant('ls'), base, p) },
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('mkdir', 'rmdir', 'unlink'), base, p) },
    { weight: 3, arbitrary: fc.tuple(fc.constant('rename'), base, p, base, p) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('link'), base, p, base, p, flags('f')) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('symlink'), linkTarget, base, p) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('readlink'), base, p) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('utimes'), base, p, flags('n'), fc.integer({ min: 1, max: 999 }).map(String)) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('trunc'), base, p, fc.constantFrom('0', '3', '100')) },
  );
}

/**
 * A whole case: the root's tree (read-only one time in ten), 1–3 mounts (some read-only) with
 * trees of their own, and a script of 1–20 operations whose dir fds are preopens or opened
 * slots. Built without `chain`, so that fast-check shrinks every part.
 */
export function caseArb() {
  return fc.record({
    root: fc.record({ ro: fc.nat(9).map((n) => n === 9), tree: treeArb }),
    mounts: fc.uniqueArray(fc.record({ guest: fc.constantFrom(...MOUNT_POINTS), ro: fc.boolean(), tree: treeArb }), { selector: (m) => m.guest, minLength: 1, maxLength: 3 }),
    ops: fc.array(opArb(), { minLength: 1, maxLength: 20, size: 'medium' }),
  }).map(normalizeCase);
}

/**
 * Names the dir fds, makes every mount point a directory of the tree it sits in (replacing
 * whatever the generator put there), and sorts the mounts parents first. Applied to every generated and shrunk
 * case, so the case printed on failure is exactly the one that ran.
 */
export function normalizeCase(c) {
  const clone = JSON.parse(JSON.stringify(c));
  // Dir fds chosen by number become names.
  const bases = ['/', ...[0, 1, 2].map((i) => clone.mounts[i % clone.mounts.length]?.guest ?? '/'), '$1', '$2'];
  clone.ops = clone.ops.map((op) => op.map((f) => (typeof f === 'object' && f !== null ? bases[f.b] : f)));
  clone.mounts.sort((a, b) => a.guest.split('/').length - b.guest.split('/').length || a.guest.localeCompare(b.guest));
  for (const m of clone.mounts) {
    // The innermost mount (or the root) that holds this mount point.
    let holder = clone.root;
    let rel = m.guest.slice(1);
    for (const o of clone.mounts) {
      if (o !== m && m.guest.startsWith(o.guest + '/') && o.guest.length < m.guest.length) {
        if (holder === clone.root || o.guest.length > holder.guest.length) {
          holder = o;
          rel = m.guest.slice(o.guest.length + 1);
        }
      }
    }
    let list = holder.tree;
    for (const part of rel.split('/')) {
      let e = list.find((x) => x.name === part);
      if (e?.kind !== 'd') {
        if (e) list.splice(list.indexOf(e), 1);
        e = { name: part, kind: 'd', children: [] };
        list.push(e);
      }
      list = e.children;
    }
  }
  return clone;
}

// ---- building a case on disk -------------------------------------------------------------------

const hex = (n) => crypto.randomBytes(n).toString('hex');

function subst(s, env) {
  return s.replaceAll('@TMP', env.tmp).replaceAll('@CANARY', env.canaryName);
}

function buildTree(dir, list, env) {
  for (const e of list) {
    const p = path.join(dir, e.name);
    if (e.kind === 'd') {
      fs.mkdirSync(p);
      buildTree(p, e.children, env);
    } else if (e.kind === 'f') {
      fs.writeFileSync(p, e.data);
    } else {
      fs.symlinkSync(subst(e.target, env), p);
    }
  }
}

/**
 * Lays a case out in a fresh temp dir:
 *   TMP/canary-top                     canary above both sides
 *   TMP/outside/canary-HEX             canary that host-absolute links point at
 *   TMP/w/{root,m0,m1,..}, TMP/w/canary-next   wtm's copy (+ a canary beside it)
 *   TMP/n/...                          the kernel's copy
 * Each mount point directory also holds a shadowed canary (hidden under the mount).
 */
export function layout(c) {
  const tmp = fs.mkdtempSync(path.join(tmpBase(), 'wtm-prop-'));
  const env = { tmp, canaryName: `canary-${hex(4)}`, canaries: [] };
  const canary = (file) => {
    const content = `CANARY-${hex(12)}`;
    fs.writeFileSync(file, content);
    env.canaries.push({ file, content, name: path.basename(file) });
  };
  canary(path.join(tmp, 'canary-top'));
  // Shadowed canaries (one per mount, the same on both sides: they are part of the trees).
  const shadows = c.mounts.map(() => ({ name: `shadow-${hex(3)}`, content: `CANARY-${hex(12)}` }));
  fs.mkdirSync(path.join(tmp, 'outside'));
  canary(path.join(tmp, 'outside', env.canaryName));
  for (const side of ['w', 'n']) {
    const s = path.join(tmp, side);
    fs.mkdirSync(path.join(s, 'root'), { recursive: true });
    canary(path.join(s, 'canary-next'));
    buildTree(path.join(s, 'root'), c.root.tree, env);
    c.mounts.forEach((m, i) => {
      fs.mkdirSync(path.join(s, `m${i}`));
      buildTree(path.join(s, `m${i}`), m.tree, env);
    });
    // Shadowed canaries: in the directory each mount is placed on (it exists by normalizeCase).
    c.mounts.forEach((m, i) => { fs.writeFileSync(path.join(mountPointHost(c, s, m), shadows[i].name), shadows[i].content); });
  }
  // Shadowed canaries live in the trees (a guest may legitimately move the directory holding
  // a mount point, and the trees are compared anyway): never read or named, like the others.
  for (const sh of shadows) env.canaries.push({ ...sh, shadow: true });
  env.sides = Object.fromEntries(['w', 'n'].map((side) => [side, {
    root: path.join(tmp, side, 'root'),
    mounts: c.mounts.map((m, i) => ({ host: path.join(tmp, side, `m${i}`), guest: m.guest, ro: m.ro })),
  }]));
  return env;
}

/** Where cases are laid out: $WTM_PROPERTY_TMP, else /dev/shm (tmpfs: ten times faster here), else the temp dir. */
function tmpBase() {
  if (process.env.WTM_PROPERTY_TMP) return process.env.WTM_PROPERTY_TMP;
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    if (fs.statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {}
  return os.tmpdir();
}

/** The host directory a mount is placed on, in side `s` (inside the root or another mount). */
function mountPointHost(c, s, m) {
  let best = null;
  c.mounts.forEach((o, i) => {
    if (o !== m && m.guest.startsWith(o.guest + '/') && (!best || o.guest.length > best.o.guest.length)) best = { o, i };
  });
  if (!best) return path.join(s, 'root', m.guest.slice(1));
  return path.join(s, `m${best.i}`, m.guest.slice(best.o.guest.length + 1));
}

export function scriptOf(c, env) {
  return c.ops.map((op) => op.map((f) => subst(String(f), env)).join('\t')).join('\n') + '\n';
}

// ---- digests ---------------------------------------------------------------------------------

const SET_LO = 1e9;
const SET_HI = 1e9 + 1e6;

/**
 * One line per entry under dir: path, type, size, content hash, link target, and the mtime
 * when a script set it (utimes); not inode numbers or other times.
 */
export function treeLines(dir, skip = new Set()) {
  const lines = [];
  const t = (st) => (st.mtimeMs / 1000 >= SET_LO && st.mtimeMs / 1000 < SET_HI ? ` mt=${st.mtimeMs / 1000 - SET_LO}` : '');
  const walk = (d, rel) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (skip.has(p)) continue;
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(p);
      if (st.isDirectory()) {
        lines.push(`${r}/ d${t(st)}`);
        walk(p, r);
      } else if (st.isSymbolicLink()) {
        lines.push(`${r} -> ${fs.readlinkSync(p)}${t(st)}`);
      } else if (st.isFile()) {
        const h = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16);
        lines.push(`${r} f size=${st.size} nlink=${st.nlink} h=${h}${t(st)}`);
      } else {
        lines.push(`${r} other`);
      }
    }
  };
  const st = fs.lstatSync(dir);
  lines.push(`./ d${t(st)}`);
  walk(dir, '');
  return lines;
}

/** Everything under TMP but the trees under test: must not change at all (mtimes included). */
function outsideLines(env) {
  const skip = new Set();
  for (const s of Object.values(env.sides)) {
    skip.add(s.root);
    for (const m of s.mounts) skip.add(m.host);
  }
  const lines = [];
  const walk = (d) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      if (skip.has(p)) continue;
      const st = fs.lstatSync(p);
      lines.push(`${path.relative(env.tmp, p)} ${st.mode} ${st.size} ${st.mtimeMs} ${st.isFile() ? fs.readFileSync(p, 'utf8') : ''}`);
      if (st.isDirectory()) walk(p);
    }
  };
  const st = fs.lstatSync(env.tmp);
  lines.push(`. ${st.mode} ${st.mtimeMs}`);
  walk(env.tmp);
  return lines;
}

// ---- running both sides --------------------------------------------------------------------------

function runNative(bin, side, script, { rules = true } = {}) {
  const args = [];
  if (!rules) args.push('--no-rules');
  args.push('--root', side.root);
  if (side.rootRo) args.push('--ro-root');
  for (const m of side.mounts) args.push('--mount', `${m.host}:${m.guest}${m.ro ? ':ro' : ''}`);
  args.push('-');
  const r = spawnSync(bin, args, { input: script, encoding: 'utf8', timeout: 20000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/**
 * Runs the script under wtm with the config `Runtime.run` would use. In this thread by default
 * (`runProcess`, ~5 ms a case); `worker` goes through `runtime.run` (a worker thread per run,
 * ~175 ms a case, with a timeout).
 */
async function runWtm(runtime, module, side, script, worker) {
  const mounts = [{ host: side.root, guest: '/', readonly: !!side.rootRo }, ...side.mounts.map((m) => ({ host: m.host, guest: m.guest, readonly: m.ro }))];
  const opts = { module, args: ['-'], argv0: 'pathops_script', mounts, stdin: Buffer.from(script), stdout: 'pipe', stderr: 'pipe' };
  const text = (b) => (b ? Buffer.from(b).toString('utf8') : '');
  if (!worker) {
    const out = [];
    const err = [];
    const r = runProcess(module, runtime.configure(opts), (msg) => {
      if (msg.stream === 'stdout') out.push(msg.chunk);
      else if (msg.stream === 'stderr') err.push(msg.chunk);
    });
    return { code: r.exitCode, stdout: text(Buffer.concat(out)), stderr: text(Buffer.concat(err)) + (r.trap ?? '') + (r.error ?? '') };
  }
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve({ exitCode: -1, error: 'wtm run timed out after 20 s' }), 20000); });
  try {
    const r = await Promise.race([runtime.run(opts), timeout]);
    return { code: r.exitCode, stdout: text(r.stdout), stderr: text(r.stderr) + (r.trap ?? '') + (r.error ?? '') };
  } finally {
    clearTimeout(timer);
  }
}

/** Does wtm's answer `w` satisfy the kernel's line `k` (an equal line, or a rule's answer)? */
export function agrees(k, w) {
  const m = /^rule(\d+) (.*)$/.exec(k);
  if (!m) return k === w;
  const allowed = m[2].split('|');
  return w.startsWith('err ') && allowed.includes(w.slice(4));
}

/**
 * Runs one case on both sides and returns what disagrees: [] when wtm and the kernel agree.
 * Each problem is { kind, text }; kinds: result, tree, outside, canary-read, canary-named,
 * wtm-failed, native-failed, oracle (the native helper's rule-3 walk contradicts the kernel's
 * own RESOLVE_BENEATH). `plant` changes what wtm is given, to show the harness sees it.
 * `ignore` (a RegExp, exploration only): a result problem whose `CLASS :: TEXT` (see
 * problemClass) matches it ends the case without failing it (later results and trees depend
 * on it). `all`: report every result that disagrees, not only the first.
 */
export async function runCase(c, { bin, runtime, module, plant = null, ignore = null, keep = false, twin = false, worker = false, all = false }) {
  const env = layout(c);
  const problems = [];
  try {
    const script = scriptOf(c, env);
    for (const s of Object.values(env.sides)) s.rootRo = c.root.ro;
    const wSide = structuredClone(env.sides.w);
    if (plant === 'rw-mounts') for (const m of wSide.mounts) m.ro = false;
    if (plant === 'expose-outside') wSide.mounts[0].host = path.join(env.tmp, 'outside');
    const before = outsideLines(env);
    // `twin`: the kernel on both copies (the harness's own check: no false alarms), with the
    // rules' answers read as what "wtm" said.
    const n = runNative(bin, env.sides.n, script);
    let w;
    if (twin) {
      w = runNative(bin, wSide, script);
      w.stdout = w.stdout.replace(/^rule\d+ ([A-Z]+).*$/gm, 'err $1');
    } else {
      w = await runWtm(runtime, module, wSide, script, worker);
    }
    if (plant === 'flip-result') w.stdout = w.stdout.replace(/^err ENOENT$/m, 'err EACCES');
    if (plant === 'wtm-writes-tree') fs.writeFileSync(path.join(wSide.root, 'planted'), 'x');
    if (plant === 'wtm-writes-outside') fs.writeFileSync(path.join(env.tmp, 'w', 'planted'), 'x');
    if (n.code !== 0 || !n.stdout.endsWith('done\n')) {
      problems.push({ kind: 'native-failed', text: `native helper exited ${n.code}: ${n.stderr.trim()}` });
      return problems;
    }
    const kl = n.stdout.split('\n').slice(0, -2);
    const oracle = kl.findIndex((l) => l.startsWith('oracle-error'));
    if (oracle >= 0) problems.push({ kind: 'oracle', text: `the harness's rule-3 oracle is wrong at op ${oracle + 1} ${opText(c.ops[oracle], env)}: ${kl[oracle]}` });
    const wl = w.stdout.split('\n');
    if (wl.at(-1) === '') wl.pop();
    let stopped = false;
    for (let i = 0; i < kl.length; i++) {
      const wi = wl[i] ?? '(no line)';
      if (!agrees(kl[i], wi)) {
        const p = { kind: 'result', text: `op ${i + 1} ${opText(c.ops[i], env)}: wtm answered \`${wi}\`, the kernel \`${kl[i]}\``, op: i };
        p.cls = problemClass(c, p);
        if (ignore?.test(`${p.cls} :: ${p.text}`)) {
          stopped = true;
          break;
        }
        problems.push(p);
        if (!all) break;
      }
    }
    if (!stopped && problems.length === 0 && (w.code !== 0 || wl.length !== kl.length + 1 || wl.at(-1) !== 'done')) {
      problems.push({ kind: 'wtm-failed', text: `wtm: exit ${w.code}, ${wl.length} lines for ${kl.length} ops: ${w.stderr.trim().slice(0, 500)}` });
    }
    // Canaries: never read (content in any output) nor named (in any output but a link's own text).
    for (const cn of env.canaries) {
      const what = cn.shadow ? `the canary ${cn.name} hidden under a mount` : `the canary ${path.relative(env.tmp, cn.file)}`;
      for (const [who, out] of [['wtm', w.stdout + w.stderr], ['native', n.stdout + n.stderr]]) {
        if (out.includes(cn.content)) problems.push({ kind: 'canary-read', text: `${who} output holds the content of ${what}` });
        const lines = out.split('\n').filter((l, i) => l.includes(cn.name) && c.ops[i]?.[0] !== 'readlink');
        if (lines.length) problems.push({ kind: 'canary-named', text: `${who} output names ${what}: ${lines[0].slice(0, 200)}` });
      }
      if (cn.shadow) continue;
      if (!fs.existsSync(cn.file) || fs.readFileSync(cn.file, 'utf8') !== cn.content) {
        problems.push({ kind: 'outside', text: `canary ${path.relative(env.tmp, cn.file)} was changed or removed` });
      }
    }
    const after = outsideLines(env);
    const changed = diffLines(before, after);
    if (changed.length) problems.push({ kind: 'outside', text: `changed outside the trees:\n${changed.join('\n')}` });
    if (!stopped && !problems.some((p) => p.kind === 'result')) {
      const pairs = [['/', env.sides.w.root, env.sides.n.root], ...c.mounts.map((m, i) => [m.guest, env.sides.w.mounts[i].host, env.sides.n.mounts[i].host])];
      for (const [guest, wd, nd] of pairs) {
        const d = diffLines(treeLines(nd), treeLines(wd));
        if (d.length) problems.push({ kind: 'tree', text: `the tree of mount ${guest} differs (- kernel, + wtm):\n${d.join('\n')}` });
      }
    }
    return problems;
  } finally {
    if (keep) problems.push({ kind: 'note', text: `kept ${env.tmp}` });
    else fs.rmSync(env.tmp, { recursive: true, force: true });
  }
}

function diffLines(a, b) {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...a.filter((l) => !sb.has(l)).map((l) => `- ${l}`), ...b.filter((l) => !sa.has(l)).map((l) => `+ ${l}`)];
}

function opText(op, env) {
  return op.map((f) => {
    const s = env ? subst(String(f), env) : String(f);
    if (s.length > 60) return JSON.stringify(s.slice(0, 20) + `…(${s.length} bytes)`);
    return s === '' || /[\s"]/.test(s) ? JSON.stringify(s) : s;
  }).join(' ');
}

/** A case as text a person can rebuild by hand: trees, mounts and the script. */
export function describeCase(c) {
  const out = [];
  const tree = (list, indent) => {
    for (const e of list) {
      if (e.kind === 'd') {
        out.push(`${indent}${e.name}/`);
        tree(e.children, indent + '  ');
      } else if (e.kind === 'f') out.push(`${indent}${e.name} = ${JSON.stringify(e.data)}`);
      else out.push(`${indent}${e.name} -> ${e.target}`);
    }
  };
  out.push(`root /${c.root.ro ? ' (ro)' : ''}:`);
  tree(c.root.tree, '  ');
  for (const m of c.mounts) {
    out.push(`mount ${m.guest}${m.ro ? ' (ro)' : ''}:`);
    tree(m.tree, '  ');
  }
  out.push('ops:');
  c.ops.forEach((op, i) => { out.push(`  ${i + 1}. ${opText(op)}`); });
  return out.join('\n');
}

/** A short class of a result problem, for surveys: op, kernel answer, wtm answer. */
export function problemClass(c, p) {
  if (p.kind !== 'result') return p.kind;
  const m = /: wtm answered `([^`]*)`, the kernel `([^`]*)`/.exec(p.text);
  const short = (s) => (s.startsWith('ok') ? 'ok' : s.startsWith('rule') ? s.split(' ')[0] : s.replace(/^err /, ''));
  const op = c.ops[p.op];
  const bases = op[0] === 'opendir' || op[0] === 'symlink' ? [op[2]] : op[0] === 'rename' || op[0] === 'link' ? [op[1], op[3]] : [op[1]];
  const ro = bases.some((b) => (b === '/' ? c.root.ro : c.mounts.find((x) => x.guest === b)?.ro));
  return `${op[0]}: kernel ${short(m[2])} / wtm ${short(m[1])}${ro ? ' [ro fd]' : ''}`;
}

/**
 * Shrinks a failing case further than fast-check does (it shrinks inside its generators and
 * may keep an operation or an entry that plays no part): greedily drops operations, mounts,
 * tree entries (whole directories first) and `:ro` flags while `stillFails(case)` holds.
 * Bounded by `budgetMs`; `parts` limits what is tried.
 */
export async function minimize(c, stillFails, { budgetMs = 10000, parts = ['ops', 'mounts', 'tree', 'ro'] } = {}) {
  const end = Date.now() + budgetMs;
  let best = c;
  const attempt = async (candidate) => {
    if (Date.now() > end) return false;
    const n = normalizeCase(candidate);
    if (!(await stillFails(n))) return false;
    best = n;
    return true;
  };
  const entryPaths = () => {
    const out = [];
    const walk = (list, prefix) => list.forEach((e, i) => {
      out.push([...prefix, i]);
      if (e.kind === 'd') walk(e.children, [...prefix, i]);
    });
    [best.root.tree, ...best.mounts.map((m) => m.tree)].forEach((list, t) => { walk(list, [t]); });
    return out;
  };
  for (let changed = true; changed && Date.now() < end;) {
    changed = false;
    if (parts.includes('ops')) {
      for (let i = best.ops.length - 1; i >= 0 && best.ops.length > 1; i--) {
        if (await attempt({ ...best, ops: best.ops.filter((_, j) => j !== i) })) changed = true;
      }
    }
    if (parts.includes('mounts')) {
      for (let i = best.mounts.length - 1; i >= 0 && best.mounts.length > 1; i--) {
        if (await attempt({ ...best, mounts: best.mounts.filter((_, j) => j !== i) })) changed = true;
      }
    }
    if (parts.includes('tree')) {
      // Outermost entries first (a directory goes with all it holds); rescan after each removal.
      for (let k = 0, paths = entryPaths(); k < paths.length && Date.now() < end; k++) {
        const copy = structuredClone(best);
        let list = [copy.root.tree, ...copy.mounts.map((m) => m.tree)][paths[k][0]];
        for (const i of paths[k].slice(1, -1)) list = list[i].children;
        list.splice(paths[k].at(-1), 1);
        if (await attempt(copy)) {
          changed = true;
          paths = entryPaths();
          k = -1;
        }
      }
    }
    if (parts.includes('ro')) {
      if (best.root.ro && (await attempt({ ...best, root: { ...best.root, ro: false } }))) changed = true;
      for (let i = 0; i < best.mounts.length; i++) {
        if (best.mounts[i].ro && (await attempt({ ...best, mounts: best.mounts.map((m, j) => (j === i ? { ...m, ro: false } : m)) }))) changed = true;
      }
    }
  }
  return best;
}

/** The class of a case's first problem (what `minimize` keeps failing the same way). */
export function firstClass(c, problems) {
  const p = problems.find((x) => x.kind !== 'note');
  return p ? `${p.kind}:${p.cls ?? problemClass(c, p)}` : null;
}
