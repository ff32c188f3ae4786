import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { constants as C } from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ownerAlive } from './liveness.js';
import { checkKey, checkKind, isKeySegment, splitPrefix, type ObjectStore } from './store.js';
import { mkdirsSync } from '../fs/mkdirs.js';

/**
 * An ObjectStore in a local directory:
 *
 *   DIR/records/KIND/KEY.json   one JSON record (KEY's "/" are subdirectories)
 *   DIR/blobs/KEY               one blob
 *
 * Writes go to a temporary file in the same directory, are fsynced, then renamed over the real
 * name (and the directory fsynced), so a crash never leaves a half-written object under its real
 * name. Temporary names contain "~" (see `tempName`), which no key may contain: listings skip
 * them, lookups can never reach them, and `cleanTemp` removes the ones a dead writer left behind
 * (the name carries the writer's pid and host: see `leftoverIsDead`).
 *
 * `appendBlob` opens with O_APPEND and writes each chunk with one write call; it does not fsync
 * (a log cut short by a crash is the reader's business: the log format has checksummed batches).
 */
export class LocalStore implements ObjectStore {
  private readonly records: string;
  private readonly blobs: string;

  private constructor(readonly root: string) {
    this.records = path.join(root, 'records');
    this.blobs = path.join(root, 'blobs');
  }

  /** Opens (creating when needed) a store in `dir`. */
  static async open(dir: string): Promise<LocalStore> {
    const root = path.resolve(dir);
    const store = new LocalStore(root);
    // Private to its user: records hold the environment a process was given (tokens, too).
    // A directory made here is 0700 and every object 0600; an existing registry keeps its modes.
    try {
      mkdirsSync(root, 0o700);
      mkdirsSync(store.records, 0o700);
      mkdirsSync(store.blobs, 0o700);
    } catch (e) {
      throw new Error(`cannot open the registry ${root}: ${(e as Error).message}`);
    }
    return store;
  }

  // ---- records ----

  private recordPath(kind: string, key: string): string {
    checkKind(kind);
    checkKey(key);
    return path.join(this.records, kind, ...key.split('/')) + '.json';
  }

  async putRecord(kind: string, key: string, value: object, json?: string): Promise<void> {
    const file = this.recordPath(kind, key);
    const text = json ?? JSON.stringify(value);
    if (typeof text !== 'string' || typeof value !== 'object' || value === null) {
      throw new Error(`record ${kind}/${key}: value must be a JSON object`);
    }
    // Records are small and rewritten often (a process's state): atomic, not fsynced, and
    // written synchronously (see appendBlob).
    writeRecordSync(file, Buffer.from(text + '\n'));
  }

  async getRecord(kind: string, key: string): Promise<unknown> {
    const file = this.recordPath(kind, key);
    const text = readOrNullSync(file);
    if (text === null) return null;
    try {
      return JSON.parse(text.toString('utf8'));
    } catch {
      throw new Error(`record ${kind}/${key} is corrupt (not JSON)`);
    }
  }

  async listRecords(kind: string, prefix = ''): Promise<string[]> {
    checkKind(kind);
    const { dir } = splitPrefix(prefix);
    const base = dir === '' ? [] : dir.split('/');
    const names: string[] = [];
    await walk(path.join(this.records, kind, ...base), base, names, '.json');
    return names.filter((k) => k.startsWith(prefix)).sort();
  }

  async deleteRecord(kind: string, key: string): Promise<boolean> {
    return unlinkOrFalse(this.recordPath(kind, key));
  }

  // ---- blobs ----

  private blobPath(key: string): string {
    checkKey(key);
    return path.join(this.blobs, ...key.split('/'));
  }

  async putBlob(key: string, data: Uint8Array | AsyncIterable<Uint8Array>, opts: { durable?: boolean } = {}): Promise<void> {
    await writeAtomic(this.blobPath(key), data instanceof Uint8Array ? [data] : data, opts.durable ?? true);
  }

  async getBlob(key: string): Promise<AsyncIterable<Uint8Array> | null> {
    const file = this.blobPath(key);
    if ((await fileSize(file)) === null) return null;
    // Opened lazily, on first read, so an iterable that is never consumed holds no descriptor.
    return readChunks(file, key);
  }

  async readBlob(key: string): Promise<Uint8Array | null> {
    const buf = await readOrNull(this.blobPath(key));
    return buf === null ? null : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async hasBlob(key: string): Promise<boolean> {
    return (await fileSize(this.blobPath(key))) !== null;
  }

  async blobSize(key: string): Promise<number | null> {
    return fileSize(this.blobPath(key));
  }

  async listBlobs(prefix = ''): Promise<string[]> {
    const { dir } = splitPrefix(prefix);
    const base = dir === '' ? [] : dir.split('/');
    const names: string[] = [];
    await walk(path.join(this.blobs, ...base), base, names, '');
    return names.filter((k) => k.startsWith(prefix)).sort();
  }

  async deleteBlob(key: string): Promise<boolean> {
    return unlinkOrFalse(this.blobPath(key));
  }

  async appendBlob(key: string, chunk: Uint8Array): Promise<void> {
    const file = this.blobPath(key);
    // Small local writes are done synchronously: a promise-based open/write/close costs more
    // CPU than the work and queues behind other I/O in libuv's pool (tasks/s halved).
    mkdirForSync(path.dirname(file));
    let fd: number;
    try {
      fd = fs.openSync(file, C.O_WRONLY | C.O_CREAT | C.O_APPEND, 0o600);
    } catch (e) {
      throw code(e) === 'EISDIR' ? new Error(`cannot append to ${key}: keys exist below it`) : e;
    }
    try {
      let off = 0;
      while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off);
    } finally {
      fs.closeSync(fd);
    }
  }

  async truncateBlob(key: string, size: number): Promise<void> {
    if (!(Number.isSafeInteger(size) && size >= 0)) throw new Error(`truncateBlob: bad size ${size}`);
    await fsp.truncate(this.blobPath(key), size);
  }

  // ---- maintenance ----

  /** Size and modification time of a blob, or null when there is none (for gc's grace period). */
  statBlob(key: string): { bytes: number; mtimeMs: number } | null {
    return statFile(this.blobPath(key));
  }

  /** Size and modification time of a record's file, or null when there is none. */
  statRecord(kind: string, key: string): { bytes: number; mtimeMs: number } | null {
    return statFile(this.recordPath(kind, key));
  }

  /**
   * Removes what writers that died left behind (see `sweepLeftovers`): temporary files of
   * interrupted writes and `.unpack-*` directories of interrupted layer unpacks. With
   * `dryRun`, only lists them. Returns what was (or would be) removed.
   */
  async cleanTemp(opts: { dryRun?: boolean; now?: number } = {}): Promise<Leftover[]> {
    return sweepLeftovers(this.root, opts);
  }

  /**
   * The sweep every command that opens the registry asks for: it runs at most once per
   * `SWEEP_EVERY_MS` (the mtime of DIR/.swept remembers the last one), so a command pays one
   * stat, and a whole sweep only once in a while (its cost: see docs in sweepLeftovers).
   * Never fails: a read-only registry or a race with another sweep just skips it.
   */
  async sweepIfDue(now = Date.now()): Promise<Leftover[] | null> {
    const marker = path.join(this.root, SWEPT);
    try {
      const st = fs.statSync(marker, { throwIfNoEntry: false });
      if (st && now - st.mtimeMs < SWEEP_EVERY_MS && st.mtimeMs <= now) return null;
      // Marked first: commands started meanwhile do not sweep too.
      fs.writeFileSync(marker, '');
      return await sweepLeftovers(this.root, { now });
    } catch {
      return null;
    }
  }
}

/** The file whose mtime is the time of the last sweep. */
const SWEPT = '.swept';
/** How often a command sweeps: leftovers are rare (a killed writer) and small; see sweepIfDue. */
export const SWEEP_EVERY_MS = 10 * 60_000;
/** A leftover whose writer's pid lives (maybe a reused pid) or cannot be judged goes after this. */
export const LEFTOVER_STALE_MS = 24 * 3_600_000;

/** A leftover of a dead writer: a temp file or an unpack directory. */
export interface Leftover {
  path: string;
  bytes: number;
}

let tag: string | undefined;

/**
 * This host, as a short tag in temp names (8 hex digits of sha256(hostname)): a registry
 * shared by two machines never judges one machine's writers by the other's pids.
 */
export function hostTag(): string {
  if (tag === undefined) tag = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
  return tag;
}

/**
 * The temporary name used while writing `final`: never a valid key (it contains "~"). Unique
 * per call: a random part drawn once per OS process, then a counter (a fresh random draw per
 * name cost a `randomBytes` call per record written); the open is O_EXCL anyway.
 */
export function tempName(final: string): string {
  tempBase ??= `~${process.pid}-${hostTag()}-${randomBytes(6).toString('hex')}`;
  return `${final}${tempBase}${(tempSeq++).toString(16).padStart(6, '0')}.tmp`;
}
let tempBase: string | undefined;
let tempSeq = 0;

/** "FINAL~PID-HOST-RAND.tmp", or the older "FINAL~PID-RAND.tmp" (no host: judged by age only). */
const TEMP_RE = /~(\d+)-(?:([0-9a-f]{8})-)?[0-9a-f]+\.tmp$/;
/** An unpack directory: ".unpack-PID-HOST-" + random (see unpackPrefix), or an older ".unpack-" + random. */
const UNPACK_RE = /^\.unpack-(?:(\d+)-([0-9a-f]{8})-)?/;

export function isTempName(name: string): boolean {
  return TEMP_RE.test(name);
}

/** The prefix of a new unpack directory under layers/ (mkdtemp adds the random part). */
export function unpackPrefix(): string {
  return `.unpack-${process.pid}-${hostTag()}-`;
}

/**
 * Is the writer of a temp file or unpack directory named `name` certainly gone? Its pid is
 * judged only on the host that wrote it (liveness.ts); a pid that is alive keeps its files
 * (it may be a reused pid: then the age fallback, LEFTOVER_STALE_MS, removes them).
 */
export function leftoverIsDead(name: string, mtimeMs: number, now = Date.now()): boolean {
  if (now - mtimeMs > LEFTOVER_STALE_MS) return true;
  const m = TEMP_RE.exec(name) ?? UNPACK_RE.exec(name);
  if (!m || m[1] === undefined || m[2] !== hostTag()) return false;
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  return ownerAlive({ pid, host: os.hostname() }) === false;
}

/**
 * Finds (and unless `dryRun` removes) the leftovers of dead writers under a registry directory
 * `root`: temp files anywhere under records/ and blobs/ (the only places the store writes
 * them), and `.unpack-*` directories at the top of layers/ (never inside an unpacked layer).
 */
export async function sweepLeftovers(root: string, opts: { dryRun?: boolean; now?: number } = {}): Promise<Leftover[]> {
  const now = opts.now ?? Date.now();
  const found: Leftover[] = [];
  const consider = (p: string, name: string, isDir: boolean): void => {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st || !leftoverIsDead(name, st.mtimeMs, now)) return;
    const bytes = isDir ? treeBytes(p) : st.size;
    if (!opts.dryRun) {
      try {
        if (isDir) fs.rmSync(p, { recursive: true, force: true });
        else fs.unlinkSync(p);
      } catch {
        return; // gone meanwhile (another sweep)
      }
    }
    found.push({ path: p, bytes });
  };
  const walkDir = async (dir: string): Promise<void> => {
    for (const e of await readdirOrEmpty(dir)) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walkDir(p);
      else if (e.name.includes('~') && isTempName(e.name)) consider(p, e.name, false);
    }
  };
  await walkDir(path.join(root, 'records'));
  await walkDir(path.join(root, 'blobs'));
  for (const e of await readdirOrEmpty(path.join(root, 'layers'))) {
    if (e.isDirectory() && e.name.startsWith('.unpack-')) consider(path.join(root, 'layers', e.name), e.name, true);
  }
  return found;
}

function statFile(file: string): { bytes: number; mtimeMs: number } | null {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st?.isFile() ? { bytes: st.size, mtimeMs: st.mtimeMs } : null;
}

/** Bytes of the files under `p` (links not followed); 0 for what vanished meanwhile. */
export function treeBytes(p: string): number {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let names: string[];
  try {
    names = fs.readdirSync(p);
  } catch {
    return 0;
  }
  let total = 0;
  for (const n of names) total += treeBytes(path.join(p, n));
  return total;
}

/**
 * Writes chunks to a temp file beside `file` and renames it into place, so the real name only
 * ever holds a whole object. With `durable` the file and the directory are fsynced too (blobs:
 * written once, must survive a power cut). Records skip the fsync (~15 ms each here, which
 * capped recorded tasks at ~110/s): after a power cut a record can be missing or empty, which
 * reads as an error, never as a wrong whole record.
 */
async function writeAtomic(file: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, durable: boolean): Promise<void> {
  const dir = path.dirname(file);
  await mkdirFor(dir);
  const tmp = tempName(file);
  let fh: FileHandle | null = await fsp.open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
  try {
    for await (const chunk of chunks) {
      if (!(chunk instanceof Uint8Array)) throw new Error('blob data must be Uint8Array chunks');
      let off = 0;
      while (off < chunk.byteLength) off += (await fh.write(chunk, off)).bytesWritten;
    }
    if (durable) await fh.sync();
    await fh.close();
    fh = null;
    await fsp.rename(tmp, file);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await fsp.unlink(tmp).catch(() => {});
    if (code(e) === 'EISDIR' || code(e) === 'ENOTEMPTY') throw new Error(`cannot store ${path.basename(file)}: keys exist below it`);
    throw e;
  }
  if (durable) await syncDir(dir);
}

async function mkdirFor(dir: string): Promise<void> {
  try {
    mkdirsSync(dir, 0o700);
  } catch (e) {
    // A blob "a" exists where a key "a/b" needs a directory.
    if (code(e) === 'EEXIST' || code(e) === 'ENOTDIR') throw new Error(`cannot store under ${path.basename(dir)}: an object of that name exists`);
    throw e;
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable. Some platforms refuse to fsync a directory: the rename still stands.
  try {
    const d = await fsp.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}

async function* readChunks(file: string, key: string): AsyncGenerator<Uint8Array> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    if (code(e) === 'ENOENT') throw new Error(`blob ${key} was deleted while being read`);
    throw e;
  }
  try {
    for (;;) {
      const buf = new Uint8Array(1 << 16);
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, null);
      if (bytesRead === 0) return;
      yield bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Collects keys of files under `dir` (whose key segments so far are `base`), skipping foreign names. */
async function walk(dir: string, base: string[], out: string[], suffix: string): Promise<void> {
  for (const e of await readdirOrEmpty(dir)) {
    if (e.isDirectory()) {
      if (isKeySegment(e.name)) await walk(path.join(dir, e.name), [...base, e.name], out, suffix);
    } else if (e.isFile() && e.name.endsWith(suffix)) {
      const name = e.name.slice(0, e.name.length - suffix.length);
      if (isKeySegment(name)) out.push([...base, name].join('/'));
    }
  }
}

async function readdirOrEmpty(dir: string) {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return [];
    throw e;
  }
}

function readOrNullSync(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR' || code(e) === 'EISDIR') return null;
    throw e;
  }
}

/** Directories known to exist (made or seen by this process): no mkdir call for them again. */
const madeDirs = new Set<string>();

function mkdirForSync(dir: string): void {
  if (madeDirs.has(dir)) return;
  try {
    mkdirsSync(dir, 0o700);
    if (madeDirs.size > 10000) madeDirs.clear();
    madeDirs.add(dir);
  } catch (e) {
    if (code(e) === 'EEXIST' || code(e) === 'ENOTDIR') throw new Error(`cannot store under ${path.basename(dir)}: an object of that name exists`);
    throw e;
  }
}

/** A small record: temp file, then rename over the real name (atomic, not fsynced). */
function writeRecordSync(file: string, data: Uint8Array): void {
  mkdirForSync(path.dirname(file));
  const tmp = tempName(file);
  try {
    const fd = fs.openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
    try {
      let off = 0;
      while (off < data.byteLength) off += fs.writeSync(fd, data, off);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // never created
    }
    if (code(e) === 'EISDIR' || code(e) === 'ENOTEMPTY') throw new Error(`cannot store ${path.basename(file)}: keys exist below it`);
    throw e;
  }
}

async function readOrNull(file: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(file);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR' || code(e) === 'EISDIR') return null;
    throw e;
  }
}

async function fileSize(file: string): Promise<number | null> {
  try {
    const st = await fsp.stat(file);
    return st.isFile() ? st.size : null;
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return null;
    throw e;
  }
}

async function unlinkOrFalse(file: string): Promise<boolean> {
  try {
    await fsp.unlink(file);
    return true;
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR' || code(e) === 'EISDIR') return false;
    throw e;
  }
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}
