import fs from 'node:fs';
import { decodeBatch, FRAME_SIZE, frameChecksum, HEADER_SIZE, readFrame, readHeader } from './format.js';

/** Where a followed log stands: whole batches read, and records handed out. */
interface FollowState {
  /** Bytes of the log file read as whole batches (the header included). */
  pos: number;
  batches: number;
  /** Records in those batches. */
  records: number;
  /** Records handed out (from batches or from the tail), in order. */
  given: number;
}

/**
 * The records of a log that is still being written, in order, as they appear: whole batches
 * as the writer seals them, and, between two batches, the records of its tail copy (the
 * unsealed records the starter copies every 200 ms, one stored batch continuing the log) so a
 * slow writer's output shows within a moment. No record is handed out twice, none skipped.
 * Ends once `running()` says the run has ended and the log has been read to its end.
 */
export async function* followLog(
  file: string,
  readTail: () => Promise<Uint8Array | null>,
  running: () => Promise<boolean>,
  opts: { pollMs?: number; from?: number; once?: boolean } = {},
): AsyncGenerator<Uint8Array> {
  // `from`: records before it are skipped; `once`: what is there now, then stop.
  const s: FollowState = { pos: 0, batches: 0, records: 0, given: opts.from ?? 0 };
  for (;;) {
    // Asked before reading: a run that has ended has sealed everything into the file by then.
    const live = await running();
    yield* newBatches(file, s);
    if (!live) return;
    const tail = await readTail();
    if (tail !== null) yield* tailRecords(tail, s);
    if (opts.once) return;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
}

/** The records of the batches sealed since the last look (a batch cut by the writer waits). */
function* newBatches(file: string, s: FollowState): Generator<Uint8Array> {
  let bytes: Uint8Array;
  try {
    const size = fs.statSync(file).size;
    if (size <= s.pos) return;
    const fd = fs.openSync(file, 'r');
    try {
      bytes = Buffer.alloc(size - s.pos);
      let got = 0;
      while (got < bytes.length) {
        const n = fs.readSync(fd, bytes, got, bytes.length - got, s.pos + got);
        if (n === 0) break;
        got += n;
      }
      bytes = bytes.subarray(0, got);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // not written yet
    throw e;
  }
  let at = 0;
  if (s.pos === 0) {
    if (readHeader(bytes.subarray(0, HEADER_SIZE)) === 'cut') return;
    at = HEADER_SIZE;
  }
  for (;;) {
    const info = readFrame(bytes.subarray(at, at + FRAME_SIZE), s.batches, s.pos + at, s.records);
    if (info === 'cut') break;
    if (info instanceof Error) throw info;
    if (at + info.length > bytes.length) break; // the writer is still writing it
    const records = decodeBatch(info, bytes.subarray(at + FRAME_SIZE, at + info.length), frameChecksum(bytes.subarray(at)));
    for (let i = 0; i < records.length; i++) {
      if (s.records + i >= s.given) {
        s.given++;
        yield records[i]!;
      }
    }
    s.records += records.length;
    s.batches++;
    at += info.length;
  }
  s.pos += at;
}

/** The tail copy's records not handed out yet, if it continues the batches read so far. */
function* tailRecords(tail: Uint8Array, s: FollowState): Generator<Uint8Array> {
  if (tail.byteLength < FRAME_SIZE) return;
  const info = readFrame(tail.subarray(0, FRAME_SIZE), s.batches, 0, s.records);
  // A copy from before the last sealed batch (or torn): the batches have it, or the next copy will.
  if (info === 'cut' || info instanceof Error || info.length !== tail.byteLength) return;
  let records: Uint8Array[];
  try {
    records = decodeBatch(info, tail.subarray(FRAME_SIZE), frameChecksum(tail));
  } catch {
    return;
  }
  for (let i = 0; i < records.length; i++) {
    if (s.records + i >= s.given) {
      s.given++;
      yield records[i]!;
    }
  }
}
