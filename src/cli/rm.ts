import path from 'node:path';
import fs from 'node:fs';
import { defaultTasksDir, removeTaskRoot } from '../runtime/index.js';
import { parseFlags, UsageError } from './args.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const rmHelp = `Usage: wtm rm [flags] ID...

Removes recorded processes: each one's record and log, and its task directory if it was a task
(task directories are kept after a task ends so its output files can be read). IDs may be
unique prefixes. Modules and configs stay (other processes may share them).

Flags:
  --keep-dir              remove the record and log, keep the task's directory
${registryHelp}`;

export async function rmCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, { ...registryFlag, 'keep-dir': { value: false }, help: { value: false }, h: { value: false } });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(rmHelp + '\n');
    return 0;
  }
  if (p.positionals.length === 0) throw new UsageError('wtm rm needs at least one process ID');
  const reg = await openRegistry(p);
  // Resolve every id first: a bad one removes nothing.
  const ids = [];
  for (const prefix of p.positionals) ids.push(await reg.resolveProcessId(prefix));
  const registryDir = p.flags.get('registry')?.[0];
  const tasksDir = registryDir ? path.join(path.resolve(registryDir), 'tasks') : defaultTasksDir();
  for (const id of ids) {
    await reg.deleteProcess(id);
    if (!p.flags.has('keep-dir') && fs.existsSync(path.join(tasksDir, id))) removeTaskRoot(tasksDir, id);
    process.stdout.write(id + '\n');
  }
  return 0;
}
