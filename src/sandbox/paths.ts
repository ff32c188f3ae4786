import {
  DIR_RIGHTS, Errno, FdFlags, FILE_RIGHTS, Filetype, FstFlags, LookupFlags, OFlags, Rights,
  type Dirent, type Filestat, type Out,
} from '../system/index.js';
import { Lookup, type Resolved } from '../fs/resolve.js';
import { OpenFlags } from '../fs/types.js';
import type { DirNode, Vfs } from '../fs/vfs.js';
import { FdEntry, type FdTable } from './fdtable.js';

/** Rights an fd on a read-only mount never gets. */
export const WRITE_RIGHTS =
  Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE | Rights.FD_FILESTAT_SET_TIMES |
  Rights.PATH_CREATE_DIRECTORY | Rights.PATH_CREATE_FILE | Rights.PATH_LINK_SOURCE |
  Rights.PATH_LINK_TARGET | Rights.PATH_RENAME_SOURCE | Rights.PATH_RENAME_TARGET |
  Rights.PATH_FILESTAT_SET_SIZE | Rights.PATH_FILESTAT_SET_TIMES | Rights.PATH_SYMLINK |
  Rights.PATH_REMOVE_DIRECTORY | Rights.PATH_UNLINK_FILE;
export function validFstflags(f: number): boolean {
  if (f & ~(FstFlags.ATIM | FstFlags.ATIM_NOW | FstFlags.MTIM | FstFlags.MTIM_NOW)) return false;
  if ((f & FstFlags.ATIM) && (f & FstFlags.ATIM_NOW)) return false;
  if ((f & FstFlags.MTIM) && (f & FstFlags.MTIM_NOW)) return false;
  return true;
}

const READ_ACCESS = Rights.FD_READ | Rights.FD_READDIR;
const WRITE_ACCESS = Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE;

/**
 * The path_* calls. Each one resolves its path with a fresh `Lookup` (all but the last
 * component, links followed as docs/sandbox.md says) and then acts on the last component in
 * its parent directory, following a final link only where the call says so.
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

  /** Resolves `path` from `fd`; with `follow`, a final symlink is followed too. */
  private resolve(fd: number, right: number, path: string, follow: boolean): Resolved | number {
    const start = this.dirOf(fd, right);
    if (typeof start === 'number') return start;
    const lookup = new Lookup(this.vfs);
    let r = lookup.resolve(start, path);
    // Follow final links (always for `name/`): lstat the last component, walk on while a link.
    while (typeof r !== 'number' && (follow || r.trailingSlash) && r.name !== '.' && this.mountChild(r) === null) {
      const e = r.parent.dir.lstat(r.name, this.scratch);
      if (e !== 0 || this.scratch.filetype !== Filetype.SYMBOLIC_LINK) break;
      r = lookup.followLast(r);
    }
    return r;
  }

  /** The mount whose root is the last component of `r`, as a node, if there is one. */
  private mountChild(r: Resolved): DirNode | null {
    if (r.name === '.') return null;
    const path = r.parent.path === '/' ? '/' + r.name : r.parent.path + '/' + r.name;
    const m = this.vfs.mountAtPath(path);
    return m === undefined ? null : { path, mount: m, dir: m.root };
  }

  /** The last component names a directory of the tree itself (`.` or a mount point). */
  private dirNamed(r: Resolved): DirNode | null {
    return r.name === '.' ? r.parent : this.mountChild(r);
  }

  pathCreateDirectory(fd: number, path: string): number {
    const r = this.resolve(fd, Rights.PATH_CREATE_DIRECTORY, path, false);
    if (typeof r === 'number') return -r;
    if (this.dirNamed(r) !== null) return Errno.EXIST;
    return r.parent.dir.mkdir(r.name);
  }

  pathFilestatGet(fd: number, flags: number, path: string, out: Filestat): number {
    const follow = (flags & LookupFlags.SYMLINK_FOLLOW) !== 0;
    const start = this.dirOf(fd, Rights.PATH_FILESTAT_GET);
    if (typeof start === 'number') return -start;
    const lookup = new Lookup(this.vfs);
    let r = lookup.resolve(start, path);
    // One lstat per component reached: it is the answer unless it names a link to follow.
    for (;;) {
      if (typeof r === 'number') return -r;
      const d = this.dirNamed(r);
      if (d !== null) return d.dir.stat(out);
      const e = r.parent.dir.lstat(r.name, out);
      if (e !== 0) return e;
      if (out.filetype === Filetype.SYMBOLIC_LINK && (follow || r.trailingSlash)) {
        r = lookup.followLast(r);
        continue;
      }
      if (r.trailingSlash && out.filetype !== Filetype.DIRECTORY) return Errno.NOTDIR;
      return 0;
    }
  }

  pathFilestatSetTimes(fd: number, flags: number, path: string, atim: bigint, mtim: bigint, fstflags: number): number {
    if (!validFstflags(fstflags)) return Errno.INVAL;
    const follow = (flags & LookupFlags.SYMLINK_FOLLOW) !== 0;
    const r = this.resolve(fd, Rights.PATH_FILESTAT_SET_TIMES, path, follow);
    if (typeof r === 'number') return -r;
    const d = this.dirNamed(r);
    if (d !== null) return d.dir.utimes('.', atim, mtim, fstflags);
    if (r.trailingSlash) {
      const e = r.parent.dir.lstat(r.name, this.scratch);
      if (e !== 0) return e;
      if (this.scratch.filetype !== Filetype.DIRECTORY) return Errno.NOTDIR;
    }
    return r.parent.dir.utimes(r.name, atim, mtim, fstflags);
  }

  pathLink(oldFd: number, oldFlags: number, oldPath: string, newFd: number, newPath: string): number {
    const follow = (oldFlags & LookupFlags.SYMLINK_FOLLOW) !== 0;
    const from = this.resolve(oldFd, Rights.PATH_LINK_SOURCE, oldPath, follow);
    if (typeof from === 'number') return -from;
    const to = this.resolve(newFd, Rights.PATH_LINK_TARGET, newPath, false);
    if (typeof to === 'number') return -to;
    if (this.dirNamed(from) !== null) return Errno.PERM;
    if (this.dirNamed(to) !== null) return Errno.EXIST;
    if (from.trailingSlash || to.trailingSlash) {
      // As Linux: a directory source is PERM; `new/` names a directory that cannot be made.
      const e = from.parent.dir.lstat(from.name, this.scratch);
      if (e !== 0) return e;
      if (this.scratch.filetype === Filetype.DIRECTORY) return Errno.PERM;
      if (from.trailingSlash) return Errno.NOTDIR;
      return to.parent.dir.lstat(to.name, this.scratch) === 0 ? Errno.EXIST : Errno.NOENT;
    }
    if (from.parent.mount !== to.parent.mount) return Errno.XDEV;
    return from.parent.dir.link(from.name, to.parent.dir, to.name);
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
    const follow = (lookupFlags & LookupFlags.SYMLINK_FOLLOW) !== 0;

    const lookup = new Lookup(this.vfs);
    let r = lookup.resolve(start.dir, path);
    for (;;) {
      if (typeof r === 'number') return r;
      const named = this.dirNamed(r);
      if (named !== null) {
        if (exclusive) return -Errno.EXIST;
        if (write) return -Errno.ISDIR;
        const own = this.vfs.reopen(named);
        if (typeof own === 'number') return own;
        return this.addDir(own, base, inheriting, fdflags);
      }
      // `name/` with CREAT: Linux answers ISDIR (it would have to create a directory).
      if (r.trailingSlash && (flags & OpenFlags.CREATE)) return -Errno.ISDIR;
      const h = r.parent.dir.open(r.name, r.trailingSlash ? flags | OpenFlags.DIRECTORY : flags);
      if (h === -Errno.LOOP && !exclusive && (follow || r.trailingSlash)) {
        r = lookup.followLast(r);
        continue;
      }
      if (h === -Errno.LOOP && exclusive) return -Errno.EXIST;
      if (typeof h === 'number') return h;
      if (h.kind === 'dir') {
        const p = r.parent.path === '/' ? '/' + r.name : r.parent.path + '/' + r.name;
        return this.addDir({ path: p, mount: r.parent.mount, dir: h }, base, inheriting, fdflags);
      }
      const ro = r.parent.mount.readonly;
      const e = new FdEntry(h.filetype, base & FILE_RIGHTS & (ro ? ~WRITE_RIGHTS : ~0), inheriting, fdflags);
      if (!read) e.rightsBase &= ~(Rights.FD_READ | Rights.FD_READDIR);
      if (!write) e.rightsBase &= ~WRITE_ACCESS;
      e.file = h;
      e.readonly = ro;
      const nfd = this.fds.add(e);
      if (nfd < 0) e.close();
      return nfd;
    }
  }

  private addDir(node: DirNode, base: number, inheriting: number, fdflags: number): number {
    const ro = node.mount.readonly;
    const e = new FdEntry(Filetype.DIRECTORY, base & DIR_RIGHTS & (ro ? ~WRITE_RIGHTS : ~0), inheriting & (ro ? ~WRITE_RIGHTS : ~0), fdflags);
    e.dir = node;
    e.readonly = ro;
    const nfd = this.fds.add(e);
    if (nfd < 0) e.close();
    return nfd;
  }

  pathReadlink(fd: number, path: string, out: Out<string>): number {
    const r = this.resolve(fd, Rights.PATH_READLINK, path, false);
    if (typeof r === 'number') return -r;
    if (this.dirNamed(r) !== null) return Errno.INVAL;
    if (r.trailingSlash) return Errno.NOTDIR;
    return r.parent.dir.readlink(r.name, out);
  }

  pathRemoveDirectory(fd: number, path: string): number {
    const r = this.resolve(fd, Rights.PATH_REMOVE_DIRECTORY, path, false);
    if (typeof r === 'number') return -r;
    if (r.name === '.') return Errno.INVAL;
    if (this.mountChild(r) !== null) return Errno.BUSY;
    const e = r.parent.dir.rmdir(r.name);
    if (e === 0) this.vfs.invalidate();
    return e;
  }

  pathRename(fd: number, oldPath: string, newFd: number, newPath: string): number {
    const from = this.resolve(fd, Rights.PATH_RENAME_SOURCE, oldPath, false);
    if (typeof from === 'number') return -from;
    const to = this.resolve(newFd, Rights.PATH_RENAME_TARGET, newPath, false);
    if (typeof to === 'number') return -to;
    if (this.mountChild(from) !== null || this.mountChild(to) !== null) return Errno.BUSY;
    if (from.name === '.' || to.name === '.') return Errno.BUSY;
    if (from.parent.mount !== to.parent.mount) return Errno.XDEV;
    if (from.trailingSlash || to.trailingSlash) {
      // `a/` must name a directory: a file renamed with a trailing slash is NOTDIR.
      const e = from.parent.dir.lstat(from.name, this.scratch);
      if (e !== 0) return e;
      if (this.scratch.filetype !== Filetype.DIRECTORY) return Errno.NOTDIR;
    }
    const e = from.parent.dir.rename(from.name, to.parent.dir, to.name);
    if (e === 0) this.vfs.invalidate();
    return e;
  }

  pathSymlink(target: string, fd: number, path: string): number {
    const r = this.resolve(fd, Rights.PATH_SYMLINK, path, false);
    if (typeof r === 'number') return -r;
    // Why: a guest-made link with an absolute target is refused, as wasmtime does.
    if (target.charCodeAt(0) === 47) return Errno.PERM;
    if (target.indexOf('\0') !== -1) return Errno.INVAL;
    if (this.dirNamed(r) !== null) return Errno.EXIST;
    if (r.trailingSlash) {
      const e = r.parent.dir.lstat(r.name, this.scratch);
      return e === 0 ? Errno.EXIST : Errno.NOENT;
    }
    return r.parent.dir.symlink(target, r.name);
  }

  pathUnlinkFile(fd: number, path: string): number {
    const r = this.resolve(fd, Rights.PATH_UNLINK_FILE, path, false);
    if (typeof r === 'number') return -r;
    if (this.dirNamed(r) !== null) return Errno.ISDIR;
    if (r.trailingSlash) {
      const e = r.parent.dir.lstat(r.name, this.scratch);
      if (e !== 0) return e;
      return this.scratch.filetype === Filetype.DIRECTORY ? Errno.ISDIR : Errno.NOTDIR;
    }
    return r.parent.dir.unlink(r.name);
  }

  /**
   * Resolves an absolute guest path from the guest's `/` by the same rules as the guest's
   * own calls, then hands the last component to `act`; when `act` answers -LOOP (a link),
   * the link is followed and `act` is called again.
   */
  private atGuestPath<T>(abs: string, act: (r: Resolved) => T | number): T | number {
    if (!abs.startsWith('/')) return -Errno.INVAL;
    const lookup = new Lookup(this.vfs);
    let r = lookup.resolve(this.vfs.root, abs.replace(/^\/+/, '') || '.');
    for (;;) {
      if (typeof r === 'number') return r;
      const out = act(r);
      if (out !== -Errno.LOOP) return out;
      r = lookup.followLast(r);
    }
  }

  /**
   * Reads a whole file named by an absolute guest path, through the same path rules as the
   * guest's own calls (a task's module must be readable by the guest that starts it).
   */
  readGuestFile(abs: string, maxBytes: number): Uint8Array | number {
    return this.atGuestPath(abs, (r) => {
      if (this.dirNamed(r) !== null) return -Errno.ISDIR;
      const h = r.parent.dir.open(r.name, OpenFlags.READ);
      if (typeof h === 'number') return h;
      if (h.kind === 'dir') {
        h.close();
        return -Errno.ISDIR;
      }
      try {
        const chunks: Uint8Array[] = [];
        let total = 0;
        for (;;) {
          const buf = new Uint8Array(1 << 20);
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
    });
  }

  /**
   * The directory an absolute guest path names, as a node of the guest's tree (links
   * followed by the sandbox's rules), or -errno.
   */
  guestDir(abs: string): DirNode | number {
    return this.atGuestPath(abs, (r) => this.dirNamed(r) ?? this.vfs.child(r.parent, r.name));
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
      const up = this.vfs.parent(node);
      const upIno = typeof up !== 'number' && up.dir.stat(this.scratch) === 0 ? this.scratch.ino : self;
      fd.dotInodes = [self, upIno];
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
