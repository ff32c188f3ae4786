import { entryPath, forEachTarEntry } from '../fs/tarfs.js';
import { ImageError } from './layout.js';

/**
 * The regular files of a tar (plain or gzip) as a map of normalised names to bytes: how an OCI
 * archive or a `docker save` file is read. Nothing is written anywhere; names that climb out
 * are refused with the entry named.
 */
export async function tarFiles(bytes: Uint8Array, what: string, maxBytes = 4 * 2 ** 30): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  try {
    await forEachTarEntry(bytes, what, maxBytes, (header, body) => {
      if (header.type === 'file' || header.type === 'contiguous-file') files.set(entryPath(header.name).join('/'), body);
    });
  } catch (e) {
    throw new ImageError((e as Error).message);
  }
  return files;
}
