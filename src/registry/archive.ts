import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';

/**
 * The process export file: one self-contained file holding everything needed to look at (and
 * replay) a process elsewhere. All integers little-endian:
 *
 *   magic    8 bytes   "WTMPROC\n"
 *   version  u32       2 (version 1 is still read)
 *   then sections, in this order, each: tag (4 ASCII bytes), length (u64), bytes
 *     "PREC"  the process record, JSON (UTF-8)
 *     "CONF"  the process config, canonical JSON (UTF-8)
 *     "MODL"  the module bytes (.wasm)
 *     "PLOG"  the process log (may be empty)
 *     "LSHA"  32 bytes: sha256 of the log (the PLOG bytes)            (version 2 only)
 *     "SHA2"  32 bytes: sha256 of every byte of the file before this section
 *   and nothing after.
 *
 * The checksum catches corruption; the digests inside the record (module, config) and the log
 * digest are checked against the bytes by the importer, and so is every batch of the log
 * (its own checksums). A file altered consistently is at most a different, self-consistent
 * process, never one whose parts disagree.
 *
 * The log is never held whole: the writer streams it into the file (encodeArchive), the
 * reader streams it out (openArchive, ArchiveReader.log).
 */
export interface ProcessArchive {
  record: Uint8Array;
  config: Uint8Array;
  module: Uint8Array;
  log: Uint8Array;
}

const MAGIC = new TextEncoder().encode('WTMPROC\n');
export const ARCHIVE_VERSION = 2;
const MAX = { PREC: 1 << 20, CONF: 16 << 20, MODL: Number.MAX_SAFE_INTEGER, PLOG: Number.MAX_SAFE_INTEGER } as const;
const HEADER = 12;
/** How much of the log is read at once. */
const LOG_CHUNK = 1 << 20;

function sectionHeader(tag: string, length: number): Uint8Array {
  const h = new Uint8Array(HEADER);
  h.set(new TextEncoder().encode(tag), 0);
  new DataView(h.buffer).setBigUint64(4, BigInt(length), true);
  return h;
}

/** The parts of an export, the log as a stream of exactly `logLength` bytes. */
export interface ArchiveParts {
  record: Uint8Array;
  config: Uint8Array;
  module: Uint8Array;
  logLength: number;
  log: AsyncIterable<Uint8Array>;
}

/**
 * Writes an export file (version 2) as chunks: everything but the log is small and comes in
 * memory; the log is passed on chunk by chunk as it is read, hashed on the way.
 */
export async function* encodeArchive(a: ArchiveParts): AsyncGenerator<Uint8Array> {
  const sum = createHash('sha256');
  const logSum = createHash('sha256');
  const out = function* (...parts: Uint8Array[]): Generator<Uint8Array> {
    for (const p of parts) {
      sum.update(p);
      yield p;
    }
  };
  const head = new Uint8Array(HEADER);
  head.set(MAGIC, 0);
  new DataView(head.buffer).setUint32(8, ARCHIVE_VERSION, true);
  yield* out(head, sectionHeader('PREC', a.record.byteLength), a.record, sectionHeader('CONF', a.config.byteLength), a.config);
  yield* out(sectionHeader('MODL', a.module.byteLength), a.module, sectionHeader('PLOG', a.logLength));
  let n = 0;
  for await (const chunk of a.log) {
    n += chunk.byteLength;
    if (n > a.logLength) throw new Error(`the log grew past ${a.logLength} bytes while being exported`);
    logSum.update(chunk);
    yield* out(chunk);
  }
  if (n !== a.logLength) throw new Error(`the log has ${n} bytes, ${a.logLength} were expected (was it removed meanwhile?)`);
  yield* out(sectionHeader('LSHA', 32), logSum.digest());
  yield sectionHeader('SHA2', 32);
  yield sum.digest();
}

/** Random access to the bytes of an export file. */
export interface ArchiveSource {
  readonly size: number;
  /** Bytes [at, at + n); fewer only at the end. */
  read(at: number, n: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export function bytesSource(bytes: Uint8Array): ArchiveSource {
  if (!(bytes instanceof Uint8Array)) throw new Error('not a valid wtm process export: not bytes');
  return { size: bytes.byteLength, read: async (at, n) => bytes.subarray(at, at + n), close: async () => {} };
}

/** An export file on disk, read piece by piece (UserError-style Error when it cannot be opened). */
export async function fileSource(file: string): Promise<ArchiveSource> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new Error(`cannot read ${file}: not a file`);
  }
  return {
    size: st.size,
    async read(at, n) {
      const len = Math.max(0, Math.min(n, st.size - at));
      const buf = new Uint8Array(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, at + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === len ? buf : buf.subarray(0, got);
    },
    close: () => fh.close(),
  };
}

/** An export file whose layout was checked; the log is read (and the checksums checked) by `log()`. */
export interface ArchiveReader {
  version: number;
  record: Uint8Array;
  config: Uint8Array;
  module: Uint8Array;
  logLength: number;
  /** The log digest the file carries (version 2), as hex. */
  logDigest: string | null;
  /**
   * The log, in chunks of at most 1 MiB. Once the last chunk has been handed out it checks
   * the log digest and the file checksum, and throws (one line) when either is wrong: a
   * consumer that writes the chunks keeps what it wrote only if the iteration ends cleanly.
   */
  log(): AsyncGenerator<Uint8Array>;
}

/**
 * Reads the layout of an export file (every section but the log, which is only located),
 * or throws a one-line Error saying what is wrong.
 */
export async function openArchive(src: ArchiveSource): Promise<ArchiveReader> {
  const bad = (why: string) => new Error(`not a valid wtm process export: ${why}`);
  const head = await src.read(0, HEADER);
  if (head.byteLength < HEADER || !MAGIC.every((b, i) => head[i] === b)) throw bad('bad magic (not an export file)');
  const version = new DataView(head.buffer, head.byteOffset, HEADER).getUint32(8, true);
  if (version !== 1 && version !== 2) {
    throw new Error(`unsupported wtm process export version ${version} (this wtm reads versions 1 and ${ARCHIVE_VERSION})`);
  }
  let off = HEADER;
  const sectionAt = async (tag: string, max: number): Promise<{ at: number; length: number; header: Uint8Array }> => {
    const h = await src.read(off, HEADER);
    if (h.byteLength < HEADER) throw bad(`truncated before section ${tag}`);
    const got = String.fromCharCode(...h.subarray(0, 4));
    if (got !== tag) throw bad(`expected section ${tag}, found ${JSON.stringify(got)}`);
    const len = new DataView(h.buffer, h.byteOffset, HEADER).getBigUint64(4, true);
    off += HEADER;
    if (len > BigInt(src.size - off)) throw bad(`section ${tag} is longer than the file (truncated?)`);
    if (len > BigInt(max)) throw bad(`section ${tag} is too large (${len} bytes, at most ${max})`);
    const at = off;
    off += Number(len);
    return { at, length: Number(len), header: h };
  };
  const body = async (tag: keyof typeof MAX): Promise<Uint8Array> => {
    const s = await sectionAt(tag, MAX[tag]);
    const b = await src.read(s.at, s.length);
    if (b.byteLength !== s.length) throw bad(`section ${tag} is cut short`);
    return b;
  };
  const record = await body('PREC');
  const config = await body('CONF');
  const module = await body('MODL');
  const plog = await sectionAt('PLOG', MAX.PLOG);
  let logDigest: string | null = null;
  if (version >= 2) {
    const s = await sectionAt('LSHA', 32);
    if (s.length !== 32) throw bad('log digest section is not 32 bytes');
    logDigest = Buffer.from(await src.read(s.at, 32)).toString('hex');
  }
  const summed = off;
  const sum = await sectionAt('SHA2', 32);
  if (sum.length !== 32) throw bad('checksum section is not 32 bytes');
  if (off !== src.size) throw bad(`${src.size - off} unexpected bytes after the checksum`);
  const stored = Buffer.from(await src.read(sum.at, 32));

  return {
    version, record, config, module, logLength: plog.length, logDigest,
    async *log() {
      const fileSum = createHash('sha256');
      const logSum = createHash('sha256');
      // Everything before the log, hashed as it lies in the file.
      await hashRange(src, fileSum, 0, plog.at);
      for (let at = plog.at; at < plog.at + plog.length; at += LOG_CHUNK) {
        const chunk = await src.read(at, Math.min(LOG_CHUNK, plog.at + plog.length - at));
        if (chunk.byteLength === 0) throw bad('the log section is cut short');
        fileSum.update(chunk);
        logSum.update(chunk);
        yield chunk;
      }
      await hashRange(src, fileSum, plog.at + plog.length, summed);
      if (!fileSum.digest().equals(stored)) throw bad('checksum mismatch (file corrupted or altered)');
      const actual = logSum.digest('hex');
      if (logDigest !== null && actual !== logDigest) {
        throw new Error(`export: log digest mismatch (the file says sha256:${logDigest}, the log hashes to sha256:${actual})`);
      }
    },
  };
}

async function hashRange(src: ArchiveSource, hash: Hash, from: number, to: number): Promise<void> {
  for (let at = from; at < to; at += LOG_CHUNK) {
    const chunk = await src.read(at, Math.min(LOG_CHUNK, to - at));
    if (chunk.byteLength === 0) throw new Error('not a valid wtm process export: cut short while being read');
    hash.update(chunk);
  }
}

/** A whole export file in memory (for tests and small exports). */
export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}
