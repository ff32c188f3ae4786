import { Errno } from './errno.js';
import type { System } from './system.js';
import type { TaskHost } from './tasks.js';
import { Clockid, FdFlags, Filetype, type Fdstat, type Out } from './types.js';

/** `--chaos SEED[:RATE]`: which faults, how often. */
export interface ChaosOptions {
  /** Any integer 0 .. 2^53-1: the only source of the choices. */
  seed: number;
  /** The chance (0 < rate <= 1) that a call which can fail is made to fail or come back short. Default 0.1. */
  rate?: number;
}

export const DEFAULT_CHAOS_RATE = 0.1;

/** The faults injected, by name (describe, docs/chaos.md). */
export type FaultKind = 'short' | 'intr' | 'again' | 'io' | 'nospc' | 'clock';

/**
 * Parses `SEED[:RATE]` (the CLI's `--chaos`): throws one readable line on bad input.
 */
export function parseChaos(text: string): ChaosOptions {
  const m = /^(\d{1,16})(?::(\d*\.?\d+(?:e-?\d+)?%?))?$/i.exec(text.trim());
  if (!m) throw new Error(`--chaos ${text}: expected SEED[:RATE], SEED a whole number (e.g. 42) and RATE a fraction of calls between 0 and 1 (e.g. 42:0.05 or 42:5%)`);
  const seed = Number(m[1]);
  if (!Number.isSafeInteger(seed)) throw new Error(`--chaos ${text}: SEED must be below 2^53`);
  if (m[2] === undefined) return { seed };
  const rate = m[2].endsWith('%') ? Number(m[2].slice(0, -1)) / 100 : Number(m[2]);
  if (!(rate > 0 && rate <= 1)) throw new Error(`--chaos ${text}: RATE must be above 0 and at most 1 (or 100%)`);
  return { seed, rate };
}

/** murmur3's finalizer: a good 32-bit mix. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A System that makes calls fail, or come back short, as a real system can, and otherwise
 * passes them to the System it wraps. It sits under the Recorder, so what it injects is
 * recorded like any result (and marked: see `injected`), and `wtm replay` hands the same
 * results back without it.
 *
 * Every choice is a hash of (seed, call number, salt): two runs with the same seed make the
 * same choices at the same calls, whatever the host, the timing or the thread. Faults are only
 * those the call can really give for that fd:
 *   - fd_read, fd_pread, sock_recv: a short read (at least 1 byte), EIO; on pipes, terminals
 *     and sockets (not regular files, whose reads Linux never interrupts) EINTR, and EAGAIN
 *     when the fd is non-blocking;
 *   - fd_write, fd_pwrite, sock_send: a short write (at least 1 byte actually written), EIO;
 *     ENOSPC on regular files; EINTR and EAGAIN as for reads;
 *   - fd_sync, fd_datasync: EIO; fd_allocate: ENOSPC; poll_oneoff: EINTR;
 *   - clock_time_get (realtime, monotonic): the clock jumps forward (1 ms to 5 s), and stays
 *     ahead by that much (a monotonic clock never goes back).
 * Never: args, environ, proc_exit, random_get, close, path calls, task calls.
 */
export class ChaosSystem {
  /** True when the call that just returned had its result injected (read and cleared by the recorder). */
  injected = false;
  /** The kind of the last injected fault, and counts by kind. */
  lastFault: FaultKind | null = null;
  readonly counts: Record<FaultKind, number> = { short: 0, intr: 0, again: 0, io: 0, nospc: 0, clock: 0 };
  private readonly rate: number;
  private readonly lo: number;
  private readonly hi: number;
  /** Calls made so far (every call counts, so choices follow the call sequence). */
  private n = 0;
  /** How far the clocks have jumped, in ns. */
  private jump = 0;
  private readonly stat: Fdstat = { filetype: 0, flags: 0, rightsBase: 0, rightsInheriting: 0 };

  constructor(readonly inner: System & TaskHost, options: ChaosOptions) {
    this.rate = options.rate ?? DEFAULT_CHAOS_RATE;
    this.lo = options.seed % 2 ** 32 >>> 0;
    this.hi = Math.floor(options.seed / 2 ** 32) >>> 0;
  }

  /** A number in [0, 1) for this call and `salt`. */
  private draw(salt: number): number {
    const h = fmix(fmix(this.lo ^ Math.imul(this.n, 0x9e3779b1)) ^ fmix(this.hi + salt * 0x632be5ab));
    return h / 2 ** 32;
  }

  /** Counts the call; true when this one is to be faulted. */
  private roll(): boolean {
    this.n++;
    return this.draw(1) < this.rate;
  }

  private mark(kind: FaultKind): void {
    this.injected = true;
    this.lastFault = kind;
    this.counts[kind]++;
  }

  /** The kinds a read or write of `fd` can give; empty when fd is not open (the real error comes). */
  private choose(fd: number, bytes: number, write: boolean): FaultKind | null {
    if (this.inner.fdFdstatGet(fd, this.stat) !== 0) return null;
    const regular = this.stat.filetype === Filetype.REGULAR_FILE;
    const kinds: FaultKind[] = ['io'];
    if (bytes >= 2) kinds.push('short', 'short');
    if (!regular) kinds.push('intr');
    if (!regular && (this.stat.flags & FdFlags.NONBLOCK) !== 0) kinds.push('again');
    if (write && regular) kinds.push('nospc');
    return kinds[Math.floor(this.draw(2) * kinds.length)]!;
  }

  /** A read or write: faulted, or passed on. `call` does the real call with (possibly shortened) buffers. */
  private io(fd: number, iovs: Uint8Array[], write: boolean, call: (iovs: Uint8Array[]) => number): number {
    if (!this.roll()) return call(iovs);
    let total = 0;
    for (const b of iovs) total += b.byteLength;
    const kind = this.choose(fd, total, write);
    if (kind === null) return call(iovs);
    if (kind !== 'short') {
      this.mark(kind);
      return -errnoOf(kind);
    }
    // At least 1 byte, at most all but one: the real call moves exactly that many.
    const keep = 1 + Math.floor(this.draw(3) * (total - 1));
    const ret = call(cut(iovs, keep));
    if (ret >= 0 && ret < total) this.mark('short');
    return ret;
  }

  fdRead(fd: number, iovs: Uint8Array[]): number {
    return this.io(fd, iovs, false, (v) => this.inner.fdRead(fd, v));
  }
  fdPread(fd: number, iovs: Uint8Array[], offset: number): number {
    return this.io(fd, iovs, false, (v) => this.inner.fdPread(fd, v, offset));
  }
  sockRecv(fd: number, iovs: Uint8Array[], riFlags: number, out: Out<number>): number {
    return this.io(fd, iovs, false, (v) => this.inner.sockRecv(fd, v, riFlags, out));
  }
  fdWrite(fd: number, iovs: Uint8Array[]): number {
    return this.io(fd, iovs, true, (v) => this.inner.fdWrite(fd, v));
  }
  fdPwrite(fd: number, iovs: Uint8Array[], offset: number): number {
    return this.io(fd, iovs, true, (v) => this.inner.fdPwrite(fd, v, offset));
  }
  sockSend(fd: number, iovs: Uint8Array[], siFlags: number): number {
    return this.io(fd, iovs, true, (v) => this.inner.sockSend(fd, v, siFlags));
  }

  private fail(kind: FaultKind, fd: number, call: () => number): number {
    // Only an fd that is open can fail this way.
    if (!this.roll() || this.inner.fdFdstatGet(fd, this.stat) !== 0) return call();
    this.mark(kind);
    return errnoOf(kind);
  }
  fdSync(fd: number): number {
    return this.fail('io', fd, () => this.inner.fdSync(fd));
  }
  fdDatasync(fd: number): number {
    return this.fail('io', fd, () => this.inner.fdDatasync(fd));
  }
  fdAllocate(fd: number, offset: number, len: number): number {
    return this.fail('nospc', fd, () => this.inner.fdAllocate(fd, offset, len));
  }
  pollOneoff(subscriptions: Parameters<System['pollOneoff']>[0], events: Parameters<System['pollOneoff']>[1]): number {
    if (subscriptions.length === 0 || !this.roll()) return this.inner.pollOneoff(subscriptions, events);
    events.length = 0;
    this.mark('intr');
    return -Errno.INTR;
  }

  clockTimeGet(id: number, precision: number): number {
    const t = this.inner.clockTimeGet(id, precision);
    const jumps = id === Clockid.REALTIME || id === Clockid.MONOTONIC;
    if (!this.roll() || !jumps || t < 0) return jumps && t >= 0 ? t + this.jump : t;
    this.jump += 1e6 + Math.floor(this.draw(4) * 5e9);
    this.mark('clock');
    return t + this.jump;
  }
}

function errnoOf(kind: FaultKind): number {
  switch (kind) {
    case 'intr': return Errno.INTR;
    case 'again': return Errno.AGAIN;
    case 'nospc': return Errno.NOSPC;
    default: return Errno.IO;
  }
}

/** The first `n` bytes of `iovs` as views. */
function cut(iovs: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of iovs) {
    if (n <= 0) break;
    out.push(b.byteLength <= n ? b : b.subarray(0, n));
    n -= b.byteLength;
  }
  return out;
}

// Every other call is passed on unchanged, counted so that choices follow the call sequence.
const PASSED: readonly (keyof System | keyof TaskHost)[] = [
  'args', 'environ', 'clockResGet', 'fdAdvise', 'fdClose', 'fdFdstatGet', 'fdFdstatSetFlags',
  'fdFdstatSetRights', 'fdFilestatGet', 'fdFilestatSetSize', 'fdFilestatSetTimes', 'fdPrestatGet', 'fdReaddir',
  'fdRenumber', 'fdSeek', 'fdTell', 'pathCreateDirectory', 'pathFilestatGet', 'pathFilestatSetTimes',
  'pathLink', 'pathOpen', 'pathReadlink', 'pathRemoveDirectory', 'pathRename', 'pathSymlink', 'pathUnlinkFile',
  'procExit', 'procRaise', 'randomGet', 'schedYield', 'sockAccept', 'sockShutdown',
  'taskSubmit', 'taskWait', 'taskPoll', 'taskCancel',
];
for (const name of PASSED) {
  (ChaosSystem.prototype as unknown as Record<string, unknown>)[name] = function (this: ChaosSystem, ...args: unknown[]): unknown {
    (this as unknown as { n: number }).n++;
    return (this.inner as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
  };
}

export interface ChaosSystem extends System, TaskHost {}
