import path from 'node:path';
import type { MountConfig, PreopenConfig, ProcessConfig } from './config.js';
import { checkChaos } from './configure.js';
import type { TaskSpec } from './tasks.js';

export function envList(env: TaskSpec['env']): string[] {
  return Array.isArray(env) ? [...env] : Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`);
}

/** argv[0] of a task: its spec's, or the module's file name. */
export function taskArgv0(spec: TaskSpec): string {
  return spec.argv0 ?? (typeof spec.module !== 'string' ? 'task.wasm'
    : spec.module.startsWith('sha256:') ? spec.module.slice(0, 19) : path.basename(spec.module));
}

/**
 * The mounts a task spec names, with normalised guest paths: the one at `/` (the starter chose
 * the task's root) apart from the others. Throws for a guest path that is relative or climbs.
 */
export function specMounts(spec: TaskSpec): { root?: MountConfig; others: MountConfig[] } {
  let root: MountConfig | undefined;
  const others: MountConfig[] = [];
  for (const m of spec.mounts ?? []) {
    if (!path.isAbsolute(m.guest)) throw new Error(`mount guest path must be absolute: ${m.guest}`);
    const guest = path.posix.normalize(m.guest).replace(/\/+$/, '') || '/';
    if (guest.split('/').includes('..')) throw new Error(`mount guest path may not contain '..': ${m.guest}`);
    const readonly = !!m.readonly || m.kind === 'tar';
    if (guest === '/') root ??= { ...m, guest, readonly };
    else others.push({ ...m, guest, readonly });
  }
  return { root, others };
}

/**
 * The process config of a task: `root` at `/`, the spec's other mounts (already opened, see
 * handles.ts), its spec's environment and stdin, nothing of the host.
 */
export function taskConfig(spec: TaskSpec, root: MountConfig, others: MountConfig[], imagePreopens?: PreopenConfig[]): ProcessConfig {
  const mounts: MountConfig[] = [root, ...others];
  const stdin = spec.stdin === undefined ? 'null' : typeof spec.stdin === 'string' ? new TextEncoder().encode(spec.stdin) : spec.stdin;
  let preopens: PreopenConfig[] = mounts.map((m) => ({ name: m.guest, guestPath: m.guest }));
  if (imagePreopens) {
    // An image's root, its top-level dirs and its WorkingDir as `.` last (hostview.ts).
    const dot = imagePreopens.findIndex((p) => p.name === '.');
    const rest = preopens.filter((p) => p.guestPath !== '/');
    preopens = dot >= 0 ? [...imagePreopens.slice(0, dot), ...rest, imagePreopens[dot]!] : [...imagePreopens, ...rest];
  }
  return {
    args: [taskArgv0(spec), ...(spec.args ?? [])], env: envList(spec.env), mounts, preopens,
    stdin, stdout: 'pipe', stderr: 'pipe', record: false,
    ...(spec.chaos ? { chaos: checkChaos(spec.chaos) } : {}),
  };
}
