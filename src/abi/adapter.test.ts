// The i64 adapter: a guest's i64 arguments must reach the JS functions as exact halves, for
// every function that has one, through the real generated module; and the halves must turn
// back into the numbers the System takes, with values past 2^53 refused rather than rounded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapt, adapterBytes, hasI64Param, splitSignature } from './adapter.js';
import { rights, s64, u64, u64n } from './i64.js';
import { WASI_SIGNATURES } from './signatures.js';

const VALUES = [0n, 1n, 0xffffffffn, 0x100000000n, 0x123456789abcdef0n, -1n, -2n, 2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n) + 1n, -(2n ** 63n)];
const lo = (v: bigint) => Number(BigInt.asUintN(32, v)) | 0;
const hi = (v: bigint) => Number(BigInt.asIntN(32, v >> 32n));

describe('i64 adapter', () => {
  it('is a valid module exporting exactly the functions with an i64 parameter', () => {
    const bytes = adapterBytes(WASI_SIGNATURES);
    assert.ok(WebAssembly.validate(bytes));
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name).sort();
    const want = Object.keys(WASI_SIGNATURES).filter((n) => hasI64Param(WASI_SIGNATURES[n]!)).sort();
    assert.deepEqual(exports, want);
    assert.ok(want.includes('clock_time_get') && want.includes('path_open') && want.includes('fd_seek'));
  });

  for (const [name, sig] of Object.entries(WASI_SIGNATURES).filter(([, s]) => hasI64Param(s))) {
    it(`${name}: every argument reaches JS in place, each i64 as (low, high) halves`, () => {
      let got: number[] = [];
      const split = splitSignature(sig);
      const fns: Record<string, (...a: number[]) => number> = {};
      for (const n of Object.keys(WASI_SIGNATURES)) fns[n] = (...a: number[]) => { got = a; return 77; };
      const imports = adapt(fns, WASI_SIGNATURES);
      assert.notEqual(imports[name], fns[name], 'the guest links to the adapter, not to JS');
      for (const v of VALUES) {
        // i32 arguments 10, 11, ...; every i64 argument `v` (then v+1, ...).
        const args = sig.params.map((t, i) => (t === 'i64' ? v + BigInt(i) : 10 + i));
        const ret = (imports[name] as (...a: unknown[]) => number)(...args);
        assert.equal(ret, 77);
        const want = sig.params.flatMap((t, i) => (t === 'i64' ? [lo(v + BigInt(i)), hi(v + BigInt(i))] : [10 + i]));
        assert.equal(got.length, split.params.length);
        assert.deepEqual(got, want, `${name}(${args.join(', ')})`);
      }
    });
  }

  it('functions without an i64 parameter go to JS directly', () => {
    const fns: Record<string, () => number> = {};
    for (const n of Object.keys(WASI_SIGNATURES)) fns[n] = () => 0;
    const imports = adapt(fns, WASI_SIGNATURES);
    assert.equal(imports.fd_write, fns.fd_write);
    assert.equal(imports.clock_res_get, fns.clock_res_get);
  });
});

describe('i64 halves', () => {
  it('u64: exact below 2^53, Infinity from there', () => {
    for (const v of VALUES) {
      const u = BigInt.asUintN(64, v);
      const want = u <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(u) : Infinity;
      assert.equal(u64(lo(v), hi(v)), want, String(v));
      assert.equal(u64n(lo(v), hi(v)), u, String(v));
    }
  });
  it('s64: exact within ±(2^53 - 1), ±Infinity past it', () => {
    for (const v of VALUES) {
      const s = BigInt.asIntN(64, v);
      const safe = s <= BigInt(Number.MAX_SAFE_INTEGER) && s >= BigInt(Number.MIN_SAFE_INTEGER);
      assert.equal(s64(lo(v), hi(v)), safe ? Number(s) : s > 0n ? Infinity : -Infinity, String(v));
    }
  });
  it('rights: the low 30 bits', () => {
    assert.equal(rights(lo(-1n), hi(-1n)), 0x3fffffff);
    assert.equal(rights(lo(0x1_0000_0003n), hi(0x1_0000_0003n)), 3);
  });
});
