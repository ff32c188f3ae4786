import { isOrphan, type Registry } from '../registry/registry.js';
import { BATCH_MAGIC, encodeHeader, FRAME_SIZE, HEADER_SIZE, LogReader } from '../timemachine/format.js';

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
  const view = new DataView(head.buffer);
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
      const end = next + FRAME_SIZE + view.getUint32(4, true);
      if (view.getUint32(0, false) !== BATCH_MAGIC || Number(view.getBigUint64(16, true)) !== out.records || end > size) return out;
      out.records += view.getUint32(12, true);
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
    let rec;
    try {
      rec = await reg.getStoredProcess(id);
    } catch {
      continue; // a corrupt record: listings report it
    }
    if (rec === null || !isOrphan(rec)) continue;
    const size = await reg.logSize(id);
    const extent = await logExtent(await reg.streamLog(id), size);
    if (extent.wholeBytes < size) await reg.truncateLog(id, extent.wholeBytes);
    let logBytes = extent.wholeBytes;
    let calls = extent.records;
    const tail = await reg.readLogTail(id);
    if (tail !== null && tail.byteLength > FRAME_SIZE && new DataView(tail.buffer, tail.byteOffset).getUint32(16, true) === extent.records) {
      try {
        // The tail is one stored batch: read it as a log of its own to check it before it is kept.
        const withHeader = new Uint8Array(HEADER_SIZE + tail.byteLength);
        withHeader.set(encodeHeader(), 0);
        withHeader.set(tail, HEADER_SIZE);
        const reader = new LogReader(withHeader);
        let n = 0;
        for (const _ of reader.records()) n++;
        if (!reader.truncated && n > 0) {
          await reg.appendLog(id, logBytes === 0 ? withHeader : tail);
          logBytes += logBytes === 0 ? withHeader.byteLength : tail.byteLength;
          calls += n;
        }
      } catch {
        // A damaged tail is dropped: the log keeps its whole batches.
      }
    }
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
