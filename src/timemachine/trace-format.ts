import {
  Advice, ALL_RIGHTS, Clockid, DIR_RIGHTS, errnoName, EventType, FdFlags, FILE_RIGHTS, Filetype, FstFlags, LookupFlags,
  OFlags, RiFlags, Rights, SdFlags, STDIO_RIGHTS, SubclockFlags, Whence,
  type Dirent, type Event, type Fdstat, type Filestat, type Subscription,
} from '../system/index.js';
import type { CallSpec } from './calls.js';
import type { DecodedCall } from './describe.js';

/**
 * One recorded call as a trace line, strace-like, decoded from the call table only:
 *
 *     12.345 ms  #17 path_open(fd=3, lookupFlags=SYMLINK_FOLLOW, path="out/a.txt", oflags=CREAT|TRUNC, …) = 5  <8 µs>
 *
 * Flags, rights, whence and clock ids by name; paths quoted; buffers as escaped strings cut
 * at `width` bytes; the result, its errno name, and the call's output (bytes read, a stat, a
 * directory listing). `wtm trace`, `wtm run -T` and `wtm replay -T` all print through here.
 */
export interface TraceFormat {
  /** Bytes of a buffer shown before it is cut (`…`); 0: no limit. Default 32. */
  width?: number;
  /** Show every right by name instead of short forms (ALL, FILE, DIR, STDIO, ALL&~(…), hex). */
  allRights?: boolean;
}

const DEFAULT_WIDTH = 32;

type Names = Readonly<Record<string, number>>;

const entryCache = new WeakMap<Names, [string, number][]>();
function entries(names: Names): [string, number][] {
  let e = entryCache.get(names);
  if (e === undefined) entryCache.set(names, (e = Object.entries(names)));
  return e;
}

/** `CREAT|TRUNC`, `0`, or `CREAT|0x40` for bits without a name. */
export function flagNames(names: Names, v: number): string {
  if (v === 0) return '0';
  const parts: string[] = [];
  let left = v;
  for (const [k, bit] of entries(names)) {
    if (bit !== 0 && (v & bit) === bit) {
      parts.push(k);
      left &= ~bit;
    }
  }
  if (left !== 0) parts.push(`0x${(left >>> 0).toString(16)}`);
  return parts.join('|');
}

/** `MONOTONIC`, or the number when it has no name. */
export function enumName(names: Names, v: number): string {
  for (const [k, n] of entries(names)) if (n === v) return k;
  return String(v);
}

function bitCount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x !== 0; x &= x - 1) n++;
  return n;
}

/** Rights, short: `ALL`, `FILE`, `FD_READ|FD_SEEK`, `ALL&~(SOCK_SHUTDOWN|SOCK_ACCEPT)`, or hex. */
function rightsName(v: number, all: boolean): string {
  if (all) return flagNames(Rights, v);
  if (v === ALL_RIGHTS) return 'ALL';
  if (v === FILE_RIGHTS) return 'FILE';
  if (v === DIR_RIGHTS) return 'DIR';
  if (v === STDIO_RIGHTS) return 'STDIO';
  if (bitCount(v) <= 6 || (v & ~ALL_RIGHTS) !== 0) return flagNames(Rights, v);
  const missing = ALL_RIGHTS & ~v;
  if (bitCount(missing) <= 6) return `ALL&~(${flagNames(Rights, missing)})`;
  return `0x${(v >>> 0).toString(16)}`;
}

/** Bytes as a quoted string with C escapes, cut at `width` bytes. */
export function escapeBytes(b: Uint8Array, width = DEFAULT_WIDTH): string {
  const n = width > 0 ? Math.min(b.byteLength, width) : b.byteLength;
  let s = '"';
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 0x22) s += '\\"';
    else if (c === 0x5c) s += '\\\\';
    else if (c === 0x0a) s += '\\n';
    else if (c === 0x0d) s += '\\r';
    else if (c === 0x09) s += '\\t';
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += '\\x' + (c < 16 ? '0' : '') + c.toString(16);
  }
  s += '"';
  return n < b.byteLength ? `${s}…` : s;
}

/** How a parameter reads, by its name in the table (the System interface's names). */
function paramText(c: CallSpec, name: string, kind: string, v: unknown, o: TraceFormat): string {
  switch (kind) {
    case 'str': return JSON.stringify(v);
    case 'data': return escapeBytes(v as Uint8Array, o.width ?? DEFAULT_WIDTH);
    case 'sizes': return String(v); // the room given; what was filled is in the result
    case 'big': return String(v);
    case 'subs': return `[${(v as Subscription[]).map(subText).join(', ')}]`;
    default: break;
  }
  const n = v as number;
  switch (name) {
    case 'oflags': return flagNames(OFlags, n);
    case 'fdflags': return flagNames(FdFlags, n);
    case 'lookupFlags': case 'oldLookupFlags': return flagNames(LookupFlags, n);
    case 'rightsBase': case 'rightsInheriting': return rightsName(n, o.allRights === true);
    case 'whence': return enumName(Whence, n);
    case 'advice': return enumName(Advice, n);
    case 'fstflags': return flagNames(FstFlags, n);
    case 'riFlags': return flagNames(RiFlags, n);
    case 'how': return flagNames(SdFlags, n);
    case 'flags': return c.method === 'fdFdstatSetFlags' ? flagNames(FdFlags, n) : String(n);
    case 'id': return c.method === 'clockTimeGet' || c.method === 'clockResGet' ? enumName(Clockid, n) : String(n);
    default: return String(n);
  }
}

function subText(s: Subscription): string {
  if (s.type === EventType.CLOCK) {
    const abs = (s.flags & SubclockFlags.ABSTIME) !== 0;
    return `clock(${enumName(Clockid, s.clockId)}, ${abs ? 'at ' : ''}${formatNs(s.timeout)})`;
  }
  return `${s.type === EventType.FD_READ ? 'fd_read' : 'fd_write'}(${s.fd})`;
}

/** `fd=3, path="a", oflags=CREAT`: the parameters, each by name. */
export function formatArgs(rec: DecodedCall, o: TraceFormat = {}): string {
  const c = rec.call;
  let s = '';
  for (let i = 0; i < c.params.length; i++) {
    const [name, kind] = c.params[i]!;
    if (i > 0) s += ', ';
    s += `${name}=${paramText(c, name, kind, rec.params[i], o)}`;
  }
  return s;
}

function filestatText(s: Filestat): string {
  return `{${enumName(Filetype, s.filetype)}, size=${s.size}, ino=${s.ino}, nlink=${s.nlink}, mtim=${s.mtim}}`;
}
function fdstatText(s: Fdstat): string {
  return `{${enumName(Filetype, s.filetype)}, flags=${flagNames(FdFlags, s.flags)}, rights=${rightsName(s.rightsBase, false)}}`;
}
function direntsText(list: readonly Dirent[], width: number): string {
  const shown = width > 0 ? list.slice(0, Math.max(1, Math.floor(width / 4))) : list;
  const names = shown.map((d) => JSON.stringify(d.name)).join(', ');
  return `[${names}${shown.length < list.length ? ', …' : ''}] (${list.length} entries)`;
}
function eventsText(list: readonly Event[]): string {
  return `[${list.map((e) => `${enumName(EventType, e.type)}(userdata=${e.userdata}${e.error ? `, ${errnoName(e.error)}` : ''})`).join(', ')}]`;
}

/** The call's output as it reads after the result: bytes read, a stat, names. */
export function formatOutput(rec: DecodedCall, o: TraceFormat = {}): string {
  const v = rec.out;
  if (v === undefined) return '';
  const width = o.width ?? DEFAULT_WIDTH;
  switch (rec.call.out) {
    case 'filled': return escapeBytes(v as Uint8Array, width);
    case 'recv': return escapeBytes((v as { data: Uint8Array }).data, width);
    case 'random': {
      const b = v as Uint8Array;
      const n = width > 0 ? Math.min(b.byteLength, width) : b.byteLength;
      return `<${Buffer.from(b.subarray(0, n)).toString('hex')}${n < b.byteLength ? '…' : ''}>`;
    }
    case 'filestat': return filestatText(v as Filestat);
    case 'fdstat': return fdstatText(v as Fdstat);
    case 'string': return JSON.stringify(v);
    case 'result': {
      const s = v as string;
      return width > 0 && s.length > width * 4 ? `${JSON.stringify(s.slice(0, width * 4))}…` : JSON.stringify(s);
    }
    case 'dirents': return direntsText(v as Dirent[], width);
    case 'events': return eventsText(v as Event[]);
    default: return '';
  }
}

/** `= 5`, `= NOENT`, `= 0 {REGULAR_FILE, size=12…}`, `= ["prog", "x"]`. */
export function formatOutcome(rec: DecodedCall, o: TraceFormat = {}): string {
  if (typeof rec.ret !== 'number') return `= ${JSON.stringify(rec.ret)}`;
  if (rec.call.result === 'exit') return '';
  const head = rec.errno !== 0 ? `= ${errnoName(rec.errno)}` : `= ${rec.ret}`;
  const out = formatOutput(rec, o);
  // A result fault injection gave (--chaos), not the system.
  const mark = rec.injected ? ' [injected]' : '';
  return out ? `${head}${mark} ${out}` : head + mark;
}

/** Three significant digits, without toPrecision (slow, and it may answer in exponent form). */
function sig3(x: number): number {
  return x < 10 ? Math.round(x * 100) / 100 : x < 100 ? Math.round(x * 10) / 10 : Math.round(x);
}

/** A duration in ns as it reads: `830 ns`, `12.3 µs`, `3.41 ms`, `2.1 s`. */
export function formatNs(ns: number): string {
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 999.5e3) return `${sig3(ns / 1e3)} µs`;
  if (ns < 999.5e6) return `${sig3(ns / 1e6)} ms`;
  return `${Math.round(ns / 1e6) / 1e3} s`;
}

/** Time since start, fixed width: `    12.345 ms`. */
function stamp(ns: number): string {
  return `${(ns / 1e6).toFixed(3).padStart(10)} ms`;
}

/**
 * One trace line: time since the process started, record number, the call with its arguments,
 * its outcome and its duration. `process` (a process id) prefixes the line when given; `atNs`
 * replaces the time (a process tree's lines are timed from the first process's start).
 */
export function formatTraceLine(rec: DecodedCall, index: number, o: TraceFormat & { process?: string; atNs?: number } = {}): string {
  const who = o.process !== undefined ? `${o.process} ` : '';
  const outcome = formatOutcome(rec, o);
  return `${who}${stamp(o.atNs ?? rec.start)}  #${index} ${rec.call.wasi}(${formatArgs(rec, o)})${outcome ? ' ' + outcome : ''}  <${formatNs(rec.duration)}>`;
}

/** JSON-safe values: bigints as numbers when exact (else strings), bytes as escaped text. */
function jsonValue(v: unknown, width: number): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) {
    const n = width > 0 ? Math.min(v.byteLength, width) : v.byteLength;
    let text = '';
    if (n <= 64) for (let i = 0; i < n; i++) text += String.fromCharCode(v[i]!);
    else text = Buffer.from(v.buffer, v.byteOffset, n).toString('latin1');
    return n < v.byteLength ? { bytes: v.byteLength, text, cut: true } : { bytes: v.byteLength, text };
  }
  if (Array.isArray(v)) return v.map((x) => jsonValue(x, width));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = jsonValue(x, width);
    return o;
  }
  return v;
}

/**
 * One call as a JSON object (a line of `trace -o json`): record number, times in ns, call,
 * named arguments (numbers as numbers, flags also by name under `names`), result, errno name,
 * the named output.
 */
export function traceJson(rec: DecodedCall, index: number, o: TraceFormat & { process?: string } = {}): Record<string, unknown> {
  const width = o.width ?? DEFAULT_WIDTH;
  const c = rec.call;
  const args: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  c.params.forEach(([name, kind], i) => {
    const v = rec.params[i];
    args[name] = jsonValue(v, width);
    if (kind === 'int') {
      const text = paramText(c, name, kind, v, o);
      if (text !== String(v)) names[name] = text;
    }
  });
  const j: Record<string, unknown> = {};
  if (o.process !== undefined) j.process = o.process;
  j.index = index;
  j.start_ns = rec.start;
  j.duration_ns = rec.duration;
  j.call = c.wasi;
  j.args = args;
  if (Object.keys(names).length > 0) j.names = names;
  j.result = rec.ret;
  if (rec.errno !== 0) j.errno = errnoName(rec.errno);
  if (rec.injected) j.injected = true;
  if (rec.out !== undefined) j[c.outName] = jsonValue(rec.out, width);
  return j;
}
