import { takeSnapshot } from '../registry/snapshot.js';
import { UserError } from '../runtime/index.js';
import { parseFlags, UsageError } from './args.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const snapshotHelp = `Usage: wtm snapshot DIR [flags]

Stores the directory tree DIR in the registry as a snapshot and prints its id (sha256:HEX).
Each file's content is stored once (files/sha256/HEX), whatever its name or how many
snapshots hold it; symbolic links are kept as links (never followed), other special files
are left out. A task spec mounts a snapshot read-only, or writable as the lower layer of the
task's own directory ("snapshots": [{"snapshot": "sha256:HEX", "guest": "/data",
"writable": true}]); unlike a host directory it travels with a task to another machine
(wtm worker), and the task's result names its changes as snapshots. See docs/distributed.md.

Flags:
${registryHelp}
  -h, --help              show this help`;

export async function snapshotCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, { ...registryFlag, help: { value: false }, h: { value: false } });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(snapshotHelp + '\n');
    return 0;
  }
  if (p.positionals.length !== 1) throw new UsageError('needs one DIR');
  const dir = p.positionals[0]!;
  const registry = await openRegistry(p);
  let taken: Awaited<ReturnType<typeof takeSnapshot>>;
  try {
    taken = await takeSnapshot(registry, dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError(err.code ? `cannot snapshot ${dir}: ${err.code} ${err.path ?? ''}`.trim() : err.message);
  }
  process.stdout.write(`sha256:${taken.digest}\n`);
  process.stderr.write(`wtm: snapshot of ${dir}: ${taken.files} files (${taken.bytes} bytes, ${taken.stored} new to the registry), ${taken.dirs} directories, ${taken.links} links\n`);
  return 0;
}
