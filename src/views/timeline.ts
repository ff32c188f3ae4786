// A recorded process and its tasks as one self-contained HTML page: a lane per process over
// time, a mark per call coloured by kind, stdout/stderr text, details on hover, zoom and pan.
// Lanes are placed relative to the first one by their records' times (see the lane zeros
// below).
//
// The page must open fast for a million calls, so the calls are not HTML elements nor JSON
// objects: each lane's calls are columns (start, duration, call id, kind, result, parameters),
// typed arrays laid end to end in one binary blob, deflated and put in base64 (the browser
// inflates it with its own DecompressionStream), drawn on a canvas by the page's script
// (timeline-page.ts), which aggregates calls that fall into the same pixel. Starts are stored
// as deltas from the call before and results as deltas from the last result of the same call,
// so that a loop's columns compress to little. Parameter texts are deduplicated into one
// string table (a loop of clock reads has one). All of it sits in the page as JSON in a
// <script type="application/json">, with every `<` escaped so that nothing in it (a guest's
// output holding `</script>`) can end the element.

import zlib from 'node:zlib';
import { CALLS, CALL_BY_METHOD, INJECTED, type CallSpec } from '../timemachine/calls.js';
import { decodeRecord, type DecodedCall } from '../timemachine/describe.js';
import { formatArgs } from '../timemachine/trace-format.js';
import { errnoName } from '../system/index.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './timeline-page.js';

/** Kinds of call, in the order of the rows of a lane. */
export const KINDS = ['files', 'clock', 'random', 'stdio', 'tasks', 'other'] as const;
export type Kind = (typeof KINDS)[number];

/** One process to draw. */
export interface LaneInput {
  id: string;
  parentId?: string;
  argv: string[];
  state: string;
  exitCode?: number;
  /** When the process started and ended, ms since the epoch (its record's startTime, endTime). */
  startMs: number;
  endMs?: number;
  /** 0 for the process asked for, 1 for its tasks, ... */
  depth: number;
  /** The log's record payloads, or null when the process has no log. */
  records: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | null;
}

export interface TimelineOptions {
  /** Text kept per lane for stdout/stderr/stdin (default 4 MiB of characters); the rest is cut, saying so. */
  maxTextPerLane?: number;
  /** Text kept per write (default 2000 characters). */
  maxTextPerWrite?: number;
}

interface LaneData {
  id: string;
  parentId: string | null;
  argv: string[];
  state: string;
  exitCode: number | null;
  /** ns from the first lane's zero to this lane's zero (see placeLanes). */
  offsetNs: number;
  depth: number;
  count: number;
  /** Where each column is in the inflated blob: [byte offset, element count]. Float64Array
   *  start (ns since the lane's zero, as deltas from the call before), Float32Array duration (ns),
   *  Uint8Array call id, Uint8Array kind, Float64Array result (NaN when not a number; else the
   *  delta from the last numeric result of the same call id), Uint32Array index of the
   *  parameter text in `strings`. */
  cols: Record<'start' | 'dur' | 'call' | 'kind' | 'ret' | 'args', [number, number]>;
  /** Text of stdio calls and of calls whose result is a list: [call index, stream or '', text]. */
  notes: [number, string, string][];
  textCut: boolean;
  hasLog: boolean;
}

export interface TimelineData {
  version: 1;
  title: string;
  kinds: readonly string[];
  /** By call id: its WASI name and what its return value is (calls.ts ResultKind). */
  calls: { name: string; result: string }[];
  errnos: string[];
  strings: string[];
  lanes: LaneData[];
  /** Every lane's columns, deflated (raw deflate), in base64. */
  blob: string;
}

const STDIO_CALLS = new Set(['fdWrite', 'fdRead', 'fdPread', 'fdPwrite'].map((m) => CALL_BY_METHOD.get(m)!.id));
const WRITE_IDS = new Set(['fdWrite', 'fdPwrite'].map((m) => CALL_BY_METHOD.get(m)!.id));
const ENVIRON = CALL_BY_METHOD.get('environ')!.id;

function kindOf(c: CallSpec, fd: unknown): number {
  const w = c.wasi;
  if (STDIO_CALLS.has(c.id) && typeof fd === 'number' && fd >= 0 && fd <= 2) return 3;
  if (w.startsWith('wtm.task_')) return 4;
  if (w === 'random_get') return 2;
  if (w.startsWith('clock_') || w === 'poll_oneoff') return 1;
  if (w.startsWith('fd_') || w.startsWith('path_')) return 0;
  return 5;
}

/** A typed array that grows. */
class Column<T extends Float64Array | Float32Array | Uint8Array | Uint32Array> {
  n = 0;
  constructor(private a: T, private readonly make: (n: number) => T) {}
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = this.make(this.a.length * 2);
      b.set(this.a as never);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.a.buffer, this.a.byteOffset, this.n * this.a.BYTES_PER_ELEMENT);
  }
}

/** Reads every lane's log into the page's data. */
export async function timelineData(lanes: LaneInput[], title: string, opts: TimelineOptions = {}): Promise<TimelineData> {
  const maxText = opts.maxTextPerLane ?? 4 << 20;
  const maxWrite = opts.maxTextPerWrite ?? 2000;
  const strings: string[] = [];
  const stringIds = new Map<string, number>();
  const intern = (s: string) => {
    let i = stringIds.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIds.set(s, i);
    }
    return i;
  };
  const text = new TextDecoder();
  const out: LaneData[] = [];
  const zeros: number[] = [];
  const parts: Uint8Array[] = [];
  let size = 0;
  /** Appends a column to the blob, 8-byte aligned (a Float64Array needs it). */
  const place = (col: Column<Float64Array | Float32Array | Uint8Array | Uint32Array>): [number, number] => {
    const at = size;
    const b = col.bytes();
    parts.push(b);
    size += b.byteLength;
    const pad = (8 - (size % 8)) % 8;
    if (pad) {
      parts.push(new Uint8Array(pad));
      size += pad;
    }
    return [at, col.n];
  };
  for (const lane of lanes) {
    const start = new Column(new Float64Array(1024), (n) => new Float64Array(n));
    const dur = new Column(new Float32Array(1024), (n) => new Float32Array(n));
    const call = new Column(new Uint8Array(1024), (n) => new Uint8Array(n));
    const kind = new Column(new Uint8Array(1024), (n) => new Uint8Array(n));
    const ret = new Column(new Float64Array(1024), (n) => new Float64Array(n));
    const args = new Column(new Uint32Array(1024), (n) => new Uint32Array(n));
    const notes: [number, string, string][] = [];
    let textLeft = maxText;
    let textCut = false;
    const note = (i: number, stream: string, s: string) => {
      if (textLeft <= 0) {
        textCut = true;
        return;
      }
      let t = s.length > maxWrite ? `${s.slice(0, maxWrite)}…` : s;
      if (t.length > textLeft) t = `${t.slice(0, textLeft)}…`;
      textLeft -= t.length;
      notes.push([i, stream, t]);
    };
    let i = 0;
    let lastEnd = 0;
    let prevStart = 0;
    const prevRet = new Float64Array(CALLS.length);
    // The last parameters of each call and their text's index: a loop repeats them.
    const lastParams: (unknown[] | null)[] = CALLS.map(() => null);
    const lastArgs = new Uint32Array(CALLS.length);
    for await (const payload of lane.records ?? []) {
      const rec = decodeRecord(payload);
      const c = rec.call;
      start.push(rec.start - prevStart);
      prevStart = rec.start;
      dur.push(rec.duration);
      lastEnd = Math.max(lastEnd, rec.start + rec.duration);
      // The chaos bit rides on the call id (as in the log): the page draws those marks apart.
      call.push(rec.injected ? c.id | INJECTED : c.id);
      const k = kindOf(c, rec.params[0]);
      kind.push(k);
      if (typeof rec.ret === 'number') {
        ret.push(rec.ret - prevRet[c.id]!);
        prevRet[c.id] = rec.ret;
      } else {
        ret.push(NaN);
      }
      const last = lastParams[c.id];
      if (last && sameShown(c, last, rec.params)) {
        args.push(lastArgs[c.id]!);
      } else {
        const a = intern(c.params.length ? formatParams(rec) : '');
        args.push(a);
        lastParams[c.id] = rec.params;
        lastArgs[c.id] = a;
      }
      if (Array.isArray(rec.ret)) {
        // The environment's values may hold secrets: names only, as `wtm describe`.
        const list = c.id === ENVIRON ? rec.ret.map((e) => e.split('=')[0] + '=…') : rec.ret;
        note(i, '', JSON.stringify(list));
      } else if (k === 3) {
        const fd = rec.params[0] as number;
        const n = rec.ret;
        if (rec.errno === 0 && n > 0) {
          const bytes = WRITE_IDS.has(c.id) ? (rec.params[1] as Uint8Array).subarray(0, n) : rec.out instanceof Uint8Array ? rec.out : new Uint8Array(0);
          note(i, fd === 0 ? 'stdin' : fd === 1 ? 'stdout' : 'stderr', text.decode(bytes.subarray(0, maxWrite * 4)));
        }
      }
      i++;
    }
    zeros.push(lane.endMs !== undefined && lastEnd > 0 && lane.endMs - lastEnd / 1e6 >= lane.startMs ? lane.endMs - lastEnd / 1e6 : lane.startMs);
    out.push({
      id: lane.id, parentId: lane.parentId ?? null, argv: lane.argv, state: lane.state, exitCode: lane.exitCode ?? null,
      offsetNs: 0, depth: lane.depth, count: i,
      cols: { start: place(start), dur: place(dur), call: place(call), kind: place(kind), ret: place(ret), args: place(args) },
      notes, textCut, hasLog: lane.records !== null,
    });
  }
  // Where each lane's time zero is. A log times its calls from when its recorder started,
  // which comes after the record's startTime by the module's compilation and the worker's start
  // (a few ms for a task, hundreds for a main process started by the CLI), and the registry
  // does not record that moment. A process that ended did so right after its last call
  // (proc_exit, or the end of _start), so its zero is put that far before its endTime; a
  // running or never-started process falls back to its startTime.
  zeros.forEach((z, j) => {
    out[j]!.offsetNs = Math.round((z - zeros[0]!) * 1e6);
  });
  const errnos: string[] = [];
  for (let e = 0; e <= 76; e++) errnos.push(errnoName(e));
  return {
    version: 1, title, kinds: KINDS, calls: CALLS.map((c) => ({ name: c.wasi, result: c.result })), errnos, strings, lanes: out,
    // Level 1: a sixth of level 6's time, for a blob 1.8x the size (1M calls: 95 ms, 2.4 MB).
    blob: zlib.deflateRawSync(Buffer.concat(parts, size), { level: 1 }).toString('base64'),
  };
}

/** Would these parameters read the same as those? (Buffers read as their sizes.) */
function sameShown(c: CallSpec, a: unknown[], b: unknown[]): boolean {
  for (let i = 0; i < c.params.length; i++) {
    const kind = c.params[i]![1];
    const x = a[i];
    const y = b[i];
    if (kind === 'data') {
      if ((x as Uint8Array).byteLength !== (y as Uint8Array).byteLength) return false;
    } else if (kind === 'subs') {
      if ((x as unknown[]).length !== (y as unknown[]).length) return false;
    } else if (x !== y) {
      return false;
    }
  }
  return true;
}

/**
 * A call's parameters as `wtm trace` shows them, but a buffer written as its size only
 * (`iovs=64 bytes`): a loop writing different bytes then still has one text (what stdio
 * writes hold is shown from the notes).
 */
function formatParams(rec: DecodedCall): string {
  const c = rec.call;
  const at = c.params.findIndex(([, kind]) => kind === 'data');
  if (at < 0) return formatArgs(rec);
  const params = rec.params.slice();
  params[at] = EMPTY;
  const [name] = c.params[at]!;
  return formatArgs({ ...rec, params }).replace(`${name}=""`, `${name}=${(rec.params[at] as Uint8Array).byteLength} bytes`);
}
const EMPTY = new Uint8Array(0);

/** JSON that can sit inside a <script> element: no `<` at all (so no `</script` nor `<!--`). */
export function scriptJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The data as script-safe JSON; the blob (base64: no `<` in it) is added without a scan. */
function dataJson(data: TimelineData): string {
  const { blob, ...rest } = data;
  return `${scriptJson(rest).slice(0, -1)},"blob":"${blob}"}`;
}

/** The whole page: inline style, data and script; it loads nothing. */
export function timelineHtml(data: TimelineData): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wtm timeline</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<div id="timeline" data-ready="0">
  <header>
    <strong id="title"></strong>
    <span class="buttons">
      <button id="zoom-in" title="zoom in (wheel up, +)">+</button>
      <button id="zoom-out" title="zoom out (wheel down, -)">&minus;</button>
      <button id="fit" title="show everything (0)">fit</button>
    </span>
    <span id="legend"></span>
    <span id="status"></span>
  </header>
  <div id="view"><canvas id="canvas"></canvas><div id="tip" hidden></div></div>
  <section id="panel"><h2>stdout, stderr and stdin</h2><div id="output"></div></section>
</div>
<script type="application/json" id="data">${dataJson(data)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
