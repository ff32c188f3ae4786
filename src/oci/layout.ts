import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ImageError, isTag, normalizeName, parseName, repoFromPath, tryNormalizeName } from './names.js';

/** An image source wtm cannot use, said in one line. */
export { ImageError };

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  wasmLayer: 'application/vnd.wasm.content.layer.v1+wasm',
} as const;

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

/** What an image is, read and verified from its source: the blobs are checked against their digests. */
export interface ImageContent {
  /** The names the source gives it (OCI ref annotations or docker RepoTags), normalised: `x:latest`, `host/x:1`. */
  names: string[];
  /** The first of `names`, if any (kept for callers of the single-name API). */
  name?: string;
  manifestDigest: string;
  manifest: { config: Descriptor; layers: Descriptor[] };
  config: ImageConfig;
  configDigest: string;
  /** Every blob the image needs, by digest (sha256:HEX), verified. */
  blobs: Map<string, Uint8Array>;
}

export interface ImageConfig {
  os?: string;
  architecture?: string;
  config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string };
}

/** Reads blobs by digest from wherever the source keeps them. */
export type BlobReader = (digest: string) => Uint8Array;

export function sha256(bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

function checkDigest(d: unknown): string {
  if (typeof d !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d)) throw new ImageError(`unsupported or malformed digest ${JSON.stringify(d)}`);
  return d;
}

function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  } catch {
    throw new ImageError(`${what} is not valid JSON`);
  }
}

/** A blob, checked: its size and sha256 must match the descriptor, or nothing is kept. */
function verified(read: BlobReader, d: Descriptor, what: string): Uint8Array {
  const digest = checkDigest(d.digest);
  const bytes = read(digest);
  if (typeof d.size === 'number' && bytes.byteLength !== d.size) throw new ImageError(`${what} ${digest}: ${bytes.byteLength} bytes, the descriptor says ${d.size}`);
  const actual = sha256(bytes);
  if (actual !== digest) throw new ImageError(`${what} ${digest}: content hashes to ${actual}: refusing it`);
  return bytes;
}

/** Picks the manifest for WASI: wasip1/wasm first, then linux/amd64, then the only one. */
export function pickManifest(list: Descriptor[], what: string): Descriptor {
  const manifests = list.filter((d) => d.mediaType === undefined || d.mediaType === MEDIA.manifest || d.mediaType === MEDIA.dockerManifest || d.mediaType === MEDIA.index || d.mediaType === MEDIA.dockerList);
  const by = (os: string, arch: string) => manifests.find((d) => d.platform?.os === os && d.platform?.architecture === arch);
  const m = by('wasip1', 'wasm') ?? by('wasi', 'wasm') ?? by('linux', 'amd64') ?? (manifests.length === 1 ? manifests[0] : undefined);
  if (!m) throw new ImageError(`${what}: ${manifests.length} manifests and none for wasip1/wasm or linux/amd64`);
  return m;
}

/** Reads an image from a blob store: its index (or manifest list) or manifest, config and layers. */
export function readImage(read: BlobReader, top: Descriptor, name: string | string[] | undefined, what: string): ImageContent {
  const names = name === undefined ? [] : typeof name === 'string' ? [name] : name;
  const blobs = new Map<string, Uint8Array>();
  let desc = top;
  for (let depth = 0; ; depth++) {
    if (depth > 4) throw new ImageError(`${what}: indexes nested too deep`);
    const bytes = verified(read, desc, 'manifest');
    const doc = parseJson<{ mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(bytes, `manifest ${desc.digest}`);
    if (Array.isArray(doc.manifests)) {
      blobs.set(desc.digest, bytes);
      desc = pickManifest(doc.manifests, what);
      continue;
    }
    if (!doc.config || !Array.isArray(doc.layers)) throw new ImageError(`${what}: manifest ${desc.digest} has no config or layers`);
    blobs.set(desc.digest, bytes);
    const configBytes = verified(read, doc.config, 'config');
    blobs.set(doc.config.digest, configBytes);
    for (const layer of doc.layers) blobs.set(layer.digest, verified(read, layer, 'layer'));
    return {
      names, name: names[0], manifestDigest: desc.digest, manifest: { config: doc.config, layers: doc.layers },
      config: parseJson<ImageConfig>(configBytes, 'the image config'), configDigest: doc.config.digest, blobs,
    };
  }
}

/** The tag annotations of an index.json entry. */
const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

/**
 * The name an index.json entry gives its image: containerd's full name, or the OCI ref.name
 * annotation: a bare tag (`v1`, as skopeo and umoci write it) is a tag of `repo` (the layout's
 * directory or archive name), a full reference (`example.com/app:1`) is taken as it is.
 */
function entryName(d: Descriptor, repo: string, what: string): string | null {
  const full = d.annotations?.[CONTAINERD_NAME];
  if (full && tryNormalizeName(full)) return normalizeName(full);
  const ref = d.annotations?.[REF_NAME];
  if (ref === undefined || ref === '') return null;
  if (isTag(ref)) return normalizeName(`${repo}:${ref}`);
  const n = tryNormalizeName(ref);
  if (!n) throw new ImageError(`${what}: its tag ${JSON.stringify(ref)} is not a valid tag or image name`);
  return n;
}

/** Whether an image runs as wasm: a wasm layer, a wasi/wasm platform, or a .wasm entry point. */
export function runsAsWasm(image: ImageContent): boolean {
  if (image.manifest.layers.some((l) => l.mediaType === MEDIA.wasmLayer)) return true;
  const c = image.config;
  if (c.os === 'wasip1' || c.os === 'wasi' || c.architecture === 'wasm') return true;
  const entry = [...(c.config?.Entrypoint ?? []), ...(c.config?.Cmd ?? [])][0];
  return typeof entry === 'string' && entry.endsWith('.wasm');
}

function platformOf(image: ImageContent): string {
  return `${image.config.os ?? '?'}/${image.config.architecture ?? '?'}`;
}

/** Whether a name (or its tag) is what `tag` asks for. */
function nameMatches(name: string, raw: string | undefined, tag: string): boolean {
  if (raw === tag || name === tryNormalizeName(tag)) return true;
  try {
    return parseName(name).tag === tag;
  } catch {
    return false;
  }
}

/**
 * The images of an index (an OCI layout's index.json): with `tag`, the one tagged so; without,
 * every tagged image (each under its names) when all of them run as wasm, the only (or the
 * wasi) manifest when none is tagged.
 */
export function readIndexImages(manifests: Descriptor[], read: BlobReader, what: string, repo: string, tag?: string): ImageContent[] {
  const entries = manifests.map((d) => ({ d, raw: d.annotations?.[REF_NAME] || d.annotations?.[CONTAINERD_NAME], name: entryName(d, repo, what) }));
  const tagged = entries.filter((e) => e.name !== null) as { d: Descriptor; raw: string | undefined; name: string }[];
  const tagList = () => (tagged.length ? `its tags: ${[...new Set(tagged.map((e) => e.raw ?? e.name))].join(', ')}` : 'it has no tags');
  if (tag !== undefined) {
    const hits = tagged.filter((e) => nameMatches(e.name, e.raw, tag));
    if (hits.length === 0) throw new ImageError(`${what} has no image tagged ${tag} (${tagList()})`);
    const top = pickManifest(hits.map((e) => e.d), `${what}:${tag}`);
    return [readImage(read, top, [...new Set(hits.filter((e) => e.d.digest === top.digest).map((e) => e.name))], what)];
  }
  if (tagged.length === 0) return [readImage(read, pickManifest(manifests, what), [], what)];
  const byDigest = new Map<string, { d: Descriptor; names: string[] }>();
  for (const e of tagged) {
    const g = byDigest.get(e.d.digest) ?? { d: e.d, names: [] };
    if (!g.names.includes(e.name)) g.names.push(e.name);
    byDigest.set(e.d.digest, g);
  }
  const images = [...byDigest.values()].map((g) => readImage(read, g.d, g.names, what));
  if (images.length > 1 && !images.every(runsAsWasm)) {
    const says = images.map((i) => `${i.names.join(', ')} (${runsAsWasm(i) ? 'wasm' : `${platformOf(i)}, not wasm`})`).join('; ');
    throw new ImageError(`${what} holds ${images.length} tagged images, not all of them wasm: ${says}: import one with ${what}:TAG`);
  }
  return images;
}

/**
 * A file of a layout a user was given: a regular file only, not followed through a link at its
 * own name, opened without blocking (a FIFO or a device named index.json or a blob would
 * otherwise hang the import, or read /dev/zero for ever).
 */
function readLayoutFile(dir: string, rel: string, what = rel): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(path.join(dir, rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError(`${dir}: ${what} ${code === 'ENOENT' ? 'is missing' : code === 'ELOOP' ? 'is a symbolic link' : `cannot be read (${code})`}`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new ImageError(`${dir}: ${what} is not a regular file`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** An OCI image layout directory (oci-layout, index.json, blobs/sha256/...): its images (see readIndexImages). */
export function readOciLayoutImages(dir: string, tag?: string): ImageContent[] {
  const layoutFile = path.join(dir, 'oci-layout');
  if (!fs.existsSync(layoutFile)) throw new ImageError(`${dir}: not an OCI image layout (no oci-layout file)`);
  const index = parseJson<{ manifests?: Descriptor[] }>(readLayoutFile(dir, 'index.json'), `${dir}/index.json`);
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw new ImageError(`${dir}: index.json lists no manifest`);
  const read: BlobReader = (digest) => {
    const file = path.join('blobs', 'sha256', digest.slice('sha256:'.length));
    return readLayoutFile(dir, file, `blob ${digest}`);
  };
  return readIndexImages(index.manifests, read, dir, repoFromPath(dir, false), tag);
}

/** The one image of an OCI layout directory (an error when it holds several: readOciLayoutImages reads them all). */
export function readOciLayout(dir: string, tag?: string): ImageContent {
  return only(readOciLayoutImages(dir, tag), dir);
}

function only(images: ImageContent[], what: string): ImageContent {
  if (images.length !== 1) throw new ImageError(`${what} holds ${images.length} images (${images.map((i) => i.names.join(', ')).join('; ')}): name one with ${what}:TAG`);
  return images[0]!;
}

/** A `docker save` archive's files (manifest.json naming Config, RepoTags and Layers paths): its images. */
export function readDockerSaveImages(files: Map<string, Uint8Array>, what: string, tag?: string): ImageContent[] {
  const manifestJson = files.get('manifest.json');
  if (!manifestJson) throw new ImageError(`${what}: no manifest.json`);
  const list = parseJson<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(manifestJson, `${what}: manifest.json`);
  if (!Array.isArray(list) || list.length === 0) throw new ImageError(`${what}: manifest.json lists no image`);
  const named = list.map((entry) => ({ entry, names: (entry?.RepoTags ?? []).filter((t) => typeof t === 'string').map((t) => {
    const n = tryNormalizeName(t);
    if (!n) throw new ImageError(`${what}: its tag ${JSON.stringify(t)} is not a valid image name`);
    return n;
  }) }));
  let chosen = named;
  if (tag !== undefined) {
    chosen = named.filter((e) => e.names.some((n) => nameMatches(n, undefined, tag))).map((e) => ({ entry: e.entry, names: e.names.filter((n) => nameMatches(n, undefined, tag)) }));
    if (chosen.length === 0) throw new ImageError(`${what} has no image tagged ${tag} (${named.some((e) => e.names.length) ? `its tags: ${named.flatMap((e) => e.names).join(', ')}` : 'it has no tags'})`);
  }
  const images = chosen.map(({ entry, names }) => dockerSaveImage(files, what, entry, names));
  if (images.length > 1 && !images.every(runsAsWasm)) {
    const says = images.map((i) => `${i.names.join(', ') || i.manifestDigest.slice(0, 19)} (${runsAsWasm(i) ? 'wasm' : `${platformOf(i)}, not wasm`})`).join('; ');
    throw new ImageError(`${what} holds ${images.length} images, not all of them wasm: ${says}: import one with ${what}:TAG`);
  }
  return images;
}

/** The one image of a `docker save` archive (see readDockerSaveImages). */
export function readDockerSave(files: Map<string, Uint8Array>, what: string): ImageContent {
  return only(readDockerSaveImages(files, what), what);
}

function dockerSaveImage(files: Map<string, Uint8Array>, what: string, entry: { Config: string; Layers: string[] }, names: string[]): ImageContent {
  if (!entry || typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) throw new ImageError(`${what}: manifest.json lists no image`);
  const get = (name: string) => {
    const b = files.get(name);
    if (!b) throw new ImageError(`${what}: ${name} is missing`);
    return b;
  };
  const configBytes = get(entry.Config);
  const config = { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(configBytes), size: configBytes.byteLength };
  const layers = entry.Layers.map((l) => {
    const b = get(l);
    return { mediaType: 'application/vnd.docker.image.rootfs.diff.tar', digest: sha256(b), size: b.byteLength };
  });
  const blobs = new Map<string, Uint8Array>([[config.digest, configBytes]]);
  entry.Layers.forEach((l, i) => {
    blobs.set(layers[i]!.digest, get(l));
  });
  const manifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config, layers };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = sha256(manifestBytes);
  blobs.set(manifestDigest, manifestBytes);
  return {
    names, name: names[0], manifestDigest, manifest, config: parseJson<ImageConfig>(configBytes, 'the image config'),
    configDigest: config.digest, blobs,
  };
}

/** An OCI layout packed as a tar (oci-archive): its images (see readIndexImages); `repo` names bare tags. */
export function readOciArchiveImages(files: Map<string, Uint8Array>, what: string, repo: string, tag?: string): ImageContent[] {
  if (!files.has('oci-layout')) throw new ImageError(`${what}: not an OCI archive (no oci-layout)`);
  const indexBytes = files.get('index.json');
  if (!indexBytes) throw new ImageError(`${what}: no index.json`);
  const index = parseJson<{ manifests?: Descriptor[] }>(indexBytes, `${what}: index.json`);
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw new ImageError(`${what}: index.json lists no manifest`);
  const read: BlobReader = (digest) => {
    const b = files.get(`blobs/sha256/${digest.slice('sha256:'.length)}`);
    if (!b) throw new ImageError(`${what}: blob ${digest} is missing`);
    return b;
  };
  return readIndexImages(index.manifests, read, what, repo, tag);
}

/** The one image of an OCI archive. */
export function readOciArchive(files: Map<string, Uint8Array>, what: string): ImageContent {
  return only(readOciArchiveImages(files, what, repoFromPath(what, true)), what);
}

/** The module an image runs: Entrypoint + Cmd, whose first element must name a .wasm. */
export function entryPoint(config: ImageConfig): string[] {
  const argv = [...(config.config?.Entrypoint ?? []), ...(config.config?.Cmd ?? [])];
  return argv;
}
