// Two recorded runs side by side: where they first part, and what differed over the whole
// runs. Pure over two record streams (and what the process records say), so it is tested
// without a registry.
//
// Alignment: the logs are walked in step, record i against record i. The first record where
// they differ (call, parameters, result or outputs; never start time or duration) is the
// divergence. After it, one run may have made more or fewer calls and record numbers no longer
// line up, so the whole-run summary compares each kind of value in its own sequence instead:
// the k-th clock read of A against the k-th of B, the k-th random_get, the k-th file read, the
// output streams byte by byte, the environment and arguments as sets and lists, call counts
// by kind. That is exact for runs that differ only in values, and honest (counts and first
// examples) for runs that took different paths.

import { errnoName } from '../system/index.js';
import { CALLS, CALL_BY_METHOD, forEachWritten, INJECTED, type CallSpec } from '../timemachine/calls.js';
import { decodeRecord, type DecodedCall } from '../timemachine/describe.js';
import { escapeBytes, formatArgs, formatOutcome } from '../timemachine/trace-format.js';

export interface DiffSide {
  /** The log's record payloads, in order, one at a time or a batch (an array) at a time. */
  records: AsyncIterable<Uint8Array | readonly Uint8Array[]> | Iterable<Uint8Array | readonly Uint8Array[]>;
  /** What the registry says about the process (absent fields are not compared). */
  process?: { moduleDigest?: string; state?: string; exitCode?: number };
}

export interface DiffOptions {
  /** Calls shown before the first difference (default 3). */
  context?: number;
  /** Show environment values (default: names only, as `describe`: values may hold secrets). */
  showEnv?: boolean;
}

/** One record as the diff shows it. */
export interface ShownCall {
  record: number;
  call: string;
  /** `fd_write(fd=1, iovs="alpha\n")`, as `wtm trace` shows it */
  text: string;
  /** `6`, `NOENT`, `5 "bytes read"`, `["a", "b"]`, as `wtm trace` shows it (empty for proc_exit) */
  result: string;
}

export interface FirstDifference {
  /** The record number (0-based) in both logs, walked in step. */
  record: number;
  /** What differs there: the call, its parameters, its result, its outputs, or one log ended. */
  what: 'call' | 'parameters' | 'result' | 'outputs' | 'A ended' | 'B ended';
  /** The calls before it (the same in both runs), oldest first. */
  before: ShownCall[];
  a: ShownCall | null;
  b: ShownCall | null;
}

/** The k-th value of one kind in A against the k-th in B. */
export interface SequenceDiff {
  /** How many values of this kind each run has. */
  a: number;
  b: number;
  /** Of the first min(a, b), how many differ. */
  differ: number;
  /** The first that differs (or the first one only one run has). */
  first?: { index: number; records: [number | null, number | null]; a: string | null; b: string | null };
}

export interface StreamDiff {
  bytes: [number, number];
  /** The first byte offset where the streams differ (one may be a prefix of the other). */
  offset: number;
  /** 1-based line of that byte. */
  line: number;
  /** The line from its start, each side, as JSON strings (up to ~120 bytes). */
  a: string;
  b: string;
  records: [number | null, number | null];
}

export interface EnvDiff {
  onlyA: string[];
  onlyB: string[];
  /** Names in both whose values differ. */
  changed: string[];
  /** The differing entries, when values are shown. */
  values?: { name: string; a: string | null; b: string | null }[];
}

export interface LogDiff {
  same: boolean;
  calls: [number, number];
  /** The two module digests, when they differ. */
  modules?: [string, string];
  first: FirstDifference | null;
  /** Record numbers below min(calls) whose records differ (walked in step). */
  differInStep: number;
  clock?: SequenceDiff;
  random?: SequenceDiff;
  /** fd_read/fd_pread outputs on fds other than 0. */
  reads?: SequenceDiff;
  stdin?: SequenceDiff;
  environment?: EnvDiff;
  args?: { a: string[]; b: string[] };
  stdout?: StreamDiff;
  stderr?: StreamDiff;
  exit?: { a: string; b: string };
  /** Call kinds whose counts differ. */
  counts?: { call: string; a: number; b: number }[];
}

const ID = (m: string) => CALL_BY_METHOD.get(m)!.id;
const CLOCK = ID('clockTimeGet');
const RANDOM = ID('randomGet');
const READ = ID('fdRead');
const PREAD = ID('fdPread');
const WRITE = ID('fdWrite');
const ENVIRON = ID('environ');
const ARGS = ID('args');

/** Where a record's body starts: after the call id, start and duration (never compared). */
function bodyOffset(p: Uint8Array): number {
  let i = 1;
  for (let v = 0; v < 2; v++) while (p[i++]! & 0x80);
  return i;
}

function sameBody(a: Uint8Array, b: Uint8Array): boolean {
  if (a[0] !== b[0]) return false;
  const oa = bodyOffset(a);
  const ob = bodyOffset(b);
  if (a.length - oa !== b.length - ob) return false;
  return Buffer.compare(a.subarray(oa), b.subarray(ob)) === 0;
}

function equalValue(x: unknown, y: unknown): boolean {
  if (x instanceof Uint8Array && y instanceof Uint8Array) return Buffer.compare(x, y) === 0;
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => equalValue(v, y[i]));
  if (x && y && typeof x === 'object' && typeof y === 'object') {
    const kx = Object.keys(x);
    return kx.length === Object.keys(y).length && kx.every((k) => equalValue((x as never)[k], (y as never)[k]));
  }
  return x === y;
}

/** Up to `max` bytes as `wtm trace` quotes them, `…` marking a cut. */
export function excerpt(bytes: Uint8Array, max = 60): string {
  return escapeBytes(bytes, max);
}

function hex(bytes: Uint8Array, max = 16): string {
  return Buffer.from(bytes.subarray(0, max)).toString('hex') + (bytes.length > max ? '…' : '');
}

function hideValues(list: string[]): string[] {
  return list.map((e) => (e.includes('=') ? `${e.slice(0, e.indexOf('='))}=…` : e));
}

/** Bytes shown of a buffer (written, read) in the first difference. */
const SHOW_WIDTH = 48;

function show(rec: DecodedCall, record: number, showEnv: boolean): ShownCall {
  const c = rec.call;
  if (c.id === ENVIRON && !showEnv && Array.isArray(rec.ret)) rec = { ...rec, ret: hideValues(rec.ret) };
  const outcome = formatOutcome(rec, { width: SHOW_WIDTH });
  return { record, call: c.wasi, text: `${c.wasi}(${formatArgs(rec, { width: SHOW_WIDTH })})`, result: outcome.replace(/^= /, '') };
}

function whatDiffers(a: DecodedCall, b: DecodedCall): FirstDifference['what'] {
  if (a.call !== b.call) return 'call';
  if (!equalValue(a.params, b.params)) return 'parameters';
  if (!equalValue(a.ret, b.ret)) return 'result';
  return 'outputs';
}

/** The k-th value of a kind against the k-th, fed one side at a time as the logs are walked. */
class Sequence {
  private readonly queue: [{ v: unknown; record: number; shown: string }[], { v: unknown; record: number; shown: string }[]] = [[], []];
  readonly n: [number, number] = [0, 0];
  differ = 0;
  first?: SequenceDiff['first'];

  constructor(private readonly equal: (x: unknown, y: unknown) => boolean) {}

  push(side: 0 | 1, v: unknown, record: number, shown: string): void {
    const index = this.n[side]++;
    const other = this.queue[1 - side]!;
    if (other.length === 0) {
      // Copied: it may outlive its batch's memory.
      this.queue[side]!.push({ v: v instanceof Uint8Array ? v.slice() : v, record, shown });
      return;
    }
    const o = other.shift()!;
    if (this.equal(v, o.v)) return;
    this.differ++;
    if (!this.first) {
      const mine = { record, shown };
      const [a, b] = side === 0 ? [mine, o] : [o, mine];
      this.first = { index, records: [a.record, b.record], a: a.shown, b: b.shown };
    }
  }

  result(): SequenceDiff | undefined {
    if (this.differ === 0 && this.n[0] === this.n[1]) return undefined;
    let first = this.first;
    if (!first) {
      // No value differs: one run has more. The first extra one.
      const side = this.n[0] > this.n[1] ? 0 : 1;
      const x = this.queue[side]![0]!;
      first = { index: Math.min(...this.n), records: side === 0 ? [x.record, null] : [null, x.record], a: side === 0 ? x.shown : null, b: side === 1 ? x.shown : null };
    }
    return { a: this.n[0], b: this.n[1], differ: this.differ, first };
  }
}

/** Two byte streams compared as they come, holding only what one side has that the other has not yet. */
class ByteStreams {
  readonly bytes: [number, number] = [0, 0];
  private readonly queue: [{ data: Uint8Array; record: number }[], { data: Uint8Array; record: number }[]] = [[], []];
  private matched = 0;
  private line = 1;
  /** The matched bytes of the current line (at most LINE_KEEP). */
  private lineSoFar: number[] = [];
  diff?: StreamDiff;

  push(side: 0 | 1, data: Uint8Array, record: number): void {
    this.bytes[side] += data.length;
    if (this.diff) return;
    const other = this.queue[1 - side]!;
    let at = 0;
    while (at < data.length && other.length) {
      const o = other[0]!;
      const n = Math.min(data.length - at, o.data.length);
      for (let i = 0; i < n; i++) {
        const x = data[at + i]!;
        if (x !== o.data[i]) {
          const mine = { rest: data.subarray(at + i), record };
          const theirs = { rest: o.data.subarray(i), record: o.record };
          const [a, b] = side === 0 ? [mine, theirs] : [theirs, mine];
          this.found(a.rest, b.rest, a.record, b.record);
          return;
        }
        this.see(x);
      }
      at += n;
      if (n === o.data.length) other.shift();
      else other[0] = { data: o.data.subarray(n), record: o.record };
    }
    if (at < data.length) this.queue[side]!.push({ data: data.slice(at), record }); // a copy: it may outlive its batch
  }

  private see(x: number): void {
    this.matched++;
    if (x === 0x0a) {
      this.line++;
      this.lineSoFar = [];
    } else if (this.lineSoFar.length < LINE_KEEP) {
      this.lineSoFar.push(x);
    }
  }

  private found(a: Uint8Array | null, b: Uint8Array | null, ra: number | null, rb: number | null): void {
    const lineOf = (rest: Uint8Array | null) => {
      if (!rest) return JSON.stringify(Buffer.from(this.lineSoFar).toString('utf8'));
      const nl = rest.indexOf(0x0a);
      const tail = rest.subarray(0, Math.min(nl < 0 ? rest.length : nl + 1, 60));
      return excerpt(Buffer.concat([Buffer.from(this.lineSoFar), tail]), LINE_KEEP + 60);
    };
    this.diff = { bytes: this.bytes, offset: this.matched, line: this.line, a: lineOf(a), b: lineOf(b), records: [ra, rb] };
  }

  result(): StreamDiff | undefined {
    if (this.diff) return { ...this.diff, bytes: [...this.bytes] };
    if (this.bytes[0] === this.bytes[1]) return undefined;
    // One is a prefix of the other: the difference starts where the shorter ends.
    const side = this.bytes[0] > this.bytes[1] ? 0 : 1;
    const x = this.queue[side]![0]!;
    this.found(side === 0 ? x.data : null, side === 1 ? x.data : null, side === 0 ? x.record : null, side === 1 ? x.record : null);
    return { ...this.diff!, bytes: [...this.bytes] };
  }
}
const LINE_KEEP = 60;

function envDiff(a: string[], b: string[], showEnv: boolean): EnvDiff | undefined {
  const map = (l: string[]) => new Map(l.map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, ''])));
  const ma = map(a);
  const mb = map(b);
  const onlyA = [...ma.keys()].filter((k) => !mb.has(k));
  const onlyB = [...mb.keys()].filter((k) => !ma.has(k));
  const changed = [...ma.keys()].filter((k) => mb.has(k) && mb.get(k) !== ma.get(k));
  if (!onlyA.length && !onlyB.length && !changed.length) return undefined;
  const d: EnvDiff = { onlyA, onlyB, changed };
  if (showEnv) d.values = [...onlyA, ...changed, ...onlyB].map((name) => ({ name, a: ma.get(name) ?? null, b: mb.get(name) ?? null }));
  return d;
}

/** Records one by one, awaiting only when a batch is used up (not once per record). */
class Cursor {
  private buf: readonly Uint8Array[] = [];
  private i = 0;
  private ended = false;
  private readonly it: AsyncIterator<Uint8Array | readonly Uint8Array[]>;

  constructor(src: DiffSide['records']) {
    this.it = (async function* () {
      yield* src as AsyncIterable<Uint8Array | readonly Uint8Array[]>;
    })();
  }

  /** The next record, or null at the end; a promise only when the next batch must be read. */
  next(): Uint8Array | null | Promise<Uint8Array | null> {
    if (this.i < this.buf.length) return this.buf[this.i++]!;
    if (this.ended) return null;
    return this.it.next().then((r) => {
      if (r.done) {
        this.ended = true;
        return null;
      }
      this.buf = r.value instanceof Uint8Array ? [r.value] : r.value;
      this.i = 0;
      return this.next();
    });
  }
}

/** Compares two recorded runs (see the top of this file). */
export async function diffLogs(a: DiffSide, b: DiffSide, opts: DiffOptions = {}): Promise<LogDiff> {
  const context = opts.context ?? 3;
  const showEnv = opts.showEnv ?? false;
  const ca = new Cursor(a.records);
  const cb = new Cursor(b.records);
  const recent: Uint8Array[] = [];
  let first: FirstDifference | null = null;
  let differInStep = 0;
  const n: [number, number] = [0, 0];
  const counts = [new Map<string, number>(), new Map<string, number>()];
  const clock = new Sequence((x, y) => x === y);
  const random = new Sequence(equalValue);
  const reads = new Sequence(equalValue);
  const stdin = new Sequence(equalValue);
  const out = { stdout: new ByteStreams(), stderr: new ByteStreams() };
  const env: (string[] | null)[] = [null, null];
  const args: (string[] | null)[] = [null, null];

  // Only the kinds the summary looks at are decoded; the rest is counted by call id.
  const idCounts = [new Float64Array(CALLS.length), new Float64Array(CALLS.length)];
  const take = (side: 0 | 1, p: Uint8Array, record: number) => {
    const id = p[0]! & ~INJECTED;
    idCounts[side]![id]!++;
    if (id !== CLOCK && id !== RANDOM && id !== READ && id !== PREAD && id !== WRITE && id !== ENVIRON && id !== ARGS) return;
    const rec = decodeRecord(p);
    const ok = rec.errno === 0;
    switch (id) {
      case CLOCK:
        clock.push(side, rec.ret, record, ok ? String(rec.ret) : errnoName(rec.errno));
        break;
      case RANDOM: {
        const bytes = ok ? rec.out as Uint8Array : new Uint8Array(0);
        random.push(side, ok ? bytes : rec.errno, record, ok ? hex(bytes) : errnoName(rec.errno));
        break;
      }
      case READ: case PREAD: {
        const fd = rec.params[0] as number;
        const bytes = ok ? rec.out as Uint8Array : null;
        const shown = bytes ? `fd ${fd}: ${excerpt(bytes)}` : `fd ${fd}: ${errnoName(rec.errno)}`;
        (fd === 0 ? stdin : reads).push(side, bytes ?? rec.errno, record, shown);
        break;
      }
      case WRITE: {
        const fd = rec.params[0] as number;
        if ((fd === 1 || fd === 2) && ok) forEachWritten(rec.params[1] as Uint8Array, rec.ret as number, (data) => out[fd === 1 ? 'stdout' : 'stderr'].push(side, data, record));
        break;
      }
      case ENVIRON:
        env[side] ??= rec.ret as string[];
        break;
      case ARGS:
        args[side] ??= rec.ret as string[];
        break;
    }
  };

  for (let i = 0; ; i++) {
    let pa = ca.next();
    if (pa instanceof Promise) pa = await pa;
    let pb = cb.next();
    if (pb instanceof Promise) pb = await pb;
    if (!pa && !pb) break;
    if (pa) { n[0]++; take(0, pa, i); }
    if (pb) { n[1]++; take(1, pb, i); }
    if (pa && pb) {
      if (sameBody(pa, pb)) {
        if (!first && context > 0) {
          // Kept as copies: a batch's records may share memory that is reused.
          recent.push(pa.slice());
          if (recent.length > context) recent.shift();
        }
        continue;
      }
      differInStep++;
    }
    if (!first && (pa || pb)) {
      const da = pa ? decodeRecord(pa) : null;
      const db = pb ? decodeRecord(pb) : null;
      first = {
        record: i,
        what: da && db ? whatDiffers(da, db) : da ? 'B ended' : 'A ended',
        before: recent.map((p, j) => show(decodeRecord(p), i - recent.length + j, showEnv)),
        a: da ? show(da, i, showEnv) : null,
        b: db ? show(db, i, showEnv) : null,
      };
    }
  }

  for (const side of [0, 1] as const) {
    idCounts[side]!.forEach((count, id) => {
      if (count) counts[side]!.set(CALLS[id]!.wasi, count);
    });
  }
  const result: LogDiff = { same: true, calls: n, first, differInStep };
  const ma = a.process?.moduleDigest;
  const mb = b.process?.moduleDigest;
  if (ma && mb && ma !== mb) result.modules = [ma, mb];
  const set = <K extends keyof LogDiff>(k: K, v: LogDiff[K] | undefined) => {
    if (v !== undefined) result[k] = v;
  };
  set('clock', clock.result());
  set('random', random.result());
  set('reads', reads.result());
  set('stdin', stdin.result());
  set('environment', envDiff(env[0] ?? [], env[1] ?? [], showEnv));
  if (!equalValue(args[0] ?? [], args[1] ?? [])) result.args = { a: args[0] ?? [], b: args[1] ?? [] };
  set('stdout', out.stdout.result());
  set('stderr', out.stderr.result());
  const exitOf = (p: DiffSide['process']) => (p?.state === undefined ? undefined : `${p.state}${p.exitCode === undefined ? '' : ` ${p.exitCode}`}`);
  const ea = exitOf(a.process);
  const eb = exitOf(b.process);
  if (ea !== undefined && eb !== undefined && ea !== eb) result.exit = { a: ea, b: eb };
  const names = [...new Set([...counts[0]!.keys(), ...counts[1]!.keys()])].sort();
  const countDiffs = names.map((call) => ({ call, a: counts[0]!.get(call) ?? 0, b: counts[1]!.get(call) ?? 0 })).filter((c) => c.a !== c.b);
  if (countDiffs.length) result.counts = countDiffs;
  result.same = first === null && !result.modules && !result.exit;
  return result;
}

export type { CallSpec };
