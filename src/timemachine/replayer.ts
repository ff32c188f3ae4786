import { ProcExit, type Dirent, type Event, type Fdstat, type Filestat, type Out, type System, type TaskHost } from '../system/index.js';
import {
  CALLS, readDirents, readEvents, readFdstat, readFilestat, readNum, readParam, succeeded, writeParam,
  type CallSpec,
} from './calls.js';
import { RecordReader, RecordWriter } from './codec.js';
import { formatCall } from './describe.js';

/** The guest did something other than what the log recorded: replay cannot go on. */
export class ReplayDivergence extends Error {}

/** The guest went on past the end of a log that was cut short (the run was interrupted): replay can go no further. */
export class ReplayLogEnd extends ReplayDivergence {}

/**
 * Where replayed output goes (stdout/stderr writes are reproduced, nothing else is). A chunk
 * is a view of guest memory, valid only during the call: write it or copy it.
 */
export interface ReplayOutput {
  stdout(chunk: Uint8Array): void;
  stderr(chunk: Uint8Array): void;
}

/**
 * A System fed by a log: no files, no clock, no network. Each call must match the next record
 * (same call, same parameters, byte for byte, including the bytes a write sends); it then
 * hands back the recorded result and writes the recorded bytes into guest memory.
 */
export class Replayer {
  private index = 0;
  private readonly scratch = new RecordWriter();
  private reader: RecordReader | null = null;

  /**
   * `cut` says, once the records have run out, why the log may end before the guest did (the
   * run was interrupted, or the log is cut short): a call past its end then stops replay with
   * "the log ends here". Undefined: the log ended with the guest, and such a call is a divergence.
   */
  constructor(
    private readonly records: Iterator<Uint8Array>,
    private readonly given: { args: readonly string[]; env: readonly string[] },
    private readonly output: ReplayOutput,
    private readonly cut: () => string | undefined = () => undefined,
  ) {}

  /** Records consumed so far. */
  get position(): number {
    return this.index;
  }

  /** True when every record has been replayed. */
  atEnd(): boolean {
    if (this.reader !== null) return false;
    const n = this.records.next();
    if (n.done) return true;
    this.reader = new RecordReader(n.value);
    return false;
  }

  /** The next record, checked against the call the guest makes now; the reader is left at the result. */
  next(c: CallSpec, args: ArrayLike<unknown>): RecordReader {
    let r = this.reader;
    this.reader = null;
    if (r === null) {
      const n = this.records.next();
      if (n.done) {
        const why = this.cut();
        if (why !== undefined) {
          throw new ReplayLogEnd(`the log ends here (${why}): all ${this.index} recorded calls were replayed, then the guest called ${formatCall(c, args)}`);
        }
        throw new ReplayDivergence(`replay diverged: the log ends after ${this.index} records, but the guest called ${formatCall(c, args)}`);
      }
      r = new RecordReader(n.value);
    }
    const at = this.index++;
    const id = r.u8();
    const recorded = CALLS[id];
    if (recorded === undefined) throw new ReplayDivergence(`record ${at}: unknown call id ${id} (a log from a newer wtm?)`);
    r.uvarint(); // start
    r.uvarint(); // duration
    const p0 = r.offset;
    const params: unknown[] = [];
    for (const [, kind] of recorded.params) params.push(readParam(r, kind));
    const p1 = r.offset;
    if (recorded !== c) {
      throw new ReplayDivergence(`replay diverged at record ${at}: the log has ${formatCall(recorded, params)} but the guest called ${formatCall(c, args)}`);
    }
    const w = this.scratch;
    w.take();
    for (let i = 0; i < c.params.length; i++) writeParam(w, c.params[i]![1], args[i]);
    const actual = w.take();
    if (!sameBytes(actual, r.bytesAt(p0, p1))) {
      throw new ReplayDivergence(`replay diverged at record ${at}: the log has ${formatCall(recorded, params)} but the guest called ${formatCall(c, args)}`);
    }
    return r;
  }

  /** Replays a call: matches it, then hands back its recorded result and outputs. */
  replay(c: CallSpec, args: unknown[]): unknown {
    const r = this.next(c, args);
    if (c.out === 'strings') {
      const n = r.uvarint();
      const list: string[] = [];
      for (let i = 0; i < n; i++) list.push(r.string());
      const given = c.method === 'args' ? this.given.args : this.given.env;
      if (list.length !== given.length || list.some((s, i) => s !== given[i])) {
        throw new ReplayDivergence(`replay diverged at record ${this.index - 1}: ${c.wasi}: the log has ${JSON.stringify(list)} but the replay was given ${JSON.stringify(given)}`);
      }
      return list;
    }
    const ret = readNum(r);
    if (succeeded(c, ret)) readOutputs(r, c, args, ret);
    if (c.method === 'fdWrite' && ret > 0) {
      const fd = args[0] as number;
      if (fd === 1 || fd === 2) {
        // Each buffer as it is (views of guest memory, not copies): outputs write or copy at once.
        let left = ret;
        for (const b of args[1] as Uint8Array[]) {
          if (left <= 0) break;
          if (b.byteLength === 0) continue;
          const chunk = b.byteLength <= left ? b : b.subarray(0, left);
          if (fd === 1) this.output.stdout(chunk);
          else this.output.stderr(chunk);
          left -= b.byteLength;
        }
      }
    }
    return ret;
  }
}

function readOutputs(r: RecordReader, c: CallSpec, args: unknown[], ret: number): void {
  const last = args[c.params.length];
  switch (c.out) {
    case 'none': case 'strings': return;
    case 'filled': fill(r, args[1] as Uint8Array[], ret); return;
    case 'recv':
      fill(r, args[1] as Uint8Array[], ret);
      (args[3] as Out<number>).value = r.uvarint();
      return;
    case 'random': {
      const buf = args[0] as Uint8Array;
      buf.set(r.raw(buf.byteLength));
      return;
    }
    case 'filestat': readFilestat(r, last as Filestat); return;
    case 'fdstat': readFdstat(r, last as Fdstat); return;
    case 'string': case 'result': (last as Out<string>).value = r.string(); return;
    case 'dirents': (last as Out<readonly Dirent[]>).value = readDirents(r); return;
    case 'events': readEvents(r, ret, last as Event[]); return;
  }
}

/** Copies `n` recorded bytes into the guest's buffers, in order. */
function fill(r: RecordReader, bufs: Uint8Array[], n: number): void {
  let left = n;
  for (let i = 0; i < bufs.length && left > 0; i++) {
    const b = bufs[i]!;
    const take = Math.min(left, b.byteLength);
    b.set(r.raw(take));
    left -= take;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

for (const c of CALLS) {
  (Replayer.prototype as unknown as Record<string, unknown>)[c.method] = c.method === 'procExit'
    ? function (this: Replayer, code: number): never {
      this.replay(c, [code]);
      throw new ProcExit(code);
    }
    : function (this: Replayer, ...args: unknown[]): unknown {
      return this.replay(c, args);
    };
}

export interface Replayer extends System, TaskHost {}
