import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from '../registry/registry.js';
import { Filetype } from '../system/index.js';
import { HostFs } from '../fs/hostfs.js';
import { OverlayFs } from '../fs/overlayfs.js';
import { workingDirPreopens, type PreopenSpec } from '../fs/preopens.js';
import { listGuestDir, readGuestFile } from '../fs/resolve.js';
import type { FileSystem } from '../fs/types.js';
import { Vfs } from '../fs/vfs.js';
import { findImage, unpackLayer } from './images.js';
import { ImageError, MEDIA } from './layout.js';

/** What running an image needs: its module, argv, environment, root mount and working directory. */
export interface ImageRun {
  name: string;
  module: Uint8Array;
  argv0: string;
  args: string[];
  env: string[];
  /** The root: the image's layers under a fresh writable directory of this process. */
  root: { kind: 'image'; host: string; layers: string[]; guest: '/'; readonly?: boolean };
  /** The image's working directory (guest path), where relative paths resolve. */
  workingDir: string;
  /** Preopens for the root, its top-level directories and the working directory (hostview.ts). */
  preopens: PreopenSpec[];
}

/**
 * Prepares a run of the image named `ref`: its layers (unpacked once, shared), a fresh upper
 * directory under `rootsDir`, and its entry point: a wasm artifact layer, or the `.wasm` that
 * Entrypoint/Cmd names inside the image's tree (read through the same sandbox rules).
 */
export async function prepareImageRun(registry: Registry, ref: string, layersDir: string, rootsDir: string, id: string = randomUUID(), entrypoint?: string): Promise<ImageRun> {
  const image = await findImage(registry, ref);
  const layers: string[] = [];
  let wasmLayer: Uint8Array | null = null;
  for (const l of image.layers) {
    const unpacked = path.join(layersDir, l.digest.slice(7));
    if (l.mediaType !== MEDIA.wasmLayer && fs.existsSync(unpacked)) {
      layers.unshift(unpacked); // top first; unpacked once, at import
      continue;
    }
    const bytes = await registry.store.readBlob(`oci/sha256/${l.digest.slice(7)}`);
    if (!bytes) throw new ImageError(`image ${image.name}: layer ${l.digest} is missing from the registry`);
    if (l.mediaType === MEDIA.wasmLayer) {
      wasmLayer = bytes;
      continue;
    }
    layers.unshift(await unpackLayer(bytes, l.digest, layersDir));
  }
  fs.mkdirSync(rootsDir, { recursive: true });
  const upper = path.join(rootsDir, id);
  fs.mkdirSync(upper, { mode: 0o700 });
  const c = image.config.config ?? {};
  // An explicit entry point (a .wasm path in the image) replaces Entrypoint and Cmd.
  const argv = entrypoint ? [entrypoint] : [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  const workingDir = c.WorkingDir && c.WorkingDir.startsWith('/') ? c.WorkingDir : '/';
  let module = entrypoint ? null : wasmLayer;
  if (module === null) {
    const entry = argv[0];
    if (!entry) throw new ImageError(`image ${image.name} names no entry point (Entrypoint/Cmd) and has no wasm layer`);
    const abs = entry.startsWith('/') ? entry : path.posix.join(workingDir, entry);
    module = readFromImage(layers, upper, abs);
    if (!abs.endsWith('.wasm') && !(module[0] === 0 && module[1] === 0x61 && module[2] === 0x73 && module[3] === 0x6d)) {
      throw new ImageError(`image ${image.name}: its entry point ${entry} is not a .wasm module`);
    }
  }
  return {
    name: image.name, module, argv0: argv[0] ?? image.name, args: argv.slice(1), env: c.Env ?? [],
    root: { kind: 'image', host: upper, layers, guest: '/' }, workingDir,
    preopens: imagePreopens(layers, upper, workingDir),
  };
}

/** An image's tree as the main thread reads it: its layers read-only under `upper`. */
function imageTree(layers: string[], upper: string): Vfs {
  const root: FileSystem = new OverlayFs({ lowers: layers.map((l) => new HostFs(l)), upper: new HostFs(upper) });
  return new Vfs([{ guestPath: '/', fs: root }]);
}

/** Lists the image's top-level directories and its working directory, for the preopens. */
function imagePreopens(layers: string[], upper: string, workingDir: string): PreopenSpec[] {
  const vfs = imageTree(layers, upper);
  try {
    const top = listGuestDir(vfs, '/');
    const dirs = typeof top === 'number' ? [] : top.filter((d) => d.type === Filetype.DIRECTORY).map((d) => d.name);
    const here = listGuestDir(vfs, workingDir);
    return workingDirPreopens(dirs, typeof here === 'number' ? [] : here.map((d) => d.name), workingDir);
  } finally {
    vfs.close();
  }
}

/** Reads a file of the image's tree, by the guest's path rules (links followed inside it). */
function readFromImage(layers: string[], upper: string, abs: string): Uint8Array {
  const vfs = imageTree(layers, upper);
  try {
    const bytes = readGuestFile(vfs, abs, 512 << 20);
    if (typeof bytes === 'number') throw new ImageError(`the image's entry point ${abs} cannot be read (errno ${-bytes})`);
    return bytes;
  } finally {
    vfs.close();
  }
}
