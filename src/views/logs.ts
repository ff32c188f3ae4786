import { decodeRecord } from '../timemachine/describe.js';
import { LogStream } from '../timemachine/stream.js';

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Uint8Array;
}

/**
 * The guest's stdout and stderr, in the order it wrote them, read from its log (nothing
 * re-runs), one batch at a time. Give a LogStream to learn afterwards whether the log was cut
 * short (`truncated`) and how many calls were read (`recordCount`); a damaged batch throws
 * LogCorruptError once the chunks before it have been yielded.
 */
export async function* recordedOutput(log: LogStream | Uint8Array): AsyncGenerator<OutputChunk> {
  const reader = log instanceof LogStream ? log : LogStream.of(log);
  for await (const payload of reader.records()) {
    const rec = decodeRecord(payload);
    if (rec.call.method !== 'fdWrite') continue;
    const fd = rec.params[0] as number;
    const n = rec.ret as number;
    if ((fd !== 1 && fd !== 2) || n <= 0) continue;
    const data = rec.params[1] as Uint8Array;
    yield { stream: fd === 1 ? 'stdout' : 'stderr', data: data.subarray(0, n) };
  }
}
