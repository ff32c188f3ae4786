import type { System } from '../system/index.js';
import { u64, type Hi, type Lo } from './i64.js';
import { errnoOf, type GuestMemory } from './memory.js';

/** clock_res_get and clock_time_get: no BigInt on the way (the precision comes as two halves: adapter.ts), the time is written as two u32. */
export function clockImports(sys: System, mem: GuestMemory) {
  return {
    clock_res_get(id: number, resPtr: number): number {
      try {
        const r = sys.clockResGet(id >>> 0);
        if (r < 0) return -r;
        mem.setU64n(resPtr >>> 0, r);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    clock_time_get(id: number, precisionLo: Lo, precisionHi: Hi, timePtr: number): number {
      try {
        const t = sys.clockTimeGet(id >>> 0, u64(precisionLo, precisionHi));
        if (t < 0) return -t;
        mem.setU64n(timePtr >>> 0, t);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
  };
}
