import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Errno, errnoFromHostError, FstFlags } from '../system/index.js';

/**
 * Sets access/modification times on the host with nanosecond precision.
 *
 * Node's utimes takes seconds as a double and libuv rounds to microseconds, and it cannot
 * leave one of the two times untouched. WASI asks for exact nanoseconds and for "omit". So:
 * when both times are set and both are whole microseconds, Node's call is exact and used;
 * otherwise `touch -d @S.N` (coreutils, utimensat underneath, with UTIME_OMIT for the time not
 * named) does it. That costs a process start, which is acceptable for a rare call; see
 * docs/RATIONALE.md.
 *
 * `path` names the entry (for an open file, PROC_FD + N; where that is `/proc/self/fd/N`,
 * `touch` must see it as `/proc/PID/fd/N`); `follow` says whether a final symlink is followed.
 */
export function setHostTimes(path: string, follow: boolean, atim: bigint, mtim: bigint, fstflags: number, fd?: number): number {
  const setA = (fstflags & (FstFlags.ATIM | FstFlags.ATIM_NOW)) !== 0;
  const setM = (fstflags & (FstFlags.MTIM | FstFlags.MTIM_NOW)) !== 0;
  if (!setA && !setM) {
    // Nothing to change, but the entry must exist.
    try {
      if (fd !== undefined) fs.fstatSync(fd);
      else fs.lstatSync(path);
      return 0;
    } catch (e) {
      return errnoFromHostError(e);
    }
  }
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const a = fstflags & FstFlags.ATIM_NOW ? nowNs : atim;
  const m = fstflags & FstFlags.MTIM_NOW ? nowNs : mtim;
  const exactInMicros = (!setA || a % 1000n === 0n) && (!setM || m % 1000n === 0n);
  if (setA && setM && exactInMicros) {
    try {
      // Seconds as a double are only good to ~0.24 µs at today's dates, and libuv truncates
      // to whole µs: aim at the middle of the microsecond so the truncation lands on it.
      const as = (Number(a / 1000n) + 0.5) / 1e6;
      const ms = (Number(m / 1000n) + 0.5) / 1e6;
      if (fd !== undefined) fs.futimesSync(fd, as, ms);
      else if (follow) fs.utimesSync(path, as, ms);
      else fs.lutimesSync(path, as, ms);
      return 0;
    } catch (e) {
      return errnoFromHostError(e);
    }
  }
  // `touch -c` quietly does nothing for a missing file: check it exists first.
  try {
    if (fd !== undefined) fs.fstatSync(fd);
    else fs.lstatSync(path);
  } catch (e) {
    return errnoFromHostError(e);
  }
  const target = path.startsWith('/proc/self/') ? `/proc/${process.pid}/` + path.slice('/proc/self/'.length) : path;
  if (target === '') return Errno.NOTSUP;
  const results: number[] = [];
  if (setA) results.push(touch(target, follow, '-a', a));
  if (setM) results.push(touch(target, follow, '-m', m));
  return results.find((r) => r !== 0) ?? 0;
}

function touch(path: string, follow: boolean, which: '-a' | '-m', ns: bigint): number {
  const sec = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  const args = ['-c', which, '-d', `@${sec}.${frac}`];
  if (!follow) args.push('-h');
  args.push('--', path);
  const r = spawnSync('touch', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) return 0;
  const msg = r.stderr ?? '';
  if (/No such file/.test(msg)) return Errno.NOENT;
  if (/Permission denied/.test(msg)) return Errno.ACCES;
  if (/Read-only file system/.test(msg)) return Errno.ROFS;
  if (/Operation not permitted/.test(msg)) return Errno.PERM;
  return Errno.IO;
}
