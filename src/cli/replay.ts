import { Runtime } from '../runtime/index.js';
import { parseFlags, UsageError } from './args.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const replayHelp = `Usage: wtm replay [flags] ID

Runs a recorded process again from its log alone: no host files, no clock, no stdin and no
network are touched. It reproduces the original stdout, stderr and exit code. Each call the
guest makes must match the recorded one; otherwise replay stops with an error naming the
record, the recorded call and the call the guest made. ID may be a unique prefix.

Flags:
${registryHelp}
  -h, --help              show this help`;

export async function replayCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, { ...registryFlag, help: { value: false }, h: { value: false } });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(replayHelp + '\n');
    return 0;
  }
  if (p.positionals.length !== 1) throw new UsageError('wtm replay needs one process ID');
  const registry = await openRegistry(p);
  const result = await new Runtime().replay({ registry, processId: p.positionals[0]! });
  if (result.error) process.stderr.write(`wtm: ${result.error}\n`);
  if (result.trap) process.stderr.write(`wtm: replayed trap: ${result.trap}\n`);
  return result.exitCode;
}
