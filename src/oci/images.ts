import fs from 'node:fs';
import path from 'node:path';
import { HostFs } from '../fs/hostfs.js';
import { applyTar } from '../fs/tarfs.js';
import { imageBlobDigests } from '../registry/gc.js';
import { treeBytes, unpackPrefix } from '../registry/local.js';
import type { Registry } from '../registry/registry.js';
import { tarFiles } from './archive.js';
import { ImageError, MEDIA, readDockerSaveImages, readOciArchiveImages, readOciLayoutImages, type ImageConfig, type ImageContent } from './layout.js';
import { normalizeName, repoFromPath, tryNormalizeName } from './names.js';
import { mkdirsSync } from '../fs/mkdirs.js';

/** What the registry keeps of an imported image. */
export interface ImageRecord {
  /** Its names, normalised (`x:latest`, `host:5000/x:1`), as Docker's tags: none when every name moved to another image. */
  names: string[];
  /**
   * Records written before names were a list hold their one name here. On a record that
   * findImage returns: the name it was found by (or its first name, or its short digest).
   */
  name?: string;
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

/**
 * Splits `PATH[:TAG]`: the whole string when it exists, else the longest existing path before a
 * colon and the tag after it.
 */
export function splitSource(source: string): { path: string; tag?: string } {
  if (fs.existsSync(source)) return { path: source };
  for (let i = source.lastIndexOf(':'); i > 0; i = source.lastIndexOf(':', i - 1)) {
    const p = source.slice(0, i);
    if (fs.existsSync(p)) return { path: p, tag: source.slice(i + 1) };
  }
  return { path: source };
}

/**
 * Reads the images of `PATH[:TAG]`: an OCI layout directory, an OCI archive tar, or a `docker
 * save` tar. With TAG the image tagged so; without, every tagged image (when all run as wasm).
 */
export async function readImageSources(source: string, tag?: string): Promise<ImageContent[]> {
  const split = tag === undefined ? splitSource(source) : { path: source, tag };
  let st: fs.Stats;
  try {
    st = fs.statSync(split.path);
  } catch {
    throw new ImageError(`${source}: no such file or directory`);
  }
  if (split.tag !== undefined && split.tag === '') throw new ImageError(`${source}: an empty tag after the colon`);
  if (st.isDirectory()) return readOciLayoutImages(split.path, split.tag);
  // A device or a pipe is never read whole (/dev/zero would be read for ever).
  if (!st.isFile()) throw new ImageError(`${split.path}: not a file or a directory (an OCI archive or a docker save tar is a file, an OCI layout a directory)`);
  const files = await tarFiles(fs.readFileSync(split.path), split.path);
  if (files.has('oci-layout')) return readOciArchiveImages(files, split.path, repoFromPath(split.path, true), split.tag);
  if (files.has('manifest.json')) return readDockerSaveImages(files, split.path, split.tag);
  throw new ImageError(`${split.path}: neither an OCI layout, an OCI archive nor a docker save archive`);
}

/** Reads the one image of a path (an error when it holds several; readImageSources reads them all). */
export async function readImageSource(source: string): Promise<ImageContent> {
  const images = await readImageSources(source);
  if (images.length !== 1) throw new ImageError(`${source} holds ${images.length} images (${images.map((i) => i.names.join(', ')).join('; ')}): name one with ${source}:TAG`);
  return images[0]!;
}

/** The names of a record, old (one `name`) or new (`names`), normalised where they are valid names. */
export function recordNames(r: { names?: unknown; name?: unknown }): string[] {
  const raw = Array.isArray(r.names) ? r.names.filter((n): n is string => typeof n === 'string') : typeof r.name === 'string' ? [r.name] : [];
  const out: string[] = [];
  for (const n of raw) {
    if (/^sha256:[0-9a-f]{1,64}$/.test(n)) continue; // an old record named by its digest: no name
    const v = tryNormalizeName(n) ?? n;
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

async function readRecord(registry: Registry, key: string): Promise<ImageRecord | null> {
  const r = (await registry.store.getRecord(IMAGE, key)) as (ImageRecord & { name?: unknown }) | null;
  if (!r || typeof r !== 'object') return null;
  const { name: _old, ...rest } = r;
  return { ...rest, names: recordNames(r) };
}

async function writeRecord(registry: Registry, r: ImageRecord): Promise<void> {
  const { name: _found, ...rest } = r;
  await registry.store.putRecord(IMAGE, recordKey(r.manifestDigest), rest);
}

/**
 * Gives `names` to the image `digest` and takes them from any other image that held them (a
 * name is one image's, as a Docker tag); an image left with no name stays, shown as <none>.
 */
async function claimNames(registry: Registry, digest: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  for (const key of await registry.store.listRecords(IMAGE)) {
    if (key === recordKey(digest)) continue;
    const other = await readRecord(registry, key);
    if (!other?.names.some((n) => names.includes(n))) continue;
    await writeRecord(registry, { ...other, names: other.names.filter((n) => !names.includes(n)) });
  }
}

/**
 * Stores an image: its blobs (already verified against their digests) in the registry, each
 * tar layer unpacked once into `layersDir/HEX` (shared read-only by every process that runs
 * the image), then its record. A failure leaves no record behind.
 */
export async function importImage(registry: Registry, image: ImageContent, layersDir: string, name?: string): Promise<FoundImage> {
  // --name names it instead of the source's names; either way the names it had stay.
  const given = name !== undefined ? [normalizeName(name)] : (image.names ?? (image.name ? [image.name] : [])).map(normalizeName);
  for (const [digest, bytes] of image.blobs) {
    if (!(await registry.store.hasBlob(blobKey(digest)))) await registry.store.putBlob(blobKey(digest), bytes);
  }
  for (const layer of image.manifest.layers) {
    if (layer.mediaType === MEDIA.wasmLayer) continue; // the module itself, not a file tree
    await unpackLayer(image.blobs.get(layer.digest)!, layer.digest, layersDir);
  }
  const before = await readRecord(registry, recordKey(image.manifestDigest));
  const names = [...(before?.names ?? [])];
  for (const n of given) if (!names.includes(n)) names.push(n);
  const record: ImageRecord = {
    names, manifestDigest: image.manifestDigest, configDigest: image.configDigest,
    layers: image.manifest.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType ?? '', size: l.size })),
    config: image.config, imported: before?.imported ?? new Date().toISOString(),
  };
  await claimNames(registry, image.manifestDigest, given);
  await writeRecord(registry, record);
  return { ...record, name: given[0] ?? names[0] ?? shortDigest(record) };
}

/** Unpacks a layer once: into a temporary directory, then renamed into place (atomic). */
export async function unpackLayer(bytes: Uint8Array, digest: string, layersDir: string): Promise<string> {
  const dir = path.join(layersDir, digest.slice('sha256:'.length));
  if (fs.existsSync(dir)) return dir;
  mkdirsSync(layersDir);
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

const shortDigest = (r: { manifestDigest: string }) => r.manifestDigest.slice(0, 19);

/** The images, sorted by their first name (images with no name last). */
export async function listImages(registry: Registry): Promise<ImageRecord[]> {
  const out: ImageRecord[] = [];
  for (const key of await registry.store.listRecords(IMAGE)) {
    const r = await readRecord(registry, key);
    if (r) out.push(r);
  }
  const first = (r: ImageRecord) => r.names[0] ?? '\uffff' + r.manifestDigest;
  return out.sort((a, b) => first(a).localeCompare(first(b)));
}

/**
 * The image named `ref`: one of its names (compared normalised, as Docker: `x` is `x:latest`
 * and `docker.io/library/x:latest`), or else a unique prefix of its manifest digest. The record
 * returned has `name` set to the name it was found by (or its first name, or its short digest).
 */
export async function findImage(registry: Registry, ref: string): Promise<FoundImage> {
  return (await lookup(registry, ref)).image;
}

/** An image record as findImage returns it: with the name it was found by. */
export type FoundImage = ImageRecord & { name: string };

async function lookup(registry: Registry, ref: string): Promise<{ image: FoundImage; byName: string | null }> {
  const all = await listImages(registry);
  const wanted = tryNormalizeName(ref);
  const byName = all.filter((r) => r.names.includes(ref) || (wanted !== null && r.names.includes(wanted)));
  if (byName.length === 1) {
    const name = byName[0]!.names.includes(ref) ? ref : wanted!;
    return { image: { ...byName[0]!, name }, byName: name };
  }
  const hex = ref.replace(/^sha256:/, '');
  const byDigest = /^[0-9a-f]{4,64}$/.test(hex) ? all.filter((r) => r.manifestDigest.slice(7).startsWith(hex)) : [];
  const found = byName.length ? byName : byDigest;
  if (found.length === 0) throw new ImageError(`no module file or image named ${ref} (wtm image ls lists the images)`);
  if (found.length > 1) throw new ImageError(`ambiguous image ${ref}: ${found.map((r) => `${r.names.join(', ') || '<none>'} (${shortDigest(r)})`).join(', ')}`);
  return { image: { ...found[0]!, name: found[0]!.names[0] ?? shortDigest(found[0]!) }, byName: null };
}

/** Adds the name `newName` to the image `source` (a name or digest prefix), as `docker tag`; the name leaves any other image. */
export async function tagImage(registry: Registry, source: string, newName: string): Promise<FoundImage> {
  const name = normalizeName(newName);
  const { image } = await lookup(registry, source);
  const names = image.names.includes(name) ? image.names : [...image.names, name];
  await claimNames(registry, image.manifestDigest, [name]);
  await writeRecord(registry, { ...image, names });
  return { ...image, names, name };
}

/** What `removeImage` removed. */
export interface ImageRemoval {
  image: FoundImage;
  /** The names taken off it: the one asked for, or all of them when removed by digest. */
  untagged: string[];
  /** Whether the image itself went (false: only a name, it keeps others). */
  removed: boolean;
  /** Blobs (manifest, config, layers) and unpacked layers that only this image used. */
  freed: { blobs: number; blobBytes: number; layers: number; layerBytes: number };
  /** Blobs of this image kept because another image names them too. */
  shared: number;
}

/**
 * Removes a name, as `docker rmi NAME`: the image keeps its other names; when it has none left
 * (or `ref` is a digest prefix) the image goes: its record, then the blobs and unpacked layers
 * (under `layersDir`) that no other image names. Every other image record is read first, so an
 * unreadable one stops the removal before anything is gone.
 */
export async function removeImage(registry: Registry, ref: string, layersDir: string): Promise<ImageRemoval> {
  const { image: r, byName } = await lookup(registry, ref);
  const none = { blobs: 0, blobBytes: 0, layers: 0, layerBytes: 0 };
  if (byName !== null && r.names.length > 1) {
    const names = r.names.filter((n) => n !== byName);
    await writeRecord(registry, { ...r, names });
    return { image: { ...r, names }, untagged: [byName], removed: false, freed: none, shared: 0 };
  }
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
  return { image: r, untagged: r.names, removed: true, freed, shared };
}
