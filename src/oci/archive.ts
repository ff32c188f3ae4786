import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { decompress, entryPath } from '../fs/tarfs.js';
import { ImageError } from './layout.js';

/**
 * The regular files of a tar (plain or gzip) as a map of normalised names to bytes: how an OCI
 * archive or a `docker save` file is read. Nothing is written anywhere; names that climb out
 * are refused with the entry named.
 */
export async function tarFiles(bytes: Uint8Array, what: string, maxBytes = 4 * 2 ** 30): Promise<Map<string, Uint8Array>> {
  const data = decompress(bytes, what);
  const files = new Map<string, Uint8Array>();
  let total = 0;
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        if (!(c instanceof Buffer)) return;
        total += c.length;
        if (total > maxBytes) extract.destroy(new ImageError(`${what}: larger than ${maxBytes} bytes`));
        else chunks.push(c);
      });
      stream.on('end', () => {
        try {
          if (header.type === 'file' || header.type === 'contiguous-file') files.set(entryPath(header.name).join('/'), Buffer.concat(chunks));
          next();
        } catch (e) {
          extract.destroy(new ImageError(`${what}: ${(e as Error).message}`));
        }
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', (e) => reject(e instanceof ImageError ? e : new ImageError(`${what}: not a readable tar archive (${e.message})`)));
  });
  Readable.from([Buffer.from(data)]).pipe(extract);
  await done;
  return files;
}
