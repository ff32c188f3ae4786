// Shared by the backend conformance suite (conformance.test.ts) and its kernel probe: the
// fixture every backend starts from, and the table of what a Linux read-only bind mount answers.
// The table was measured on Linux 6.18 (unshare -m; mount --bind A B; mount -o remount,bind,ro B)
// and is checked again against the kernel by the suite whenever it runs as root.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Errno, errnoName, FstFlags, newFilestat, type Dirent, type Out } from '../system/index.js';
import { HostFs } from './hostfs.js';
import { OpenFlags, type Dir, type File } from './types.js';

/** One fixture entry; `layer` says which lower layer holds it when the fixture is split over two. */
export type FixtureEntry = { name: string; layer: 1 | 2 } & (
  | { file: string }
  | { dir: true }
  | { symlink: string }
  | { hardlink: string }
);

/**
 * The tree every backend starts from. No directory exists in both layers (merged directories
 * answer nlink 1 in overlayfs, which the other backends would not).
 */
export const FIXTURE: readonly FixtureEntry[] = [
  { name: 'f', file: 'hello', layer: 1 },
  { name: 'e', file: '', layer: 2 },
  { name: 'h', file: 'linked', layer: 1 },
  { name: 'h2', hardlink: 'h', layer: 1 },
  { name: 'd', dir: true, layer: 1 },
  { name: 'dn', dir: true, layer: 2 },
  { name: 'dn/c', file: 'x', layer: 2 },
  { name: 'dn/sub', dir: true, layer: 2 },
  { name: 'd2', dir: true, layer: 1 },
  { name: 'd2/f', file: 'two', layer: 1 },
  { name: 'l', symlink: 'f', layer: 1 },
  { name: 'ld', symlink: 'd', layer: 2 },
  { name: 'dangle', symlink: 'nowhere', layer: 2 },
];

/** What each top-level name of the fixture is (`m` is missing, `.` the root itself). */
export const KIND: Record<string, 'file' | 'dir' | 'symlink' | 'missing' | 'fifo'> = {
  f: 'file', e: 'file', h: 'file', h2: 'file', d: 'dir', dn: 'dir', d2: 'dir', '.': 'dir',
  l: 'symlink', ld: 'symlink', dangle: 'symlink', m: 'missing', fifo: 'fifo',
};
export const SYMLINK_TARGET: Record<string, string> = { l: 'f', ld: 'd', dangle: 'nowhere' };
/** What `d2` holds (the other directory of cross-directory cases). */
export const KIND_IN_D2: Record<string, 'file' | 'dir' | 'missing'> = { f: 'file', '.': 'dir' };

const enc = new TextEncoder();

function fail(what: string, errno: number): never {
  throw new Error(`fixture: ${what}: ${errnoName(errno)}`);
}

/** Walks `a/b` from `root` to the directory holding the last name; the caller closes it if it is not root. */
function parentOf(root: Dir, path: string): { dir: Dir; name: string } {
  const parts = path.split('/');
  let dir = root;
  for (const c of parts.slice(0, -1)) {
    const next = dir.openDir(c);
    if (typeof next === 'number') fail(`openDir ${c}`, -next);
    if (dir !== root) dir.close();
    dir = next;
  }
  return { dir, name: parts[parts.length - 1]! };
}

/**
 * Times every fixture entry gets: whole microseconds (a host layer sets them without a `touch`
 * process, and so does an overlay's copy-up), atime in the future (relatime never moves it, so
 * reads keep it whole).
 */
export const FIXTURE_ATIM = 4_000_000_000_000_000_000n;
export const FIXTURE_MTIM = 1_600_000_000_000_000_000n;

/** Writes the fixture entries of `layers` (both by default) through the Dir interface. */
export function buildFixture(root: Dir, layers: readonly number[] = [1, 2]): void {
  const made = FIXTURE.filter((e) => layers.includes(e.layer));
  for (const e of made) {
    if (!layers.includes(e.layer)) continue;
    const { dir, name } = parentOf(root, e.name);
    try {
      if ('file' in e) {
        const f = dir.open(name, OpenFlags.CREATE | OpenFlags.EXCL | OpenFlags.WRITE);
        if (typeof f === 'number') fail(`create ${e.name}`, -f);
        const data = enc.encode(e.file);
        if ((f as File).pwrite(data, 0, false) !== data.length) fail(`write ${e.name}`, Errno.IO);
        f.close();
      } else if ('dir' in e) {
        const r = dir.mkdir(name);
        if (r !== 0) fail(`mkdir ${e.name}`, r);
      } else if ('symlink' in e) {
        const r = dir.symlink(e.symlink, name);
        if (r !== 0) fail(`symlink ${e.name}`, r);
      } else {
        const src = parentOf(root, e.hardlink);
        const r = src.dir.link(src.name, dir, name);
        if (src.dir !== root) src.dir.close();
        if (r !== 0) fail(`link ${e.name}`, r);
      }
    } finally {
      if (dir !== root) dir.close();
    }
  }
  // Deepest first, so that setting a directory's times comes after its content changed it.
  for (const e of [...made].reverse()) {
    const { dir, name } = parentOf(root, e.name);
    const r = dir.utimes(name, FIXTURE_ATIM, FIXTURE_MTIM, FstFlags.ATIM | FstFlags.MTIM);
    if (dir !== root) dir.close();
    if (r !== 0) fail(`utimes ${e.name}`, r);
  }
}

/** The fixture as a tar archive (tar-stream), for TarFs. */
export async function fixtureTar(): Promise<Buffer> {
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  const mtime = new Date(1_700_000_000_000);
  for (const e of FIXTURE) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if ('file' in e) pack.entry({ name: e.name, type: 'file', mode: 0o644, mtime }, Buffer.from(e.file), done);
      else if ('dir' in e) pack.entry({ name: e.name, type: 'directory', mode: 0o755, mtime }, done);
      else if ('symlink' in e) pack.entry({ name: e.name, type: 'symlink', linkname: e.symlink, mode: 0o777, mtime }, done);
      else pack.entry({ name: e.name, type: 'link', linkname: e.hardlink, mode: 0o644, mtime }, done);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------
// The read-only table: every call on a read-only file system, and what Linux answers.

const { READ, WRITE, CREATE, EXCL, TRUNC, DIRECTORY, APPEND } = OpenFlags;
const { ATIM, ATIM_NOW, MTIM, MTIM_NOW } = FstFlags;

/** Where a read-only case runs: the read-only root, and roots of a writable and of a read-only other file system. */
export interface RoEnv {
  root: Dir;
  otherRw: Dir;
  otherRo: Dir;
}

export interface RoCase {
  key: string;
  /** Linux's answer. */
  expect: string;
  /** ReadOnlyFs's answer where it departs from Linux on purpose (see readonly.ts). */
  wtm?: string;
  run(env: RoEnv): string;
}

/** An errno or handle as the table spells it: `ok`, `ok:file`, `ok:dir` or the errno's name. */
function show(r: number | Dir | File): string {
  if (typeof r !== 'number') {
    r.close();
    return `ok:${r.kind}`;
  }
  return r === 0 ? 'ok' : errnoName(r < 0 ? -r : r);
}

export function flagsName(flags: number): string {
  const parts: [number, string][] = [[READ, 'R'], [WRITE, 'W'], [CREATE, 'C'], [EXCL, 'X'], [TRUNC, 'T'], [DIRECTORY, 'D'], [APPEND, 'A']];
  return parts.map(([f, s]) => (flags & f ? s : '')).join('') || '-';
}

/**
 * Linux's answer to openat(dir, name, flags | O_NOFOLLOW) on a read-only bind mount, with the
 * backend conventions (TRUNC without WRITE is INVAL before anything, as hostfs refuses it; a
 * final symlink is LOOP even with DIRECTORY). The write check comes last: every error the call
 * would give on a writable mount wins over ROFS. Special files (FIFOs, devices) may be opened for
 * writing: a read-only mount does not stop writes that do not reach the file system (ReadOnlyFs
 * departs there: see readonly.ts).
 */
export function roOpen(kind: string, flags: number): string {
  if (flags & TRUNC && !(flags & WRITE)) return 'INVAL';
  if (flags & CREATE && flags & DIRECTORY) return 'INVAL';
  if (kind === 'missing') return flags & CREATE ? 'ROFS' : 'NOENT';
  if (flags & CREATE && flags & EXCL) return 'EXIST';
  if (kind === 'symlink') return 'LOOP';
  if (kind === 'dir') return flags & (CREATE | WRITE | TRUNC) ? 'ISDIR' : 'ok:dir';
  if (flags & DIRECTORY) return 'NOTDIR';
  if (kind === 'fifo') return flags & WRITE && !(flags & READ) ? 'NXIO' : 'ok:file'; // O_NONBLOCK, no reader
  return flags & WRITE ? 'ROFS' : 'ok:file';
}

const exists = (k: string | undefined): boolean => k !== undefined && k !== 'missing';

/** The read-only table for the fixture's top-level `names` (plus `fifo` where the backend has one). */
export function roCases(names: readonly string[]): RoCase[] {
  const cases: RoCase[] = [];
  const add = (key: string, expect: string, run: (env: RoEnv) => string, wtm?: string): void => {
    cases.push(wtm === undefined || wtm === expect ? { key, expect, run } : { key, expect, wtm, run });
  };
  const scratch = newFilestat();
  for (const n of names) {
    const k = KIND[n]!;
    for (let flags = 0; flags < 128; flags++) {
      // A FIFO on a read-only mount opens for writing on Linux; ReadOnlyFs refuses (readonly.ts).
      const linux = roOpen(k, flags);
      const wtm = k === 'fifo' && flags & WRITE && linux !== 'INVAL' && linux !== 'EXIST' && linux !== 'NOTDIR' ? 'ROFS' : linux;
      add(`open ${n} ${flagsName(flags)}`, linux, ({ root }) => show(root.open(n, flags)), wtm);
    }
    add(`openDir ${n}`, k === 'dir' ? 'ok:dir' : k === 'missing' ? 'NOENT' : k === 'symlink' ? 'LOOP' : 'NOTDIR', ({ root }) => show(root.openDir(n)));
    add(`lstat ${n}`, k === 'missing' ? 'NOENT' : 'ok', ({ root }) => show(root.lstat(n, scratch)));
    add(`mkdir ${n}`, exists(k) ? 'EXIST' : 'ROFS', ({ root }) => show(root.mkdir(n)));
    add(`symlink ${n}`, exists(k) ? 'EXIST' : 'ROFS', ({ root }) => show(root.symlink('x', n)));
    add(`symlink '' ${n}`, 'NOENT', ({ root }) => show(root.symlink('', n)));
    add(`rmdir ${n}`, n === '.' ? 'INVAL' : 'ROFS', ({ root }) => show(root.rmdir(n)));
    add(`unlink ${n}`, n === '.' ? 'ISDIR' : 'ROFS', ({ root }) => show(root.unlink(n)));
    add(`readlink ${n}`, k === 'symlink' ? `ok:${SYMLINK_TARGET[n]}` : k === 'missing' ? 'NOENT' : 'INVAL', ({ root }) => {
      const out: Out<string> = { value: '' };
      const r = root.readlink(n, out);
      return r === 0 ? `ok:${out.value}` : show(r);
    });
    // Whole microseconds and NOW: hostfs sets those without a `touch` process, so the kernel probe stays fast.
    const times: [string, number][] = [['0', 0], ['AM', ATIM | MTIM], ['now', ATIM_NOW | MTIM_NOW]];
    for (const [tn, fl] of times) {
      // Linux skips the lookup when both times are omitted; hostfs (the reference) still says NOENT.
      add(`utimes ${n} ${tn}`, k === 'missing' ? 'NOENT' : fl === 0 ? 'ok' : 'ROFS', ({ root }) => show(root.utimes(n, 1_000_000_000_123_456_000n, 2_000_000_000_987_654_000n, fl)));
    }
    for (const t of names) {
      const tk = KIND[t]!;
      const busy = n === '.' || t === '.';
      add(`rename ${n} ${t}`, busy ? 'BUSY' : 'ROFS', ({ root }) => show(root.rename(n, root, t)));
      add(`link ${n} ${t}`, !exists(k) ? 'NOENT' : exists(tk) ? 'EXIST' : 'ROFS', ({ root }) => show(root.link(n, root, t)));
    }
    for (const t of ['f', 'm', '.']) {
      const tk = KIND_IN_D2[t] ?? 'missing';
      const inD2 = (f: (root: Dir, d2: Dir) => number) => ({ root }: RoEnv): string => {
        const d2 = root.openDir('d2');
        if (typeof d2 === 'number') return `openDir d2: ${show(d2)}`;
        try {
          return show(f(root, d2));
        } finally {
          d2.close();
        }
      };
      add(`rename ${n} d2/${t}`, n === '.' || t === '.' ? 'BUSY' : 'ROFS', inD2((root, d2) => root.rename(n, d2, t)));
      add(`link ${n} d2/${t}`, !exists(k) ? 'NOENT' : exists(tk) ? 'EXIST' : 'ROFS', inD2((root, d2) => root.link(n, d2, t)));
      // Other file systems hold `f` and `d` (and `.`): links check the source, then the target
      // name, and a read-only target mount answers ROFS before the mounts are compared.
      const otherKind = t === 'f' ? 'file' : t === '.' ? 'dir' : 'missing';
      add(`rename ${n} rw:${t}`, 'XDEV', ({ root, otherRw }) => show(root.rename(n, otherRw, t)));
      add(`rename ${n} ro:${t}`, 'XDEV', ({ root, otherRo }) => show(root.rename(n, otherRo, t)));
      add(`link ${n} rw:${t}`, !exists(k) ? 'NOENT' : exists(otherKind) ? 'EXIST' : 'XDEV', ({ root, otherRw }) => show(root.link(n, otherRw, t)));
      add(`link ${n} ro:${t}`, !exists(k) ? 'NOENT' : exists(otherKind) ? 'EXIST' : 'ROFS', ({ root, otherRo }) => show(root.link(n, otherRo, t)));
    }
  }
  // A name of 256 bytes: NAMETOOLONG wherever Linux looks the name up before asking for write
  // access, ROFS where it asks first (unlink, rmdir, rename).
  const long = 'n'.repeat(256);
  const longCases: [string, string, (root: Dir) => number | Dir | File][] = [
    ['open long R', 'NAMETOOLONG', (root) => root.open(long, READ)],
    ['open long WC', 'NAMETOOLONG', (root) => root.open(long, WRITE | CREATE)],
    ['open long RT', 'INVAL', (root) => root.open(long, READ | TRUNC)],
    ['openDir long', 'NAMETOOLONG', (root) => root.openDir(long)],
    ['lstat long', 'NAMETOOLONG', (root) => root.lstat(long, scratch)],
    ['readlink long', 'NAMETOOLONG', (root) => root.readlink(long, { value: '' })],
    ['mkdir long', 'NAMETOOLONG', (root) => root.mkdir(long)],
    ['symlink long', 'NAMETOOLONG', (root) => root.symlink('x', long)],
    ['unlink long', 'ROFS', (root) => root.unlink(long)],
    ['rmdir long', 'ROFS', (root) => root.rmdir(long)],
    ['rename f long', 'ROFS', (root) => root.rename('f', root, long)],
    ['rename long f', 'ROFS', (root) => root.rename(long, root, 'f')],
    ['link f long', 'NAMETOOLONG', (root) => root.link('f', root, long)],
    ['link long f', 'NAMETOOLONG', (root) => root.link(long, root, 'f')],
    ['link m long', 'NOENT', (root) => root.link('m', root, long)],
    ['utimes long AM', 'NAMETOOLONG', (root) => root.utimes(long, 5000n, 6000n, ATIM | MTIM)],
  ];
  for (const [key, expect, f] of longCases) add(key, expect, ({ root }) => show(f(root)));
  // Handles open for reading: writes answer what a read-only fd answers, times ROFS.
  for (const n of names.filter((x) => KIND[x] === 'file' || KIND[x] === 'dir')) {
    const onFile = (f: (h: File | Dir) => number) => ({ root }: RoEnv): string => {
      const h = root.open(n, READ);
      if (typeof h === 'number') return `open: ${show(h)}`;
      try {
        return show(f(h));
      } finally {
        h.close();
      }
    };
    if (KIND[n] === 'file') {
      add(`fd ${n} pread`, 'ok', onFile((h) => ((h as File).pread(new Uint8Array(8), 0) >= 0 ? 0 : Errno.IO)));
      add(`fd ${n} pwrite`, 'BADF', onFile((h) => (h as File).pwrite(enc.encode('Z'), 0, false)));
      add(`fd ${n} pwrite append`, 'BADF', onFile((h) => (h as File).pwrite(enc.encode('Z'), 0, true)));
      add(`fd ${n} truncate 0`, 'INVAL', onFile((h) => (h as File).truncate(0)));
      add(`fd ${n} truncate 100`, 'INVAL', onFile((h) => (h as File).truncate(100)));
      add(`fd ${n} allocate`, 'BADF', onFile((h) => (h as File).allocate(0, 100)));
      add(`fd ${n} utimes AM`, 'ROFS', onFile((h) => (h as File).utimes(5000n, 6000n, ATIM | MTIM)));
      add(`fd ${n} utimes now`, 'ROFS', onFile((h) => (h as File).utimes(0n, 0n, ATIM_NOW | MTIM_NOW)));
      add(`fd ${n} utimes 0`, 'ok', onFile((h) => (h as File).utimes(0n, 0n, 0)));
      add(`fd ${n} sync`, 'ok', onFile((h) => (h as File).sync()));
      add(`fd ${n} datasync`, 'ok', onFile((h) => (h as File).datasync()));
    } else {
      add(`fd ${n} utimes . AM`, 'ROFS', onFile((h) => (h as Dir).utimes('.', 5000n, 6000n, ATIM | MTIM)));
      add(`fd ${n} sync`, 'ok', onFile((h) => (h as Dir).sync()));
      add(`fd ${n} readdir`, 'ok', onFile((h) => (h as Dir).readdir({ value: [] as Dirent[] })));
    }
  }
  if (names.includes('fifo')) {
    // A FIFO opened for reading and writing on a read-only mount takes writes (Linux).
    add('fd fifo RW pwrite', 'ok', ({ root }) => {
      const h = root.open('fifo', READ | WRITE);
      if (typeof h === 'number') return `open: ${show(h)}`;
      const r = (h as File).pwrite(enc.encode('Z'), 0, false);
      h.close();
      return r === 1 ? 'ok' : show(r);
    }, 'open: ROFS');
  }
  return cases;
}

/** The top-level names of the fixture, plus `m` (missing) and `.`. */
export const RO_NAMES: readonly string[] = [...FIXTURE.filter((e) => !e.name.includes('/')).map((e) => e.name), 'm', '.'];

/** Runs the read-only table, answering each case's actual result. */
export function runRoCases(cases: readonly RoCase[], env: RoEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of cases) out[c.key] = c.run(env);
  return out;
}

// Probe mode: `node conformance.js --probe RO OTHER_RW OTHER_RO` runs the table against HostFs on
// host directories (RO and OTHER_RO being real read-only bind mounts) and prints the answers as JSON.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--probe') {
  const open = (p: string): Dir => {
    const d = new HostFs(p).openRoot();
    if (typeof d === 'number') throw new Error(`${p}: ${errnoName(-d)}`);
    return d;
  };
  const [ro, rw, ro2] = process.argv.slice(3) as [string, string, string];
  const names = fs.existsSync(`${ro}/fifo`) ? [...RO_NAMES, 'fifo'] : RO_NAMES;
  const env = { root: open(ro), otherRw: open(rw), otherRo: open(ro2) };
  process.stdout.write(JSON.stringify(runRoCases(roCases(names), env)));
}
