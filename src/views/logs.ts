import { CALL_BY_METHOD, forEachWritten, INJECTED, stdioStream } from '../timemachine/calls.js';
import { decodeRecord } from '../timemachine/describe.js';
import { LogStream } from '../timemachine/stream.js';

const FD_WRITE_ID = CALL_BY_METHOD.get('fdWrite')!.id;

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
export async function* recordedOutput(log: LogStream | Uint8Array | AsyncIterable<Uint8Array>): AsyncGenerator<OutputChunk> {
  const payloads = log instanceof LogStream ? log.records() : log instanceof Uint8Array ? LogStream.of(log).records() : log;
  for await (const payload of payloads) {
    // Only fd_write is decoded: the call id is the payload's first byte.
    if ((payload[0]! & ~INJECTED) !== FD_WRITE_ID) continue;
    const rec = decodeRecord(payload);
    const stream = stdioStream(rec.call, rec.params[0]);
    if (stream === undefined || rec.errno !== 0) continue;
    const chunks: Uint8Array[] = [];
    forEachWritten(rec.params[1] as Uint8Array, rec.ret as number, (data) => chunks.push(data));
    for (const data of chunks) yield { stream, data, start: rec.start };
  }
}

/**
 * The last `n` lines of the output, in order (a line: up to and with its newline, or the
 * unfinished end of a stream). Lines of stdout and stderr count together, in the order written.
 */
export async function lastLines(chunks: AsyncIterable<OutputChunk>, n: number): Promise<OutputChunk[]> {
  const lines: OutputChunk[] = [];
  const open: Partial<Record<OutputChunk['stream'], OutputChunk>> = {};
  for await (const c of chunks) {
    let from = 0;
    while (from < c.data.length) {
      const nl = c.data.indexOf(0x0a, from);
      const end = nl < 0 ? c.data.length : nl + 1;
      const piece = c.data.subarray(from, end);
      const was = open[c.stream];
      if (was) {
        // The stream's unfinished line goes on.
        was.data = Buffer.concat([was.data, piece]);
        if (nl >= 0) delete open[c.stream];
      } else {
        const line = { stream: c.stream, start: c.start, data: piece as Uint8Array };
        lines.push(line);
        if (nl < 0) open[c.stream] = line;
        if (lines.length > n) lines.splice(0, lines.length - n);
      }
      from = end;
    }
  }
  return n > 0 ? lines.slice(-n) : [];
}

/** `[   12.345 ms] `: a time since the process started, as `logs -t` prefixes lines. */
export function formatStamp(ns: number): string {
  return `[${(ns / 1e6).toFixed(3).padStart(9)} ms] `;
}

/**
 * Prefixes every line of each stream with the time of the write that began it. A write that
 * does not end its line leaves the line open: the next write to the same stream continues it
 * without a new stamp (as a terminal shows it). Each stream is tracked on its own, since each
 * goes to its own file.
 */
export async function* timestampedOutput(chunks: AsyncIterable<OutputChunk>): AsyncGenerator<OutputChunk> {
  const open = { stdout: false, stderr: false };
  for await (const c of chunks) {
    const stamp = Buffer.from(formatStamp(c.start));
    const parts: Uint8Array[] = [];
    let from = 0;
    while (from < c.data.length) {
      const nl = c.data.indexOf(0x0a, from);
      const end = nl < 0 ? c.data.length : nl + 1;
      if (!open[c.stream]) parts.push(stamp);
      parts.push(c.data.subarray(from, end));
      open[c.stream] = nl < 0;
      from = end;
    }
    yield { stream: c.stream, start: c.start, data: Buffer.concat(parts) };
  }
}
