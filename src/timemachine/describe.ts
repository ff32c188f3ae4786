import { errnoName } from '../system/index.js';
import { CALLS, decodeOutput, errnoOf, INJECTED, readParam, readResult, type CallSpec } from './calls.js';
import { LogFormatError, RecordReader } from './codec.js';

/** One record decoded for reading (views, errors): not for the hot path. */
export interface DecodedCall {
  call: CallSpec;
  /** ns since the process started. */
  start: number;
  duration: number;
  /** The parameters in table order, named by `call.params[i][0]` ('data' as bytes, 'sizes' as a size). */
  params: unknown[];
  /** The return value (a count/fd/offset, `-errno`, or an errno), or the strings of args/environ. */
  ret: number | string[];
  /** 0 when the call succeeded, else its WASI errno, whatever the call's convention. */
  errno: number;
  /**
   * The call's output when it succeeded, named `call.outName`: filled → Uint8Array,
   * random → Uint8Array, filestat/fdstat → the struct, string/result → string, dirents →
   * Dirent[], events → Event[], recv → { data, roflags }; undefined otherwise.
   */
  out: unknown;
  /** True when fault injection (--chaos) gave this result, not the system. */
  injected: boolean;
}

export function decodeRecord(payload: Uint8Array): DecodedCall {
  const r = new RecordReader(payload);
  const byte = r.u8();
  const id = byte & ~INJECTED;
  const call = CALLS[id];
  if (call === undefined) throw new LogFormatError(`unknown call id ${id} (a log from a newer wtm?)`);
  const start = r.uvarint();
  const duration = r.uvarint();
  const params = call.params.map(([, kind]) => readParam(r, kind));
  const ret = readResult(r, call);
  const out = decodeOutput(r, call, params, ret);
  return { call, start, duration, params, ret, errno: errnoOf(call, ret), out, injected: (byte & INJECTED) !== 0 };
}

function show(kind: string, v: unknown): string {
  if (kind === 'data' || kind === 'sizes') {
    const n = v instanceof Uint8Array ? v.byteLength : Array.isArray(v) ? v.reduce((a: number, b: Uint8Array) => a + b.byteLength, 0) : Number(v);
    return `${n} bytes`;
  }
  if (kind === 'str') return JSON.stringify(v);
  if (kind === 'subs') return `${(v as unknown[]).length} subscriptions`;
  return String(v);
}

/** `fd_write(fd=1, iovs=12 bytes)`: a call as it reads in errors. */
export function formatCall(c: CallSpec, args: ArrayLike<unknown>): string {
  const parts = c.params.map(([name, kind], i) => `${name}=${show(kind, args[i])}`);
  return `${c.wasi}(${parts.join(', ')})`;
}

/** `errno=NOENT`, `12`, or `errno=SUCCESS`: a result as it reads in errors. */
export function formatResult(c: CallSpec, ret: number | string[]): string {
  if (Array.isArray(ret)) return JSON.stringify(ret);
  const errno = errnoOf(c, ret);
  if (c.result === 'errno' || errno !== 0) return `errno=${errnoName(errno)}`;
  return String(ret);
}
