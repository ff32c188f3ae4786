import { Runtime } from '../runtime/index.js';
import { parseFlags, UsageError } from './args.js';
import { parseFormat } from './output.js';
import { traceFlag } from './run.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';
import { readPoint, reportPoint, type TimeTravel } from './timetravel.js';

export const replayHelp = `Usage: wtm replay [flags] ID

Runs a recorded process again from its log alone: no host files, no clock, no stdin and no
network are touched. It reproduces the original stdout, stderr and exit code. Each call the
guest makes must match the recorded one; otherwise replay stops with an error naming the
record, the recorded call and the call the guest made. ID may be a unique prefix.

Time travel: --until N stops the replay right after record N (records are numbered from 0,
as in 'at record N' errors and in traces) has been replayed and returned to the guest, and
exits 0 with 'wtm: stopped at record N of M' on stderr. There --inspect shows the guest's
state: its linear memory size, its open fds (guest path, offset, how each was opened, rebuilt
from the log) and its last calls; --dump-memory writes its linear memory to a file.

Flags:
  -T, --trace             print each replayed call to stderr as it is replayed, one line per
                          call in the format of 'wtm trace', in order with the replayed
                          stderr: the same lines as 'wtm run -T' printed (times and
                          durations are those recorded)
  --trace-width N         bytes of each buffer a trace line shows (default 32; 0: all);
                          implies -T
  --until N               stop after record N has been replayed
  --inspect               with --until: show memory size, open fds and the last calls
  --last K                with --inspect: how many calls to show (default 10)
  --dump-memory FILE      with --until: write the guest's linear memory there (mode 0600)
  -o, --output FORMAT     with --inspect: text (default) or json (the guest's own output is
                          then not printed)
${registryHelp}
  -h, --help              show this help`;

function whole(v: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(v) || Number(v) > max) throw new UsageError(`${flag} ${v}: expected a whole number from 0${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`);
  return Number(v);
}

export async function replayCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, {
    ...registryFlag, T: { value: false }, trace: { value: false }, 'trace-width': { value: true }, help: { value: false }, h: { value: false },
    until: { value: true }, inspect: { value: false }, last: { value: true }, 'dump-memory': { value: true },
    o: { value: true }, output: { value: true },
  });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(replayHelp + '\n');
    return 0;
  }
  const untilArg = p.flags.get('until')?.[0];
  const format = parseFormat(p.flags.get('o') ?? p.flags.get('output'));
  if (format === 'yaml') throw new UsageError('-o yaml: expected text or json');
  let travel: TimeTravel | undefined;
  if (untilArg !== undefined) {
    travel = {
      until: whole(untilArg, '--until'),
      inspect: p.flags.has('inspect'),
      last: p.flags.has('last') ? whole(p.flags.get('last')![0]!, '--last', 100_000) : 10,
      ...(p.flags.has('dump-memory') ? { dumpMemory: p.flags.get('dump-memory')![0]! } : {}),
      format,
    };
    if (travel.dumpMemory === '') throw new UsageError('--dump-memory needs a file name');
  } else {
    for (const f of ['inspect', 'last', 'dump-memory']) if (p.flags.has(f)) throw new UsageError(`--${f} needs --until N`);
    if (p.flags.has('o') || p.flags.has('output')) throw new UsageError('-o needs --until N and --inspect');
  }
  if (p.positionals.length !== 1) throw new UsageError('needs one process ID');
  const registry = await openRegistry(p);
  const trace = traceFlag(p);
  if (!travel) {
    const result = await new Runtime().replay({ registry, processId: p.positionals[0]!, ...(trace ? { trace } : {}) });
    if (result.error) process.stderr.write(`wtm: ${result.error}\n`);
    if (result.trap) process.stderr.write(`wtm: replayed trap: ${result.trap}\n`);
    // A run of --invoke: its function's results, as the run printed them.
    for (const v of result.results ?? []) process.stdout.write(`${v}\n`);
    return result.exitCode;
  }
  const id = await registry.resolveProcessId(p.positionals[0]!);
  const point = await readPoint(registry, id, travel);
  const quiet = travel.inspect && travel.format === 'json';
  const result = await new Runtime().replay({
    registry, processId: id, until: travel.until, memory: travel.dumpMemory !== undefined, ...(trace ? { trace } : {}),
    ...(quiet ? { stdout: 'null' as const, stderr: 'null' as const } : {}),
  });
  if (result.error) {
    process.stderr.write(`wtm: ${result.error}\n`);
    return result.exitCode;
  }
  if (result.stoppedAt === undefined && result.trap) {
    process.stderr.write(`wtm: replayed trap: ${result.trap}\n`);
  }
  reportPoint(id, travel, point, result);
  return 0;
}
