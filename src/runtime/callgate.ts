/**
 * A worker is stopped (Ctrl-C, SIGTERM, a timeout, a cancel) by terminating its thread, which
 * can happen at any instruction. Between a call's effect (the bytes a write put on the
 * terminal, a file it renamed) and its record reaching the shared log buffer, that would lose
 * the record of something that did happen: the log would hold less than the run did. The gate
 * closes that window (DESIGN.md: never lose a recording): the recorder marks the cell IN_CALL
 * while a call that has effects runs and until its record is in the buffer, and parks a guest
 * that starts a call once STOP is set; stopWorker sets STOP and lets the call in progress
 * finish (at most STOP_GRACE_MS) before terminating.
 *
 * Calls that may wait on the outside for ever are not marked (recorder.ts, UNGATED): reads and
 * polls change nothing outside, and a run stopped inside one simply ends before it; the task
 * calls wait for the starter, which stops the whole tree.
 */
import { GATE_IN_CALL, GATE_STOP } from '../timemachine/recorder.js';

/** How long a stop waits for a call in progress to be recorded. */
export const STOP_GRACE_MS = 1000;

/** A new gate: two Int32 cells, shared by a worker and its starter. */
export function newCallGate(): SharedArrayBuffer {
  return new SharedArrayBuffer(8);
}

/** Closes the gate and resolves once no marked call is in progress (or after the grace). */
export async function closeGate(buffer: SharedArrayBuffer, graceMs = STOP_GRACE_MS): Promise<void> {
  const gate = new Int32Array(buffer);
  Atomics.store(gate, GATE_STOP, 1);
  const until = Date.now() + graceMs;
  // Polled, not waited on: the starter's event loop keeps handling the worker's messages.
  while (Atomics.load(gate, GATE_IN_CALL) !== 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
}
