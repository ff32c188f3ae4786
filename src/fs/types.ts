import type { Dirent, Filestat, Out } from '../system/index.js';

/**
 * A file-system backend, seen as directory handles that take single names (as openat does).
 * Backends never see a path with `/`, `.` or `..` in it (except `.` for the directory
 * itself): path resolution, links and mounts are the resolver's job (fs/resolve.ts), so one
 * audited piece of code decides what a guest can reach, whatever the backend.
 *
 * Conventions: methods answer an errno (0 = success), or for those that return a handle or a
 * count, the value or `-errno`. Errno values and meanings are POSIX's, as WASI names them.
 */
export interface FileSystem {
  /** A handle on the file system's root directory; the caller closes it. */
  openRoot(): Dir | number;
  /** Short description for messages and `describe` (e.g. `host:/srv/data`, `memory`). */
  readonly description: string;
}

/** Open flags for `Dir.open`. */
export const OpenFlags = {
  READ: 1, WRITE: 2, CREATE: 4, EXCL: 8, TRUNC: 16, DIRECTORY: 32, APPEND: 64,
} as const;

/** A directory handle. Every name is a single path component, or `.` for the directory itself. */
export interface Dir {
  readonly kind: 'dir';
  /** lstat: never follows a symlink named `name`. NOENT if it does not exist. */
  lstat(name: string, out: Filestat): number;
  /** Opens the subdirectory `name` without following a link: LOOP if it is a symlink, NOTDIR if not a directory. */
  openDir(name: string): Dir | number;
  /**
   * Opens `name` (file or directory) without following a final symlink (LOOP if it is one).
   * CREATE+EXCL: EXIST if it exists. DIRECTORY: NOTDIR unless a directory. WRITE on a
   * directory: ISDIR.
   */
  open(name: string, flags: number): Dir | File | number;
  /** readlink: INVAL if `name` is not a symlink. */
  readlink(name: string, out: Out<string>): number;
  mkdir(name: string): number;
  /** rmdir: NOTEMPTY, NOTDIR. */
  rmdir(name: string): number;
  /** unlink of a non-directory (a symlink itself, never its target): ISDIR for a directory. */
  unlink(name: string): number;
  symlink(target: string, name: string): number;
  /** rename(2) semantics between two directories of the same file system (XDEV otherwise). */
  rename(name: string, toDir: Dir, toName: string): number;
  /** link(2) without following a symlink source; XDEV across file systems. */
  link(name: string, toDir: Dir, toName: string): number;
  /** Set times of `name` without following a link. Times in ns; flags as WASI fstflags. */
  utimes(name: string, atim: bigint, mtim: bigint, fstflags: number): number;
  /** stat of the directory itself. */
  stat(out: Filestat): number;
  /** Entries except `.` and `..`, in a stable order (ino, type filled in). */
  readdir(out: Out<Dirent[]>): number;
  sync(): number;
  close(): void;
  /** True when `other` is a handle on the same backend (links/renames are possible). */
  sameFileSystem(other: Dir): boolean;
}

/** An open regular file (or other non-directory). Positions are explicit: the sandbox tracks them. */
export interface File {
  readonly kind: 'file';
  /** The WASI filetype of what is open (known at open: no stat needed later). */
  readonly filetype: number;
  /** Reads at `position` into buf; bytes read (0 at end), or -errno. */
  pread(buf: Uint8Array, position: number): number;
  /** Writes at `position` (or at the end when `append`); bytes written, or -errno. */
  pwrite(buf: Uint8Array, position: number, append: boolean): number;
  stat(out: Filestat): number;
  truncate(size: number): number;
  allocate(offset: number, len: number): number;
  utimes(atim: bigint, mtim: bigint, fstflags: number): number;
  sync(): number;
  datasync(): number;
  close(): void;
}
