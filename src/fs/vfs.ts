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
  /** The node of the mount's root (never closed before the Vfs). */
  node: DirNode;
}

/**
 * A directory of the guest's tree: its canonical guest path (no links, no `.`/`..`), the mount
 * it belongs to, and an open handle on it.
 *
 * Lifetime: the handle stays open while anyone holds the node: the cache, a call in progress
 * (Vfs.hold, released when the call's scope ends) or an owner such as a guest fd (`release`).
 * It is closed when the last holder lets go, never under a holder: a closed handle's number
 * can be reused at once by the next directory opened, and a holder would then name that one.
 */
export class DirNode {
  /** Holders other than the cache. */
  refs: number;
  /** The node is an entry of the Vfs cache (which holds it too). */
  cached = false;
  constructor(
    /** Canonical guest path; kept true by the guest's own renames (Vfs.moved). */
    public path: string,
    readonly mount: Mount,
    readonly dir: Dir,
    /** Mount roots are closed only with the Vfs. */
    private readonly closable: boolean,
    refs = 0,
    /** The set of owned nodes this one is in while owned (see Vfs.own). */
    private readonly owners: Set<DirNode> | null = null,
  ) {
    this.refs = refs;
    owners?.add(this);
  }

  /** Lets go of one hold; the handle closes when nobody holds it. */
  release(): void {
    if (--this.refs > 0) return;
    this.owners?.delete(this);
    if (!this.cached && this.closable) this.dir.close();
  }

  /** Called by the cache when it drops the node. */
  uncache(): void {
    this.cached = false;
    if (this.refs === 0 && this.closable) this.dir.close();
  }
}

/** Cap on cached directory handles (each is an open host fd for host mounts). */
const CACHE_LIMIT = 256;
/**
 * Cap on the nodes one call may hold at once (its walk's stack of ancestors): each is an open
 * host fd. Paths are at most 4096 bytes and 40 links, so only a guest that built thousands of
 * nested directories gets near it; it then gets NAMETOOLONG instead of exhausting fds.
 */
export const MAX_HELD_PER_CALL = 2048;

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
 *
 * Every node handed out by `child`, `parent` and `lookupCanonical` is held until the current
 * scope ends (`enter`/`leave`, one scope per guest call): the cache may drop a node meanwhile
 * (it is full, or the guest renamed something), but its handle closes only when the call that
 * holds it is over.
 */
export class Vfs {
  readonly mounts: Mount[] = [];
  /** Mounts by guest path. */
  private readonly mountAt = new Map<string, Mount>();
  private readonly cache = new Map<string, DirNode>();
  /** Nodes held by the calls in progress, in the order taken (see enter/leave). */
  private readonly held: DirNode[] = [];
  /** Nodes owned by guest fds and other owners, whose paths follow the guest's renames. */
  private readonly owned = new Set<DirNode>();
  readonly root: DirNode;

  constructor(specs: readonly MountSpec[]) {
    const all = [...specs];
    if (!all.some((m) => normalizeMountPath(m.guestPath) === '/')) {
      // Where nothing is mounted at `/`, an empty read-only directory holds the mount points.
      all.unshift({ guestPath: '/', fs: syntheticRoot(specs.map((s) => s.guestPath)), readonly: true });
    }
    try {
      for (const spec of all) {
        const guestPath = normalizeMountPath(spec.guestPath);
        if (this.mountAt.has(guestPath)) throw new Error(`two mounts at ${guestPath}`);
        const fsys = spec.readonly && !(spec.fs instanceof ReadOnlyFs) ? new ReadOnlyFs(spec.fs) : spec.fs;
        const root = fsys.openRoot();
        if (typeof root === 'number') throw new Error(`cannot open ${spec.fs.description} for ${guestPath} (errno ${-root})`);
        const mount = { guestPath, fs: fsys, readonly: !!spec.readonly, root } as Mount;
        mount.node = new DirNode(guestPath, mount, root, false);
        this.mounts.push(mount);
        this.mountAt.set(guestPath, mount);
      }
    } catch (e) {
      for (const m of this.mounts) m.root.close();
      throw e;
    }
    this.root = this.mountAt.get('/')!.node;
  }

  /** The mount whose root is exactly at `path`, if any. */
  mountAtPath(path: string): Mount | undefined {
    return this.mountAt.get(path);
  }

  /** True when `path` is a mount point or holds one below it. */
  holdsMount(path: string): boolean {
    if (this.mountAt.has(path)) return true;
    const prefix = path === '/' ? '/' : path + '/';
    for (const m of this.mounts) if (m.guestPath.startsWith(prefix)) return true;
    return false;
  }

  /** Starts a scope: nodes handed out from now on are held until `leave(mark)`. */
  enter(): number {
    return this.held.length;
  }

  /** Ends a scope: lets go of every node taken since `enter` answered `mark`. */
  leave(mark: number): void {
    const held = this.held;
    while (held.length > mark) held.pop()!.release();
  }

  /** Holds `node` until the current scope ends; -NAMETOOLONG past the per-call cap. */
  hold(node: DirNode, mark: number): DirNode | number {
    if (this.held.length - mark >= MAX_HELD_PER_CALL) return -Errno.NAMETOOLONG;
    node.refs++;
    this.held.push(node);
    return node;
  }

  /**
   * The directory `name` inside `parent`, without following a link: a node held for the
   * current scope (which started at `mark`), or -LOOP when it is a symlink, -NOTDIR, -NOENT.
   */
  child(parent: DirNode, name: string, mark: number): DirNode | number {
    const path = parent.path === '/' ? '/' + name : parent.path + '/' + name;
    const cached = this.cache.get(path);
    if (cached !== undefined) return this.hold(cached, mark);
    const m = this.mountAt.get(path);
    if (m !== undefined) return this.hold(m.node, mark);
    if (this.held.length - mark >= MAX_HELD_PER_CALL) return -Errno.NAMETOOLONG;
    const dir = parent.dir.openDir(name);
    if (typeof dir === 'number') return dir;
    const node = new DirNode(path, parent.mount, dir, true);
    this.remember(node);
    return this.hold(node, mark);
  }

  /**
   * The parent directory of `node` in the guest's tree, held for the current scope (the root's
   * parent is the root; a mount root's parent is the directory holding the mount point).
   */
  parent(node: DirNode, mark: number): DirNode | number {
    if (node.path === '/') return this.hold(node, mark);
    const path = node.path.slice(0, node.path.lastIndexOf('/')) || '/';
    return this.lookupCanonical(path, mark);
  }

  /** The node for a canonical guest path (no links in it), walked from the root and held for the scope. */
  lookupCanonical(path: string, mark: number): DirNode | number {
    if (path === '/') return this.hold(this.root, mark);
    const cached = this.cache.get(path);
    if (cached !== undefined) return this.hold(cached, mark);
    let node: DirNode = this.root;
    for (const name of path.split('/')) {
      if (name === '') continue;
      const next = this.child(node, name, mark);
      if (typeof next === 'number') return next === -Errno.LOOP ? -Errno.NOENT : next;
      node = next;
    }
    return node;
  }

  private remember(node: DirNode): void {
    if (this.cache.size >= CACHE_LIMIT) {
      // Drop the oldest entry (Map keeps insertion order); a call holding it keeps it open.
      const oldest = this.cache.keys().next().value as string;
      const gone = this.cache.get(oldest)!;
      this.cache.delete(oldest);
      gone.uncache();
    }
    node.cached = true;
    this.cache.set(node.path, node);
  }

  /** Forget every cached directory: called after the guest renames or removes a directory. */
  invalidate(): void {
    const nodes = [...this.cache.values()];
    this.cache.clear();
    for (const n of nodes) n.uncache();
  }

  /**
   * The guest renamed `from` to `to` (canonical paths, same mount): nodes owned by fds under
   * `from` now live under `to`, as the kernel's handles follow a moved directory.
   */
  moved(from: string, to: string): void {
    const prefix = from + '/';
    for (const n of this.owned) {
      if (n.path === from) n.path = to;
      else if (n.path.startsWith(prefix)) n.path = to + n.path.slice(from.length);
    }
    this.invalidate();
  }

  /** A node on a handle the caller owns (and gives back with `release`), e.g. for a guest fd. */
  own(path: string, mount: Mount, dir: Dir): DirNode {
    return new DirNode(path, mount, dir, true, 1, this.owned);
  }

  /** Opens a new handle on `node`'s directory, owned by the caller (for a guest fd). */
  reopen(node: DirNode): DirNode | number {
    const dir = node.dir.openDir('.');
    if (typeof dir === 'number') return dir;
    return this.own(node.path, node.mount, dir);
  }

  close(): void {
    this.leave(0);
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
