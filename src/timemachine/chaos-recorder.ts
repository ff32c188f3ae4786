import type { ChaosSystem } from '../system/chaos.js';
import { CALLS, INJECTED, type CallSpec } from './calls.js';
import type { LogWriter } from './format.js';
import { Recorder, type RecordListener } from './recorder.js';

/** Each call's spec with the injected bit set on its id: what a record of an injected result is written with. */
const MARKED: readonly CallSpec[] = CALLS.map((c) => ({ ...c, id: c.id | INJECTED }));

/**
 * The Recorder of a run with fault injection (`--chaos`): a result the ChaosSystem under it
 * injected is written with the INJECTED bit set on the record's call id (docs/log-format.md),
 * so views mark it and replay hands it back like any other. A subclass, so that the plain
 * Recorder's hot path does no extra work when chaos is off.
 */
export class ChaosRecorder extends Recorder {
  constructor(readonly chaos: ChaosSystem, log: LogWriter, onRecord?: RecordListener) {
    super(chaos, log, onRecord);
  }

  override record(c: CallSpec, args: ArrayLike<unknown>, ret: unknown, start: number): void {
    if (this.chaos.injected) {
      this.chaos.injected = false;
      super.record(MARKED[c.id]!, args, ret, start);
    } else {
      super.record(c, args, ret, start);
    }
  }
}
