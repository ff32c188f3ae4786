import fs from 'node:fs';

/**
 * Which host fds a worker holds, in a bitmap shared with its starter.
 *
 * A worker that must be stopped (timeout, cancel, a parent that ended) is terminated in the
 * middle of its guest: its sandbox never closes the fds it opened (directories on the way,
 * open files), and fds belong to the whole OS process, so each stopped task would leak them.
 * The worker therefore marks every fd `fs.openSync` gives it and unmarks it before
 * `fs.closeSync`; once the worker has stopped, the starter closes what is still marked.
 *
 * Why this never closes a number that names something else: a bit is set only after the open
 * succeeded and cleared before the close, so a marked fd is always open and owned by that
 * worker; the starter reads the bitmap only after the worker thread has stopped (terminate()
 * resolved), so nothing changes under it. A worker stopped between an open and its mark, or
 * between an unmark and its close, leaks that one fd (never a wrong close). Handles a worker
 * hands on (shareDir) stay marked until the starter claims them (claimFd).
 * Only hostfs opens fds in a worker (src/fs), and it does so through `fs.openSync`.
 */
export const LEDGER_FDS = 1 << 16;

export function newLedger(): SharedArrayBuffer {
  return new SharedArrayBuffer(LEDGER_FDS / 8);
}

/**
 * The host fds all workers of this OS process may hold together: [count, limit]. Every guest
 * has its own limit (--max-fds, 1024 by default), but many guests at once could still use up
 * the process's RLIMIT_NOFILE, and then wtm's own writes (the registry, a log) fail. So the
 * workers share one budget, the soft limit less a reserve for wtm itself; past it an open in a
 * worker fails with ENFILE ("too many open files in system": NFILE for the guest), and the
 * host keeps its fds.
 */
let budget: Int32Array | null = null;

/** The starter's budget (made on first use); passed to each worker. */
export function hostFdBudget(): SharedArrayBuffer {
  if (budget === null) {
    budget = new Int32Array(new SharedArrayBuffer(8));
    Atomics.store(budget, 1, guestFdLimit(openFileLimit()));
  }
  return budget.buffer as SharedArrayBuffer;
}

/** Fds the guests may hold together out of a soft limit: all but a reserve for wtm (1/8, at least 256). */
export function guestFdLimit(soft: number): number {
  return Math.max(64, soft - Math.max(256, Math.floor(soft / 8)));
}

/** This process's soft RLIMIT_NOFILE (Linux: /proc/self/limits), or a cautious 1024. */
function openFileLimit(): number {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === 'unlimited') return 1 << 20;
    const n = Number(soft);
    if (Number.isSafeInteger(n) && n > 0) return n;
  } catch {
    // not Linux
  }
  return 1024;
}

/** An fd a worker held has left it (claimed or closed by the starter): one more for the budget. */
function released(): void {
  if (budget !== null) Atomics.sub(budget, 0, 1);
}

let ledger: Int32Array | null = null;

/** In a worker, once: from now on fs.openSync/closeSync keep the ledger (and the shared budget). */
export function trackFds(buffer: SharedArrayBuffer, budgetBuffer?: SharedArrayBuffer): void {
  if (ledger !== null) return;
  ledger = new Int32Array(buffer);
  const open = fs.openSync;
  const close = fs.closeSync;
  const bits = ledger;
  const shared = budgetBuffer ? new Int32Array(budgetBuffer) : null;
  // The mark is written inline, with no JS call between the open's return and it: V8 checks
  // for termination at function entries and loop back-edges, so a call there would be a
  // window in which a stopped worker loses an fd it opened.
  fs.openSync = function openSync(...args: Parameters<typeof fs.openSync>): number {
    if (shared !== null && Atomics.add(shared, 0, 1) >= Atomics.load(shared, 1)) {
      Atomics.sub(shared, 0, 1);
      throw Object.assign(new Error('ENFILE: too many open files in system (wtm: the guests hold all the host fds they may share)'), { code: 'ENFILE', errno: -23, syscall: 'open' });
    }
    let fd: number;
    try {
      fd = open.apply(fs, args);
    } catch (e) {
      if (shared !== null) Atomics.sub(shared, 0, 1);
      throw e;
    }
    if (fd >= 0 && fd < LEDGER_FDS) Atomics.or(bits, fd >>> 5, 1 << (fd & 31));
    return fd;
  } as typeof fs.openSync;
  fs.closeSync = function closeSync(fd: number): void {
    // Unmarked first: a marked fd must always be open (a stop between the two leaks it, never
    // lets the starter close a number that was reused).
    const held = fd >= 0 && fd < LEDGER_FDS && (Atomics.and(bits, fd >>> 5, ~(1 << (fd & 31))) & (1 << (fd & 31))) !== 0;
    close.call(fs, fd);
    if (held && shared !== null) Atomics.sub(shared, 0, 1);
  };
}

/**
 * In the starter, when a worker's message hands it a handle: takes the fd out of that worker's
 * ledger, so it is the receiver's from now on. False when it was no longer marked (the ledger
 * was already cleaned up, which closed it): then it must not be used, nor closed again.
 *
 * Why the receiver, not the sender, unmarks: a sender stopped between unmarking and posting
 * would leak the fd, and one stopped between posting and unmarking would leave it marked, to
 * be closed by the cleanup after the receiver may have closed it and its number been reused.
 * The starter handles messages and cleans up on one thread, and stops listening to a worker
 * in the same turn as its cleanup, so each handle is either claimed or closed, once.
 */
export function claimFd(buffer: SharedArrayBuffer, fd: number): boolean {
  if (fd < 0 || fd >= LEDGER_FDS) return true; // never marked: the sender did not track it
  const bit = 1 << (fd & 31);
  const claimed = (Atomics.and(new Int32Array(buffer), fd >>> 5, ~bit) & bit) !== 0;
  if (claimed) released();
  return claimed;
}

/** In the starter, after the worker has stopped: closes the fds it left open; how many. */
export function closeLeftFds(buffer: SharedArrayBuffer): number {
  const bits = new Int32Array(buffer);
  let closed = 0;
  for (let w = 0; w < bits.length; w++) {
    let word = Atomics.exchange(bits, w, 0);
    while (word !== 0) {
      const b = 31 - Math.clz32(word);
      word &= ~(1 << b);
      released();
      try {
        fs.closeSync(w * 32 + b);
        closed++;
      } catch {
        // already closed
      }
    }
  }
  return closed;
}
