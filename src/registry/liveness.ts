import fs from 'node:fs';
import os from 'node:os';

/**
 * Who runs a process: the OS process of wtm that records it. A record in state `running`
 * whose owner is gone (killed, crashed, the machine rebooted) was interrupted: it is shown as
 * `interrupted`, never `running` forever.
 *
 * A pid alone is not enough (pids are reused): on Linux the owner's start time (field 22 of
 * /proc/PID/stat, clock ticks since boot) and the boot id are kept too, so a new process that
 * got the same pid, or the same pid after a reboot, is not mistaken for the owner.
 */
export interface Owner {
  pid: number;
  host: string;
  /** "BOOT_ID:START_TICKS" on Linux; absent elsewhere. */
  pidStart?: string;
}

let self: Owner | undefined;

/** This OS process as an owner (computed once). */
export function currentOwner(): Owner {
  if (self === undefined) {
    const start = startOf(process.pid);
    self = { pid: process.pid, host: os.hostname(), ...(start ? { pidStart: start } : {}) };
  }
  return self;
}

function bootId(): string | null {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** "BOOT_ID:START_TICKS" of a live pid, or null (not Linux, or no such process). */
function startOf(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null; // a zombie: dead, not yet reaped
  const ticks = fields[19]; // field 22 overall
  const boot = bootId();
  return ticks && boot ? `${boot}:${ticks}` : null;
}

/**
 * Is the owner still running? false: certainly gone. null: cannot tell (another machine
 * shares the registry). A pid that exists but started at another time is a different process.
 */
export function ownerAlive(o: Pick<Owner, 'pid' | 'host' | 'pidStart'>): boolean | null {
  if (o.host !== os.hostname()) return null;
  if (o.pid === process.pid) return o.pidStart === undefined || o.pidStart === currentOwner().pidStart;
  if (o.pidStart !== undefined) {
    const now = startOf(o.pid);
    if (now !== null) return now === o.pidStart;
    if (fs.existsSync('/proc/self/stat')) return false; // Linux: no /proc/PID, no process
  }
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
