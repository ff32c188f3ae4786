import fs from 'node:fs';
import { Errno, errnoFromHostError, type Filestat } from '../system/index.js';
import { attempt, fail, PROC_FD, PROC_FD_AT } from './dirhandle.js';
import { fillFilestat } from './hoststat.js';
import { setHostTimes } from './hosttimes.js';
import type { File } from './types.js';

const C = fs.constants;

/** An open host file (or other non-directory), by its fd. */
export class HostFile implements File {
  readonly kind = 'file';
  constructor(public fd: number, readonly filetype: number, private oflags: number) {}

  /**
   * Puts the host fd in or out of O_APPEND to match the guest's fdflags. Node has no fcntl, so
   * the file is opened again through /proc/PID/fd/N (PROC_FD: same file, new open description).
   */
  private setAppend(append: boolean): number {
    if (((this.oflags & C.O_APPEND) !== 0) === append) return 0;
    if (!PROC_FD_AT) return -Errno.NOTSUP;
    if (this.fd < 0) return -Errno.BADF;
    const oflags = this.oflags ^ C.O_APPEND;
    // Not O_NOFOLLOW here: /proc/PID/fd/N is itself a (magic) link to the open file.
    try {
      const fd = fs.openSync(`${PROC_FD}${this.fd}`, oflags & ~C.O_NOFOLLOW);
      fs.closeSync(this.fd);
      this.fd = fd;
      this.oflags = oflags;
      return 0;
    } catch (e) {
      return fail(e);
    }
  }

  pread(buf: Uint8Array, position: number): number {
    if (this.fd < 0) return -Errno.BADF;
    try {
      return fs.readSync(this.fd, buf, 0, buf.byteLength, this.filetype === 4 ? position : null);
    } catch (e) {
      return fail(e);
    }
  }
  pwrite(buf: Uint8Array, position: number, append: boolean): number {
    if (this.fd < 0) return -Errno.BADF;
    if (this.filetype === 4 && ((this.oflags & C.O_APPEND) !== 0) !== append) {
      const e = this.setAppend(append);
      if (e < 0) return e;
    }
    try {
      // With O_APPEND the kernel writes at the end whatever the position says.
      return fs.writeSync(this.fd, buf, 0, buf.byteLength, append || this.filetype !== 4 ? null : position);
    } catch (e) {
      return fail(e);
    }
  }
  stat(out: Filestat): number {
    if (this.fd < 0) return Errno.BADF;
    try {
      fillFilestat(fs.fstatSync(this.fd, { bigint: true }), out);
      return 0;
    } catch (e) {
      return errnoFromHostError(e);
    }
  }
  /** Open for writing (O_WRONLY or O_RDWR). */
  private get writable(): boolean {
    return (this.oflags & (C.O_WRONLY | C.O_RDWR)) !== 0;
  }
  truncate(size: number): number {
    if (this.fd < 0) return Errno.BADF;
    // Node clamps a negative length to 0, which would empty the file: refuse it as ftruncate(2) does.
    if (size < 0) return Errno.INVAL;
    if (!this.writable) return Errno.INVAL;
    return attempt(() => fs.ftruncateSync(this.fd, size));
  }
  /** posix_fallocate without reserving blocks (Node has no fallocate): the size grows to cover the range. */
  allocate(offset: number, len: number): number {
    if (this.fd < 0) return Errno.BADF;
    if (offset < 0 || len <= 0) return Errno.INVAL;
    if (!this.writable) return Errno.BADF;
    return attempt(() => {
      if (offset + len > fs.fstatSync(this.fd).size) fs.ftruncateSync(this.fd, offset + len);
    });
  }
  utimes(atim: bigint, mtim: bigint, fstflags: number): number {
    if (this.fd < 0) return Errno.BADF;
    if (PROC_FD_AT) return setHostTimes(`${PROC_FD}${this.fd}`, true, atim, mtim, fstflags, this.fd);
    return setHostTimes('', true, atim, mtim, fstflags, this.fd);
  }
  sync(): number {
    if (this.fd < 0) return Errno.BADF;
    return attempt(() => fs.fsyncSync(this.fd));
  }
  datasync(): number {
    if (this.fd < 0) return Errno.BADF;
    return attempt(() => fs.fdatasyncSync(this.fd));
  }
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    // Never name the number again: it may be reused at once (see HostDir.p).
    this.fd = -1;
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}
