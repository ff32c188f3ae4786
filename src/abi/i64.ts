/**
 * i64 arguments reach the JS side of wtm as two i32 halves (`Lo`, `Hi`: see adapter.ts), so a
 * call never makes a BigInt. These turn the halves back into what the System takes.
 *
 * `Lo` and `Hi` are numbers; the names mark, for signatures.test.ts, the two halves of one i64
 * parameter of the wasm signature. They always come as a pair, `Lo` first.
 */
export type Lo = number;
export type Hi = number;

const TWO32 = 4294967296;
/** 2^53 / 2^32: a high half at or past this makes a u64 past Number.MAX_SAFE_INTEGER. */
const SAFE_HI = 2097152;

/** A u64 as a number; values past 2^53 - 1 become Infinity, which the System refuses. */
export function u64(lo: Lo, hi: Hi): number {
  const h = hi >>> 0;
  if (h >= SAFE_HI) return Infinity;
  return h * TWO32 + (lo >>> 0);
}

/** An s64 as a number; values outside ±(2^53 - 1) become ±Infinity, which the System refuses. */
export function s64(lo: Lo, hi: Hi): number {
  const h = hi | 0;
  if (h >= SAFE_HI) return Infinity;
  if (h < -SAFE_HI || (h === -SAFE_HI && (lo >>> 0) === 0)) return -Infinity;
  return h * TWO32 + (lo >>> 0);
}

/** Rights: only the low 30 bits mean anything. */
export function rights(lo: Lo, _hi: Hi): number {
  return lo & 0x3fffffff;
}

/** A u64 whole, as a BigInt (timestamps, whose calls are rare). */
export function u64n(lo: Lo, hi: Hi): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
