import { decodeRecord, type DecodedCall } from '../timemachine/describe.js';
import type { LogStream } from '../timemachine/stream.js';
import { FdTracker, type FdInfo } from './fds.js';

/** What the log says of a guest right after record `at`: its open fds and its last calls. */
export interface LogPoint {
  /** Records in the whole log. */
  total: number;
  at: number;
  fds: FdInfo[];
  /** The last calls up to `at`, oldest first, each with its record number. */
  last: { index: number; rec: DecodedCall }[];
}

/**
 * Reads a log to its end (to count its records) and the state at record `at`: the fd table
 * rebuilt from records 0..at (FdTracker) and the last `keep` calls. Records after `at` are
 * counted, not decoded. `total` tells a caller whether `at` lies inside the log.
 */
export async function logPoint(log: LogStream, at: number, keep: number): Promise<LogPoint> {
  const fds = new FdTracker();
  const last: { index: number; rec: DecodedCall }[] = [];
  let total = 0;
  let snapshot: FdInfo[] | null = null;
  for await (const payload of log.records()) {
    const index = total++;
    if (index > at) continue;
    const rec = decodeRecord(payload);
    fds.apply(rec, index);
    if (keep > 0) {
      last.push({ index, rec });
      if (last.length > keep) last.shift();
    }
    if (index === at) snapshot = fds.snapshot();
  }
  return { total, at, fds: snapshot ?? fds.snapshot(), last };
}
