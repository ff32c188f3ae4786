import {
  DIR_RIGHTS, Errno, FdFlags, FILE_RIGHTS, Filetype, FstFlags, LookupFlags, OFlags, Rights,
  type Dirent, type Filestat, type Out,
} from '../system/index.js';
import { guestDir, Lookup, PATH_MAX, readGuestFile, type Resolved } from '../fs/resolve.js';
import { OpenFlags } from '../fs/types.js';
import type { DirNode, Vfs } from '../fs/vfs.js';
import { FdEntry, type FdTable } from './fdtable.js';

export function validFstflags(f: number): boolean {
  if (f & ~(FstFlags.ATIM | FstFlags.ATIM_NOW | FstFlags.MTIM | FstFlags.MTIM_NOW)) return false;
  if ((f & FstFlags.ATIM) && (f & FstFlags.ATIM_NOW)) return false;
  if ((f & FstFlags.MTIM) && (f & FstFlags.MTIM_NOW)) return false;
  return true;
}

const READ_ACCESS = Rights.FD_READ | Rights.FD_READDIR;
const WRITE_ACCESS = Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE;

/** The canonical guest path of the last component of `r`. */
function childPath(r: Resolved): string {
  return r.parent.path === '/' ? '/' + r.name : r.parent.path + '/' + r.name;
}

/**
 * The path_* calls. Each one resolves its path through the containment module (fs/resolve.ts:
 * all but the last component, links followed as docs/sandbox.md says) and then acts on the last
 * component in its parent directory, following a final link only where the call says so.
 * A call's `Lookup` holds every directory it reached until the call returns (`done`).
 */
export class PathCalls {
  protected readonly scratch: Filestat = { dev: 0n, ino: 0n, filetype: 0, nlink: 0n, size: 0n, atim: 0n, mtim: 0n, ctim: 0n };

  constructor(protected readonly vfs: Vfs, protected readonly fds: FdTable) {}

  /** The directory node of `fd` if it has `right`, else -errno. */
  protected dirOf(fd: number, right: number): DirNode | number {
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.BADF;
    if (e.dir === null) return -Errno.NOTDIR;
    if ((e.rightsBase & right) !== right) return -Errno.NOTCAPABLE;
    return e.dir;
  }

  /**
   * Resolves `path` from `fd` in lookup `l`, as Linux's path walk does for calls that look a
   * path up (stat, open, utimes, readlink, a link's source): a final link is followed with
   * `follow`, and always when the path ends in `/`.
   */
  private resolve(l: Lookup, fd: number, right: number, path: string, follow: boolean): Resolved | number {
    const start = this.dirOf(fd, right);
    if (typeof start === 'number') return start;
    return l.final(start, path, follow, this.scratch);
  }

  /**
   * Resolves `path` from `fd` to its parent and last name, never following a final link, even
   * with a trailing `/`: as Linux does for calls that create or remove the last name (mkdir,
   * rmdir, unlink, symlink, rename, a link's target).
   */
  private resolveParent(l: Lookup, fd: number, right: number, path: string): Resolved | number {
    const start = this.dirOf(fd, right);
    if (typeof start === 'number') return start;
    return l.resolve(start, path);
  }

  pathCreateDirectory(fd: number, path: string): number {
    const l = new Lookup(this.vfs);
    try {
      const r = this.resolveParent(l, fd, Rights.PATH_CREATE_DIRECTORY, path);
      if (typeof r === 'number') return -r;
      if (r.self !== null) return Errno.EXIST;
      return r.parent.dir.mkdir(r.name);
    } finally {
      l.done();
    }
  }

  pathFilestatGet(fd: number, flags: number, path: string, out: Filestat): number {
    const start = this.dirOf(fd, Rights.PATH_FILESTAT_GET);
    if (typeof start === 'number') return -start;
    const l = new Lookup(this.vfs);
    try {
      // One lstat per component reached: it is the answer unless it names a link to follow.
      const r = l.final(start, path, (flags & LookupFlags.SYMLINK_FOLLOW) !== 0, out);
      if (typeof r === 'number') return -r;
      if (r.self !== null) return r.self.dir.stat(out);
      const e = r.lstat >= 0 ? r.lstat : r.parent.dir.lstat(r.name, out);
      if (e !== 0) return e;
      if (r.trailingSlash && out.filetype !== Filetype.DIRECTORY) return Errno.NOTDIR;
      return 0;
    } finally {
      l.done();
    }
  }

  pathFilestatSetTimes(fd: number, flags: number, path: string, atim: bigint, mtim: bigint, fstflags: number): number {
    if (!validFstflags(fstflags)) return Errno.INVAL;
    const l = new Lookup(this.vfs);
    try {
      const r = this.resolve(l, fd, Rights.PATH_FILESTAT_SET_TIMES, path, (flags & LookupFlags.SYMLINK_FOLLOW) !== 0);
      if (typeof r === 'number') return -r;
      if (r.self !== null) return r.self.dir.utimes('.', atim, mtim, fstflags);
      if (r.trailingSlash) {
        // The lookup took the lstat: `name/` must be a directory.
        if (r.lstat !== 0) return r.lstat;
        if (this.scratch.filetype !== Filetype.DIRECTORY) return Errno.NOTDIR;
      }
      return r.parent.dir.utimes(r.name, atim, mtim, fstflags);
    } finally {
      l.done();
    }
  }

  pathLink(oldFd: number, oldFlags: number, oldPath: string, newFd: number, newPath: string): number {
    const l = new Lookup(this.vfs);
    try {
      // Linux's order: the source must exist (with `/`, as a directory), then the target must
      // not, then the two must share a mount, and only then is a directory source PERM.
      const from = this.resolve(l, oldFd, Rights.PATH_LINK_SOURCE, oldPath, (oldFlags & LookupFlags.SYMLINK_FOLLOW) !== 0);
      if (typeof from === 'number') return -from;
      let sourceIsDir = true;
      if (from.self === null) {
        const e = from.lstat >= 0 ? from.lstat : from.parent.dir.lstat(from.name, this.scratch);
        if (e !== 0) return e;
        sourceIsDir = this.scratch.filetype === Filetype.DIRECTORY;
        if (from.trailingSlash && !sourceIsDir) return Errno.NOTDIR;
      }
      const to = this.resolveParent(l, newFd, Rights.PATH_LINK_TARGET, newPath);
      if (typeof to === 'number') return -to;
      if (to.self !== null) return Errno.EXIST;
      const te = to.parent.dir.lstat(to.name, this.scratch);
      if (te === 0) return Errno.EXIST;
      if (te !== Errno.NOENT) return te;
      if (to.trailingSlash) return Errno.NOENT;
      // The source's mount is the one it is in: a mount point named as the source (`b/`) is
      // the root of its own mount, not a directory of its parent's.
      const fromMount = from.self?.mount ?? from.parent.mount;
      if (fromMount !== to.parent.mount) return to.parent.mount.readonly ? Errno.ROFS : Errno.XDEV;
      if (sourceIsDir) return to.parent.mount.readonly ? Errno.ROFS : Errno.PERM;
      return from.parent.dir.link(from.name, to.parent.dir, to.name);
    } finally {
      l.done();
    }
  }

  pathOpen(fd: number, lookupFlags: number, path: string, oflags: number, rightsBase: number, rightsInheriting: number, fdflags: number): number {
    const start = this.fds.get(fd);
    if (start === undefined) return -Errno.BADF;
    if (start.dir === null) return -Errno.NOTDIR;
    let need = Rights.PATH_OPEN;
    if (oflags & OFlags.CREAT) need |= Rights.PATH_CREATE_FILE;
    if (oflags & OFlags.TRUNC) need |= Rights.PATH_FILESTAT_SET_SIZE;
    if ((start.rightsBase & need) !== need) return -Errno.NOTCAPABLE;
    if (oflags & ~(OFlags.CREAT | OFlags.DIRECTORY | OFlags.EXCL | OFlags.TRUNC)) return -Errno.INVAL;
    // Rights the new fd may have are those the directory passes on.
    const base = rightsBase & start.rightsInheriting;
    const inheriting = rightsInheriting & start.rightsInheriting;
    // The access mode follows the rights asked for (so asking to write on a read-only mount
    // fails with ROFS at open, rather than opening read-only and failing later).
    const write = (rightsBase & WRITE_ACCESS) !== 0 || (fdflags & FdFlags.APPEND) !== 0 || (oflags & OFlags.TRUNC) !== 0;
    const read = (rightsBase & READ_ACCESS) !== 0 || !write;
    let flags = (read ? OpenFlags.READ : 0) | (write ? OpenFlags.WRITE : 0);
    if (oflags & OFlags.CREAT) flags |= OpenFlags.CREATE;
    if (oflags & OFlags.EXCL) flags |= OpenFlags.EXCL;
    if (oflags & OFlags.TRUNC) flags |= OpenFlags.TRUNC;
    if (oflags & OFlags.DIRECTORY) flags |= OpenFlags.DIRECTORY;
    if (fdflags & FdFlags.APPEND) flags |= OpenFlags.APPEND;
    const exclusive = (oflags & (OFlags.CREAT | OFlags.EXCL)) === (OFlags.CREAT | OFlags.EXCL);
    const follow = (lookupFlags & LookupFlags.SYMLINK_FOLLOW) !== 0 && !exclusive;

    const l = new Lookup(this.vfs);
    try {
      return l.at(start.dir, path, follow, (r) => this.openAt(r, flags, base, inheriting, fdflags));
    } finally {
      l.done();
    }
  }

  /** path_open's last step: opens the last component of `r` as a new fd (or -LOOP for a link). */
  private openAt(r: Resolved, flags: number, base: number, inheriting: number, fdflags: number): number {
    const write = (flags & OpenFlags.WRITE) !== 0;
    const exclusive = (flags & (OpenFlags.CREATE | OpenFlags.EXCL)) === (OpenFlags.CREATE | OpenFlags.EXCL);
    // `name/` with CREAT: Linux answers ISDIR before anything else (it would have to create a
    // directory); `.`, `..` and mount points without the slash go on below.
    if (r.trailingSlash && (flags & OpenFlags.CREATE) && r.name !== '.') return -Errno.ISDIR;
    if (r.self !== null) {
      if (exclusive) return -Errno.EXIST;
      // A directory is never created nor written by open (Linux: EISDIR for O_CREAT too).
      if (write || (flags & OpenFlags.CREATE)) return -Errno.ISDIR;
      const own = this.vfs.reopen(r.self);
      if (typeof own === 'number') return own;
      return this.addDir(own, base, inheriting, fdflags);
    }
    const h = r.parent.dir.open(r.name, r.trailingSlash ? flags | OpenFlags.DIRECTORY : flags);
    // CREAT|EXCL never follows: an existing link is EXIST.
    if (h === -Errno.LOOP && exclusive) return -Errno.EXIST;
    if (typeof h === 'number') return h;
    if (h.kind === 'dir') return this.addDir(this.vfs.own(childPath(r), r.parent.mount, h), base, inheriting, fdflags);
    const e = new FdEntry(h.filetype, base & FILE_RIGHTS, inheriting, fdflags);
    if ((flags & OpenFlags.READ) === 0) e.rightsBase &= ~(Rights.FD_READ | Rights.FD_READDIR);
    if (!write) e.rightsBase &= ~WRITE_ACCESS;
    e.file = h;
    const nfd = this.fds.add(e);
    if (nfd < 0) e.close();
    return nfd;
  }

  /** A new fd on `node` (which the fd then owns). */
  private addDir(node: DirNode, base: number, inheriting: number, fdflags: number): number {
    const e = new FdEntry(Filetype.DIRECTORY, base & DIR_RIGHTS, inheriting, fdflags);
    e.dir = node;
    const nfd = this.fds.add(e);
    if (nfd < 0) e.close();
    return nfd;
  }

  pathReadlink(fd: number, path: string, out: Out<string>): number {
    const l = new Lookup(this.vfs);
    try {
      const r = this.resolve(l, fd, Rights.PATH_READLINK, path, false);
      if (typeof r === 'number') return -r;
      if (r.self !== null) return Errno.INVAL;
      if (r.trailingSlash) {
        // `name/` was followed to what it names, which must be a directory: never a link.
        if (r.lstat !== 0) return r.lstat;
        return this.scratch.filetype === Filetype.DIRECTORY ? Errno.INVAL : Errno.NOTDIR;
      }
      return r.parent.dir.readlink(r.name, out);
    } finally {
      l.done();
    }
  }

  pathRemoveDirectory(fd: number, path: string): number {
    const l = new Lookup(this.vfs);
    try {
      const r = this.resolveParent(l, fd, Rights.PATH_REMOVE_DIRECTORY, path);
      if (typeof r === 'number') return -r;
      // Linux: `.` is INVAL, `..` NOTEMPTY (its directory holds at least what the path came through).
      if (r.name === '.') return r.dotdot ? Errno.NOTEMPTY : Errno.INVAL;
      if (r.parent.mount.readonly) return Errno.ROFS;
      // A mount point, or a directory holding one, stays (mounts live at fixed guest paths).
      if (r.self !== null || this.vfs.holdsMount(childPath(r))) return Errno.BUSY;
      const e = r.parent.dir.rmdir(r.name);
      if (e === 0) this.vfs.invalidate();
      return e;
    } finally {
      l.done();
    }
  }

  pathRename(fd: number, oldPath: string, newFd: number, newPath: string): number {
    const l = new Lookup(this.vfs);
    try {
      // Linux's order: both parents, then one mount, then `.`/`..`, then the names themselves.
      const from = this.resolveParent(l, fd, Rights.PATH_RENAME_SOURCE, oldPath);
      if (typeof from === 'number') return -from;
      const to = this.resolveParent(l, newFd, Rights.PATH_RENAME_TARGET, newPath);
      if (typeof to === 'number') return -to;
      if (from.parent.mount !== to.parent.mount) return Errno.XDEV;
      if (from.name === '.' || to.name === '.') return Errno.BUSY;
      if (from.parent.mount.readonly) return Errno.ROFS;
      const fromPath = childPath(from);
      const toPath = childPath(to);
      // Mounts live at fixed guest paths: a mount point, or a directory holding one, stays.
      if (from.self !== null || to.self !== null || this.vfs.holdsMount(fromPath) || this.vfs.holdsMount(toPath)) return Errno.BUSY;
      if (from.trailingSlash || to.trailingSlash) {
        // `a/` must name a directory: a file renamed with a trailing slash is NOTDIR.
        const e = from.parent.dir.lstat(from.name, this.scratch);
        if (e !== 0) return e;
        if (this.scratch.filetype !== Filetype.DIRECTORY) return Errno.NOTDIR;
      }
      const e = from.parent.dir.rename(from.name, to.parent.dir, to.name);
      if (e === 0) this.vfs.moved(fromPath, toPath);
      return e;
    } finally {
      l.done();
    }
  }

  pathSymlink(target: string, fd: number, path: string): number {
    const l = new Lookup(this.vfs);
    try {
      const r = this.resolveParent(l, fd, Rights.PATH_SYMLINK, path);
      if (typeof r === 'number') return -r;
      // Why: a guest-made link with an absolute target is refused, as wasmtime does.
      if (target.charCodeAt(0) === 47) return Errno.PERM;
      if (target.indexOf('\0') !== -1) return Errno.INVAL;
      if (Buffer.byteLength(target) >= PATH_MAX) return Errno.NAMETOOLONG;
      if (r.self !== null) return Errno.EXIST;
      if (r.trailingSlash) {
        const e = r.parent.dir.lstat(r.name, this.scratch);
        return e === 0 ? Errno.EXIST : Errno.NOENT;
      }
      return r.parent.dir.symlink(target, r.name);
    } finally {
      l.done();
    }
  }

  pathUnlinkFile(fd: number, path: string): number {
    const l = new Lookup(this.vfs);
    try {
      const r = this.resolveParent(l, fd, Rights.PATH_UNLINK_FILE, path);
      if (typeof r === 'number') return -r;
      // Linux: `.`/`..` are ISDIR before anything; a name (a mount point too) asks for write
      // access first (ROFS on a read-only parent), then a directory is ISDIR.
      if (r.self !== null && r.name === '.') return Errno.ISDIR;
      if (r.parent.mount.readonly) return Errno.ROFS;
      if (r.self !== null) return Errno.ISDIR;
      if (r.trailingSlash) {
        // `name/` (never followed): a directory is ISDIR, anything else that exists NOTDIR.
        const e = r.parent.dir.lstat(r.name, this.scratch);
        if (e !== 0) return e;
        return this.scratch.filetype === Filetype.DIRECTORY ? Errno.ISDIR : Errno.NOTDIR;
      }
      return r.parent.dir.unlink(r.name);
    } finally {
      l.done();
    }
  }

  /**
   * Reads a whole file named by an absolute guest path, through the same path rules as the
   * guest's own calls (a task's module must be readable by the guest that starts it).
   */
  readGuestFile(abs: string, maxBytes: number): Uint8Array | number {
    return readGuestFile(this.vfs, abs, maxBytes);
  }

  /**
   * The directory an absolute guest path names (links followed by the sandbox's rules), on a
   * handle of its own that the caller must `release()`, or -errno.
   */
  guestDir(abs: string): DirNode | number {
    return guestDir(this.vfs, abs);
  }

  /** `.`, `..` and the entries of a directory fd, with mount points as the guest sees them. */
  protected listDirectory(fd: FdEntry): Dirent[] | number {
    const node = fd.dir!;
    const out: Out<Dirent[]> = { value: [] };
    const e = node.dir.readdir(out);
    if (e !== 0) return -e;
    // A directory's own inode never changes; its parent's only if it is moved. Taken once.
    if (fd.dotInodes === null) {
      const self = node.dir.stat(this.scratch) === 0 ? this.scratch.ino : 0n;
      const mark = this.vfs.enter();
      try {
        const up = this.vfs.parent(node, mark);
        const upIno = typeof up !== 'number' && up.dir.stat(this.scratch) === 0 ? this.scratch.ino : self;
        fd.dotInodes = [self, upIno];
      } finally {
        this.vfs.leave(mark);
      }
    }
    const list: Dirent[] = out.value;
    list.unshift(
      { next: 0, ino: fd.dotInodes[0], type: Filetype.DIRECTORY, name: '.' },
      { next: 0, ino: fd.dotInodes[1], type: Filetype.DIRECTORY, name: '..' },
    );
    for (const m of this.vfs.mounts) {
      if (m.guestPath === '/' || m.guestPath.slice(0, m.guestPath.lastIndexOf('/') || 1) !== node.path) continue;
      const name = m.guestPath.slice(m.guestPath.lastIndexOf('/') + 1);
      const ino = m.root.stat(this.scratch) === 0 ? this.scratch.ino : 0n;
      const existing = list.find((d) => d.name === name);
      if (existing) {
        existing.type = Filetype.DIRECTORY;
        existing.ino = ino;
      } else {
        list.push({ next: 0, ino, type: Filetype.DIRECTORY, name });
      }
    }
    for (let i = 0; i < list.length; i++) list[i]!.next = i + 1;
    return list;
  }
}
