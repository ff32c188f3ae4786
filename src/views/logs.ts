import { forEachWritten, stdioStream } from '../timemachine/calls.js';
import { decodeRecord } from '../timemachine/describe.js';
import { LogStream } from '../timemachine/stream.js';

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Uint8Array;
  /** ns since the process started: when the write began. */
  start: number;
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
    const stream = stdioStream(rec.call, rec.params[0]);
    if (stream === undefined || rec.errno !== 0) continue;
    const chunks: Uint8Array[] = [];
    forEachWritten(rec.params[1] as Uint8Array, rec.ret as number, (data) => chunks.push(data));
    for (const data of chunks) yield { stream, data, start: rec.start };
  }
}
