// Handles of OverlayFs (overlayfs.ts): directories and files. The layer logic (lookup,
// whiteouts, copy-up, merged listings) lives on the shared Node in overlayfs.ts.
import { Errno, Filetype, FstFlags, newFilestat, type Dirent, type Filestat, type Out } from '../system/index.js';
import { checkName } from './memfs-inode.js';
import type { Found, Node, OverlayFs } from './overlayfs.js';
import { OverlayFile } from './overlay-file.js';
import { OpenFlags, type Dir, type File } from './types.js';

/** Prefix of whiteouts (`.wh.NAME` hides NAME in the layers below) and of every hidden name. */
export const WH = '.wh.';
/** Marker file of an opaque directory: nothing below it shows through. */
export const OPAQUE = '.wh..wh..opq';

const INO_BITS = 56n;
const INO_MASK = (1n << INO_BITS) - 1n;
/** Inode numbers of the overlay: the layer's index (0 = upper) in the top 8 bits, as Linux's xino, so layers never collide. */
export function overlayIno(layer: number, ino: bigint): bigint {
  return (BigInt(layer & 0xff) << INO_BITS) | (ino & INO_MASK);
}

const scratch = newFilestat();
/** True if `name` exists in `dir` (any type). */
export function exists(dir: Dir, name: string): boolean {
  return dir.lstat(name, scratch) === 0;
}
export function isOpaque(dir: Dir): boolean {
  return exists(dir, OPAQUE);
}
function hidden(name: string): boolean {
  return name.startsWith(WH);
}

/**
 * Removes the hidden entries of an upper directory (whiteouts, the opaque marker, leftovers of
 * an interrupted copy-up) so that it can be removed or replaced. NOTEMPTY if anything else is in it.
 */
export function purgeWhiteouts(dir: Dir): number {
  const out: Out<Dirent[]> = { value: [] };
  let e = dir.readdir(out);
  if (e !== 0) return e;
  for (const d of out.value) {
    if (!hidden(d.name)) return Errno.NOTEMPTY;
    if (d.type === Filetype.DIRECTORY) {
      const sub = dir.openDir(d.name);
      if (typeof sub === 'number') return -sub;
      e = purgeWhiteouts(sub);
      sub.close();
      e = e || dir.rmdir(d.name);
    } else {
      e = dir.unlink(d.name);
    }
    if (e !== 0) return e;
  }
  return 0;
}

/** The checks every utimes does before anything changes (utimensat(2)'s EINVAL cases). */
export function badTimes(fstflags: number): boolean {
  const { ATIM, ATIM_NOW, MTIM, MTIM_NOW } = FstFlags;
  if (fstflags & ~(ATIM | ATIM_NOW | MTIM | MTIM_NOW)) return true;
  return (fstflags & ATIM && fstflags & ATIM_NOW) !== 0 || (fstflags & MTIM && fstflags & MTIM_NOW) !== 0;
}

/** A directory handle of an OverlayFs: a reference on the (shared) node of its path. */
export class OverlayDir implements Dir {
  readonly kind = 'dir';
  private closed = false;
  constructor(readonly ov: OverlayFs, readonly node: Node) {}

  private check(name: string): number {
    return this.closed ? Errno.BADF : checkName(name);
  }

  /** A new handle on the same directory. */
  private dup(): Dir | number {
    const n = this.node.dup();
    return typeof n === 'number' ? -n : new OverlayDir(this.ov, n);
  }

  private openChild(name: string, f: Found): Dir | number {
    const c = this.node.child(name, f);
    return typeof c === 'number' ? -c : new OverlayDir(this.ov, c);
  }

  lstat(name: string, out: Filestat): number {
    const e = this.check(name);
    if (e) return e;
    if (name === '.') return this.node.stat(out);
    if (hidden(name)) return Errno.NOENT;
    return this.node.statName(name, out);
  }

  openDir(name: string): Dir | number {
    const e = this.check(name);
    if (e) return -e;
    if (name === '.') return this.dup();
    if (hidden(name)) return -Errno.NOENT;
    const f = this.node.find(name);
    if (typeof f === 'number') return -f;
    if (f.st.filetype === Filetype.SYMBOLIC_LINK) return -Errno.LOOP;
    if (f.st.filetype !== Filetype.DIRECTORY) return -Errno.NOTDIR;
    return this.openChild(name, f);
  }

  open(name: string, flags: number): Dir | File | number {
    const e = this.check(name);
    if (e) return -e;
    const { READ, CREATE, EXCL, DIRECTORY, WRITE, TRUNC } = OpenFlags;
    // TRUNC without WRITE is refused before anything (as hostfs and memfs do).
    if (flags & TRUNC && !(flags & WRITE)) return -Errno.INVAL;
    if (flags & CREATE && flags & DIRECTORY) return -Errno.INVAL;
    if (name === '.') {
      if (flags & CREATE && flags & EXCL) return -Errno.EXIST;
      if (flags & (CREATE | WRITE | TRUNC)) return -Errno.ISDIR;
      return this.dup();
    }
    if (hidden(name)) return flags & CREATE ? -Errno.PERM : -Errno.NOENT;
    const node = this.node;
    const f = node.find(name);
    if (typeof f === 'number') {
      if (f !== Errno.NOENT || !(flags & CREATE)) return -f;
      const up = node.ensureUpper();
      if (typeof up === 'number') return -up;
      const wh = node.hasWhiteout(name);
      const h = up.open(name, flags);
      if (typeof h === 'number') return h;
      node.clearWhiteout(name, wh);
      return this.wrap(h, name);
    }
    if (flags & CREATE && flags & EXCL) return -Errno.EXIST;
    if (f.st.filetype === Filetype.SYMBOLIC_LINK) return -Errno.LOOP;
    if (f.st.filetype === Filetype.DIRECTORY) {
      if (flags & (CREATE | WRITE | TRUNC)) return -Errno.ISDIR;
      return this.openChild(name, f);
    }
    if (flags & DIRECTORY) return -Errno.NOTDIR;
    if (f.at.layer !== 0 && flags & WRITE) {
      // Copy-up on open for writing (as Linux: not for O_CREAT or O_APPEND alone, which cannot write).
      const c = node.copyUp(name, f, !(flags & TRUNC));
      if (c !== 0) return -c;
    }
    if (f.at.layer === 0 || flags & WRITE) {
      const h = node.upper!.open(name, flags & ~(CREATE | EXCL));
      return typeof h === 'number' ? h : this.wrap(h, name);
    }
    const h = f.at.dir.open(name, flags & (READ | DIRECTORY));
    if (typeof h === 'number') return h;
    if (h.kind === 'dir') {
      h.close();
      return -Errno.NOTSUP;
    }
    node.refs++;
    return new OverlayFile(this.ov, h, f.at.layer, { node, name, ino: f.st.ino });
  }

  /** An upper handle the upper layer opened (a directory only if something raced with us). */
  private wrap(h: Dir | File, name: string): Dir | File | number {
    if (h.kind === 'file') return new OverlayFile(this.ov, h, 0, null);
    h.close();
    return this.open(name, OpenFlags.READ | OpenFlags.DIRECTORY);
  }

  readlink(name: string, out: Out<string>): number {
    const e = this.check(name);
    if (e) return e;
    if (name === '.') return Errno.INVAL;
    if (hidden(name)) return Errno.NOENT;
    const f = this.node.find(name);
    if (typeof f === 'number') return f;
    return f.at.dir.readlink(name, out);
  }

  /** Checks that `name` is free to create: 0 or the errno. */
  private free(name: string): number {
    const e = this.check(name);
    if (e) return e;
    if (name === '.') return Errno.EXIST;
    if (hidden(name)) return Errno.PERM;
    const f = this.node.find(name);
    if (typeof f !== 'number') return Errno.EXIST;
    return f === Errno.NOENT ? 0 : f;
  }

  /** For a new name: the upper directory to create it in, and whether a whiteout is to be cleared. */
  private creating(name: string): { up: Dir; wh: boolean } | number {
    const e = this.free(name);
    if (e) return e;
    const up = this.node.ensureUpper();
    if (typeof up === 'number') return up;
    return { up, wh: this.node.hasWhiteout(name) };
  }

  mkdir(name: string): number {
    const c = this.creating(name);
    if (typeof c === 'number') return c;
    let e = c.up.mkdir(name);
    if (e !== 0 || !c.wh) return e;
    // Over a whiteout: the old directory's content must not show through the new one.
    const d = c.up.openDir(name);
    if (typeof d === 'number') e = -d;
    else {
      const m = d.open(OPAQUE, OpenFlags.CREATE | OpenFlags.WRITE);
      if (typeof m === 'number') e = -m;
      else m.close();
      d.close();
    }
    if (e !== 0) {
      c.up.rmdir(name);
      return e;
    }
    this.node.clearWhiteout(name, true);
    return 0;
  }

  symlink(target: string, name: string): number {
    if (!this.closed && target === '') return Errno.NOENT;
    const c = this.creating(name);
    if (typeof c === 'number') return c;
    const e = c.up.symlink(target, name);
    if (e === 0) this.node.clearWhiteout(name, c.wh);
    return e;
  }

  rmdir(name: string): number {
    const e = this.check(name);
    if (e) return e;
    if (name === '.') return Errno.INVAL;
    if (hidden(name)) return Errno.NOENT;
    const node = this.node;
    const f = node.find(name);
    if (typeof f === 'number') return f;
    if (f.st.filetype !== Filetype.DIRECTORY) return Errno.NOTDIR;
    const child = node.child(name, f);
    if (typeof child === 'number') return child;
    try {
      const empty = child.isEmpty();
      if (empty !== true) return empty === false ? Errno.NOTEMPTY : empty;
      const r = this.remove(name, f.at.layer === 0, () => child.purge() || node.upper!.rmdir(name));
      if (r === 0) child.markRemoved();
      return r;
    } finally {
      child.release();
    }
  }

  unlink(name: string): number {
    const e = this.check(name);
    if (e) return e;
    if (name === '.') return Errno.ISDIR;
    if (hidden(name)) return Errno.NOENT;
    const f = this.node.find(name);
    if (typeof f === 'number') return f;
    if (f.st.filetype === Filetype.DIRECTORY) return Errno.ISDIR;
    return this.remove(name, f.at.layer === 0, () => this.node.upper!.unlink(name));
  }

  /**
   * Removes a visible name: from the upper layer if it is there (`inUpper`, by `removeUpper`),
   * and with a whiteout if a lower layer has it. The whiteout comes first, so a failure in between
   * never lets the lower entry show.
   */
  private remove(name: string, inUpper: boolean, removeUpper: () => number): number {
    const node = this.node;
    const lower = typeof node.findLower(name) !== 'number';
    if (lower) {
      const e = node.whiteout(name);
      if (e !== 0) return e;
    }
    if (!inUpper) return 0;
    const e = removeUpper();
    if (e !== 0 && lower) node.upper!.unlink(WH + name);
    return e;
  }

  rename(name: string, toDir: Dir, toName: string): number {
    const e = this.check(name) || checkName(toName);
    if (e) return e;
    if (!this.sameFileSystem(toDir)) return Errno.XDEV;
    const to = toDir as OverlayDir;
    if (to.closed) return Errno.BADF;
    if (name === '.' || toName === '.') return Errno.BUSY;
    if (hidden(name)) return Errno.NOENT;
    const from = this.node;
    const dst = to.node;
    const f = from.find(name);
    if (typeof f === 'number') return f;
    if (hidden(toName)) return Errno.PERM;
    const g0 = dst.find(toName);
    if (typeof g0 === 'number' && g0 !== Errno.NOENT) return g0;
    const g = typeof g0 === 'number' ? null : g0;
    if (dst.removed) return Errno.NOENT;
    if (f.st.filetype !== Filetype.DIRECTORY) {
      if (g !== null && g.st.filetype === Filetype.DIRECTORY) return Errno.ISDIR;
      if (g !== null && from === dst && name === toName) return 0;
      if (f.at.layer !== 0) {
        const c = from.copyUp(name, f);
        if (c !== 0) return c;
      }
      return this.renameUpper(name, to, toName, null);
    }
    const moved = from.child(name, f);
    if (typeof moved === 'number') return moved;
    let target: Node | null = null;
    try {
      // Linux checks the names (types, same entry, a directory moved into itself or over its
      // own ancestor) before overlayfs refuses to move a lower directory, and that before it
      // checks that the directory replaced is empty. Only shared nodes know their parents: a
      // move into an upper-only subdirectory of a lower directory answers XDEV, not INVAL.
      if (g !== null) {
        if (g.st.filetype !== Filetype.DIRECTORY) return Errno.NOTDIR;
        if (from === dst && name === toName) return 0;
        const t = dst.child(toName, g);
        if (typeof t === 'number') return t;
        target = t;
      }
      for (let n: Node | null = dst; n !== null; n = n.parent) if (n === moved) return Errno.INVAL;
      for (let n: Node | null = from; n !== null; n = n.parent) if (n === target) return Errno.NOTEMPTY;
      // Directories with content in a lower layer do not move (overlayfs without redirect_dir).
      if (moved.lowers.length > 0) return Errno.XDEV;
      if (target !== null) {
        const empty = target.isEmpty();
        if (empty !== true) return empty === false ? Errno.NOTEMPTY : empty;
      }
      // Where a lower directory lies at the new name, the moved one must hide it.
      const under = dst.findLower(toName);
      if (typeof under !== 'number' && under.st.filetype === Filetype.DIRECTORY && !isOpaque(moved.upper!)) {
        const m = moved.upper!.open(OPAQUE, OpenFlags.CREATE | OpenFlags.WRITE);
        if (typeof m === 'number') return -m;
        m.close();
      }
      const r = this.renameUpper(name, to, toName, target);
      if (r === 0) target?.markRemoved();
      return r;
    } finally {
      moved.release();
      target?.release();
    }
  }

  /**
   * The rename itself, in the upper layer, once the source is there: a whiteout at the old name if
   * a lower layer has it, the whiteout at the new name cleared. A directory being replaced is
   * first moved aside if it holds hidden entries (which the upper rename would find not empty).
   */
  private renameUpper(name: string, to: OverlayDir, toName: string, target: Node | null): number {
    const from = this.node;
    const dst = to.node;
    const toUp = dst.ensureUpper();
    if (typeof toUp === 'number') return toUp;
    const fromUp = from.upper!;
    let aside: string | null = null;
    if (target?.upper) {
      const out: Out<Dirent[]> = { value: [] };
      if (target.upper.readdir(out) === 0 && out.value.length > 0) {
        aside = this.ov.tempName();
        const e = toUp.rename(toName, toUp, aside);
        if (e !== 0) return e;
      }
    }
    const wh = dst.hasWhiteout(toName);
    const lower = typeof from.findLower(name) !== 'number';
    let e = lower ? from.whiteout(name) : 0;
    if (e === 0) {
      e = fromUp.rename(name, toUp, toName);
      if (e !== 0 && lower) fromUp.unlink(WH + name);
    }
    if (e !== 0) {
      if (aside !== null) toUp.rename(aside, toUp, toName);
      return e;
    }
    dst.clearWhiteout(toName, wh);
    if (aside !== null) {
      const d = toUp.openDir(aside);
      if (typeof d !== 'number') {
        if (purgeWhiteouts(d) === 0) toUp.rmdir(aside);
        d.close();
      }
    }
    return 0;
  }

  link(name: string, toDir: Dir, toName: string): number {
    const e = this.check(name) || checkName(toName);
    if (e) return e;
    if (!this.sameFileSystem(toDir)) return Errno.XDEV;
    const to = toDir as OverlayDir;
    if (to.closed) return Errno.BADF;
    if (hidden(name)) return Errno.NOENT;
    const f = name === '.' ? null : this.node.find(name);
    if (typeof f === 'number') return f;
    const free = to.free(toName);
    if (free !== 0) return free;
    if (f === null || f.st.filetype === Filetype.DIRECTORY) return Errno.PERM;
    const c = to.creating(toName);
    if (typeof c === 'number') return c;
    if (f.at.layer !== 0) {
      const r = this.node.copyUp(name, f);
      if (r !== 0) return r;
    }
    const r = this.node.upper!.link(name, c.up, toName);
    if (r === 0) to.node.clearWhiteout(toName, c.wh);
    return r;
  }

  utimes(name: string, atim: bigint, mtim: bigint, fstflags: number): number {
    const e = this.check(name);
    if (e) return e;
    if (badTimes(fstflags)) return Errno.INVAL;
    const node = this.node;
    if (name === '.') {
      if (fstflags === 0) return 0;
      const up = node.ensureUpper();
      return typeof up === 'number' ? up : up.utimes('.', atim, mtim, fstflags);
    }
    if (hidden(name)) return Errno.NOENT;
    const f = node.find(name);
    if (typeof f === 'number') return f;
    if (fstflags === 0) return 0;
    if (f.at.layer !== 0) {
      let r: number;
      if (f.st.filetype === Filetype.DIRECTORY) {
        const c = node.child(name, f);
        if (typeof c === 'number') return c;
        const up = c.ensureUpper();
        c.release();
        r = typeof up === 'number' ? up : 0;
      } else {
        r = node.copyUp(name, f);
      }
      if (r !== 0) return r;
    }
    return node.upper!.utimes(name, atim, mtim, fstflags);
  }

  stat(out: Filestat): number {
    return this.closed ? Errno.BADF : this.node.stat(out);
  }

  readdir(out: Out<Dirent[]>): number {
    return this.closed ? Errno.BADF : this.node.list(out);
  }

  sync(): number {
    if (this.closed) return Errno.BADF;
    return this.node.upper?.sync() ?? 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.node.release();
  }

  sameFileSystem(other: Dir): boolean {
    return other instanceof OverlayDir && other.ov === this.ov;
  }
}
