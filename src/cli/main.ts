import { UserError } from '../runtime/index.js';
import { UsageError } from './args.js';
import {
  describeCommand, describeHelp, exportCommand, exportHelp, getCommand, getHelp, importCommand, importHelp,
  logsCommand, logsHelp,
} from './inspect.js';
import { diffCommand, diffHelp } from './diff.js';
import { gcCommand, gcHelp } from './gc.js';
import { imageCommand, imageHelp } from './image.js';
import { replayCommand, replayHelp } from './replay.js';
import { rmCommand, rmHelp } from './rm.js';
import { runCommand, runHelp } from './run.js';
import { timelineCommand, timelineHelp } from './timeline.js';
import { traceCommand, traceHelp } from './trace.js';

const mainHelp = `wtm: the WebAssembly time machine

Usage: wtm COMMAND [flags]

Commands:
  run MODULE [ARGS...]   run a WASI command module in a sandbox (recorded by default)
  replay ID              run a recorded process again from its log alone
  get processes|tasks|modules|configs|logs
                         list what the registry holds
  describe ID            show a recorded process: config, timings, calls, log size
  logs ID                print a recorded process's stdout and stderr (-t: with times)
  trace ID               print every call a recorded process made, decoded (strace-like)
  diff ID1 ID2           compare two recorded runs: the first differing call, then what
                         differed (clock, random, files read, env, output, exit, calls)
  timeline ID            write a self-contained HTML page of a process and its tasks over
                         time (every call, stdout and stderr)
  export ID FILE         write a recorded process to one self-contained file
  import FILE            store a process written by export
  rm ID...               remove recorded processes (and task directories); -r with their tasks
  gc                     free what no record names (orphan modules, logs, layers, leftovers)
  image import|ls|rm     manage OCI images (layouts, OCI archives, docker save archives)

The registry is $WTM_HOME, or ~/.wtm; every command takes --registry DIR.

Run 'wtm COMMAND --help' for a command's flags.`;

const commands: Record<string, { run: (argv: readonly string[]) => Promise<number>; help: string }> = {
  run: { run: runCommand, help: runHelp },
  replay: { run: replayCommand, help: replayHelp },
  get: { run: getCommand, help: getHelp },
  describe: { run: describeCommand, help: describeHelp },
  logs: { run: logsCommand, help: logsHelp },
  trace: { run: traceCommand, help: traceHelp },
  diff: { run: diffCommand, help: diffHelp },
  timeline: { run: timelineCommand, help: timelineHelp },
  export: { run: exportCommand, help: exportHelp },
  import: { run: importCommand, help: importHelp },
  rm: { run: rmCommand, help: rmHelp },
  gc: { run: gcCommand, help: gcHelp },
  image: { run: imageCommand, help: imageHelp },
};

/** The CLI: returns the process exit code; bad input gives one line on stderr, never a stack. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    process.stdout.write((topic && commands[topic] ? commands[topic].help : mainHelp) + '\n');
    return 0;
  }
  const cmd = commands[name];
  if (cmd === undefined) {
    process.stderr.write(`wtm: unknown command '${name}' (try 'wtm --help')\n`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`wtm ${name}: ${e.message} (try 'wtm ${name} --help')\n`);
      return 2;
    }
    if (e instanceof UserError) {
      process.stderr.write(`wtm ${name}: ${e.message}\n`);
      return 1;
    }
    // Anything else (a registry or log error) is still one line; WTM_DEBUG=1 shows the stack.
    process.stderr.write(`wtm ${name}: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.WTM_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
