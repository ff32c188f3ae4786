/**
 * One AbortSignal that aborts when any of `signals` does, and `dispose()` to unhook it.
 * (Not AbortSignal.any: a dependent signal of a long-lived one, such as a runtime's
 * interruption, is kept for as long as that one lives, one per task.)
 */
export function anySignal(signals: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose: () => void } {
  const list = signals.filter((s): s is AbortSignal => s !== undefined);
  if (list.length === 1) return { signal: list[0]!, dispose: () => {} };
  const c = new AbortController();
  const undo: (() => void)[] = [];
  const dispose = () => undo.splice(0).forEach((f) => { f(); });
  for (const s of list) {
    if (s.aborted) {
      c.abort(s.reason);
      break;
    }
    const on = () => {
      c.abort(s.reason);
      dispose();
    };
    s.addEventListener('abort', on, { once: true });
    undo.push(() => s.removeEventListener('abort', on));
  }
  if (c.signal.aborted) dispose();
  return { signal: c.signal, dispose };
}
