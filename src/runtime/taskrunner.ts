import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from '../registry/registry.js';
import { sha256Hex } from '../registry/digest.js';
import { limitMemory } from './memlimit.js';
import type { WorkerPool } from './pool.js';
import { missingImport } from './process.js';
import type { MountConfig, ProcessConfig } from './config.js';
import { createTaskRoot, type TaskResult, type TaskSpec, type TaskState } from './tasks.js';

export interface TaskRunnerOptions {
  pool: WorkerPool;
  tasksDir: string;
  registry?: Registry;
  /** Bytes of stdout (and of stderr) kept per task; the rest is dropped and flagged. */
  outputLimit: number;
  wtmVersion: string;
}

/**
 * Runs one task: a fresh, dedicated, empty directory as its `/`, only the mounts its spec
 * names, only its spec's environment, a module compiled once and shared by every task that
 * runs it, and (with a registry) a record of its own naming its parent.
 */
export class TaskRunner {
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>();
  constructor(private readonly o: TaskRunnerOptions) {}

  async execute(id: string, spec: TaskSpec, signal: AbortSignal): Promise<TaskResult> {
    const started = new Date().toISOString();
    const base = { id, stdout: new Uint8Array(), stderr: new Uint8Array(), stdoutTruncated: false, stderrTruncated: false, startTime: started };
    let root = '';
    let module: WebAssembly.Module;
    let bytes: Uint8Array;
    let config: ProcessConfig;
    try {
      bytes = await this.moduleBytes(spec.module);
      module = await this.compile(bytes, spec.memoryLimitBytes);
      // The starter may name the task's `/` explicitly (a mount at `/`); otherwise the task
      // gets a fresh, dedicated, empty directory that nothing else uses.
      const given = spec.mounts?.find((m) => path.posix.normalize(m.guest) === '/');
      root = given ? path.resolve(given.host) : createTaskRoot(this.o.tasksDir, id);
      config = taskConfig(spec, root, !!given?.readonly);
    } catch (e) {
      return { ...base, state: 'error', exitCode: 1, error: (e as Error).message, root, endTime: new Date().toISOString() };
    }
    const registry = this.o.registry;
    config.record = !!registry;
    let saving: Promise<unknown> = Promise.resolve();
    let logBytes = 0;
    if (registry) {
      const moduleDigest = await registry.putModule(bytes);
      const configDigest = await registry.putConfig({
        moduleDigest, args: config.args, env: config.env, mounts: config.mounts, preopens: config.preopens,
        stdin: config.stdin instanceof Uint8Array ? 'bytes' : config.stdin, wtmVersion: this.o.wtmVersion,
        timeoutMs: spec.timeoutMs ?? null, memoryLimitBytes: spec.memoryLimitBytes ?? null,
      });
      await registry.createProcess({
        id, moduleDigest, configDigest, argv: config.args, startTime: started, state: 'running',
        wtmVersion: this.o.wtmVersion, ...(spec.parentId ? { parentId: spec.parentId } : {}),
      });
    }
    const out = new Bounded(this.o.outputLimit);
    const err = new Bounded(this.o.outputLimit);
    const r = await this.o.pool.run({
      module, config, timeoutMs: spec.timeoutMs, signal,
      onOutput: (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk),
      onLog: registry ? (chunk) => {
        logBytes += chunk.byteLength;
        saving = saving.then(() => registry.appendLog(id, chunk));
      } : undefined,
    });
    const state: TaskState = r.ended === 'timeout' ? 'timeout' : r.ended === 'cancelled' ? 'cancelled'
      : r.exitCode === 0 && !r.trap && !r.error ? 'success' : 'error';
    const endTime = new Date().toISOString();
    if (registry) {
      await saving;
      await registry.updateProcess(id, {
        endTime, exitCode: r.exitCode, logBytes, calls: r.calls ?? 0,
        state: r.ended === 'timeout' || r.ended === 'cancelled' ? 'killed' : r.trap ? 'trapped' : r.error ? 'failed' : 'exited',
        ...(r.trap ? { trap: r.trap } : {}),
      });
    }
    const error = r.trap ?? r.error;
    return {
      ...base, state, exitCode: r.exitCode, root, endTime,
      stdout: out.bytes(), stderr: err.bytes(), stdoutTruncated: out.truncated, stderrTruncated: err.truncated,
      ...(error ? { error } : {}),
    };
  }

  private async moduleBytes(ref: string): Promise<Uint8Array> {
    if (ref.startsWith('sha256:')) {
      const reg = this.o.registry;
      if (!reg) throw new Error(`module ${ref}: no registry to take it from`);
      const digest = await reg.resolveModuleDigest(ref);
      const bytes = await reg.getModule(digest);
      if (!bytes) throw new Error(`module ${ref} is not in the registry`);
      return bytes;
    }
    try {
      return await fs.promises.readFile(ref);
    } catch (e) {
      throw new Error(`cannot read module ${ref}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  /** Compiled once per (module, memory limit), shared by every task that runs it. */
  private compile(bytes: Uint8Array, limit: number | undefined): Promise<WebAssembly.Module> {
    const key = `${sha256Hex(bytes)}:${limit ?? ''}`;
    let m = this.modules.get(key);
    if (m === undefined) {
      m = (async () => {
        const code = limit === undefined ? bytes : limitMemory(bytes, limit);
        let mod: WebAssembly.Module;
        try {
          mod = await WebAssembly.compile(code as Uint8Array<ArrayBuffer>);
        } catch (e) {
          throw new Error(`not a valid WebAssembly module: ${(e as Error).message}`);
        }
        const missing = missingImport(mod);
        if (missing) throw new Error(`the module imports ${missing}, which wtm does not provide`);
        return mod;
      })();
      this.modules.set(key, m);
      m.catch(() => this.modules.delete(key));
    }
    return m;
  }
}

/** The process config of a task: its own root at `/`, its spec's mounts, nothing of the host. */
function taskConfig(spec: TaskSpec, root: string, rootReadonly: boolean): ProcessConfig {
  const mounts: MountConfig[] = [{ host: root, guest: '/', readonly: rootReadonly }];
  const st = fs.statSync(root, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new Error(`cannot mount ${root}: not a directory`);
  for (const m of spec.mounts ?? []) {
    if (!path.isAbsolute(m.guest)) throw new Error(`mount guest path must be absolute: ${m.guest}`);
    const guest = path.posix.normalize(m.guest).replace(/\/+$/, '') || '/';
    if (guest === '/') continue; // the root, placed above
    if (guest.split('/').includes('..')) throw new Error(`mount guest path may not contain '..': ${m.guest}`);
    const st = fs.statSync(m.host, { throwIfNoEntry: false });
    if (!st?.isDirectory()) throw new Error(`cannot mount ${m.host}: not a directory`);
    mounts.push({ host: m.host, guest, readonly: !!m.readonly });
  }
  const env = Array.isArray(spec.env) ? [...spec.env] : Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const stdin = spec.stdin === undefined ? 'null' : typeof spec.stdin === 'string' ? new TextEncoder().encode(spec.stdin) : spec.stdin;
  const argv0 = spec.module.startsWith('sha256:') ? spec.module.slice(0, 19) : path.basename(spec.module);
  return {
    args: [argv0, ...(spec.args ?? [])], env, mounts,
    preopens: mounts.map((m) => ({ name: m.guest, guestPath: m.guest })),
    stdin, stdout: 'pipe', stderr: 'pipe', record: false,
  };
}

/** Output kept up to a limit; the rest counted as dropped. */
class Bounded {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(c: Uint8Array): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      this.truncated ||= c.byteLength > 0;
      return;
    }
    const part = c.byteLength <= room ? c : c.subarray(0, room);
    if (part.byteLength < c.byteLength) this.truncated = true;
    this.chunks.push(part);
    this.size += part.byteLength;
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}
