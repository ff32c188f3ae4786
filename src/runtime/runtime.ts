import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { ExitReport, MountConfig, OutputConfig, PreopenConfig, ProcessConfig, StdinConfig } from './config.js';
import { hostView } from './hostview.js';

/** What to run: a module with its arguments, environment, mounts and stdio. */
export interface RunOptions {
  /** A path to a .wasm file, its bytes, or a compiled module. */
  module: string | Uint8Array | WebAssembly.Module;
  /** Arguments after argv[0]. */
  args?: string[];
  /** argv[0]; defaults to the module path (or `main.wasm`). */
  argv0?: string;
  /** Environment variables (`KEY=value` strings or an object). */
  env?: string[] | Record<string, string>;
  /** Host directories placed in the guest's tree, each also a preopen. */
  mounts?: MountConfig[];
  /**
   * Trusted mode: the guest sees the host's `/` and relative paths resolve against `cwd`, as
   * if the OS ran it (and, in the CLI, the host's environment). Off by default in the library:
   * a guest sees only its mounts. An explicit mount at `/` replaces the host's root.
   */
  hostAccess?: boolean;
  /** Working directory for relative paths in trusted mode (default: process.cwd()). */
  cwd?: string;
  stdin?: StdinConfig;
  stdout?: OutputConfig;
  stderr?: OutputConfig;
}

export interface RunResult {
  exitCode: number;
  /** The trap message and wasm stack, when the guest trapped. */
  trap?: string;
  /** Set when the guest could not be started (bad module, import, mount). */
  error?: string;
  /** Captured output when stdout/stderr was 'pipe'. */
  stdout?: Uint8Array;
  stderr?: Uint8Array;
}

/** Thrown for input a user can fix (bad module file, bad mount): one clear line. */
export class UserError extends Error {}

const workerUrl = new URL('./worker.js', import.meta.url);

/** Runs WASI modules, each process in its own worker thread. */
export class Runtime {
  /** Compiles a module from a path or bytes (UserError for a missing or invalid file). */
  async compile(module: string | Uint8Array | WebAssembly.Module): Promise<WebAssembly.Module> {
    if (module instanceof WebAssembly.Module) return module;
    let bytes: Uint8Array;
    if (typeof module === 'string') {
      try {
        bytes = await fs.promises.readFile(module);
      } catch (e) {
        throw new UserError(`cannot read module ${module}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    } else {
      bytes = module;
    }
    try {
      return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    } catch (e) {
      const where = typeof module === 'string' ? module : 'the module';
      throw new UserError(`${where} is not a valid WebAssembly module: ${(e as Error).message}`);
    }
  }

  /** The process configuration `run` would use (exposed for recording and tests). */
  configure(opts: RunOptions): ProcessConfig {
    const mounts: MountConfig[] = [];
    let preopens: PreopenConfig[] = [];
    for (const m of opts.mounts ?? []) checkMount(m);
    const explicitRoot = (opts.mounts ?? []).some((m) => normalize(m.guest) === '/');
    if (opts.hostAccess && !explicitRoot) {
      const view = hostView(opts.cwd ?? process.cwd());
      mounts.push(...view.mounts);
      preopens = view.preopens;
    }
    for (const m of opts.mounts ?? []) {
      const guest = normalize(m.guest);
      mounts.push({ host: m.host, guest, readonly: !!m.readonly });
      // A mount's preopen goes before the cwd's `.`, which must stay last (see hostview.ts).
      const dot = preopens.findIndex((p) => p.name === '.');
      const p = { name: guest, guestPath: guest };
      if (dot >= 0) preopens.splice(dot, 0, p);
      else preopens.push(p);
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
    };
  }

  /** Runs a module to its end in a worker thread. */
  async run(opts: RunOptions): Promise<RunResult> {
    const module = await this.compile(opts.module);
    const config = this.configure(opts);
    return runInWorker(module, config);
  }
}

function normalize(p: string): string {
  if (!p.startsWith('/')) throw new UserError(`guest path must be absolute: ${p}`);
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new UserError(`guest path may not contain '..': ${p}`);
  return '/' + parts.join('/');
}

function checkMount(m: MountConfig): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(m.host);
  } catch {
    throw new UserError(`cannot mount ${m.host}: no such directory`);
  }
  if (!st.isDirectory()) throw new UserError(`cannot mount ${m.host}: not a directory`);
  normalize(m.guest);
}

/** Runs one process in a fresh worker and collects its exit report and piped output. */
export function runInWorker(module: WebAssembly.Module, config: ProcessConfig): Promise<RunResult> {
  return new Promise((resolve) => {
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    let report: ExitReport | null = null;
    const worker = new Worker(workerUrl, { workerData: { module, config }, stdout: false, stderr: false });
    worker.on('message', (msg: { stream?: 'stdout' | 'stderr'; chunk?: Uint8Array; exit?: ExitReport }) => {
      if (msg.exit) report = msg.exit;
      else if (msg.stream === 'stdout') out.push(msg.chunk!);
      else if (msg.stream === 'stderr') err.push(msg.chunk!);
    });
    worker.on('error', (e) => {
      report ??= { exitCode: 1, error: `the worker failed: ${e.message}` };
    });
    worker.on('exit', () => {
      const r: RunResult = { ...(report ?? { exitCode: 1, error: 'the worker ended without a report' }) };
      if (config.stdout === 'pipe') r.stdout = Buffer.concat(out);
      if (config.stderr === 'pipe') r.stderr = Buffer.concat(err);
      resolve(r);
    });
  });
}
