// The import reader: exact on real modules, a clean error (never a throw, hang or huge
// allocation) on hostile bytes, and checkImports' one-line answers.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ImportReadError, checkImports, readImports } from './imports.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const wasmFiles = ['tests/guests', 'examples'].flatMap((d) =>
  readdirSync(path.join(root, d)).filter((f) => f.endsWith('.wasm')).map((f) => path.join(root, d, f)));

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    const b = n & 0x7f;
    n = Math.floor(n / 128);
    out.push(n ? b | 0x80 : b);
  } while (n);
  return out;
};
const str = (s: string): number[] => [...leb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, payload: number[]): number[] => [id, ...leb(payload.length), ...payload];
const module = (...sections: number[][]): Uint8Array => Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sections.flat()]);
const I32 = 0x7f, I64 = 0x7e;
const funcImport = (m: string, n: string, type: number) => [...str(m), ...str(n), 0, ...leb(type)];

/** readImports never throws anything but ImportReadError. */
function safeRead(bytes: Uint8Array): void {
  try {
    readImports(bytes);
  } catch (e) {
    if (!(e instanceof ImportReadError)) throw e;
  }
  const r = checkImports(bytes);
  assert.ok(r === null || (typeof r === 'string' && !r.includes('\n')));
}

describe('readImports', () => {
  it('reads the same imports as V8 from every committed module', () => {
    assert.ok(wasmFiles.length > 20);
    for (const f of wasmFiles) {
      const bytes = readFileSync(f);
      const v8 = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
      const ours = readImports(bytes);
      assert.deepEqual(ours.map((i) => [i.module, i.name, typeof i.type === 'string' ? i.type : 'function']),
        v8.map((i) => [i.module, i.name, i.kind]).slice(0, ours.length), f);
      assert.equal(ours.length, v8.length, f);
    }
  });

  it('reads GC type sections (rec groups, sub types, structs, arrays, ref types)', () => {
    const types = section(1, vec([
      [0x4e, 2, 0x5f, 1, 0x7f, 1, /* sub final */ 0x4f, 1, 0, 0x5e, 0x78, 0],
      [0x50, 0, 0x60, 2, 0x63, 0x70, 0x64, 0, 1, 0x6f],
      [0x60, 4, I32, I64, I32, I32, 1, I32],
    ]));
    const bytes = module(types, section(2, vec([funcImport('m', 'a', 2), funcImport('wasi_snapshot_preview1', 'fd_seek', 3)])));
    assert.deepEqual(readImports(bytes), [
      { module: 'm', name: 'a', type: { params: ['(ref null func)', '(ref 0)'], results: ['externref'] } },
      { module: 'wasi_snapshot_preview1', name: 'fd_seek', type: { params: ['i32', 'i64', 'i32', 'i32'], results: ['i32'] } },
    ]);
    assert.throws(() => readImports(module(types, section(2, vec([funcImport('m', 'a', 0)])))), /type 0 is not a function type/);
  });

  it('answers a clean error for malformed bytes', () => {
    const cases: [Uint8Array, RegExp][] = [
      [Uint8Array.from([1, 2, 3]), /not a WebAssembly module at byte 0/],
      [module([1, 0xff, 0xff, 0xff, 0xff, 0x0f]), /section 1 runs past the end at byte 9/],
      [module([1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /LEB128 u32 too long or too large at byte 9/],
      // Four billion types announced, none there: ends at the end of the section, allocating nothing.
      [module(section(1, [0xff, 0xff, 0xff, 0xff, 0x0f])), /unexpected end at byte 15/],
      [module(section(1, vec([[0x60, 1, 0x40, 0]]))), /unknown value type 0x40/],
      [module(section(1, vec([[0x61]]))), /unknown type form 0x61/],
      [module(section(2, vec([funcImport('m', 'a', 7)]))), /type index 7 out of range/],
      [module(section(2, [1, 1, 0xff, 1, 0x61, 0, 0])), /a name is not UTF-8/],
      [module(section(1, [...vec([[0x60, 0, 0]]), 9])), /trailing bytes in the type section/],
    ];
    for (const [bytes, re] of cases) {
      assert.throws(() => readImports(bytes), (e) => e instanceof ImportReadError && re.test(e.message), String(re));
      assert.match(checkImports(bytes)!, /^cannot read the imports of the module: /);
    }
  });

  it('never throws, hangs or answers more than one line on hostile bytes', () => {
    const good = readFileSync(path.join(root, 'tests/guests/all_imports.wasm'));
    // Every prefix of a real module.
    for (let n = 0; n <= 600; n++) safeRead(good.subarray(0, n));
    const t0 = Date.now();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (tail) => safeRead(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...tail]))), { numRuns: 3000 });
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(599), fc.nat(255)), { minLength: 1, maxLength: 8 }), (flips) => {
      const b = Uint8Array.from(good.subarray(0, 600));
      for (const [at, v] of flips) b[at] = v;
      safeRead(b);
    }), { numRuns: 3000 });
    assert.ok(Date.now() - t0 < 20000);
  });
});

describe('checkImports', () => {
  const sig = (params: number[], results: number[]) => [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
  const one = (params: number[], results: number[], m = 'wasi_snapshot_preview1', n = 'fd_write') =>
    module(section(1, vec([sig(params, results)])), section(2, vec([funcImport(m, n, 0)])));

  it('accepts a module importing every WASI function with its signature', () => {
    assert.equal(checkImports(readFileSync(path.join(root, 'tests/guests/all_imports.wasm'))), null);
    assert.equal(checkImports(one([I32, I32, I32, I32], [I32])), null);
    assert.equal(checkImports(module()), null);
  });

  it('names the import and both signatures', () => {
    assert.equal(checkImports(one([I32], [I32]), 'x.wasm'),
      'x.wasm imports wasi_snapshot_preview1.fd_write as (i32) -> i32, but wtm provides (i32, i32, i32, i32) -> i32');
    assert.equal(checkImports(one([I32, I32, I32, I32], [I32], 'wasi_snapshot_preview1', 'clock_time_get')),
      'the module imports wasi_snapshot_preview1.clock_time_get as (i32, i32, i32, i32) -> i32, but wtm provides (i32, i64, i32) -> i32');
    assert.equal(checkImports(one([I32], [], 'wtm', 'task_cancel')),
      'the module imports wtm.task_cancel as (i32) -> (), but wtm provides (i32) -> i32');
    assert.equal(checkImports(one([I32], [], 'env', 'f')), 'the module imports env.f, which wtm does not provide');
    assert.equal(checkImports(one([I32], [], 'wasi_snapshot_preview1', 'toString')), 'the module imports wasi_snapshot_preview1.toString, which wtm does not provide');
  });

  it('refuses a non-function import of a provided name', () => {
    const mem = module(section(2, vec([[...str('wasi_snapshot_preview1'), ...str('fd_write'), 2, 0, 1]])));
    assert.equal(checkImports(mem), 'the module imports wasi_snapshot_preview1.fd_write as a memory, but wtm provides a function (i32, i32, i32, i32) -> i32');
  });

  it('quotes names that would break the line, and cuts long ones', () => {
    assert.equal(checkImports(one([], [], 'env', 'a\nb')), 'the module imports env."a\\nb", which wtm does not provide');
    const r = checkImports(one([], [], 'x'.repeat(100000), 'f'))!;
    assert.ok(r.length < 200, r);
  });
});
