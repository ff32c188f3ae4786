import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from '../registry/registry.js';
import { closeDirHandle, createDirHandle, openDirHandle, type DirHandle } from '../fs/hostfs.js';
import { imageRoot } from '../runtime/process.js';
import { closeMountHandles } from '../runtime/handles.js';
import type { MountConfig, PreopenConfig } from '../runtime/config.js';
import { workingDirPreopens } from '../runtime/hostview.js';
import { Filetype, type Dirent, type Out } from '../system/index.js';
import type { Dir } from '../fs/types.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { BytesStdin, SinkStdio } from '../sandbox/stdio.js';
import { findImage, unpackLayer } from './images.js';
import { ImageError, MEDIA } from './layout.js';

/** What running an image needs: its module, argv, environment, root mount and working directory. */
export interface ImageRun {
  name: string;
  module: Uint8Array;
  argv0: string;
  args: string[];
  env: string[];
  /**
   * The root: the image's layers under a fresh writable directory of this process, each as a
   * handle (`handle`: the upper directory, `layerHandles`) that the caller owns and closes
   * with `closeMountHandles(root)` once the process's worker is done.
   */
  root: MountConfig;
  /** The image's working directory (guest path), where relative paths resolve. */
  workingDir: string;
  /** Preopens for the root, its top-level directories and the working directory (hostview.ts). */
  preopens: PreopenConfig[];
}

/**
 * Prepares a run of the image named `ref`: its layers (unpacked once, shared), a fresh upper
 * directory made and opened under `roots` (a directory, or a handle on it), and its entry
 * point: a wasm artifact layer, or the `.wasm` that Entrypoint/Cmd names inside the image's
 * tree (read through the same sandbox rules).
 */
export async function prepareImageRun(registry: Registry, ref: string, layersDir: string, roots: string | DirHandle, id: string = randomUUID(), entrypoint?: string): Promise<ImageRun> {
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
  const root: MountConfig = { kind: 'image', host: '', layers, guest: '/', layerHandles: [] };
  try {
    root.handle = freshDir(roots, id);
    root.host = root.handle.path;
    for (const l of layers) root.layerHandles!.push(openDirHandle(l));
    return finishImageRun(image, layers, root, wasmLayer, entrypoint);
  } catch (e) {
    closeMountHandles(root);
    throw e;
  }
}

/** A new directory `id` under `roots`, opened as a handle (never re-opened by its path). */
function freshDir(roots: string | DirHandle, id: string): DirHandle {
  if (typeof roots !== 'string') return createDirHandle(roots, id);
  fs.mkdirSync(roots, { recursive: true, mode: 0o700 });
  const parent = openDirHandle(roots);
  try {
    return createDirHandle(parent, id);
  } finally {
    closeDirHandle(parent);
  }
}

function finishImageRun(image: Awaited<ReturnType<typeof findImage>>, layers: string[], root: MountConfig, wasmLayer: Uint8Array | null, entrypoint: string | undefined): ImageRun {
  const upper = root.host;
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
    root, workingDir,
    preopens: imagePreopens(layers, upper, workingDir),
  };
}

/** Lists the image's top-level directories and its working directory, for the preopens. */
function imagePreopens(layers: string[], upper: string, workingDir: string): PreopenConfig[] {
  const root = imageRoot(layers, upper).openRoot();
  if (typeof root === 'number') return workingDirPreopens([], [], workingDir);
  try {
    const top: Out<Dirent[]> = { value: [] };
    root.readdir(top);
    const dirs = top.value.filter((d) => d.type === Filetype.DIRECTORY).map((d) => d.name);
    let entries: string[] = [];
    let dir: Dir | number = root;
    const opened: Dir[] = [];
    for (const c of workingDir.split('/').filter(Boolean)) {
      dir = (dir as Dir).openDir(c);
      if (typeof dir === 'number') break;
      opened.push(dir);
    }
    if (typeof dir !== 'number') {
      const list: Out<Dirent[]> = { value: [] };
      dir.readdir(list);
      entries = list.value.map((d) => d.name);
    }
    opened.forEach((d) => d.close());
    return workingDirPreopens(dirs, entries, workingDir);
  } finally {
    root.close();
  }
}

/** Reads a file of the image's tree (links followed inside it). */
function readFromImage(layers: string[], upper: string, abs: string): Uint8Array {
  const sink = new SinkStdio(() => {});
  const sys = new Sandbox({
    args: [], env: [], mounts: [{ guestPath: '/', fs: imageRoot(layers, upper) }],
    stdin: new BytesStdin(new Uint8Array()), stdout: sink, stderr: sink,
  });
  try {
    const bytes = sys.readGuestFile(abs, 512 << 20);
    if (typeof bytes === 'number') throw new ImageError(`the image's entry point ${abs} cannot be read (errno ${-bytes})`);
    return bytes;
  } finally {
    sys.close();
  }
}
