import fs from 'node:fs';
import path from 'node:path';
import { logCutReason } from '../registry/registry.js';
import { Runtime, UserError } from '../runtime/index.js';
import { LogStream } from '../timemachine/stream.js';
import { summarizeLog } from '../views/summary.js';
import { nameWasmFrames, summarizeProfile, type CpuProfile } from '../views/profile.js';
import { readWasmNames } from '../views/wasm-names.js';
import { parseFlags, UsageError } from './args.js';
import { formatDuration, parseFormat, printData, printTable } from './output.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const profileHelp = `Usage: wtm profile [flags] ID

Replays a recorded process from its log with V8's CPU profiler sampling the guest, writes the
profile (.cpuprofile: open it in Chrome DevTools' Performance panel or in speedscope) and shows
the functions that took the most time. The guest's functions are named from its module's name
section. Nothing of the host is touched: the replay reads the log alone (the guest's output is
not printed).

Time is split between the guest's own code (wasm), the host calls it made (wtm's WASI
imports, here replaying from the log) and the rest (instantiation, GC). The host time of
each call kind in the original run comes from the log's recorded durations. ID may be a
unique prefix.

Flags:
  --out FILE              where to write the .cpuprofile (default: ID.cpuprofile here)
  --pprof FILE            also write the profile as pprof (gzip-compressed protobuf)
  --top N                 functions shown, by self time (default 15)
  --interval US           sampling interval in µs (default 100)
  -o, --output FORMAT     text (default) or json: the summary
${registryHelp}
  -h, --help              show this help`;

function whole(v: string | undefined, flag: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`${flag} ${v}: expected a whole number from ${min} to ${max}`);
  return Number(v);
}

export async function profileCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, {
    ...registryFlag, help: { value: false }, h: { value: false }, o: { value: true }, output: { value: true },
    out: { value: true }, pprof: { value: true }, top: { value: true }, interval: { value: true },
  });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(profileHelp + '\n');
    return 0;
  }
  const format = parseFormat(p.flags.get('o') ?? p.flags.get('output'));
  if (format === 'yaml') throw new UsageError('-o yaml: expected text or json');
  if (p.positionals.length !== 1) throw new UsageError('needs one process ID');
  const top = whole(p.flags.get('top')?.[0], '--top', 1, 10_000, 15);
  const intervalUs = whole(p.flags.get('interval')?.[0], '--interval', 1, 1_000_000, 100);
  const registry = await openRegistry(p);
  const id = await registry.resolveProcessId(p.positionals[0]!);
  const rec = await registry.getProcess(id);
  if (!rec) throw new UserError(`no process ${p.positionals[0]}`);
  const out = path.resolve(p.flags.get('out')?.[0] ?? `${id}.cpuprofile`);
  const pprofOut = p.flags.get('pprof')?.[0];

  const result = await new Runtime().replay({ registry, processId: id, stdout: 'null', stderr: 'null', profile: { intervalUs } });
  const profile = result.profile as CpuProfile | undefined;
  // A run that was killed or interrupted is profiled as far as its log goes.
  const partial = result.error !== undefined && profile !== undefined && logCutReason(rec) !== null && result.error.startsWith('the log ends here')
    ? `the replay stopped where the log ends (${logCutReason(rec)}): the profile covers the recorded part of the run`
    : undefined;
  if (result.error && !partial) throw new UserError(`cannot profile ${id}: ${result.error}`);
  if (!profile) throw new UserError(`cannot profile ${id}: the replay gave no profile`);
  const module = await registry.getModule(rec.moduleDigest);
  if (module) {
    try {
      nameWasmFrames(profile, readWasmNames(module));
    } catch {
      // The module compiled, so V8 read it; frames keep the names V8 gave them.
    }
  }
  write(out, JSON.stringify(profile));
  if (pprofOut !== undefined) {
    const { toPprof } = await import('../views/pprof.js');
    write(path.resolve(pprofOut), await toPprof(profile, { intervalUs, startedAt: new Date(rec.startTime) }));
  }

  const summary = summarizeProfile(profile, top);
  const chunks = await registry.streamLog(id);
  const log = chunks ? await summarizeLog(new LogStream(chunks)) : null;
  const runMs = rec.endTime ? Date.parse(rec.endTime) - Date.parse(rec.startTime) : null;
  const hostCalls = (log?.byCall ?? []).map((c) => ({ call: c.call, count: c.count, ms: Math.round(c.totalNs / 1e3) / 1e3 }))
    .sort((a, b) => b.ms - a.ms);
  const data = {
    process: id,
    command: rec.argv,
    cpuprofile: out,
    ...(pprofOut !== undefined ? { pprof: path.resolve(pprofOut) } : {}),
    intervalUs,
    ...(partial ? { partial } : { exitCode: result.exitCode }),
    ...(result.trap ? { trap: result.trap.split('\n')[0] } : {}),
    profile: summary,
    run: {
      /** The recorded run: its record's start to end. */
      wallMs: runMs,
      /** The guest's first call's start to its last call's end, from the log. */
      callSpanMs: log ? Math.round(log.spanNs / 1e3) / 1e3 : null,
      calls: log?.calls ?? 0,
      hostMs: Math.round(hostCalls.reduce((a, c) => a + c.ms, 0) * 1000) / 1000,
      hostByCall: hostCalls,
    },
  };
  if (format === 'json') {
    printData(data, 'json');
    return 0;
  }
  const pct = (v: number) => (summary.sampledMs > 0 ? `${((v / summary.sampledMs) * 100).toFixed(1)}%` : '-');
  const t = summary.time;
  process.stdout.write([
    `Profile of ${id} (${rec.argv.join(' ')})`,
    `Written:   ${out}${pprofOut !== undefined ? `\n           ${path.resolve(pprofOut)} (pprof)` : ''}`,
    `           (open the .cpuprofile in Chrome DevTools, Performance panel, or in speedscope)`,
    `Wall time: ${formatDuration(summary.wallMs)} profiled replay (${summary.samples} samples over ${formatDuration(summary.sampledMs)}, every ${intervalUs}µs); ` +
      `${runMs === null ? 'original run: unknown' : `original run ${formatDuration(runMs)}`}` +
      `${log ? `, of which ${formatDuration(log.spanNs / 1e6)} from first to last call` : ''}`,
    `Time:      guest (wasm) ${formatDuration(t.wasm)} ${pct(t.wasm)}, host calls ${formatDuration(t.host)} ${pct(t.host)}, ` +
      `GC ${formatDuration(t.gc)}, other (start-up, instantiation) ${formatDuration(t.other)}`,
    '',
  ].join('\n'));
  printTable(['SELF', 'SELF%', 'TOTAL', 'TOTAL%', 'FUNCTION'], summary.top.map((f) => [
    `${f.selfMs.toFixed(1)}ms`, `${f.selfPercent.toFixed(1)}%`, `${f.totalMs.toFixed(1)}ms`, `${f.totalPercent.toFixed(1)}%`,
    f.kind === 'wasm' ? f.name : `${f.name} [${f.kind}${f.location ? ` ${f.location}` : ''}]`,
  ]));
  const shown = hostCalls.slice(0, 8).map((c) => `${c.call} ${c.count}× ${formatDuration(c.ms)}`).join(', ');
  process.stdout.write(`\nHost time in the original run (recorded): ${log?.calls ?? 0} calls, ${formatDuration(data.run.hostMs)}${shown ? `: ${shown}` : ''}${hostCalls.length > 8 ? ', …' : ''}\n`);
  const replayHost = summary.hostByImport.slice(0, 8).map((h) => `${h.name} ${formatDuration(h.ms)}`).join(', ');
  process.stdout.write(`Host time while profiled (replaying): ${formatDuration(t.host)}${replayHost ? `: ${replayHost}` : ''}\n`);
  if (result.trap) process.stdout.write(`The guest trapped (as in the run): ${result.trap.split('\n')[0]}\n`);
  if (partial) process.stdout.write(`Note: ${partial}.\n`);
  return 0;
}

function write(file: string, data: string | Uint8Array): void {
  try {
    fs.writeFileSync(file, data);
  } catch (e) {
    throw new UserError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
