import { Errno, Filetype, FstFlags, newFilestat, type Dirent, type Filestat, type Out } from '../system/index.js';
import { OpenFlags, type Dir, type File, type FileSystem } from './types.js';
import { ReadOnlyFs } from './readonly.js';
import { exists, isOpaque, OPAQUE, OverlayDir, overlayIno, purgeWhiteouts, WH } from './overlay-dir.js';

export { OPAQUE, overlayIno, WH } from './overlay-dir.js';

export interface OverlayFsOptions {
  /** Read-only image layers, top first. They are wrapped read-only and never changed. */
  lowers: readonly FileSystem[];
  /** The writable layer (the task's own directory): every change lands here. */
  upper: FileSystem;
  description?: string;
}

/** A directory of one layer: its handle and the layer's index (0 = upper, 1.. = lowers, top first). */
export interface LayerDir {
  readonly layer: number;
  readonly dir: Dir;
}

/** A visible name: the layer directory that holds it, and its lstat there. */
export interface Found {
  readonly at: LayerDir;
  readonly st: Filestat;
}

/** A device number no host device has (major 0x4f564c, "OVL"), one per OverlayFs. */
let devCounter = 0n;
const COPY_CHUNK = 1 << 20;
const TIMES = FstFlags.ATIM | FstFlags.MTIM;

/**
 * Layers as Linux overlayfs stacks them for OCI images: read-only lowers (top first) under one
 * writable upper layer. Whiteouts are files `.wh.NAME` (hide NAME below), a directory holding
 * `.wh..wh..opq` hides everything below it, both as in OCI layer tarballs and also in the upper
 * layer, so a task's directory is itself a layer. Names starting with `.wh.` are never visible:
 * looking one up answers NOENT, creating one PERM (as aufs does).
 *
 * A lower file is copied up (content, atime/mtime; its directories are created in the upper
 * layer as needed, with their lower times) when opened with write access, when its times are set
 * (by name or through a read-only fd) and when hard-linked; the upper parent keeps its times, as
 * in Linux. As in Linux, O_CREAT or O_APPEND without write access copy nothing. Renaming a
 * directory that has content in a lower layer answers XDEV (overlayfs without redirect_dir:
 * programs then copy); an upper-only directory moves, and is made opaque if it lands on a lower
 * directory. Everything answers the overlay's own dev, and inode numbers carry the layer's index
 * in the top 8 bits (Linux's xino); a merged directory answers nlink 1 and keeps the inode
 * number of its top lower copy when copied up.
 * Known departures: a file keeps its inode number only until it is copied up; an fd opened
 * read-only before another fd copied the file up keeps reading the lower copy (Linux < 4.19);
 * reads may move a lower file's atime as its own backend does; whiteouts cost 4 bytes of the
 * name, so removing a lower name of 252+ bytes is NAMETOOLONG.
 */
/**
 * Directory times that copy-up keeps (the copied directory's, the parent's it restores) are
 * rounded to microseconds: on a host upper layer, exact nanoseconds cost a `touch` process
 * each (fs/hosttimes.ts), six per first write. File times stay exact.
 */
function micros(t: bigint): bigint {
  return t - (t % 1000n);
}

export class OverlayFs implements FileSystem {
  readonly description: string;
  readonly dev = (0x4f564cn << 32n) | ++devCounter;
  readonly upper: FileSystem;
  readonly lowers: readonly FileSystem[];
  /** The root, shared by every open handle (so that copy-ups are seen by all); null when none is open. */
  private root: Node | null = null;
  private tmpCounter = 0;

  constructor(options: OverlayFsOptions) {
    if (options.lowers.length > 254) throw new Error('OverlayFs: at most 254 lower layers');
    this.upper = options.upper;
    this.lowers = options.lowers.map((l) => (l instanceof ReadOnlyFs ? l : new ReadOnlyFs(l)));
    this.description =
      options.description ?? `overlay(${options.upper.description} over ${options.lowers.map((l) => l.description).join(', ')})`;
  }

  openRoot(): Dir | number {
    if (this.root !== null) {
      this.root.refs++;
      return new OverlayDir(this, this.root);
    }
    const upper = this.upper.openRoot();
    if (typeof upper === 'number') return upper;
    const lowers: LayerDir[] = [];
    if (!isOpaque(upper)) {
      for (let i = 0; i < this.lowers.length; i++) {
        const d = this.lowers[i]!.openRoot();
        if (typeof d === 'number') {
          upper.close();
          for (const l of lowers) l.dir.close();
          return d;
        }
        lowers.push({ layer: i + 1, dir: d });
        if (isOpaque(d)) break;
      }
    }
    this.root = new Node(this, null, '', upper, lowers, true);
    return new OverlayDir(this, this.root);
  }

  /** Called when the last handle on the root closes. */
  rootReleased(node: Node): void {
    if (this.root === node) this.root = null;
  }

  /** A fresh hidden name for a copy-up in progress. */
  tempName(): string {
    return `${WH}${WH}tmp.${process.pid}.${++this.tmpCounter}`;
  }
}

/**
 * One directory of the merged tree: its handle in the upper layer (null until copied up) and in
 * each lower layer it merges (top first). Nodes with lower layers are shared by every handle on
 * that path (found through the parent's `children`), and they cannot be renamed (XDEV), so the
 * path never goes stale; an upper-only directory needs no sharing: its upper handle follows it.
 */
export class Node {
  refs = 1;
  /** rmdir'd (or replaced by a rename): lookups answer NOENT, listings are empty. */
  removed = false;
  /** Shared subdirectories that have open handles. */
  readonly children = new Map<string, Node>();

  constructor(
    readonly ov: OverlayFs,
    readonly parent: Node | null,
    readonly name: string,
    public upper: Dir | null,
    readonly lowers: readonly LayerDir[],
    readonly shared: boolean,
  ) {
    if (parent !== null) parent.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    this.upper?.close();
    for (const l of this.lowers) l.dir.close();
    if (this.parent !== null) {
      if (this.parent.children.get(this.name) === this) this.parent.children.delete(this.name);
      this.parent.release();
    } else if (this.shared) {
      this.ov.rootReleased(this);
    }
  }

  /** Another reference for a new handle: the same node if shared, else a node on a new upper handle. */
  dup(): Node | number {
    if (this.shared) {
      this.refs++;
      return this;
    }
    const d = this.upper!.openDir('.');
    return typeof d === 'number' ? -d : new Node(this.ov, null, this.name, d, [], false);
  }

  markRemoved(): void {
    if (!this.shared) return;
    this.removed = true;
    if (this.parent !== null && this.parent.children.get(this.name) === this) this.parent.children.delete(this.name);
  }

  /** The topmost layer that has `name`, whiteouts honoured: a Found, or an errno (NOENT when hidden or absent). */
  find(name: string): Found | number {
    if (this.removed) return Errno.NOENT;
    const st = newFilestat();
    if (this.upper !== null) {
      const e = this.upper.lstat(name, st);
      if (e === 0) return { at: { layer: 0, dir: this.upper }, st };
      if (e !== Errno.NOENT) return e;
      if (this.lowers.length === 0 || exists(this.upper, WH + name)) return Errno.NOENT;
    }
    return this.findLower(name, st, 0);
  }

  /** As `find`, in the lower layers only, from the `from`th of them (what shows if the upper entry goes). */
  findLower(name: string, st = newFilestat(), from = 0): Found | number {
    for (let i = from; i < this.lowers.length; i++) {
      const l = this.lowers[i]!;
      const e = l.dir.lstat(name, st);
      if (e === 0) return { at: l, st };
      if (e !== Errno.NOENT) return e;
      if (exists(l.dir, WH + name)) return Errno.NOENT;
    }
    return Errno.NOENT;
  }

  /** Index in `lowers` just after the layer of `f` (0 for the upper layer). */
  private below(f: Found): number {
    return f.at.layer === 0 ? 0 : this.lowers.findIndex((l) => l.layer === f.at.layer) + 1;
  }

  /** True if the upper layer holds a whiteout for `name` (only possible where lowers merge). */
  hasWhiteout(name: string): boolean {
    return this.upper !== null && this.lowers.length > 0 && exists(this.upper, WH + name);
  }

  /** The node of subdirectory `name` (found as a directory at `f`); the caller releases it. */
  child(name: string, f: Found): Node | number {
    const known = this.children.get(name);
    if (known !== undefined) {
      known.refs++;
      return known;
    }
    const top = f.at.dir.openDir(name);
    if (typeof top === 'number') return top;
    const lowers: LayerDir[] = [];
    if (f.at.layer !== 0) lowers.push({ layer: f.at.layer, dir: top });
    if (!isOpaque(top)) {
      const st = newFilestat();
      for (let i = this.below(f); i < this.lowers.length; i++) {
        const l = this.lowers[i]!;
        if (l.dir.lstat(name, st) !== 0) {
          if (exists(l.dir, WH + name)) break;
          continue;
        }
        if (st.filetype !== Filetype.DIRECTORY) break;
        const d = l.dir.openDir(name);
        if (typeof d === 'number') break;
        lowers.push({ layer: l.layer, dir: d });
        if (isOpaque(d)) break;
      }
    }
    const upper = f.at.layer === 0 ? top : null;
    if (lowers.length === 0) return new Node(this.ov, null, name, upper, [], false);
    const node = new Node(this.ov, this, name, upper, lowers, true);
    this.children.set(name, node);
    return node;
  }

  /** The upper directory of this node, created (with its parents, times copied) on first need. */
  ensureUpper(): Dir | number {
    if (this.removed) return Errno.NOENT;
    if (this.upper !== null) return this.upper;
    if (this.parent === null) return Errno.NOENT;
    const pu = this.parent.ensureUpper();
    if (typeof pu === 'number') return pu;
    const src = newFilestat();
    let e = this.lowers[0]!.dir.stat(src);
    if (e !== 0) return e;
    const saved = newFilestat();
    e = pu.stat(saved);
    if (e !== 0) return e;
    e = pu.mkdir(this.name);
    if (e !== 0 && e !== Errno.EXIST) return e;
    const d = pu.openDir(this.name);
    if (typeof d === 'number') return -d;
    d.utimes('.', micros(src.atim), micros(src.mtim), TIMES);
    pu.utimes('.', micros(saved.atim), micros(saved.mtim), TIMES);
    this.upper = d;
    return d;
  }

  /**
   * Copies `name` (found in a lower layer) up: a regular file's content unless `data` is false
   * (it is about to be truncated), or a symlink; then its times. It is built under a hidden
   * name and renamed into place, so a failure leaves nothing visible.
   */
  copyUp(name: string, f: Found, data = true): number {
    const up = this.ensureUpper();
    if (typeof up === 'number') return up;
    const saved = newFilestat();
    let e = up.stat(saved);
    if (e !== 0) return e;
    let tmp = this.ov.tempName();
    if (f.st.filetype === Filetype.REGULAR_FILE) {
      let dst = up.open(tmp, OpenFlags.CREATE | OpenFlags.EXCL | OpenFlags.WRITE);
      while (dst === -Errno.EXIST) dst = up.open((tmp = this.ov.tempName()), OpenFlags.CREATE | OpenFlags.EXCL | OpenFlags.WRITE);
      if (typeof dst === 'number') return -dst;
      e = data ? copyData(f.at.dir, name, dst as File) : 0;
      dst.close();
    } else if (f.st.filetype === Filetype.SYMBOLIC_LINK) {
      const target: Out<string> = { value: '' };
      e = f.at.dir.readlink(name, target) || up.symlink(target.value, tmp);
    } else {
      return Errno.NOTSUP; // device nodes, FIFOs, sockets: no way to create them in a backend
    }
    if (e === 0 && (data || f.st.size === 0n)) e = up.utimes(tmp, f.st.atim, f.st.mtim, TIMES);
    if (e === 0) e = up.rename(tmp, up, name);
    if (e !== 0) {
      up.unlink(tmp);
      return e;
    }
    up.utimes('.', micros(saved.atim), micros(saved.mtim), TIMES);
    return 0;
  }

  /** stat of the directory itself: the topmost layer's, with the overlay's dev and a stable inode number. */
  stat(out: Filestat): number {
    const top = this.upper ?? this.lowers[0]!.dir;
    const e = top.stat(out);
    if (e !== 0) return e;
    out.dev = this.ov.dev;
    if (this.lowers.length === 0) {
      out.ino = overlayIno(0, out.ino);
      return 0;
    }
    // Inode number of the topmost lower directory (Linux's origin), so that a copy-up keeps it.
    if (this.upper !== null) {
      const o = newFilestat();
      const e2 = this.lowers[0]!.dir.stat(o);
      if (e2 !== 0) return e2;
      out.ino = overlayIno(this.lowers[0]!.layer, o.ino);
    } else {
      out.ino = overlayIno(this.lowers[0]!.layer, out.ino);
    }
    // Merged directories answer nlink 1, as in Linux: the subdirectory count is unknown.
    if (this.lowers.length + (this.upper !== null ? 1 : 0) > 1) out.nlink = 1n;
    return 0;
  }

  /** lstat of a visible name, dev and inode numbers as `stat` and `list` give them. */
  statName(name: string, out: Filestat): number {
    const f = this.find(name);
    if (typeof f === 'number') return f;
    Object.assign(out, f.st);
    out.dev = this.ov.dev;
    out.ino = overlayIno(f.at.layer, f.st.ino);
    if (f.st.filetype !== Filetype.DIRECTORY) return 0;
    const under = this.findLower(name, newFilestat(), this.below(f));
    if (typeof under === 'number' || under.st.filetype !== Filetype.DIRECTORY) return 0;
    if (isOpaqueChild(f.at.dir, name)) return 0;
    out.nlink = 1n;
    if (f.at.layer === 0) out.ino = overlayIno(under.at.layer, under.st.ino);
    return 0;
  }

  /** The merged listing: upper first, whiteouts and opaque directories honoured, `.wh.*` hidden, sorted. */
  list(out: Out<Dirent[]>): number {
    if (this.removed) {
      out.value = [];
      return 0;
    }
    interface Entry { type: number; ino: bigint; layer: number; open: boolean; origin?: bigint }
    const seen = new Map<string, Entry>();
    const hidden = new Set<string>();
    const layers: LayerDir[] = this.upper !== null ? [{ layer: 0, dir: this.upper }, ...this.lowers] : [...this.lowers];
    const raw: Out<Dirent[]> = { value: [] };
    for (const l of layers) {
      const e = l.dir.readdir(raw);
      if (e !== 0) return e;
      const whiteouts: string[] = [];
      for (const d of raw.value) {
        if (d.name.startsWith(WH)) {
          if (d.name !== OPAQUE) whiteouts.push(d.name.slice(WH.length));
          continue;
        }
        const prev = seen.get(d.name);
        if (prev === undefined) {
          if (hidden.has(d.name)) continue;
          // An upper directory may merge with one below: its inode number is then that one's.
          seen.set(d.name, { type: d.type, ino: overlayIno(l.layer, d.ino), layer: l.layer, open: l.layer === 0 && d.type === Filetype.DIRECTORY });
        } else if (prev.open) {
          prev.open = false;
          if (d.type === Filetype.DIRECTORY) prev.origin = overlayIno(l.layer, d.ino);
        }
      }
      for (const w of whiteouts) {
        hidden.add(w);
        const prev = seen.get(w);
        if (prev !== undefined) prev.open = false;
      }
    }
    const list: Dirent[] = [];
    for (const name of [...seen.keys()].sort()) {
      const s = seen.get(name)!;
      const ino = s.origin !== undefined && !isOpaqueChild(this.upper!, name) ? s.origin : s.ino;
      list.push({ next: list.length + 1, ino, type: s.type, name });
    }
    out.value = list;
    return 0;
  }

  /** True if the merged view of this directory has no entries. */
  isEmpty(): boolean | number {
    const out: Out<Dirent[]> = { value: [] };
    const e = this.list(out);
    return e !== 0 ? e : out.value.length === 0;
  }

  /** Records a whiteout for `name` in the upper layer. */
  whiteout(name: string): number {
    const up = this.ensureUpper();
    if (typeof up === 'number') return up;
    const f = up.open(WH + name, OpenFlags.CREATE | OpenFlags.WRITE);
    if (typeof f === 'number') return -f;
    f.close();
    return 0;
  }

  /** Removes the upper whiteout of `name` if there is one (after `name` was created in upper). */
  clearWhiteout(name: string, had: boolean): void {
    if (had) this.upper!.unlink(WH + name);
  }

  /** Removes the hidden entries (whiteouts, opaque marker) of an upper directory about to be removed. */
  purge(): number {
    return this.upper === null ? 0 : purgeWhiteouts(this.upper);
  }
}

/** True if directory `name` in `dir` holds the opaque marker. */
function isOpaqueChild(dir: Dir, name: string): boolean {
  const d = dir.openDir(name);
  if (typeof d === 'number') return false;
  const r = isOpaque(d);
  d.close();
  return r;
}

function copyData(from: Dir, name: string, to: File): number {
  const src = from.open(name, OpenFlags.READ);
  if (typeof src === 'number') return -src;
  if (src.kind !== 'file') {
    src.close();
    return Errno.ISDIR;
  }
  const buf = new Uint8Array(COPY_CHUNK);
  let pos = 0;
  let e = 0;
  for (;;) {
    const n = src.pread(buf, pos);
    if (n < 0) {
      e = -n;
      break;
    }
    if (n === 0) break;
    for (let off = 0; off < n; ) {
      const w = to.pwrite(buf.subarray(off, n), pos + off, false);
      if (w <= 0) {
        e = w < 0 ? -w : Errno.IO;
        break;
      }
      off += w;
    }
    if (e !== 0) break;
    pos += n;
  }
  src.close();
  return e;
}
