import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../runtime/index.js';
import type { Parsed } from './args.js';
import { isNatsUrl, parseNatsUrl } from '../registry/nats-link.js';

const require = createRequire(import.meta.url);

/** The `run` flags a settings file may give defaults for. */
export const RUN_SETTINGS = ['timeout', 'max-memory', 'max-tasks', 'max-tasks-per-tree', 'max-task-depth', 'max-fds'] as const;

/** What `$WTM_HOME/config.yaml` may hold. */
export interface Settings {
  /** The registry directory (default: $WTM_HOME, or ~/.wtm). */
  registry?: string;
  /** Defaults for `wtm run` flags, by flag name; a flag given on the command line wins. */
  run?: Partial<Record<(typeof RUN_SETTINGS)[number], string | number>>;
}

export const SETTINGS_TEMPLATE = `# wtm settings (wtm config shows them, wtm config --edit edits this file).
# Every setting is optional; a flag given on the command line wins over it.

# Where records, modules, logs and images are kept (default: $WTM_HOME, or ~/.wtm).
# registry: ~/.wtm

# Defaults for 'wtm run' (the flags of the same names, see 'wtm run --help').
run:
  # timeout: 10m            # stop a guest after this long (exit 124)
  # max-memory: 2G          # linear memory limit
  # max-tasks: 4            # task processes at once
  # max-tasks-per-tree: 1024
  # max-task-depth: 8
  # max-fds: 1024
`;

/** wtm's home: $WTM_HOME, or ~/.wtm. */
export function wtmHome(): string {
  return process.env.WTM_HOME || path.join(os.homedir(), '.wtm');
}

export function settingsPath(): string {
  return path.join(wtmHome(), 'config.yaml');
}

let cached: Settings | undefined;

/** The settings file's contents, checked (an empty object when there is none: one stat, no YAML loaded). */
export function loadSettings(file = settingsPath()): Settings {
  if (cached !== undefined && file === settingsPath()) return cached;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return (cached = {});
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let data: unknown;
  try {
    data = (require('yaml') as typeof import('yaml')).parse(text);
  } catch (e) {
    throw new UserError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return (cached = checkSettings(data ?? {}, file));
}

function checkSettings(data: unknown, file: string): Settings {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UserError(`${file}: expected a mapping of settings`);
  const out: Settings = {};
  for (const [k, v] of Object.entries(data)) {
    if (k === 'registry') {
      if (typeof v !== 'string' || v === '') throw new UserError(`${file}: registry must be a directory path or a nats:// URL`);
      out.registry = isNatsUrl(v) ? v : v.startsWith('~/') ? path.join(os.homedir(), v.slice(2)) : path.resolve(path.dirname(file), v);
    } else if (k === 'run') {
      if (v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v)) throw new UserError(`${file}: run must be a mapping of flag names to values`);
      out.run = {};
      for (const [flag, value] of Object.entries(v as object)) {
        if (!(RUN_SETTINGS as readonly string[]).includes(flag)) throw new UserError(`${file}: unknown setting run.${flag} (known: ${RUN_SETTINGS.join(', ')})`);
        if (typeof value !== 'string' && typeof value !== 'number') throw new UserError(`${file}: run.${flag} must be a value such as the flag takes`);
        out.run[flag as (typeof RUN_SETTINGS)[number]] = value;
      }
    } else {
      throw new UserError(`${file}: unknown setting ${k} (known: registry, run)`);
    }
  }
  return out;
}

/**
 * The registry: --registry, else $WTM_REGISTRY, else the settings file's, else $WTM_HOME or
 * ~/.wtm. A directory, or a nats:// URL (a registry on NATS JetStream: docs/distributed.md).
 */
export function registryDir(p: Parsed): string {
  return p.flags.get('registry')?.[0] ?? (process.env.WTM_REGISTRY || undefined) ?? loadSettings().registry ?? wtmHome();
}

/**
 * The local directory of the registry's working files (task directories, image roots,
 * unpacked layers): the registry's own directory, or for a nats:// registry a directory of
 * this machine under wtm's home (remote/HOST-PORT), which also caches its content-addressed blobs.
 */
export function registryLocalDir(p: Parsed): string {
  const reg = registryDir(p);
  return isNatsUrl(reg) ? remoteLocalDir(reg) : path.resolve(reg);
}

/** Fills the `run` flags not given on the command line from the settings file. */
export function applyRunSettings(p: Parsed): void {
  const run = loadSettings().run ?? {};
  for (const [flag, value] of Object.entries(run)) if (!p.flags.has(flag)) p.flags.set(flag, [String(value)]);
}

/** wtm's home/remote/HOST-PORT for a nats:// registry (a bad URL throws a UserError). */
export function remoteLocalDir(url: string): string {
  let label: string;
  try {
    label = parseNatsUrl(url).server;
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  return path.join(wtmHome(), 'remote', label.replace(/[^A-Za-z0-9.-]/g, '-'));
}
