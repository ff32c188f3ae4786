import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import type { Registry } from '../registry/registry.js';
import { removeTaskRoot, UserError } from '../runtime/index.js';
import { registryLocalDir } from './settings.js';
import { parseFlags, UsageError } from './args.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const rmHelp = `Usage: wtm rm [-r] [flags] ID...

Removes recorded processes: each one's record and log, and its task directory if it was a task
(task directories are kept after a task ends so its output files can be read). IDs may be
unique prefixes. Modules and configs stay (other processes may share them: 'wtm gc' frees
the ones nothing names any more).

A process that started tasks is removed only with -r, together with all its tasks and
theirs. A process that is still running is never removed (stop it first); one whose wtm was
killed (state interrupted) can be. Nothing is removed unless every ID can be.

Flags:
  -r, --recursive         remove each process with all its tasks (records, logs, directories)
  --keep-dir              remove the records and logs, keep the tasks' directories (until
                          'wtm gc', which frees directories no record names)
${registryHelp}`;

export async function rmCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, {
    ...registryFlag, 'keep-dir': { value: false }, recursive: { value: false }, r: { value: false },
    help: { value: false }, h: { value: false },
  });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(rmHelp + '\n');
    return 0;
  }
  if (p.positionals.length === 0) throw new UsageError('needs at least one process ID');
  const recursive = p.flags.has('recursive') || p.flags.has('r');
  const reg = await openRegistry(p);
  // Resolve and check every id first: a bad one removes nothing.
  const ids: string[] = [];
  for (const prefix of p.positionals) ids.push(await reg.resolveProcessId(prefix));
  const children = await childrenOf(reg);
  const order: string[] = []; // tasks before their parents: an interrupted rm leaves no task without its parent
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) continue;
    const kids = children.get(id) ?? [];
    if (kids.length > 0 && !recursive) {
      throw new UserError(`process ${id} has ${kids.length} task${kids.length === 1 ? '' : 's'}: remove it with them with --recursive (-r)`);
    }
    const tree = recursive ? descendants(id, children) : [id];
    for (const t of tree) {
      if (seen.has(t)) continue;
      seen.add(t);
      await refuseRunning(reg, t, id);
      order.push(t);
    }
  }
  const tasksDir = path.join(registryLocalDir(p), 'tasks');
  const rootsDir = path.join(path.dirname(tasksDir), 'roots');
  for (const id of order) {
    await reg.deleteProcess(id);
    if (!p.flags.has('keep-dir') && fs.existsSync(path.join(tasksDir, id))) removeTaskRoot(tasksDir, id);
    // The writable root of an image run (`wtm run IMAGE`), named by the process's id.
    if (!p.flags.has('keep-dir') && fs.existsSync(path.join(rootsDir, id))) removeTaskRoot(rootsDir, id);
    process.stdout.write(id + '\n');
  }
  return 0;
}

/** Process id → ids of the records naming it as parent (unreadable records are skipped). */
async function childrenOf(reg: Registry): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const id of await reg.store.listRecords('process')) {
    let rec: unknown;
    try {
      rec = await reg.store.getRecord('process', id);
    } catch {
      continue;
    }
    const parent = (rec as { parentId?: unknown } | null)?.parentId;
    if (typeof parent !== 'string') continue;
    const list = out.get(parent) ?? [];
    list.push(id);
    out.set(parent, list);
  }
  return out;
}

/** `id` and every process below it, deepest first (each task before its parent). */
function descendants(id: string, children: Map<string, string[]>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (x: string) => {
    if (seen.has(x)) return; // a cycle in hand-edited records
    seen.add(x);
    for (const c of children.get(x) ?? []) visit(c);
    out.push(x);
  };
  visit(id);
  return out;
}

/** Refuses a process that is still running (as getProcess reads it: a dead owner reads as interrupted). */
async function refuseRunning(reg: Registry, id: string, asked: string): Promise<void> {
  let rec: Awaited<ReturnType<Registry['getProcess']>>;
  try {
    rec = await reg.getProcess(id);
  } catch {
    return; // an unreadable record: removing it is how it is dealt with
  }
  if (rec?.state !== 'running') return;
  const owner = rec.pid === undefined ? 'pid unknown' : `pid ${rec.pid}${rec.host && rec.host !== os.hostname() ? ` on ${rec.host}` : ''}`;
  const what = id === asked ? `process ${id}` : `task ${id} of process ${asked}`;
  throw new UserError(`${what} is still running (${owner}); stop it first`);
}
