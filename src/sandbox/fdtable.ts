import { Errno, type Dirent } from '../system/index.js';
import type { File } from '../fs/types.js';
import type { DirNode } from '../fs/vfs.js';

/**
 * One open file descriptor of a guest. A single class for files, directories and stdio keeps
 * property access monomorphic on the hot path.
 */
export class FdEntry {
  /** Open file (regular file or stdio stream), or null for a directory. */
  file: File | null = null;
  /** Directory node, or null for a file. The fd holds it (and lets go on close). */
  dir: DirNode | null = null;
  /** Current offset; -1 means "at the end, not yet measured" (after an append). */
  pos = 0;
  /** The preopen name, when this fd was given to the guest at start. */
  preopen: string | null = null;
  /** Directory listing kept between fd_readdir calls that continue a listing. */
  listing: Dirent[] | null = null;
  /** Inode numbers of `.` and `..` for fd_readdir, taken at the first listing. */
  dotInodes: [bigint, bigint] | null = null;
  constructor(
    public filetype: number,
    public rightsBase: number,
    public rightsInheriting: number,
    public flags: number,
  ) {}

  close(): void {
    if (this.file !== null) this.file.close();
    if (this.dir !== null) this.dir.release();
    this.file = null;
    this.dir = null;
  }
}

/**
 * Open fds a guest may hold by default (stdio and preopens included), as Linux's default
 * RLIMIT_NOFILE: each is an open host fd of the whole OS process, which every task shares.
 */
export const DEFAULT_MAX_OPEN_FILES = 1024;

/** The fd table: a dense array where `undefined` is a free slot. */
export class FdTable {
  private readonly entries: (FdEntry | undefined)[] = [];
  /** Slots in use. */
  private used = 0;

  constructor(private readonly maxOpen: number = DEFAULT_MAX_OPEN_FILES) {}

  get(fd: number): FdEntry | undefined {
    return this.entries[fd];
  }

  /** Places an entry at the lowest free fd and returns it (-MFILE past the table's limit). */
  add(entry: FdEntry): number {
    if (this.used >= this.maxOpen) return -Errno.MFILE;
    this.used++;
    const n = this.entries.length;
    for (let fd = 0; fd < n; fd++) {
      if (this.entries[fd] === undefined) {
        this.entries[fd] = entry;
        return fd;
      }
    }
    this.entries.push(entry);
    return n;
  }

  /** Puts `entry` at `fd` (stdio at start, renumber): the slot must be free or its entry closed by the caller. */
  set(fd: number, entry: FdEntry): void {
    if (this.entries[fd] === undefined) this.used++;
    this.entries[fd] = entry;
  }

  remove(fd: number): FdEntry | undefined {
    const e = this.entries[fd];
    if (e !== undefined) {
      this.used--;
      this.entries[fd] = undefined;
      while (this.entries.length > 0 && this.entries[this.entries.length - 1] === undefined) this.entries.pop();
    }
    return e;
  }

  closeAll(): void {
    for (const e of this.entries) e?.close();
    this.entries.length = 0;
    this.used = 0;
  }
}
