import { Errno } from '../system/index.js';
import { memfsFromTree } from './memfs.js';
import { ReadOnlyFs } from './readonly.js';
import type { Dir, FileSystem } from './types.js';

/** A file system placed at a path of the guest's tree. */
export interface MountSpec {
  /** Absolute guest path, e.g. `/` or `/data`. */
  guestPath: string;
  fs: FileSystem;
  readonly?: boolean;
}

export interface Mount {
  readonly guestPath: string;
  readonly fs: FileSystem;
  readonly readonly: boolean;
  readonly root: Dir;
}

/**
 * A directory of the guest's tree: its canonical guest path (no links, no `.`/`..`), the mount
 * it belongs to, and an open handle on it.
 */
export interface DirNode {
  readonly path: string;
  readonly mount: Mount;
  readonly dir: Dir;
}

/** Cap on cached directory handles (each is an open host fd for host mounts). */
const CACHE_LIMIT = 256;

/**
 * The guest's file-system tree: a mount table plus a cache of open directory handles keyed by
 * canonical guest path.
 *
 * The cache is what makes a guest path call cost about one host call: resolving `a/b/c` from
 * a cached `a/b` is one lookup of `c`. Entries are handles (fds), not host paths, so a
 * concurrent writer that swaps a directory for a symlink cannot redirect a cached entry: the
 * handle still names the directory that was checked. The cache is dropped whenever this guest
 * renames or removes a directory, so its own changes are seen at once; docs/sandbox.md has the
 * whole argument.
 */
export class Vfs {
  readonly mounts: Mount[] = [];
  /** Mounts by guest path. */
  private readonly mountAt = new Map<string, Mount>();
  private readonly cache = new Map<string, DirNode>();
  readonly root: DirNode;

  constructor(specs: readonly MountSpec[]) {
    const all = [...specs];
    if (!all.some((m) => m.guestPath === '/')) {
      // Where nothing is mounted at `/`, an empty read-only directory holds the mount points.
      all.unshift({ guestPath: '/', fs: syntheticRoot(specs.map((s) => s.guestPath)), readonly: true });
    }
    for (const spec of all) {
      const guestPath = normalizeMountPath(spec.guestPath);
      if (this.mountAt.has(guestPath)) throw new Error(`two mounts at ${guestPath}`);
      const fsys = spec.readonly ? new ReadOnlyFs(spec.fs) : spec.fs;
      const root = fsys.openRoot();
      if (typeof root === 'number') throw new Error(`cannot open ${spec.fs.description} for ${guestPath} (errno ${-root})`);
      const mount: Mount = { guestPath, fs: fsys, readonly: !!spec.readonly, root };
      this.mounts.push(mount);
      this.mountAt.set(guestPath, mount);
    }
    this.root = this.mountRootNode(this.mountAt.get('/')!);
  }

  private mountRootNode(m: Mount): DirNode {
    return { path: m.guestPath, mount: m, dir: m.root };
  }

  /** The mount whose root is exactly at `path`, if any. */
  mountAtPath(path: string): Mount | undefined {
    return this.mountAt.get(path);
  }

  /**
   * The directory `name` inside `parent`, without following a link: a node, or -LOOP when it
   * is a symlink, -NOTDIR, -NOENT.
   */
  child(parent: DirNode, name: string): DirNode | number {
    const path = parent.path === '/' ? '/' + name : parent.path + '/' + name;
    const cached = this.cache.get(path);
    if (cached !== undefined) return cached;
    const m = this.mountAt.get(path);
    if (m !== undefined) return this.mountRootNode(m);
    const dir = parent.dir.openDir(name);
    if (typeof dir === 'number') return dir;
    const node: DirNode = { path, mount: parent.mount, dir };
    this.remember(node);
    return node;
  }

  /** The parent directory of `node` in the guest's tree (the root's parent is the root). */
  parent(node: DirNode): DirNode | number {
    if (node.path === '/') return node;
    const path = node.path.slice(0, node.path.lastIndexOf('/')) || '/';
    return this.lookupCanonical(path);
  }

  /** The node for a canonical guest path (no links in it), opened from the root. */
  lookupCanonical(path: string): DirNode | number {
    if (path === '/') return this.root;
    const cached = this.cache.get(path);
    if (cached !== undefined) return cached;
    let node: DirNode = this.root;
    for (const name of path.split('/')) {
      if (name === '') continue;
      const next = this.child(node, name);
      if (typeof next === 'number') return next === -Errno.LOOP ? -Errno.NOENT : next;
      node = next;
    }
    return node;
  }

  private remember(node: DirNode): void {
    if (this.cache.size >= CACHE_LIMIT) {
      // Drop the oldest entry (Map keeps insertion order).
      const oldest = this.cache.keys().next().value as string;
      this.cache.get(oldest)!.dir.close();
      this.cache.delete(oldest);
    }
    this.cache.set(node.path, node);
  }

  /** Forget every cached directory: called after the guest renames or removes a directory. */
  invalidate(): void {
    for (const node of this.cache.values()) node.dir.close();
    this.cache.clear();
  }

  /** Opens a new handle on `node`'s directory, owned by the caller (for a guest fd). */
  reopen(node: DirNode): DirNode | number {
    const dir = node.dir.openDir('.');
    if (typeof dir === 'number') return dir;
    return { path: node.path, mount: node.mount, dir };
  }

  close(): void {
    this.invalidate();
    for (const m of this.mounts) m.root.close();
  }
}

export function normalizeMountPath(p: string): string {
  if (!p.startsWith('/')) throw new Error(`mount path must be absolute: ${p}`);
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new Error(`mount path may not contain '..': ${p}`);
  return '/' + parts.join('/');
}

/** An empty read-only tree holding the directories on the way to each mount point. */
function syntheticRoot(mountPaths: readonly string[]): FileSystem {
  const tree: Record<string, unknown> = {};
  for (const p of mountPaths) {
    let node = tree;
    for (const name of normalizeMountPath(p).split('/')) {
      if (name === '') continue;
      node = (node[name] ??= {}) as Record<string, unknown>;
    }
  }
  return memfsFromTree(tree as never);
}
