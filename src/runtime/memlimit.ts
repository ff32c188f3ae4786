// A memory limit for untrusted guests, enforced by rewriting the module before it is compiled:
// every memory (defined or imported) gets a declared maximum of at most the limit, so a
// `memory.grow` past it returns -1 inside the guest, exactly as WebAssembly specifies for
// growing past the declared maximum, instead of taking the host's memory.

const PAGE = 65536;
/** The most pages a memory may declare: 4 GiB for memory32, 2^64 bytes for memory64. */
const MAX_PAGES_32 = 65536n;
const MAX_PAGES_64 = 1n << 48n;

function fail(message: string): never {
  throw new Error(`limitMemory: ${message}`);
}

/** A bounds-checked cursor over bytes [pos, end) of the module (`what`): reads past `end` throw. */
class Reader {
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number, readonly what: string) {}

  private truncated(): never {
    fail(`unexpected end of ${this.what} at byte ${this.pos}`);
  }

  u8(): number {
    if (this.pos >= this.end) this.truncated();
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most `bits` bits (u32 or u64). */
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

  skip(n: number): void {
    if (n > this.end - this.pos) this.truncated();
    this.pos += n;
  }

  /** Skips a signed LEB128 of at most 33 bits (a heap type). */
  s33(): void {
    for (let i = 0; this.u8() & 0x80; i++) if (i >= 4) fail(`LEB128 s33 too long at byte ${this.pos}`);
  }
}

function uleb(value: bigint): number[] {
  const out: number[] = [];
  do {
    const b = Number(value & 0x7fn);
    value >>= 7n;
    out.push(value === 0n ? b : b | 0x80);
  } while (value !== 0n);
  return out;
}

/** A replacement of the bytes [start, end) of the module. */
interface Patch {
  start: number;
  end: number;
  bytes: Uint8Array;
}

/** Reads memory limits (flags: 1 = has max, 2 = shared, 4 = memory64) and patches them if needed. */
function memoryLimits(r: Reader, limitPages: bigint, patches: Patch[]): void {
  const start = r.pos;
  const flags = r.u8();
  if (flags & ~0x07) fail(`unsupported memory limits flags 0x${flags.toString(16)} at byte ${start}`);
  const bits = flags & 0x04 ? 64 : 32;
  const min = r.uleb(bits);
  const max = flags & 0x01 ? r.uleb(bits) : undefined;
  const most = bits === 64 ? MAX_PAGES_64 : MAX_PAGES_32;
  const cap = limitPages < most ? limitPages : most;
  if (min > cap) {
    const mib = +(Number(cap) / 16).toFixed(2);
    throw new Error(`the module needs ${min} pages of memory at start, over the limit of ${cap} pages (${mib} MiB)`);
  }
  if (max !== undefined && max <= cap) return;
  patches.push({ start, end: r.pos, bytes: Uint8Array.from([flags | 0x01, ...uleb(min), ...uleb(cap)]) });
}

/** Skips a value or reference type: one byte, or `ref`/`ref null` (0x64/0x63) and a heap type. */
function valType(r: Reader): void {
  const t = r.u8();
  if (t === 0x63 || t === 0x64) r.s33();
}

/** Skips table limits (u32, or u64 for table64). */
function tableLimits(r: Reader): void {
  const flags = r.u8();
  if (flags & ~0x05) fail(`unsupported table limits flags 0x${flags.toString(16)} at byte ${r.pos - 1}`);
  const bits = flags & 0x04 ? 64 : 32;
  r.uleb(bits);
  if (flags & 0x01) r.uleb(bits);
}

function importSection(r: Reader, limitPages: bigint, patches: Patch[]): void {
  for (let n = r.u32(); n > 0; n--) {
    r.skip(r.u32()); // module name
    r.skip(r.u32()); // field name
    const kind = r.u8();
    if (kind === 0) r.u32(); // function: type index
    else if (kind === 1) (valType(r), tableLimits(r));
    else if (kind === 2) memoryLimits(r, limitPages, patches);
    else if (kind === 3) (valType(r), r.u8()); // global: type, mutability
    else if (kind === 4) (r.u8(), r.u32()); // tag: attribute, type index
    else fail(`unknown import kind ${kind} at byte ${r.pos - 1}`);
  }
}

function memorySection(r: Reader, limitPages: bigint, patches: Patch[]): void {
  for (let n = r.u32(); n > 0; n--) memoryLimits(r, limitPages, patches);
}

/**
 * Returns a copy of the WebAssembly module `bytes` in which every memory, defined or imported,
 * declares a maximum of at most floor(limitBytes / 65536) pages (a lower declared maximum is
 * kept), so that `memory.grow` past the limit returns -1 in the guest. Sections other than the
 * import and memory sections are copied byte for byte. Returns `bytes` itself when no memory
 * needs a change (e.g. the module has no memory). Throws an Error when the module is malformed
 * or a memory's initial size is already over the limit.
 */
export function limitMemory(bytes: Uint8Array, limitBytes: number): Uint8Array {
  if (!Number.isFinite(limitBytes) || limitBytes < 0) fail(`bad memory limit ${limitBytes}`);
  const limitPages = BigInt(Math.floor(limitBytes / PAGE));
  const r = new Reader(bytes, 0, bytes.length, 'module');
  for (const m of [0x00, 0x61, 0x73, 0x6d]) if (r.u8() !== m) fail('not a WebAssembly module (bad magic)');
  const version = (r.u8() | (r.u8() << 8) | (r.u8() << 16) | (r.u8() << 24)) >>> 0;
  if (version !== 1) fail(`unsupported WebAssembly binary version ${version}`);

  const sections: { start: number; payload: number; end: number; patches: Patch[] }[] = [];
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.u8();
    const size = r.u32();
    const payload = r.pos;
    if (size > bytes.length - payload) fail(`section ${id} at byte ${start} has size ${size}, past the end of the module`);
    const end = payload + size;
    const patches: Patch[] = [];
    if (id === 2 || id === 5) {
      const s = new Reader(bytes, payload, end, `section ${id}`);
      (id === 2 ? importSection : memorySection)(s, limitPages, patches);
      if (s.pos !== end) fail(`section ${id} at byte ${start} has ${end - s.pos} byte(s) left after its contents`);
    }
    sections.push({ start, payload, end, patches });
    r.pos = end;
  }
  if (sections.every((s) => s.patches.length === 0)) return bytes;

  // Untouched sections are copied as they are; a patched one gets its size re-encoded.
  const chunks: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections) {
    if (s.patches.length === 0) {
      chunks.push(bytes.subarray(s.start, s.end));
      continue;
    }
    const payload: Uint8Array[] = [];
    let at = s.payload;
    for (const p of s.patches) {
      payload.push(bytes.subarray(at, p.start), p.bytes);
      at = p.end;
    }
    payload.push(bytes.subarray(at, s.end));
    const size = payload.reduce((n, c) => n + c.length, 0);
    chunks.push(Uint8Array.from([bytes[s.start]!, ...uleb(BigInt(size))]), ...payload);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
