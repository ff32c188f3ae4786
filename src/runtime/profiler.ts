import { Session } from 'node:inspector';

/**
 * V8's CPU profiler on the current thread's isolate (a worker's own, when called in a worker).
 * An inspector session on one's own thread answers synchronously, so a guest that runs
 * synchronously can be profiled from start to end without giving back to the event loop.
 */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number }; hitCount?: number; children?: number[] }[];
  /** µs, on V8's clock. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Starts profiling (sampling every `intervalUs` µs); the function returned stops it and gives the profile. */
export function startProfiler(intervalUs: number): () => CpuProfile {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object): T => {
    let result: { ok: T } | { err: Error } | undefined;
    session.post(method, params ?? {}, (err, r) => {
      result = err ? { err } : { ok: r as T };
    });
    if (result === undefined) throw new Error(`the inspector did not answer ${method} at once`);
    if ('err' in result) throw result.err;
    return result.ok;
  };
  try {
    post('Profiler.enable');
    post('Profiler.setSamplingInterval', { interval: intervalUs });
    post('Profiler.start');
  } catch (e) {
    session.disconnect();
    throw e;
  }
  return () => {
    try {
      return post<{ profile: CpuProfile }>('Profiler.stop').profile;
    } finally {
      session.disconnect();
    }
  };
}
