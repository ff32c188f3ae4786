import { collectGarbage, DEFAULT_GRACE_MS, GC_KINDS, type GcReport } from '../registry/gc.js';
import { durationMs, parseFlags, UsageError } from './args.js';
import { formatBytes, parseFormat, printData, printTable } from './output.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const gcHelp = `Usage: wtm gc [--dry-run] [--grace DURATION] [-o text|json|yaml]

Frees what no record of the registry names any more, and says what it freed (count and
bytes per kind):
  modules   module blobs no process record names
  configs   process configs no process record names
  logs      logs (and tails: unsealed ends of logs) with no process record
  oci       image blobs no image names
  layers    unpacked layers no image names
  tasks     task directories with no process record (never one younger than a minute)
  temp      temporary files and unpack directories that killed writers left behind

It is safe next to a running 'wtm run' or 'wtm image import': a module, a blob, a layer or a
directory is written a moment before the record that names it, so anything modified less than
the grace period ago (default 10m) is kept, and 'kept N younger than ...' says so.

Flags:
  --dry-run               only report what would be freed (and list it); remove nothing
  --grace DURATION        keep unreferenced objects younger than this: 90s, 10m, 2h, 1d, or 0
                          (a bare number is seconds; default 10m)
  -o, --output FORMAT     text (default), json or yaml (json lists every object too)
${registryHelp}`;

export async function gcCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, {
    ...registryFlag, 'dry-run': { value: false }, grace: { value: true }, o: { value: true }, output: { value: true },
    help: { value: false }, h: { value: false },
  });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(gcHelp + '\n');
    return 0;
  }
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${p.positionals[0]} (gc takes none)`);
  if (p.flags.has('o') && p.flags.has('output')) throw new UsageError('give -o or --output, not both');
  const format = parseFormat(p.flags.get('o') ?? p.flags.get('output'));
  const grace = p.flags.get('grace')?.[0];
  const graceMs = grace === undefined ? DEFAULT_GRACE_MS : parseDuration(grace);
  const registry = await openRegistry(p);
  const report = await collectGarbage(registry, { graceMs, dryRun: p.flags.has('dry-run') });
  for (const w of report.warnings) process.stderr.write(`wtm gc: warning: ${w}\n`);
  if (format !== 'text') printData(report, format);
  else printReport(report);
  return 0;
}

function printReport(r: GcReport): void {
  if (r.dryRun && r.items.length > 0) {
    printTable(['KIND', 'SIZE', 'PATH (in the registry)'], r.items.map((it) => [it.kind, formatBytes(it.bytes), it.name]));
    process.stdout.write('\n');
  }
  const verb = r.dryRun ? 'would free' : 'freed';
  if (r.total.count === 0) process.stdout.write(`${r.dryRun ? 'nothing to free' : 'nothing freed'}\n`);
  else {
    process.stdout.write(`${verb} ${plural(r.total.count, 'object')}, ${formatBytes(r.total.bytes)}${r.dryRun ? ' (dry run: nothing removed)' : ''}\n`);
    const rows = GC_KINDS.filter((k) => r.freed[k].count > 0).map((k) => [k, String(r.freed[k].count), formatBytes(r.freed[k].bytes)]);
    printTable(['KIND', 'COUNT', 'SIZE'], rows);
  }
  if (r.spared > 0) process.stdout.write(`kept ${plural(r.spared, 'unreferenced object')} younger than ${formatGrace(r.graceMs)} (--grace)\n`);
}

/** "90s", "10m", "2h", "1d", "500ms", "0"; a bare number is seconds. */
export function parseDuration(v: string): number {
  const ms = durationMs(v);
  if (ms === null) throw new UsageError(`--grace ${v}: expected a duration such as 90s, 10m, 2h or 0`);
  if (!Number.isFinite(ms) || ms > 3650 * 86_400_000) throw new UsageError(`--grace ${v}: too long`);
  return ms;
}

function formatGrace(ms: number): string {
  for (const [u, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms >= n && ms % n === 0) return `${ms / n}${u}`;
  return `${ms}ms`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
