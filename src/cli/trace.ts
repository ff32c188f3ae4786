import { UserError } from '../runtime/index.js';
import type { Registry } from '../registry/registry.js';
import { logCutReason } from '../registry/registry.js';
import { LogStream } from '../timemachine/stream.js';
import { formatTraceLine, traceJson } from '../timemachine/trace-format.js';
import { errnoName } from '../system/index.js';
import { FsStoryBuilder, interleave, traceBatches, underGuestPath, unknownCalls, type FsStory, type TraceFilter, type TraceSource } from '../views/index.js';
import { formatBytes, printTable } from './output.js';
import { parseFlags, UsageError } from './args.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const traceHelp = `Usage: wtm trace [flags] ID

Prints every call a recorded process made, from its log (nothing runs again), one line each:
the time since the process started, the record number, the call with its arguments decoded
(paths quoted; flags, rights, whence and clock ids by name; buffers as escaped strings cut at
--width bytes), the result (an errno by name when it failed), what the call handed back (bytes
read, a stat, directory entries) and how long the call took:

      0.412 ms  #5 path_open(fd=3, lookupFlags=SYMLINK_FOLLOW, path="a.txt", oflags=CREAT|TRUNC, …) = 4  <21 µs>

ID may be a unique prefix. Record numbers are those replay errors and 'replay --until' use.

With --fs it tells the file-system story instead: every file opened (with its mode), created,
renamed, truncated and deleted, in order, then a table of each guest path: how often it was
opened and how, bytes read and written through it, and what became of it. --path, --from and
--to narrow it; -o json gives { events, files }.

Flags:
  --call NAMES            only these calls (comma-separated WASI names: fd_read,path_open)
  --fd N                  only calls on fd N (and the call that returned it)
  --path PREFIX           only calls on guest paths under PREFIX (and on fds opened from them)
  --errors                only calls that failed
  --from N                only records from N on
  --to M                  only records up to M (inclusive)
  --tasks                 interleave the calls of the process's tasks (and theirs) by time,
                          each line starting with its process id (first 8 characters) and
                          timed from the first process's start (across processes to ~1 ms)
  --fs                    the file-system story and a summary table per file (see above)
  --width N               bytes of a buffer shown (default 32; 0: all)
  --all-rights            name every right (default: ALL, FILE, DIR, STDIO, ALL&~(...) or hex
                          when more than 6 are set)
  -o, --output FORMAT     text (default) or json: one JSON object per call (JSON lines)
${registryHelp}
  -h, --help              show this help`;

const flags = {
  ...registryFlag, help: { value: false }, h: { value: false },
  call: { value: true, repeat: true }, fd: { value: true }, path: { value: true }, errors: { value: false },
  from: { value: true }, to: { value: true }, fs: { value: false }, tasks: { value: false }, width: { value: true }, 'all-rights': { value: false },
  o: { value: true }, output: { value: true },
};

function wholeNumber(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`${flag} needs a whole number >= 0 (got '${v}')`);
  return Number(v);
}

export async function traceCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, flags);
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(traceHelp + '\n');
    return 0;
  }
  const format = (p.flags.get('o') ?? p.flags.get('output'))?.[0] ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`-o ${format}: expected text or json`);
  if (p.positionals.length !== 1) throw new UsageError('needs one process ID');
  const last = (name: string) => p.flags.get(name)?.at(-1);
  const calls = (p.flags.get('call') ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  const unknown = unknownCalls(calls);
  if (unknown.length) throw new UsageError(`--call: unknown call ${unknown.join(', ')} (WASI names such as fd_read, path_open)`);
  const filter: TraceFilter = {
    ...(calls.length ? { calls } : {}),
    ...(p.flags.has('fd') ? { fd: wholeNumber(last('fd'), '--fd') } : {}),
    ...(p.flags.has('path') ? { path: last('path') } : {}),
    ...(p.flags.has('errors') ? { errors: true } : {}),
    ...(p.flags.has('from') ? { from: wholeNumber(last('from'), '--from') } : {}),
    ...(p.flags.has('to') ? { to: wholeNumber(last('to'), '--to') } : {}),
  };
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) throw new UsageError(`--from ${filter.from} is after --to ${filter.to}`);
  const width = wholeNumber(last('width'), '--width') ?? 32;
  const allRights = p.flags.has('all-rights');

  const reg = await openRegistry(p);
  const id = await reg.resolveProcessId(p.positionals[0]!);
  const rec = await reg.getProcess(id);
  if (!rec) throw new UserError(`no process ${id}`);
  const sources = p.flags.has('tasks') ? await treeSources(reg, id) : [await source(reg, id)];

  if (p.flags.has('fs')) {
    if (p.flags.has('tasks')) throw new UsageError('--fs tells the story of one process: leave out --tasks');
    const story = await fsStory(sources[0]!.log, filter);
    if (format === 'json') process.stdout.write(JSON.stringify(story, null, 2) + '\n');
    else printStory(story);
    return 0;
  }
  const out = new LineWriter();
  try {
    await printTrace(out, sources, filter, format, width, allRights, p.flags.has('tasks'));
  } catch (e) {
    if (e instanceof PipeClosed) return 0;
    throw e;
  }
  for (const s of sources) {
    const r = await reg.getProcess(s.process);
    const why = r ? logCutReason(r) : null;
    if (s.log.truncated || why) process.stderr.write(`wtm trace: the log of ${s.process} ${why === 'the process is still running' ? 'ends here so far' : 'is cut short'} after ${s.log.recordCount} calls (${why ?? 'the run was interrupted'})\n`);
  }
  return 0;
}

async function printTrace(out: LineWriter, sources: TraceSource[], filter: TraceFilter, format: string, width: number, allRights: boolean, tasks: boolean): Promise<void> {
  if (sources.length === 1 && !tasks) {
    const o = { width, allRights };
    for await (const batch of traceBatches(sources[0]!.log, filter)) {
      for (const { index, rec: call } of batch) out.line(format === 'json' ? JSON.stringify(traceJson(call, index, o)) : formatTraceLine(call, index, o));
      await out.flushIfFull();
    }
  } else {
    for await (const { index, rec: call, process: who, atNs } of interleave(sources, filter)) {
      const o = { width, allRights, process: who.slice(0, 8), atNs };
      out.line(format === 'json' ? JSON.stringify({ ...traceJson(call, index, o), process: who }) : formatTraceLine(call, index, o));
      await out.flushIfFull();
    }
  }
  await out.end();
}

/** The file-system story of a log; --path keeps what happened under a prefix, --from/--to a range. */
async function fsStory(log: LogStream, filter: TraceFilter): Promise<FsStory> {
  const b = new FsStoryBuilder(errnoName);
  const range: TraceFilter = { ...(filter.from !== undefined ? { from: filter.from } : {}), ...(filter.to !== undefined ? { to: filter.to } : {}) };
  for await (const batch of traceBatches(log, range)) for (const { index, rec } of batch) b.add(rec, index);
  const story = b.story();
  if (filter.path === undefined) return story;
  const under = (p: string | undefined) => p !== undefined && underGuestPath(p, filter.path!);
  return { events: story.events.filter((e) => under(e.path) || under(e.to)), files: story.files.filter((f) => under(f.path)) };
}

function printStory(story: FsStory): void {
  const lines = story.events.map((e) => {
    const what = e.kind === 'rename' || e.kind === 'link' ? `${e.path} -> ${e.to}` : e.kind === 'symlink' ? `${e.path} -> ${JSON.stringify(e.to)}` : e.path;
    return `${(e.start / 1e6).toFixed(3).padStart(10)} ms  #${e.index} ${e.kind.padEnd(8)} ${what}${e.mode ? ` (${e.mode})` : ''}${e.error ? `  = ${e.error}` : ''}`;
  });
  process.stdout.write(lines.length ? lines.join('\n') + '\n\n' : 'no file-system calls\n');
  if (story.files.length === 0) return;
  printTable(['PATH', 'OPENS', 'MODES', 'READ', 'WRITTEN', 'ERRORS', 'FATE'], story.files.map((f) => [
    f.path, String(f.opens), f.modes.join(',') || '-', formatBytes(f.bytesRead), formatBytes(f.bytesWritten), String(f.errors),
    [f.created ? 'created' : '', f.renamedTo ? `renamed to ${f.renamedTo}` : '', f.deleted ? 'deleted' : ''].filter(Boolean).join(', ') || '-',
  ]));
}

async function source(reg: Registry, id: string): Promise<TraceSource> {
  const rec = await reg.getProcess(id);
  const chunks = await reg.streamLog(id);
  if (!rec || !chunks) throw new UserError(`process ${id} has no log (was it run with --no-record?)`);
  return { process: id, startMs: Date.parse(rec.startTime), log: new LogStream(chunks) };
}

/** The process and every task below it that has a log. */
async function treeSources(reg: Registry, id: string): Promise<TraceSource[]> {
  const all = (await reg.scanProcesses()).records;
  const ids = [id];
  for (let i = 0; i < ids.length; i++) for (const r of all) if (r.parentId === ids[i]) ids.push(r.id);
  const out: TraceSource[] = [await source(reg, id)];
  for (const t of ids.slice(1)) {
    const chunks = await reg.streamLog(t);
    const r = all.find((x) => x.id === t)!;
    if (chunks) out.push({ process: t, startMs: Date.parse(r.startTime), log: new LogStream(chunks) });
  }
  return out;
}

/**
 * Lines to stdout in 64 KiB writes, waiting when the pipe is full: a million calls stream
 * at the pipe's speed in little memory. A closed pipe (`| head`) ends the trace quietly.
 */
class LineWriter {
  private buf = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  private closed = false;

  constructor() {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true;
    });
  }

  /** Adds a line; the buffer grows until flushIfFull() writes it. */
  line(s: string): void {
    if (this.closed) throw new PipeClosed();
    // Each line is encoded once, straight into the buffer (no joined string to flatten).
    const need = this.used + s.length * 3 + 1;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.used);
      this.buf = next;
    }
    this.used += this.buf.write(s, this.used);
    this.buf[this.used++] = 0x0a;
  }

  /** Writes the lines once 64 KiB are buffered, waiting while the pipe is full. */
  async flushIfFull(): Promise<void> {
    if (this.closed) throw new PipeClosed();
    if (this.used >= 1 << 16) await this.flush();
  }

  async end(): Promise<void> {
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.used === 0 || this.closed) return;
    const chunk = this.buf.subarray(0, this.used);
    // The stream may keep the chunk until it is written: the next lines go to a new buffer.
    this.buf = Buffer.allocUnsafe(1 << 17);
    this.used = 0;
    if (process.stdout.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        process.stdout.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      process.stdout.on('drain', done).on('error', done).on('close', done);
    });
  }
}

/** stdout was closed by its reader: not an error of the trace. */
export class PipeClosed extends Error {
  constructor() {
    super('stdout closed');
  }
}
