import { createHash } from 'node:crypto';

/** Lowercase hex sha256 of `data`. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export const DIGEST_RE = /^[0-9a-f]{64}$/;

/**
 * Canonical JSON of plain data: object keys sorted (by UTF-16 code units, as Array.sort), no
 * whitespace, so equal values give equal text and so equal digests. Only JSON values are
 * accepted (null, booleans, finite numbers, strings, arrays, plain objects); a property whose
 * value is undefined is left out, as JSON.stringify does. Anything else (typed arrays, Dates,
 * Maps, functions, bigints, NaN, cycles) is refused with an Error naming where it was, rather
 * than silently turned into something else.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$', new Set());
}

function encode(v: unknown, at: string, seen: Set<object>): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw notJson(at, String(v));
    return JSON.stringify(v);
  }
  if (typeof v !== 'object') throw notJson(at, typeof v);
  if (seen.has(v)) throw notJson(at, 'a cycle');
  seen.add(v);
  try {
    if (Array.isArray(v)) {
      return '[' + v.map((x, i) => encode(x, `${at}[${i}]`, seen)).join(',') + ']';
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw notJson(at, proto?.constructor?.name ?? 'an object with a prototype');
    const rec = v as Record<string, unknown>;
    const parts: string[] = [];
    for (const k of Object.keys(rec).sort()) {
      if (rec[k] === undefined) continue;
      parts.push(JSON.stringify(k) + ':' + encode(rec[k], `${at}.${k}`, seen));
    }
    return '{' + parts.join(',') + '}';
  } finally {
    seen.delete(v);
  }
}

function notJson(at: string, what: string): Error {
  return new Error(`not plain JSON at ${at}: ${what}`);
}
