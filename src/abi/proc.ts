import type { System } from '../system/index.js';

/** proc_exit, proc_raise, sched_yield. */
export function procImports(sys: System) {
  return {
    proc_exit(code: number): void {
      sys.procExit(code >>> 0);
    },
    proc_raise(signal: number): number {
      return sys.procRaise(signal >>> 0);
    },
    sched_yield(): number {
      return sys.schedYield();
    },
  };
}
