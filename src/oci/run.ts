import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from '../registry/registry.js';
import { Filetype } from '../system/index.js';
import { closeDirHandle, createDirHandle, openDirHandle, type DirHandle } from '../fs/hostfs.js';
import { imageRoot } from '../fs/imageroot.js';
import { workingDirPreopens, type PreopenSpec } from '../fs/preopens.js';
import { listGuestDir, readGuestFile } from '../fs/resolve.js';
import { Vfs } from '../fs/vfs.js';
import { findImage, unpackLayer } from './images.js';
import { ImageError, MEDIA } from './layout.js';
import { mkdirsSync } from '../fs/mkdirs.js';

/** What running an image needs: its module, argv, environment, root mount and working directory. */
export interface ImageRun {
  name: string;
  /** The image's manifest digest (`sha256:…`). */
  digest: string;
  module: Uint8Array;
  argv0: string;
  args: string[];
  env: string[];
  /**
   * The root: the image's layers under a fresh writable directory of this process, each as a
   * handle (`handle`: the upper directory, `layerHandles`) that the caller owns and closes
   * with `closeImageRoot(root)` once the process's worker is done.
   */
  root: ImageRoot;
  /** The image's working directory (guest path), where relative paths resolve. */
  workingDir: string;
  /** Preopens for the root, its top-level directories and the working directory (hostview.ts). */
  preopens: PreopenSpec[];
}

/** An image's root as a mount: its upper directory and its layers, as paths and as handles. */
export interface ImageRoot {
  kind: 'image';
  /** The upper directory's path (a description: `handle` is what is mounted). */
  host: string;
  handle?: DirHandle;
  /** The unpacked layers, top first, and handles on them in the same order. */
  layers: string[];
  layerHandles: DirHandle[];
  guest: '/';
  readonly?: boolean;
}

/** Closes the handles of an image root (its owner's call, once the process's worker is done). */
export function closeImageRoot(root: ImageRoot): void {
  if (root.handle) closeDirHandle(root.handle);
  root.layerHandles.forEach(closeDirHandle);
}

/**
 * Prepares a run of the image named `ref`: its layers (unpacked once, shared), a fresh upper
 * directory made and opened under `roots` (a directory, or a handle on it), and its entry
 * point: a wasm artifact layer, or the `.wasm` that Entrypoint/Cmd names inside the image's
 * tree (read through the same sandbox rules).
 */
export async function prepareImageRun(registry: Registry, ref: string, layersDir: string, roots: string | DirHandle, id: string = randomUUID(), entrypoint?: string, args?: readonly string[]): Promise<ImageRun> {
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
  const root: ImageRoot = { kind: 'image', host: '', layers, guest: '/', layerHandles: [] };
  try {
    root.handle = freshDir(roots, id);
    root.host = root.handle.path;
    for (const l of layers) root.layerHandles!.push(openDirHandle(l));
    return finishImageRun(image, root, wasmLayer, entrypoint, args);
  } catch (e) {
    closeImageRoot(root);
    throw e;
  }
}

/** A new directory `id` under `roots`, opened as a handle (never re-opened by its path). */
function freshDir(roots: string | DirHandle, id: string): DirHandle {
  if (typeof roots !== 'string') return createDirHandle(roots, id);
  mkdirsSync(roots, 0o700);
  const parent = openDirHandle(roots);
  try {
    return createDirHandle(parent, id);
  } finally {
    closeDirHandle(parent);
  }
}

/**
 * The argv of a run, as Docker builds it: the Entrypoint, then the arguments given (which
 * replace Cmd) or else Cmd; with no Entrypoint, the first argument names the .wasm to run. An explicit entry point (a .wasm path in the image) replaces
 * Entrypoint and Cmd. The module is the wasm layer, or the .wasm that argv[0] names.
 */
function finishImageRun(image: Awaited<ReturnType<typeof findImage>>, root: ImageRoot, wasmLayer: Uint8Array | null, entrypoint: string | undefined, given?: readonly string[]): ImageRun {
  const c = image.config.config ?? {};
  const ep = entrypoint ? [entrypoint] : c.Entrypoint ?? [];
  const argv = [...ep, ...(given?.length ? given : entrypoint ? [] : c.Cmd ?? [])];
  // A wasm artifact layer is the program itself: without an Entrypoint, argv[0] is the image's
  // name and everything else is its arguments.
  if (!entrypoint && wasmLayer !== null && ep.length === 0) argv.unshift(image.name);
  const workingDir = c.WorkingDir?.startsWith('/') ? c.WorkingDir : '/';
  let module = entrypoint ? null : wasmLayer;
  if (module === null) {
    const entry = argv[0];
    if (!entry) throw new ImageError(`image ${image.name} names no entry point (Entrypoint/Cmd) and has no wasm layer`);
    const abs = entry.startsWith('/') ? entry : path.posix.join(workingDir, entry);
    module = readFromImage(root, abs);
    if (!abs.endsWith('.wasm') && !(module[0] === 0 && module[1] === 0x61 && module[2] === 0x73 && module[3] === 0x6d)) {
      throw new ImageError(`image ${image.name}: its entry point ${entry} is not a .wasm module`);
    }
  }
  return {
    name: image.name, digest: image.manifestDigest, module, argv0: argv[0] ?? image.name, args: argv.slice(1), env: c.Env ?? [],
    root, workingDir,
    preopens: imagePreopens(root, workingDir),
  };
}

/** An image's tree as the main thread reads it: through the handles of its root. */
function imageTree(root: ImageRoot): Vfs {
  return new Vfs([{ guestPath: '/', fs: imageRoot(root.layerHandles, root.handle!) }]);
}

/** Lists the image's top-level directories and its working directory, for the preopens. */
function imagePreopens(root: ImageRoot, workingDir: string): PreopenSpec[] {
  const vfs = imageTree(root);
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
function readFromImage(root: ImageRoot, abs: string): Uint8Array {
  const vfs = imageTree(root);
  try {
    const bytes = readGuestFile(vfs, abs, 512 << 20);
    if (typeof bytes === 'number') throw new ImageError(`the image's entry point ${abs} cannot be read (errno ${-bytes})`);
    return bytes;
  } finally {
    vfs.close();
  }
}
