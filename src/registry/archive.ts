import { createHash } from 'node:crypto';

/**
 * The process export file: one self-contained file holding everything needed to look at (and
 * replay) a process elsewhere. Version 1, all integers little-endian:
 *
 *   magic    8 bytes   "WTMPROC\n"
 *   version  u32       1
 *   then five sections, in this order, each: tag (4 ASCII bytes), length (u64), bytes
 *     "PREC"  the process record, JSON (UTF-8)
 *     "CONF"  the process config, canonical JSON (UTF-8)
 *     "MODL"  the module bytes (.wasm)
 *     "PLOG"  the process log (may be empty)
 *     "SHA2"  32 bytes: sha256 of every byte of the file before this section
 *   and nothing after.
 *
 * The checksum catches corruption; the digests inside the record (module, config) are checked
 * against the bytes by the importer, so a file that was altered consistently is at most a
 * different, self-consistent process, never one whose parts disagree.
 */
export interface ProcessArchive {
  record: Uint8Array;
  config: Uint8Array;
  module: Uint8Array;
  log: Uint8Array;
}

const MAGIC = new TextEncoder().encode('WTMPROC\n');
const VERSION = 1;
const SECTIONS = [
  { tag: 'PREC', field: 'record', max: 1 << 20 },
  { tag: 'CONF', field: 'config', max: 16 << 20 },
  { tag: 'MODL', field: 'module', max: Number.MAX_SAFE_INTEGER },
  { tag: 'PLOG', field: 'log', max: Number.MAX_SAFE_INTEGER },
] as const;
const SUM_TAG = 'SHA2';

function sectionHeader(tag: string, length: number): Uint8Array {
  const h = new Uint8Array(12);
  h.set(new TextEncoder().encode(tag), 0);
  new DataView(h.buffer).setBigUint64(4, BigInt(length), true);
  return h;
}

export function encodeArchive(a: ProcessArchive): Uint8Array {
  const head = new Uint8Array(12);
  head.set(MAGIC, 0);
  new DataView(head.buffer).setUint32(8, VERSION, true);
  const parts: Uint8Array[] = [head];
  for (const s of SECTIONS) parts.push(sectionHeader(s.tag, a[s.field].byteLength), a[s.field]);
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  parts.push(sectionHeader(SUM_TAG, 32), hash.digest());
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** Splits an export file into its parts, or throws a one-line Error saying what is wrong. */
export function decodeArchive(bytes: Uint8Array): ProcessArchive {
  const bad = (why: string) => new Error(`not a valid wtm process export: ${why}`);
  if (!(bytes instanceof Uint8Array)) throw bad('not bytes');
  if (bytes.byteLength < 12 || !MAGIC.every((b, i) => bytes[i] === b)) throw bad('bad magic (not an export file)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) throw new Error(`unsupported wtm process export version ${version} (this wtm reads version ${VERSION})`);
  let off = 12;
  const section = (tag: string, max: number): Uint8Array => {
    if (bytes.byteLength - off < 12) throw bad(`truncated before section ${tag}`);
    const got = String.fromCharCode(...bytes.subarray(off, off + 4));
    if (got !== tag) throw bad(`expected section ${tag}, found ${JSON.stringify(got)}`);
    const len = view.getBigUint64(off + 4, true);
    off += 12;
    if (len > BigInt(bytes.byteLength - off)) throw bad(`section ${tag} is longer than the file (truncated?)`);
    if (len > BigInt(max)) throw bad(`section ${tag} is too large (${len} bytes, at most ${max})`);
    const body = bytes.subarray(off, off + Number(len));
    off += Number(len);
    return body;
  };
  const out = {} as ProcessArchive;
  for (const s of SECTIONS) out[s.field] = section(s.tag, s.max);
  const summed = off;
  const sum = section(SUM_TAG, 32);
  if (sum.byteLength !== 32) throw bad('checksum section is not 32 bytes');
  if (off !== bytes.byteLength) throw bad(`${bytes.byteLength - off} unexpected bytes after the checksum`);
  const actual = createHash('sha256').update(bytes.subarray(0, summed)).digest();
  if (!actual.equals(sum)) throw bad('checksum mismatch (file corrupted or altered)');
  return out;
}
