import { INVAL, type GuestMemory } from './memory.js';

/**
 * Decodes `count` iovecs at `ptr` into views of guest memory. The returned array is reused by
 * the next call: a System wrapper that keeps it must copy it.
 */
const EMPTY = new Uint8Array(0);
/** One array per count up to 64, reused (setting an array's length costs more than the rest of the decoding). */
const byCount: Uint8Array[][] = Array.from({ length: 65 }, (_, n) => new Array<Uint8Array>(n).fill(EMPTY));
export function readIovecs(mem: GuestMemory, ptr: number, count: number): Uint8Array[] {
  if (count > 1024) throw INVAL; // IOV_MAX; also bounds the work a hostile count can cause
  mem.check(ptr, count * 8);
  const view = mem.view;
  if (count > 64) {
    const list = new Array<Uint8Array>(count);
    for (let i = 0; i < count; i++) list[i] = mem.bytes(view.getUint32(ptr + i * 8, true), view.getUint32(ptr + i * 8 + 4, true));
    return list;
  }
  const list = byCount[count]!;
  for (let i = 0; i < count; i++) {
    const buf = view.getUint32(ptr + i * 8, true);
    const len = view.getUint32(ptr + i * 8 + 4, true);
    // A guest reads and writes through the same buffers call after call: the view of the last
    // call in this slot is kept when it covers the same bytes of the same memory. Node's read
    // and write cost ~200 ns more on a view they have not seen before than on a known one.
    const last = list[i]!;
    if (last.byteOffset !== buf || last.length !== len || last.buffer !== mem.u8.buffer) list[i] = mem.bytes(buf, len);
  }
  return list;
}
