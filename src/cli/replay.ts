import { Runtime } from '../runtime/index.js';
import { parseFlags, UsageError } from './args.js';
import { traceFlag } from './run.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const replayHelp = `Usage: wtm replay [flags] ID

Runs a recorded process again from its log alone: no host files, no clock, no stdin and no
network are touched. It reproduces the original stdout, stderr and exit code. Each call the
guest makes must match the recorded one; otherwise replay stops with an error naming the
record, the recorded call and the call the guest made. ID may be a unique prefix.

Flags:
  -T, --trace             print each replayed call to stderr as it is replayed, one line per
                          call in the format of 'wtm trace', in order with the replayed
                          stderr: the same lines as 'wtm run -T' printed (times and
                          durations are those recorded)
  --trace-width N         bytes of each buffer a trace line shows (default 32; 0: all);
                          implies -T
${registryHelp}
  -h, --help              show this help`;

export async function replayCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, {
    ...registryFlag, T: { value: false }, trace: { value: false }, 'trace-width': { value: true }, help: { value: false }, h: { value: false },
  });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(replayHelp + '\n');
    return 0;
  }
  if (p.positionals.length !== 1) throw new UsageError('wtm replay needs one process ID');
  const registry = await openRegistry(p);
  const trace = traceFlag(p);
  const result = await new Runtime().replay({ registry, processId: p.positionals[0]!, ...(trace ? { trace } : {}) });
  if (result.error) process.stderr.write(`wtm: ${result.error}\n`);
  if (result.trap) process.stderr.write(`wtm: replayed trap: ${result.trap}\n`);
  return result.exitCode;
}
