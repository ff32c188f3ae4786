import { UserError } from '../runtime/index.js';
import type { Registry } from '../registry/registry.js';
import { LogStream } from '../timemachine/stream.js';
import { diffLogs, type LogDiff, type SequenceDiff, type ShownCall, type StreamDiff } from '../views/index.js';
import { parseFlags, UsageError } from './args.js';
import { printData, quietOnClosedPipe } from './output.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const diffHelp = `Usage: wtm diff [-o text|json] [--context K] [--show-env] ID1 ID2

Compares two recorded runs (of the same module, usually) from their logs: nothing is run
again. Their logs are walked in step, record against record; the first record where they
differ (another call, other parameters, another result or other bytes read or written;
start times and durations are never compared) is shown with its record number (0-based, as
replay names records), the call, its parameters and result in each run, after the K calls
before it (the same in both).

Then what differed over the whole runs, each kind of value compared in its own order (the
k-th clock read of one run against the k-th of the other, and so on), so that one extra call
does not make everything after it differ: clock values (clock_time_get), random bytes
(random_get), bytes read from files (fd_read, fd_pread) and from stdin, the environment
(names; values only with --show-env: they may hold secrets), the arguments, stdout and
stderr (the first differing byte and its line), the exit (state and code), and the calls
whose counts differ. Tasks are not compared: give their IDs to compare them. Runs of
different modules are compared all the same, after a line saying so. A log cut short is
compared as far as it goes, with a line saying so.

ID1 is A and ID2 is B; either may be a unique prefix.

Exit status (as diff(1)): 0 the runs are the same (no difference in N calls), 1 they
differ, 2 trouble (bad flags, an unknown ID, a process without a log, a damaged log).

Flags:
  -o, --output FORMAT     text (default) or json
  --context K             calls shown before the first difference (default 3)
  --show-env              show environment values, not only names
${registryHelp}`;

const flags = {
  ...registryFlag, help: { value: false }, h: { value: false }, o: { value: true }, output: { value: true },
  context: { value: true }, 'show-env': { value: false },
};

export async function diffCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, flags);
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(diffHelp + '\n');
    return 0;
  }
  const format = p.flags.get('o')?.[0] ?? p.flags.get('output')?.[0] ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`-o ${format}: expected text or json`);
  const ctx = p.flags.get('context')?.[0] ?? '3';
  if (!/^\d{1,6}$/.test(ctx)) throw new UsageError(`--context ${ctx}: expected a whole number of calls`);
  if (p.positionals.length !== 2) throw new UsageError('needs two process IDs');
  try {
    return await run(p.positionals as [string, string], format, Number(ctx), p.flags.has('show-env'), p);
  } catch (e) {
    // Trouble is exit 2, as diff(1) (1 means "different"): one line, as every wtm error.
    if (e instanceof UsageError) throw e;
    process.stderr.write(`wtm diff: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.WTM_DEBUG && !(e instanceof UserError)) process.stderr.write(`${(e as Error).stack}\n`);
    return 2;
  }
}

async function run(ids: [string, string], format: string, context: number, showEnv: boolean, p: Parameters<typeof openRegistry>[0]): Promise<number> {
  const reg = await openRegistry(p);
  const sides = await Promise.all(ids.map((given) => side(reg, given)));
  const [a, b] = sides as [Side, Side];
  const batches = async function* (log: LogStream) {
    for await (const b of log.batches()) yield b.records;
  };
  const d = await diffLogs({ records: batches(a.log), process: a.rec }, { records: batches(b.log), process: b.rec }, { context, showEnv });
  const cut = sides.flatMap((s, i) => (s.log.truncated ? [`the log of ${'AB'[i]} (${s.id}) is cut short after ${s.log.recordCount} calls: compared as far as it goes`] : []));
  if (format === 'json') {
    printData({ a: a.id, b: b.id, ...d, notes: cut }, 'json');
  } else {
    quietOnClosedPipe();
    process.stdout.write(render(d, a.id, b.id, cut, showEnv).join('\n') + '\n');
  }
  return d.same ? 0 : 1;
}

interface Side {
  id: string;
  rec: { moduleDigest: string; state: string; exitCode?: number };
  log: LogStream;
}

async function side(reg: Registry, given: string): Promise<Side> {
  const id = await reg.resolveProcessId(given);
  const rec = await reg.getProcess(id);
  if (!rec) throw new UserError(`no process ${id}`);
  const chunks = await reg.streamLog(id);
  if (!chunks) throw new UserError(`process ${id} has no log`);
  return { id, rec, log: new LogStream(chunks) };
}

/** The text report: each line says which run (A or B) it is about. */
export function render(d: LogDiff, idA: string, idB: string, notes: string[] = [], showEnv = false): string[] {
  const lines = [`A: ${idA}`, `B: ${idB}`, ...notes];
  if (d.modules) lines.push(`the modules differ: A is sha256:${d.modules[0]}, B is sha256:${d.modules[1]}`);
  if (d.same) {
    lines.push(`no difference in ${d.calls[0]} calls`);
    return lines;
  }
  const call = (c: ShownCall) => (c.result ? `${c.text} = ${c.result}` : c.text);
  if (d.first) {
    const f = d.first;
    lines.push('', `first difference at record ${f.record}: ${f.what === 'A ended' || f.what === 'B ended' ? `${f.what === 'A ended' ? 'A' : 'B'}'s log ends there` : `the ${f.what} differ${f.what === 'call' || f.what === 'result' ? 's' : ''}`}`);
    const w = String(f.record).length;
    for (const c of f.before) lines.push(`    record ${String(c.record).padStart(w)}  ${call(c)}`);
    lines.push(`  A record ${String(f.record).padStart(w)}  ${f.a ? call(f.a) : '(the log ends)'}`);
    lines.push(`  B record ${String(f.record).padStart(w)}  ${f.b ? call(f.b) : '(the log ends)'}`);
    if (f.a?.call === 'environ_get' && f.b?.call === 'environ_get' && !showEnv) lines.push('    (environment values are not shown: --show-env shows them)');
  }
  const summary: [string, string][] = [];
  if (d.calls[0] !== d.calls[1] || d.differInStep) {
    summary.push(['calls', `A made ${d.calls[0]} calls, B ${d.calls[1]}; ${d.differInStep} of the first ${Math.min(...d.calls)} differ record for record`]);
  }
  if (d.exit) summary.push(['exit', `A ${d.exit.a}, B ${d.exit.b}`]);
  if (d.args) summary.push(['args', `A ${JSON.stringify(d.args.a)}, B ${JSON.stringify(d.args.b)}`]);
  if (d.environment) {
    const e = d.environment;
    const parts = [];
    if (e.changed.length) parts.push(`${e.changed.join(' ')} differ${e.changed.length === 1 ? 's' : ''}`);
    if (e.onlyA.length) parts.push(`only A has ${e.onlyA.join(' ')}`);
    if (e.onlyB.length) parts.push(`only B has ${e.onlyB.join(' ')}`);
    const values = e.values ? `: ${e.values.map((v) => `${v.name} A ${v.a === null ? '(unset)' : JSON.stringify(v.a)} B ${v.b === null ? '(unset)' : JSON.stringify(v.b)}`).join(', ')}` : ' (values not shown: --show-env)';
    summary.push(['environment', parts.join('; ') + values]);
  }
  const seq = (name: string, what: string, s: SequenceDiff | undefined) => {
    if (!s) return;
    const f = s.first!;
    const [ra, rb] = f.records;
    const at = `#${f.index + 1} (${ra !== null && ra === rb ? `record ${ra}` : [ra === null ? '' : `A record ${ra}`, rb === null ? '' : `B record ${rb}`].filter(Boolean).join(', ')})`;
    summary.push([name, `${s.differ} of ${Math.min(s.a, s.b)} ${what} differ${s.a !== s.b ? ` (A has ${s.a}, B ${s.b})` : ''}; first ${at}: A ${f.a ?? '(none)'}, B ${f.b ?? '(none)'}`]);
  };
  seq('clock', 'clock_time_get results', d.clock);
  seq('random', 'random_get results', d.random);
  seq('file reads', 'reads (fd_read, fd_pread)', d.reads);
  seq('stdin', 'reads of stdin', d.stdin);
  const stream = (name: string, s: StreamDiff | undefined) => {
    if (!s) return;
    summary.push([name, `A wrote ${s.bytes[0]} bytes, B ${s.bytes[1]}; they differ from byte ${s.offset} (line ${s.line}): A ${s.a}${s.records[0] === null ? ' (its end)' : ` (record ${s.records[0]})`}, B ${s.b}${s.records[1] === null ? ' (its end)' : ` (record ${s.records[1]})`}`]);
  };
  stream('stdout', d.stdout);
  stream('stderr', d.stderr);
  if (d.counts) summary.push(['call counts', d.counts.map((c) => `${c.call} A ${c.a} B ${c.b}`).join(', ')]);
  if (summary.length) {
    lines.push('', 'over the whole runs:');
    const w = Math.max(...summary.map(([k]) => k.length));
    for (const [k, v] of summary) lines.push(`  ${(k + ':').padEnd(w + 1)} ${v}`);
  }
  return lines;
}
