import { Errno } from '../system/index.js';

/** Thrown (one preallocated object) when a guest pointer is out of bounds; imports answer EFAULT. */
export const FAULT = { fault: true } as const;
/** Thrown when a guest string is not UTF-8; imports answer EILSEQ. */
export const ILSEQ = { ilseq: true } as const;
/** Thrown for an argument out of range (e.g. more iovecs than IOV_MAX); imports answer EINVAL. */
export const INVAL = { inval: true } as const;

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * The one bounds-checked view of guest memory. Views are cached and renewed only when memory
 * has grown (the old buffer is then detached and its length reads 0, or for shared memory the
 * length is simply too short), so a call allocates nothing to read or write memory.
 */
export class GuestMemory {
  private memory: WebAssembly.Memory | null = null;
  u8 = new Uint8Array(0);
  view = new DataView(new ArrayBuffer(0));

  bind(memory: WebAssembly.Memory): void {
    this.memory = memory;
    this.renew();
  }

  private renew(): void {
    const buf = this.memory!.buffer;
    this.u8 = new Uint8Array(buf);
    this.view = new DataView(buf);
  }

  /** Throws FAULT unless [ptr, ptr+len) lies in memory. ptr and len are unsigned. */
  check(ptr: number, len: number): void {
    if (ptr + len > this.u8.length) {
      if (this.memory === null) throw FAULT;
      this.renew();
      if (ptr + len > this.u8.length) throw FAULT;
    }
  }

  u32(ptr: number): number {
    this.check(ptr, 4);
    return this.view.getUint32(ptr, true);
  }
  setU32(ptr: number, v: number): void {
    this.check(ptr, 4);
    this.view.setUint32(ptr, v, true);
  }
  setU16(ptr: number, v: number): void {
    this.check(ptr, 2);
    this.view.setUint16(ptr, v, true);
  }
  setU8(ptr: number, v: number): void {
    this.check(ptr, 1);
    this.u8[ptr] = v;
  }
  u64(ptr: number): bigint {
    this.check(ptr, 8);
    return this.view.getBigUint64(ptr, true);
  }
  /** Writes a non-negative integer below 2^53 as u64 without BigInt. */
  setU64n(ptr: number, v: number): void {
    this.check(ptr, 8);
    const hi = Math.floor(v / 4294967296);
    this.view.setUint32(ptr, v - hi * 4294967296, true);
    this.view.setUint32(ptr + 4, hi, true);
  }
  setU64(ptr: number, v: bigint): void {
    this.check(ptr, 8);
    this.view.setBigUint64(ptr, v, true);
  }

  /** A view of guest memory [ptr, ptr+len); valid until memory grows. */
  bytes(ptr: number, len: number): Uint8Array {
    this.check(ptr, len);
    return this.u8.subarray(ptr, ptr + len);
  }

  /** Decodes a UTF-8 string (ASCII fast path); throws ILSEQ for invalid UTF-8. */
  string(ptr: number, len: number): string {
    this.check(ptr, len);
    const u8 = this.u8;
    let ascii = true;
    for (let i = ptr, end = ptr + len; i < end; i++) {
      if (u8[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      if (len <= 64) {
        let s = '';
        for (let i = ptr, end = ptr + len; i < end; i++) s += String.fromCharCode(u8[i]!);
        return s;
      }
      return Buffer.from(u8.buffer, ptr, len).toString('latin1');
    }
    try {
      // TextDecoder refuses views of shared memory: copy those.
      const view = u8.subarray(ptr, ptr + len);
      return decoder.decode(u8.buffer instanceof ArrayBuffer ? view : view.slice());
    } catch {
      throw ILSEQ;
    }
  }

  /** Writes bytes at ptr (bounds-checked). */
  write(ptr: number, data: Uint8Array): void {
    this.check(ptr, data.byteLength);
    this.u8.set(data, ptr);
  }
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * What an import answers when its body threw: EFAULT for a bad pointer, EILSEQ for a bad
 * string, the errno of a host error that escaped a backend. Anything else is a wtm bug and is
 * rethrown, so it surfaces as a trap with its message instead of a silent wrong errno.
 */
export function errnoOf(e: unknown): number {
  if (e === FAULT) return Errno.FAULT;
  if (e === ILSEQ) return Errno.ILSEQ;
  if (e === INVAL) return Errno.INVAL;
  throw e;
}
