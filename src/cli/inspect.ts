import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ProcessRecord } from '../registry/index.js';
import { logCutReason, type Registry } from '../registry/registry.js';
import { LogStream } from '../timemachine/stream.js';
import { UserError } from '../runtime/index.js';
import { lastLines, recordedOutput, summarizeLog, timestampedOutput, type OutputChunk } from '../views/index.js';
import { followLog } from '../timemachine/follow.js';
import { parseFlags, UsageError } from './args.js';
import { formatBytes, formatDuration, parseFormat, printData, printTable } from './output.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

const common = { ...registryFlag, help: { value: false }, h: { value: false } };
const withOutput = { ...common, o: { value: true }, output: { value: true } };
const getFlags = { ...withOutput, q: { value: false }, quiet: { value: false } };

export const getHelp = `Usage: wtm get processes|tasks|modules|configs|logs [ID...] [-q] [-o text|json|yaml]

Lists what the registry holds: recorded processes (newest first, each task under the process
that started it), tasks (processes started by another, with state and timings), modules (by
sha256), process configurations, and logs (with their sizes). 'get processes ID' shows that
process and its tasks (ID may be a unique prefix). Long commands are cut to the terminal's
width when stdout is a terminal.

Flags:
  -q, --quiet             print the ids (digests) only, one a line
  -o, --output FORMAT     text (a table, default), json or yaml
${registryHelp}`;

export async function getCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, getFlags);
  if (p.flags.has('help') || p.flags.has('h')) return help(getHelp);
  const format = parseFormat(p.flags.get('o') ?? p.flags.get('output'));
  const quiet = p.flags.has('q') || p.flags.has('quiet');
  const what = p.positionals[0];
  const ids = p.positionals.slice(1);
  if (ids.length && what !== 'processes' && what !== 'process' && what !== 'ps') throw new UsageError(`IDs are taken by 'get processes' only (not ${what})`);
  const reg = await openRegistry(p);
  const ids1 = (list: { id: string }[]) => process.stdout.write(list.map((r) => r.id).join('\n') + (list.length ? '\n' : ''));
  switch (what) {
    case 'processes': case 'process': case 'ps': {
      let list = await listProcesses(reg);
      if (ids.length) {
        // Each named process with the tasks below it.
        const keep = new Set<string>();
        for (const id of ids) keep.add(await reg.resolveProcessId(id));
        for (let grew = true; grew;) {
          grew = false;
          for (const r of list) if (r.parentId && keep.has(r.parentId) && !keep.has(r.id)) grew = !!keep.add(r.id);
        }
        list = list.filter((r) => keep.has(r.id));
      }
      if (quiet) return done(void ids1(list));
      if (format !== 'text') return done(printData(list, format));
      // As a tree: each task under the process that started it.
      printTable(['ID', 'STATE', 'EXIT', 'STARTED', 'DURATION', 'CALLS', 'LOG', 'COMMAND'], processTree(list).map(({ r, depth }) => [
        '  '.repeat(depth) + (depth ? '└ ' : '') + r.id, r.state === 'crashed' && r.signal ? `crashed (${r.signal})` : r.state, r.exitCode === undefined ? '-' : String(r.exitCode), r.startTime,
        r.endTime ? formatDuration(Date.parse(r.endTime) - Date.parse(r.startTime)) : '-',
        r.calls === undefined ? '-' : String(r.calls), formatBytes(r.logBytes), r.argv.join(' '),
      ]), { fitLast: true });
      return 0;
    }
    case 'tasks': case 'task': {
      const list = (await listProcesses(reg)).filter((r) => r.parentId);
      if (quiet) return done(void ids1(list));
      if (format !== 'text') return done(printData(list, format));
      printTable(['ID', 'PARENT', 'STATE', 'EXIT', 'STARTED', 'DURATION', 'COMMAND'], list.map((r) => [
        r.id, r.parentId!.slice(0, 8), taskState(r), r.exitCode === undefined ? '-' : String(r.exitCode), r.startTime,
        r.endTime ? formatDuration(Date.parse(r.endTime) - Date.parse(r.startTime)) : '-', r.argv.join(' '),
      ]));
      return 0;
    }
    case 'modules': case 'module': {
      const list = await reg.listModules();
      if (quiet) return done(void ids1(list.map((id) => ({ id }))));
      if (format !== 'text') return done(printData(list, format));
      printTable(['DIGEST'], list.map((d) => [d]));
      return 0;
    }
    case 'configs': case 'config': {
      const list = await reg.listConfigs();
      if (quiet) return done(void ids1(list.map((id) => ({ id }))));
      if (format !== 'text') return done(printData(list, format));
      printTable(['DIGEST'], list.map((d) => [d]));
      return 0;
    }
    case 'logs': case 'log': {
      const rows = [];
      for (const r of await listProcesses(reg)) rows.push({ process: r.id, bytes: await reg.logSize(r.id) });
      if (format !== 'text') return done(printData(rows, format));
      printTable(['PROCESS', 'SIZE'], rows.map((r) => [r.process, r.bytes === null ? '-' : formatBytes(r.bytes)]));
      return 0;
    }
    default:
      throw new UsageError(`needs one of processes, tasks, modules, configs, logs${what ? ` (not ${what})` : ''}`);
  }
}

export const describeHelp = `Usage: wtm describe [-o text|json|yaml] ID

Shows a recorded process: its module, arguments, mounts, timings, exit code, what calls it
made (counts, errors, time spent) and the size of its log. ID may be a unique prefix.

Flags:
  -o, --output FORMAT     text (default), json or yaml
${registryHelp}`;

export async function describeCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, withOutput);
  if (p.flags.has('help') || p.flags.has('h')) return help(describeHelp);
  const format = parseFormat(p.flags.get('o') ?? p.flags.get('output'));
  if (p.positionals.length !== 1) throw new UsageError('needs one process ID');
  const reg = await openRegistry(p);
  const id = await reg.resolveProcessId(p.positionals[0]!);
  const rec = await reg.getProcess(id);
  if (!rec) throw new UserError(`no process ${id}`);
  // A corrupt record of another process does not stop this one being described.
  const children = (await reg.scanProcesses()).records.filter((r) => r.parentId === id);
  const config = (await reg.getConfig(rec.configDigest)) as Record<string, unknown> | null;
  const logBytes = await reg.logSize(id);
  const chunks = logBytes > 0 ? await reg.streamLog(id) : null;
  const summary = chunks ? await summarizeLog(new LogStream(chunks)) : null;
  const log = summary ? { byteLength: logBytes } : null;
  const data = { process: rec, children: children.map((c) => c.id), config: config ? { ...config, env: undefined, envCount: (config.env as string[]).length, envNames: envNames(config.env as string[]) } : null, log: log ? { bytes: log.byteLength, ...summary } : null };
  if (format !== 'text') return done(printData(data, format));
  const lines = [
    `Process:   ${rec.id}`,
    ...(rec.parentId ? [`Parent:    ${rec.parentId}`] : []),
    ...(children.length ? [`Children:  ${children.map((c) => `${c.id} (${taskState(c)})`).join('\n           ')}`] : []),
    `State:     ${rec.state}${rec.signal ? ` by ${rec.signal}` : ''}${rec.exitCode === undefined ? '' : ` (exit code ${rec.exitCode})`}`,
    `Command:   ${rec.argv.join(' ')}`,
    ...(typeof config?.image === 'string' ? [`Image:     ${config.image}`] : []),
    `Module:    sha256:${rec.moduleDigest}`,
    `Started:   ${rec.startTime}`,
    `Ended:     ${rec.endTime ?? '-'}${rec.endTime ? ` (${formatDuration(Date.parse(rec.endTime) - Date.parse(rec.startTime))})` : ''}`,
  ];
  if (config) {
    const mounts = config.mounts as { host: string; guest: string; readonly?: boolean }[];
    const names = envNames(config.env as string[]);
    // Names only: the values (tokens too) are stored in the registry, never shown here.
    const fromHost = Array.isArray(config.hostEnv) ? (config.hostEnv as string[]).filter((n) => names.includes(n)).length : 0;
    const withheldEnv = Array.isArray(config.withheldEnv) ? (config.withheldEnv as string[]) : [];
    lines.push(`Env:       ${names.length} variable${names.length === 1 ? '' : 's'}${names.length ? ' (values stored in the registry, not shown)' : ''}${fromHost ? `, ${fromHost} inherited from the host` : ''}`);
    if (withheldEnv.length) {
      lines.push(`           values withheld by the export (${withheldEnv.length}):`);
      for (let i = 0; i < withheldEnv.length; i += 8) lines.push(`             ${withheldEnv.slice(i, i + 8).join(' ')}`);
    }
    for (let i = 0; i < names.length; i += 8) lines.push(`           ${names.slice(i, i + 8).join(' ')}`);
    lines.push(`Mounts:    ${mounts.length === 0 ? '(none)' : mounts.map((m) => `${m.host} -> ${m.guest}${m.readonly ? ' (ro)' : ''}`).join(', ')}`);
    const chaos = config.chaos as { seed: number; rate: number } | undefined;
    if (chaos) lines.push(`Chaos:     seed ${chaos.seed}, rate ${chaos.rate} (faults injected on purpose: --chaos ${chaos.seed}:${chaos.rate})`);
  }
  if (rec.trap) lines.push(`Trap:      ${rec.trap.split('\n')[0]}`);
  if (rec.error) lines.push(`Error:     ${rec.error}`);
  if (rec.state === 'running' && rec.pid) lines.push(`Owner:     wtm pid ${rec.pid} on ${rec.host ?? '?'}`);
  if (log && summary) {
    lines.push(`Log:       ${formatBytes(log.byteLength)}, ${summary.calls} calls in ${summary.batches} batches${summary.truncated ? ' (cut short)' : ''}, ${summary.calls ? (log.byteLength / summary.calls).toFixed(1) : 0} bytes/call`);
    lines.push('Calls:');
    for (const c of summary.byCall) lines.push(`  ${c.call.padEnd(24)} ${String(c.count).padStart(8)}  ${String(c.errors).padStart(6)} errors  ${formatDuration(c.totalNs / 1e6).padStart(9)}${c.injected ? `  ${c.injected} injected` : ''}`);
    if (summary.injected) {
      lines.push(`Injected:  ${summary.injected} results given by fault injection, not the system${summary.injected > summary.firstInjected.length ? `; the first ${summary.firstInjected.length}` : ''}:`);
      for (const f of summary.firstInjected) lines.push(`  #${f.index} ${f.call} = ${f.result}`);
    }
  } else {
    lines.push('Log:       (none)');
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

export const logsHelp = `Usage: wtm logs [-f] [--tail N] [-t] [--stream stdout|stderr] [-o text|json] ID

Prints what a recorded process wrote to stdout and stderr, in order, from its log: nothing is
run again. stdout goes to stdout and stderr to stderr. ID may be a unique prefix.

The log of an interrupted run (wtm killed or stopped) is cut short: what it holds is printed,
then a line on stderr says so (exit 0). A damaged batch: what comes before it is printed, then
one error line (exit 1).

Flags:
  -f, --follow            keep printing what a running process writes, as it writes it
                          (within ~200 ms), until it ends; a process that has ended prints
                          as without -f
  --tail N                only the last N lines (stdout and stderr together), then, with
                          -f, what comes after them
  -t, --timestamps        prefix each line with the time since the process started of the
                          write that began it, e.g. [   12.345 ms]; a write that does not end
                          its line is continued by the next write to the same stream
  --stream NAME           only stdout or only stderr (default: both)
  -o, --output FORMAT     text (default), or json: one JSON object per write on stdout,
                          {"t_ns": N, "stream": "stdout", "data": "TEXT"} (data that is not
                          UTF-8 is given in base64, with "base64": true)
${registryHelp}`;

export async function logsCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, { ...withOutput, t: { value: false }, timestamps: { value: false }, stream: { value: true }, f: { value: false }, follow: { value: false }, tail: { value: true } });
  if (p.flags.has('help') || p.flags.has('h')) return help(logsHelp);
  const format = p.flags.get('o')?.[0] ?? p.flags.get('output')?.[0] ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`-o ${format}: expected text or json`);
  const only = p.flags.get('stream')?.[0];
  if (only !== undefined && only !== 'stdout' && only !== 'stderr') throw new UsageError(`--stream ${only}: expected stdout or stderr`);
  const stamps = p.flags.has('t') || p.flags.has('timestamps');
  if (p.positionals.length !== 1) throw new UsageError('needs one process ID');
  const follow = p.flags.has('f') || p.flags.has('follow');
  const tailText = p.flags.get('tail')?.[0];
  if (tailText !== undefined && !/^\d+$/.test(tailText)) throw new UsageError(`--tail ${tailText}: expected a whole number of lines`);
  const tail = tailText === undefined ? undefined : Number(tailText);
  const reg = await openRegistry(p);
  const id = await reg.resolveProcessId(p.positionals[0]!);
  const state = async () => (await reg.getProcess(id))?.state;
  const following = follow && (await state()) === 'running';
  const file = following ? await reg.logPath(id, { mayNotExist: true }) : null;
  if (following && file === null) throw new UserError('logs -f follows logs of a local registry only');
  const chunks = following ? null : await reg.streamLog(id);
  if (!following && !chunks) throw new UserError(`process ${id} has no log`);
  const reader = new LogStream(chunks ?? (async function* () {})());
  const payloads = following
    ? followLog(file!, () => reg.readLogTail(id), async () => (await state()) === 'running')
    : reader.records();
  const mine = async function* (source: AsyncIterable<OutputChunk>) {
    for await (const c of source) if (only === undefined || c.stream === only) yield c;
  };
  let selected = () => mine(recordedOutput(payloads));
  if (tail !== undefined) {
    // The last N lines of what is there; following, what comes next goes on from there.
    if (following) {
      // What is there now (batches and the unsealed tail), counted; then what comes after it.
      let now = 0;
      const counted = async function* () {
        for await (const r of followLog(file!, () => reg.readLogTail(id), async () => (await state()) === 'running', { once: true })) {
          now++;
          yield r;
        }
      };
      const last = await lastLines(mine(recordedOutput(counted())), tail);
      selected = async function* () {
        yield* last;
        yield* mine(recordedOutput(followLog(file!, () => reg.readLogTail(id), async () => (await state()) === 'running', { from: now })));
      };
    } else {
      const last = await lastLines(mine(recordedOutput(payloads)), tail);
      selected = async function* () {
        yield* last;
      };
    }
  }
  // A damaged batch throws once the output before it is printed: one line, exit 1.
  if (format === 'json') {
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    for await (const c of selected()) {
      let line: string;
      try {
        line = JSON.stringify({ t_ns: c.start, stream: c.stream, data: utf8.decode(c.data) });
      } catch {
        line = JSON.stringify({ t_ns: c.start, stream: c.stream, data: Buffer.from(c.data).toString('base64'), base64: true });
      }
      writeAll(1, Buffer.from(line + '\n'));
    }
  } else {
    for await (const c of stamps ? timestampedOutput(selected()) : selected()) writeAll(c.stream === 'stdout' ? 1 : 2, c.data);
  }
  // A log cut short is printed as far as it goes: what is shown is right, so exit 0, with a warning.
  const rec = await reg.getProcess(id);
  const why = rec ? logCutReason(rec) : null;
  if (following) {
    // Followed to its end: say how it ended when that was not by itself.
    if (why) process.stderr.write(`wtm logs: ${id} ended: ${why}\n`);
  } else if (why === 'the process is still running') {
    process.stderr.write(`wtm logs: the log of ${id} ends after ${reader.recordCount} calls so far (${why})\n`);
  } else if (reader.truncated || why) {
    process.stderr.write(`wtm logs: the log of ${id} is cut short after ${reader.recordCount} calls (${why ?? 'the run was interrupted'})\n`);
  }
  return 0;
}

export const exportHelp = `Usage: wtm export [--with-host-env] ID FILE|-

Writes one self-contained file holding a recorded process: its record, config, module and
log. 'wtm import FILE' on another machine makes it replayable there. FILE '-' writes it to
stdout (not to a terminal), for 'wtm export ID - | ssh host wtm import -'.

The values of the environment variables the run inherited from the host (a token in your
shell, say) are left out (NAME= in the config and in the log's environ_get records): the file
goes to someone else. A replay of such a file stops at environ_get, naming the variables
withheld. Variables given with --env NAME=VALUE are kept. What the guest itself wrote (its
output, files) is exported as written.

Flags:
  --with-host-env         keep the values inherited from the host too
${registryHelp}`;

export async function exportCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, { ...common, 'with-host-env': { value: false } });
  if (p.flags.has('help') || p.flags.has('h')) return help(exportHelp);
  if (p.positionals.length !== 2) throw new UsageError('needs a process ID and a FILE');
  const reg = await openRegistry(p);
  const id = await reg.resolveProcessId(p.positionals[0]!);
  const file = p.positionals[1]!;
  if (file === '-') return exportToStdout(reg, id, p.flags.has('with-host-env'));
  if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new UserError(`${file} is a directory: give the file to write, e.g. ${path.join(file, `${id.slice(0, 8)}.wtm`)}`);
  const tmp = `${file}.tmp-${process.pid}`;
  // Written as it is read (the log is never held whole), then renamed into place: a failed
  // check (a corrupt module, config or log batch) leaves no file behind.
  let bytes = 0;
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w', 0o600);
  } catch (e) {
    throw new UserError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const withheld: string[] = [];
  try {
    for await (const chunk of reg.exportStream(id, { withHostEnv: p.flags.has('with-host-env'), withheld })) {
      for (let off = 0; off < chunk.byteLength;) off += fs.writeSync(fd, chunk, off);
      bytes += chunk.byteLength;
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  process.stderr.write(`wtm: exported ${id} to ${file} (${formatBytes(bytes)})\n`);
  sayWithheld(withheld);
  return 0;
}

/** The line an export says when it left values out (none when it did not). */
function sayWithheld(withheld: string[]): void {
  if (withheld.length === 0) return;
  const shown = withheld.length > 6 ? `${withheld.slice(0, 6).join(', ')} and ${withheld.length - 6} more` : withheld.join(', ');
  process.stderr.write(`wtm: withheld the values of ${withheld.length} variable${withheld.length === 1 ? '' : 's'} inherited from the host (${shown}); --with-host-env keeps them\n`);
}

/** `export ID -`: the file on stdout (never to a terminal), for a pipe (`| ssh host wtm import -`). */
async function exportToStdout(reg: Registry, id: string, withHostEnv: boolean): Promise<number> {
  if (process.stdout.isTTY) throw new UserError('refusing to write an export file to a terminal: redirect stdout, or give a FILE');
  const withheld: string[] = [];
  for await (const chunk of reg.exportStream(id, { withHostEnv, withheld })) {
    if (!process.stdout.write(chunk)) await new Promise<void>((r) => process.stdout.once('drain', r));
  }
  sayWithheld(withheld);
  return 0;
}

export const importHelp = `Usage: wtm import FILE|-

Reads a file written by 'wtm export' and stores the process in the registry, after checking
every digest in it. A malformed or tampered file is refused and nothing is stored. FILE '-'
reads it from stdin.

Flags:
${registryHelp}`;

export async function importCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, common);
  if (p.flags.has('help') || p.flags.has('h')) return help(importHelp);
  if (p.positionals.length !== 1) throw new UsageError('needs a FILE');
  const reg = await openRegistry(p);
  const given = p.positionals[0]!;
  // '-': stdin, copied to a private temporary file first (the import reads the file twice).
  const file = given === '-' ? await stdinToFile() : given;
  let id: string;
  try {
    id = await reg.importFile(file);
  } catch (e) {
    if (/^cannot read /.test((e as Error).message)) throw new UserError((e as Error).message);
    throw e;
  } finally {
    if (given === '-') fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
  process.stdout.write(id + '\n');
  return 0;
}

async function stdinToFile(): Promise<string> {
  if (process.stdin.isTTY) throw new UserError('import -: reads an export file from stdin, not from a terminal (pipe one in, or give a FILE)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-import-'));
  const file = path.join(dir, 'stdin.wtm');
  const out = fs.createWriteStream(file, { mode: 0o600 });
  await pipeline(process.stdin, out);
  return file;
}

/**
 * Writes all of `data` to a file descriptor: writeSync may write less to a pipe, and a pipe
 * that something made non-blocking answers EAGAIN when full (then wait 1 ms and go on).
 */
function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.byteLength;) {
    try {
      off += fs.writeSync(fd, data, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(PAUSE, 0, 0, 1);
    }
  }
}
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** The processes, after one warning line on stderr per record that could not be read. */
async function listProcesses(reg: Registry): Promise<ProcessRecord[]> {
  const { records, skipped } = await reg.scanProcesses();
  for (const s of skipped) process.stderr.write(`wtm: skipped corrupt process record ${s.id}: ${s.why}\n`);
  return records;
}

/** The names of `KEY=value` entries, in order. */
function envNames(env: string[]): string[] {
  return env.map((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e));
}

/** Processes in tree order: roots newest first, each followed by its tasks. */
function processTree(list: ProcessRecord[]): { r: ProcessRecord; depth: number }[] {
  const ids = new Set(list.map((r) => r.id));
  const kids = new Map<string, ProcessRecord[]>();
  for (const r of list) if (r.parentId && ids.has(r.parentId)) kids.set(r.parentId, [...(kids.get(r.parentId) ?? []), r]);
  const out: { r: ProcessRecord; depth: number }[] = [];
  const visit = (r: ProcessRecord, depth: number) => {
    out.push({ r, depth });
    for (const k of [...(kids.get(r.id) ?? [])].reverse()) visit(k, depth + 1);
  };
  for (const r of list) if (!r.parentId || !ids.has(r.parentId)) visit(r, 0);
  return out;
}

/** A task's state as the task API names it. */
function taskState(r: ProcessRecord): string {
  if (r.state === 'exited') return r.exitCode === 0 ? 'success' : 'error';
  // Stopped by wtm: the exit code says why (as the task API's TIMEOUT/CANCELLED_EXIT_CODE).
  if (r.state === 'killed') return r.exitCode === 124 ? 'timeout' : r.exitCode === 130 ? 'cancelled' : 'killed';
  if (r.state === 'cancelled' || r.state === 'interrupted') return r.state;
  if (r.state === 'crashed') return r.signal ? `crashed (${r.signal})` : 'crashed';
  return r.state === 'trapped' || r.state === 'failed' ? 'error' : r.state;
}

function help(text: string): number {
  process.stdout.write(text + '\n');
  return 0;
}

function done(_?: unknown): number {
  return 0;
}
