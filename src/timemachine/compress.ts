// Batch payload codecs. Synchronous: the recorder seals a batch inline, and a 64 KiB batch
// takes well under a millisecond at these settings (figures in docs/log-format.md).

import zlib from 'node:zlib';

export const Codec = {
  /** Stored as is. */
  None: 0,
  /** Raw deflate (no zlib header or checksum: the batch CRC covers it), level 1. */
  DeflateRaw: 1,
  /** Brotli, quality 2, window sized to the batch. */
  Brotli: 2,
} as const;
export type Codec = (typeof Codec)[keyof typeof Codec];

export const CODEC_NAMES: readonly string[] = ['none', 'deflate-raw', 'brotli'];

export function isCodec(c: number): c is Codec {
  return c === Codec.None || c === Codec.DeflateRaw || c === Codec.Brotli;
}

/**
 * Brotli at quality 2 with its window sized to the batch (2^16 for a 64 KiB one, at most the
 * default 2^22). The encoder sets up state for its whole window on every call: with the default
 * window at quality 1, a 64 KiB batch of a clock-reading guest took 2.2 ms to compress; at
 * quality 2 and 2^16, 0.37 ms, and 39% smaller (quality 1 compresses such records badly). On
 * logs of writes 14x faster and 8% smaller; of the mixed bench guest as fast and 8% smaller
 * (docs/performance.md).
 */
const brotliOptions = new Map<number, zlib.BrotliOptions>();
function brotliFor(bytes: number): zlib.BrotliOptions {
  const lgwin = Math.min(22, Math.max(16, Math.ceil(Math.log2(Math.max(1, bytes)))));
  let o = brotliOptions.get(lgwin);
  if (o === undefined) {
    o = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 2, [zlib.constants.BROTLI_PARAM_LGWIN]: lgwin } };
    brotliOptions.set(lgwin, o);
  }
  return o;
}

function asBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function compress(codec: Codec, raw: Uint8Array): Uint8Array {
  switch (codec) {
    case Codec.None:
      return raw;
    case Codec.DeflateRaw:
      return asBytes(zlib.deflateRawSync(raw, { level: 1 }));
    case Codec.Brotli:
      return asBytes(zlib.brotliCompressSync(raw, brotliFor(raw.byteLength)));
  }
}

/**
 * Decompresses a payload that must expand to exactly rawLength bytes. Throws (any Error) when
 * the data is not valid for the codec or expands to another length; the caller reports it.
 */
export function decompress(codec: Codec, payload: Uint8Array, rawLength: number): Uint8Array {
  let out: Uint8Array;
  // maxOutputLength stops a damaged payload from expanding without bound.
  const max = { maxOutputLength: Math.max(1, rawLength) };
  switch (codec) {
    case Codec.None:
      out = payload;
      break;
    case Codec.DeflateRaw:
      out = asBytes(zlib.inflateRawSync(payload, max));
      break;
    case Codec.Brotli:
      out = asBytes(zlib.brotliDecompressSync(payload, max));
      break;
  }
  if (out.length !== rawLength) throw new Error(`expands to ${out.length} bytes, frame says ${rawLength}`);
  return out;
}
