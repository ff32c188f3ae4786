import { randomFillSync } from 'node:crypto';
import {
  ALL_RIGHTS, DIR_RIGHTS, Errno, FdFlags, Filetype, ProcExit, Rights, STDIO_RIGHTS, Whence,
  newFilestat,
  type Dirent, type Event, type Fdstat, type Filestat, type Out, type Subscription, type System, type TaskHost,
} from '../system/index.js';
import { normalizeMountPath, Vfs, type MountSpec } from '../fs/vfs.js';
import { clockResGet, clockTimeGet } from './clock.js';
import { FdEntry, FdTable } from './fdtable.js';
import { PathCalls, validFstflags } from './paths.js';
import { pollOneoff } from './poll.js';
import type { StdioFile } from './stdio.js';

export interface Preopen {
  /** The name the guest sees (fd_prestat_dir_name), e.g. `/`, `/data` or `.`. */
  name: string;
  /** The canonical guest path of the directory. */
  guestPath: string;
}

export interface SandboxOptions {
  args: readonly string[];
  env: readonly string[];
  mounts: readonly MountSpec[];
  /** Preopened directories in fd order from 3; default: one per mount, named by its path. */
  preopens?: readonly Preopen[];
  stdin: StdioFile;
  stdout: StdioFile;
  stderr: StdioFile;
  /** Open fds the guest may hold (stdio and preopens included); default DEFAULT_MAX_OPEN_FILES. */
  maxOpenFiles?: number;
}

/**
 * The real System: a guest's fd table, preopened mounts, stdio, clocks and randomness. Every
 * path goes through the one resolver (fs/resolve.ts); files are reached only through the Vfs.
 */
export class Sandbox extends PathCalls implements System, TaskHost {
  private taskHost: TaskHost | null = null;
  private readonly argv: readonly string[];
  private readonly envv: readonly string[];
  private readonly scratchStat: Filestat = newFilestat();
  /**
   * The guest path of the `.` preopen (the current directory of a trusted main process,
   * runtime/hostview.ts), where relative paths land; undefined without one.
   */
  readonly cwd: string | undefined;

  constructor(opts: SandboxOptions) {
    const vfs = new Vfs(opts.mounts);
    super(vfs, new FdTable(opts.maxOpenFiles));
    this.argv = opts.args;
    this.envv = opts.env;
    const stdio = [opts.stdin, opts.stdout, opts.stderr];
    for (let i = 0; i < 3; i++) {
      const f = stdio[i]!;
      // stdin is read, stdout and stderr written: a host fd 1 opened read-write (`1<>file`)
      // must not let the guest read the host's file.
      const e = new FdEntry(f.filetype, STDIO_RIGHTS & ~(i === 0 ? Rights.FD_WRITE : Rights.FD_READ), 0, 0);
      e.file = f;
      this.fds.set(i, e);
    }
    const preopens = opts.preopens ?? opts.mounts.map((m) => {
      const p = normalizeMountPath(m.guestPath);
      return { name: p, guestPath: p };
    });
    this.cwd = preopens.find((p) => p.name === '.')?.guestPath;
    const mark = vfs.enter();
    try {
      for (const p of preopens) {
        const node = vfs.lookupCanonical(p.guestPath, mark);
        if (typeof node === 'number') throw new Error(`cannot preopen ${p.guestPath} (errno ${-node})`);
        const own = vfs.reopen(node);
        if (typeof own === 'number') throw new Error(`cannot preopen ${p.guestPath} (errno ${-own})`);
        // Full rights on a read-only mount too: changes there fail with ROFS, as on Linux.
        const e = new FdEntry(Filetype.DIRECTORY, DIR_RIGHTS, ALL_RIGHTS, 0);
        e.dir = own;
        e.preopen = p.name;
        this.fds.add(e);
      }
    } finally {
      vfs.leave(mark);
    }
  }

  /** Releases every fd and cached directory. */
  close(): void {
    this.fds.closeAll();
    this.vfs.close();
  }

  args(): readonly string[] { return this.argv; }
  environ(): readonly string[] { return this.envv; }
  clockResGet(id: number): number { return clockResGet(id); }
  clockTimeGet(id: number, precision: number): number { return clockTimeGet(id, precision); }

  /** The entry for fd if it has `right`: else -BADF or -NOTCAPABLE. */
  private file(fd: number, right: number): FdEntry | number {
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.BADF;
    if ((e.rightsBase & right) !== right) return -Errno.NOTCAPABLE;
    return e;
  }

  fdAdvise(fd: number, _offset: number, _len: number, advice: number): number {
    const e = this.file(fd, Rights.FD_ADVISE);
    if (typeof e === 'number') return -e;
    if (advice > 5) return Errno.INVAL;
    if (e.dir !== null) return Errno.BADF;
    return 0;
  }

  fdAllocate(fd: number, offset: number, len: number): number {
    const e = this.file(fd, Rights.FD_ALLOCATE);
    if (typeof e === 'number') return -e;
    if (e.file === null) return Errno.BADF;
    if (len === 0) return Errno.INVAL;
    return e.file.allocate(offset, len);
  }

  fdClose(fd: number): number {
    const e = this.fds.remove(fd);
    if (e === undefined) return Errno.BADF;
    e.close();
    return 0;
  }

  fdDatasync(fd: number): number {
    const e = this.file(fd, Rights.FD_DATASYNC);
    if (typeof e === 'number') return -e;
    return e.file !== null ? e.file.datasync() : e.dir!.dir.sync();
  }

  fdFdstatGet(fd: number, out: Fdstat): number {
    const e = this.fds.get(fd);
    if (e === undefined) return Errno.BADF;
    out.filetype = e.filetype;
    out.flags = e.flags;
    out.rightsBase = e.rightsBase;
    out.rightsInheriting = e.rightsInheriting;
    return 0;
  }

  fdFdstatSetFlags(fd: number, flags: number): number {
    const e = this.file(fd, Rights.FD_FDSTAT_SET_FLAGS);
    if (typeof e === 'number') return -e;
    if (flags & ~(FdFlags.APPEND | FdFlags.DSYNC | FdFlags.NONBLOCK | FdFlags.RSYNC | FdFlags.SYNC)) return Errno.INVAL;
    // Only APPEND and NONBLOCK change behaviour here; the sync flags are accepted and kept.
    e.flags = flags;
    return 0;
  }

  fdFdstatSetRights(fd: number, base: number, inheriting: number): number {
    const e = this.fds.get(fd);
    if (e === undefined) return Errno.BADF;
    // Rights can only be dropped, never gained.
    if ((base & ~e.rightsBase) !== 0 || (inheriting & ~e.rightsInheriting) !== 0) return Errno.NOTCAPABLE;
    e.rightsBase = base;
    e.rightsInheriting = inheriting;
    return 0;
  }

  fdFilestatGet(fd: number, out: Filestat): number {
    const e = this.file(fd, Rights.FD_FILESTAT_GET);
    if (typeof e === 'number') return -e;
    return e.file !== null ? e.file.stat(out) : e.dir!.dir.stat(out);
  }

  fdFilestatSetSize(fd: number, size: number): number {
    const e = this.file(fd, Rights.FD_FILESTAT_SET_SIZE);
    if (typeof e === 'number') return -e;
    if (e.file === null) return Errno.ISDIR;
    if (size > Number.MAX_SAFE_INTEGER) return Errno.FBIG;
    return e.file.truncate(size);
  }

  fdFilestatSetTimes(fd: number, atim: bigint, mtim: bigint, fstflags: number): number {
    const e = this.file(fd, Rights.FD_FILESTAT_SET_TIMES);
    if (typeof e === 'number') return -e;
    if (!validFstflags(fstflags)) return Errno.INVAL;
    if (e.file !== null) return e.file.utimes(atim, mtim, fstflags);
    return e.dir!.dir.utimes('.', atim, mtim, fstflags);
  }

  fdPread(fd: number, iovs: Uint8Array[], offset: number): number {
    const e = this.file(fd, Rights.FD_READ | Rights.FD_SEEK);
    if (typeof e === 'number') return e;
    if (e.file === null) return -Errno.ISDIR;
    if (e.filetype !== Filetype.REGULAR_FILE) return -Errno.SPIPE;
    return readv(e, iovs, offset);
  }

  fdPrestatGet(fd: number, out: Out<string>): number {
    const e = this.fds.get(fd);
    if (e === undefined || e.preopen === null) return Errno.BADF;
    out.value = e.preopen;
    return 0;
  }

  fdPwrite(fd: number, iovs: Uint8Array[], offset: number): number {
    const e = this.file(fd, Rights.FD_WRITE | Rights.FD_SEEK);
    if (typeof e === 'number') return e;
    if (e.file === null) return -Errno.ISDIR;
    if (e.filetype !== Filetype.REGULAR_FILE) return -Errno.SPIPE;
    // pwrite on an O_APPEND fd appends on Linux; WASI (and wasmtime) write at the offset.
    return writev(e, iovs, offset, false);
  }

  fdRead(fd: number, iovs: Uint8Array[]): number {
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.BADF;
    if (e.file === null) return -Errno.BADF; // a directory, as wasmtime answers
    if ((e.rightsBase & Rights.FD_READ) === 0) return -Errno.NOTCAPABLE;
    let pos = e.pos;
    if (pos < 0) {
      pos = this.endOf(e);
      if (pos < 0) return pos;
    }
    const n = readv(e, iovs, pos);
    if (n > 0) e.pos = pos + n;
    return n;
  }

  /** The size of the file behind `e` (its end), or -errno. */
  private endOf(e: FdEntry): number {
    const err = e.file!.stat(this.scratchStat);
    return err === 0 ? Number(this.scratchStat.size) : -err;
  }

  fdReaddir(fd: number, cookie: number, _bufLen: number, out: Out<readonly Dirent[]>): number {
    const e = this.file(fd, Rights.FD_READDIR);
    if (typeof e === 'number') return -e;
    if (e.dir === null) return Errno.NOTDIR;
    if (cookie === 0 || e.listing === null) {
      const list = this.listDirectory(e);
      if (typeof list === 'number') return -list;
      e.listing = list;
    }
    out.value = cookie === 0 ? e.listing : e.listing.slice(cookie);
    return 0;
  }

  fdRenumber(from: number, to: number): number {
    const src = this.fds.get(from);
    const dst = this.fds.get(to);
    if (src === undefined || dst === undefined) return Errno.BADF;
    if (from === to) return 0;
    dst.close();
    this.fds.remove(from);
    this.fds.set(to, src);
    return 0;
  }

  fdSeek(fd: number, offset: number, whence: number): number {
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.BADF;
    const right = whence === Whence.CUR && offset === 0 ? Rights.FD_TELL : Rights.FD_SEEK;
    if ((e.rightsBase & right) === 0) return -Errno.NOTCAPABLE;
    if (e.file === null) return -Errno.ISDIR;
    if (e.filetype !== Filetype.REGULAR_FILE) return -Errno.SPIPE;
    let base: number;
    if (whence === Whence.SET) base = 0;
    else if (whence === Whence.CUR) base = e.pos >= 0 ? e.pos : this.endOf(e);
    else if (whence === Whence.END) base = this.endOf(e);
    else return -Errno.INVAL;
    if (base < 0) return base;
    const pos = base + offset;
    if (pos < 0 || !Number.isSafeInteger(pos)) return -Errno.INVAL;
    e.pos = pos;
    return pos;
  }

  fdSync(fd: number): number {
    const e = this.file(fd, Rights.FD_SYNC);
    if (typeof e === 'number') return -e;
    return e.file !== null ? e.file.sync() : e.dir!.dir.sync();
  }

  fdTell(fd: number): number {
    const e = this.file(fd, Rights.FD_TELL);
    if (typeof e === 'number') return e;
    if (e.file === null) return -Errno.ISDIR;
    if (e.filetype !== Filetype.REGULAR_FILE) return -Errno.SPIPE;
    if (e.pos < 0) e.pos = this.endOf(e);
    return e.pos;
  }

  fdWrite(fd: number, iovs: Uint8Array[]): number {
    const e = this.fds.get(fd);
    if (e === undefined) return -Errno.BADF;
    if (e.file === null) return -Errno.BADF; // a directory, as wasmtime answers
    if ((e.rightsBase & Rights.FD_WRITE) === 0) return -Errno.NOTCAPABLE;
    if (e.flags & FdFlags.APPEND) {
      const n = writev(e, iovs, 0, true);
      if (n >= 0) e.pos = -1;
      return n;
    }
    let pos = e.pos;
    if (pos < 0) {
      pos = this.endOf(e);
      if (pos < 0) return pos;
    }
    const n = writev(e, iovs, pos, false);
    if (n > 0) e.pos = pos + n;
    return n;
  }

  pollOneoff(subscriptions: readonly Subscription[], events: Event[]): number {
    return pollOneoff(this.fds, subscriptions, events);
  }

  procExit(code: number): never {
    throw new ProcExit(code);
  }

  procRaise(_signal: number): number {
    return Errno.NOSYS;
  }

  randomGet(buf: Uint8Array): number {
    randomFillSync(buf);
    return 0;
  }

  schedYield(): number {
    return 0;
  }

  /** Gives this sandbox the `wtm` task calls (a guest without them gets NOSYS). */
  setTaskHost(host: TaskHost): void {
    this.taskHost = host;
  }
  taskSubmit(spec: string): number {
    return this.taskHost ? this.taskHost.taskSubmit(spec) : -Errno.NOSYS;
  }
  taskWait(id: number, bufLen: number, out: Out<string>): number {
    return this.taskHost ? this.taskHost.taskWait(id, bufLen, out) : Errno.NOSYS;
  }
  taskPoll(bufLen: number, out: Out<string>): number {
    return this.taskHost ? this.taskHost.taskPoll(bufLen, out) : Errno.NOSYS;
  }
  taskCancel(id: number): number {
    return this.taskHost ? this.taskHost.taskCancel(id) : Errno.NOSYS;
  }

  sockAccept(fd: number): number {
    return this.fds.get(fd) === undefined ? -Errno.BADF : -Errno.NOTSOCK;
  }
  sockRecv(fd: number): number {
    return this.fds.get(fd) === undefined ? -Errno.BADF : -Errno.NOTSOCK;
  }
  sockSend(fd: number): number {
    return this.fds.get(fd) === undefined ? -Errno.BADF : -Errno.NOTSOCK;
  }
  sockShutdown(fd: number): number {
    return this.fds.get(fd) === undefined ? Errno.BADF : Errno.NOTSOCK;
  }
}

function readv(e: FdEntry, iovs: Uint8Array[], pos: number): number {
  const f = e.file!;
  if (iovs.length === 1) return f.pread(iovs[0]!, pos);
  let total = 0;
  for (const buf of iovs) {
    if (buf.byteLength === 0) continue;
    const n = f.pread(buf, pos + total);
    if (n < 0) return total > 0 ? total : n;
    total += n;
    if (n < buf.byteLength) break;
  }
  return total;
}

function writev(e: FdEntry, iovs: Uint8Array[], pos: number, append: boolean): number {
  const f = e.file!;
  if (iovs.length === 1) return f.pwrite(iovs[0]!, pos, append);
  let total = 0;
  for (const buf of iovs) {
    if (buf.byteLength === 0) continue;
    const n = f.pwrite(buf, pos + total, append);
    if (n < 0) return total > 0 ? total : n;
    total += n;
    if (n < buf.byteLength) break;
  }
  return total;
}
