import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { constants as C } from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { checkKey, checkKind, isKeySegment, splitPrefix, type ObjectStore } from './store.js';

/**
 * An ObjectStore in a local directory:
 *
 *   DIR/records/KIND/KEY.json   one JSON record (KEY's "/" are subdirectories)
 *   DIR/blobs/KEY               one blob
 *
 * Writes go to a temporary file in the same directory, are fsynced, then renamed over the real
 * name (and the directory fsynced), so a crash never leaves a half-written object under its real
 * name. Temporary names contain "~" (see `tempName`), which no key may contain: listings skip
 * them, lookups can never reach them, and `cleanTemp` removes the ones a crash left behind.
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
    await fsp.mkdir(store.records, { recursive: true });
    await fsp.mkdir(store.blobs, { recursive: true });
    return store;
  }

  // ---- records ----

  private recordPath(kind: string, key: string): string {
    checkKind(kind);
    checkKey(key);
    return path.join(this.records, kind, ...key.split('/')) + '.json';
  }

  async putRecord(kind: string, key: string, value: object): Promise<void> {
    const file = this.recordPath(kind, key);
    const text = JSON.stringify(value);
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

  async putBlob(key: string, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    await writeAtomic(this.blobPath(key), data instanceof Uint8Array ? [data] : data, true);
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
      fd = fs.openSync(file, C.O_WRONLY | C.O_CREAT | C.O_APPEND, 0o644);
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

  /**
   * Removes temporary files left by interrupted writes that are older than `olderThanMs`
   * (default one hour, so writes in progress in other processes are left alone). Returns how
   * many were removed.
   */
  async cleanTemp(olderThanMs = 3_600_000): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    const sweep = async (dir: string): Promise<void> => {
      for (const e of await readdirOrEmpty(dir)) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await sweep(p);
        else if (isTempName(e.name)) {
          const st = await fsp.lstat(p).catch(() => null);
          if (st && st.mtimeMs <= cutoff && (await unlinkOrFalse(p))) removed++;
        }
      }
    };
    await sweep(this.records);
    await sweep(this.blobs);
    return removed;
  }
}

/** The temporary name used while writing `final`: never a valid key (it contains "~"). */
export function tempName(final: string): string {
  return `${final}~${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
}

export function isTempName(name: string): boolean {
  return /~\d+-[0-9a-f]+\.tmp$/.test(name);
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
  let fh: FileHandle | null = await fsp.open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644);
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
    await fsp.mkdir(dir, { recursive: true });
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
    fs.mkdirSync(dir, { recursive: true });
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
    const fd = fs.openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644);
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
