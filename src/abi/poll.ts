import { Errno, EventType, type Event, type Subscription, type System } from '../system/index.js';
import { errnoOf, type GuestMemory } from './memory.js';

/**
 * poll_oneoff. Subscriptions are 48 bytes: userdata@0 tag@8, then clock {id@16 timeout@24
 * precision@32 flags@40} or fd@16. Events are 32 bytes: userdata@0 error@8 type@10
 * nbytes@16 flags@24.
 */
/** Most subscriptions one poll_oneoff takes (INVAL past it). */
export const MAX_SUBSCRIPTIONS = 1 << 16;

export function pollImports(sys: System, mem: GuestMemory) {
  const events: Event[] = [];
  return {
    poll_oneoff(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number {
      try {
        const ip = inPtr >>> 0, op = outPtr >>> 0, n = nsubs >>> 0, np = neventsPtr >>> 0;
        // Each subscription becomes a host object: bounded, as Linux bounds poll's nfds.
        if (n > MAX_SUBSCRIPTIONS) return Errno.INVAL;
        mem.check(ip, n * 48);
        mem.check(op, n * 32);
        mem.check(np, 4);
        const subs: Subscription[] = [];
        const v = mem.view;
        for (let i = 0; i < n; i++) {
          const p = ip + i * 48;
          const type = v.getUint8(p + 8);
          const clock = type === EventType.CLOCK;
          subs.push({
            userdata: v.getBigUint64(p, true),
            type,
            clockId: clock ? v.getUint32(p + 16, true) : 0,
            timeout: clock ? Number(v.getBigUint64(p + 24, true)) : 0,
            precision: clock ? Number(v.getBigUint64(p + 32, true)) : 0,
            flags: clock ? v.getUint16(p + 40, true) : 0,
            fd: clock ? -1 : v.getUint32(p + 16, true),
          });
        }
        const r = sys.pollOneoff(subs, events);
        if (r < 0) return -r;
        const w = mem.view;
        for (let i = 0; i < r; i++) {
          const e = events[i]!;
          const p = op + i * 32;
          w.setBigUint64(p, e.userdata, true);
          w.setUint16(p + 8, e.error, true);
          w.setUint8(p + 10, e.type);
          w.setBigUint64(p + 16, BigInt(e.nbytes), true);
          w.setUint16(p + 24, e.flags, true);
        }
        mem.setU32(np, r);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
  };
}
