// One conformance suite for every file-system backend. Each case runs on every backend that
// supports it: writable backends must answer what HostFs answers (the reference: the host
// kernel), case by case and call by call (a trace of every answer is compared), and read-only
// backends must answer every change exactly as a Linux read-only bind mount does (the table in
// conformance.ts, checked against the kernel itself when the suite runs as root).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { errnoName, Filetype, FstFlags, newFilestat, type Dirent, type Filestat, type Out } from '../system/index.js';
import { buildFixture, fixtureTar, RO_NAMES, roCases, runRoCases, type RoCase } from './conformance.js';
import { HostFs } from './hostfs.js';
import { MemFs } from './memfs.js';
import { OverlayFs } from './overlayfs.js';
import { ReadOnlyFs } from './readonly.js';
import { loadTarFs } from './tarfs.js';
import { OpenFlags, type Dir, type File, type FileSystem } from './types.js';

const { READ, WRITE, CREATE, EXCL, TRUNC, DIRECTORY, APPEND } = OpenFlags;
const { ATIM, ATIM_NOW, MTIM, MTIM_NOW } = FstFlags;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

// Host directories live in memory where the host has a tmpfs (still the kernel's answers, and
// the suite makes and removes thousands of entries: on a slow disk that alone took seconds).
const tmpBase = fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').isDirectory() ? '/dev/shm' : os.tmpdir();
const tmp = fs.mkdtempSync(path.join(tmpBase, 'wtm-conformance-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let dirCounter = 0;
function hostDir(): string {
  const d = path.join(tmp, String(++dirCounter));
  fs.mkdirSync(d);
  return d;
}
function rootOf(f: FileSystem): Dir {
  const d = f.openRoot();
  if (typeof d === 'number') throw new Error(`${f.description}: openRoot: ${errnoName(-d)}`);
  return d;
}
function withFixture<T extends FileSystem>(f: T, layers?: number[]): T {
  const r = rootOf(f);
  buildFixture(r, layers);
  r.close();
  return f;
}
function mkfifo(dir: string): void {
  const r = spawnSync('mkfifo', [path.join(dir, 'fifo')]);
  if (r.status !== 0) throw new Error('mkfifo failed');
}

// ---------------------------------------------------------------------------------------------
// Backends

interface Backend {
  name: string;
  writable: boolean;
  /** A fresh file system holding the fixture. */
  make(): FileSystem;
  /** Host directories whose bytes must not change (read-only backends). */
  hostDirs?: string[];
  /** Cases this backend is known to fail, with the reason (run as `todo`: reported, not failing). */
  todo?: Record<string, string>;
  /** Cases that do not apply, with the reason (a documented departure). */
  skip?: Record<string, string>;
  /** The backend holds a FIFO named `fifo` (host directories only). */
  fifo?: boolean;
}

/** Cases hostfs is known to fail (none left: the four it had were fixed with the suite). */
const HOSTFS_TODO: Record<string, string> = {};
/** What an overlay on a host upper layer inherits from hostfs. */
const INHERITED_HOSTFS_TODO: Record<string, string> = {};
const OVERLAY_LOWER_SKIP = {
  'rename: a fixture directory moves': 'overlayfs without redirect_dir: a directory with lower content answers XDEV (overlayfs.test.ts)',
  'hard links: one file under two names': 'overlayfs with index=off (the default): copy-up breaks hard links of lower files',
};

function hostBackend(): Backend {
  return { name: 'host', writable: true, make: () => withFixture(new HostFs(hostDir())), todo: HOSTFS_TODO };
}

/** An overlay with the fixture split over two lower layers (which it wraps read-only, as imageRoot does). */
function overlayOf(lower1: FileSystem, lower2: FileSystem, upper: FileSystem): OverlayFs {
  withFixture(lower1, [1]);
  withFixture(lower2, [2]);
  return new OverlayFs({ lowers: [new ReadOnlyFs(lower1), new ReadOnlyFs(lower2)], upper });
}

const roHostDir = hostDir();
withFixture(new HostFs(roHostDir));
mkfifo(roHostDir);
const roOverlayDirs = [hostDir(), hostDir()];
const roOverlay = new ReadOnlyFs(overlayOf(new HostFs(roOverlayDirs[0]!), new HostFs(roOverlayDirs[1]!), new MemFs()));
const roMem = new ReadOnlyFs(withFixture(new MemFs()));
const tarFile = path.join(tmp, 'fixture.tar');
fs.writeFileSync(tarFile, await fixtureTar());
const tarFs = await loadTarFs(tarFile);

const BACKENDS: Backend[] = [
  hostBackend(),
  { name: 'memfs', writable: true, make: () => withFixture(new MemFs()) },
  {
    name: 'overlay: host lowers (read-only), host upper (as imageRoot)', writable: true, skip: OVERLAY_LOWER_SKIP, todo: INHERITED_HOSTFS_TODO,
    make: () => overlayOf(new HostFs(hostDir()), new HostFs(hostDir()), new HostFs(hostDir())),
  },
  { name: 'overlay: memfs lowers, memfs upper', writable: true, skip: OVERLAY_LOWER_SKIP, make: () => overlayOf(new MemFs(), new MemFs(), new MemFs()) },
  {
    name: 'overlay: fixture in the host upper, empty memfs lower', writable: true, todo: INHERITED_HOSTFS_TODO,
    make: () => new OverlayFs({ lowers: [new MemFs()], upper: withFixture(new HostFs(hostDir())) }),
  },
  { name: 'readonly over host', writable: false, make: () => new ReadOnlyFs(new HostFs(roHostDir)), hostDirs: [roHostDir], fifo: true },
  { name: 'readonly over memfs', writable: false, make: () => roMem },
  { name: 'readonly over overlay (host lowers)', writable: false, make: () => roOverlay, hostDirs: roOverlayDirs },
  { name: 'tar', writable: false, make: () => tarFs },
];

// ---------------------------------------------------------------------------------------------
// Cases: each records every answer it gets in a trace; `eq` also asserts the expected one.

class Ctx {
  readonly trace: [string, unknown][] = [];
  private readonly opened: Dir[] = [];
  constructor(readonly backend: Backend, readonly other: Dir) {}
  /** The root of a fresh instance of the backend (with the fixture). */
  fresh(): Dir {
    const r = rootOf(this.backend.make());
    this.opened.push(r);
    return r;
  }
  rec(label: string, v: unknown): void {
    this.trace.push([label, v]);
  }
  eq(label: string, actual: unknown, expected: unknown): void {
    this.rec(label, actual);
    assert.deepEqual(actual, expected, `${this.backend.name}: ${label}`);
  }
  closeAll(): void {
    for (const d of this.opened) d.close();
  }
}

interface Case {
  name: string;
  /** Only on writable backends. */
  writes?: boolean;
  run(ctx: Ctx, root: Dir): void;
}

/** An answer as a short string: `ok`, `ok:file`/`ok:dir` (the handle is closed), a count, or the errno's name. */
function r(x: number | Dir | File): string {
  if (typeof x !== 'number') {
    x.close();
    return `ok:${x.kind}`;
  }
  return x === 0 ? 'ok' : x < 0 ? errnoName(-x) : errnoName(x);
}
const TYPE: Record<number, string> = Object.fromEntries(Object.entries(Filetype).map(([k, v]) => [v, k]));
/** What an lstat answers, without device and inode numbers, times or directory sizes (which backends choose). */
function summary(s: Filestat): Record<string, unknown> {
  const out: Record<string, unknown> = { type: TYPE[s.filetype], nlink: Number(s.nlink) };
  if (s.filetype !== Filetype.DIRECTORY) out.size = Number(s.size);
  return out;
}
function ls(dir: Dir, name: string): Record<string, unknown> | string {
  const s = newFilestat();
  const e = dir.lstat(name, s);
  return e === 0 ? summary(s) : r(e);
}
function lst(dir: Dir, name: string): Filestat {
  const s = newFilestat();
  assert.equal(r(dir.lstat(name, s)), 'ok', `lstat ${name}`);
  return s;
}
function fst(h: Dir | File): Filestat {
  const s = newFilestat();
  assert.equal(r(h.stat(s)), 'ok', 'stat');
  return s;
}
function sub(dir: Dir, name: string): Dir {
  const d = dir.openDir(name);
  if (typeof d === 'number') assert.fail(`openDir ${name}: ${errnoName(-d)}`);
  return d;
}
function file(dir: Dir, name: string, flags: number): File {
  const f = dir.open(name, flags);
  if (typeof f === 'number') assert.fail(`open ${name}: ${errnoName(-f)}`);
  assert.equal(f.kind, 'file');
  return f as File;
}
/** Reads a whole file by name, or the errno of opening it. */
function cat(dir: Dir, name: string): string {
  const f = dir.open(name, READ);
  if (typeof f === 'number' || f.kind !== 'file') return r(f);
  const buf = new Uint8Array(Number(fst(f).size));
  const n = f.pread(buf, 0);
  f.close();
  return n < 0 ? r(n) : dec(buf.subarray(0, n));
}
function put(dir: Dir, name: string, text: string): void {
  const f = file(dir, name, WRITE | CREATE | TRUNC);
  assert.equal(f.pwrite(enc(text), 0, false), text.length);
  f.close();
}
function listing(dir: Dir): string[] {
  const out: Out<Dirent[]> = { value: [] };
  assert.equal(r(dir.readdir(out)), 'ok', 'readdir');
  return out.value.map((d) => `${d.name}:${TYPE[d.type]}`).sort();
}
function readlink(dir: Dir, name: string): string {
  const out: Out<string> = { value: '' };
  const e = dir.readlink(name, out);
  return e === 0 ? out.value : r(e);
}
/** Runs `f` on the subdirectory `name` of `dir`, then closes it. */
function inDir<T>(dir: Dir, name: string, f: (d: Dir) => T): T {
  const d = sub(dir, name);
  try {
    return f(d);
  } finally {
    d.close();
  }
}
function inTwoDirs<T>(root: Dir, a: string, b: string, f: (x: Dir, y: Dir) => T): T {
  const x = sub(root, a);
  const y = sub(root, b);
  try {
    return f(x, y);
  } finally {
    x.close();
    y.close();
  }
}
const NAMES = ['f', 'e', 'h', 'd', 'dn', 'l', 'ld', 'dangle', 'm', '.'];
/** The open matrix leaves out `h`: its nlink after a write differs where copy-up breaks hard links. */
const MATRIX_NAMES = NAMES.filter((n) => n !== 'h');
/** Times to the nanosecond (hostfs needs a `touch` process for these: used sparingly). */
const T1 = 1_000_000_000_123_456_789n;
const T2 = 1_500_000_000_987_654_321n;
/** Times in whole microseconds. */
const U1 = 1_100_000_000_123_456_000n;
const U2 = 1_200_000_000_987_654_000n;
/** A wall-clock time is "now" if within a minute of the test's clock (backends read clocks differently). */
const near = (t: bigint): boolean => {
  const now = BigInt(Date.now()) * 1_000_000n;
  return t > now - 60_000_000_000n && t < now + 60_000_000_000n;
};

const CASES: Case[] = [
  {
    name: 'lstat: types, sizes and nlink of every entry',
    run(ctx, root) {
      for (const n of NAMES) ctx.rec(`lstat ${n}`, n === '.' ? TYPE[lst(root, '.').filetype] : ls(root, n));
      ctx.eq('lstat f', ls(root, 'f'), { type: 'REGULAR_FILE', nlink: 1, size: 5 });
      ctx.eq('lstat h (two links)', ls(root, 'h'), { type: 'REGULAR_FILE', nlink: 2, size: 6 });
      ctx.eq('lstat l (its own size)', ls(root, 'l'), { type: 'SYMBOLIC_LINK', nlink: 1, size: 1 });
      ctx.eq('lstat dn (a subdirectory)', ls(root, 'dn'), { type: 'DIRECTORY', nlink: 3 });
      ctx.eq('lstat d', ls(root, 'd'), { type: 'DIRECTORY', nlink: 2 });
      ctx.eq('lstat m', ls(root, 'm'), 'NOENT');
      ctx.eq('hard links share an inode', lst(root, 'h').ino === lst(root, 'h2').ino, true);
      ctx.eq('distinct entries, distinct inodes', new Set(['f', 'e', 'h', 'd', 'dn', 'l'].map((n) => lst(root, n).ino)).size, 6);
      const dn = sub(root, 'dn');
      ctx.eq('lstat dn/c', ls(dn, 'c'), { type: 'REGULAR_FILE', nlink: 1, size: 1 });
      ctx.eq('lstat dn/.', TYPE[lst(dn, '.').filetype], 'DIRECTORY');
      ctx.eq('lstat . is stat', lst(dn, '.').ino === fst(dn).ino, true);
      ctx.eq('lstat of the entry is stat of the open directory', lst(root, 'dn').ino === fst(dn).ino, true);
      dn.close();
    },
  },
  {
    name: 'openDir: directories only, never through a link',
    run(ctx, root) {
      const want: Record<string, string> = { f: 'NOTDIR', e: 'NOTDIR', h: 'NOTDIR', d: 'ok:dir', dn: 'ok:dir', l: 'LOOP', ld: 'LOOP', dangle: 'LOOP', m: 'NOENT', '.': 'ok:dir' };
      for (const n of NAMES) ctx.eq(`openDir ${n}`, r(root.openDir(n)), want[n]);
      const dn = sub(root, 'dn');
      ctx.eq('openDir dn/sub', r(dn.openDir('sub')), 'ok:dir');
      ctx.eq('listing of dn', listing(dn), ['c:REGULAR_FILE', 'sub:DIRECTORY']);
      dn.close();
    },
  },
  {
    name: 'open: every flag combination on every kind of entry',
    writes: true,
    run(ctx) {
      for (let flags = 0; flags < 128; flags++) {
        const root = ctx.fresh();
        for (const n of MATRIX_NAMES) {
          const label = `open ${n} ${flags}`;
          const h = root.open(n, flags);
          if (typeof h === 'number') {
            ctx.rec(label, r(h));
          } else if (h.kind === 'dir') {
            ctx.rec(label, `dir ${TYPE[fst(h).filetype]} ${listing(h).length}`);
            h.close();
          } else {
            const buf = new Uint8Array(8);
            const got = h.pread(buf, 0);
            const read = got < 0 ? r(got) : dec(buf.subarray(0, got));
            const wrote = h.pwrite(enc('Z'), 1, (flags & APPEND) !== 0);
            ctx.rec(label, `file ${TYPE[h.filetype]} read=${read} write=${wrote < 0 ? r(wrote) : wrote} size=${fst(h).size}`);
            h.close();
          }
          if (n !== '.') ctx.rec(`after ${label}`, [ls(root, n), cat(root, n)]);
        }
        ctx.rec(`listing after ${flags}`, listing(root));
      }
    },
  },
  {
    name: 'open: the rules one by one',
    writes: true,
    run(ctx, root) {
      ctx.eq('CREATE makes a file', r(root.open('x', CREATE | WRITE)), 'ok:file');
      ctx.eq('it is empty', ls(root, 'x'), { type: 'REGULAR_FILE', nlink: 1, size: 0 });
      ctx.eq('CREATE|EXCL on it: EXIST', r(root.open('x', CREATE | EXCL | WRITE)), 'EXIST');
      ctx.eq('CREATE|EXCL on a dangling link: EXIST', r(root.open('dangle', CREATE | EXCL | WRITE)), 'EXIST');
      ctx.eq('CREATE on a dangling link: LOOP (never created through it)', r(root.open('dangle', CREATE | WRITE)), 'LOOP');
      ctx.eq('nothing made at the target', ls(root, 'nowhere'), 'NOENT');
      ctx.eq('CREATE|DIRECTORY: INVAL', r(root.open('y', CREATE | DIRECTORY)), 'INVAL');
      ctx.eq('TRUNC without WRITE: INVAL, nothing truncated', [r(root.open('f', READ | TRUNC)), cat(root, 'f')], ['INVAL', 'hello']);
      ctx.eq('TRUNC|WRITE truncates', [r(root.open('f', WRITE | TRUNC)), cat(root, 'f')], ['ok:file', '']);
      ctx.eq('WRITE on a directory: ISDIR', r(root.open('d', WRITE)), 'ISDIR');
      ctx.eq('DIRECTORY on a file: NOTDIR', r(root.open('e', DIRECTORY)), 'NOTDIR');
      ctx.eq('a final symlink: LOOP', r(root.open('l', READ)), 'LOOP');
      ctx.eq('a final symlink to a directory with DIRECTORY: LOOP', r(root.open('ld', READ | DIRECTORY)), 'LOOP');
      ctx.eq('READ on a directory opens it', r(root.open('dn', READ)), 'ok:dir');
      const w = file(root, 'h', WRITE);
      ctx.eq('write-only: pread BADF', r(w.pread(new Uint8Array(4), 0)), 'BADF');
      ctx.eq('write-only: pwrite', w.pwrite(enc('L'), 0, false), 1);
      w.close();
      const a = file(root, 'e', WRITE | APPEND);
      ctx.eq('APPEND', [a.pwrite(enc('ab'), 0, true), a.pwrite(enc('cd'), 0, true)], [2, 2]);
      a.close();
      ctx.eq('APPEND wrote at the end', cat(root, 'e'), 'abcd');
    },
  },
  {
    name: 'hard links: one file under two names',
    writes: true,
    run(ctx, root) {
      const h2 = file(root, 'h2', READ);
      const w = file(root, 'h', WRITE);
      ctx.eq('a write through one link', w.pwrite(enc('L'), 0, false), 1);
      w.close();
      ctx.eq('shows through the other', [cat(root, 'h2'), (() => { const b = new Uint8Array(6); h2.pread(b, 0); return dec(b); })()], ['Linked', 'Linked']);
      ctx.eq('times set through one link', [r(root.utimes('h', 5n, 1_000_000_000n, ATIM | MTIM)), lst(root, 'h2').mtim], ['ok', 1_000_000_000n]);
      ctx.eq('a third link', [r(root.link('h', root, 'h3')), ls(root, 'h2'), fst(h2).nlink], ['ok', { type: 'REGULAR_FILE', nlink: 3, size: 6 }, 3n]);
      ctx.eq('rename of one link over another: nothing happens', [r(root.rename('h', root, 'h2')), ls(root, 'h'), ls(root, 'h2')], ['ok', { type: 'REGULAR_FILE', nlink: 3, size: 6 }, { type: 'REGULAR_FILE', nlink: 3, size: 6 }]);
      ctx.eq('unlink one', [r(root.unlink('h')), ls(root, 'h2'), fst(h2).nlink], ['ok', { type: 'REGULAR_FILE', nlink: 2, size: 6 }, 2n]);
      h2.close();
    },
  },
  {
    name: 'readlink',
    run(ctx, root) {
      const want: Record<string, string> = { f: 'INVAL', e: 'INVAL', h: 'INVAL', d: 'INVAL', dn: 'INVAL', l: 'f', ld: 'd', dangle: 'nowhere', m: 'NOENT', '.': 'INVAL' };
      for (const n of NAMES) ctx.eq(`readlink ${n}`, readlink(root, n), want[n]);
    },
  },
  {
    name: 'readdir: every entry once, with types and inode numbers, in a stable order',
    run(ctx, root) {
      const out: Out<Dirent[]> = { value: [] };
      ctx.eq('readdir', r(root.readdir(out)), 'ok');
      const first = out.value.map((d) => d.name);
      ctx.eq('entries', listing(root).filter((n) => !n.startsWith('fifo:')), ['d2:DIRECTORY', 'd:DIRECTORY', 'dangle:SYMBOLIC_LINK', 'dn:DIRECTORY', 'e:REGULAR_FILE', 'f:REGULAR_FILE', 'h2:REGULAR_FILE', 'h:REGULAR_FILE', 'l:SYMBOLIC_LINK', 'ld:SYMBOLIC_LINK']);
      ctx.eq('no . or ..', first.filter((n) => n === '.' || n === '..'), []);
      ctx.eq('ino of each entry is its lstat ino', out.value.filter((d) => d.ino !== lst(root, d.name).ino).map((d) => d.name), []);
      root.readdir(out);
      ctx.eq('same order again', out.value.map((d) => d.name).join() === first.join(), true);
      const d = sub(root, 'd');
      ctx.eq('empty directory', listing(d), []);
      d.close();
    },
  },
  {
    name: 'stat of open directories',
    run(ctx, root) {
      ctx.eq('root is a directory', TYPE[fst(root).filetype], 'DIRECTORY');
      for (const n of ['d', 'dn', 'd2']) {
        const d = sub(root, n);
        const s = fst(d);
        ctx.eq(`stat ${n}`, summary(s), { type: 'DIRECTORY', nlink: n === 'dn' ? 3 : 2 });
        ctx.eq(`stat ${n} is lstat ${n}`, [s.ino === lst(root, n).ino, s.dev === lst(root, n).dev], [true, true]);
        d.close();
      }
      ctx.eq('one device for the whole tree', new Set(['d', 'f', 'dn', '.'].map((n) => lst(root, n).dev)).size, 1);
    },
  },
  {
    name: 'file: reads at positions',
    run(ctx, root) {
      const f = file(root, 'f', READ);
      const buf = new Uint8Array(3);
      const at = (p: number): string => {
        const n = f.pread(buf, p);
        return n < 0 ? r(n) : dec(buf.subarray(0, n));
      };
      ctx.eq('reads', [at(0), at(2), at(4), at(5), at(100)], ['hel', 'llo', 'o', '', '']);
      ctx.eq('stat', summary(fst(f)), { type: 'REGULAR_FILE', nlink: 1, size: 5 });
      ctx.eq('filetype', TYPE[f.filetype], 'REGULAR_FILE');
      ctx.eq('stat is lstat', fst(f).ino === lst(root, 'f').ino, true);
      ctx.eq('sync', [r(f.sync()), r(f.datasync())], ['ok', 'ok']);
      f.close();
      const h = file(root, 'h2', READ);
      ctx.eq('stat through a second link', summary(fst(h)), { type: 'REGULAR_FILE', nlink: 2, size: 6 });
      h.close();
    },
  },
  {
    name: 'file: writes at positions, append, holes',
    writes: true,
    run(ctx, root) {
      const f = file(root, 'x', READ | WRITE | CREATE | EXCL);
      ctx.eq('write', f.pwrite(enc('hello'), 0, false), 5);
      ctx.eq('overwrite in the middle', f.pwrite(enc('XY'), 3, false), 2);
      ctx.eq('write past the end leaves a hole', f.pwrite(enc('Z'), 10, false), 1);
      ctx.eq('size', fst(f).size, 11n);
      const buf = new Uint8Array(16);
      const n = f.pread(buf, 0);
      ctx.eq('content with the hole as zeros', Array.from(buf.subarray(0, n)), [...enc('helXY'), 0, 0, 0, 0, 0, ...enc('Z')]);
      ctx.eq('append ignores the position', f.pwrite(enc('A'), 0, true), 1);
      ctx.eq('a later plain write at a position', f.pwrite(enc('h'), 0, false), 1);
      ctx.eq('after append', fst(f).size, 12n);
      ctx.eq('empty write', f.pwrite(new Uint8Array(0), 100, false), 0);
      ctx.eq('size after empty write', fst(f).size, 12n);
      f.close();
      ctx.eq('content', cat(root, 'x').replace(/\0/g, '.'), 'helXY.....ZA');
      const g = file(root, 'f', WRITE);
      ctx.eq('write into a fixture file', g.pwrite(enc('J'), 0, false), 1);
      g.close();
      ctx.eq('fixture file changed', cat(root, 'f'), 'Jello');
      const ro = file(root, 'f', READ);
      ctx.eq('read-only handle: pwrite BADF', r(ro.pwrite(enc('x'), 0, false)), 'BADF');
      ctx.eq('read-only handle: truncate INVAL', r(ro.truncate(0)), 'INVAL');
      ro.close();
      ctx.eq('unchanged', cat(root, 'f'), 'Jello');
      const orphan = file(root, 'e', READ | WRITE);
      ctx.eq('unlink an open file', r(root.unlink('e')), 'ok');
      ctx.eq('the open handle still writes', orphan.pwrite(enc('still'), 0, false), 5);
      ctx.eq('and reads', (() => { const b = new Uint8Array(5); orphan.pread(b, 0); return dec(b); })(), 'still');
      ctx.eq('nlink 0 once unlinked', fst(orphan).nlink, 0n);
      orphan.close();
      ctx.eq('gone', ls(root, 'e'), 'NOENT');
    },
  },
  {
    name: 'file: truncate grows and shrinks',
    writes: true,
    run(ctx, root) {
      const f = file(root, 'f', READ | WRITE);
      ctx.eq('shrink', r(f.truncate(2)), 'ok');
      ctx.eq('size 2', [fst(f).size, cat(root, 'f')], [2n, 'he']);
      ctx.eq('grow', r(f.truncate(6)), 'ok');
      ctx.eq('the tail reads as zeros, not the old bytes', cat(root, 'f'), 'he\0\0\0\0');
      ctx.eq('to zero', [r(f.truncate(0)), fst(f).size], ['ok', 0n]);
      f.close();
    },
  },
  {
    name: 'file: truncate to a negative size',
    writes: true,
    run(ctx, root) {
      const f = file(root, 'f', READ | WRITE);
      ctx.eq('INVAL', r(f.truncate(-1)), 'INVAL');
      f.close();
      ctx.eq('unchanged', cat(root, 'f'), 'hello');
    },
  },
  {
    name: 'file: allocate',
    writes: true,
    run(ctx, root) {
      const f = file(root, 'f', READ | WRITE);
      ctx.eq('grow to 10', [r(f.allocate(0, 10)), fst(f).size], ['ok', 10n]);
      ctx.eq('inside: size kept', [r(f.allocate(2, 3)), fst(f).size], ['ok', 10n]);
      ctx.eq('content kept, new bytes zero', cat(root, 'f'), 'hello\0\0\0\0\0');
      f.close();
    },
  },
  {
    name: 'file: allocate refusals',
    writes: true,
    run(ctx, root) {
      const f = file(root, 'f', READ | WRITE);
      ctx.eq('len 0: INVAL', r(f.allocate(0, 0)), 'INVAL');
      f.close();
      const ro = file(root, 'f', READ);
      ctx.eq('read-only handle: BADF', r(ro.allocate(0, 100)), 'BADF');
      ro.close();
      ctx.eq('size unchanged', ls(root, 'f'), { type: 'REGULAR_FILE', nlink: 1, size: 5 });
    },
  },
  {
    name: 'mkdir',
    writes: true,
    run(ctx, root) {
      ctx.eq('mkdir x', r(root.mkdir('x')), 'ok');
      ctx.eq('lstat x', ls(root, 'x'), { type: 'DIRECTORY', nlink: 2 });
      for (const n of ['x', 'f', 'd', 'l', 'ld', 'dangle', '.']) ctx.eq(`mkdir ${n}: EXIST`, r(root.mkdir(n)), 'EXIST');
      ctx.eq('nothing made through the dangling link', ls(root, 'nowhere'), 'NOENT');
      const x = sub(root, 'x');
      ctx.eq('mkdir x/y', r(x.mkdir('y')), 'ok');
      ctx.eq('x has nlink 3', [ls(root, 'x'), summary(fst(x))], [{ type: 'DIRECTORY', nlink: 3 }, { type: 'DIRECTORY', nlink: 3 }]);
      const y = sub(x, 'y');
      ctx.eq('rmdir x/y while open', r(x.rmdir('y')), 'ok');
      ctx.eq('mkdir in a removed directory: NOENT', r(y.mkdir('z')), 'NOENT');
      ctx.eq('create in a removed directory: NOENT', r(y.open('z', CREATE | WRITE)), 'NOENT');
      ctx.eq('symlink in a removed directory: NOENT', r(y.symlink('t', 'z')), 'NOENT');
      ctx.eq('a removed directory lists empty', listing(y), []);
      ctx.eq('and has nlink 0', fst(y).nlink, 0n);
      y.close();
      ctx.eq('x back to nlink 2', ls(root, 'x'), { type: 'DIRECTORY', nlink: 2 });
      x.close();
      ctx.eq('listing', listing(root).filter((n) => n.startsWith('x')), ['x:DIRECTORY']);
    },
  },
  {
    name: 'rmdir',
    writes: true,
    run(ctx, root) {
      const want: [string, string][] = [['dn', 'NOTEMPTY'], ['f', 'NOTDIR'], ['l', 'NOTDIR'], ['ld', 'NOTDIR'], ['dangle', 'NOTDIR'], ['m', 'NOENT'], ['.', 'INVAL'], ['d', 'ok']];
      for (const [n, e] of want) ctx.eq(`rmdir ${n}`, r(root.rmdir(n)), e);
      ctx.eq('d gone', [ls(root, 'd'), r(root.openDir('d'))], ['NOENT', 'NOENT']);
      ctx.eq('ld now dangles, and stays', ls(root, 'ld'), { type: 'SYMBOLIC_LINK', nlink: 1, size: 1 });
      const dn = sub(root, 'dn');
      ctx.eq('empty dn', [r(dn.unlink('c')), r(dn.rmdir('sub'))], ['ok', 'ok']);
      ctx.eq('dn empty', listing(dn), []);
      dn.close();
      ctx.eq('now it goes', r(root.rmdir('dn')), 'ok');
      ctx.eq('listing', listing(root), ['d2:DIRECTORY', 'dangle:SYMBOLIC_LINK', 'e:REGULAR_FILE', 'f:REGULAR_FILE', 'h2:REGULAR_FILE', 'h:REGULAR_FILE', 'l:SYMBOLIC_LINK', 'ld:SYMBOLIC_LINK']);
      ctx.eq('mkdir where it was', [r(root.mkdir('dn')), inDir(root, 'dn', listing)], ['ok', []]);
    },
  },
  {
    name: 'unlink',
    writes: true,
    run(ctx, root) {
      const want: [string, string][] = [['d', 'ISDIR'], ['dn', 'ISDIR'], ['.', 'ISDIR'], ['m', 'NOENT'], ['l', 'ok'], ['dangle', 'ok']];
      for (const [n, e] of want) ctx.eq(`unlink ${n}`, r(root.unlink(n)), e);
      ctx.eq('a symlink goes, its target stays', [ls(root, 'l'), cat(root, 'f')], ['NOENT', 'hello']);
      ctx.eq('unlink f', r(root.unlink('f')), 'ok');
      ctx.eq('f gone', [ls(root, 'f'), cat(root, 'f'), r(root.unlink('f'))], ['NOENT', 'NOENT', 'NOENT']);
      ctx.eq('create again', [r(root.open('f', CREATE | WRITE | EXCL)), cat(root, 'f')], ['ok:file', '']);
      const d2 = sub(root, 'd2');
      ctx.eq('unlink d2/f', r(d2.unlink('f')), 'ok');
      ctx.eq('d2 empty', listing(d2), []);
      d2.close();
      ctx.eq('rmdir d2 now', r(root.rmdir('d2')), 'ok');
    },
  },
  {
    name: 'symlink',
    writes: true,
    run(ctx, root) {
      ctx.eq('symlink', r(root.symlink('target', 'x')), 'ok');
      ctx.eq('lstat: a link the size of its target', ls(root, 'x'), { type: 'SYMBOLIC_LINK', nlink: 1, size: 6 });
      ctx.eq('readlink', readlink(root, 'x'), 'target');
      for (const n of ['x', 'f', 'd', 'l', 'dangle', '.']) ctx.eq(`onto ${n}: EXIST`, r(root.symlink('t', n)), 'EXIST');
      ctx.eq('nothing made through the dangling link', ls(root, 'nowhere'), 'NOENT');
      ctx.eq('empty target: NOENT', r(root.symlink('', 'y')), 'NOENT');
      ctx.eq('any target text is kept', [r(root.symlink('../a/./b/', 'y')), readlink(root, 'y')], ['ok', '../a/./b/']);
      ctx.eq('a target of 4095 bytes', r(root.symlink('a'.repeat(4095), 'long')), 'ok');
      ctx.eq('of 4096: NAMETOOLONG', r(root.symlink('a'.repeat(4096), 'longer')), 'NAMETOOLONG');
      ctx.eq('opening the link: LOOP', r(root.open('x', READ)), 'LOOP');
      const d = sub(root, 'd');
      ctx.eq('in a subdirectory', [r(d.symlink('../f', 'up')), readlink(d, 'up')], ['ok', '../f']);
      d.close();
    },
  },
  {
    name: 'rename: files',
    writes: true,
    run(ctx, root) {
      ctx.eq('file over file', r(root.rename('f', root, 'e')), 'ok');
      ctx.eq('moved', [ls(root, 'f'), cat(root, 'e')], ['NOENT', 'hello']);
      ctx.eq('to a new name', [r(root.rename('e', root, 'x')), cat(root, 'x'), ls(root, 'e')], ['ok', 'hello', 'NOENT']);
      ctx.eq('same name', [r(root.rename('x', root, 'x')), cat(root, 'x')], ['ok', 'hello']);
      ctx.eq('file over a directory: ISDIR', r(root.rename('x', root, 'd')), 'ISDIR');
      ctx.eq('file over a non-empty directory: ISDIR', r(root.rename('x', root, 'dn')), 'ISDIR');
      ctx.eq('missing: NOENT', r(root.rename('m', root, 'y')), 'NOENT');
      ctx.eq('. either side: BUSY', [r(root.rename('.', root, 'y')), r(root.rename('x', root, '.'))], ['BUSY', 'BUSY']);
      ctx.eq('a symlink moves, not its target', [r(root.rename('l', root, 'l2')), readlink(root, 'l2'), ls(root, 'l')], ['ok', 'f', 'NOENT']);
      ctx.eq('a file over a symlink replaces the link', [r(root.rename('x', root, 'ld')), cat(root, 'ld'), inDir(root, 'd', listing)], ['ok', 'hello', []]);
      const f = file(root, 'ld', READ);
      ctx.eq('an open file moved', r(root.rename('ld', root, 'moved')), 'ok');
      ctx.eq('its handle still reads it', (() => { const b = new Uint8Array(6); const n = f.pread(b, 0); return n < 0 ? r(n) : dec(b.subarray(0, n)); })(), 'hello');
      f.close();
    },
  },
  {
    name: 'rename: between two directories',
    writes: true,
    run(ctx, root) {
      inTwoDirs(root, 'd2', 'd', (d2, d) => {
        ctx.eq('d2/f to d/x', r(d2.rename('f', d, 'x')), 'ok');
        ctx.eq('moved', [listing(d2), listing(d), cat(d, 'x')], [[], ['x:REGULAR_FILE'], 'two']);
        ctx.eq('back over a file in the root', r(d.rename('x', root, 'f')), 'ok');
        ctx.eq('replaced', [cat(root, 'f'), listing(d)], ['two', []]);
      });
      ctx.eq('mkdir p, q, p/x', [r(root.mkdir('p')), r(root.mkdir('q'))], ['ok', 'ok']);
      inTwoDirs(root, 'p', 'q', (p, q) => {
        p.mkdir('x');
        put(p, 'x-file', 'content');
        ctx.eq('a directory to another directory', r(p.rename('x', q, 'x')), 'ok');
        ctx.eq('parents nlink', [summary(fst(p)), summary(fst(q))], [{ type: 'DIRECTORY', nlink: 2 }, { type: 'DIRECTORY', nlink: 3 }]);
        ctx.eq('a file to another directory', [r(p.rename('x-file', q, 'y')), cat(q, 'y')], ['ok', 'content']);
        ctx.eq('the other directory of the same fs', p.sameFileSystem(q), true);
      });
    },
  },
  {
    name: 'rename: directories',
    writes: true,
    run(ctx, root) {
      root.mkdir('x');
      const x = sub(root, 'x');
      put(x, 'k', 'kept');
      x.mkdir('y');
      ctx.eq('directory over a file: NOTDIR', r(root.rename('x', root, 'f')), 'NOTDIR');
      ctx.eq('directory over a symlink: NOTDIR', r(root.rename('x', root, 'l')), 'NOTDIR');
      ctx.eq('directory over a non-empty directory: NOTEMPTY', r(root.rename('x', root, 'dn')), 'NOTEMPTY');
      ctx.eq('into its own subtree: INVAL', r(root.rename('x', x, 'inside')), 'INVAL');
      const y = sub(x, 'y');
      ctx.eq('deeper into its own subtree: INVAL', r(root.rename('x', y, 'inside')), 'INVAL');
      ctx.eq('over its own ancestor: NOTEMPTY', r(x.rename('y', root, 'x')), 'NOTEMPTY');
      y.close();
      ctx.eq('same name', r(root.rename('x', root, 'x')), 'ok');
      ctx.eq('over an empty directory', r(root.rename('x', root, 'd')), 'ok');
      ctx.eq('moved with its content', [ls(root, 'x'), inDir(root, 'd', listing), inDir(root, 'd', (d) => cat(d, 'k'))], ['NOENT', ['k:REGULAR_FILE', 'y:DIRECTORY'], 'kept']);
      ctx.eq('the open handle follows it', [cat(x, 'k'), listing(x)], ['kept', ['k:REGULAR_FILE', 'y:DIRECTORY']]);
      ctx.eq('root nlink', lst(root, 'd').nlink, 3n);
      x.close();
    },
  },
  {
    name: 'rename: a fixture directory, refused',
    writes: true,
    run(ctx, root) {
      ctx.eq('same name', r(root.rename('dn', root, 'dn')), 'ok');
      ctx.eq('over a file: NOTDIR', r(root.rename('dn', root, 'f')), 'NOTDIR');
      ctx.eq('over a symlink to a directory: NOTDIR', r(root.rename('dn', root, 'ld')), 'NOTDIR');
      ctx.eq('into itself: INVAL', inDir(root, 'dn', (dn) => r(root.rename('dn', dn, 'x'))), 'INVAL');
      ctx.eq('into a subdirectory of itself: INVAL', inDir(root, 'dn', (dn) => inDir(dn, 'sub', (s) => r(root.rename('dn', s, 'x')))), 'INVAL');
      ctx.eq('over its own parent: NOTEMPTY', inDir(root, 'dn', (dn) => r(dn.rename('sub', root, 'dn'))), 'NOTEMPTY');
      ctx.eq('a file over it: ISDIR', r(root.rename('f', root, 'dn')), 'ISDIR');
      ctx.eq('all still there', [listing(root).length, inDir(root, 'dn', listing)], [10, ['c:REGULAR_FILE', 'sub:DIRECTORY']]);
    },
  },
  {
    name: 'rename: a fixture directory moves',
    writes: true,
    run(ctx, root) {
      ctx.eq('to a new name', r(root.rename('dn', root, 'moved')), 'ok');
      ctx.eq('content moved', [ls(root, 'dn'), inDir(root, 'moved', (d) => cat(d, 'c'))], ['NOENT', 'x']);
      ctx.eq('over an empty directory', [r(root.rename('moved', root, 'd')), inDir(root, 'd', listing)], ['ok', ['c:REGULAR_FILE', 'sub:DIRECTORY']]);
    },
  },
  {
    name: 'rename and link to another file system: XDEV',
    writes: true,
    run(ctx, root) {
      for (const n of ['f', 'd', 'l', 'dangle']) ctx.eq(`rename ${n}`, r(root.rename(n, ctx.other, 'new')), 'XDEV');
      for (const n of ['f', 'l']) ctx.eq(`link ${n}`, r(root.link(n, ctx.other, 'new')), 'XDEV');
      ctx.eq('nothing moved', [cat(root, 'f'), listing(ctx.other)], ['hello', []]);
      ctx.eq('sameFileSystem', root.sameFileSystem(ctx.other), false);
    },
  },
  {
    name: 'xdev: rename and link between two HostFs',
    writes: true,
    run(ctx, root) {
      const other = rootOf(new HostFs(hostDir()));
      ctx.eq('sameFileSystem', root.sameFileSystem(other), false);
      ctx.eq('rename', r(root.rename('f', other, 'x')), 'XDEV');
      ctx.eq('link', r(root.link('e', other, 'x')), 'XDEV');
      ctx.eq('nothing moved', listing(other), []);
      other.close();
    },
  },
  {
    name: 'link',
    writes: true,
    run(ctx, root) {
      ctx.eq('link f x', r(root.link('f', root, 'x')), 'ok');
      ctx.eq('nlink 2 both', [ls(root, 'f'), ls(root, 'x')], [{ type: 'REGULAR_FILE', nlink: 2, size: 5 }, { type: 'REGULAR_FILE', nlink: 2, size: 5 }]);
      ctx.eq('same inode', lst(root, 'f').ino === lst(root, 'x').ino, true);
      const w = file(root, 'x', WRITE);
      w.pwrite(enc('J'), 0, false);
      w.close();
      ctx.eq('one content', cat(root, 'f'), 'Jello');
      for (const t of ['e', 'd', 'l', 'dangle', '.', 'x']) ctx.eq(`onto ${t}: EXIST`, r(root.link('f', root, t)), 'EXIST');
      ctx.eq('a directory: PERM', r(root.link('d', root, 'y')), 'PERM');
      ctx.eq('.: PERM', r(root.link('.', root, 'y')), 'PERM');
      ctx.eq('missing: NOENT', r(root.link('m', root, 'y')), 'NOENT');
      ctx.eq('a symlink links the link itself', [r(root.link('l', root, 'l2')), readlink(root, 'l2'), ls(root, 'l2')], ['ok', 'f', { type: 'SYMBOLIC_LINK', nlink: 2, size: 1 }]);
      ctx.eq('a dangling symlink too', [r(root.link('dangle', root, 'dangle2')), readlink(root, 'dangle2')], ['ok', 'nowhere']);
      const d = sub(root, 'd');
      ctx.eq('into a subdirectory', [r(root.link('f', d, 'in')), cat(d, 'in'), ls(root, 'f')], ['ok', 'Jello', { type: 'REGULAR_FILE', nlink: 3, size: 5 }]);
      d.close();
      ctx.eq('unlink one', [r(root.unlink('f')), ls(root, 'x')], ['ok', { type: 'REGULAR_FILE', nlink: 2, size: 5 }]);
      put(root, 'y', 'new');
      const y = file(root, 'y', READ);
      ctx.eq('stat through a handle sees new links', [r(root.link('y', root, 'y2')), fst(y).nlink], ['ok', 2n]);
      y.close();
    },
  },
  {
    name: 'utimes: by name',
    writes: true,
    run(ctx, root) {
      const times = (n: string): [bigint, bigint] => {
        const s = lst(root, n);
        return [s.atim, s.mtim];
      };
      ctx.eq('exact ns on a file', [r(root.utimes('f', T1, T2, ATIM | MTIM)), ...times('f')], ['ok', T1, T2]);
      ctx.eq('exact ns on a symlink', [r(root.utimes('l', T2, T1, ATIM | MTIM)), ...times('l')], ['ok', T2, T1]);
      ctx.eq('a symlink, not its target', times('f'), [T1, T2]);
      for (const n of ['d', 'dangle', '.']) {
        ctx.eq(`set on ${n}`, [r(root.utimes(n, U1, U2, ATIM | MTIM)), ...times(n)], ['ok', U1, U2]);
      }
      const before = times('e');
      ctx.eq('ATIM only', [r(root.utimes('e', U1, 0n, ATIM)), times('e')], ['ok', [U1, before[1]]]);
      ctx.eq('MTIM only', [r(root.utimes('e', 0n, U2, MTIM)), times('e')], ['ok', [U1, U2]]);
      ctx.eq('MTIM_NOW', [r(root.utimes('e', 0n, 0n, MTIM_NOW)), times('e')[0], near(times('e')[1])], ['ok', U1, true]);
      ctx.eq('ATIM_NOW', [r(root.utimes('e', 0n, 0n, ATIM_NOW)), near(times('e')[0])], ['ok', true]);
      ctx.eq('both NOW', [r(root.utimes('f', 0n, 0n, ATIM_NOW | MTIM_NOW)), times('f').map(near)], ['ok', [true, true]]);
      ctx.eq('nothing: unchanged', [r(root.utimes('d', 0n, 0n, 0)), times('d')], ['ok', [U1, U2]]);
      ctx.eq('missing: NOENT', [r(root.utimes('m', T1, T2, ATIM | MTIM)), r(root.utimes('m', 0n, 0n, 0))], ['NOENT', 'NOENT']);
      ctx.eq('early times', [r(root.utimes('dn', 5n, 1_000_000_000n, ATIM | MTIM)), times('dn')], ['ok', [5n, 1_000_000_000n]]);
    },
  },
  {
    name: 'utimes: through a handle',
    writes: true,
    run(ctx, root) {
      for (const [flags, a, m] of [[READ, T1, T2], [READ | WRITE, U1, U2]] as const) {
        const f = file(root, flags === READ ? 'f' : 'e', flags);
        const name = flags === READ ? 'f' : 'e';
        ctx.eq(`set (${flags})`, [r(f.utimes(a, m, ATIM | MTIM)), fst(f).atim, fst(f).mtim], ['ok', a, m]);
        ctx.eq(`by name too (${flags})`, [lst(root, name).atim, lst(root, name).mtim], [a, m]);
        ctx.eq(`omit (${flags})`, [r(f.utimes(0n, 0n, 0)), fst(f).mtim], ['ok', m]);
        ctx.eq(`NOW (${flags})`, [r(f.utimes(0n, 0n, ATIM_NOW | MTIM_NOW)), near(fst(f).atim), near(fst(f).mtim)], ['ok', true, true]);
        f.close();
      }
      const f = file(root, 'h', READ);
      ctx.eq('MTIM_NOW alone', [r(f.utimes(0n, 0n, MTIM_NOW)), fst(f).atim, near(fst(f).mtim)], ['ok', lst(root, 'h').atim, true]);
      f.close();
      const d = sub(root, 'dn');
      ctx.eq('a directory handle', [r(d.utimes('.', U1, U2, ATIM | MTIM)), fst(d).mtim, lst(root, 'dn').mtim], ['ok', U2, U2]);
      d.close();
      ctx.eq('content unchanged', cat(root, 'f'), 'hello');
    },
  },
  {
    name: 'names: 255 bytes at most',
    writes: true,
    run(ctx, root) {
      const ok = 'n'.repeat(252) + 'é'; // 254 UTF-16 units, 255 bytes
      const long = 'n'.repeat(254) + 'é'; // 256 bytes
      ctx.eq('create 255 bytes', [r(root.open(ok, CREATE | WRITE)), ls(root, ok)], ['ok:file', { type: 'REGULAR_FILE', nlink: 1, size: 0 }]);
      ctx.eq('listed', listing(root).includes(`${ok}:REGULAR_FILE`), true);
      ctx.eq('256 bytes', [r(root.open(long, CREATE | WRITE)), r(root.mkdir(long)), r(root.symlink('t', long)), ls(root, long), r(root.unlink(long))], ['NAMETOOLONG', 'NAMETOOLONG', 'NAMETOOLONG', 'NAMETOOLONG', 'NAMETOOLONG']);
      ctx.eq('rename and link to 256 bytes', [r(root.rename('f', root, long)), r(root.link('f', root, long))], ['NAMETOOLONG', 'NAMETOOLONG']);
      ctx.eq('rename to 255 bytes and back', [r(root.rename(ok, root, 'x')), r(root.rename('x', root, ok))], ['ok', 'ok']);
      ctx.eq('unlink 255 bytes', [r(root.unlink(ok)), ls(root, ok)], ['ok', 'NOENT']);
    },
  },
  {
    name: 'sync and sameFileSystem',
    run(ctx, root) {
      ctx.eq('sync', r(root.sync()), 'ok');
      const again = root.openDir('.');
      if (typeof again === 'number') assert.fail('openDir .');
      const d = sub(root, 'd');
      ctx.eq('same fs: a second handle, a subdirectory', [root.sameFileSystem(again), root.sameFileSystem(d), d.sameFileSystem(root)], [true, true, true]);
      ctx.eq('another fs', [root.sameFileSystem(ctx.other), ctx.other.sameFileSystem(root)], [false, false]);
      again.close();
      d.close();
      ctx.eq('still open after closing the others', r(root.lstat('f', newFilestat())), 'ok');
    },
  },
  {
    name: 'close: a closed handle answers BADF',
    run(ctx, root) {
      const d = sub(root, 'd');
      d.close();
      const f = file(root, 'f', READ);
      f.close();
      // Open more handles so that a reused descriptor number would show.
      const keep = [sub(root, 'dn'), file(root, 'e', READ)];
      ctx.eq('dir', [r(d.lstat('c', newFilestat())), r(d.stat(newFilestat())), r(d.readdir({ value: [] }))], ['BADF', 'BADF', 'BADF']);
      ctx.eq('file', [r(f.pread(new Uint8Array(1), 0)), r(f.stat(newFilestat()))], ['BADF', 'BADF']);
      for (const k of keep) k.close();
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Running the cases: HostFs first (its trace is the reference), then every other backend.

const otherFs = new MemFs();
const reference = new Map<string, { trace: [string, unknown][] } | { error: unknown }>();
const host = BACKENDS[0]!;

function runCase(b: Backend, c: Case): Ctx {
  const other = rootOf(otherFs);
  const ctx = new Ctx(b, other);
  const root = ctx.fresh();
  try {
    c.run(ctx, root);
  } finally {
    ctx.closeAll();
    other.close();
  }
  return ctx;
}
function referenceTrace(c: Case): [string, unknown][] | null {
  if (!reference.has(c.name)) {
    try {
      reference.set(c.name, { trace: runCase(host, c).trace });
    } catch (e) {
      reference.set(c.name, { error: e });
    }
  }
  const ref = reference.get(c.name)!;
  return 'trace' in ref ? ref.trace : null;
}

/** Everything a backend holds, read through the Dir interface: names, types, link targets, contents, mtimes. */
function snapshot(dir: Dir): string {
  const h = crypto.createHash('sha256');
  const out: Out<Dirent[]> = { value: [] };
  dir.readdir(out);
  for (const d of [...out.value].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const s = lst(dir, d.name);
    h.update(`${d.name}|${s.filetype}|${s.size}|${s.mtim}|${s.nlink}\n`);
    if (s.filetype === Filetype.DIRECTORY) h.update(inDir(dir, d.name, snapshot));
    else if (s.filetype === Filetype.SYMBOLIC_LINK) h.update(readlink(dir, d.name));
    else if (s.filetype === Filetype.REGULAR_FILE) h.update(cat(dir, d.name));
  }
  return h.digest('hex');
}
function hostDigest(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p, { bigint: true });
      h.update(`${path.relative(dir, p)}|${st.mode}|${st.size}|${st.mtimeNs}|${st.ctimeNs}|${st.nlink}\n`);
      if (st.isDirectory()) walk(p);
      else if (st.isSymbolicLink()) h.update(fs.readlinkSync(p));
      else if (st.isFile()) h.update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

for (const b of BACKENDS) {
  describe(`backend: ${b.name}`, () => {
    for (const c of CASES) {
      if (c.writes && !b.writable) continue;
      const skip = b.skip?.[c.name];
      const todo = b.todo?.[c.name];
      it(c.name, { skip, todo }, () => {
        if (b === host) {
          const ref = (referenceTrace(c), reference.get(c.name)!);
          if ('error' in ref) throw ref.error;
          return;
        }
        const ctx = runCase(b, c);
        const ref = referenceTrace(c);
        if (ref !== null) assert.deepEqual(ctx.trace, ref, `${b.name} answers as HostFs`);
      });
    }
    if (!b.writable) {
      const names = b.fifo ? [...RO_NAMES, 'fifo'] : RO_NAMES;
      it(`read-only: every change answers as a Linux read-only bind mount (${roCases(names).length} calls)`, () => {
        const digests = (b.hostDirs ?? []).map(hostDigest);
        const root = rootOf(b.make());
        const before = snapshot(root);
        // The other file systems hold `f` and `d`, as in the kernel probe.
        const otherRw = rootOf(new MemFs());
        otherRw.mkdir('d');
        r(otherRw.open('f', CREATE | WRITE));
        const otherRo = rootOf(new ReadOnlyFs(withFixture(new MemFs())));
        const cases = roCases(names);
        const got = runRoCases(cases, { root, otherRw, otherRo });
        const wrong = cases.filter((c) => got[c.key] !== (c.wtm ?? c.expect)).map((c) => `${c.key}: ${got[c.key]}, expected ${c.wtm ?? c.expect} (Linux ${c.expect})`);
        assert.deepEqual(wrong, [], `${wrong.length} answers differ from Linux`);
        assert.equal(snapshot(root), before, 'nothing changed');
        assert.deepEqual((b.hostDirs ?? []).map(hostDigest), digests, 'nothing changed on disk');
        assert.deepEqual(listing(otherRw), ['d:DIRECTORY', 'f:REGULAR_FILE'], 'nothing reached the other file system');
        for (const d of [root, otherRw, otherRo]) d.close();
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The read-only table against the kernel: HostFs on a real read-only bind mount must give the
// table's answers (it passes the kernel's answers through). Needs root and unshare(1).


function canMount(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux';
  const r = spawnSync('unshare', ['-m', 'true']);
  return r.status === 0 ? undefined : 'unshare -m is not available';
}

describe('read-only table against the Linux kernel', () => {
  const why = canMount();
  let probe: Record<string, string> | null = null;
  const run = (): Record<string, string> => {
    if (probe !== null) return probe;
    const base = hostDir();
    const [src, ro, rw, src2, ro2] = ['src', 'ro', 'rw', 'src2', 'ro2'].map((n) => {
      fs.mkdirSync(path.join(base, n));
      return path.join(base, n);
    }) as [string, string, string, string, string];
    withFixture(new HostFs(src));
    mkfifo(src);
    for (const d of [rw, src2]) {
      fs.writeFileSync(path.join(d, 'f'), '');
      fs.mkdirSync(path.join(d, 'd'));
    }
    const before = hostDigest(src);
    const script = fileURLToPath(new URL('./conformance.js', import.meta.url));
    const sh = 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && mount --bind "$3" "$4" && mount -o remount,bind,ro "$4" && exec "$5" "$6" --probe "$2" "$7" "$4"';
    const res = spawnSync('unshare', ['-m', 'sh', '-c', sh, 'sh', src, ro, src2, ro2, process.execPath, script, rw], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(hostDigest(src), before, 'the kernel changed nothing either');
    probe = JSON.parse(res.stdout) as Record<string, string>;
    return probe;
  };
  const cases = roCases([...RO_NAMES, 'fifo']);
  const check = (list: RoCase[]): void => {
    const got = run();
    const wrong = list.filter((c) => got[c.key] !== c.expect).map((c) => `${c.key}: kernel ${got[c.key]}, table ${c.expect}`);
    assert.deepEqual(wrong, []);
  };
  it(`HostFs on a read-only bind mount answers the table (${cases.length} calls)`, { skip: why }, () => {
    check(cases);
  });
});
