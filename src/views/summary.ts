import { formatOutcome } from '../timemachine/trace-format.js';
import { decodeRecord } from '../timemachine/describe.js';
import { LogStream } from '../timemachine/stream.js';

export interface LogSummary {
  calls: number;
  /** Calls by WASI name, most frequent first. */
  byCall: { call: string; count: number; errors: number; totalNs: number; injected: number }[];
  /** Results fault injection gave (--chaos), and the first few of them (record number, call, outcome). */
  injected: number;
  firstInjected: { index: number; call: string; result: string }[];
  batches: number;
  /** The log ends inside a batch (the process was killed): only whole batches were read. */
  truncated: boolean;
  /** ns from the first call's start to the last call's end. */
  spanNs: number;
}

/** Reads a whole log, one batch at a time, and counts what the process did. */
export async function summarizeLog(log: LogStream | Uint8Array): Promise<LogSummary> {
  const reader = log instanceof LogStream ? log : LogStream.of(log);
  const by = new Map<string, { call: string; count: number; errors: number; totalNs: number; injected: number }>();
  let injected = 0;
  const firstInjected: LogSummary['firstInjected'] = [];
  let calls = 0;
  let first = -1;
  let last = 0;
  for await (const payload of reader.records()) {
    const rec = decodeRecord(payload);
    calls++;
    if (first < 0) first = rec.start;
    last = Math.max(last, rec.start + rec.duration);
    const name = rec.call.wasi;
    const e = by.get(name) ?? { call: name, count: 0, errors: 0, totalNs: 0, injected: 0 };
    if (rec.injected) {
      e.injected++;
      if (injected++ < 10) firstInjected.push({ index: calls - 1, call: name, result: formatOutcome(rec, { width: 16 }).replace(/^= /, '') });
    }
    e.count++;
    e.totalNs += rec.duration;
    if (rec.errno !== 0) e.errors++;
    by.set(name, e);
  }
  return {
    calls,
    byCall: [...by.values()].sort((a, b) => b.count - a.count || a.call.localeCompare(b.call)),
    batches: reader.batchCount,
    truncated: reader.truncated,
    spanNs: first < 0 ? 0 : last - first,
    injected, firstInjected,
  };
}
