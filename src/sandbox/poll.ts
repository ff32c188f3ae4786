import { Clockid, Errno, EventType, Rights, SubclockFlags, type Event, type Subscription } from '../system/index.js';
import { clockTimeGet } from './clock.js';
import type { FdTable } from './fdtable.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * poll_oneoff. Files and stdio are reported ready at once (a read may still block, as with
 * regular files on Linux); clock subscriptions sleep the worker with Atomics.wait, never spin.
 */
export function pollOneoff(fds: FdTable, subs: readonly Subscription[], events: Event[]): number {
  events.length = 0;
  if (subs.length === 0) return -Errno.INVAL;
  let earliest = Infinity;
  let earliestClock = -1;
  for (const s of subs) {
    if (s.type === EventType.CLOCK) {
      const now = clockTimeGet(s.clockId, 0);
      if (now < 0) {
        events.push({ userdata: s.userdata, error: -now, type: s.type, nbytes: 0, flags: 0 });
        continue;
      }
      const deadline = s.flags & SubclockFlags.ABSTIME ? s.timeout : now + s.timeout;
      // Keep deadlines on one timeline: the monotonic clock.
      const mono = clockTimeGet(Clockid.MONOTONIC, 0);
      const monoDeadline = mono + (deadline - now);
      if (monoDeadline < earliest) {
        earliest = monoDeadline;
        earliestClock = subs.indexOf(s);
      }
    } else if (s.type === EventType.FD_READ || s.type === EventType.FD_WRITE) {
      const e = fds.get(s.fd);
      let error = 0;
      if (e === undefined) error = Errno.BADF;
      else if ((e.rightsBase & Rights.POLL_FD_READWRITE) === 0 && (e.rightsBase & (s.type === EventType.FD_READ ? Rights.FD_READ : Rights.FD_WRITE)) === 0) error = Errno.NOTCAPABLE;
      else if (e.file === null) error = Errno.BADF;
      events.push({ userdata: s.userdata, error, type: s.type, nbytes: 0, flags: 0 });
    } else {
      return -Errno.INVAL;
    }
  }
  if (events.length > 0 || earliestClock < 0) return events.length;
  // Only clocks: sleep until the earliest deadline, then report every clock that expired.
  for (;;) {
    const remainingMs = (earliest - clockTimeGet(Clockid.MONOTONIC, 0)) / 1e6;
    if (remainingMs <= 0) break;
    Atomics.wait(sleeper, 0, 0, remainingMs);
  }
  const sub = subs[earliestClock]!;
  events.push({ userdata: sub.userdata, error: 0, type: EventType.CLOCK, nbytes: 0, flags: 0 });
  return events.length;
}
