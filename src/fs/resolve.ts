import { Errno, Filetype, type Dirent, type Filestat, type Out } from '../system/index.js';
import { OpenFlags } from './types.js';
import type { DirNode, Vfs } from './vfs.js';

/**
 * The containment module: the one place where a guest path becomes a directory handle and a
 * single name. Nothing else in wtm resolves a guest path (the sandbox's path calls, reading a
 * task's module, sharing a directory with a task and reading an image's entry point all come
 * here). docs/sandbox.md states the rules with the tests that try to break them.
 */

/** At most this many symlinks are followed in one lookup (Linux's limit). */
export const MAX_SYMLINKS = 40;
/** Longest path argument, in bytes, terminating NUL included (Linux's PATH_MAX). */
export const PATH_MAX = 4096;

/** Where a path leads: the directory holding its last component, and that component. */
export interface Resolved {
  /** Held until the scope of the call ends (Vfs.enter/leave). */
  parent: DirNode;
  /**
   * A single name, or `.` when the path names a directory of the walk itself (`self`; for a
   * final `..`, `parent` is the directory it was looked up in, as Linux's parent is).
   */
  name: string;
  /** The path ended in `/` (the last component must be a directory; a link there is followed). */
  trailingSlash: boolean;
  /**
   * The directory the path names when the walk itself reached it: `.`, `..`, a path ending in
   * them, or a mount point (a mount's root, which its parent's backend does not hold). Null
   * when the last component is a name for the caller to act on in `parent`.
   */
  self: DirNode | null;
  /** The last component's lstat errno when `final` took it (-1: not taken). */
  lstat: number;
  /** The path ended in `..` (rmdir answers NOTEMPTY there, INVAL for `.`). */
  dotdot: boolean;
}

function isAbsolute(p: string): boolean {
  return p.charCodeAt(0) === 47; /* / */
}

/** `path` is strictly inside the directory at canonical path `dir`. */
function strictlyBelow(path: string, dir: string): boolean {
  if (dir === '/') return path !== '/';
  return path.length > dir.length && path.charCodeAt(dir.length) === 47 && path.startsWith(dir);
}

/** How many components of `parts` remain once trailing empty ones (a trailing `/`) are dropped. */
function trimmedEnd(parts: string[]): number {
  let end = parts.length;
  while (end > 1 && parts[end - 1] === '') end--;
  return end;
}

/** Where readlink answers; a lookup copies the string out at once (one thread per Vfs). */
const linkTarget: Out<string> = { value: '' };

/**
 * One lookup: the link budget and where the literal path argument started, kept across
 * `followLast` so one budget covers the whole walk. Every node it reaches is held by the Vfs
 * until the scope that was current when the lookup began ends.
 *
 * The rules (docs/sandbox.md):
 * - the path argument is relative, and its own `..` components (not those of a link's target)
 *   may climb only while the walk is strictly below the directory the argument started from,
 *   whether or not links were followed on the way (NOTCAPABLE);
 * - links are followed as in a chroot over the guest's tree: an absolute target starts at the
 *   guest's `/`, `..` at `/` stays there, and `..` at a mount's root reaches the directory
 *   holding the mount point, never the host directory above the mount;
 * - at most MAX_SYMLINKS links per lookup (LOOP).
 */
export class Lookup {
  private links = 0;
  private startPath = '/';
  private readonly mark: number;

  constructor(private readonly vfs: Vfs) {
    this.mark = vfs.enter();
  }

  /**
   * Resolves every component of `path` but the last, starting at `start`. A lookup may
   * resolve several paths one after another (link and rename take two): each has its own
   * link budget, and all their nodes are held until `done`.
   */
  resolve(start: DirNode, path: string): Resolved | number {
    if (path.length === 0) return -Errno.NOENT;
    if (isAbsolute(path)) return -Errno.NOTCAPABLE;
    if (path.length >= PATH_MAX / 3 && Buffer.byteLength(path) >= PATH_MAX) return -Errno.NAMETOOLONG;
    if (path.indexOf('\0') !== -1) return -Errno.INVAL;
    this.links = 0;
    const held = this.vfs.hold(start, this.mark);
    if (typeof held === 'number') return held;
    this.startPath = start.path;
    const parts = path.split('/');
    const end = trimmedEnd(parts);
    return this.walk([start], parts, end, 0, end < parts.length);
  }

  /** Continues the lookup through the last component of `r`, which is a symlink. */
  followLast(r: Resolved): Resolved | number {
    const target = this.readLink(r.parent, r.name);
    if (typeof target === 'number') return target;
    const parts = target.split('/');
    const end = trimmedEnd(parts);
    // Every component now comes from a link's target: none is literal.
    return this.walk(this.startOf(target, r.parent), parts, end, end, end < parts.length || r.trailingSlash);
  }

  private readLink(dir: DirNode, name: string): string | number {
    if (++this.links > MAX_SYMLINKS) return -Errno.LOOP;
    const e = dir.dir.readlink(name, linkTarget);
    if (e !== 0) return -e;
    const target = linkTarget.value;
    linkTarget.value = '';
    return target.length === 0 ? -Errno.NOENT : target;
  }

  /** Where a link's target starts: the guest's `/` for an absolute one. */
  private startOf(target: string, linkDir: DirNode): DirNode[] {
    return [isAbsolute(target) ? this.vfs.root : linkDir];
  }

  /**
   * The walk: `parts[0..end)` from the directory on top of `stack` (the ancestors opened on
   * the way, popped by `..`). Components at `literalFrom` and after come from the path
   * argument itself; those before, from a link's target.
   */
  private walk(stack: DirNode[], parts: string[], end: number, literalFrom: number, trailingSlash: boolean): Resolved | number {
    const vfs = this.vfs;
    for (let i = 0; i < end; i++) {
      const name = parts[i]!;
      const last = i === end - 1;
      let top = stack[stack.length - 1]!;
      if (name === '' || name === '.') {
        if (last) return { parent: top, name: '.', trailingSlash, self: top, lstat: -1, dotdot: false };
        continue;
      }
      if (name === '..') {
        // Why: the path argument may not climb above the fd it is relative to (WASI,
        // wasmtime), and that holds wherever links took the walk: what counts is where the
        // walk is, not how many names the argument has spelled.
        if (i >= literalFrom && !strictlyBelow(top.path, this.startPath)) return -Errno.NOTCAPABLE;
        // A final `..` is looked up in this directory (Linux's parent of the last component).
        const lookedUpIn = top;
        if (stack.length > 1) {
          stack.pop();
        } else {
          // Why: `..` at the guest's `/` stays there; at a mount's root it reaches the
          // directory holding the mount point, never the host directory above the mount.
          const up = vfs.parent(top, this.mark);
          if (typeof up === 'number') return up;
          stack[0] = up;
        }
        top = stack[stack.length - 1]!;
        if (last) return { parent: lookedUpIn, name: '.', trailingSlash, self: top, lstat: -1, dotdot: true };
        continue;
      }
      if (last) return { parent: top, name, trailingSlash, self: this.mountRoot(top, name), lstat: -1, dotdot: false };
      const next = vfs.child(top, name, this.mark);
      if (typeof next !== 'number') {
        stack.push(next);
        continue;
      }
      if (next !== -Errno.LOOP) return next;
      // A symlink in the middle of the path: its target's components go in front of the rest.
      const target = this.readLink(top, name);
      if (typeof target === 'number') return target;
      const linkParts = target.split('/');
      const rest = parts.slice(i + 1, end);
      // The rest keeps its literal components (always a tail of the worklist).
      const literalInRest = Math.max(0, end - Math.max(literalFrom, i + 1));
      const joined = linkParts.concat(rest);
      const nextStack = isAbsolute(target) ? [vfs.root] : stack;
      return this.walk(nextStack, joined, joined.length, joined.length - literalInRest, trailingSlash);
    }
    // Only reachable for an empty component list, which `resolve` rules out.
    return -Errno.NOENT;
  }

  /**
   * The mount whose root is `name` in `dir`, if there is one. Not held: a mount's root lives
   * as long as the Vfs (and a failed hold must never make a mount point look like the
   * directory it covers).
   */
  private mountRoot(dir: DirNode, name: string): DirNode | null {
    return this.vfs.mountAtPath(dir.path === '/' ? '/' + name : dir.path + '/' + name)?.node ?? null;
  }

  /**
   * Resolves `path` to its last component, following a final link when `follow` says so or
   * the path ends in `/`; the last component's lstat lands in `st` (and `r.lstat` says its
   * errno) whenever it was taken.
   */
  final(start: DirNode, path: string, follow: boolean, st: Filestat): Resolved | number {
    let r = this.resolve(start, path);
    while (typeof r !== 'number' && r.self === null && (follow || r.trailingSlash)) {
      r.lstat = r.parent.dir.lstat(r.name, st);
      if (r.lstat !== 0 || st.filetype !== Filetype.SYMBOLIC_LINK) break;
      r = this.followLast(r);
    }
    return r;
  }

  /** The directory `r` names, held for the scope: -LOOP if it is a link, -NOTDIR, -NOENT. */
  dirOf(r: Resolved): DirNode | number {
    return r.self ?? this.vfs.child(r.parent, r.name, this.mark);
  }

  /**
   * Resolves `path` and hands its last component to `act`; when `act` answers -LOOP (the
   * component is a link) and the lookup follows links there (`follow`, or a trailing `/`),
   * the link is followed and `act` is called again.
   */
  at<T>(start: DirNode, path: string, follow: boolean, act: (r: Resolved) => T | number): T | number {
    let r = this.resolve(start, path);
    for (;;) {
      if (typeof r === 'number') return r;
      const out = act(r);
      if (!this.follows(out, r, follow)) return out;
      r = this.followLast(r);
    }
  }

  /**
   * Whether an action's answer `out` on the last component of `r` means "a link, to be
   * followed": -LOOP, on a name (not a directory of the walk), where the lookup follows links
   * (`follow`, or a trailing `/`).
   */
  private follows(out: unknown, r: Resolved, follow: boolean): boolean {
    return out === -Errno.LOOP && r.self === null && (follow || r.trailingSlash);
  }

  /** Lets go of every node this lookup reached (ends the scope it began). */
  done(): void {
    this.vfs.leave(this.mark);
  }
}

/**
 * Runs `fn` with a lookup whose nodes are held until `fn` returns: the scope of one guest
 * call, or of one host-side use of a guest path.
 */
export function withLookup<T>(vfs: Vfs, fn: (l: Lookup) => T): T {
  const l = new Lookup(vfs);
  try {
    return fn(l);
  } finally {
    l.done();
  }
}

/** A guest path from the guest's `/`, as a path relative to the root (`/a/b` -> `a/b`). */
function fromRoot(abs: string): string | number {
  if (!isAbsolute(abs)) return -Errno.INVAL;
  let i = 0;
  while (abs.charCodeAt(i) === 47) i++;
  return i === abs.length ? '.' : abs.slice(i);
}

/**
 * Reads a whole file named by an absolute guest path, by the same rules as the guest's own
 * calls (links followed): a task's module, an image's entry point.
 */
export function readGuestFile(vfs: Vfs, abs: string, maxBytes: number): Uint8Array | number {
  const rel = fromRoot(abs);
  if (typeof rel === 'number') return rel;
  return withLookup(vfs, (l) => l.at(vfs.root, rel, true, (r) => {
    if (r.self !== null) return -Errno.ISDIR;
    const h = r.parent.dir.open(r.name, OpenFlags.READ);
    if (typeof h === 'number') return h;
    try {
      if (h.kind === 'dir') return -Errno.ISDIR;
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        const buf = new Uint8Array(Math.min(1 << 20, maxBytes + 1 - total));
        const n = h.pread(buf, total);
        if (n < 0) return n;
        if (n === 0) break;
        total += n;
        if (total > maxBytes) return -Errno.FBIG;
        chunks.push(buf.subarray(0, n));
      }
      return Buffer.concat(chunks);
    } finally {
      h.close();
    }
  }));
}

/**
 * The directory an absolute guest path names (links followed), as a node on a handle of its
 * own that the caller owns and must `release()`: what a guest shares with a task.
 */
export function guestDir(vfs: Vfs, abs: string): DirNode | number {
  const rel = fromRoot(abs);
  if (typeof rel === 'number') return rel;
  return withLookup(vfs, (l) => l.at(vfs.root, rel, true, (r) => {
    const node = l.dirOf(r);
    if (typeof node === 'number') return node;
    return vfs.reopen(node);
  }));
}

/** The entries of a directory named by an absolute guest path (links followed), or -errno. */
export function listGuestDir(vfs: Vfs, abs: string): Dirent[] | number {
  const node = guestDir(vfs, abs);
  if (typeof node === 'number') return node;
  try {
    const list: Out<Dirent[]> = { value: [] };
    const e = node.dir.readdir(list);
    return e === 0 ? list.value : -e;
  } finally {
    node.release();
  }
}
