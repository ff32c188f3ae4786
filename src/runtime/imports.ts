// The imports of a module with their signatures, read from its bytes: Node 20's
// WebAssembly.Module.imports() gives names and kinds but not the types, and a JS host function
// accepts any signature, so without this a module importing fd_write as (i32) -> i32 would run
// (wasmtime refuses it at link time). Only the type (1) and import (2) sections are read; the
// reader is bounded by the bytes (every count is paid for with at least one byte each, nothing
// is allocated by a count) and answers a clean ImportReadError for anything it cannot read.
import { PROVIDED_SIGNATURES, formatSignature } from '../abi/signatures.js';

export class ImportReadError extends Error {}

/** A function type; value types as wat spells them ('i32', 'f64', 'externref', '(ref null 3)'). */
export interface FuncType {
  params: string[];
  results: string[];
}

export interface ModuleImport {
  module: string;
  name: string;
  /** The function's type, or the kind of a non-function import ('table', 'memory', 'global', 'tag'). */
  type: FuncType | string;
}

const KINDS = ['function', 'table', 'memory', 'global', 'tag'];

const NUM_TYPES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' };
/** Abstract heap types by their (negative, one-byte) s33 code. */
const HEAP_TYPES: Record<number, string> = {
  0x74: 'noexn', 0x73: 'nofunc', 0x72: 'noextern', 0x71: 'none', 0x70: 'func', 0x6f: 'extern',
  0x6e: 'any', 0x6d: 'eq', 0x6c: 'i31', 0x6b: 'struct', 0x6a: 'array', 0x69: 'exn',
};

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array, private end = bytes.byteLength) {}

  fail(message: string, at = this.pos): never {
    throw new ImportReadError(`${message} at byte ${at}`);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 u32 (at most 5 bytes). */
  u32(): number {
    const start = this.pos;
    let result = 0;
    for (let i = 0; ; i++) {
      const b = this.u8();
      if (i === 4 && b > 0x0f) this.fail('LEB128 u32 too long or too large', start);
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return result;
    }
  }

  /** A signed LEB128 s33 (a heap type: negative = abstract, else a type index). */
  s33(): number {
    const start = this.pos;
    let result = 0;
    for (let i = 0; ; i++) {
      const b = this.u8();
      if (i === 4 && (b & 0x80)) this.fail('LEB128 s33 too long', start);
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return b & 0x40 ? result - 2 ** (7 * (i + 1)) : result;
    }
  }

  /** Reads a length-prefixed region: a sub-reader over it, this one moved past it. */
  region(what: string): Reader {
    const start = this.pos;
    const len = this.u32();
    if (len > this.end - this.pos) this.fail(`${what} runs past the end`, start);
    const sub = new Reader(this.bytes, this.pos + len);
    sub.pos = this.pos;
    this.pos += len;
    return sub;
  }

  name(): string {
    const r = this.region('a name');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(r.pos, r.end));
    } catch {
      return this.fail('a name is not UTF-8', r.pos);
    }
  }
}

function valType(r: Reader): string {
  const at = r.pos;
  const b = r.u8();
  const t = NUM_TYPES[b] ?? (HEAP_TYPES[b] !== undefined ? `${HEAP_TYPES[b]}ref` : undefined);
  if (t !== undefined) return t;
  if (b === 0x63 || b === 0x64) {
    const h = r.s33();
    const heap = h >= 0 ? String(h) : HEAP_TYPES[h + 128];
    if (heap === undefined) r.fail('unknown heap type', at + 1);
    return `(ref ${b === 0x63 ? 'null ' : ''}${heap})`;
  }
  return r.fail(`unknown value type 0x${b.toString(16)}`, at);
}

function fieldType(r: Reader): void {
  const b = r.u8();
  if (b !== 0x78 && b !== 0x77) {
    r.pos--;
    valType(r);
  }
  if (r.u8() > 1) r.fail('bad field mutability', r.pos - 1);
}

/** One composite type: a function type, or null for a struct or array (never imported as a function). */
function compType(r: Reader): FuncType | null {
  const at = r.pos;
  const form = r.u8();
  if (form === 0x60) {
    const params: string[] = [], results: string[] = [];
    for (let n = r.u32(); n > 0; n--) params.push(valType(r));
    for (let n = r.u32(); n > 0; n--) results.push(valType(r));
    return { params, results };
  }
  if (form === 0x5f) {
    for (let n = r.u32(); n > 0; n--) fieldType(r);
    return null;
  }
  if (form === 0x5e) {
    fieldType(r);
    return null;
  }
  return r.fail(`unknown type form 0x${form.toString(16)}`, at);
}

function subType(r: Reader, types: (FuncType | null)[]): void {
  const b = r.u8();
  if (b === 0x50 || b === 0x4f) {
    for (let n = r.u32(); n > 0; n--) r.u32();
  } else {
    r.pos--;
  }
  types.push(compType(r));
}

function typeSection(r: Reader, types: (FuncType | null)[]): void {
  for (let n = r.u32(); n > 0; n--) {
    if (r.u8() === 0x4e) {
      for (let m = r.u32(); m > 0; m--) subType(r, types);
    } else {
      r.pos--;
      subType(r, types);
    }
  }
}

/** `\0asm`: the first bytes of every binary module. */
export function hasWasmMagic(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d;
}

/** A reader at the first section of a module (after its magic and version). */
function sectionsReader(bytes: Uint8Array): Reader {
  const r = new Reader(bytes);
  if (!hasWasmMagic(bytes)) r.fail('not a WebAssembly module', 0);
  r.pos = 8;
  return r;
}

/**
 * The imports of a module, in order, up to and including its first non-function import (whose
 * descriptor is not read: wtm provides only functions, so it is refused whatever it is).
 * Throws ImportReadError for bytes it cannot read.
 */
export function readImports(bytes: Uint8Array): ModuleImport[] {
  const r = sectionsReader(bytes);
  const types: (FuncType | null)[] = [];
  const out: ModuleImport[] = [];
  while (!r.done) {
    const id = r.u8();
    const s: Reader = r.region(`section ${id}`);
    if (id === 1) {
      typeSection(s, types);
    } else if (id === 2) {
      for (let n = s.u32(); n > 0; n--) {
        const module = s.name(), name = s.name();
        const at = s.pos;
        const kind = s.u8();
        if (kind !== 0) {
          out.push({ module, name, type: KINDS[kind] ?? `import of kind 0x${kind.toString(16)}` });
          return out;
        }
        const index = s.u32();
        const type = types[index];
        if (type === undefined) s.fail(`type index ${index} out of range`, at + 1);
        if (type === null) s.fail(`type ${index} is not a function type`, at + 1);
        out.push({ module, name, type });
      }
      if (!s.done) s.fail('trailing bytes in the import section');
      return out;
    } else if (id !== 0) {
      return out; // past where imports can be
    }
    if (id === 1 && !s.done) s.fail('trailing bytes in the type section');
  }
  return out;
}

/** A name as it can be printed in one line: quoted when it holds anything but visible ASCII, and cut when long. */
function printable(name: string): string {
  const cut = name.length > 80 ? name.slice(0, 80) + '…' : name;
  return /^[\x21-\x7e]+$/.test(name) ? cut : JSON.stringify(cut);
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The first import of the module (`bytes`) that wtm cannot satisfy, as one line starting with
 * `where`: a function wtm does not provide, a non-function import, or a provided function
 * imported with another signature. Null when every import links.
 */
export function checkImports(bytes: Uint8Array, where = 'the module'): string | null {
  let imports: ModuleImport[];
  try {
    imports = readImports(bytes);
  } catch (e) {
    if (e instanceof ImportReadError) return `cannot read the imports of ${where}: ${e.message}`;
    throw e;
  }
  for (const imp of imports) {
    const full = `${printable(imp.module)}.${printable(imp.name)}`;
    const provided = Object.hasOwn(PROVIDED_SIGNATURES, imp.module) && Object.hasOwn(PROVIDED_SIGNATURES[imp.module]!, imp.name)
      ? PROVIDED_SIGNATURES[imp.module]![imp.name]! : undefined;
    if (!provided) return `${where} imports ${full}, which wtm does not provide`;
    if (typeof imp.type === 'string') return `${where} imports ${full} as a ${imp.type}, but wtm provides a function ${formatSignature(provided)}`;
    if (!same(imp.type.params, provided.params) || !same(imp.type.results, provided.results)) {
      return `${where} imports ${full} as ${formatSignature(imp.type)}, but wtm provides ${formatSignature(provided)}`;
    }
  }
  return null;
}

/**
 * The types of a module's exported functions, by export name: from its type (1), function (3)
 * and export (7) sections. `importedFunctions` (how many functions the module imports, e.g.
 * from WebAssembly.Module.imports) offsets the function index space. For `--invoke`.
 */
export function readExportTypes(bytes: Uint8Array, importedFunctions: number): Map<string, FuncType> {
  const r = sectionsReader(bytes);
  const types: (FuncType | null)[] = [];
  const funcs: number[] = [];
  const out = new Map<string, FuncType>();
  while (!r.done) {
    const id = r.u8();
    const s: Reader = r.region(`section ${id}`);
    if (id === 1) typeSection(s, types);
    else if (id === 3) for (let n = s.u32(); n > 0; n--) funcs.push(s.u32());
    else if (id === 7) {
      for (let n = s.u32(); n > 0; n--) {
        const name = s.name();
        const kind = s.u8();
        const index = s.u32();
        if (kind !== 0 || index < importedFunctions) continue;
        const type = types[funcs[index - importedFunctions] ?? -1];
        if (type) out.set(name, type);
      }
      return out;
    }
  }
  return out;
}
