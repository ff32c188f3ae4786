import fs from 'node:fs';
import { closeDirHandle, openDirHandle, type DirHandle } from '../fs/hostfs.js';
import type { MountConfig } from './config.js';
import type { TaskSpec } from './tasks.js';

/**
 * Mounts reach a worker as handles opened on the starter's thread (DESIGN.md, "Handles, not
 * names"). The rule for their life: whoever opened a handle closes it, exactly once, after the
 * worker that uses it is done (WorkerPool.run resolves only then).
 */

/** Mounts with a handle for every host directory, and a `close` for the handles opened here. */
export interface OpenedMounts {
  mounts: MountConfig[];
  close(): void;
}

/**
 * Opens a handle for each host directory (and image upper and layers) among `mounts` that has
 * none yet: trusted host paths (the user's, wtm's own). Mounts that come with a handle are
 * borrowed and left to their owner. Throws `cannot mount HOST: ...`, closing what it opened.
 */
export function openMountHandles(mounts: readonly MountConfig[]): OpenedMounts {
  const opened: DirHandle[] = [];
  const open = (host: string, what: string): DirHandle => {
    try {
      const h = openDirHandle(host);
      opened.push(h);
      return h;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? `no such ${what}` : code === 'ENOTDIR' ? `not a ${what}` : code ?? (e as Error).message;
      throw new Error(`cannot mount ${host}: ${why}`);
    }
  };
  try {
    const out = mounts.map((m): MountConfig => {
      if (m.kind === 'tar') {
        if (!fs.statSync(m.host, { throwIfNoEntry: false })?.isFile()) throw new Error(`cannot mount ${m.host}: not a file`);
        return m;
      }
      if (m.kind === 'image') {
        return {
          ...m, handle: m.handle ?? open(m.host, 'directory'),
          layerHandles: m.layerHandles ?? (m.layers ?? []).map((l) => open(l, 'directory')),
        };
      }
      return m.handle ? m : { ...m, handle: open(m.host, 'directory') };
    });
    return { mounts: out, close: () => opened.splice(0).forEach(closeDirHandle) };
  } catch (e) {
    opened.forEach(closeDirHandle);
    throw e;
  }
}

/** Closes the handles a mount carries (its owner's call). */
export function closeMountHandles(m: MountConfig): void {
  if (m.handle) closeDirHandle(m.handle);
  m.layerHandles?.forEach(closeDirHandle);
}

/** Closes the handles a task spec carries (a guest-shared mount belongs to its task). */
export function closeSpecHandles(spec: TaskSpec): void {
  spec.mounts?.forEach(closeMountHandles);
}
