import { gzipSync } from 'node:zlib';
import type { Function as PFunction, Location, Sample } from 'pprof-format';
import { isWasmFrame, sampleDurations, type CpuProfile, type CpuProfileNode } from './profile.js';

/**
 * A V8 CPU profile as pprof (the gzip-compressed protobuf `go tool pprof` and most profilers
 * read): one sample per call path, valued in samples and CPU nanoseconds; one location per
 * profile node, one function per distinct frame.
 */
export async function toPprof(p: CpuProfile, opts: { intervalUs: number; startedAt?: Date } = { intervalUs: 100 }): Promise<Uint8Array> {
  // Loaded when asked for: no other command needs it.
  const { Function: PFunction, Line, Location, Profile, Sample, StringTable, ValueType } = await import('pprof-format');
  const strings = new StringTable();
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const functions: PFunction[] = [];
  const functionIds = new Map<string, number>();
  const locations: Location[] = [];
  const locationIds = new Map<number, number>();
  const locationOf = (n: CpuProfileNode): number => {
    let id = locationIds.get(n.id);
    if (id !== undefined) return id;
    const f = n.callFrame;
    const name = f.functionName || (isWasmFrame(f) ? `wasm-function@${f.columnNumber}` : '(anonymous)');
    const key = `${name}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`;
    let fid = functionIds.get(key);
    if (fid === undefined) {
      fid = functions.length + 1;
      functionIds.set(key, fid);
      functions.push(new PFunction({ id: fid, name: strings.dedup(name), systemName: strings.dedup(name), filename: strings.dedup(f.url), startLine: Math.max(0, f.lineNumber + 1) }));
    }
    id = locations.length + 1;
    locationIds.set(n.id, id);
    // A wasm frame's "line" is 0 and its column the code offset: give the offset as the address.
    locations.push(new Location({ id, address: isWasmFrame(f) ? Math.max(0, f.columnNumber) : 0, line: [new Line({ functionId: fid, line: Math.max(0, f.lineNumber + 1) })] }));
    return id;
  };
  const durations = sampleDurations(p);
  const perNode = new Map<number, { count: number; ns: number }>();
  for (let i = 0; i < p.samples.length; i++) {
    const e = perNode.get(p.samples[i]!) ?? { count: 0, ns: 0 };
    e.count++;
    e.ns += Math.round(durations[i]! * 1000);
    perNode.set(p.samples[i]!, e);
  }
  const samples: Sample[] = [];
  for (const [nodeId, v] of perNode) {
    const stack: number[] = [];
    for (let n = byId.get(nodeId); n && n.callFrame.functionName !== '(root)'; n = byId.get(parent.get(n.id) ?? -1)) stack.push(locationOf(n));
    if (stack.length === 0) continue;
    samples.push(new Sample({ locationId: stack, value: [v.count, v.ns] }));
  }
  const profile = new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
      new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    ],
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: BigInt(opts.startedAt?.getTime() ?? Date.now()) * 1_000_000n,
    durationNanos: Math.round((p.endTime - p.startTime) * 1000),
    periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    period: opts.intervalUs * 1000,
  });
  return gzipSync(profile.encode());
}
