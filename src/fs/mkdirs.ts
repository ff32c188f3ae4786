import fs from 'node:fs';
import path from 'node:path';

/**
 * `mkdir -p`, one directory at a time. Not Node's `{ recursive: true }`: under /proc or /sys a
 * mkdir can answer ENOENT while its parent exists, and Node's recursive mkdir then loops for
 * ever (it makes the parent again, finds it there, retries the child). Here the child's error
 * is thrown: one clear line for a registry or a directory given where none can be made.
 */
export function mkdirsSync(dir: string, mode = 0o777): void {
  const abs = path.resolve(dir);
  let at = '';
  for (const part of abs.split('/').slice(1)) {
    if (part === '') continue;
    at += '/' + part;
    try {
      fs.mkdirSync(at, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  // What stands at the end must be a directory (EEXIST for a file would otherwise pass).
  if (!fs.statSync(abs).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${abs}'`), { code: 'ENOTDIR', path: abs });
  }
}
