import { Errno, type Out } from '../system/index.js';
import type { DirNode, Vfs } from './vfs.js';

/** At most this many symlinks are followed in one lookup (Linux's limit). */
export const MAX_SYMLINKS = 40;

/** Where a path leads: the directory holding its last component, and that component. */
export interface Resolved {
  parent: DirNode;
  /** A single name, or `.` when the path names `parent` itself. */
  name: string;
  /** The path ended in `/` (the last component must be a directory; a link there is followed). */
  trailingSlash: boolean;
}

/**
 * State of one lookup, kept across `followLast` so a link budget covers the whole walk.
 * `confined`: the path argument's own `..` may not climb above the fd it started from
 * (NOTCAPABLE). Once a symlink has been followed, the walk is in the guest's tree as in a
 * chroot: `..` stops at the guest's `/`, which is the wall.
 */
export class Lookup {
  links = 0;
  confined = true;
  private readonly target: Out<string> = { value: '' };
  constructor(readonly vfs: Vfs) {}

  /**
   * Resolves every component of `path` but the last, starting at `start`. Links met on the way
   * are followed (as in a chroot over the guest's tree). The caller decides what to do with the
   * last component, and calls `followLast` when it turns out to be a link to follow.
   */
  resolve(start: DirNode, path: string): Resolved | number {
    if (path.length === 0) return -Errno.NOENT;
    if (path.charCodeAt(0) === 47 /* / */) return -Errno.NOTCAPABLE;
    if (path.indexOf('\0') !== -1) return -Errno.INVAL;
    return this.walk([start], path);
  }

  /** Continues a lookup through the link `name` in `parent` whose last component was a symlink. */
  followLast(r: Resolved): Resolved | number {
    if (++this.links > MAX_SYMLINKS) return -Errno.LOOP;
    const e = r.parent.dir.readlink(r.name, this.target);
    if (e !== 0) return -e;
    let target = this.target.value;
    if (target.length === 0) return -Errno.NOENT;
    if (r.trailingSlash) target += '/';
    this.confined = false;
    return this.walkLink([r.parent], target);
  }

  private walkLink(stack: DirNode[], target: string): Resolved | number {
    if (target.charCodeAt(0) === 47) stack = [this.vfs.root];
    return this.walk(stack, target);
  }

  /** The walk itself: a worklist of components and a stack of opened ancestors. */
  private walk(stack: DirNode[], path: string): Resolved | number {
    const vfs = this.vfs;
    const parts = path.split('/');
    // Trailing slashes: `a/b/` means b must be a directory (and a link there is followed).
    let end = parts.length;
    const trailingSlash = end > 1 && parts[end - 1] === '';
    while (end > 1 && parts[end - 1] === '') end--;
    for (let i = 0; i < end; i++) {
      const name = parts[i]!;
      const last = i === end - 1;
      let top = stack[stack.length - 1]!;
      if (name === '' || name === '.') {
        if (last) return { parent: top, name: '.', trailingSlash };
        continue;
      }
      if (name === '..') {
        if (stack.length > 1) {
          stack.pop();
        } else if (this.confined) {
          // Why: a path argument may not climb above the fd it is relative to (WASI, wasmtime).
          return -Errno.NOTCAPABLE;
        } else {
          // Why: `..` at the guest's `/` stays there; at a mount's root it reaches the
          // directory holding the mount point, never the host directory above the mount.
          const up = vfs.parent(top);
          if (typeof up === 'number') return up;
          stack[0] = up;
        }
        top = stack[stack.length - 1]!;
        if (last) return { parent: top, name: '.', trailingSlash };
        continue;
      }
      if (last) return { parent: top, name, trailingSlash };
      const next = vfs.child(top, name);
      if (typeof next !== 'number') {
        stack.push(next);
        continue;
      }
      if (next !== -Errno.LOOP) return next;
      // A symlink in the middle of the path: splice its target in front of the rest.
      if (++this.links > MAX_SYMLINKS) return -Errno.LOOP;
      const e = top.dir.readlink(name, this.target);
      if (e !== 0) return -e;
      const target = this.target.value;
      if (target.length === 0) return -Errno.NOENT;
      this.confined = false;
      const rest = parts.slice(i + 1, end).join('/') + (trailingSlash ? '/' : '');
      return this.walkLink(stack, rest.length > 0 ? target + '/' + rest : target);
    }
    // Only reachable for an empty component list, which `resolve` rules out.
    return -Errno.NOENT;
  }
}
