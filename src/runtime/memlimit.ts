// A memory limit for untrusted guests, enforced by rewriting the module before it is compiled:
// every memory (defined or imported) gets a declared maximum of at most the limit, so a
// `memory.grow` past it returns -1 inside the guest, exactly as WebAssembly specifies for
// growing past the declared maximum, instead of taking the host's memory.

const PAGE = 65536;
/** The largest number of pages a memory can declare: 4 GiB for memory32, 2^64 bytes for memory64. */
const MAX_PAGES_32 = 65536n;
const MAX_PAGES_64 = 1n << 48n;

function fail(message: string): never {
  throw new Error(`limitMemory: ${message}`);
}

/** A bounds-checked cursor over the module's bytes: every read past `end` throws. */
class Reader {
  constructor(readonly bytes: Uint8Array, public pos: number, public end: number) {}

  u8(): number {
    if (this.pos >= this.end) fail(`unexpected end of ${this.end === this.bytes.length ? 'module' : 'section'} at byte ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most `bits` bits (u32 or u64), as a bigint. */
  uleb(bits: 32 | 64): bigint {
    const start = this.pos;
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = this.u8();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      if (shift + 7n >= BigInt(bits)) fail(`LEB128 u${bits} too long at byte ${start}`);
    }
    if (result >> BigInt(bits) !== 0n) fail(`LEB128 u${bits} overflows at byte ${start}`);
    return result;
  }

  u32(): number {
    return Number(this.uleb(32));
  }

  /** Skips `n` bytes (bounds-checked). */
  skip(n: number): void {
    if (n > this.end - this.pos) fail(`unexpected end of ${this.end === this.bytes.length ? 'module' : 'section'} at byte ${this.pos}`);
    this.pos += n;
  }

  /** Skips a signed LEB128 of at most 33 bits (a heap type index). */
  s33(): void {
    for (let i = 0; this.u8() & 0x80; i++) if (i >= 4) fail(`LEB128 s33 too long at byte ${this.pos}`);
  }
}

function uleb(value: bigint): number[] {
  // Untouched spans are copied as they are; a patched section gets its size re-encoded.
  const chunks: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections) {
    if (s.patches.length === 0) {
      chunks.push(bytes.subarray(s.start, s.end));
      continue;
    }
    const payload: Uint8Array[] = [];
    let at = s.payload;
    for (const p of s.patches) {
      payload.push(bytes.subarray(at, p.start), Uint8Array.from(p.bytes));
      at = p.end;
    }
    payload.push(bytes.subarray(at, s.end));
    const size = payload.reduce((n, c) => n + c.length, 0);
    chunks.push(Uint8Array.of(bytes[s.start]!, ...uleb(BigInt(size))), ...payload);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return out;
}
