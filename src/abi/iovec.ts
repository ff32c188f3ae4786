import { INVAL, type GuestMemory } from './memory.js';

/**
 * Decodes `count` iovecs at `ptr` into views of guest memory. The returned array is reused by
 * the next call: a System wrapper that keeps it must copy it.
 */
const shared: Uint8Array[] = [];
export function readIovecs(mem: GuestMemory, ptr: number, count: number): Uint8Array[] {
  if (count > 1024) throw INVAL; // IOV_MAX; also bounds the work a hostile count can cause
  mem.check(ptr, count * 8);
  shared.length = count;
  const view = mem.view;
  for (let i = 0; i < count; i++) {
    const buf = view.getUint32(ptr + i * 8, true);
    const len = view.getUint32(ptr + i * 8 + 4, true);
    shared[i] = mem.bytes(buf, len);
  }
  return shared;
}
