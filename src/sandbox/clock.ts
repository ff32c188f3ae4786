import { performance } from 'node:perf_hooks';
import { Clockid, Errno } from '../system/index.js';

// Clocks as doubles in ns: exact for monotonic time, within ~0.25 µs for wall time, and no
// BigInt on the hot path. `performance.now()` is monotonic and has sub-µs resolution in Node.
// `performance` from perf_hooks, not the global: the global is a lazy getter that showed up in
// profiles of clock-heavy guests.
const origin = performance.timeOrigin;
const now = performance.now.bind(performance);

export function clockTimeGet(id: number, _precision: number): number {
  switch (id) {
    case Clockid.MONOTONIC:
      return Math.floor(now() * 1e6);
    case Clockid.REALTIME:
      return Math.floor((origin + now()) * 1e6);
    case Clockid.PROCESS_CPUTIME_ID:
    case Clockid.THREAD_CPUTIME_ID: {
      // Node measures CPU time per process; a worker's thread time is not exposed.
      const u = process.cpuUsage();
      return (u.user + u.system) * 1000;
    }
    default:
      return -Errno.INVAL;
  }
}

export function clockResGet(id: number): number {
  switch (id) {
    case Clockid.MONOTONIC:
    case Clockid.REALTIME:
      return 1000;
    case Clockid.PROCESS_CPUTIME_ID:
    case Clockid.THREAD_CPUTIME_ID:
      return 1000;
    default:
      return -Errno.INVAL;
  }
}
