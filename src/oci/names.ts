import path from 'node:path';

/** A bad image, name or archive: one line for the user. */
export class ImageError extends Error {}

/**
 * Image names as Docker reads them: `[HOST[:PORT]/]PATH[:TAG][@DIGEST]`. A name without a tag
 * or digest means `:latest`; Docker Hub's names are kept in their short form (`x:latest`, not
 * `docker.io/library/x:latest`), so `x`, `x:latest`, `library/x` and `docker.io/library/x`
 * are one name.
 */
export interface ParsedName {
  /** The registry host as written (`docker.io` for Docker Hub). */
  domain: string;
  /** The repository path, with `library/` for official Docker Hub images. */
  path: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$/;
const HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function isTag(s: string): boolean {
  return TAG.test(s);
}

/** Splits and checks a reference; throws an ImageError naming what is wrong. */
export function parseName(ref: string): ParsedName {
  if (ref.length === 0 || ref.length > 255 + 140) throw new ImageError(`${JSON.stringify(ref)}: not a valid image name`);
  let rest = ref;
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ImageError(`${ref}: not a valid digest (sha256:64 hex digits)`);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ImageError(`${ref}: not a valid tag ${JSON.stringify(tag)} (letters, digits, _ . -, at most 128)`);
  }
  let domain = 'docker.io';
  let repo = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      if (!DOMAIN.test(first)) throw new ImageError(`${ref}: not a valid registry host ${JSON.stringify(first)}`);
      domain = HUB.has(first) ? 'docker.io' : first;
      repo = rest.slice(slash + 1);
    }
  }
  if (repo.length === 0 || !repo.split('/').every((c) => COMPONENT.test(c))) {
    throw new ImageError(`${ref}: not a valid image name (lowercase letters, digits and separators . _ - between /)`);
  }
  if (domain === 'docker.io' && !repo.includes('/')) repo = `library/${repo}`;
  return { domain, path: repo, tag, digest };
}

/** The stored, familiar form of a name: `x:latest`, `org/x:1`, `127.0.0.1:5000/x:latest`, `x@sha256:…`. */
export function normalizeName(ref: string): string {
  const n = parseName(ref);
  const repo = n.domain === 'docker.io' ? n.path.replace(/^library\/(?=[^/]+$)/, '') : `${n.domain}/${n.path}`;
  if (n.digest) return n.tag ? `${repo}:${n.tag}@${n.digest}` : `${repo}@${n.digest}`;
  return `${repo}:${n.tag ?? 'latest'}`;
}

/** normalizeName, or null when `ref` is no valid name. */
export function tryNormalizeName(ref: string): string | null {
  try {
    return normalizeName(ref);
  } catch {
    return null;
  }
}

/**
 * A repository name made from a layout directory's or archive file's base name (for a bare
 * tag `v1` in its index.json: `DIRNAME:v1`), lowercased and cleaned up to a valid name.
 */
export function repoFromPath(source: string, isFile: boolean): string {
  let base = path.basename(path.resolve(source));
  if (isFile) {
    const known = base.replace(/\.(tar(\.gz|\.zst|\.zstd)?|tgz|oci)$/i, '');
    base = known !== base ? known : base.replace(/(.)\.[^.]*$/, '$1');
  }
  const clean = base.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|[._-]+$/g, '').replace(/([._-])[._-]+/g, '$1');
  return clean || 'image';
}
