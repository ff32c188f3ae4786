import fs from 'node:fs';
import { Errno, errnoFromHostError, Filetype, newFilestat, type Dirent, type Filestat, type Out } from '../system/index.js';
import { attempt, fail, PROC_FD, PROC_FD_AT, type DirHandle } from './dirhandle.js';
import { HostFile } from './hostfile.js';
import { fillFilestat, filetypeOfMode } from './hoststat.js';
import { setHostTimes } from './hosttimes.js';
import { OpenFlags, type Dir, type File, type FileSystem } from './types.js';

export { closeDirHandle, createDirHandle, openDirHandle, PROC_FD_AT, type DirHandle } from './dirhandle.js';

const C = fs.constants;

/**
 * A new handle on the host directory behind `dir` (through a read-only view too), owned by
 * the caller: how a guest's checked directory is shared with a task. -NOTSUP when `dir` is
 * not a host directory (memory, archive or image trees cannot be handed on).
 */
export function shareDir(dir: Dir): DirHandle | number {
  let d: Dir = dir;
  while (!(d instanceof HostDir)) {
    const inner = (d as { inner?: Dir }).inner;
    if (inner === undefined) return -Errno.NOTSUP;
    d = inner;
  }
  return d.share();
}

/** The host directory behind a file system (through a read-only view), or null if it has none. */
export function hostPathOf(f: FileSystem): string | null {
  if (f instanceof HostFs) return f.hostPath;
  const inner = (f as { inner?: FileSystem }).inner;
  return inner ? hostPathOf(inner) : null;
}

/**
 * A host directory as a file system: opened from a trusted host path, or (with `handle`) the
 * directory an open handle names, which this file system borrows and never closes.
 */
export class HostFs implements FileSystem {
  readonly description: string;
  constructor(readonly hostPath: string, private readonly handle?: DirHandle) {
    this.description = `host:${hostPath}`;
  }

  /** The file system of a handle (see DirHandle: the lender keeps it open). */
  static fromHandle(handle: DirHandle): HostFs {
    return new HostFs(handle.path, handle);
  }

  openRoot(): Dir | number {
    if (this.handle !== undefined) {
      // Borrowed: every root handle is the lender's fd, closed by the lender only.
      if (PROC_FD_AT) return new HostDir(this, this.handle.fd, this.hostPath, true);
    }
    try {
      const fd = fs.openSync(this.hostPath, C.O_RDONLY | C.O_DIRECTORY);
      return new HostDir(this, fd, fs.realpathSync(this.hostPath));
    } catch (e) {
      return -errnoFromHostError(e);
    }
  }
}

/** The WASI filetype of a directory entry from its d_type (UNKNOWN when the kernel did not say). */
function direntType(d: fs.Dirent): number {
  if (d.isFile()) return Filetype.REGULAR_FILE;
  if (d.isDirectory()) return Filetype.DIRECTORY;
  if (d.isSymbolicLink()) return Filetype.SYMBOLIC_LINK;
  if (d.isCharacterDevice()) return Filetype.CHARACTER_DEVICE;
  if (d.isBlockDevice()) return Filetype.BLOCK_DEVICE;
  if (d.isSocket()) return Filetype.SOCKET_STREAM;
  return Filetype.UNKNOWN;
}

/** Thrown (and answered as BADF) when a closed handle is used: its number may name another directory now. */
const CLOSED = Object.assign(new Error('directory handle used after close'), { code: 'EBADF' });
/** Thrown (and answered as INVAL) for a name that is not a single component: never handed to the kernel. */
const NOT_A_NAME = Object.assign(new Error('not a single path component'), { code: 'EINVAL' });

class HostDir implements Dir {
  readonly kind = 'dir';
  /** Prefix that names an entry of this directory: `/proc/PID/fd/N/` (PROC_FD; or the host path). */
  private at: string;
  private open_ = true;
  /**
   * @param borrowed the fd belongs to a lender (a DirHandle): `close` only stops this object
   * from using it.
   */
  constructor(readonly fsys: HostFs, private fd_: number, hostPath: string, private readonly borrowed = false) {
    this.at = PROC_FD_AT ? `${PROC_FD}${fd_}/` : hostPath + '/';
  }

  get fd(): number {
    if (!this.open_) throw CLOSED;
    return this.fd_;
  }

  /**
   * The host name of `name` in this directory. Why the checks: after `close` the fd number can
   * be reused at once by any directory the process opens (another task's root included), so a
   * closed handle must never form a name again; and only single names reach the kernel, so
   * `..` is always the resolver's decision, never the kernel's.
   */
  private p(name: string): string {
    if (!this.open_) throw CLOSED;
    if (name === '..' || name.indexOf('/') !== -1 || name.length === 0) throw NOT_A_NAME;
    return this.at + name;
  }

  /** A new fd on this directory, owned by the caller (see shareDir). */
  share(): DirHandle | number {
    try {
      return { fd: fs.openSync(this.p('.'), C.O_RDONLY | C.O_DIRECTORY), path: this.fsys.hostPath };
    } catch (e) {
      return fail(e);
    }
  }

  lstat(name: string, out: Filestat): number {
    try {
      const st = fs.lstatSync(this.p(name), { bigint: true, throwIfNoEntry: false });
      if (st === undefined) return Errno.NOENT;
      fillFilestat(st, out);
      return 0;
    } catch (e) {
      return errnoFromHostError(e);
    }
  }

  openDir(name: string): Dir | number {
    let fd: number;
    try {
      fd = fs.openSync(this.p(name), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    } catch (e) {
      const errno = errnoFromHostError(e);
      // O_DIRECTORY|O_NOFOLLOW on a symlink answers NOTDIR: tell the caller it is a link.
      if (errno === Errno.NOTDIR && this.isSymlink(name)) return -Errno.LOOP;
      return -errno;
    }
    return new HostDir(this.fsys, fd, PROC_FD_AT ? '' : this.p(name));
  }

  private isSymlink(name: string): boolean {
    try {
      return fs.lstatSync(this.p(name)).isSymbolicLink();
    } catch {
      return false;
    }
  }

  open(name: string, flags: number): Dir | File | number {
    // POSIX leaves O_TRUNC|O_RDONLY undefined; Linux truncates. Refuse before touching anything.
    if ((flags & OpenFlags.TRUNC) && !(flags & OpenFlags.WRITE)) return -Errno.INVAL;
    let oflags = C.O_NOFOLLOW;
    const write = (flags & OpenFlags.WRITE) !== 0;
    const read = (flags & OpenFlags.READ) !== 0;
    oflags |= write ? (read ? C.O_RDWR : C.O_WRONLY) : C.O_RDONLY;
    if (flags & OpenFlags.CREATE) oflags |= C.O_CREAT;
    if (flags & OpenFlags.EXCL) oflags |= C.O_EXCL;
    if (flags & OpenFlags.TRUNC) oflags |= C.O_TRUNC;
    if (flags & OpenFlags.DIRECTORY) oflags |= C.O_DIRECTORY;
    if (flags & OpenFlags.APPEND) oflags |= C.O_APPEND;
    // Never block on a FIFO a guest opens.
    oflags |= C.O_NONBLOCK;
    let fd: number;
    try {
      fd = fs.openSync(this.p(name), oflags, 0o666);
    } catch (e) {
      const errno = errnoFromHostError(e);
      if (errno === Errno.NOTDIR && (flags & OpenFlags.DIRECTORY) && this.isSymlink(name)) return -Errno.LOOP;
      return -errno;
    }
    let mode: number;
    try {
      mode = fs.fstatSync(fd).mode;
    } catch (e) {
      fs.closeSync(fd);
      return fail(e);
    }
    if ((mode & C.S_IFMT) === C.S_IFDIR) {
      if (PROC_FD_AT) return new HostDir(this.fsys, fd, '');
      return new HostDir(this.fsys, fd, this.p(name));
    }
    return new HostFile(fd, filetypeOfMode(mode), oflags & ~(C.O_CREAT | C.O_EXCL | C.O_TRUNC));
  }

  readlink(name: string, out: Out<string>): number {
    try {
      out.value = fs.readlinkSync(this.p(name), 'utf8');
      return 0;
    } catch (e) {
      return errnoFromHostError(e);
    }
  }

  mkdir(name: string): number {
    return attempt(() => fs.mkdirSync(this.p(name), 0o777));
  }
  rmdir(name: string): number {
    if (name === '.') return Errno.INVAL;
    return attempt(() => fs.rmdirSync(this.p(name)));
  }
  unlink(name: string): number {
    return attempt(() => fs.unlinkSync(this.p(name)));
  }
  symlink(target: string, name: string): number {
    return attempt(() => fs.symlinkSync(target, this.p(name)));
  }
  rename(name: string, toDir: Dir, toName: string): number {
    if (!(toDir instanceof HostDir) || toDir.fsys !== this.fsys) return Errno.XDEV;
    return attempt(() => fs.renameSync(this.p(name), toDir.p(toName)));
  }
  link(name: string, toDir: Dir, toName: string): number {
    if (!(toDir instanceof HostDir) || toDir.fsys !== this.fsys) return this.linkAcross(name, toDir, toName);
    return attempt(() => fs.linkSync(this.p(name), toDir.p(toName)));
  }
  /**
   * link(2) to another file system: XDEV, after the errors Linux finds first (a missing source,
   * an existing target, a read-only target directory). The kernel is never asked: two mounts
   * of one host file system would let the link through.
   */
  private linkAcross(name: string, toDir: Dir, toName: string): number {
    const st = newFilestat();
    const e = this.lstat(name, st);
    if (e !== 0) return e;
    if (toDir.lstat(toName, st) === 0) return Errno.EXIST;
    if (toDir instanceof HostDir && attempt(() => fs.accessSync(toDir.p('.'), C.W_OK)) === Errno.ROFS) return Errno.ROFS;
    return Errno.XDEV;
  }
  utimes(name: string, atim: bigint, mtim: bigint, fstflags: number): number {
    return setHostTimes(this.p(name), false, atim, mtim, fstflags);
  }
  stat(out: Filestat): number {
    try {
      fillFilestat(fs.fstatSync(this.fd, { bigint: true }), out);
      return 0;
    } catch (e) {
      return errnoFromHostError(e);
    }
  }
  /**
   * Inode numbers of the last listing, and the directory's (ino, mtime, ctime) when it was
   * taken. Node's readdir gives names and types but no inode numbers, and an lstat per entry
   * made listing 10x slower than node:wasi (which answers d_ino = 0). An entry's inode changes
   * only when the entry is replaced, which changes the directory's mtime/ctime, so while those
   * stand the numbers are reused. A replacement within one timestamp tick of the last listing
   * could show the old number until the next change (d_ino only; names and types are always
   * fresh).
   */
  private inodes: Map<string, bigint> | null = null;
  private stampIno = -1n;
  private stampMtime = -1n;
  private stampCtime = -1n;

  readdir(out: Out<Dirent[]>): number {
    try {
      const st = fs.fstatSync(this.fd, { bigint: true });
      const same = st.ino === this.stampIno && st.mtimeNs === this.stampMtime && st.ctimeNs === this.stampCtime;
      const known = same ? this.inodes : null;
      // Unchanged: the numbers known are kept (a name new to them is looked up and added);
      // changed: a fresh map, so names gone do not linger.
      const inodes = known ?? new Map<string, bigint>();
      const list: Dirent[] = [];
      for (const d of fs.readdirSync(this.p('.'), { withFileTypes: true })) {
        const name = d.name;
        let ino = known?.get(name);
        let type = direntType(d);
        if (ino === undefined || type === Filetype.UNKNOWN) {
          const lst = fs.lstatSync(this.p(name), { bigint: true, throwIfNoEntry: false });
          if (lst === undefined) continue; // removed meanwhile
          ino = lst.ino;
          type = filetypeOfMode(Number(lst.mode));
          inodes.set(name, ino);
        }
        list.push({ next: 0, ino, type, name });
      }
      this.inodes = inodes;
      this.stampIno = st.ino;
      this.stampMtime = st.mtimeNs;
      this.stampCtime = st.ctimeNs;
      out.value = list;
      return 0;
    } catch (e) {
      return errnoFromHostError(e);
    }
  }
  sync(): number {
    return attempt(() => fs.fsyncSync(this.fd));
  }
  close(): void {
    if (!this.open_) return;
    this.open_ = false;
    this.at = '';
    if (this.borrowed) return;
    try {
      fs.closeSync(this.fd_);
    } catch {
      // already closed: nothing to release
    }
  }
  sameFileSystem(other: Dir): boolean {
    return other instanceof HostDir && other.fsys === this.fsys;
  }
}
