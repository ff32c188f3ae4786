import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, DIGEST_RE, sha256Hex } from './digest.js';
import type { Registry } from './registry.js';
import { mkdirsSync } from '../fs/mkdirs.js';

/*
 * Directory snapshots: a directory tree as content-addressed objects of the registry, so that
 * a task mounting it can run on any machine sharing the registry.
 *
 *   blob   files/sha256/HEX       one file's bytes (stored once per content, whatever its name)
 *   blob   snapshots/sha256/HEX   the tree: canonical JSON of a SnapshotManifest, HEX its sha256
 *
 * A snapshot is taken without following links (a symlink is kept as a link, its target as
 * written; the guest's tree resolves it as any link: chroot-like, never on the host). Only
 * directories, regular files and symlinks are kept. It is unpacked on the machine that mounts
 * it, once per snapshot (`materializeSnapshot`), checked entry by entry: no path climbs out,
 * nothing is written through a link, every file's bytes hash to their digest.
 */
export interface SnapshotEntry {
  /** Relative path, "/"-separated, no "." or ".." component. */
  path: string;
  type: 'dir' | 'file' | 'symlink';
  /** Permission bits (files and directories). */
  mode?: number;
  size?: number;
  /** sha256 hex of a file's bytes. */
  digest?: string;
  /** A symlink's target, as written. */
  target?: string;
}

export interface SnapshotManifest {
  v: 1;
  entries: SnapshotEntry[];
}

const FILES = 'files/sha256/';
const SNAPSHOTS = 'snapshots/sha256/';
/** At most this many entries in one snapshot. */
export const MAX_SNAPSHOT_ENTRIES = 1_000_000;

/** What `takeSnapshot` did. */
export interface SnapshotTaken {
  digest: string;
  files: number;
  dirs: number;
  links: number;
  bytes: number;
  /** File contents that were new to the registry. */
  stored: number;
}

/**
 * Stores the tree under `dir` (links not followed) and returns its digest. Entries that are
 * neither directories, regular files nor symlinks are skipped.
 */
export async function takeSnapshot(registry: Registry, dir: string): Promise<SnapshotTaken> {
  const rootSt = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!rootSt) throw new Error(`cannot snapshot ${dir}: no such directory`);
  if (!rootSt.isDirectory()) throw new Error(`cannot snapshot ${dir}: not a directory`);
  const entries: SnapshotEntry[] = [];
  const taken: SnapshotTaken = { digest: '', files: 0, dirs: 0, links: 0, bytes: 0, stored: 0 };
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = fs.readdirSync(abs).sort();
    for (const name of names) {
      const p = path.join(abs, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue; // gone meanwhile
      if (entries.length >= MAX_SNAPSHOT_ENTRIES) throw new Error(`cannot snapshot ${dir}: more than ${MAX_SNAPSHOT_ENTRIES} entries`);
      if (st.isSymbolicLink()) {
        entries.push({ path: r, type: 'symlink', target: fs.readlinkSync(p) });
        taken.links++;
      } else if (st.isDirectory()) {
        entries.push({ path: r, type: 'dir', mode: st.mode & 0o7777 });
        taken.dirs++;
        await walk(p, r);
      } else if (st.isFile()) {
        // Opened without following a link: a file swapped for one meanwhile is refused.
        const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        let bytes: Buffer;
        try {
          bytes = fs.readFileSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        const digest = sha256Hex(bytes);
        if (!(await registry.store.hasBlob(FILES + digest))) {
          await registry.store.putBlob(FILES + digest, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          taken.stored++;
        }
        entries.push({ path: r, type: 'file', mode: st.mode & 0o7777, size: bytes.byteLength, digest });
        taken.files++;
        taken.bytes += bytes.byteLength;
      }
    }
  };
  await walk(dir, '');
  const text = canonicalJson({ v: 1, entries } satisfies SnapshotManifest);
  taken.digest = sha256Hex(text);
  const key = SNAPSHOTS + taken.digest;
  if (!(await registry.store.hasBlob(key))) await registry.store.putBlob(key, new TextEncoder().encode(text));
  return taken;
}

/** The manifest of a stored snapshot (`sha256:HEX` or HEX), checked; a one-line Error otherwise. */
export async function readSnapshot(registry: Registry, ref: string): Promise<{ digest: string; manifest: SnapshotManifest }> {
  const digest = ref.replace(/^sha256:/, '');
  if (!DIGEST_RE.test(digest)) throw new Error(`bad snapshot ${JSON.stringify(ref)}: expected sha256:HEX (wtm snapshot DIR prints it)`);
  const bytes = await registry.store.readBlob(SNAPSHOTS + digest);
  if (bytes === null) throw new Error(`no snapshot sha256:${digest} in the registry`);
  if (sha256Hex(bytes) !== digest) throw new Error(`snapshot sha256:${digest} is corrupt: it hashes to sha256:${sha256Hex(bytes)}`);
  let m: SnapshotManifest;
  try {
    m = JSON.parse(new TextDecoder().decode(bytes)) as SnapshotManifest;
  } catch {
    throw new Error(`snapshot sha256:${digest} is corrupt (not JSON)`);
  }
  checkManifest(m, digest);
  return { digest, manifest: m };
}

function checkManifest(m: SnapshotManifest, digest: string): void {
  const bad = (why: string) => new Error(`snapshot sha256:${digest}: ${why}`);
  if (typeof m !== 'object' || m === null || m.v !== 1 || !Array.isArray(m.entries)) throw bad('not a wtm snapshot');
  const types = new Map<string, string>();
  for (const e of m.entries) {
    if (typeof e?.path !== 'string' || e.path === '' || e.path.startsWith('/') || e.path.includes('\0')) throw bad(`bad path ${JSON.stringify(e?.path)}`);
    const parts = e.path.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..')) throw bad(`path ${JSON.stringify(e.path)} climbs or is not normal`);
    // Every parent is a directory of the snapshot, listed before: nothing is written through a link.
    const parent = parts.slice(0, -1).join('/');
    if (parent !== '' && types.get(parent) !== 'dir') throw bad(`${e.path}: its parent is not a directory listed before it`);
    if (types.has(e.path)) throw bad(`${e.path} is listed twice`);
    if (e.type === 'file') {
      if (typeof e.digest !== 'string' || !DIGEST_RE.test(e.digest)) throw bad(`${e.path}: bad digest`);
    } else if (e.type === 'symlink') {
      if (typeof e.target !== 'string' || e.target === '' || e.target.includes('\0')) throw bad(`${e.path}: bad link target`);
    } else if (e.type !== 'dir') {
      throw bad(`${e.path}: unknown type ${JSON.stringify(e.type)}`);
    }
    types.set(e.path, e.type);
  }
}

/**
 * The snapshot unpacked under `dir/HEX` (once: a later call finds it), for mounting read-only or
 * as an overlay's lower layer. Unpacked into a fresh temporary directory and renamed into place,
 * files created exclusively (never through a link), each checked against its digest.
 */
export async function materializeSnapshot(registry: Registry, ref: string, dir: string): Promise<string> {
  const digest = ref.replace(/^sha256:/, '');
  const final = path.join(dir, digest);
  if (DIGEST_RE.test(digest) && fs.existsSync(final)) return final;
  const { manifest } = await readSnapshot(registry, ref);
  mkdirsSync(dir, 0o700);
  const tmp = path.join(dir, `.unpack-${process.pid}-${randomBytes(6).toString('hex')}`);
  fs.mkdirSync(tmp, { mode: 0o700 });
  try {
    const dirModes: [string, number][] = [];
    for (const e of manifest.entries) {
      const p = path.join(tmp, ...e.path.split('/'));
      if (e.type === 'dir') {
        fs.mkdirSync(p, { mode: 0o700 });
        dirModes.push([p, (e.mode ?? 0o755) & 0o777]);
      } else if (e.type === 'file') {
        const bytes = await registry.store.readBlob(FILES + e.digest);
        if (bytes === null) throw new Error(`snapshot sha256:${digest}: the content of ${e.path} (sha256:${e.digest}) is missing from the registry`);
        if (sha256Hex(bytes) !== e.digest) throw new Error(`snapshot sha256:${digest}: the content of ${e.path} is corrupt`);
        const fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, (e.mode ?? 0o644) & 0o777);
        try {
          fs.writeFileSync(fd, bytes);
        } finally {
          fs.closeSync(fd);
        }
      }
    }
    // Links last: no entry was created below one.
    for (const e of manifest.entries) if (e.type === 'symlink') fs.symlinkSync(e.target!, path.join(tmp, ...e.path.split('/')));
    for (const [p, mode] of dirModes.reverse()) fs.chmodSync(p, mode | 0o700);
    try {
      fs.renameSync(tmp, final);
    } catch (e) {
      // Another process unpacked it first.
      if (!fs.existsSync(final)) throw e;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return final;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
