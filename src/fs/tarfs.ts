import fs from 'node:fs';
import { Readable } from 'node:stream';
import buffer from 'node:buffer';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import type tar from 'tar-stream';

// The tar reader and the zstd decoder are loaded when an archive is first read: `wtm run` of
// a plain module never needs them (they cost ~30 ms of start-up in each thread).
const require = createRequire(import.meta.url);
const zstdDecompress = (data: Uint8Array): Uint8Array => (require('fzstd') as typeof import('fzstd')).decompress(data);
import { Errno } from '../system/index.js';
import { MemFs } from './memfs.js';
import { ReadOnlyFs } from './readonly.js';
import { OpenFlags, type Dir, type FileSystem } from './types.js';

/** An archive wtm will not mount, with the entry that made it so. */
export class ArchiveError extends Error {}

export interface TarLoadOptions {
  /** Refuse archives whose files add up to more than this (default 1 GiB). */
  maxBytes?: number;
}

/** What loading neutralised instead of refusing (device nodes, FIFOs, setuid bits). */
export interface TarLoadReport {
  skipped: string[];
}

/**
 * A tar archive (plain or gzip, detected from its bytes) as a read-only file system, held in
 * memory: nothing is unpacked to disk. Entries that try to climb out are refused and the
 * whole archive with them (the error names the entry): absolute names, `..` in a name, a
 * hard link to a name outside the archive, a relative symlink whose target climbs above the
 * archive's root. Absolute symlink targets are kept: they resolve inside the guest's tree
 * (docs/sandbox.md). Device nodes and FIFOs are skipped; modes (setuid included) are not
 * kept at all.
 */
export async function loadTarFs(file: string, options: TarLoadOptions = {}, report: TarLoadReport = { skipped: [] }): Promise<FileSystem> {
  const memfs = new MemFs();
  const root = memfs.openRoot();
  try {
    await applyTar(await fs.promises.readFile(file), root, file, options, report);
  } finally {
    root.close();
  }
  return new ReadOnlyFs({ description: `tar:${file}`, openRoot: () => memfs.openRoot() });
}

/**
 * Writes the entries of a tar archive (plain or gzip) into a directory handle of any backend:
 * an in-memory tree for a mount, or a host directory when an image layer is unpacked once.
 * Every write is one name inside an open directory handle, after the checks of `addEntry`,
 * so a hostile archive cannot write outside `root`. `what` names the archive in errors.
 */
export async function applyTar(data: Uint8Array, root: Dir, what: string, options: TarLoadOptions = {}, report: TarLoadReport = { skipped: [] }): Promise<void> {
  await forEachTarEntry(data, what, options.maxBytes ?? 1 << 30, (header, body) => addEntry(root, header, body, report));
}

/** Most entries an archive (a mount or a layer) may hold: each costs memory while it is read. */
export const MAX_TAR_ENTRIES = 250_000;

/**
 * Calls `onEntry` for each entry of a tar (plain, gzip or zstd), in order, with its whole
 * content; stops at the first error it throws. `maxBytes` bounds the content read in all, `maxEntries` the entries.
 * The one tar reading loop of wtm (mounts, layers, image archives).
 */
export async function forEachTarEntry(data: Uint8Array, what: string, maxBytes: number, onEntry: (header: tar.Header, body: Buffer) => void, maxEntries = MAX_TAR_ENTRIES): Promise<void> {
  // Headers and padding on top of the files' bytes: a bound for the decompressed archive, so a
  // small compression bomb is refused before it is inflated.
  const bytes = decompress(data, what, maxBytes + maxEntries * 1024);
  let total = 0;
  let entries = 0;
  const { default: tarStream } = await import('tar-stream');
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      if (++entries > maxEntries) {
        extract.destroy(new ArchiveError(`${what}: more than ${maxEntries} entries`));
        return;
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        // No data is read for other entries: tar-stream never ends the stream of a directory
        // whose header claims a size (a hostile archive hung here); the size's bytes are then
        // read as the next header, which refuses the archive.
        stream.resume();
        try {
          onEntry(header, Buffer.alloc(0));
          next();
        } catch (e) {
          extract.destroy(e as Error);
        }
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        if (!(c instanceof Buffer)) return;
        total += c.length;
        if (total > maxBytes) {
          extract.destroy(new ArchiveError(`${what}: more than ${maxBytes} bytes of files`));
          return;
        }
        chunks.push(c);
      });
      stream.on('end', () => {
        try {
          onEntry(header, Buffer.concat(chunks));
          next();
        } catch (e) {
          extract.destroy(e as Error);
        }
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', (e) => reject(e instanceof ArchiveError ? e : new ArchiveError(`${what}: not a readable tar archive (${e.message})`)));
  });
  // A view, not a copy: an archive may be a gigabyte.
  Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]).pipe(extract);
  try {
    await done;
  } catch (e) {
    const msg = (e as Error).message;
    throw new ArchiveError(msg.startsWith(what) ? msg : `${what}: ${msg}`);
  }
}

/**
 * A layer's or archive's bytes as plain tar: gzip and zstd are recognised by their magic
 * bytes, whatever media type was declared (real images disagree with their descriptors).
 */
export function decompress(data: Uint8Array, what: string, maxOutput = 2 ** 32): Uint8Array {
  try {
    if (data[0] === 0x1f && data[1] === 0x8b) return zlib.gunzipSync(data, { maxOutputLength: Math.min(maxOutput, buffer.constants.MAX_LENGTH) });
    if (data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f && data[3] === 0xfd) return zstdDecompress(data);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new ArchiveError(`${what}: inflates to more than ${maxOutput} bytes`);
    throw new ArchiveError(`${what}: cannot decompress (${(e as Error).message})`);
  }
  return data;
}

/** The entry's path as components, or an ArchiveError naming it. */
export function entryPath(name: string): string[] {
  if (name.startsWith('/')) throw new ArchiveError(`entry ${JSON.stringify(name)}: absolute names are refused`);
  const parts = name.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new ArchiveError(`entry ${JSON.stringify(name)}: '..' in a name is refused`);
  if (parts.some((c) => c.includes('\0'))) throw new ArchiveError(`entry ${JSON.stringify(name)}: NUL in a name is refused`);
  return parts;
}

/** Does a relative link target, read from the entry's directory, stay inside the archive? */
function staysInside(dirDepth: number, target: string): boolean {
  let depth = dirDepth;
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (--depth < 0) return false;
    } else {
      depth++;
    }
  }
  return true;
}

/** The directory holding `parts` (created as needed), and the last name. */
function parentOf(root: Dir, parts: string[], name: string): { dir: Dir; leaf: string; close: () => void } {
  const opened: Dir[] = [];
  let dir = root;
  for (const c of parts.slice(0, -1)) {
    let next = dir.openDir(c);
    if (next === -Errno.NOENT) {
      dir.mkdir(c);
      next = dir.openDir(c);
    }
    if (typeof next === 'number') throw new ArchiveError(`entry ${JSON.stringify(name)}: ${c} is not a directory in the archive`);
    opened.push(next);
    dir = next;
  }
  return { dir, leaf: parts[parts.length - 1]!, close: () => opened.forEach((d) => { d.close(); }) };
}

function addEntry(root: Dir, header: tar.Header, data: Buffer, report: TarLoadReport): void {
  const name = header.name;
  const parts = entryPath(name);
  if (parts.length === 0) return; // the archive's root itself
  const { dir, leaf, close } = parentOf(root, parts, name);
  try {
    const mtim = BigInt(Math.floor((header.mtime?.getTime() ?? 0))) * 1_000_000n;
    switch (header.type) {
      case 'directory': {
        const e = dir.mkdir(leaf);
        if (e !== 0 && e !== Errno.EXIST) throw new ArchiveError(`entry ${JSON.stringify(name)}: cannot make the directory`);
        break;
      }
      case 'file': case 'contiguous-file': {
        dir.unlink(leaf); // a later entry of the same name replaces the earlier one, as tar does
        const f = dir.open(leaf, OpenFlags.WRITE | OpenFlags.CREATE | OpenFlags.TRUNC);
        if (typeof f === 'number' || f.kind !== 'file') throw new ArchiveError(`entry ${JSON.stringify(name)}: cannot make the file`);
        f.pwrite(data, 0, false);
        f.close();
        break;
      }
      case 'symlink': {
        const target = header.linkname ?? '';
        if (target === '') throw new ArchiveError(`entry ${JSON.stringify(name)}: empty link target`);
        if (!target.startsWith('/') && !staysInside(parts.length - 1, target)) {
          throw new ArchiveError(`entry ${JSON.stringify(name)}: link to ${JSON.stringify(target)} points outside the archive`);
        }
        dir.unlink(leaf);
        if (dir.symlink(target, leaf) !== 0) throw new ArchiveError(`entry ${JSON.stringify(name)}: cannot make the link`);
        break;
      }
      case 'link': {
        const target = entryPath(header.linkname ?? '');
        const src = parentOf(root, target, name);
        try {
          const e = src.dir.link(src.leaf, dir, leaf);
          if (e !== 0) throw new ArchiveError(`entry ${JSON.stringify(name)}: hard link to ${JSON.stringify(header.linkname)}, which is not a file earlier in the archive`);
        } finally {
          src.close();
        }
        break;
      }
      default:
        // Devices, FIFOs and anything unknown are not made: a guest has no use for them.
        report.skipped.push(`${name} (${header.type})`);
        return;
    }
    if (header.type !== 'symlink') dir.utimes(leaf, mtim, mtim, 1 | 4);
  } finally {
    close();
  }
}
