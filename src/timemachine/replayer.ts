import { ProcExit, type System, type TaskHost } from '../system/index.js';
import {
  applyOutput, CALLS, forEachWritten, INJECTED, readParam, readResult, stdioStream, writeParam, type CallSpec,
} from './calls.js';
import { RecordReader, RecordWriter } from './codec.js';
import { formatCall } from './describe.js';
import type { RecordListener } from './recorder.js';

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
    /** What the replay gives the guest; `withheldEnv`: values an export left out (environ_get stops there). */
    private readonly given: { args: readonly string[]; env: readonly string[]; withheldEnv?: readonly string[] },
    private readonly output: ReplayOutput,
    private readonly cut: () => string | undefined = () => undefined,
    /** Sees each record once the guest's call matched it (live trace, --until). */
    private readonly onRecord?: RecordListener,
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
    const id = r.u8() & ~INJECTED; // an injected result is replayed as any other
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
    const ret = readResult(r, c);
    if (typeof ret !== 'number') {
      const withheld = c.method === 'environ' ? this.given.withheldEnv : undefined;
      if (withheld?.length) {
        const names = withheld.length > 6 ? `${withheld.slice(0, 6).join(', ')} and ${withheld.length - 6} more` : withheld.join(', ');
        throw new ReplayDivergence(`replay stopped at record ${this.index - 1}: environ_get: the values of ${names} were withheld when this run was exported (inherited from the host); export it with --with-host-env to replay past here`);
      }
      const given = c.method === 'args' ? this.given.args : this.given.env;
      if (ret.length !== given.length || ret.some((s, i) => s !== given[i])) {
        throw new ReplayDivergence(`replay diverged at record ${this.index - 1}: ${c.wasi}: the log has ${JSON.stringify(ret)} but the replay was given ${JSON.stringify(given)}`);
      }
    } else {
      applyOutput(r, c, args, ret);
      const stream = stdioStream(c, args[0]);
      // Each buffer as it is (views of guest memory, not copies): outputs write or copy at once.
      if (stream !== undefined) {
        const out = this.output;
        forEachWritten(args[1] as Uint8Array[], ret, stream === 'stdout' ? (b) => out.stdout(b) : (b) => out.stderr(b));
      }
    }
    if (this.onRecord !== undefined) this.onRecord(r.bytesAt(0, r.length), this.index - 1);
    return ret;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

for (const c of CALLS) {
  (Replayer.prototype as unknown as Record<string, unknown>)[c.method] = c.result === 'exit'
    ? function (this: Replayer, code: number): never {
      this.replay(c, [code]);
      throw new ProcExit(code);
    }
    : function (this: Replayer, ...args: unknown[]): unknown {
      return this.replay(c, args);
    };
}

export interface Replayer extends System, TaskHost {}
