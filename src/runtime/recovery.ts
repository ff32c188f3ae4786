import { isOrphan, type Registry } from '../registry/registry.js';
import { decodeBatch, encodeHeader, frameChecksum, FRAME_SIZE, headed, HEADER_SIZE, readFrame } from '../timemachine/format.js';

/** Where a log's whole batches end, and how many records they hold. */
export interface LogExtent {
  /** Bytes of the header and the whole batches (what is left after cutting a torn batch). */
  wholeBytes: number;
  records: number;
}

/**
 * Walks the frames of a log of `size` bytes from a stream, skipping payloads (nothing is
 * decompressed or kept), to find where its whole batches end. A frame that runs past the end
 * was torn by a kill; one that is not a frame (damage) ends the walk too. Checksums are the
 * readers' business.
 */
export async function logExtent(chunks: AsyncIterable<Uint8Array> | null, size: number): Promise<LogExtent> {
  const out = { wholeBytes: size >= HEADER_SIZE ? HEADER_SIZE : 0, records: 0 };
  if (chunks === null || size < HEADER_SIZE) return out;
  const head = new Uint8Array(FRAME_SIZE);
  let have = 0;
  let next = HEADER_SIZE; // where the next frame starts
  let pos = 0; // stream position of the current chunk's start
  for await (const chunk of chunks) {
    let at = Math.max(0, next - pos);
    while (at < chunk.byteLength) {
      const take = Math.min(FRAME_SIZE - have, chunk.byteLength - at);
      head.set(chunk.subarray(at, at + take), have);
      have += take;
      at += take;
      if (have < FRAME_SIZE) break;
      have = 0;
      const frame = readFrame(head, 0, next, out.records);
      if (frame === 'cut' || frame instanceof Error || next + frame.length > size) return out;
      const end = next + frame.length;
      out.records += frame.count;
      out.wholeBytes = end;
      next = end;
      at = next - pos;
    }
    pos += chunk.byteLength;
  }
  return out;
}

/**
 * Makes the records of processes whose wtm was killed say so: for each record stored as
 * `running` whose owner is gone, the log is cut to its whole batches, the tail the owner last
 * copied (at most 250 ms old) is appended when it continues the log, and the record becomes
 * `interrupted` with its counts. Cheap when nothing was interrupted (one listing of the
 * running index). Returns the ids it recovered.
 */
export async function recoverInterrupted(reg: Registry): Promise<string[]> {
  const done: string[] = [];
  for (const id of await reg.listRunning()) {
    let rec: Awaited<ReturnType<Registry['getStoredProcess']>>;
    try {
      rec = await reg.getStoredProcess(id);
    } catch {
      continue; // a corrupt record: listings report it
    }
    if (rec === null || !isOrphan(rec)) continue;
    // Claimed first: another command recovering it at the same moment leaves it to this one.
    if (!(await reg.claimRunning(id))) continue;
    const size = await reg.logSize(id);
    const extent = await logExtent(await reg.streamLog(id), size);
    if (extent.wholeBytes < size) await reg.truncateLog(id, extent.wholeBytes);
    let logBytes = extent.wholeBytes;
    let calls = extent.records;
    const tail = await reg.readLogTail(id);
    const n = tail === null ? 0 : tailRecords(tail, extent.records);
    if (n > 0) {
      const piece = logBytes === 0 ? headed(tail!) : tail!;
      await reg.appendLog(id, piece);
      logBytes += piece.byteLength;
      calls += n;
    }
    if (tail !== null) await reg.deleteLogTail(id);
    if (logBytes === 0) {
      // Killed before its first copy: an empty log, which reads and replays as such.
      await reg.appendLog(id, encodeHeader());
      logBytes = HEADER_SIZE;
    }
    // No end time: when the owner died is not known (its last copy is up to 250 ms older).
    await reg.updateProcess(id, {
      state: 'interrupted', logBytes, calls,
      error: `wtm (pid ${rec.pid}) ended while the process ran: its log is kept up to its last copy`,
    });
    done.push(id);
  }
  return done;
}

/**
 * Records in a tail copy (one stored batch) that continues a log of `next` records, checked
 * like any batch; 0 when it is damaged, stale (already in the log) or does not fit.
 */
function tailRecords(tail: Uint8Array, next: number): number {
  const info = readFrame(tail.subarray(0, FRAME_SIZE), 0, 0, next);
  if (info === 'cut' || info instanceof Error || info.length !== tail.byteLength) return 0;
  try {
    return decodeBatch(info, tail.subarray(FRAME_SIZE), frameChecksum(tail)).length;
  } catch {
    return 0;
  }
}
