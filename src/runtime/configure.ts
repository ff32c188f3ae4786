import fs from 'node:fs';
import path from 'node:path';
import type { MountConfig, PreopenConfig, ProcessConfig } from './config.js';
import { hostView } from './hostview.js';
import type { RunOptions } from './options.js';
import type { ChaosOptions } from '../system/chaos.js';

/** Thrown for input a user can fix (bad module file, bad mount): one clear line. */
export class UserError extends Error {}

/** A library caller's chaos options, checked as the CLI's are. */
export function checkChaos(c: ChaosOptions): ChaosOptions {
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) throw new UserError(`chaos.seed must be a whole number from 0 to 2^53-1 (got ${c.seed})`);
  if (c.rate !== undefined && !(c.rate > 0 && c.rate <= 1)) throw new UserError(`chaos.rate must be above 0 and at most 1 (got ${c.rate})`);
  return { seed: c.seed, ...(c.rate !== undefined ? { rate: c.rate } : {}) };
}

/**
 * The process configuration of a run: its mounts (host paths; the runtime opens them as
 * handles just before the worker starts), preopens in the order wasi-libc needs, environment
 * and stdio.
 */
export function configureRun(opts: RunOptions): ProcessConfig {
  const mounts: MountConfig[] = [];
  let preopens: PreopenConfig[] = [];
  for (const m of opts.mounts ?? []) checkMount(m);
  const explicitRoot = (opts.mounts ?? []).some((m) => normalize(m.guest) === '/');
  if (opts.hostAccess && !explicitRoot) {
    const view = hostView(opts.cwd ?? process.cwd());
    mounts.push(...view.mounts);
    preopens = view.preopens;
    const cwd = preopens.find((p) => p.name === '.')?.guestPath;
    if (cwd !== undefined) for (const m of opts.mounts ?? []) checkCwdNotHidden(cwd, m);
  }
  for (const m of opts.mounts ?? []) {
    const guest = normalize(m.guest);
    mounts.push({ ...m, guest, readonly: !!m.readonly || m.kind === 'tar' });
    // A mount's preopen goes before the cwd's `.`, which must stay last (see hostview.ts).
    const dot = preopens.findIndex((p) => p.name === '.');
    const p = { name: guest, guestPath: guest };
    if (dot >= 0) preopens.splice(dot, 0, p);
    else preopens.push(p);
  }
  if (opts.preopens) {
    const named = new Set(opts.preopens.map((p) => p.guestPath));
    const rest = preopens.filter((p) => !named.has(p.guestPath));
    const dot = opts.preopens.findIndex((p) => p.name === '.');
    preopens = dot >= 0 ? [...opts.preopens.slice(0, dot), ...rest, ...opts.preopens.slice(dot)] : [...opts.preopens, ...rest];
  }
  if (opts.workingDir && opts.workingDir !== '/' && !preopens.some((p) => p.name === '.')) {
    preopens.push({ name: '.', guestPath: normalize(opts.workingDir) });
  }
  const env = Array.isArray(opts.env) ? [...opts.env] : Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const argv0 = opts.argv0 ?? (typeof opts.module === 'string' ? opts.module : 'main.wasm');
  return {
    args: [argv0, ...(opts.args ?? [])],
    env,
    mounts,
    preopens,
    stdin: opts.stdin ?? 'null',
    stdout: opts.stdout ?? 'inherit',
    stderr: opts.stderr ?? 'inherit',
    record: false,
    ...(opts.trace ? { trace: { ...opts.trace } } : {}),
    ...(opts.chaos ? { chaos: checkChaos(opts.chaos) } : {}),
  };
}

function normalize(p: string): string {
  if (!p.startsWith('/')) throw new UserError(`guest path must be absolute: ${p}`);
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new UserError(`guest path may not contain '..': ${p}`);
  return '/' + parts.join('/');
}

/**
 * A mount over the current directory's guest path takes relative paths into the mount (`.` is
 * that guest path): refused with a clear line when the mount has no such directory, instead of
 * a worker failing to preopen it.
 */
function checkCwdNotHidden(cwd: string, m: MountConfig): void {
  if (m.handle || m.kind === 'tar') return;
  const guest = normalize(m.guest);
  if (cwd !== guest && !cwd.startsWith(guest + '/')) return;
  const inMount = path.join(m.host, cwd.slice(guest.length));
  let isDir = false;
  try {
    isDir = fs.statSync(inMount).isDirectory();
  } catch {
    // no such directory: hidden
  }
  if (!isDir) {
    throw new UserError(`the mount of ${m.host} at ${guest} covers the current directory ${cwd}, and has no ${inMount} for relative paths to use: run wtm from another directory, or mount at another guest path`);
  }
}

function checkMount(m: MountConfig): void {
  if (m.handle) return void normalize(m.guest); // the caller's handle is what is mounted
  let st: fs.Stats;
  try {
    st = fs.statSync(m.host);
  } catch {
    throw new UserError(`cannot mount ${m.host}: no such ${m.kind === 'tar' ? 'file' : 'directory'}`);
  }
  if (m.kind === 'tar' ? !st.isFile() : !st.isDirectory()) throw new UserError(`cannot mount ${m.host}: not a ${m.kind === 'tar' ? 'file' : 'directory'}`);
  normalize(m.guest);
}

