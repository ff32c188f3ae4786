import { normalizeName, parseName } from './names.js';
import { ImageError, MEDIA, pickManifest, readImage, sha256, type Descriptor, type ImageContent } from './layout.js';

/** `[host[:port]/]name[:tag|@digest]`, split. */
export interface ImageRef { host: string; name: string; reference: string }

export function parseRef(ref: string): ImageRef {
  const n = parseName(ref);
  return { host: n.domain === 'docker.io' ? 'registry-1.docker.io' : n.domain, name: n.path, reference: n.digest ?? n.tag ?? 'latest' };
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const ACCEPT = [MEDIA.index, MEDIA.manifest, MEDIA.dockerManifest, MEDIA.dockerList].join(', ');

/**
 * A client of the OCI distribution API for one repository: anonymous, or with the bearer
 * token the registry asks for (WWW-Authenticate: Bearer realm=..., service=..., scope=...).
 */
class Client {
  private token: string | null = null;
  constructor(private readonly ref: ImageRef, private readonly base: string) {}

  async get(path: string, accept?: string): Promise<Response> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      let res: Response;
      try {
        res = await fetch(`${this.base}/v2/${this.ref.name}/${path}`, { headers, redirect: 'follow' });
      } catch (e) {
        const cause = (e as Error).cause as { code?: string; message?: string } | undefined;
        const text = cause ? `${cause.code ?? ''} ${cause.message ?? String(cause)}` : (e as Error).message;
        // An https request answered in plain HTTP fails inside TLS ("wrong version number",
        // "packet length too long"): say what that means.
        if (this.base.startsWith('https:') && /SSL|TLS|wrong version number|packet length/i.test(text)) {
          throw new ImageError(`${this.ref.host} speaks plain HTTP, not HTTPS: pull it with --insecure (allowed for loopback registries only)`);
        }
        throw new ImageError(`cannot reach ${this.ref.host}: ${cause ? String(cause) : (e as Error).message}`);
      }
      if (res.status === 401 && attempt === 0) {
        await this.authenticate(res.headers.get('www-authenticate'));
        continue;
      }
      if (!res.ok) throw new ImageError(`${this.ref.host}/${this.ref.name}: ${path}: HTTP ${res.status}`);
      return res;
    }
    throw new ImageError(`${this.ref.host}/${this.ref.name}: authentication failed`);
  }

  private async authenticate(header: string | null): Promise<void> {
    const m = header && /^Bearer\s+(.*)$/i.exec(header);
    if (!m) throw new ImageError(`${this.ref.host}: needs authentication wtm does not support (${header ?? 'no challenge'})`);
    const params = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (!params.realm) throw new ImageError(`${this.ref.host}: bearer challenge without a realm`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${this.ref.name}:pull`);
    const res = await fetch(url);
    if (!res.ok) throw new ImageError(`${this.ref.host}: token request failed: HTTP ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    this.token = body.token ?? body.access_token ?? null;
    if (!this.token) throw new ImageError(`${this.ref.host}: the token service returned no token`);
  }
}

export interface PullOptions {
  /** Allow plain HTTP, only to a loopback registry. */
  insecure?: boolean;
  /** Called as bytes arrive: done and total of the blob being fetched. */
  onProgress?: (what: string, done: number, total: number) => void;
}

/** Pulls an image (manifest, config, layers), every blob verified against its digest. */
export async function pullImage(refText: string, opts: PullOptions = {}): Promise<ImageContent> {
  const ref = parseRef(refText);
  if (opts.insecure && !isLoopback(ref.host)) throw new ImageError(`--insecure is only allowed for a registry on loopback, not ${ref.host}`);
  const client = new Client(ref, `${opts.insecure ? 'http' : 'https'}://${ref.host}`);
  const blobs = new Map<string, Uint8Array>();
  const fetchBlob = async (path: string, what: string, size: number, accept?: string): Promise<Uint8Array> => {
    const res = await client.get(path, accept);
    const total = Number(res.headers.get('content-length') ?? size ?? 0);
    const chunks: Uint8Array[] = [];
    let done = 0;
    const reader = res.body!.getReader();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      chunks.push(value);
      done += value.byteLength;
      if (done > 4 * 2 ** 30) throw new ImageError(`${what}: larger than 4 GiB`);
      opts.onProgress?.(what, done, total);
    }
    return Buffer.concat(chunks);
  };
  // The top manifest by tag (or digest): its digest is what we computed, checked against the header.
  const topBytes = await fetchBlob(`manifests/${ref.reference}`, 'manifest', 0, ACCEPT);
  const topDigest = sha256(topBytes);
  if (ref.reference.startsWith('sha256:') && ref.reference !== topDigest) throw new ImageError(`${refText}: the registry sent a manifest hashing to ${topDigest}`);
  blobs.set(topDigest, topBytes);
  const top: Descriptor = { digest: topDigest, size: topBytes.byteLength };
  // Fetch what readImage will ask for, then let it check everything.
  const fetchManifest = async (d: Descriptor) => blobs.set(d.digest, await fetchBlob(`manifests/${d.digest}`, 'manifest', d.size, ACCEPT));
  let doc = JSON.parse(Buffer.from(topBytes).toString('utf8')) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  for (let depth = 0; Array.isArray(doc.manifests) && depth < 4; depth++) {
    const pick = pickManifest(doc.manifests, refText);
    await fetchManifest(pick);
    doc = JSON.parse(Buffer.from(blobs.get(pick.digest)!).toString('utf8'));
  }
  if (!doc.config || !Array.isArray(doc.layers)) throw new ImageError(`${refText}: the manifest has no config or layers`);
  blobs.set(doc.config.digest, await fetchBlob(`blobs/${doc.config.digest}`, 'config', doc.config.size));
  for (const [i, l] of doc.layers.entries()) blobs.set(l.digest, await fetchBlob(`blobs/${l.digest}`, `layer ${i + 1}/${doc.layers.length}`, l.size));
  const image = readImage((digest) => {
    const b = blobs.get(digest);
    if (!b) throw new ImageError(`${refText}: blob ${digest} was not fetched`);
    return b;
  }, top, normalizeName(refText), refText);
  return image;
}
