import { Errno, Filetype, FstFlags, newFilestat, type Dirent, type Filestat, type Out } from '../system/index.js';
import { OpenFlags, type Dir, type File, type FileSystem } from './types.js';

const { READ, WRITE, CREATE, EXCL, TRUNC, DIRECTORY, APPEND } = OpenFlags;
const { ATIM, ATIM_NOW, MTIM, MTIM_NOW } = FstFlags;
/** Longest symlink target (PATH_MAX with its NUL), as symlink(2) checks it before anything. */
const MAX_TARGET = 4095;
const encoder = new TextEncoder();

/**
 * A read-only view of a file system: it answers what Linux answers on a read-only bind mount,
 * and nothing it is asked reaches the backend as a change. This is the one place `:ro` mounts
 * are enforced.
 *
 * Linux checks the mount's write access late: every error the call would give on a writable
 * mount that comes from looking names up wins over ROFS (mkdir or symlink of an existing name
 * is EXIST, open of a missing file without CREATE is NOENT, open for writing of a directory
 * ISDIR), but unlink, rmdir and rename ask for write access before looking the name up (ROFS
 * even for a missing name). The full table, measured on Linux and checked against the kernel
 * when the tests run as root, is in conformance.ts. Handles opened here never have write
 * access (Linux gives none on a read-only mount), so writes through them answer as a read-only
 * fd does (BADF, truncate INVAL) and only time changes answer ROFS.
 *
 * One deliberate departure: Linux lets a FIFO or device on a read-only mount be opened for
 * writing (the data does not go to the file system, and the mount keeps its times still). Over
 * a writable backend the host would move the special file's times on every write, so here such
 * an open answers ROFS: nothing on disk changes, ever.
 */
export class ReadOnlyFs implements FileSystem {
  readonly description: string;
  constructor(readonly inner: FileSystem) {
    this.description = `${inner.description}:ro`;
  }
  openRoot(): Dir | number {
    const d = this.inner.openRoot();
    return typeof d === 'number' ? d : new ReadOnlyDir(d);
  }
}

/** utimensat(2)'s EINVAL cases (a time both set and NOW), checked before the mount's write access. */
function badTimes(fstflags: number): boolean {
  if (fstflags & ~(ATIM | ATIM_NOW | MTIM | MTIM_NOW)) return true;
  return (fstflags & ATIM && fstflags & ATIM_NOW) !== 0 || (fstflags & MTIM && fstflags & MTIM_NOW) !== 0;
}

class ReadOnlyDir implements Dir {
  readonly kind = 'dir';
  private closed = false;
  private readonly st = newFilestat();
  constructor(readonly inner: Dir) {}

  /** lstat of `name` in the inner directory: 0 (type in this.st), or the errno (NOENT if absent). */
  private look(name: string): number {
    return this.closed ? Errno.BADF : this.inner.lstat(name, this.st);
  }

  /** For calls that create `name` (mkdir, symlink): EXIST if it exists, else ROFS. */
  private creating(name: string): number {
    const e = this.look(name);
    if (e === 0) return Errno.EXIST;
    return e === Errno.NOENT ? Errno.ROFS : e;
  }


  lstat(name: string, out: Filestat): number {
    return this.closed ? Errno.BADF : this.inner.lstat(name, out);
  }

  openDir(name: string): Dir | number {
    if (this.closed) return -Errno.BADF;
    const d = this.inner.openDir(name);
    return typeof d === 'number' ? d : new ReadOnlyDir(d);
  }

  open(name: string, flags: number): Dir | File | number {
    if (this.closed) return -Errno.BADF;
    if (flags & TRUNC && !(flags & WRITE)) return -Errno.INVAL;
    if (flags & CREATE && flags & DIRECTORY) return -Errno.INVAL;
    if (flags & (WRITE | CREATE)) {
      // What the open would answer on a writable mount, found without asking the backend to
      // change anything; only a call that would then write or create gets ROFS.
      const e = this.look(name);
      if (e === Errno.NOENT) return flags & CREATE ? -Errno.ROFS : -Errno.NOENT;
      if (e !== 0) return -e;
      const type = this.st.filetype;
      if (flags & CREATE && flags & EXCL) return -Errno.EXIST;
      if (type === Filetype.SYMBOLIC_LINK) return -Errno.LOOP;
      if (type === Filetype.DIRECTORY) return -Errno.ISDIR;
      if (flags & DIRECTORY) return -Errno.NOTDIR;
      if (flags & WRITE) return -Errno.ROFS;
    }
    // Never CREATE or EXCL: if the entry went away since the check, the backend answers NOENT.
    const h = this.inner.open(name, flags & (READ | DIRECTORY | APPEND));
    if (typeof h === 'number') return h;
    return h.kind === 'dir' ? new ReadOnlyDir(h) : new ReadOnlyFile(h);
  }

  readlink(name: string, out: Out<string>): number {
    return this.closed ? Errno.BADF : this.inner.readlink(name, out);
  }

  mkdir(name: string): number {
    return this.creating(name);
  }

  symlink(target: string, name: string): number {
    if (this.closed) return Errno.BADF;
    if (target === '') return Errno.NOENT;
    if (target.length > MAX_TARGET / 3 && encoder.encode(target).length > MAX_TARGET) return Errno.NAMETOOLONG;
    return this.creating(name);
  }

  // unlink and rmdir ask for write access before looking the name up: ROFS whatever it names
  // (missing, or even too long), after the checks of the last component's form.
  rmdir(name: string): number {
    if (this.closed) return Errno.BADF;
    return name === '.' ? Errno.INVAL : Errno.ROFS;
  }

  unlink(name: string): number {
    if (this.closed) return Errno.BADF;
    return name === '.' ? Errno.ISDIR : Errno.ROFS;
  }

  rename(name: string, toDir: Dir, toName: string): number {
    if (this.closed) return Errno.BADF;
    // Linux compares the mounts first, then refuses `.`, then asks for write access.
    if (!this.sameFileSystem(toDir)) return Errno.XDEV;
    if ((toDir as ReadOnlyDir).closed) return Errno.BADF;
    if (name === '.' || toName === '.') return Errno.BUSY;
    return Errno.ROFS;
  }

  link(name: string, toDir: Dir, toName: string): number {
    // Linux looks the source up, then the new name (EXIST), then asks the target mount for
    // write access (ROFS if it is read-only, whichever file system it is), then compares mounts.
    const e = this.look(name);
    if (e !== 0) return e;
    const t = toDir.lstat(toName, this.st);
    if (t === 0) return Errno.EXIST;
    if (t !== Errno.NOENT) return t;
    if (toDir instanceof ReadOnlyDir) return Errno.ROFS;
    return Errno.XDEV;
  }

  utimes(name: string, _atim: bigint, _mtim: bigint, fstflags: number): number {
    const e = this.look(name);
    if (e !== 0) return e;
    if (badTimes(fstflags)) return Errno.INVAL;
    return fstflags === 0 ? 0 : Errno.ROFS;
  }

  stat(out: Filestat): number {
    return this.closed ? Errno.BADF : this.inner.stat(out);
  }
  readdir(out: Out<Dirent[]>): number {
    return this.closed ? Errno.BADF : this.inner.readdir(out);
  }
  sync(): number {
    return this.closed ? Errno.BADF : this.inner.sync();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
  }
  sameFileSystem(other: Dir): boolean {
    return other instanceof ReadOnlyDir && this.inner.sameFileSystem(other.inner);
  }
}

/** An open file of a read-only mount: always open read-only underneath, it answers writes as a read-only fd does. */
class ReadOnlyFile implements File {
  readonly kind = 'file';
  readonly filetype: number;
  private closed = false;
  constructor(readonly inner: File) {
    this.filetype = inner.filetype;
  }
  pread(buf: Uint8Array, position: number): number {
    return this.closed ? -Errno.BADF : this.inner.pread(buf, position);
  }
  pwrite(): number {
    return -Errno.BADF;
  }
  stat(out: Filestat): number {
    return this.closed ? Errno.BADF : this.inner.stat(out);
  }
  truncate(): number {
    // ftruncate(2) on a descriptor not open for writing is EINVAL (not EBADF).
    return this.closed ? Errno.BADF : Errno.INVAL;
  }
  allocate(): number {
    return Errno.BADF;
  }
  utimes(_atim: bigint, _mtim: bigint, fstflags: number): number {
    if (this.closed) return Errno.BADF;
    if (badTimes(fstflags)) return Errno.INVAL;
    return fstflags === 0 ? 0 : Errno.ROFS;
  }
  sync(): number {
    return this.closed ? Errno.BADF : this.inner.sync();
  }
  datasync(): number {
    return this.closed ? Errno.BADF : this.inner.datasync();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
  }
}
