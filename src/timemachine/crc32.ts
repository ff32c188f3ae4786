// CRC-32 (IEEE 802.3, the one of zlib, gzip and PNG) for batch checksums.
// Node >= 20.15 has zlib.crc32 in C++; older Node 20 releases get the table-driven JS below.

import zlib from 'node:zlib';

let table: Uint32Array | undefined;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** CRC-32 in JavaScript, same result as zlib.crc32. */
export function crc32Js(data: Uint8Array, value = 0): number {
  const t = (table ??= makeTable());
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of data (unsigned 32-bit). */
export const crc32: (data: Uint8Array, value?: number) => number =
  typeof native === 'function' ? (data, value = 0) => native(data, value) : crc32Js;
