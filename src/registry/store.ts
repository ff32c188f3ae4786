/**
 * The storage seam under the registry. Callers see keys, never paths, so a remote backend
 * (NATS JetStream: a key-value bucket for records, an object store for blobs) can replace the
 * local directory without touching them.
 *
 * Two namespaces, kept apart:
 * - records: small JSON objects, addressed by (kind, key). Each put replaces the whole record.
 * - blobs: byte strings of any size, addressed by key, written whole (`putBlob`) or grown
 *   (`appendBlob`, for logs that grow while a process runs), read whole or streamed.
 *
 * Keys are one or more segments of `[a-z0-9._-]` joined by `/`; a segment is never `.` or `..`
 * and a key never starts or ends with `/`. A kind is a single segment. A bad key is refused with
 * an Error before any storage is touched: it is never turned into a path.
 *
 * Every put is atomic: a reader sees the old object or the new one, never a half-written one.
 * `appendBlob` is the exception by nature: a reader may see a blob that later grows, but never
 * bytes of one append interleaved with another's.
 *
 * A remote store implements `appendBlob` by keeping each appended chunk as a numbered part
 * (`KEY` + part 1, 2, ...: an object per part, or a stream subject per key) and concatenating
 * the parts in order on read; `blobSize` is the sum of the parts, and `putBlob`/`deleteBlob`
 * replace or remove all parts at once.
 */
export interface ObjectStore {
  /**
   * A local directory for the working files of runs against this store (task directories,
   * unpacked layers), for a store that is not a local directory itself.
   */
  readonly localDir?: string;
  /**
   * Every record of `kind` at once (optional: a remote store answers in one pass what
   * `getRecord` per key would take a round trip each for). A record that cannot be parsed
   * is an Error in its place.
   */
  readRecords?(kind: string): Promise<Map<string, unknown>>;
  /**
   * Stores `value` (plain JSON) as the record (kind, key), replacing any previous one. `text`,
   * when given, is `value` as JSON text already (e.g. its canonical JSON): a store may write it
   * instead of serialising `value` again.
   */
  putRecord(kind: string, key: string, value: object, text?: string): Promise<void>;
  /** The record, as parsed JSON, or null when there is none. */
  getRecord(kind: string, key: string): Promise<unknown>;
  /** Keys of the records of `kind` that start with `prefix` (default: all), sorted. */
  listRecords(kind: string, prefix?: string): Promise<string[]>;
  /** Removes a record; true when there was one. */
  deleteRecord(kind: string, key: string): Promise<boolean>;

  /**
   * Stores a blob whole, replacing any previous one, from bytes or a stream of chunks. With
   * `durable: false` it need not survive a power cut (a log's tail, replaced every 250 ms:
   * surviving the death of wtm is enough), only never be seen half-written.
   */
  putBlob(key: string, data: Uint8Array | AsyncIterable<Uint8Array>, opts?: { durable?: boolean }): Promise<void>;
  /** The blob as a stream of chunks, or null when there is none. */
  getBlob(key: string): Promise<AsyncIterable<Uint8Array> | null>;
  /** The whole blob in memory, or null when there is none. */
  readBlob(key: string): Promise<Uint8Array | null>;
  hasBlob(key: string): Promise<boolean>;
  /** Size in bytes, or null when there is no such blob. */
  blobSize(key: string): Promise<number | null>;
  /** Keys of the blobs that start with `prefix` (a plain string prefix, may end mid-segment), sorted. */
  listBlobs(prefix?: string): Promise<string[]>;
  /** Removes a blob; true when there was one. */
  deleteBlob(key: string): Promise<boolean>;
  /** Appends a chunk to a blob, creating it when absent. */
  appendBlob(key: string, chunk: Uint8Array): Promise<void>;
  /** Cuts a blob to its first `size` bytes (a log cut inside a batch, before its tail is appended). */
  truncateBlob(key: string, size: number): Promise<void>;
}

const SEGMENT = /^[a-z0-9._-]+$/;
const MAX_KEY = 1024;

function badKey(what: string, key: unknown, why: string): Error {
  const shown = typeof key === 'string' ? JSON.stringify(key) : String(key);
  return new Error(`bad ${what} ${shown}: ${why}`);
}

/** Throws unless `key` is a well-formed store key (see ObjectStore). */
export function checkKey(key: unknown, what = 'key'): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw badKey(what, key, 'must be a non-empty string');
  if (key.length > MAX_KEY) throw badKey(what, key.slice(0, 40) + '...', `longer than ${MAX_KEY} characters`);
  for (const seg of key.split('/')) {
    if (seg === '') throw badKey(what, key, 'empty segment (absolute, trailing or doubled "/")');
    if (seg === '.' || seg === '..') throw badKey(what, key, `"${seg}" segment`);
    if (!SEGMENT.test(seg)) throw badKey(what, key, 'only [a-z0-9._-] and "/" separators are allowed');
  }
}

/** Throws unless `kind` is a single well-formed key segment. */
export function checkKind(kind: unknown): asserts kind is string {
  checkKey(kind, 'record kind');
  if (kind.includes('/')) throw badKey('record kind', kind, 'must not contain "/"');
}

/** True when `name` is a valid single key segment (used by backends to skip foreign names). */
export function isKeySegment(name: string): boolean {
  return SEGMENT.test(name) && name !== '.' && name !== '..';
}

/**
 * Splits a listing prefix into the directory part (a valid key, or '' for the root) and the
 * remaining partial segment, so a backend can start its walk below the directory part.
 */
export function splitPrefix(prefix: string): { dir: string; rest: string } {
  const slash = prefix.lastIndexOf('/');
  if (slash < 0) return { dir: '', rest: prefix };
  const dir = prefix.slice(0, slash);
  checkKey(dir, 'prefix');
  return { dir, rest: prefix.slice(slash + 1) };
}
