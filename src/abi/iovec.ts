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
  const list = count <= 64 ? byCount[count]! : new Array<Uint8Array>(count);
  const view = mem.view;
  for (let i = 0; i < count; i++) {
    const buf = view.getUint32(ptr + i * 8, true);
    const len = view.getUint32(ptr + i * 8 + 4, true);
    list[i] = mem.bytes(buf, len);
  }
  return list;
}
