import type { Dirent, Event, Fdstat, Filestat, Out, Subscription, System, TaskHost } from '../system/index.js';
import type { RecordReader, RecordWriter } from './codec.js';

/**
 * Every call of the System interface, described once: its id in the log, its parameters and
 * what it hands back besides its return value. The recorder's encoding, the replayer's
 * matching and the views' decoding are all driven by this table.
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
  | 'random'   // the whole buffer (random_get)
  | 'filestat' | 'fdstat' | 'string' | 'strings' | 'dirents' | 'events' | 'recv'
  | 'result';  // a task result: the JSON text, recorded whether delivered or NOBUFS

export interface CallSpec {
  id: number;
  /** The System (or TaskHost) method. */
  method: keyof System | keyof TaskHost;
  /** The wasi_snapshot_preview1 name, for views. */
  wasi: string;
  params: readonly (readonly [string, ParamKind])[];
  out: OutKind;
  /** The return value is an errno (0 = success) rather than a count/fd/offset or -errno. */
  errnoResult: boolean;
}

type P = readonly [string, ParamKind];
const fd: P = ['fd', 'int'];
const path: P = ['path', 'str'];
const spec = (method: keyof System | keyof TaskHost, wasi: string, params: P[], out: OutKind, errnoResult = true) =>
  ({ method, wasi, params, out, errnoResult });

const table = [
  spec('args', 'args_get', [], 'strings'),
  spec('environ', 'environ_get', [], 'strings'),
  spec('clockResGet', 'clock_res_get', [['id', 'int']], 'none', false),
  spec('clockTimeGet', 'clock_time_get', [['id', 'int'], ['precision', 'num']], 'none', false),
  spec('fdAdvise', 'fd_advise', [fd, ['offset', 'num'], ['len', 'num'], ['advice', 'int']], 'none'),
  spec('fdAllocate', 'fd_allocate', [fd, ['offset', 'num'], ['len', 'num']], 'none'),
  spec('fdClose', 'fd_close', [fd], 'none'),
  spec('fdDatasync', 'fd_datasync', [fd], 'none'),
  spec('fdFdstatGet', 'fd_fdstat_get', [fd], 'fdstat'),
  spec('fdFdstatSetFlags', 'fd_fdstat_set_flags', [fd, ['flags', 'int']], 'none'),
  spec('fdFdstatSetRights', 'fd_fdstat_set_rights', [fd, ['base', 'int'], ['inheriting', 'int']], 'none'),
  spec('fdFilestatGet', 'fd_filestat_get', [fd], 'filestat'),
  spec('fdFilestatSetSize', 'fd_filestat_set_size', [fd, ['size', 'num']], 'none'),
  spec('fdFilestatSetTimes', 'fd_filestat_set_times', [fd, ['atim', 'big'], ['mtim', 'big'], ['fstflags', 'int']], 'none'),
  spec('fdPread', 'fd_pread', [fd, ['iovs', 'sizes'], ['offset', 'num']], 'filled', false),
  spec('fdPrestatGet', 'fd_prestat_get', [fd], 'string'),
  spec('fdPwrite', 'fd_pwrite', [fd, ['iovs', 'data'], ['offset', 'num']], 'none', false),
  spec('fdRead', 'fd_read', [fd, ['iovs', 'sizes']], 'filled', false),
  spec('fdReaddir', 'fd_readdir', [fd, ['cookie', 'num'], ['bufLen', 'int']], 'dirents'),
  spec('fdRenumber', 'fd_renumber', [fd, ['to', 'int']], 'none'),
  spec('fdSeek', 'fd_seek', [fd, ['offset', 'num'], ['whence', 'int']], 'none', false),
  spec('fdSync', 'fd_sync', [fd], 'none'),
  spec('fdTell', 'fd_tell', [fd], 'none', false),
  spec('fdWrite', 'fd_write', [fd, ['iovs', 'data']], 'none', false),
  spec('pathCreateDirectory', 'path_create_directory', [fd, path], 'none'),
  spec('pathFilestatGet', 'path_filestat_get', [fd, ['flags', 'int'], path], 'filestat'),
  spec('pathFilestatSetTimes', 'path_filestat_set_times', [fd, ['flags', 'int'], path, ['atim', 'big'], ['mtim', 'big'], ['fstflags', 'int']], 'none'),
  spec('pathLink', 'path_link', [['oldFd', 'int'], ['oldFlags', 'int'], ['oldPath', 'str'], ['newFd', 'int'], ['newPath', 'str']], 'none'),
  spec('pathOpen', 'path_open', [fd, ['dirflags', 'int'], path, ['oflags', 'int'], ['rightsBase', 'int'], ['rightsInheriting', 'int'], ['fdflags', 'int']], 'none', false),
  spec('pathReadlink', 'path_readlink', [fd, path], 'string'),
  spec('pathRemoveDirectory', 'path_remove_directory', [fd, path], 'none'),
  spec('pathRename', 'path_rename', [fd, ['oldPath', 'str'], ['newFd', 'int'], ['newPath', 'str']], 'none'),
  spec('pathSymlink', 'path_symlink', [['target', 'str'], fd, path], 'none'),
  spec('pathUnlinkFile', 'path_unlink_file', [fd, path], 'none'),
  spec('pollOneoff', 'poll_oneoff', [['subscriptions', 'subs']], 'events', false),
  spec('procExit', 'proc_exit', [['code', 'int']], 'none'),
  spec('procRaise', 'proc_raise', [['signal', 'int']], 'none'),
  spec('randomGet', 'random_get', [['buf', 'sizes']], 'random'),
  spec('schedYield', 'sched_yield', [], 'none'),
  spec('sockAccept', 'sock_accept', [fd, ['flags', 'int']], 'none', false),
  spec('sockRecv', 'sock_recv', [fd, ['iovs', 'sizes'], ['riFlags', 'int']], 'recv', false),
  spec('sockSend', 'sock_send', [fd, ['iovs', 'data'], ['siFlags', 'int']], 'none', false),
  spec('sockShutdown', 'sock_shutdown', [fd, ['how', 'int']], 'none'),
  // The `wtm` extension (TaskHost): task results are recorded, so replay starts no task.
  spec('taskSubmit', 'wtm.task_submit', [['spec', 'str']], 'none', false),
  spec('taskWait', 'wtm.task_wait', [['id', 'int'], ['bufLen', 'int']], 'result'),
  spec('taskPoll', 'wtm.task_poll', [['bufLen', 'int']], 'result'),
  spec('taskCancel', 'wtm.task_cancel', [['id', 'int']], 'none'),
] as const;

export const CALLS: readonly CallSpec[] = table.map((s, id) => ({ ...s, id }));
export const CALL_BY_METHOD = new Map<string, CallSpec>(CALLS.map((c) => [c.method, c]));

/** The out object a call takes (its last argument), if any. */
export function takesOut(c: CallSpec): boolean {
  return c.out === 'filestat' || c.out === 'fdstat' || c.out === 'string' || c.out === 'dirents' || c.out === 'recv' || c.out === 'result';
}

// ---- encoding of parameters and results -------------------------------------------------

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

/** Reads a parameter back in a form fit for display (views) and comparison. */
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

/** Did the call succeed, so that its outputs were recorded? */
export function succeeded(c: CallSpec, ret: number): boolean {
  // A task result too big for the buffer (NOBUFS) still carries the result text.
  if (c.out === 'result') return ret === 0 || ret === 42;
  return c.errnoResult ? ret === 0 : ret >= 0;
}

export function writeFilestat(w: RecordWriter, s: Filestat): void {
  w.u64(s.dev); w.u64(s.ino); w.u8(s.filetype); w.u64(s.nlink); w.u64(s.size);
  w.u64(s.atim); w.u64(s.mtim); w.u64(s.ctim);
}
export function readFilestat(r: RecordReader, s: Filestat): void {
  s.dev = r.u64(); s.ino = r.u64(); s.filetype = r.u8(); s.nlink = r.u64(); s.size = r.u64();
  s.atim = r.u64(); s.mtim = r.u64(); s.ctim = r.u64();
}
export function writeFdstat(w: RecordWriter, s: Fdstat): void {
  w.u8(s.filetype); w.uvarint(s.flags); w.uvarint(s.rightsBase); w.uvarint(s.rightsInheriting);
}
export function readFdstat(r: RecordReader, s: Fdstat): void {
  s.filetype = r.u8(); s.flags = r.uvarint(); s.rightsBase = r.uvarint(); s.rightsInheriting = r.uvarint();
}

/** Dirents as the ABI will encode them: entries from `cookie` on that fit in `bufLen`. */
export function writeDirents(w: RecordWriter, list: readonly Dirent[], bufLen: number): void {
  let used = 0;
  let n = 0;
  while (n < list.length && used < bufLen) {
    used += 24 + Buffer.byteLength(list[n]!.name);
    n++;
  }
  w.uvarint(n);
  for (let i = 0; i < n; i++) {
    const d = list[i]!;
    w.uvarint(d.next); w.u64(d.ino); w.u8(d.type); w.string(d.name);
  }
}
export function readDirents(r: RecordReader): Dirent[] {
  const n = r.uvarint();
  const list: Dirent[] = [];
  for (let i = 0; i < n; i++) list.push({ next: r.uvarint(), ino: r.u64(), type: r.u8(), name: r.string() });
  return list;
}

export function writeEvents(w: RecordWriter, events: readonly Event[], n: number): void {
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    w.u64(e.userdata); w.uvarint(e.error); w.u8(e.type); writeNum(w, e.nbytes); w.uvarint(e.flags);
  }
}
export function readEvents(r: RecordReader, n: number, out: Event[]): void {
  out.length = 0;
  for (let i = 0; i < n; i++) out.push({ userdata: r.u64(), error: r.uvarint(), type: r.u8(), nbytes: readNum(r), flags: r.uvarint() });
}

export type { Out };
