import fs from 'node:fs';
import { errnoFromHostError } from '../system/index.js';

const C = fs.constants;

/**
 * On Linux, `/proc/self/fd/N/name` names `name` inside the directory open as fd N, wherever
 * that directory is now: the kernel jumps straight to the open directory and looks up one
 * name. That is `openat(N, name)`, which Node lacks, and it leaves no window in which a
 * concurrent writer could swap a checked directory for a symlink. Without /proc (not Linux) we
 * fall back to host paths, which leaves that race open (docs/sandbox.md).
 */
export const PROC_FD_AT = fs.existsSync('/proc/self/fd');

/**
 * The prefix of those names: `/proc/PID/fd/`, which the kernel resolves a step quicker than
 * `/proc/self/fd/` (no `self` link to read: ~5% of a stat), when /proc is this process's own
 * (same pid namespace: `/proc/PID` is `/proc/self`); else `/proc/self/fd/`.
 */
export const PROC_FD: string = (() => {
  if (!PROC_FD_AT) return '';
  try {
    const self = fs.statSync('/proc/self'), own = fs.statSync(`/proc/${process.pid}`);
    if (self.ino === own.ino && self.dev === own.dev) return `/proc/${process.pid}/fd/`;
  } catch {
    // no /proc/PID here: keep `self`
  }
  return '/proc/self/fd/';
})();

/**
 * A host directory handed between threads: an open fd, kept open by whoever handed it on until
 * the receiver is done with it (a worker reports its exit, or has been terminated). Handles
 * are how a checked directory travels (DESIGN.md "Handles, not names"): the receiver reaches
 * the very directory that was checked, whatever happens to host paths meanwhile. `path` only
 * describes it (messages, records) and is never opened.
 */
export interface DirHandle {
  readonly fd: number;
  readonly path: string;
}

/**
 * Opens a trusted host path (a user's `--dir`, wtm's own directories) as a handle; the caller
 * closes it with `closeDirHandle`. Links in `hostPath` are the user's and are followed.
 */
export function openDirHandle(hostPath: string): DirHandle {
  const fd = fs.openSync(hostPath, C.O_RDONLY | C.O_DIRECTORY);
  return { fd, path: hostPath };
}

/**
 * Creates the directory `name` inside the handle `parent` (never following a link there) and
 * opens it as a new handle: for a task's fresh root, made under the tasks directory's handle.
 */
export function createDirHandle(parent: DirHandle, name: string, mode = 0o700): DirHandle {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Error(`not a single name: ${name}`);
  const at = PROC_FD_AT ? `${PROC_FD}${parent.fd}/${name}` : `${parent.path}/${name}`;
  fs.mkdirSync(at, mode);
  const fd = fs.openSync(at, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
  return { fd, path: `${parent.path}/${name}` };
}

export function closeDirHandle(h: DirHandle): void {
  try {
    fs.closeSync(h.fd);
  } catch {
    // already closed
  }
}

/** -errno of a failed host call. */
export function fail(e: unknown): number {
  return -errnoFromHostError(e);
}

/** Runs a host call: 0, or the errno of what it threw. */
export function attempt(f: () => void): number {
  try {
    f();
    return 0;
  } catch (e) {
    return errnoFromHostError(e);
  }
}
