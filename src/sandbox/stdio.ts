import fs from 'node:fs';
import tty from 'node:tty';
import { Errno, errnoFromHostError, Filetype, type Filestat } from '../system/index.js';
import { fillFilestat, filetypeOfMode } from '../fs/hoststat.js';
import type { File } from '../fs/types.js';

/** A stdio stream of a guest: a File whose position is ignored, plus its WASI filetype. */
export interface StdioFile extends File {
  readonly filetype: number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** One of the host's own fds (0, 1, 2 when inherited). Blocks the worker, never the main thread. */
export class HostStdio implements StdioFile {
  readonly kind = 'file';
  readonly filetype: number;
  constructor(readonly fd: number) {
    let type: number = Filetype.UNKNOWN;
    try {
      type = tty.isatty(fd) ? Filetype.CHARACTER_DEVICE : filetypeOfMode(fs.fstatSync(fd).mode);
    } catch {
      // a closed stdio fd: calls will answer BADF
    }
    this.filetype = type;
  }
  pread(buf: Uint8Array): number {
    for (;;) {
      try {
        return fs.readSync(this.fd, buf, 0, buf.byteLength, null);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'EAGAIN') {
          // A non-blocking stdin (a terminal Node set up): wait a little and try again.
          Atomics.wait(sleeper, 0, 0, 5);
          continue;
        }
        if (code === 'EOF') return 0;
        return -errnoFromHostError(e);
      }
    }
  }
  pwrite(buf: Uint8Array): number {
    let done = 0;
    while (done < buf.byteLength) {
      try {
        done += fs.writeSync(this.fd, buf, done, buf.byteLength - done, null);
      } catch (e) {
        if ((e as { code?: string }).code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, 1);
          continue;
        }
        return done > 0 ? done : -errnoFromHostError(e);
      }
    }
    return done;
  }
  stat(out: Filestat): number {
    try {
      fillFilestat(fs.fstatSync(this.fd, { bigint: true }), out);
      out.filetype = this.filetype;
      return 0;
    } catch (e) {
      return errnoFromHostError(e);
    }
  }
  truncate(): number { return Errno.INVAL; }
  allocate(): number { return Errno.SPIPE; }
  utimes(): number { return Errno.NOTSUP; }
  sync(): number { return Errno.INVAL; }
  datasync(): number { return Errno.INVAL; }
  close(): void {
    // The host's own stdio stays open for the host.
  }
}

/** Stdin fed from bytes given up front (library `stdin: Uint8Array`), or empty. */
export class BytesStdin implements StdioFile {
  readonly kind = 'file';
  readonly filetype = Filetype.UNKNOWN;
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  pread(buf: Uint8Array): number {
    const n = Math.min(buf.byteLength, this.bytes.byteLength - this.offset);
    buf.set(this.bytes.subarray(this.offset, this.offset + n));
    this.offset += n;
    return n;
  }
  pwrite(): number { return -Errno.BADF; }
  stat(out: Filestat): number { return pipeStat(out); }
  truncate(): number { return Errno.INVAL; }
  allocate(): number { return Errno.SPIPE; }
  utimes(): number { return Errno.NOTSUP; }
  sync(): number { return Errno.INVAL; }
  datasync(): number { return Errno.INVAL; }
  close(): void {}
}

/** An output stream whose bytes go to a callback (library `stdout: 'pipe'`). */
export class SinkStdio implements StdioFile {
  readonly kind = 'file';
  readonly filetype = Filetype.UNKNOWN;
  constructor(private readonly sink: (chunk: Uint8Array) => void) {}
  pread(): number { return -Errno.BADF; }
  pwrite(buf: Uint8Array): number {
    this.sink(buf.slice());
    return buf.byteLength;
  }
  stat(out: Filestat): number { return pipeStat(out); }
  truncate(): number { return Errno.INVAL; }
  allocate(): number { return Errno.SPIPE; }
  utimes(): number { return Errno.NOTSUP; }
  sync(): number { return Errno.INVAL; }
  datasync(): number { return Errno.INVAL; }
  close(): void {}
}

function pipeStat(out: Filestat): number {
  out.dev = 0n; out.ino = 0n; out.filetype = Filetype.UNKNOWN; out.nlink = 1n; out.size = 0n;
  out.atim = 0n; out.mtim = 0n; out.ctim = 0n;
  return 0;
}
