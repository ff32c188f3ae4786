import { CALLS } from '../timemachine/calls.js';
import type { Replayer } from '../timemachine/replayer.js';

/** Thrown at the guest's first call after record `record` was replayed: replay stops there, cleanly. */
export class ReplayStop extends Error {
  constructor(readonly record: number) {
    super(`replay stopped after record ${record}`);
  }
}

/**
 * The replayer, stopped once record `until` (numbered from 0) has been replayed: the guest's
 * next call throws ReplayStop before it is matched. The guest then has had record `until`'s
 * results written into its memory by the ABI and has run up to its next call, so its memory is
 * what it was right after that call returned.
 */
export function stopAfter(replayer: Replayer, until: number): Replayer {
  const stopped = Object.create(replayer) as Replayer;
  const own = stopped as unknown as Record<string, unknown>;
  for (const c of CALLS) {
    const inner = (replayer as unknown as Record<string, (...a: unknown[]) => unknown>)[c.method]!;
    own[c.method] = (...args: unknown[]): unknown => {
      if (replayer.position > until) throw new ReplayStop(until);
      return inner.apply(replayer, args);
    };
  }
  return stopped;
}
