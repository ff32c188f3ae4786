/**
 * What a profile needs of a wasm module: function names from its "name" custom section
 * (https://webassembly.github.io/spec/core/appendix/custom.html#name-section) and where each
 * function's code is, so a frame V8 shows by index or by code offset can be given its name.
 * A small reader of the binary format: sections, imports (to count imported functions, which
 * come first in the function index space), code bodies and the name section.
 */
export interface WasmNames {
  /** The module's own name (subsection 0), if it has one. */
  module?: string;
  /** Function index (imports first) -> name (subsection 1). */
  functions: Map<number, string>;
  /** Functions imported: the first defined function's index. */
  importedFunctions: number;
  /** Each defined function's code: its index and the byte range of its body in the module (after the size). */
  bodies: { index: number; start: number; end: number }[];
}

/** The module is not one this reader understands. */
export class WasmFormatError extends Error {}

class Reader {
  constructor(readonly b: Uint8Array, public at = 0, readonly end = b.byteLength) {}
  u8(): number {
    if (this.at >= this.end) throw new WasmFormatError(`unexpected end at byte ${this.at}`);
    return this.b[this.at++]!;
  }
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new WasmFormatError(`LEB128 number too long at byte ${this.at}`);
  }
  bytes(n: number): Uint8Array {
    if (n > this.end - this.at) throw new WasmFormatError(`a length of ${n} runs past the end at byte ${this.at}`);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  name(): string {
    return new TextDecoder().decode(this.bytes(this.uleb()));
  }
}

function skipLimits(r: Reader): void {
  const flags = r.u8();
  r.uleb();
  if (flags & 1) r.uleb();
}

/** Reads the names and code layout of a module (WasmFormatError when it is not valid wasm). */
export function readWasmNames(bytes: Uint8Array): WasmNames {
  const r = new Reader(bytes);
  const head = r.bytes(8);
  if (head[0] !== 0 || head[1] !== 0x61 || head[2] !== 0x73 || head[3] !== 0x6d) throw new WasmFormatError('not a wasm module (bad magic)');
  const out: WasmNames = { functions: new Map(), importedFunctions: 0, bodies: [] };
  while (r.at < r.end) {
    const id = r.u8();
    const size = r.uleb();
    const s = new Reader(bytes, r.at, r.at + size);
    if (s.end > r.end) throw new WasmFormatError(`section ${id} runs past the end of the module`);
    r.at = s.end;
    if (id === 2) readImports(s, out);
    else if (id === 10) readCode(s, out);
    else if (id === 0 && s.name() === 'name') readNameSection(s, out);
  }
  return out;
}

function readImports(s: Reader, out: WasmNames): void {
  const n = s.uleb();
  for (let i = 0; i < n; i++) {
    s.name();
    s.name();
    const kind = s.u8();
    switch (kind) {
      case 0: s.uleb(); out.importedFunctions++; break; // function: its type index
      case 1: s.u8(); skipLimits(s); break; // table: element type, limits
      case 2: skipLimits(s); break; // memory
      case 3: s.u8(); s.u8(); break; // global: value type, mutability
      case 4: s.u8(); s.uleb(); break; // tag
      default: throw new WasmFormatError(`import of unknown kind ${kind}`);
    }
  }
}

function readCode(s: Reader, out: WasmNames): void {
  const n = s.uleb();
  for (let i = 0; i < n; i++) {
    const size = s.uleb();
    const start = s.at;
    s.bytes(size);
    out.bodies.push({ index: out.importedFunctions + i, start, end: start + size });
  }
}

function readNameSection(s: Reader, out: WasmNames): void {
  // A damaged name section loses the names, not the profile.
  try {
    while (s.at < s.end) {
      const id = s.u8();
      const size = s.uleb();
      const sub = new Reader(s.b, s.at, s.at + size);
      if (sub.end > s.end) return;
      s.at = sub.end;
      if (id === 0) {
        out.module = sub.name();
      } else if (id === 1) {
        const n = sub.uleb();
        for (let i = 0; i < n; i++) {
          const index = sub.uleb();
          out.functions.set(index, sub.name());
        }
      }
    }
  } catch (e) {
    if (!(e instanceof WasmFormatError)) throw e;
  }
}

/** The index of the function whose body holds byte `offset`, if any. */
export function functionAt(names: WasmNames, offset: number): number | undefined {
  const list = names.bodies;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = list[mid]!;
    if (offset < b.start) hi = mid - 1;
    else if (offset >= b.end) lo = mid + 1;
    else return b.index;
  }
  return undefined;
}
