import { decodeRecord, type DecodedCall } from '../timemachine/describe.js';
import { CALL_BY_WASI } from '../timemachine/calls.js';
import type { LogStream } from '../timemachine/stream.js';
import { FdTracker, joinGuest } from './fds.js';

/** Which calls a trace shows. Every condition given must hold. */
export interface TraceFilter {
  /** WASI names (`fd_read`, `path_open`, `wtm.task_submit`; `task_submit` works too). */
  calls?: readonly string[];
  /** Calls on this fd: as a parameter (fd, from, to, oldFd, newFd), or as the fd a call returned. */
  fd?: number;
  /** Calls on a guest path that starts with PREFIX: a path parameter, or an fd opened from one. */
  path?: string;
  /** Only calls that failed. */
  errors?: boolean;
  /** Record numbers, inclusive. */
  from?: number;
  to?: number;
}

/** The filter's call names checked against the table: the unknown ones (to report). */
export function unknownCalls(names: readonly string[]): string[] {
  return names.filter((n) => !CALL_BY_WASI.has(n) && !CALL_BY_WASI.has(`wtm.${n}`));
}

const FD_PARAMS = new Set(['fd', 'from', 'to', 'oldFd', 'newFd']);
const PATH_PARAMS = new Set(['path', 'oldPath', 'newPath', 'target']);

/** Does a guest path fall under `prefix` (as a path: `/data` matches `/data/x`, not `/database`)? */
export function underGuestPath(path: string, prefix: string): boolean {
  const p = joinGuest(undefined, prefix);
  if (p === '' || p === '/') return true;
  return path === p || path.startsWith(p + '/');
}

/** A record with its number, as the trace hands it on. */
export interface TracedCall {
  index: number;
  rec: DecodedCall;
}

/**
 * The calls of one log that pass the filter, in order, a batch at a time (a million calls
 * are a few hundred batches: no promise per call). The log's reader tells afterwards whether
 * it was cut short (`truncated`).
 */
export async function* traceBatches(log: LogStream, filter: TraceFilter = {}): AsyncGenerator<TracedCall[]> {
  const calls = filter.calls?.length ? new Set(filter.calls.map((n) => (CALL_BY_WASI.has(n) ? n : `wtm.${n}`))) : null;
  const from = filter.from ?? 0;
  const to = filter.to ?? Infinity;
  const fds = filter.path !== undefined ? new FdTracker() : null;
  let index = -1;
  for await (const batch of log.batches()) {
    const out: TracedCall[] = [];
    for (const payload of batch.records) {
      index++;
      if (index > to) break;
      // Before `from`, only what the path filter needs to know is decoded.
      if (index < from && fds === null) continue;
      const rec = decodeRecord(payload);
      const path = fds !== null ? pathOf(rec, fds) : undefined;
      if (fds !== null) fds.apply(rec);
      if (index < from) continue;
      if (calls !== null && !calls.has(rec.call.wasi)) continue;
      if (filter.errors && rec.errno === 0) continue;
      if (filter.fd !== undefined && !onFd(rec, filter.fd)) continue;
      if (filter.path !== undefined && !(path?.some((p) => underGuestPath(p, filter.path!)))) continue;
      out.push({ index, rec });
    }
    if (out.length) yield out;
    // The rest is not shown: stop reading (the stream is closed by the loop's return).
    if (index > to) return;
  }
}

/** traceBatches, one call at a time. */
export async function* traceCalls(log: LogStream, filter: TraceFilter = {}): AsyncGenerator<TracedCall> {
  for await (const batch of traceBatches(log, filter)) yield* batch;
}

function onFd(rec: DecodedCall, fd: number): boolean {
  const c = rec.call;
  for (let i = 0; i < c.params.length; i++) if (FD_PARAMS.has(c.params[i]![0]) && rec.params[i] === fd) return true;
  return c.result === 'fd' && rec.ret === fd;
}

/** The guest paths a call names: its path parameters (joined with their directory), or its fd's path. */
function pathOf(rec: DecodedCall, fds: FdTracker): string[] | undefined {
  const c = rec.call;
  const out: string[] = [];
  let dir: number | undefined;
  for (let i = 0; i < c.params.length; i++) {
    const [name] = c.params[i]!;
    const v = rec.params[i];
    if (name === 'fd' || name === 'oldFd') dir = v as number;
    if (name === 'newFd') dir = v as number;
    if (PATH_PARAMS.has(name) && name !== 'target') out.push(joinGuest(dir === undefined ? undefined : fds.get(dir)?.path ?? undefined, v as string));
  }
  if (out.length === 0) {
    const i = c.params.findIndex(([n]) => FD_PARAMS.has(n));
    const p = i >= 0 ? fds.get(rec.params[i] as number)?.path ?? undefined : undefined;
    if (p !== undefined) out.push(p);
  }
  return out.length ? out : undefined;
}

/** One log of a process tree, and where its clock starts (ms since the epoch). */
export interface TraceSource {
  process: string;
  startMs: number;
  log: LogStream;
}

/**
 * The calls of several processes (a process and its tasks) interleaved by time: each call's
 * time is its process's start plus the call's start. Each comes with its process.
 */
export async function* interleave(sources: readonly TraceSource[], filter: TraceFilter = {}): AsyncGenerator<TracedCall & { process: string; atNs: number }> {
  const heads = sources.map((s) => ({ s, it: traceCalls(s.log, filter), next: null as (TracedCall & { atNs: number }) | null, done: false }));
  const pull = async (h: (typeof heads)[number]) => {
    const r = await h.it.next();
    if (r.done) {
      h.done = true;
      h.next = null;
    } else {
      h.next = { ...r.value, atNs: (h.s.startMs - base) * 1e6 + r.value.rec.start };
    }
  };
  const base = Math.min(...sources.map((s) => s.startMs));
  await Promise.all(heads.map(pull));
  for (;;) {
    let best: (typeof heads)[number] | null = null;
    for (const h of heads) if (!h.done && (best === null || h.next!.atNs < best.next!.atNs)) best = h;
    if (best === null) return;
    const n = best.next!;
    yield { ...n, process: best.s.process };
    await pull(best);
  }
}
