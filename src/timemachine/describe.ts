import { errnoName } from '../system/index.js';
import { CALLS, readNum, readParam, succeeded, type CallSpec } from './calls.js';
import { RecordReader } from './codec.js';

/** One record decoded for reading (views, errors): not for the hot path. */
export interface DecodedCall {
  call: CallSpec;
  /** ns since the process started. */
  start: number;
  duration: number;
  params: unknown[];
  /** The return value (a count/fd/offset, `-errno`, or an errno), or the strings of args/environ. */
  ret: number | string[];
  /** The payload bytes after the result: the call's recorded outputs. */
  outputs: Uint8Array;
}

export function decodeRecord(payload: Uint8Array): DecodedCall {
  const r = new RecordReader(payload);
  const id = r.u8();
  const call = CALLS[id];
  if (call === undefined) throw new Error(`unknown call id ${id}`);
  const start = r.uvarint();
  const duration = r.uvarint();
  const params = call.params.map(([, kind]) => readParam(r, kind));
  let ret: number | string[];
  if (call.out === 'strings') {
    const n = r.uvarint();
    ret = [];
    for (let i = 0; i < n; i++) ret.push(r.string());
  } else {
    ret = readNum(r);
  }
  return { call, start, duration, params, ret, outputs: r.bytesAt(r.offset, payload.byteLength) };
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

/** `fd_write(fd=1, iovs=12 bytes)`: a call as it reads in errors and traces. */
export function formatCall(c: CallSpec, args: ArrayLike<unknown>): string {
  const parts = c.params.map(([name, kind], i) => `${name}=${show(kind, args[i])}`);
  return `${c.wasi}(${parts.join(', ')})`;
}

/** `errno=NOENT`, `12`, or `errno=SUCCESS`: a result as it reads in traces. */
export function formatResult(c: CallSpec, ret: number | string[]): string {
  if (Array.isArray(ret)) return JSON.stringify(ret);
  if (c.errnoResult) return `errno=${errnoName(ret)}`;
  return ret < 0 ? `errno=${errnoName(-ret)}` : String(ret);
}

export { succeeded };
