import { functionAt, type WasmNames } from './wasm-names.js';

/** A V8 CPU profile (the JSON of a .cpuprofile file), as the inspector's Profiler.stop gives it. */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** µs on V8's clock. */
  startTime: number;
  endTime: number;
  /** The node of each sample (its leaf frame). */
  samples: number[];
  /** µs from the previous sample (the first: from startTime). */
  timeDeltas: number[];
}
export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Is this frame in the wasm module (its functions, and V8's wrappers between it and JavaScript)? */
export function isWasmFrame(f: CpuProfileNode['callFrame']): boolean {
  return f.url.startsWith('wasm://');
}

/**
 * Is this frame one of the guest's own functions? V8's `wasm-to-js:SIG-NAME` and
 * `js-to-wasm:SIG` wrappers carry the module's url but are the way into and out of the host
 * (one wrapper per signature, named after the first import that has it).
 */
export function isGuestFrame(f: CpuProfileNode['callFrame']): boolean {
  return isWasmFrame(f) && !f.functionName.startsWith('wasm-to-js') && !f.functionName.startsWith('js-to-wasm');
}

const UNNAMED = /^(?:\$func(\d+)|wasm-function\[(\d+)\]|)$/;

/**
 * Gives wasm frames that V8 shows without a name (`$func12`, `wasm-function[12]`, or empty)
 * the name the module's name section gives them, by index or by code offset (V8 reports a
 * wasm frame's column as the byte offset of its function's body). V8 uses the name section
 * itself when it can; this covers the frames it did not. Returns how many frames were named.
 */
export function nameWasmFrames(profile: CpuProfile, names: WasmNames): number {
  let named = 0;
  for (const n of profile.nodes) {
    const f = n.callFrame;
    if (!isWasmFrame(f)) continue;
    const m = UNNAMED.exec(f.functionName);
    if (!m) continue;
    const index = m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? Number(m[2]) : functionAt(names, f.columnNumber);
    if (index === undefined) continue;
    const name = names.functions.get(index);
    f.functionName = name ?? `wasm-function[${index}]`;
    if (name !== undefined) named++;
  }
  return named;
}

/** One function of the profile, its samples added up over every node (call path) it appears in. */
export interface FunctionTime {
  name: string;
  /** `wasm` for the guest's functions, `js` for wtm's and Node's JavaScript, `native` for V8 builtins, wasm/JS wrappers and the VM's own entries (GC, program). */
  kind: 'wasm' | 'js' | 'native';
  /** Where it is, for JavaScript (`file:line`), empty for the rest. */
  location: string;
  selfMs: number;
  selfPercent: number;
  totalMs: number;
  totalPercent: number;
}

export interface ProfileSummary {
  /** Profiled time: from Profiler.start to Profiler.stop. */
  wallMs: number;
  /** Time the samples cover (the profiler's own start-up, before its first sample, is not in it). */
  sampledMs: number;
  samples: number;
  /** Functions by self time, highest first (the first `top`). */
  top: FunctionTime[];
  /** Where the time went, in ms (they add up to the sampled time). */
  time: {
    /** In the guest's own code. */
    wasm: number;
    /** In host functions the guest called: wtm's WASI imports (replaying, here) and what they call. */
    host: number;
    /** Garbage collection. */
    gc: number;
    /** Outside the guest: instantiating the module, starting and ending (and V8's unattributed `(program)`). */
    other: number;
  };
  /** Host time by the import the guest called (the first JavaScript frame under a wasm frame), highest first. */
  hostByImport: { name: string; ms: number; samples: number }[];
}

/** Each sample's duration in µs (as DevTools counts it: until the next sample; the last one until endTime). */
export function sampleDurations(p: CpuProfile): number[] {
  const n = p.samples.length;
  const times: number[] = new Array(n);
  let t = p.startTime;
  for (let i = 0; i < n; i++) {
    t += p.timeDeltas[i] ?? 0;
    times[i] = t;
  }
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.max(0, (i + 1 < n ? times[i + 1]! : p.endTime) - times[i]!);
  return out;
}

function keyOf(f: CpuProfileNode['callFrame']): string {
  return `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`;
}

function displayName(f: CpuProfileNode['callFrame']): string {
  return f.functionName || (isWasmFrame(f) ? `wasm-function@${f.columnNumber}` : '(anonymous)');
}

function kindOf(f: CpuProfileNode['callFrame']): FunctionTime['kind'] {
  if (isGuestFrame(f)) return 'wasm';
  if (isWasmFrame(f)) return 'native';
  return f.url === '' ? 'native' : 'js';
}

/** Adds up a profile: self and total time per function, guest vs host vs the rest. */
export function summarizeProfile(p: CpuProfile, top = 20): ProfileSummary {
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const durations = sampleDurations(p);
  const funcs = new Map<string, { f: CpuProfileNode['callFrame']; self: number; total: number }>();
  const fn = (f: CpuProfileNode['callFrame']) => {
    const k = keyOf(f);
    let e = funcs.get(k);
    if (!e) funcs.set(k, (e = { f, self: 0, total: 0 }));
    return e;
  };
  const time = { wasm: 0, host: 0, gc: 0, other: 0 };
  const hostBy = new Map<string, { ms: number; samples: number }>();
  let sampled = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const d = durations[i]!;
    const leaf = byId.get(p.samples[i]!);
    if (!leaf) continue;
    const lf = leaf.callFrame;
    if (lf.functionName === '(idle)') continue;
    sampled += d;
    fn(lf).self += d;
    // The stack, leaf first; each function counted once per sample for its total.
    const stack: CpuProfileNode[] = [];
    for (let n: CpuProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) stack.push(n);
    const seen = new Set<string>();
    for (const n of stack) {
      const k = keyOf(n.callFrame);
      if (n.callFrame.functionName === '(root)' || seen.has(k)) continue;
      seen.add(k);
      fn(n.callFrame).total += d;
    }
    const w = stack.findIndex((n) => isGuestFrame(n.callFrame));
    if (w === 0) time.wasm += d;
    else if (w > 0) {
      time.host += d;
      // The import the guest called: the first JavaScript frame under the guest's, past any
      // builtin V8 puts in between.
      let imp = w - 1;
      while (imp > 0 && kindOf(stack[imp]!.callFrame) !== 'js') imp--;
      const name = displayName(stack[imp]!.callFrame);
      const h = hostBy.get(name) ?? { ms: 0, samples: 0 };
      h.ms += d / 1000;
      h.samples++;
      hostBy.set(name, h);
    } else if (lf.functionName === '(garbage collector)') time.gc += d;
    else time.other += d;
  }
  const pct = (v: number) => (sampled > 0 ? Math.round((v / sampled) * 1000) / 10 : 0);
  const ms = (us: number) => Math.round(us) / 1000;
  const list = [...funcs.values()]
    .filter((e) => e.f.functionName !== '(root)' && e.f.functionName !== '(idle)')
    .sort((a, b) => b.self - a.self || b.total - a.total)
    .slice(0, top)
    .map((e) => ({
      name: displayName(e.f), kind: kindOf(e.f),
      location: kindOf(e.f) === 'js' ? `${e.f.url}:${e.f.lineNumber + 1}` : '',
      selfMs: ms(e.self), selfPercent: pct(e.self), totalMs: ms(e.total), totalPercent: pct(e.total),
    }));
  return {
    wallMs: ms(p.endTime - p.startTime),
    sampledMs: ms(sampled),
    samples: p.samples.length,
    top: list,
    time: { wasm: ms(time.wasm), host: ms(time.host), gc: ms(time.gc), other: ms(time.other) },
    hostByImport: [...hostBy.entries()].map(([name, h]) => ({ name, ms: Math.round(h.ms * 1000) / 1000, samples: h.samples })).sort((a, b) => b.ms - a.ms),
  };
}
