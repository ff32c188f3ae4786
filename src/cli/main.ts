import { UserError } from '../runtime/index.js';
import { UsageError } from './args.js';
import { runCommand, runHelp } from './run.js';

const mainHelp = `wtm: the WebAssembly time machine

Usage: wtm COMMAND [flags]

Commands:
  run MODULE [ARGS...]   run a WASI command module in a sandbox

Run 'wtm COMMAND --help' for a command's flags.`;

const commands: Record<string, { run: (argv: readonly string[]) => Promise<number>; help: string }> = {
  run: { run: runCommand, help: runHelp },
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
    throw e;
  }
}
