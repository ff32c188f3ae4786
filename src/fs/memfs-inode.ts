import { Errno, Filetype, FstFlags, type Filestat } from '../system/index.js';

/** Largest logical file size (truncate/allocate); the kernel's limit is 2^63-1, ours is exact in a double. */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;
/** Bytes actually written must fit one Uint8Array (4 GiB on Node 20). */
export const MAX_DATA_SIZE = 2 ** 32;
/** tmpfs reports a directory's size as 20 bytes per entry, `.` and `..` included. */
const BOGO_DIRENT_SIZE = 20;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/** An inode: what a name points at. Hard links share one. */
export abstract class Inode {
  abstract readonly filetype: number;
  abstract readonly size: number;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
  constructor(readonly ino: bigint, now: bigint, public nlink: number) {
    this.atim = this.mtim = this.ctim = now;
  }

  fill(out: Filestat, dev: bigint): void {
    out.dev = dev;
    out.ino = this.ino;
    out.filetype = this.filetype;
    out.nlink = BigInt(this.nlink);
    out.size = BigInt(this.size);
    out.atim = this.atim;
    out.mtim = this.mtim;
    out.ctim = this.ctim;
  }

  /** relatime, Linux's default: a read updates atim only if it is not newer than mtim/ctim, or a day old. */
  accessed(now: () => bigint): void {
    if (this.atim <= this.mtim || this.atim <= this.ctim) {
      this.atim = now();
      return;
    }
    const t = now();
    if (t - this.atim >= 86_400_000_000_000n) this.atim = t;
  }

  /** Applies WASI fstflags as utimensat(2) does; ctim moves whenever a time is set. */
  setTimes(atim: bigint, mtim: bigint, fstflags: number, now: () => bigint): number {
    const { ATIM, ATIM_NOW, MTIM, MTIM_NOW } = FstFlags;
    if (fstflags & ~(ATIM | ATIM_NOW | MTIM | MTIM_NOW)) return Errno.INVAL;
    if ((fstflags & ATIM && fstflags & ATIM_NOW) || (fstflags & MTIM && fstflags & MTIM_NOW)) return Errno.INVAL;
    if (fstflags === 0) return 0;
    const t = now();
    if (fstflags & ATIM_NOW) this.atim = t;
    else if (fstflags & ATIM) this.atim = atim;
    if (fstflags & MTIM_NOW) this.mtim = t;
    else if (fstflags & MTIM) this.mtim = mtim;
    this.ctim = t;
    return 0;
  }
}

/**
 * A regular file. `data` is storage with spare capacity (doubled when outgrown); bytes of
 * `data` past `size` are always zero, so growing the file never needs to clear anything.
 * `size` may exceed `data.length` (a truncate upwards is sparse): the missing tail reads as zeros.
 */
export class FileInode extends Inode {
  readonly filetype = Filetype.REGULAR_FILE;
  data: Uint8Array = EMPTY;
  size = 0;

  read(buf: Uint8Array, position: number): number {
    if (position >= this.size) return 0;
    const n = Math.min(buf.length, this.size - position);
    const stored = Math.max(0, Math.min(n, this.data.length - position));
    if (stored > 0) buf.set(this.data.subarray(position, position + stored));
    if (stored < n) buf.fill(0, stored, n);
    return n;
  }

  /** Bytes written, or -errno. */
  write(buf: Uint8Array, position: number): number {
    const end = position + buf.length;
    if (end > MAX_DATA_SIZE) return -Errno.FBIG;
    if (end > this.data.length) {
      let grown: Uint8Array;
      try {
        grown = new Uint8Array(Math.max(end, 64, Math.min(this.data.length * 2, MAX_DATA_SIZE)));
      } catch {
        return -Errno.NOSPC;
      }
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(buf, position);
    if (end > this.size) this.size = end;
    return buf.length;
  }

  /** Sets the size; shrinking clears the bytes cut off so that a later growth reads zeros. */
  resize(size: number): void {
    if (size === 0) this.data = EMPTY;
    else if (size < this.size) this.data.fill(0, Math.min(size, this.data.length), Math.min(this.size, this.data.length));
    this.size = size;
  }
}

export class DirInode extends Inode {
  readonly filetype = Filetype.DIRECTORY;
  /** Entries in insertion order (Map keeps it; replacing a name keeps its place). */
  readonly entries = new Map<string, Inode>();
  /** nlink is 2 + subdirectories; 0 once the directory is removed. */
  constructor(ino: bigint, now: bigint, public parent: DirInode | null) {
    super(ino, now, 2);
  }
  get size(): number {
    return (this.entries.size + 2) * BOGO_DIRENT_SIZE;
  }
  get removed(): boolean {
    return this.nlink === 0;
  }
}

export class SymlinkInode extends Inode {
  readonly filetype = Filetype.SYMBOLIC_LINK;
  readonly size: number;
  constructor(ino: bigint, now: bigint, readonly target: string) {
    super(ino, now, 1);
    this.size = encoder.encode(target).length;
  }
}

/**
 * Checks a single name as the backend interface allows it: 0, or the errno. `..` and `/` never
 * reach a backend (the resolver handles them): refuse them rather than guess.
 */
export function checkName(name: string): number {
  if (name === '') return Errno.NOENT;
  if (name === '..' || name.includes('/') || name.includes('\0')) return Errno.INVAL;
  // NAME_MAX is 255 bytes; a UTF-16 unit is at most 3 UTF-8 bytes, so short names need no count.
  if (name.length > 85 && encoder.encode(name).length > 255) return Errno.NAMETOOLONG;
  return 0;
}
