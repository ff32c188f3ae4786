import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** An image source wtm cannot use, said in one line. */
export class ImageError extends Error {}

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
  /** The name the source gives it (OCI ref annotation or docker RepoTags), if any. */
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
export function readImage(read: BlobReader, top: Descriptor, name: string | undefined, what: string): ImageContent {
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
      name, manifestDigest: desc.digest, manifest: { config: doc.config, layers: doc.layers },
      config: parseJson<ImageConfig>(configBytes, 'the image config'), configDigest: doc.config.digest, blobs,
    };
  }
}

/** An OCI image layout directory (oci-layout, index.json, blobs/sha256/...). */
export function readOciLayout(dir: string): ImageContent {
  const layoutFile = path.join(dir, 'oci-layout');
  if (!fs.existsSync(layoutFile)) throw new ImageError(`${dir}: not an OCI image layout (no oci-layout file)`);
  const index = parseJson<{ manifests?: Descriptor[] }>(fs.readFileSync(path.join(dir, 'index.json')), `${dir}/index.json`);
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw new ImageError(`${dir}: index.json lists no manifest`);
  const top = pickManifest(index.manifests, dir);
  const read: BlobReader = (digest) => {
    const file = path.join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
    try {
      return fs.readFileSync(file);
    } catch {
      throw new ImageError(`${dir}: blob ${digest} is missing`);
    }
  };
  return readImage(read, top, top.annotations?.['org.opencontainers.image.ref.name'], dir);
}

/** A `docker save` archive's files (manifest.json naming Config and Layers paths), already listed. */
export function readDockerSave(files: Map<string, Uint8Array>, what: string): ImageContent {
  const manifestJson = files.get('manifest.json');
  if (!manifestJson) throw new ImageError(`${what}: no manifest.json`);
  const list = parseJson<{ Config: string; RepoTags?: string[]; Layers: string[] }[]>(manifestJson, `${what}: manifest.json`);
  const entry = list[0];
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
    name: entry.RepoTags?.[0], manifestDigest, manifest, config: parseJson<ImageConfig>(configBytes, 'the image config'),
    configDigest: config.digest, blobs,
  };
}

/** An OCI layout packed as a tar (oci-archive): its files, already listed. */
export function readOciArchive(files: Map<string, Uint8Array>, what: string): ImageContent {
  if (!files.has('oci-layout')) throw new ImageError(`${what}: not an OCI archive (no oci-layout)`);
  const indexBytes = files.get('index.json');
  if (!indexBytes) throw new ImageError(`${what}: no index.json`);
  const index = parseJson<{ manifests?: Descriptor[] }>(indexBytes, `${what}: index.json`);
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw new ImageError(`${what}: index.json lists no manifest`);
  const top = pickManifest(index.manifests, what);
  const read: BlobReader = (digest) => {
    const b = files.get(`blobs/sha256/${digest.slice('sha256:'.length)}`);
    if (!b) throw new ImageError(`${what}: blob ${digest} is missing`);
    return b;
  };
  return readImage(read, top, top.annotations?.['org.opencontainers.image.ref.name'], what);
}

/** The module an image runs: Entrypoint + Cmd, whose first element must name a .wasm. */
export function entryPoint(config: ImageConfig): string[] {
  const argv = [...(config.config?.Entrypoint ?? []), ...(config.config?.Cmd ?? [])];
  return argv;
}
