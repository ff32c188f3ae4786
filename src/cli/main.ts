import { UserError, WTM_VERSION } from '../runtime/index.js';
import { closest, UsageError } from './args.js';
import { completionCommand, completionHelp } from './completion.js';
import { configCommand, configHelp } from './config.js';
import {
  describeCommand, describeHelp, exportCommand, exportHelp, getCommand, getHelp, importCommand, importHelp,
  logsCommand, logsHelp,
} from './inspect.js';
import { diffCommand, diffHelp } from './diff.js';
import { gcCommand, gcHelp } from './gc.js';
import { closeOpened } from './registry.js';
import { workerCommand, workerHelp } from './worker.js';
import { snapshotCommand, snapshotHelp } from './snapshot.js';
import { imageCommand, imageHelp } from './image.js';
import { profileCommand, profileHelp } from './profile.js';
import { replayCommand, replayHelp } from './replay.js';
import { rmCommand, rmHelp } from './rm.js';
import { runCommand, runHelp } from './run.js';
import { timelineCommand, timelineHelp } from './timeline.js';
import { traceCommand, traceHelp } from './trace.js';

const mainHelp = `wtm: the WebAssembly time machine

Usage: wtm COMMAND [flags]
       wtm MODULE.wasm [ARGS...]   (the same as wtm run MODULE.wasm ARGS...)

Commands:
  run MODULE [ARGS...]   run a WASI command module in a sandbox (recorded by default)
  replay ID              run a recorded process again from its log alone
  profile ID             replay a recorded process under V8's CPU profiler (.cpuprofile, pprof)
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
  image import|pull|tag|ls|rm
                         manage OCI images (layouts, OCI archives, docker save archives, registries)
  worker --queue URL     serve a task queue on NATS JetStream (tasks of 'wtm run --queue URL')
  snapshot DIR           store a directory tree in the registry, for tasks to mount anywhere
  version                print wtm's version (also --version)
  config [--edit]        show (or edit) the settings: registry location, run defaults
  completion bash|zsh    print a shell completion script

The registry is $WTM_HOME, or ~/.wtm; every command takes --registry DIR, before or after
the command's name (as does -o, the output format, where a command has one).

Run 'wtm COMMAND --help' for a command's flags.`;

const commands: Record<string, { run: (argv: readonly string[]) => Promise<number>; help: string }> = {
  run: { run: runCommand, help: runHelp },
  replay: { run: replayCommand, help: replayHelp },
  profile: { run: profileCommand, help: profileHelp },
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
  worker: { run: workerCommand, help: workerHelp },
  snapshot: { run: snapshotCommand, help: snapshotHelp },
  config: { run: configCommand, help: configHelp },
  completion: { run: async (argv) => completionCommand(argv, Object.fromEntries(Object.entries(commands).map(([n, c]) => [n, c.help]))), help: completionHelp },
};

/** The CLI: returns the process exit code; bad input gives one line on stderr, never a stack. */
export async function main(argv: readonly string[]): Promise<number> {
  // Global flags may come before the command (`wtm --registry DIR get processes`): they are
  // handed to the command first.
  const globals: string[] = [];
  let i = 0;
  while (i < argv.length && /^(--registry|-o|--output)(=.*)?$/.test(argv[i]!)) {
    globals.push(argv[i]!);
    if (!argv[i]!.includes('=') && i + 1 < argv.length) globals.push(argv[++i]!);
    i++;
  }
  if (globals.length) {
    if (i >= argv.length) {
      process.stderr.write(`wtm: ${globals[0]} needs a command after it (try 'wtm --help')\n`);
      return 2;
    }
    return main([argv[i]!, ...globals, ...argv.slice(i + 1)]);
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && commands[topic] === undefined) {
      const near = closest(topic, Object.keys(commands));
      process.stderr.write(`wtm help: no command '${topic}'${near ? ` (did you mean '${near}'?)` : ` (try 'wtm --help')`}\n`);
      return 2;
    }
    process.stdout.write((topic ? commands[topic]!.help : mainHelp) + '\n');
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`wtm ${WTM_VERSION} (node ${process.versions.node}, v8 ${process.versions.v8})\n`);
    return 0;
  }
  // `wtm hello.wasm ARGS`: run a module without saying run, as wasmtime does.
  if ((name.endsWith('.wasm') || name.endsWith('.wat')) && commands[name] === undefined) return main(['run', ...argv]);
  const cmd = commands[name];
  if (cmd === undefined) {
    const near = closest(name, Object.keys(commands));
    process.stderr.write(`wtm: unknown command '${name}'${near ? ` (did you mean 'wtm ${near}'?)` : ` (try 'wtm --help')`}\n`);
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
  } finally {
    await closeOpened();
  }
}

