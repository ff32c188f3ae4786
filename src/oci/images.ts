import fs from 'node:fs';
import path from 'node:path';
import { HostFs } from '../fs/hostfs.js';
import { applyTar } from '../fs/tarfs.js';
import { imageBlobDigests } from '../registry/gc.js';
import { treeBytes, unpackPrefix } from '../registry/local.js';
import type { Registry } from '../registry/registry.js';
import { tarFiles } from './archive.js';
import { ImageError, MEDIA, readDockerSave, readOciArchive, readOciLayout, type ImageConfig, type ImageContent } from './layout.js';

/** What the registry keeps of an imported image. */
export interface ImageRecord {
  name: string;
  manifestDigest: string;
  configDigest: string;
  /** Layer digests, bottom first, with their media types. */
  layers: { digest: string; mediaType: string; size: number }[];
  config: ImageConfig;
  imported: string;
}

const IMAGE = 'image';
const blobKey = (digest: string) => `oci/sha256/${digest.slice('sha256:'.length)}`;
const recordKey = (manifestDigest: string) => manifestDigest.slice('sha256:'.length);

/** Reads an image from a path: an OCI layout directory, an OCI archive tar, or a `docker save` tar. */
export async function readImageSource(source: string): Promise<ImageContent> {
  let st: fs.Stats;
  try {
    st = fs.statSync(source);
  } catch {
    throw new ImageError(`${source}: no such file or directory`);
  }
  if (st.isDirectory()) return readOciLayout(source);
  const files = await tarFiles(fs.readFileSync(source), source);
  if (files.has('oci-layout')) return readOciArchive(files, source);
  if (files.has('manifest.json')) return readDockerSave(files, source);
  throw new ImageError(`${source}: neither an OCI layout, an OCI archive nor a docker save archive`);
}

/**
 * Stores an image: its blobs (already verified against their digests) in the registry, each
 * tar layer unpacked once into `layersDir/HEX` (shared read-only by every process that runs
 * the image), then its record. A failure leaves no record behind.
 */
export async function importImage(registry: Registry, image: ImageContent, layersDir: string, name?: string): Promise<ImageRecord> {
  const finalName = name ?? image.name ?? image.manifestDigest.slice(0, 19);
  for (const [digest, bytes] of image.blobs) {
    if (!(await registry.store.hasBlob(blobKey(digest)))) await registry.store.putBlob(blobKey(digest), bytes);
  }
  for (const layer of image.manifest.layers) {
    if (layer.mediaType === MEDIA.wasmLayer) continue; // the module itself, not a file tree
    await unpackLayer(image.blobs.get(layer.digest)!, layer.digest, layersDir);
  }
  const record: ImageRecord = {
    name: finalName, manifestDigest: image.manifestDigest, configDigest: image.configDigest,
    layers: image.manifest.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType ?? '', size: l.size })),
    config: image.config, imported: new Date().toISOString(),
  };
  await registry.store.putRecord(IMAGE, recordKey(image.manifestDigest), record);
  return record;
}

/** Unpacks a layer once: into a temporary directory, then renamed into place (atomic). */
export async function unpackLayer(bytes: Uint8Array, digest: string, layersDir: string): Promise<string> {
  const dir = path.join(layersDir, digest.slice('sha256:'.length));
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(layersDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(layersDir, unpackPrefix())); // swept once this process is gone
  try {
    const root = new HostFs(tmp).openRoot();
    if (typeof root === 'number') throw new ImageError(`cannot open ${tmp}`);
    try {
      await applyTar(bytes, root, `layer ${digest}`);
    } finally {
      root.close();
    }
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (fs.existsSync(dir)) return dir; // another process unpacked it meanwhile
    throw e;
  }
  return dir;
}

export async function listImages(registry: Registry): Promise<ImageRecord[]> {
  const out: ImageRecord[] = [];
  for (const key of await registry.store.listRecords(IMAGE)) {
    const r = (await registry.store.getRecord(IMAGE, key)) as ImageRecord | null;
    if (r) out.push(r);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The image named `ref`: its exact name, or a unique prefix of its manifest digest. */
export async function findImage(registry: Registry, ref: string): Promise<ImageRecord> {
  const all = await listImages(registry);
  const byName = all.filter((r) => r.name === ref);
  if (byName.length === 1) return byName[0]!;
  const hex = ref.replace(/^sha256:/, '');
  const byDigest = /^[0-9a-f]{4,64}$/.test(hex) ? all.filter((r) => r.manifestDigest.slice(7).startsWith(hex)) : [];
  const found = byName.length ? byName : byDigest;
  if (found.length === 0) throw new ImageError(`no module file or image named ${ref} (wtm image ls lists the images)`);
  if (found.length > 1) throw new ImageError(`ambiguous image ${ref}: ${found.map((r) => `${r.name} (${r.manifestDigest.slice(0, 19)})`).join(', ')}`);
  return found[0]!;
}

/** What `removeImage` removed. */
export interface ImageRemoval {
  image: ImageRecord;
  /** Blobs (manifest, config, layers) and unpacked layers that only this image used. */
  freed: { blobs: number; blobBytes: number; layers: number; layerBytes: number };
  /** Blobs of this image kept because another image names them too. */
  shared: number;
}

/**
 * Removes an image: its record, then the blobs and unpacked layers (under `layersDir`) that no
 * other image names. Every other image record is read first, so an unreadable one stops the
 * removal before anything is gone.
 */
export async function removeImage(registry: Registry, ref: string, layersDir: string): Promise<ImageRemoval> {
  const r = await findImage(registry, ref);
  const mine = imageBlobDigests(r);
  if (mine === null) throw new ImageError(`image ${r.name}: its record is malformed (wtm gc leaves its blobs alone)`);
  const others = new Set<string>();
  for (const key of await registry.store.listRecords(IMAGE)) {
    if (key === recordKey(r.manifestDigest)) continue;
    const digests = imageBlobDigests(await registry.store.getRecord(IMAGE, key));
    if (digests === null) throw new ImageError(`image record ${key} is malformed: cannot tell what it shares with ${r.name} (nothing removed)`);
    for (const d of digests) others.add(d);
  }
  await registry.store.deleteRecord(IMAGE, recordKey(r.manifestDigest));
  const freed = { blobs: 0, blobBytes: 0, layers: 0, layerBytes: 0 };
  let shared = 0;
  for (const hex of new Set(mine)) {
    if (others.has(hex)) {
      shared++;
      continue;
    }
    const key = `oci/sha256/${hex}`;
    const bytes = await registry.store.blobSize(key);
    if (bytes !== null && (await registry.store.deleteBlob(key))) {
      freed.blobs++;
      freed.blobBytes += bytes;
    }
    const dir = path.join(layersDir, hex);
    if (fs.existsSync(dir)) {
      const size = treeBytes(dir);
      fs.rmSync(dir, { recursive: true, force: true });
      freed.layers++;
      freed.layerBytes += size;
    }
  }
  return { image: r, freed, shared };
}
