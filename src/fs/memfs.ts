import { Errno, Filetype, type Dirent, type Filestat, type Out } from '../system/index.js';
import { checkName, DirInode, FileInode, type Inode, MAX_FILE_SIZE, SymlinkInode } from './memfs-inode.js';
import { OpenFlags, type Dir, type File, type FileSystem } from './types.js';

export interface MemFsOptions {
  /** Realtime clock in ns since the epoch (default: the host's, with ns resolution). */
  now?: () => bigint;
}

// Realtime in ns: the epoch offset taken once, then the monotonic clock for resolution.
const epochOffset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
const realtimeNs = (): bigint => epochOffset + process.hrtime.bigint();

/** A device number no host device has (major 0x4d454d, "MEM"), one per MemFs. */
let devCounter = 0n;

/** An in-memory file system with Linux (tmpfs) semantics. */
export class MemFs implements FileSystem {
  readonly description = 'memory';
  readonly dev = (0x4d454dn << 32n) | ++devCounter;
  readonly now: () => bigint;
  readonly root: DirInode;
  private lastIno = 0n;

  constructor(options: MemFsOptions = {}) {
    this.now = options.now ?? realtimeNs;
    this.root = new DirInode(this.newIno(), this.now(), null);
  }

  openRoot(): Dir {
    return new MemDir(this, this.root);
  }

  newIno(): bigint {
    return ++this.lastIno;
  }
}

/** Marks a directory's contents as changed. */
function modified(dir: Inode, t: bigint): void {
  dir.mtim = dir.ctim = t;
}

class MemDir implements Dir {
  readonly kind = 'dir';
  private closed = false;
  constructor(readonly fs: MemFs, readonly node: DirInode) {}

  private lookup(name: string): Inode | undefined {
    return name === '.' ? this.node : this.node.entries.get(name);
  }

  /** Adds a new entry (the caller checked that the name is free). NOENT in a removed directory. */
  private add(name: string, make: (ino: bigint, t: bigint) => Inode): Inode | number {
    if (this.node.removed) return Errno.NOENT;
    const t = this.fs.now();
    const node = make(this.fs.newIno(), t);
    this.node.entries.set(name, node);
    modified(this.node, t);
    return node;
  }

  lstat(name: string, out: Filestat): number {
    const err = this.closed ? Errno.BADF : checkName(name);
    if (err) return err;
    const node = this.lookup(name);
    if (node === undefined) return Errno.NOENT;
    node.fill(out, this.fs.dev);
    return 0;
  }

  openDir(name: string): Dir | number {
    const err = this.closed ? Errno.BADF : checkName(name);
    if (err) return -err;
    const node = this.lookup(name);
    if (node === undefined) return -Errno.NOENT;
    if (node instanceof SymlinkInode) return -Errno.LOOP;
    if (!(node instanceof DirInode)) return -Errno.NOTDIR;
    return new MemDir(this.fs, node);
  }

  open(name: string, flags: number): Dir | File | number {
    const err = this.closed ? Errno.BADF : checkName(name);
    if (err) return -err;
    const { CREATE, EXCL, DIRECTORY, WRITE, TRUNC } = OpenFlags;
    // Linux truncates even for O_RDONLY; we refuse before anything, as hostfs and wasmtime do.
    if (flags & TRUNC && !(flags & WRITE)) return -Errno.INVAL;
    // Linux >= 6.4 refuses O_CREAT|O_DIRECTORY outright.
    if (flags & CREATE && flags & DIRECTORY) return -Errno.INVAL;
    const node = this.lookup(name);
    if (node === undefined) {
      if (!(flags & CREATE)) return -Errno.NOENT;
      const created = this.add(name, (ino, t) => new FileInode(ino, t, 1));
      return typeof created === 'number' ? -created : new MemFile(this.fs, created as FileInode, flags);
    }
    if (flags & CREATE && flags & EXCL) return -Errno.EXIST;
    if (node instanceof SymlinkInode) return -Errno.LOOP;
    if (node instanceof DirInode) {
      if (flags & (CREATE | WRITE | TRUNC)) return -Errno.ISDIR;
      return new MemDir(this.fs, node);
    }
    if (flags & DIRECTORY) return -Errno.NOTDIR;
    const file = node as FileInode;
    if (flags & TRUNC) {
      file.resize(0);
      modified(file, this.fs.now());
    }
    return new MemFile(this.fs, file, flags);
  }

  readlink(name: string, out: Out<string>): number {
    const err = this.closed ? Errno.BADF : checkName(name);
    if (err) return err;
    const node = this.lookup(name);
    if (node === undefined) return Errno.NOENT;
    if (!(node instanceof SymlinkInode)) return Errno.INVAL;
    node.accessed(this.fs.now);
    out.value = node.target;
    return 0;
  }

  mkdir(name: string): number {
    const err = this.closed ? Errno.BADF : checkName(name);
    if (err) return err;
    if (this.lookup(name) !== undefined) return Errno.EXIST;
    const parent = this.node;
    const made = this.add(name, (ino, t) => new DirInode(ino, t, parent));
    if (typeof made === 'number') return made;
    parent.nlink++;
    return 0;
  }

  rmdir(name: string): number {
    const err = this.closed ? Errno.BADF : checkName(name);
    if (err) return err;
    if (name === '.') return Errno.INVAL;
    const node = this.node.entries.get(name);
    if (node === undefined) return Errno.NOENT;
    if (!(node instanceof DirInode)) return Errno.NOTDIR;
    if (node.entries.size > 0) return Errno.NOTEMPTY;
    const t = this.fs.now();
    this.node.entries.delete(name);
    this.node.nlink--;
    modified(this.node, t);
    node.nlink = 0;
    node.ctim = t;
    return 0;
  }

  unlink(name: string): number {
    const err = this.closed ? Errno.BADF : checkName(name);
    if (err) return err;
    const node = this.lookup(name);
    if (node === undefined) return Errno.NOENT;
    if (node instanceof DirInode) return Errno.ISDIR;
    const t = this.fs.now();
    this.node.entries.delete(name);
    modified(this.node, t);
    node.nlink--;
    node.ctim = t;
    return 0;
  }

  symlink(target: string, name: string): number {
    const err = this.closed ? Errno.BADF : checkName(name);
    if (err) return err;
    if (target === '') return Errno.NOENT;
    if (target.length >= 4096 / 3 && new TextEncoder().encode(target).length >= 4096) return Errno.NAMETOOLONG;
    if (this.lookup(name) !== undefined) return Errno.EXIST;
    const made = this.add(name, (ino, t) => new SymlinkInode(ino, t, target));
    return typeof made === 'number' ? made : 0;
  }

  rename(name: string, toDir: Dir, toName: string): number {
    const err = this.closed ? Errno.BADF : checkName(name) || checkName(toName);
    if (err) return err;
    if (!this.sameFileSystem(toDir)) return Errno.XDEV;
    const to = toDir as MemDir;
    if (to.closed) return Errno.BADF;
    if (name === '.' || toName === '.') return Errno.BUSY;
    const from = this.node;
    const dst = to.node;
    const node = from.entries.get(name);
    if (node === undefined) return Errno.NOENT;
    if (dst.removed) return Errno.NOENT;
    const old = dst.entries.get(toName);
    // A directory may not move into its own subtree.
    if (node instanceof DirInode) {
      for (let d: DirInode | null = dst; d !== null; d = d.parent) if (d === node) return Errno.INVAL;
    }
    // Nor may the target be an ancestor of the source (it is never empty then).
    if (old instanceof DirInode) {
      for (let d: DirInode | null = from; d !== null; d = d.parent) if (d === old) return Errno.NOTEMPTY;
    }
    if (old === node) return 0; // same entry, or two hard links to one file: nothing to do
    if (node instanceof DirInode) {
      if (old !== undefined && !(old instanceof DirInode)) return Errno.NOTDIR;
      if (old instanceof DirInode && old.entries.size > 0) return Errno.NOTEMPTY;
    } else if (old instanceof DirInode) {
      return Errno.ISDIR;
    }
    const t = this.fs.now();
    if (old instanceof DirInode) {
      old.nlink = 0;
      dst.nlink--;
    } else if (old !== undefined) {
      old.nlink--;
    }
    if (old !== undefined) old.ctim = t;
    from.entries.delete(name);
    dst.entries.set(toName, node);
    if (node instanceof DirInode && from !== dst) {
      from.nlink--;
      dst.nlink++;
      node.parent = dst;
    }
    node.ctim = t;
    modified(from, t);
    modified(dst, t);
    return 0;
  }

  link(name: string, toDir: Dir, toName: string): number {
    const err = this.closed ? Errno.BADF : checkName(name) || checkName(toName);
    if (err) return err;
    const node = this.lookup(name);
    if (node === undefined) return Errno.NOENT;
    if (!this.sameFileSystem(toDir)) return Errno.XDEV;
    const to = toDir as MemDir;
    if (to.closed) return Errno.BADF;
    if (to.lookup(toName) !== undefined) return Errno.EXIST;
    if (to.node.removed) return Errno.NOENT;
    if (node instanceof DirInode) return Errno.PERM;
    const t = this.fs.now();
    to.node.entries.set(toName, node);
    modified(to.node, t);
    node.nlink++;
    node.ctim = t;
    return 0;
  }

  utimes(name: string, atim: bigint, mtim: bigint, fstflags: number): number {
    const err = this.closed ? Errno.BADF : checkName(name);
    if (err) return err;
    const node = this.lookup(name);
    if (node === undefined) return Errno.NOENT;
    return node.setTimes(atim, mtim, fstflags, this.fs.now);
  }

  stat(out: Filestat): number {
    if (this.closed) return Errno.BADF;
    this.node.fill(out, this.fs.dev);
    return 0;
  }

  readdir(out: Out<Dirent[]>): number {
    if (this.closed) return Errno.BADF;
    // A removed directory lists as empty: getdents(2) says ENOENT there, but glibc's readdir
    // (and POSIX) report the end of the directory, which is what programs see.
    const list: Dirent[] = [];
    for (const [name, node] of this.node.entries) {
      list.push({ next: list.length + 1, ino: node.ino, type: node.filetype, name });
    }
    this.node.accessed(this.fs.now);
    out.value = list;
    return 0;
  }

  sync(): number {
    return this.closed ? Errno.BADF : 0;
  }

  close(): void {
    this.closed = true;
  }

  sameFileSystem(other: Dir): boolean {
    return other instanceof MemDir && other.fs === this.fs;
  }
}

class MemFile implements File {
  readonly kind = 'file';
  readonly filetype = Filetype.REGULAR_FILE;
  private closed = false;
  private readonly readable: boolean;
  private readonly writable: boolean;

  constructor(readonly fs: MemFs, readonly node: FileInode, flags: number) {
    this.writable = (flags & OpenFlags.WRITE) !== 0;
    // Neither READ nor WRITE is O_RDONLY.
    this.readable = (flags & OpenFlags.READ) !== 0 || !this.writable;
  }

  pread(buf: Uint8Array, position: number): number {
    if (this.closed || !this.readable) return -Errno.BADF;
    if (position < 0) return -Errno.INVAL;
    if (buf.length === 0) return 0;
    const n = this.node.read(buf, position);
    this.node.accessed(this.fs.now);
    return n;
  }

  pwrite(buf: Uint8Array, position: number, append: boolean): number {
    if (this.closed || !this.writable) return -Errno.BADF;
    const at = append ? this.node.size : position;
    if (at < 0) return -Errno.INVAL;
    if (buf.length === 0) return 0;
    const n = this.node.write(buf, at);
    if (n > 0) modified(this.node, this.fs.now());
    return n;
  }

  stat(out: Filestat): number {
    if (this.closed) return Errno.BADF;
    this.node.fill(out, this.fs.dev);
    return 0;
  }

  truncate(size: number): number {
    // ftruncate(2) on a descriptor not open for writing is EINVAL, not EBADF.
    if (this.closed) return Errno.BADF;
    if (!this.writable || size < 0) return Errno.INVAL;
    if (size > MAX_FILE_SIZE) return Errno.FBIG;
    this.node.resize(size);
    modified(this.node, this.fs.now());
    return 0;
  }

  allocate(offset: number, len: number): number {
    if (this.closed || !this.writable) return Errno.BADF;
    if (offset < 0 || len <= 0) return Errno.INVAL;
    if (offset + len > MAX_FILE_SIZE) return Errno.FBIG;
    if (offset + len > this.node.size) this.node.resize(offset + len);
    modified(this.node, this.fs.now());
    return 0;
  }

  utimes(atim: bigint, mtim: bigint, fstflags: number): number {
    if (this.closed) return Errno.BADF;
    return this.node.setTimes(atim, mtim, fstflags, this.fs.now);
  }

  sync(): number {
    return this.closed ? Errno.BADF : 0;
  }

  datasync(): number {
    return this.closed ? Errno.BADF : 0;
  }

  close(): void {
    this.closed = true;
  }
}

/** A tree for `memfsFromTree`: a string or bytes is a file, `{ symlink: target }` a link, any other object a directory. */
export interface MemTree {
  [name: string]: string | Uint8Array | MemTree | { symlink: string };
}

function isSymlinkSpec(v: object): v is { symlink: string } {
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === 'symlink' && typeof (v as { symlink: unknown }).symlink === 'string';
}

/** Builds a MemFs holding `tree` (mainly for tests and synthetic roots). Throws on a bad name. */
export function memfsFromTree(tree: MemTree, options: MemFsOptions = {}): MemFs {
  const fs = new MemFs(options);
  const fill = (dir: Dir, t: MemTree, path: string): void => {
    for (const [name, v] of Object.entries(t)) {
      const fail = (errno: number): never => {
        throw new Error(`memfsFromTree: cannot create ${path}/${name} (errno ${errno})`);
      };
      if (typeof v === 'string' || v instanceof Uint8Array) {
        const f = dir.open(name, OpenFlags.CREATE | OpenFlags.EXCL | OpenFlags.WRITE);
        if (typeof f === 'number') fail(-f);
        const bytes = typeof v === 'string' ? new TextEncoder().encode(v) : v;
        (f as File).pwrite(bytes, 0, false);
        (f as File).close();
      } else if (isSymlinkSpec(v)) {
        const r = dir.symlink(v.symlink, name);
        if (r !== 0) fail(r);
      } else {
        const r = dir.mkdir(name);
        if (r !== 0) fail(r);
        const sub = dir.openDir(name) as Dir;
        fill(sub, v, `${path}/${name}`);
        sub.close();
      }
    }
  };
  const root = fs.openRoot();
  fill(root, tree, '');
  root.close();
  return fs;
}
