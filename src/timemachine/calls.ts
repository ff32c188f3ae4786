import { Errno, type Dirent, type Event, type Fdstat, type Filestat, type Out, type Subscription, type System, type TaskHost } from '../system/index.js';
import { utf8Length, type RecordReader, type RecordWriter } from './codec.js';

/**
 * Every call of the System interface, described once: its id in the log, its parameters
 * (named as in the System interface), what it returns, and what it hands back besides its
 * return value (its named output). The recorder's encoding, the replayer's matching and
 * outputs, and the views' decoding are all driven by this table and its one output codec
 * (OUTPUTS below); calls.test.ts checks the table against the System interface and the ABI.
 */

/** Parameter kinds. */
export type ParamKind =
  | 'int'      // a small integer (fd, flags, ids): zigzag varint
  | 'num'      // a number that may be large or not an integer (offsets, sizes): tagged
  | 'big'      // a u64 BigInt (timestamps)
  | 'str'      // a string (paths)
  | 'data'     // buffers the call reads from guest memory (fd_write): their bytes
  | 'sizes'    // buffers the call fills (fd_read): their total size
  | 'subs';    // poll subscriptions

/** What a call hands back besides its return value (written only when it succeeded). */
export type OutKind =
  | 'none'
  | 'filled'   // bytes read into the 'sizes' buffers: `ret` bytes
  | 'random'   // the whole 'sizes' buffer (random_get)
  | 'filestat' | 'fdstat' | 'string' | 'dirents' | 'events' | 'recv'
  | 'result';  // a task result: the JSON text, recorded whether delivered or NOBUFS

/**
 * What the return value is:
 * - `errno`: an errno, 0 = SUCCESS;
 * - `size`, `fd`, `offset`, `ns`, `handle`: that value (>= 0), or -errno;
 * - `strings`: the list itself (args, environ), never an error;
 * - `exit`: the call does not return (proc_exit): it is recorded, flushed, then unwinds.
 */
export type ResultKind = 'errno' | 'size' | 'fd' | 'offset' | 'ns' | 'handle' | 'strings' | 'exit';

export interface CallSpec {
  id: number;
  /** The System (or TaskHost) method. */
  method: keyof System | keyof TaskHost;
  /** The wasi_snapshot_preview1 name (`wtm.` for the task module), for views. */
  wasi: string;
  /** Named as the System method's parameters, in its order (the out object excluded). */
  params: readonly (readonly [string, ParamKind])[];
  result: ResultKind;
  /** The output's kind and name (`none` and '' when the call has none). */
  out: OutKind;
  outName: string;
  /** The index of the 'data' or 'sizes' parameter (the guest buffers), or -1. */
  buffers: number;
}

type P = readonly [string, ParamKind];
type O = readonly [string, OutKind];
const fd: P = ['fd', 'int'];
const path: P = ['path', 'str'];
const NONE: O = ['', 'none'];
const spec = (method: keyof System | keyof TaskHost, wasi: string, params: P[], out: O = NONE, result: ResultKind = 'errno') =>
  ({ method, wasi, params, out, result });

const table = [
  spec('args', 'args_get', [], NONE, 'strings'),
  spec('environ', 'environ_get', [], NONE, 'strings'),
  spec('clockResGet', 'clock_res_get', [['id', 'int']], NONE, 'ns'),
  spec('clockTimeGet', 'clock_time_get', [['id', 'int'], ['precision', 'num']], NONE, 'ns'),
  spec('fdAdvise', 'fd_advise', [fd, ['offset', 'num'], ['len', 'num'], ['advice', 'int']]),
  spec('fdAllocate', 'fd_allocate', [fd, ['offset', 'num'], ['len', 'num']]),
  spec('fdClose', 'fd_close', [fd]),
  spec('fdDatasync', 'fd_datasync', [fd]),
  spec('fdFdstatGet', 'fd_fdstat_get', [fd], ['stat', 'fdstat']),
  spec('fdFdstatSetFlags', 'fd_fdstat_set_flags', [fd, ['flags', 'int']]),
  spec('fdFdstatSetRights', 'fd_fdstat_set_rights', [fd, ['rightsBase', 'int'], ['rightsInheriting', 'int']]),
  spec('fdFilestatGet', 'fd_filestat_get', [fd], ['stat', 'filestat']),
  spec('fdFilestatSetSize', 'fd_filestat_set_size', [fd, ['size', 'num']]),
  spec('fdFilestatSetTimes', 'fd_filestat_set_times', [fd, ['atim', 'big'], ['mtim', 'big'], ['fstflags', 'int']]),
  spec('fdPread', 'fd_pread', [fd, ['iovs', 'sizes'], ['offset', 'num']], ['data', 'filled'], 'size'),
  spec('fdPrestatGet', 'fd_prestat_get', [fd], ['name', 'string']),
  spec('fdPwrite', 'fd_pwrite', [fd, ['iovs', 'data'], ['offset', 'num']], NONE, 'size'),
  spec('fdRead', 'fd_read', [fd, ['iovs', 'sizes']], ['data', 'filled'], 'size'),
  spec('fdReaddir', 'fd_readdir', [fd, ['cookie', 'num'], ['bufLen', 'int']], ['entries', 'dirents']),
  spec('fdRenumber', 'fd_renumber', [['from', 'int'], ['to', 'int']]),
  spec('fdSeek', 'fd_seek', [fd, ['offset', 'num'], ['whence', 'int']], NONE, 'offset'),
  spec('fdSync', 'fd_sync', [fd]),
  spec('fdTell', 'fd_tell', [fd], NONE, 'offset'),
  spec('fdWrite', 'fd_write', [fd, ['iovs', 'data']], NONE, 'size'),
  spec('pathCreateDirectory', 'path_create_directory', [fd, path]),
  spec('pathFilestatGet', 'path_filestat_get', [fd, ['lookupFlags', 'int'], path], ['stat', 'filestat']),
  spec('pathFilestatSetTimes', 'path_filestat_set_times', [fd, ['lookupFlags', 'int'], path, ['atim', 'big'], ['mtim', 'big'], ['fstflags', 'int']]),
  spec('pathLink', 'path_link', [['oldFd', 'int'], ['oldLookupFlags', 'int'], ['oldPath', 'str'], ['newFd', 'int'], ['newPath', 'str']]),
  spec('pathOpen', 'path_open', [fd, ['lookupFlags', 'int'], path, ['oflags', 'int'], ['rightsBase', 'int'], ['rightsInheriting', 'int'], ['fdflags', 'int']], NONE, 'fd'),
  spec('pathReadlink', 'path_readlink', [fd, path], ['target', 'string']),
  spec('pathRemoveDirectory', 'path_remove_directory', [fd, path]),
  spec('pathRename', 'path_rename', [fd, ['oldPath', 'str'], ['newFd', 'int'], ['newPath', 'str']]),
  spec('pathSymlink', 'path_symlink', [['target', 'str'], fd, path]),
  spec('pathUnlinkFile', 'path_unlink_file', [fd, path]),
  spec('pollOneoff', 'poll_oneoff', [['subscriptions', 'subs']], ['events', 'events'], 'size'),
  spec('procExit', 'proc_exit', [['code', 'int']], NONE, 'exit'),
  spec('procRaise', 'proc_raise', [['signal', 'int']]),
  spec('randomGet', 'random_get', [['buf', 'sizes']], ['bytes', 'random']),
  spec('schedYield', 'sched_yield', []),
  spec('sockAccept', 'sock_accept', [fd, ['flags', 'int']], NONE, 'fd'),
  spec('sockRecv', 'sock_recv', [fd, ['iovs', 'sizes'], ['riFlags', 'int']], ['data', 'recv'], 'size'),
  spec('sockSend', 'sock_send', [fd, ['iovs', 'data'], ['siFlags', 'int']], NONE, 'size'),
  spec('sockShutdown', 'sock_shutdown', [fd, ['how', 'int']]),
  // The `wtm` extension (TaskHost): task results are recorded, so replay starts no task.
  spec('taskSubmit', 'wtm.task_submit', [['spec', 'str']], NONE, 'handle'),
  spec('taskWait', 'wtm.task_wait', [['id', 'int'], ['bufLen', 'int']], ['result', 'result']),
  spec('taskPoll', 'wtm.task_poll', [['bufLen', 'int']], ['result', 'result']),
  spec('taskCancel', 'wtm.task_cancel', [['id', 'int']]),
] as const;

export const CALLS: readonly CallSpec[] = table.map((s, id) => ({
  id, method: s.method, wasi: s.wasi, params: s.params, result: s.result, outName: s.out[0], out: s.out[1],
  buffers: s.params.findIndex(([, k]) => k === 'data' || k === 'sizes'),
}));
/**
 * Set on a record's call id (its first byte) when the call's result was injected by fault
 * injection (`--chaos`, system/chaos.ts) rather than given by the system. Ids stay below 0x80,
 * so logs written before it read the same (docs/log-format.md).
 */
export const INJECTED = 0x80;
export const CALL_BY_METHOD = new Map<string, CallSpec>(CALLS.map((c) => [c.method, c]));
export const CALL_BY_WASI = new Map<string, CallSpec>(CALLS.map((c) => [c.wasi, c]));

/** The out object a call takes (its last argument), if any. */
export function takesOut(c: CallSpec): boolean {
  return c.out !== 'none' && c.out !== 'filled' && c.out !== 'random';
}

/** The errno a call's return value carries: 0 when it succeeded, whatever its convention. */
export function errnoOf(c: CallSpec, ret: number | readonly string[]): number {
  if (typeof ret !== 'number') return 0;
  if (c.result === 'errno') return ret;
  if (c.result === 'exit') return 0;
  return ret < 0 ? -ret : 0;
}

/** Did the call succeed, so that its outputs were recorded? */
export function succeeded(c: CallSpec, ret: number): boolean {
  // A task result too big for the buffer (NOBUFS) still carries the result text.
  if (c.out === 'result') return ret === 0 || ret === Errno.NOBUFS;
  return errnoOf(c, ret) === 0;
}

/** 'stdout' or 'stderr' when the call is a write to fd 1 or 2 (what `logs` and replay reproduce). */
export function stdioStream(c: CallSpec, fdArg: unknown): 'stdout' | 'stderr' | undefined {
  if (c.method !== 'fdWrite') return undefined;
  return fdArg === 1 ? 'stdout' : fdArg === 2 ? 'stderr' : undefined;
}

/** The first `n` bytes of `bufs`, in order, each as a view (no copy); empty buffers skipped. */
export function forEachWritten(bufs: Uint8Array | readonly Uint8Array[], n: number, each: (chunk: Uint8Array) => void): void {
  if (bufs instanceof Uint8Array) {
    if (n > 0) each(n >= bufs.byteLength ? bufs : bufs.subarray(0, n));
    return;
  }
  let left = n;
  for (let i = 0; i < bufs.length && left > 0; i++) {
    const b = bufs[i]!;
    if (b.byteLength === 0) continue;
    const take = Math.min(left, b.byteLength);
    each(take === b.byteLength ? b : b.subarray(0, take));
    left -= take;
  }
}

// ---- encoding of parameters -------------------------------------------------------------

export function writeNum(w: RecordWriter, v: number): void {
  if (Number.isSafeInteger(v)) {
    w.u8(0);
    w.svarint(v);
  } else {
    w.u8(1);
    w.f64(v);
  }
}
export function readNum(r: RecordReader): number {
  return r.u8() === 0 ? r.svarint() : r.f64();
}

function totalLength(bufs: readonly Uint8Array[]): number {
  let n = 0;
  for (const b of bufs) n += b.byteLength;
  return n;
}

export function writeParam(w: RecordWriter, kind: ParamKind, v: unknown): void {
  switch (kind) {
    case 'int': w.svarint(v as number); return;
    case 'num': writeNum(w, v as number); return;
    case 'big': w.u64(v as bigint); return;
    case 'str': w.string(v as string); return;
    case 'data': {
      const bufs = v as Uint8Array[];
      w.uvarint(totalLength(bufs));
      for (const b of bufs) w.raw(b);
      return;
    }
    case 'sizes':
      w.uvarint(v instanceof Uint8Array ? v.byteLength : totalLength(v as Uint8Array[]));
      return;
    case 'subs': {
      const subs = v as readonly Subscription[];
      w.uvarint(subs.length);
      for (const s of subs) {
        w.u64(s.userdata); w.u8(s.type); w.svarint(s.clockId); writeNum(w, s.timeout);
        writeNum(w, s.precision); w.svarint(s.flags); w.svarint(s.fd);
      }
      return;
    }
  }
}

/**
 * Reads a parameter back in a form fit for display (views) and comparison: 'data' as its
 * bytes (one view), 'sizes' as the total size, 'subs' as Subscription objects.
 */
export function readParam(r: RecordReader, kind: ParamKind): unknown {
  switch (kind) {
    case 'int': return r.svarint();
    case 'num': return readNum(r);
    case 'big': return r.u64();
    case 'str': return r.string();
    case 'data': return r.bytes(); // written as a length, then the bytes: the same layout
    case 'sizes': return r.uvarint();
    case 'subs': {
      const n = r.uvarint();
      const subs: Subscription[] = [];
      for (let i = 0; i < n; i++) {
        subs.push({ userdata: r.u64(), type: r.u8(), clockId: r.svarint(), timeout: readNum(r), precision: readNum(r), flags: r.svarint(), fd: r.svarint() });
      }
      return subs;
    }
  }
}

// ---- the one output codec ---------------------------------------------------------------

/**
 * How one kind of output is kept: `write` (recorder) takes it from the live call's arguments,
 * `apply` (replayer) puts the recorded output where the guest's call expects it, `decode`
 * (views) reads it as a plain value. `args` are the call's arguments (the out object last);
 * `params` are the decoded parameters of a record (readParam). Written only on success.
 */
interface OutputCodec {
  write(w: RecordWriter, c: CallSpec, args: ArrayLike<unknown>, ret: number): void;
  apply(r: RecordReader, c: CallSpec, args: ArrayLike<unknown>, ret: number): void;
  decode(r: RecordReader, c: CallSpec, params: readonly unknown[], ret: number): unknown;
}

const outArg = <T>(c: CallSpec, args: ArrayLike<unknown>): T => args[c.params.length] as T;

const filled: OutputCodec = {
  write: (w, c, args, ret) => forEachWritten(args[c.buffers] as Uint8Array[], ret, (b) => w.raw(b)),
  apply: (r, c, args, ret) => forEachWritten(args[c.buffers] as Uint8Array[], ret, (b) => b.set(r.raw(b.byteLength))),
  decode: (r, _c, _p, ret) => r.raw(ret),
};

const OUTPUTS: Record<OutKind, OutputCodec> = {
  none: { write() {}, apply() {}, decode: () => undefined },
  filled,
  recv: {
    write: (w, c, args, ret) => { filled.write(w, c, args, ret); w.uvarint(outArg<Out<number>>(c, args).value); },
    apply: (r, c, args, ret) => { filled.apply(r, c, args, ret); outArg<Out<number>>(c, args).value = r.uvarint(); },
    decode: (r, c, p, ret) => ({ data: filled.decode(r, c, p, ret), roflags: r.uvarint() }),
  },
  random: {
    write: (w, c, args) => w.raw(args[c.buffers] as Uint8Array),
    apply: (r, c, args) => { const b = args[c.buffers] as Uint8Array; b.set(r.raw(b.byteLength)); },
    decode: (r, c, p) => r.raw(p[c.buffers] as number),
  },
  filestat: {
    write: (w, c, args) => writeFilestat(w, outArg<Filestat>(c, args)),
    apply: (r, c, args) => readFilestat(r, outArg<Filestat>(c, args)),
    decode: (r) => { const s = {} as Filestat; readFilestat(r, s); return s; },
  },
  fdstat: {
    write: (w, c, args) => writeFdstat(w, outArg<Fdstat>(c, args)),
    apply: (r, c, args) => readFdstat(r, outArg<Fdstat>(c, args)),
    decode: (r) => { const s = {} as Fdstat; readFdstat(r, s); return s; },
  },
  string: {
    write: (w, c, args) => w.string(outArg<Out<string>>(c, args).value),
    apply: (r, c, args) => { outArg<Out<string>>(c, args).value = r.string(); },
    decode: (r) => r.string(),
  },
  dirents: {
    write: (w, c, args) => writeDirents(w, outArg<Out<readonly Dirent[]>>(c, args).value, args[2] as number),
    apply: (r, c, args) => { outArg<Out<readonly Dirent[]>>(c, args).value = readDirents(r); },
    decode: (r) => readDirents(r),
  },
  events: {
    write: (w, c, args, ret) => writeEvents(w, outArg<Event[]>(c, args), ret),
    apply: (r, c, args, ret) => readEvents(r, ret, outArg<Event[]>(c, args)),
    decode: (r, _c, _p, ret) => { const list: Event[] = []; readEvents(r, ret, list); return list; },
  },
  result: {
    write: (w, c, args) => w.string(outArg<Out<string>>(c, args).value),
    apply: (r, c, args) => { outArg<Out<string>>(c, args).value = r.string(); },
    decode: (r) => r.string(),
  },
};

/**
 * Writes a call's result: the strings of args/environ, or the return value and, when the call
 * succeeded, its output.
 */
export function writeResult(w: RecordWriter, c: CallSpec, args: ArrayLike<unknown>, ret: unknown): void {
  if (c.result === 'strings') {
    const list = ret as readonly string[];
    w.uvarint(list.length);
    for (const s of list) w.string(s);
    return;
  }
  const n = ret as number;
  writeNum(w, n);
  if (c.out !== 'none' && succeeded(c, n)) OUTPUTS[c.out].write(w, c, args, n);
}

/** Reads a call's result as writeResult wrote it: a number, or the strings of args/environ. */
export function readResult(r: RecordReader, c: CallSpec): number | string[] {
  if (c.result !== 'strings') return readNum(r);
  const n = r.uvarint();
  const list: string[] = [];
  for (let i = 0; i < n; i++) list.push(r.string());
  return list;
}

/** Replay: puts a successful call's recorded output where the guest's call expects it. */
export function applyOutput(r: RecordReader, c: CallSpec, args: ArrayLike<unknown>, ret: number): void {
  if (c.out !== 'none' && succeeded(c, ret)) OUTPUTS[c.out].apply(r, c, args, ret);
}

/** Views: a call's recorded output as a plain value (undefined when it has none or failed). */
export function decodeOutput(r: RecordReader, c: CallSpec, params: readonly unknown[], ret: number | string[]): unknown {
  if (typeof ret !== 'number' || c.out === 'none' || !succeeded(c, ret)) return undefined;
  return OUTPUTS[c.out].decode(r, c, params, ret);
}

// ---- struct encodings -------------------------------------------------------------------

function writeFilestat(w: RecordWriter, s: Filestat): void {
  w.u64(s.dev); w.u64(s.ino); w.u8(s.filetype); w.u64(s.nlink); w.u64(s.size);
  w.u64(s.atim); w.u64(s.mtim); w.u64(s.ctim);
}
function readFilestat(r: RecordReader, s: Filestat): void {
  s.dev = r.u64(); s.ino = r.u64(); s.filetype = r.u8(); s.nlink = r.u64(); s.size = r.u64();
  s.atim = r.u64(); s.mtim = r.u64(); s.ctim = r.u64();
}
function writeFdstat(w: RecordWriter, s: Fdstat): void {
  w.u8(s.filetype); w.uvarint(s.flags); w.uvarint(s.rightsBase); w.uvarint(s.rightsInheriting);
}
function readFdstat(r: RecordReader, s: Fdstat): void {
  s.filetype = r.u8(); s.flags = r.uvarint(); s.rightsBase = r.uvarint(); s.rightsInheriting = r.uvarint();
}

/** Dirents as the ABI will encode them: entries from `cookie` on that fit in `bufLen`. */
function writeDirents(w: RecordWriter, list: readonly Dirent[], bufLen: number): void {
  let used = 0;
  let n = 0;
  while (n < list.length && used < bufLen) {
    used += 24 + utf8Length(list[n]!.name);
    n++;
  }
  w.uvarint(n);
  for (let i = 0; i < n; i++) {
    const d = list[i]!;
    w.uvarint(d.next); w.u64(d.ino); w.u8(d.type); w.string(d.name);
  }
}
function readDirents(r: RecordReader): Dirent[] {
  const n = r.uvarint();
  const list: Dirent[] = [];
  for (let i = 0; i < n; i++) list.push({ next: r.uvarint(), ino: r.u64(), type: r.u8(), name: r.string() });
  return list;
}

function writeEvents(w: RecordWriter, events: readonly Event[], n: number): void {
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    w.u64(e.userdata); w.uvarint(e.error); w.u8(e.type); writeNum(w, e.nbytes); w.uvarint(e.flags);
  }
}
function readEvents(r: RecordReader, n: number, out: Event[]): void {
  out.length = 0;
  for (let i = 0; i < n; i++) out.push({ userdata: r.u64(), error: r.uvarint(), type: r.u8(), nbytes: readNum(r), flags: r.uvarint() });
}

export type { Out };
