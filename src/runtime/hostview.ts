import fs from 'node:fs';
import path from 'node:path';
import type { MountConfig, PreopenConfig } from './config.js';

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
  const preopens: PreopenConfig[] = [{ name: '/', guestPath: '/' }];
  const here = new Set(safeList(cwd));
  for (const name of safeList('/').sort()) {
    if (here.has(name)) continue;
    let isDir = false;
    try {
      isDir = fs.lstatSync('/' + name).isDirectory();
    } catch {
      continue;
    }
    if (isDir) preopens.push({ name: '/' + name, guestPath: '/' + name });
  }
  const guestCwd = path.resolve(cwd);
  if (guestCwd !== '/') preopens.push({ name: '.', guestPath: guestCwd });
  return { mounts: [{ host: '/', guest: '/' }], preopens };
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
