/**
 * A small generated wasm module between the guest and the JS import functions, for every
 * import with an i64 parameter. V8 turns an i64 crossing into JS into a BigInt (an allocation
 * per call, and BigInt arithmetic after); a wasm-to-wasm call costs nothing of the kind. So
 * the adapter exports each such function with the signature the guest imports, and calls the
 * JS function with every i64 split into two i32 halves (low, then high: i64.ts). Functions
 * without an i64 parameter go to JS directly.
 *
 * The module is built from the signature table alone, so it is the same for every guest:
 * compiled once per thread, instantiated per guest with that guest's JS functions.
 */
import type { Signature, ValType } from './signatures.js';

/** The JS signature of a wasm signature: each i64 parameter as two i32. */
export function splitSignature(sig: Signature): Signature {
  return { params: sig.params.flatMap((t) => (t === 'i64' ? ['i32', 'i32'] as const : [t])), results: sig.results };
}

export function hasI64Param(sig: Signature): boolean {
  return sig.params.includes('i64');
}

const VAL: Record<ValType, number> = { i32: 0x7f, i64: 0x7e };

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/**
 * The adapter's bytes for `sigs` (name → the guest's signature): it imports `j.NAME` with the
 * split signature and exports `NAME` with the guest's. A name section names each function
 * `NAME` (the import) and `NAME:i64` (the adapter), so stacks and profiles read plainly.
 */
export function adapterBytes(sigs: Readonly<Record<string, Signature>>): Uint8Array<ArrayBuffer> {
  const names = Object.keys(sigs).filter((n) => hasI64Param(sigs[n]!)).sort();
  const types: number[][] = [];
  const typeKeys = new Map<string, number>();
  const typeIndex = (sig: Signature): number => {
    const bytes = [0x60, ...vec(sig.params.map((t) => [VAL[t]])), ...vec(sig.results.map((t) => [VAL[t]]))];
    const key = bytes.join(',');
    let i = typeKeys.get(key);
    if (i === undefined) {
      i = types.length;
      types.push(bytes);
      typeKeys.set(key, i);
    }
    return i;
  };
  const imports = names.map((n) => [...name('j'), ...name(n), 0x00, ...uleb(typeIndex(splitSignature(sigs[n]!)))]);
  const funcs = names.map((n) => uleb(typeIndex(sigs[n]!)));
  const exports = names.map((n, i) => [...name(n), 0x00, ...uleb(names.length + i)]);
  const bodies = names.map((n, i) => {
    const code: number[] = [0x00]; // no locals
    sigs[n]!.params.forEach((t, p) => {
      if (t === 'i32') {
        code.push(0x20, ...uleb(p)); // local.get p
      } else {
        code.push(0x20, ...uleb(p), 0xa7); // local.get p; i32.wrap_i64 (low half)
        code.push(0x20, ...uleb(p), 0x42, 0x20, 0x88, 0xa7); // local.get p; i64.const 32; i64.shr_u; i32.wrap_i64 (high half)
      }
    });
    code.push(0x10, ...uleb(i), 0x0b); // call import i; end
    return [...uleb(code.length), ...code];
  });
  const fnNames = vec([...names.map((n, i) => [...uleb(i), ...name(n)]), ...names.map((n, i) => [...uleb(names.length + i), ...name(`${n}:i64`)])]);
  const nameSection = [...name('name'), 0x01, ...uleb(fnNames.length), ...fnNames];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(funcs)),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
    ...section(0, nameSection),
  ]);
}

const compiled = new Map<Readonly<Record<string, Signature>>, WebAssembly.Module>();

/**
 * The import object a guest links against for one import module: `fns` (JS functions, i64s
 * split) with every function that has an i64 parameter replaced by the adapter's export.
 */
export function adapt<F extends Record<string, (...args: never[]) => unknown>>(fns: F, sigs: Readonly<Record<string, Signature>>): WebAssembly.ModuleImports {
  let module = compiled.get(sigs);
  if (module === undefined) {
    module = new WebAssembly.Module(adapterBytes(sigs));
    compiled.set(sigs, module);
  }
  const exports = new WebAssembly.Instance(module, { j: fns as unknown as WebAssembly.ModuleImports }).exports;
  return { ...fns, ...exports } as WebAssembly.ModuleImports;
}
