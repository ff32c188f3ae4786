import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytesSource, collect, encodeArchive, fileSource, openArchive, type ArchiveSource } from './archive.js';
import { canonicalJson, DIGEST_RE, sha256Hex } from './digest.js';
import { LocalStore } from './local.js';
import { checkProcessRecord, cleanRecord, UUID_V4_RE, type NewProcess, type ProcessPatch, type ProcessRecord } from './process.js';
import type { ObjectStore } from './store.js';
import { currentOwner, ownerAlive } from './liveness.js';
import { checkLogChunks, LogStream } from '../timemachine/stream.js';
import { withholdEnvInLog, withholdValues } from '../timemachine/withhold.js';

/*
 * What the registry keeps in its ObjectStore:
 *   blob   modules/sha256/HEX   module bytes, HEX = sha256 of the bytes
 *   record config/HEX           a process config, HEX = sha256 of its canonical JSON
 *   record process/ID           a ProcessRecord, ID = UUID v4
 *   blob   logs/ID              the process's time-machine log, appended while it runs
 *   blob   tails/ID             the records of a running process not yet sealed into its log
 *                                (one uncompressed batch, replaced every 250 ms; see logtail.ts)
 *   record running/ID           {} while process ID is recording: the index of running records
 */
const MODULE_PREFIX = 'modules/sha256/';
const CONFIG = 'config';
const PROCESS = 'process';
const RUNNING = 'running';
const logKey = (id: string) => `logs/${id}`;
const tailKey = (id: string) => `tails/${id}`;

export class Registry {
  /** Serialises read-modify-write of one process record within this Node process. */
  private readonly locks = new Map<string, Promise<unknown>>();

  /** The worker this registry records tasks for (wtm worker): written into every new process record. */
  worker?: { host: string; id: string };

  constructor(readonly store: ObjectStore) {}

  /** Opens the registry in `dir` (default: $WTM_HOME, else ~/.wtm), creating it when needed. */
  static async open(dir?: string): Promise<Registry> {
    const root = dir ?? (process.env.WTM_HOME || path.join(os.homedir(), '.wtm'));
    return new Registry(await LocalStore.open(root));
  }

  // ---- modules ----

  /** Stores module bytes (idempotent) and returns their sha256 hex digest. */
  async putModule(bytes: Uint8Array): Promise<string> {
    if (!(bytes instanceof Uint8Array)) throw new Error('putModule: module must be bytes (Uint8Array)');
    const digest = sha256Hex(bytes);
    const key = MODULE_PREFIX + digest;
    if (!this.stored.has(key) && !(await this.store.hasBlob(key))) await this.store.putBlob(key, bytes);
    this.remember(key);
    return digest;
  }

  /**
   * The module's bytes, checked against their digest (a mismatch throws, naming both): what
   * is replayed or exported is exactly what was recorded. Hashing costs little next to
   * compiling (1.4 ms per MB here; compiling a 68 KB module takes 14 ms).
   */
  async getModule(digest: string): Promise<Uint8Array | null> {
    const bytes = await this.store.readBlob(MODULE_PREFIX + checkDigest(digest, 'module digest'));
    if (bytes === null) return null;
    const actual = sha256Hex(bytes);
    if (actual !== digest) throw new Error(`module sha256:${digest} is corrupt: its bytes hash to sha256:${actual}`);
    return bytes;
  }

  async hasModule(digest: string): Promise<boolean> {
    const key = MODULE_PREFIX + checkDigest(digest, 'module digest');
    if (this.stored.has(key)) return true;
    const has = await this.store.hasBlob(key);
    if (has) this.remember(key);
    return has;
  }

  /** Digests of all stored modules, sorted. */
  async listModules(): Promise<string[]> {
    const keys = await this.store.listBlobs(MODULE_PREFIX);
    return keys.map((k) => k.slice(MODULE_PREFIX.length)).filter((d) => DIGEST_RE.test(d));
  }

  /** A full module digest from a unique prefix of one (an optional "sha256:" is ignored). */
  async resolveModuleDigest(prefix: string): Promise<string> {
    const p = String(prefix).toLowerCase().replace(/^sha256:/, '');
    if (!/^[0-9a-f]+$/.test(p)) throw new Error(`no module ${prefix}`);
    // A whole digest needs no listing (which a remote store pays for by the object).
    if (DIGEST_RE.test(p) && (await this.hasModule(p))) return p;
    const found = (await this.store.listBlobs(MODULE_PREFIX + p)).map((k) => k.slice(MODULE_PREFIX.length));
    return pickOne(prefix, found.filter((d) => DIGEST_RE.test(d)), 'module', 'digest');
  }

  // ---- configs ----

  /** Stores a config (plain JSON data) and returns the sha256 of its canonical JSON; equal configs share one entry. */
  async putConfig(config: object): Promise<string> {
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error('putConfig: config must be a JSON object');
    const text = canonicalJson(config);
    const digest = sha256Hex(text);
    if (this.stored.has(CONFIG + digest)) return digest;
    // The canonical text is stored as is (it is JSON): no parse and stringify again.
    if ((await this.store.getRecord(CONFIG, digest)) === null) await this.store.putRecord(CONFIG, digest, config, text);
    this.remember(CONFIG + digest);
    return digest;
  }

  /**
   * Content-addressed objects this Registry has stored or seen: they never change, so a task
   * run many times costs no existence check after the first (they are only removed by
   * deleting them through a registry, which is not done for modules and configs).
   */
  private readonly stored = new Set<string>();
  private remember(key: string): void {
    if (this.stored.size > 100_000) this.stored.clear();
    this.stored.add(key);
  }

  async getConfig<T extends object = Record<string, unknown>>(digest: string): Promise<T | null> {
    return (await this.store.getRecord(CONFIG, checkDigest(digest, 'config digest'))) as T | null;
  }

  async listConfigs(): Promise<string[]> {
    return (await this.store.listRecords(CONFIG)).filter((d) => DIGEST_RE.test(d));
  }

  // ---- processes ----

  /** Records a new process; its module and config must already be stored. Returns the stored record. */
  async createProcess(rec: NewProcess): Promise<ProcessRecord> {
    const state = rec.state ?? 'running';
    const owner = state === 'running' && rec.pid === undefined ? currentOwner() : {};
    const full = cleanRecord({
      ...rec,
      ...owner,
      id: rec.id ?? randomUUID(),
      startTime: rec.startTime ?? new Date().toISOString(),
      state,
      wtmVersion: rec.wtmVersion ?? wtmVersion(),
      ...(this.worker && rec.worker === undefined ? { worker: { ...this.worker } } : {}),
    });
    checkProcessRecord(full);
    if (!(await this.hasModule(full.moduleDigest))) throw new Error(`module ${full.moduleDigest} is not in the registry (store it with putModule first)`);
    if (!this.stored.has(CONFIG + full.configDigest) && (await this.getConfig(full.configDigest)) === null) throw new Error(`config ${full.configDigest} is not in the registry (store it with putConfig first)`);
    return this.locked(full.id, async () => {
      if ((await this.store.getRecord(PROCESS, full.id)) !== null) throw new Error(`process ${full.id} already exists`);
      if (full.state === 'running') await this.store.putRecord(RUNNING, full.id, {});
      await this.store.putRecord(PROCESS, full.id, full);
      return full;
    });
  }

  /** Applies `patch` (end time, exit code, state, counters) to a process record and returns the result. */
  async updateProcess(id: string, patch: ProcessPatch): Promise<ProcessRecord> {
    checkId(id);
    const allowed = new Set(['endTime', 'exitCode', 'trap', 'state', 'logBytes', 'calls', 'error', 'signal']);
    for (const k of Object.keys(patch)) if (!allowed.has(k)) throw new Error(`updateProcess: field ${k} cannot be changed`);
    return this.locked(id, async () => {
      const old = await this.getStoredProcess(id);
      if (!old) throw new Error(`no process ${id}`);
      const next = cleanRecord({ ...old, ...patch });
      checkProcessRecord(next);
      await this.store.putRecord(PROCESS, id, next);
      if (next.state !== 'running' && old.state === 'running') await this.store.deleteRecord(RUNNING, id);
      return next;
    });
  }

  /**
   * A process record as it stands: a `running` record whose owner (pid, host) is gone reads as
   * `interrupted` (wtm was killed; `recoverInterrupted` in runtime/recovery.ts makes it so on disk).
   */
  async getProcess(id: string): Promise<ProcessRecord | null> {
    const rec = await this.getStoredProcess(id);
    if (rec === null || !isOrphan(rec)) return rec;
    return { ...rec, state: 'interrupted' };
  }

  /** The record exactly as stored (a `running` record is not checked against its owner). */
  async getStoredProcess(id: string): Promise<ProcessRecord | null> {
    checkId(id);
    const rec = await this.store.getRecord(PROCESS, id);
    if (rec === null) return null;
    checkProcessRecord(rec, `stored process record ${id}`);
    return rec;
  }

  /**
   * Takes process `id` out of the running index; true for exactly one caller (whoever then
   * seals its log: two commands recovering one interrupted run must not both append its tail).
   */
  async claimRunning(id: string): Promise<boolean> {
    return this.store.deleteRecord(RUNNING, checkId(id));
  }

  /** Ids of the records stored as `running` (their owners may be gone: see getProcess). */
  async listRunning(): Promise<string[]> {
    return (await this.store.listRecords(RUNNING)).filter((id) => UUID_V4_RE.test(id));
  }

  /** All processes, newest (latest start time) first; a corrupt record is left out (see scanProcesses). */
  async listProcesses(): Promise<ProcessRecord[]> {
    return (await this.scanProcesses()).records;
  }

  /**
   * All processes, newest first, and the records that could not be read (not JSON, or not a
   * well-formed process record), each with why: one bad record never hides the others.
   */
  async scanProcesses(): Promise<{ records: ProcessRecord[]; skipped: { id: string; why: string }[] }> {
    const out: ProcessRecord[] = [];
    const skipped: { id: string; why: string }[] = [];
    // A remote store reads them all in one pass (10,000 records: one stream read, not 10,000 gets).
    const all = this.store.readRecords ? await this.store.readRecords(PROCESS) : null;
    for (const id of all ? [...all.keys()] : await this.store.listRecords(PROCESS)) {
      if (!UUID_V4_RE.test(id)) continue;
      let rec: ProcessRecord | null;
      try {
        rec = all ? asProcess(id, all.get(id)) : await this.getProcess(id);
      } catch (e) {
        skipped.push({ id, why: corruptWhy(id, (e as Error).message) });
        continue;
      }
      if (rec) out.push(rec); // null: deleted since the listing
    }
    const records = out.sort((a, b) => Date.parse(b.startTime) - Date.parse(a.startTime) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { records, skipped };
  }

  /** A full process id from a unique prefix of one, as git resolves abbreviated hashes. */
  async resolveProcessId(prefix: string): Promise<string> {
    const p = String(prefix).toLowerCase();
    if (!/^[0-9a-f-]+$/.test(p)) throw new Error(`no process ${prefix}`);
    const found = (await this.store.listRecords(PROCESS, p)).filter((id) => UUID_V4_RE.test(id));
    return pickOne(prefix, found, 'process', 'id');
  }

  /** Removes a process record and its log (its module and config stay: others may share them). */
  async deleteProcess(id: string): Promise<boolean> {
    checkId(id);
    return this.locked(id, async () => {
      const hadLog = await this.store.deleteBlob(logKey(id));
      await this.store.deleteBlob(tailKey(id));
      await this.store.deleteRecord(RUNNING, id);
      const hadRecord = await this.store.deleteRecord(PROCESS, id);
      return hadRecord || hadLog;
    });
  }

  // ---- logs ----

  async appendLog(id: string, chunk: Uint8Array): Promise<void> {
    await this.store.appendBlob(logKey(checkId(id)), chunk);
  }

  /** Replaces the log's unsealed tail (one batch frame; see logtail.ts). */
  async putLogTail(id: string, batch: Uint8Array): Promise<void> {
    await this.store.putBlob(tailKey(checkId(id)), batch, { durable: false });
  }

  /** Cuts the log to its first `size` bytes (its whole batches, after a kill cut one short). */
  async truncateLog(id: string, size: number): Promise<void> {
    await this.store.truncateBlob(logKey(checkId(id)), size);
  }

  async readLogTail(id: string): Promise<Uint8Array | null> {
    return this.store.readBlob(tailKey(checkId(id)));
  }

  async deleteLogTail(id: string): Promise<void> {
    await this.store.deleteBlob(tailKey(checkId(id)));
  }

  async readLog(id: string): Promise<Uint8Array | null> {
    return this.store.readBlob(logKey(checkId(id)));
  }

  /** The log as a stream of chunks, or null when there is none. */
  async streamLog(id: string): Promise<AsyncIterable<Uint8Array> | null> {
    return this.store.getBlob(logKey(checkId(id)));
  }

  /**
   * The log's file when the registry is a local directory and the log exists, else null: for
   * a reader that must read it synchronously (replay, inside a worker). Read it only; the
   * registry owns it.
   */
  async logPath(id: string, opts: { mayNotExist?: boolean } = {}): Promise<string | null> {
    if (!(this.store instanceof LocalStore)) return null;
    // The layout of LocalStore: DIR/blobs/KEY.
    const file = path.join(this.store.root, 'blobs', ...logKey(checkId(id)).split('/'));
    return opts.mayNotExist || (await this.store.hasBlob(logKey(id))) ? file : null;
  }

  /** Bytes in the log so far (0 when there is none). */
  async logSize(id: string): Promise<number> {
    return (await this.store.blobSize(logKey(checkId(id)))) ?? 0;
  }

  // ---- export / import (format: see archive.ts) ----

  /**
   * One self-contained file (archive.ts): the process record, its config, its module and its
   * log, as chunks to write out. Everything is checked on the way: the module and config
   * against their digests, every batch of the log against its checksum (a corrupt part throws,
   * one line, and the consumer drops what it wrote). The log is streamed, never held whole; a
   * log still growing is taken up to its size when the export began.
   */
  /**
   * The export file of a process, as chunks. The values of the environment variables the run
   * inherited from the host (its config's `hostEnv`) are withheld (`NAME=`) from the config and
   * from every environ_get record of the log, unless `withHostEnv`; the config then names them
   * in `withheldEnv`, and a replay that reaches environ_get says so. `withheld` (when given)
   * receives the names withheld.
   */
  async *exportStream(id: string, opts: { withHostEnv?: boolean; withheld?: string[] } = {}): AsyncGenerator<Uint8Array> {
    let rec = await this.getProcess(id);
    if (!rec) throw new Error(`no process ${id}`);
    const module = await this.getModule(rec.moduleDigest);
    if (!module) throw new Error(`cannot export process ${id}: its module ${rec.moduleDigest} is missing from the registry`);
    let config = await this.getConfig(rec.configDigest) as Record<string, unknown> | null;
    if (!config) throw new Error(`cannot export process ${id}: its config ${rec.configDigest} is missing from the registry`);
    let configText = canonicalJson(config);
    const configDigest = sha256Hex(configText);
    if (configDigest !== rec.configDigest) throw new Error(`config sha256:${rec.configDigest} is corrupt: it hashes to sha256:${configDigest}`);
    const logLength = await this.logSize(id);
    const logOf = async () => {
      const stream = logLength > 0 ? await this.streamLog(id) : null;
      return stream ? prefixErrors(checkLogChunks(takeBytes(stream, logLength)), `cannot export process ${id}: `) : (async function* () {})();
    };
    const hostEnv = Array.isArray(config.hostEnv) ? (config.hostEnv as string[]) : [];
    const env = Array.isArray(config.env) ? (config.env as string[]) : [];
    const names = new Set(hostEnv.filter((n) => env.some((e) => e.startsWith(`${n}=`) && e.length > n.length + 1)));
    let log: AsyncIterable<Uint8Array> | null = null;
    let length = logLength;
    if (!opts.withHostEnv && names.size > 0) {
      config = { ...config, env: withholdValues(env, names), withheldEnv: [...names] };
      configText = canonicalJson(config);
      rec = { ...rec, configDigest: sha256Hex(configText) };
      opts.withheld?.push(...names);
      if (logLength > 0) {
        // The length goes before the log in the file: measured by a first pass, deterministic.
        const state = { changed: false };
        let n = 0;
        for await (const chunk of withholdEnvInLog(new LogStream(await logOf()), names, state)) n += chunk.byteLength;
        if (state.changed) {
          length = n;
          log = withholdEnvInLog(new LogStream(await logOf()), names, { changed: false });
        }
      }
    }
    const enc = new TextEncoder();
    yield* encodeArchive({ record: enc.encode(JSON.stringify(rec)), config: enc.encode(configText), module, logLength: length, log: log ?? await logOf() });
  }

  /** The export file of a process in memory (see exportStream, which a big log needs). */
  async exportProcess(id: string): Promise<Uint8Array> {
    return collect(this.exportStream(id));
  }

  /**
   * Stores a process from an export file (in memory) and returns its id. See importFile.
   */
  async importProcess(bytes: Uint8Array): Promise<string> {
    return this.importFrom(bytesSource(bytes));
  }

  /**
   * Stores a process from an export file and returns its id, reading the log a piece at a time.
   * Everything is checked before anything is kept: the file checksum, the record, the module and
   * config digests, the log digest and every batch of the log. A malformed or altered file is
   * refused with a one-line Error. The log is written under a temporary name and kept only
   * once all is checked; the record is written last, so an interrupted import leaves no
   * process behind (at most its content-addressed module and config, which are whole and valid).
   */
  async importFile(file: string): Promise<string> {
    return this.importFrom(await fileSource(file));
  }

  private async importFrom(src: ArchiveSource): Promise<string> {
    try {
      const a = await openArchive(src);
      const rec = parseJson(a.record, 'process record');
      checkProcessRecord(rec, 'export: process record');
      const moduleDigest = sha256Hex(a.module);
      if (moduleDigest !== rec.moduleDigest) throw new Error(`export: module digest mismatch (record says ${rec.moduleDigest}, bytes hash to ${moduleDigest})`);
      const config = parseJson(a.config, 'config');
      if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error('export: config is not a JSON object');
      const configDigest = sha256Hex(canonicalJson(config));
      if (configDigest !== rec.configDigest) throw new Error(`export: config digest mismatch (record says ${rec.configDigest}, config hashes to ${configDigest})`);
      const id = rec.id;
      return await this.locked(id, async () => {
        if ((await this.store.getRecord(PROCESS, id)) !== null) throw new Error(`process ${id} already exists in this registry (delete it first to re-import)`);
        // Kept (renamed into place) only if every check passed, the file checksum last.
        const log = checkLogChunks(a.log());
        if (a.logLength > 0) {
          await this.store.putBlob(logKey(id), prefixErrors(log, 'export: '));
        } else {
          for await (const _ of log); // checks the file checksum
          await this.store.deleteBlob(logKey(id));
        }
        try {
          await this.putModule(a.module);
          await this.putConfig(config);
          await this.store.putRecord(PROCESS, id, cleanRecord(rec));
        } catch (e) {
          await this.store.deleteBlob(logKey(id)).catch(() => {});
          throw e;
        }
        return id;
      });
    } finally {
      await src.close();
    }
  }

  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }
}

/**
 * Why a process's log may end before the guest did, from its record: null when the guest
 * ended and the log with it (exited, trapped); else a phrase for messages ("the run was
 * interrupted"). A log cut inside a batch is cut whatever its record says (the readers' `truncated`).
 */
export function logCutReason(rec: ProcessRecord): string | null {
  switch (rec.state) {
    case 'exited': case 'trapped': return null;
    case 'running': return isOrphan(rec) ? 'the run was interrupted' : 'the process is still running';
    case 'interrupted': return 'the run was interrupted';
    case 'killed': return 'the run was killed';
    case 'cancelled': return 'the run was cancelled';
    case 'failed': return 'the run failed';
    case 'crashed': return 'the task\'s host process crashed';
  }
}

/** A `running` record whose owner is certainly gone. */
export function isOrphan(rec: ProcessRecord): boolean {
  return rec.state === 'running' && rec.pid !== undefined && rec.host !== undefined
    && ownerAlive({ pid: rec.pid, host: rec.host, ...(rec.pidStart ? { pidStart: rec.pidStart } : {}) }) === false;
}

function checkId(id: string): string {
  if (typeof id !== 'string' || !UUID_V4_RE.test(id)) {
    throw new Error(`bad process id ${JSON.stringify(id)}: expected a full lowercase UUID (resolve a prefix with resolveProcessId)`);
  }
  return id;
}

function checkDigest(digest: string, what: string): string {
  if (typeof digest !== 'string' || !DIGEST_RE.test(digest)) throw new Error(`bad ${what} ${JSON.stringify(digest)}: expected 64 lowercase hex digits`);
  return digest;
}

function pickOne(prefix: string, found: string[], noun: string, idWord: string): string {
  if (found.length === 1) return found[0];
  if (found.length === 0) throw new Error(`no ${noun} ${prefix}`);
  const shown = found.slice(0, 10).join(', ') + (found.length > 10 ? ` and ${found.length - 10} more` : '');
  throw new Error(`ambiguous ${idWord} prefix ${prefix}: matches ${shown}`);
}

/** The first `n` bytes of a stream (a log still being appended to is cut at its size when read began). */
async function* takeBytes(chunks: AsyncIterable<Uint8Array>, n: number): AsyncGenerator<Uint8Array> {
  let left = n;
  for await (const c of chunks) {
    if (left <= 0) break;
    const part = c.byteLength <= left ? c : c.subarray(0, left);
    left -= part.byteLength;
    yield part;
  }
}

/** The same chunks; an error that ends them gets `prefix` in front of its message (unless it has it). */
async function* prefixErrors(chunks: AsyncIterable<Uint8Array>, prefix: string): AsyncGenerator<Uint8Array> {
  try {
    yield* chunks;
  } catch (e) {
    const m = (e as Error).message ?? String(e);
    throw new Error(m.startsWith(prefix) || m.startsWith('not a valid wtm') || m.startsWith('export: ') ? m : prefix + m);
  }
}

/** A record read in bulk (readRecords), as getProcess gives it. */
function asProcess(id: string, rec: unknown): ProcessRecord {
  if (rec instanceof Error) throw rec;
  checkProcessRecord(rec, `stored process record ${id}`);
  return isOrphan(rec) ? { ...rec, state: 'interrupted' } : rec;
}

/** Why a stored process record could not be read, without the record's name repeated. */
function corruptWhy(id: string, message: string): string {
  const named = `stored process record ${id}: `;
  if (message.startsWith(named)) return message.slice(named.length);
  const json = /is corrupt \((.*)\)$/.exec(message);
  return json ? json[1]! : message;
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new Error(`export: ${what} is not valid UTF-8 JSON`);
  }
}

let version: string | undefined;

/** This wtm's version, from its package.json (read once). */
export function wtmVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
      version = typeof pkg.version === 'string' && pkg.version ? pkg.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version as string;
}
