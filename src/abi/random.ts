import type { System } from '../system/index.js';
import { errnoOf, type GuestMemory } from './memory.js';

/** random_get. */
export function randomImports(sys: System, mem: GuestMemory) {
  return {
    random_get(buf: number, len: number): number {
      try {
        return sys.randomGet(mem.bytes(buf >>> 0, len >>> 0));
      } catch (e) {
        return errnoOf(e);
      }
    },
  };
}
