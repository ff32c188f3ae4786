// Open files of OverlayFs (overlayfs.ts), split from overlay-dir.ts.
import { Errno, type Filestat } from '../system/index.js';
import { badTimes, overlayIno } from './overlay-dir.js';
import type { Node, OverlayFs } from './overlayfs.js';
import { OpenFlags, type File } from './types.js';

/** Where a file open from a lower layer was found, to copy it up if its times are set through the fd. */
export interface Origin {
  node: Node;
  name: string;
  ino: bigint;
}

/**
 * An open file of an OverlayFs: the layer's handle, with the overlay's dev and inode numbers.
 * A file open read-only from a lower layer refuses writes as a read-only fd does, and setting
 * its times copies it up first (then the fd follows the upper copy).
 */
export class OverlayFile implements File {
  readonly kind = 'file';
  readonly filetype: number;
  private closed = false;

  constructor(readonly ov: OverlayFs, private inner: File, private layer: number, private origin: Origin | null) {
    this.filetype = inner.filetype;
  }

  pread(buf: Uint8Array, position: number): number {
    return this.closed ? -Errno.BADF : this.inner.pread(buf, position);
  }
  pwrite(buf: Uint8Array, position: number, append: boolean): number {
    if (this.closed || this.origin !== null) return -Errno.BADF;
    return this.inner.pwrite(buf, position, append);
  }
  stat(out: Filestat): number {
    if (this.closed) return Errno.BADF;
    const e = this.inner.stat(out);
    if (e !== 0) return e;
    out.dev = this.ov.dev;
    out.ino = overlayIno(this.layer, out.ino);
    return 0;
  }
  truncate(size: number): number {
    if (this.closed) return Errno.BADF;
    return this.origin !== null ? Errno.INVAL : this.inner.truncate(size);
  }
  allocate(offset: number, len: number): number {
    if (this.closed || this.origin !== null) return Errno.BADF;
    return this.inner.allocate(offset, len);
  }
  utimes(atim: bigint, mtim: bigint, fstflags: number): number {
    if (this.closed) return Errno.BADF;
    if (this.origin !== null) {
      if (badTimes(fstflags)) return Errno.INVAL;
      if (fstflags === 0) return 0;
      const e = this.copyUp();
      if (e !== 0) return e;
    }
    return this.inner.utimes(atim, mtim, fstflags);
  }

  /** Copies the lower file up (if its name still shows it) and moves this fd to the upper copy. */
  private copyUp(): number {
    const { node, name, ino } = this.origin!;
    const f = node.find(name);
    if (typeof f === 'number') return Errno.STALE;
    if (f.at.layer !== 0) {
      if (f.at.layer !== this.layer || f.st.ino !== ino) return Errno.STALE;
      const e = node.copyUp(name, f);
      if (e !== 0) return e;
    } else {
      // Copied up already (through another fd): it is ours if the lower entry under it is.
      const under = node.findLower(name);
      if (typeof under === 'number' || under.at.layer !== this.layer || under.st.ino !== ino) return Errno.STALE;
    }
    const h = node.upper!.open(name, OpenFlags.READ);
    if (typeof h === 'number') return -h;
    if (h.kind !== 'file') {
      h.close();
      return Errno.STALE;
    }
    this.inner.close();
    this.inner = h;
    this.layer = 0;
    this.origin = null;
    node.release();
    return 0;
  }

  sync(): number {
    return this.closed ? Errno.BADF : this.origin !== null ? 0 : this.inner.sync();
  }
  datasync(): number {
    return this.closed ? Errno.BADF : this.origin !== null ? 0 : this.inner.datasync();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
    this.origin?.node.release();
  }
}
