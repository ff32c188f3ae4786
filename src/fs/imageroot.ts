import { HostFs, type DirHandle } from './hostfs.js';
import { OverlayFs } from './overlayfs.js';
import type { FileSystem } from './types.js';

/** A host directory as a file system: from its handle (borrowed, never closed here), or a trusted path. */
export function hostDirFs(dir: string | DirHandle): HostFs {
  return typeof dir === 'string' ? new HostFs(dir) : HostFs.fromHandle(dir);
}

/**
 * An image's root file system: its unpacked layers (top first) read-only under `upper`, the
 * process's own writable directory (OverlayFs wraps the lowers read-only itself).
 */
export function imageRoot(layers: readonly (string | DirHandle)[], upper: string | DirHandle): FileSystem {
  return new OverlayFs({ lowers: layers.map(hostDirFs), upper: hostDirFs(upper) });
}
