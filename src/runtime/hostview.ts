import fs from 'node:fs';
import path from 'node:path';
import { workingDirPreopens } from '../fs/preopens.js';
import type { MountConfig, PreopenConfig } from './config.js';

export { workingDirPreopens };

/**
 * The trusted main process's view of the host: the host's `/` mounted at `/`, and relative
 * paths resolving against `cwd`.
 *
 * wasi-libc maps a path onto a preopen by longest prefix after stripping leading `/` and `./`,
 * so `/etc/x` and `etc/x` look the same to it and both go to the last preopen named `/` or
 * `.` (its cwd is `/` and cannot be set from outside). wtm therefore preopens, in order: `/`
 * (the host root), each top-level directory of the host as `/NAME` (so absolute paths find
 * their longer prefix), and `.` (the cwd, registered last so relative paths land there). A
 * top-level name that also exists in the cwd is left out: `lib/x` typed by a user means the
 * project's `lib`, and it would otherwise go to `/lib`. `PWD` is set for toolchains that read
 * it (Go's wasip1 does).
 */
export function hostView(cwd: string): { mounts: MountConfig[]; preopens: PreopenConfig[] } {
  const rootDirs = safeList('/').filter((name) => {
    try {
      return fs.lstatSync('/' + name).isDirectory();
    } catch {
      return false;
    }
  });
  const guestCwd = path.resolve(cwd);
  return { mounts: [{ host: '/', guest: '/' }], preopens: workingDirPreopens(rootDirs, safeList(cwd), guestCwd) };
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
