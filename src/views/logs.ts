import { LogReader } from '../timemachine/format.js';
import { decodeRecord } from '../timemachine/describe.js';

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Uint8Array;
}

/** The guest's stdout and stderr, in the order it wrote them, read from its log (nothing re-runs). */
export function* recordedOutput(log: Uint8Array): Generator<OutputChunk> {
  for (const payload of new LogReader(log).records()) {
    const rec = decodeRecord(payload);
    if (rec.call.method !== 'fdWrite') continue;
    const fd = rec.params[0] as number;
    const n = rec.ret as number;
    if ((fd !== 1 && fd !== 2) || n <= 0) continue;
    const data = rec.params[1] as Uint8Array;
    yield { stream: fd === 1 ? 'stdout' : 'stderr', data: data.subarray(0, n) };
  }
}
