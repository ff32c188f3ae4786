import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checkKey, checkKind, type ObjectStore } from './store.js';
import { natsConnect, natsReplicas, REQUEST_TIMEOUT_MS, type NatsLink } from './nats-link.js';
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { ObjectStore as NatsObjectStore } from '@nats-io/obj';
import { mkdirsSync } from '../fs/mkdirs.js';

/**
 * An ObjectStore on NATS JetStream, so that many machines share one registry:
 *
 *   KV bucket      wtm-records   records: key "KIND.KEY" (KEY's "." written "=", as a key
 *                                segment never holds "="), the JSON as value, history 1
 *   object store   wtm-blobs     blobs written whole: modules, OCI blobs, snapshot files, ...
 *   stream         WTM_LOGS      blobs that grow (keys under logs/ and tails/): one message a
 *                                part, on subject "wtm.log.SEG.SEG..." (the key's segments)
 *
 * Appended blobs. Each part (message) carries two headers: Wtm-End, the bytes of the blob up
 * to and including this part, and Wtm-Base, the sequence of the blob's first part (absent on
 * the first part itself). So the last message on a subject (one direct get) says the blob's
 * size and where it starts; a blob of one part is read by that one get, a longer one by an
 * ordered consumer from its base to its last part. An append is published with "expected
 * last subject sequence", so two writers of one blob never interleave: the loser re-reads and
 * retries. A whole put of such a blob (a log tail, an imported log) publishes its parts with
 * Wtm-Open (the extent of the version it replaces) on all but its last part: a reader that
 * sees an open last part reads the previous version, so a put is atomic for readers; the
 * replaced parts are purged after it.
 *
 * Content-addressed blobs (a key ending in sha256/HEX) are cached in `cacheDir` once read and
 * checked against their digest: they never change, and a worker runs the same module many times.
 */
export interface NatsStoreOptions {
  /** Where content-addressed blobs are cached (none: no cache). */
  cacheDir?: string;
  /** A local directory for the working files of runs against this store (task directories, unpacked layers). */
  localDir?: string;
}

export const RECORDS_BUCKET = 'wtm-records';
export const BLOBS_BUCKET = 'wtm-blobs';
export const LOGS_STREAM = 'WTM_LOGS';
const LOG_SUBJECT = 'wtm.log';
/** Keys stored as appendable parts in LOGS_STREAM; every other blob goes to the object store. */
const APPENDED = ['logs/', 'tails/'];
const CONTENT_ADDRESSED = /(^|\/)sha256\/[0-9a-f]{64}$/;

interface Version {
  /** Sequence of the blob's first part. */
  base: number;
  /** Sequence of its last part. */
  last: number;
  /** Its size in bytes. */
  end: number;
}

interface Tip {
  /** The last message on the subject (0: none), whatever it is. */
  seq: number;
  /** The committed blob (null: none). */
  version: Version | null;
  /** The last message is a part of a put not finished (by a writer alive or dead). */
  open: boolean;
  /** The last message's payload, when it is the whole blob (a blob of one part). */
  single?: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class NatsStore implements ObjectStore {
  readonly localDir?: string;
  private readonly cacheDir: string | undefined;
  /** The tip of each appended blob this store wrote last (saves a get per append). */
  private readonly tips = new Map<string, Tip>();
  /** Serialises the writes of one appended blob within this process. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly partBytes: number;

  private constructor(
    readonly url: string,
    private readonly link: NatsLink,
    private readonly kv: KV,
    private readonly os: NatsObjectStore,
    opts: NatsStoreOptions,
  ) {
    this.cacheDir = opts.cacheDir;
    if (opts.localDir !== undefined) this.localDir = opts.localDir;
    // A part must fit in one message with its headers.
    this.partBytes = Math.max(4096, Math.min(1 << 20, link.maxPayload - 4096));
  }

  private get js(): JetStreamClient {
    return this.link.js;
  }

  private get jsm(): JetStreamManager {
    return this.link.jsm;
  }

  /**
   * Connects to the server at `url` (nats://HOST:PORT) and opens (creating when absent) the
   * buckets and stream. Throws a one-line Error when the server cannot be reached or has no
   * JetStream, within `timeoutMs`.
   */
  static async open(url: string, opts: NatsStoreOptions = {}): Promise<NatsStore> {
    const link = await natsConnect(url);
    try {
      const { Kvm } = await import('@nats-io/kv');
      const { Objm } = await import('@nats-io/obj');
      const kv = await new Kvm(link.js).create(RECORDS_BUCKET, { history: 1, replicas: natsReplicas() });
      const os = await new Objm(link.js).create(BLOBS_BUCKET, { replicas: natsReplicas() });
      await link.ensureStream({
        name: LOGS_STREAM, subjects: [`${LOG_SUBJECT}.>`], allow_direct: true,
        description: 'wtm: blobs that grow (process logs and their tails), one message a part',
      });
      return new NatsStore(url, link, kv, os, opts);
    } catch (e) {
      await link.close();
      throw new Error(`${url}: cannot open the registry's buckets: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
    await this.link.close();
  }

  // ---- records ----

  private recordKey(kind: string, key: string): string {
    checkKind(kind);
    checkKey(key);
    return `${kind.replace(/\./g, '=')}.${key.replace(/\./g, '=')}`;
  }

  async putRecord(kind: string, key: string, value: object): Promise<void> {
    const k = this.recordKey(kind, key);
    const text = JSON.stringify(value);
    if (typeof text !== 'string' || typeof value !== 'object' || value === null) {
      throw new Error(`record ${kind}/${key}: value must be a JSON object`);
    }
    await this.kv.put(k, enc.encode(text));
  }

  async getRecord(kind: string, key: string): Promise<unknown> {
    const e = await this.kv.get(this.recordKey(kind, key));
    if (e === null || e.operation !== 'PUT') return null;
    try {
      return JSON.parse(dec.decode(e.value));
    } catch {
      throw new Error(`record ${kind}/${key} is corrupt (not JSON)`);
    }
  }

  async listRecords(kind: string, prefix = ''): Promise<string[]> {
    checkKind(kind);
    const head = `${kind.replace(/\./g, '=')}.`;
    const out: string[] = [];
    for await (const k of await this.kv.keys(`${head}>`)) {
      const key = k.slice(head.length).replace(/=/g, '.');
      if (key.startsWith(prefix)) out.push(key);
    }
    return out.sort();
  }

  async deleteRecord(kind: string, key: string): Promise<boolean> {
    const k = this.recordKey(kind, key);
    const e = await this.kv.get(k);
    if (e === null || e.operation !== 'PUT') return false;
    await this.kv.delete(k);
    return true;
  }

  /**
   * Every record of `kind`, read by one ordered consumer (the last value of each key) instead
   * of a get per key: `wtm get processes` over 10,000 records. Records that are not JSON come
   * back as an Error in their place.
   */
  async readRecords(kind: string): Promise<Map<string, unknown>> {
    checkKind(kind);
    const head = `${kind.replace(/\./g, '=')}.`;
    const subject = `$KV.${RECORDS_BUCKET}.${head}>`;
    const out = new Map<string, unknown>();
    const { DeliverPolicy } = await import('@nats-io/jetstream');
    const c = await this.js.consumers.get(`KV_${RECORDS_BUCKET}`, { filter_subjects: subject, deliver_policy: DeliverPolicy.LastPerSubject });
    // One consume (an ordered consumer fetched batch by batch would be re-created from the
    // last stream sequence, losing "last per subject"), read until nothing is pending.
    const info = await c.info(true);
    if (info.num_pending === 0) {
      await c.delete().catch(() => {});
      return out;
    }
    const it = await c.consume({ max_messages: 1000 });
    let idle = false;
    const timer = setTimeout(() => {
      idle = true;
      it.stop();
    }, REQUEST_TIMEOUT_MS);
    try {
      for await (const m of it) {
        timer.refresh();
        const op = m.headers?.get('KV-Operation');
        if (op !== 'DEL' && op !== 'PURGE') {
          const key = m.subject.slice(`$KV.${RECORDS_BUCKET}.${head}`.length).replace(/=/g, '.');
          try {
            out.set(key, JSON.parse(dec.decode(m.data)));
          } catch {
            out.set(key, new Error(`record ${kind}/${key} is corrupt (not JSON)`));
          }
        }
        if (m.info.pending === 0) break;
      }
      if (idle) throw new Error(`reading the ${kind} records from ${this.url} timed out`);
    } finally {
      clearTimeout(timer);
      it.stop();
      await c.delete().catch(() => {});
    }
    return out;
  }

  // ---- blobs ----

  private appended(key: string): boolean {
    checkKey(key);
    return APPENDED.some((p) => key.startsWith(p));
  }

  private subject(key: string): string {
    return `${LOG_SUBJECT}.${key.split('/').map((s) => s.replace(/\./g, '=')).join('.')}`;
  }

  async putBlob(key: string, data: Uint8Array | AsyncIterable<Uint8Array>, _opts: { durable?: boolean } = {}): Promise<void> {
    if (this.appended(key)) return this.serial(key, () => this.putParts(key, data));
    const rs = toReadable(data, this.partBytes);
    await this.os.put({ name: key, options: { max_chunk_size: this.partBytes } }, rs);
  }

  async getBlob(key: string): Promise<AsyncIterable<Uint8Array> | null> {
    if (this.appended(key)) {
      const tip = await this.readTip(key);
      if (tip.version === null) return null;
      return this.readParts(key, tip);
    }
    const cached = this.cached(key);
    if (cached !== null) return (async function* () { yield cached; })();
    if (CONTENT_ADDRESSED.test(key) && this.cacheDir !== undefined) {
      const bytes = await this.readBlob(key);
      return bytes === null ? null : (async function* () { yield bytes; })();
    }
    const r = await this.os.get(key);
    if (r === null) return null;
    return (async function* () {
      for await (const c of r.data) yield c;
      const err = await r.error;
      if (err) throw new Error(`blob ${key}: ${err.message}`);
    })();
  }

  async readBlob(key: string): Promise<Uint8Array | null> {
    if (this.appended(key)) {
      const tip = await this.readTip(key);
      if (tip.version === null) return null;
      if (tip.single) return tip.single;
      return concat(await collectAll(this.readParts(key, tip)), tip.version.end);
    }
    const cached = this.cached(key);
    if (cached !== null) return cached;
    const r = await this.os.get(key);
    if (r === null) return null;
    const chunks: Uint8Array[] = [];
    for await (const c of r.data) chunks.push(c);
    const err = await r.error;
    if (err) throw new Error(`blob ${key}: ${err.message}`);
    const bytes = concat(chunks);
    this.cache(key, bytes);
    return bytes;
  }

  async hasBlob(key: string): Promise<boolean> {
    return (await this.blobSize(key)) !== null;
  }

  async blobSize(key: string): Promise<number | null> {
    if (this.appended(key)) return (await this.readTip(key)).version?.end ?? null;
    const info = await this.os.info(key);
    return info === null || info.deleted ? null : info.size;
  }

  async listBlobs(prefix = ''): Promise<string[]> {
    const out = new Set<string>();
    for (const info of await this.os.list()) if (!info.deleted && info.name.startsWith(prefix)) out.add(info.name);
    const si = await this.jsm.streams.info(LOGS_STREAM, { subjects_filter: `${LOG_SUBJECT}.>` });
    for (const subj of Object.keys(si.state.subjects ?? {})) {
      const key = subj.slice(LOG_SUBJECT.length + 1).split('.').map((s) => s.replace(/=/g, '.')).join('/');
      if (key.startsWith(prefix)) out.add(key);
    }
    return [...out].sort();
  }

  async deleteBlob(key: string): Promise<boolean> {
    if (this.appended(key)) {
      return this.serial(key, async () => {
        const had = (await this.readTip(key)).version !== null;
        await this.jsm.streams.purge(LOGS_STREAM, { filter: this.subject(key) });
        this.tips.delete(key);
        return had;
      });
    }
    this.uncache(key);
    const info = await this.os.info(key);
    if (info === null || info.deleted) return false;
    await this.os.delete(key);
    return true;
  }

  async appendBlob(key: string, chunk: Uint8Array): Promise<void> {
    if (!this.appended(key)) {
      // Not a growing blob by its key: read, extend, put whole (correct, not fast).
      const old = (await this.readBlob(key)) ?? new Uint8Array(0);
      await this.putBlob(key, concat([old, chunk]));
      return;
    }
    await this.serial(key, () => this.appendParts(key, chunk));
  }

  async truncateBlob(key: string, size: number): Promise<void> {
    if (!(Number.isSafeInteger(size) && size >= 0)) throw new Error(`truncateBlob: bad size ${size}`);
    const bytes = await this.readBlob(key);
    if (bytes === null) throw new Error(`truncateBlob: no blob ${key}`);
    if (bytes.byteLength === size) return;
    const cut = bytes.byteLength > size ? bytes.subarray(0, size) : concat([bytes, new Uint8Array(size - bytes.byteLength)]);
    await this.putBlob(key, cut);
  }

  // ---- maintenance (gc's grace period) ----

  /** Size and time of the last write of a blob, or null when there is none. */
  async statBlob(key: string): Promise<{ bytes: number; mtimeMs: number } | null> {
    if (this.appended(key)) {
      const m = await this.lastMessage(key);
      if (m === null) return null;
      const tip = tipOf(m);
      return tip.version ? { bytes: tip.version.end, mtimeMs: m.time.getTime() } : null;
    }
    const info = await this.os.info(key);
    return info === null || info.deleted ? null : { bytes: info.size, mtimeMs: Date.parse(info.mtime) };
  }

  /** Size and time of the last write of a record, or null when there is none. */
  async statRecord(kind: string, key: string): Promise<{ bytes: number; mtimeMs: number } | null> {
    const e = await this.kv.get(this.recordKey(kind, key));
    return e === null || e.operation !== 'PUT' ? null : { bytes: e.length, mtimeMs: e.created.getTime() };
  }

  // ---- appended blobs: parts in LOGS_STREAM ----

  private async serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.chains.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    }
  }

  /** The last message of a blob's subject, read as the blob's extent. */
  private async readTip(key: string): Promise<Tip> {
    const m = await this.lastMessage(key);
    return m === null ? { seq: 0, version: null, open: false } : tipOf(m);
  }

  private async lastMessage(key: string): Promise<StoredMsg | null> {
    try {
      return await this.jsm.direct.getMessage(LOGS_STREAM, { last_by_subj: this.subject(key) });
    } catch (e) {
      if (/no message found|not found/i.test((e as Error).message)) return null;
      throw e;
    }
  }

  /** The parts of the version `tip` names, in order. */
  private async *readParts(key: string, tip: Tip): AsyncGenerator<Uint8Array> {
    const v = tip.version!;
    if (tip.single) {
      yield tip.single;
      return;
    }
    if (v.base === v.last) {
      const m = await this.jsm.direct.getMessage(LOGS_STREAM, { seq: v.base });
      if (m === null || m.subject !== this.subject(key)) throw new Error(`blob ${key} changed while it was read`);
      yield m.data;
      return;
    }
    const { DeliverPolicy } = await import('@nats-io/jetstream');
    const c = await this.js.consumers.get(LOGS_STREAM, { filter_subjects: this.subject(key), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: v.base });
    try {
      let first = true;
      let bytes = 0;
      for (;;) {
        const batch = await c.fetch({ max_messages: 64, expires: 5000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          if (first && m.seq !== v.base) throw new Error(`blob ${key} changed while it was read`);
          first = false;
          if (m.seq > v.last) return;
          // A part of a put that was abandoned belongs to no version but its own.
          if (Number(m.headers?.get('Wtm-Base') || m.seq) !== v.base) continue;
          bytes += m.data.byteLength;
          yield m.data;
          if (m.seq === v.last) {
            if (bytes !== v.end) throw new Error(`blob ${key} is corrupt: its parts hold ${bytes} bytes, its last part says ${v.end}`);
            return;
          }
        }
        if (got === 0) throw new Error(`blob ${key}: reading its parts timed out (were they removed meanwhile?)`);
      }
    } finally {
      await c.delete().catch(() => {});
    }
  }

  private async publish(key: string, data: Uint8Array, expectSeq: number, hdrs: Record<string, string>): Promise<number> {
    const { headers } = await import('@nats-io/transport-node');
    const h = headers();
    for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
    const ack = await this.js.publish(this.subject(key), data, { headers: h, expect: { lastSubjectSequence: expectSeq } });
    return ack.seq;
  }

  private async appendParts(key: string, chunk: Uint8Array): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      // Losing to another writer means re-reading the tip: back off a little, at random.
      if (attempt > 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
      const tip = this.tips.get(key) ?? (await this.readTip(key));
      if (tip.open) throw new Error(`cannot append to ${key}: another writer is replacing it`);
      let { seq } = tip;
      let base = tip.version?.base ?? 0;
      let end = tip.version?.end ?? 0;
      try {
        for (let off = 0; off < chunk.byteLength || (off === 0 && chunk.byteLength === 0); off += this.partBytes) {
          const part = chunk.subarray(off, off + this.partBytes);
          end += part.byteLength;
          seq = await this.publish(key, part, seq, { 'Wtm-End': String(end), ...(base ? { 'Wtm-Base': String(base) } : {}) });
          if (!base) base = seq;
          if (chunk.byteLength === 0) break;
        }
      } catch (e) {
        this.tips.delete(key);
        // Another writer appended first: read where the blob now ends and try again.
        if (attempt < 100 && isWrongLastSequence(e) && seq === tip.seq) continue;
        throw e;
      }
      this.tips.set(key, { seq, version: { base, last: seq, end }, open: false });
      return;
    }
  }

  private async putParts(key: string, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const tip = this.tips.get(key) ?? (await this.readTip(key));
    const prev = tip.version;
    const openHeader = prev ? `${prev.base},${prev.last},${prev.end}` : '0,0,0';
    let seq = tip.seq;
    let base = 0;
    let end = 0;
    const published: number[] = [];
    const send = async (part: Uint8Array, last: boolean) => {
      end += part.byteLength;
      const h: Record<string, string> = { 'Wtm-End': String(end) };
      if (base) h['Wtm-Base'] = String(base);
      if (!last) h['Wtm-Open'] = openHeader;
      seq = await this.publish(key, part, seq, h);
      published.push(seq);
      if (!base) base = seq;
    };
    try {
      let pending: Uint8Array | null = null;
      for await (const part of parts(data, this.partBytes)) {
        if (pending !== null) await send(pending, false);
        pending = part;
      }
      await send(pending ?? new Uint8Array(0), true);
    } catch (e) {
      this.tips.delete(key);
      // Readers still see the previous version (the last part is open). The put is closed by
      // an empty part of the previous version (readers skip the parts between, whose base is
      // not the version's), or, when there was none, by purging the subject.
      if (published.length > 0) {
        await (prev
          ? this.publish(key, new Uint8Array(0), seq, { 'Wtm-End': String(prev.end), 'Wtm-Base': String(prev.base) })
          : this.jsm.streams.purge(LOGS_STREAM, { filter: this.subject(key) })).catch(() => {});
      }
      throw e;
    }
    this.tips.set(key, { seq, version: { base, last: seq, end }, open: false });
    // The replaced parts: purged (everything of this subject before the new base; with no
    // message before it there is nothing to purge, and `seq` must then not be sent).
    if (tip.seq > 0) await this.jsm.streams.purge(LOGS_STREAM, { filter: this.subject(key), seq: base });
  }

  // ---- the local cache of content-addressed blobs ----

  private cachePath(key: string): string | null {
    if (this.cacheDir === undefined || !CONTENT_ADDRESSED.test(key)) return null;
    return path.join(this.cacheDir, ...key.split('/'));
  }

  private cached(key: string): Uint8Array | null {
    const file = this.cachePath(key);
    if (file === null) return null;
    try {
      const b = fs.readFileSync(file);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch {
      return null;
    }
  }

  /** Keeps a content-addressed blob, when its bytes hash to its name (written atomically). */
  private cache(key: string, bytes: Uint8Array): void {
    const file = this.cachePath(key);
    if (file === null) return;
    if (createHash('sha256').update(bytes).digest('hex') !== key.slice(-64)) return;
    try {
      mkdirsSync(path.dirname(file), 0o700);
      const tmp = `${file}~${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
      fs.writeFileSync(tmp, bytes, { mode: 0o600 });
      fs.renameSync(tmp, file);
    } catch {
      // A cache that cannot be written is only slower.
    }
  }

  private uncache(key: string): void {
    const file = this.cachePath(key);
    if (file !== null) fs.rmSync(file, { force: true });
  }
}

function tipOf(m: StoredMsg): Tip {
  const end = Number(m.header?.get('Wtm-End') ?? m.data.byteLength);
  const baseHeader = m.header?.get('Wtm-Base');
  const base = baseHeader ? Number(baseHeader) : m.seq;
  const open = m.header?.get('Wtm-Open');
  if (open) {
    const [pb, pl, pe] = open.split(',').map(Number) as [number, number, number];
    return { seq: m.seq, version: pb ? { base: pb, last: pl, end: pe } : null, open: true };
  }
  const tip: Tip = { seq: m.seq, version: { base, last: m.seq, end }, open: false };
  if (base === m.seq) tip.single = m.data;
  return tip;
}

function isWrongLastSequence(e: unknown): boolean {
  const err = e as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return err?.code === 10071 || err?.api_error?.err_code === 10071 || /wrong last sequence/i.test(err?.message ?? '');
}

/** Chunks of at most `max` bytes. */
async function* parts(data: Uint8Array | AsyncIterable<Uint8Array>, max: number): AsyncGenerator<Uint8Array> {
  const source = data instanceof Uint8Array ? [data] : data;
  let buf: Uint8Array[] = [];
  let n = 0;
  for await (const c of source) {
    let off = 0;
    while (off < c.byteLength) {
      const take = Math.min(max - n, c.byteLength - off);
      buf.push(c.subarray(off, off + take));
      n += take;
      off += take;
      if (n === max) {
        yield concat(buf, n);
        buf = [];
        n = 0;
      }
    }
  }
  if (n > 0) yield concat(buf, n);
}

function toReadable(data: Uint8Array | AsyncIterable<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  const it = parts(data, max)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await it.return?.(undefined);
    },
  });
}

async function collectAll(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

function concat(chunks: Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1 && (total === undefined || chunks[0]!.byteLength === total)) return chunks[0]!;
  const n = total ?? chunks.reduce((s, c) => s + c.byteLength, 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
