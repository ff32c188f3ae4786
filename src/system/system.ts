import type { Dirent, Event, Fdstat, Filestat, Out, Subscription } from './types.js';

/**
 * Everything a guest can do to the outside world, as typed calls: one method per
 * wasi_snapshot_preview1 function, with no pointers and no guest memory. The ABI layer decodes
 * guest memory and calls this; recording, replay, tracing and fault injection wrap it.
 *
 * Return conventions (chosen so the hot path allocates nothing):
 * - methods named for a count, fd or offset return it as a number >= 0, or `-errno` on error;
 * - every other method returns an errno (0 = SUCCESS) and writes structured results into the
 *   out object the caller passes (the caller owns and reuses it);
 * - byte buffers (`Uint8Array[]`) are views of guest memory that the call reads or fills.
 *
 * Errors are WASI errnos with their POSIX meaning: BADF for a closed or wrong fd, NOTCAPABLE
 * when the fd lacks the right, NOENT/NOTDIR/EXIST/ISDIR/NOTEMPTY/LOOP for path lookups,
 * ROFS on read-only mounts, XDEV across mounts, NOSYS/NOTSUP for what the sandbox lacks.
 */
export interface System {
  /** The guest's argv (argv[0] first). */
  args(): readonly string[];
  /** The guest's environment, as `KEY=value` strings. */
  environ(): readonly string[];

  /** clock_res_get: resolution in ns, or -errno (INVAL for an unknown clock). */
  clockResGet(id: number): number;
  /** clock_time_get: time in ns, or -errno. */
  clockTimeGet(id: number, precision: number): number;

  fdAdvise(fd: number, offset: number, len: number, advice: number): number;
  fdAllocate(fd: number, offset: number, len: number): number;
  fdClose(fd: number): number;
  fdDatasync(fd: number): number;
  fdFdstatGet(fd: number, out: Fdstat): number;
  fdFdstatSetFlags(fd: number, flags: number): number;
  fdFdstatSetRights(fd: number, rightsBase: number, rightsInheriting: number): number;
  fdFilestatGet(fd: number, out: Filestat): number;
  fdFilestatSetSize(fd: number, size: number): number;
  fdFilestatSetTimes(fd: number, atim: bigint, mtim: bigint, fstflags: number): number;
  /** pread: bytes read, or -errno. */
  fdPread(fd: number, iovs: Uint8Array[], offset: number): number;
  /** fd_prestat_get and fd_prestat_dir_name in one: the preopen's guest name. */
  fdPrestatGet(fd: number, out: Out<string>): number;
  /** pwrite: bytes written, or -errno. */
  fdPwrite(fd: number, iovs: Uint8Array[], offset: number): number;
  /** read: bytes read, or -errno. */
  fdRead(fd: number, iovs: Uint8Array[]): number;
  /**
   * readdir: the directory's entries from `cookie` on (cookie 0 = start, including `.` and
   * `..`): `out.value[0]` is the entry at position `cookie`. The ABI encodes as many as fit in
   * `bufLen` bytes (24-byte header + name each); a System may return more. Errno or 0.
   */
  fdReaddir(fd: number, cookie: number, bufLen: number, out: Out<readonly Dirent[]>): number;
  fdRenumber(from: number, to: number): number;
  /** seek: the new offset, or -errno. */
  fdSeek(fd: number, offset: number, whence: number): number;
  fdSync(fd: number): number;
  /** tell: the offset, or -errno. */
  fdTell(fd: number): number;
  /** write: bytes written, or -errno. */
  fdWrite(fd: number, iovs: Uint8Array[]): number;

  pathCreateDirectory(fd: number, path: string): number;
  pathFilestatGet(fd: number, lookupFlags: number, path: string, out: Filestat): number;
  pathFilestatSetTimes(fd: number, lookupFlags: number, path: string, atim: bigint, mtim: bigint, fstflags: number): number;
  pathLink(oldFd: number, oldLookupFlags: number, oldPath: string, newFd: number, newPath: string): number;
  /** path_open: the new fd, or -errno. */
  pathOpen(fd: number, lookupFlags: number, path: string, oflags: number, rightsBase: number, rightsInheriting: number, fdflags: number): number;
  pathReadlink(fd: number, path: string, out: Out<string>): number;
  pathRemoveDirectory(fd: number, path: string): number;
  pathRename(fd: number, oldPath: string, newFd: number, newPath: string): number;
  pathSymlink(target: string, fd: number, path: string): number;
  pathUnlinkFile(fd: number, path: string): number;

  /** poll_oneoff: fills `events` (cleared first) and returns how many, or -errno. Blocks. */
  pollOneoff(subscriptions: readonly Subscription[], events: Event[]): number;
  /** proc_exit: ends the process; never returns (throws ProcExit). */
  procExit(code: number): never;
  procRaise(signal: number): number;
  /** random_get: fills the buffer. */
  randomGet(buf: Uint8Array): number;
  schedYield(): number;

  /** sock_accept: the new fd, or -errno. */
  sockAccept(fd: number, flags: number): number;
  /** sock_recv: bytes received, or -errno; `out.value` gets the roflags. */
  sockRecv(fd: number, iovs: Uint8Array[], riFlags: number, out: Out<number>): number;
  /** sock_send: bytes sent, or -errno. */
  sockSend(fd: number, iovs: Uint8Array[], siFlags: number): number;
  sockShutdown(fd: number, how: number): number;
}

/** Thrown by procExit and caught by the runtime around `_start`. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}
