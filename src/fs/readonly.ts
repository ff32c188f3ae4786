import { Errno, type Dirent, type Filestat, type Out } from '../system/index.js';
import { OpenFlags, type Dir, type File, type FileSystem } from './types.js';

const WRITE_FLAGS = OpenFlags.WRITE | OpenFlags.CREATE | OpenFlags.TRUNC | OpenFlags.APPEND;

/**
 * A read-only view of a file system: every call that would change something answers ROFS and
 * never reaches the backend. This is the one place `:ro` mounts are enforced; the sandbox
 * also withholds write rights from fds on them, so guests see NOTCAPABLE/BADF where WASI
 * rights decide first.
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

class ReadOnlyDir implements Dir {
  readonly kind = 'dir';
  constructor(readonly inner: Dir) {}
  lstat(name: string, out: Filestat): number { return this.inner.lstat(name, out); }
  openDir(name: string): Dir | number {
    const d = this.inner.openDir(name);
    return typeof d === 'number' ? d : new ReadOnlyDir(d);
  }
  open(name: string, flags: number): Dir | File | number {
    if (flags & WRITE_FLAGS) return -Errno.ROFS;
    const h = this.inner.open(name, flags);
    if (typeof h === 'number') return h;
    return h.kind === 'dir' ? new ReadOnlyDir(h) : new ReadOnlyFile(h);
  }
  readlink(name: string, out: Out<string>): number { return this.inner.readlink(name, out); }
  mkdir(): number { return Errno.ROFS; }
  rmdir(): number { return Errno.ROFS; }
  unlink(): number { return Errno.ROFS; }
  symlink(): number { return Errno.ROFS; }
  rename(): number { return Errno.ROFS; }
  link(): number { return Errno.ROFS; }
  utimes(): number { return Errno.ROFS; }
  stat(out: Filestat): number { return this.inner.stat(out); }
  readdir(out: Out<Dirent[]>): number { return this.inner.readdir(out); }
  sync(): number { return 0; }
  close(): void { this.inner.close(); }
  sameFileSystem(other: Dir): boolean {
    return other instanceof ReadOnlyDir && this.inner.sameFileSystem(other.inner);
  }
}

class ReadOnlyFile implements File {
  readonly kind = 'file';
  readonly filetype: number;
  constructor(readonly inner: File) {
    this.filetype = inner.filetype;
  }
  pread(buf: Uint8Array, position: number): number { return this.inner.pread(buf, position); }
  pwrite(): number { return -Errno.ROFS; }
  stat(out: Filestat): number { return this.inner.stat(out); }
  truncate(): number { return Errno.ROFS; }
  allocate(): number { return Errno.ROFS; }
  utimes(): number { return Errno.ROFS; }
  sync(): number { return 0; }
  datasync(): number { return 0; }
  close(): void { this.inner.close(); }
}
