import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from '../registry/registry.js';
import { sha256Hex } from '../registry/digest.js';
import { limitMemory } from './memlimit.js';
import type { GuestTaskHandlers, WorkerPool } from './pool.js';
import { missingImport } from './process.js';
import { storedConfig, type MountConfig, type PreopenConfig, type ProcessConfig } from './config.js';
import { createTaskRoot, type TaskResult, type TaskSpec, type TaskState } from './tasks.js';
import { prepareImageRun } from '../oci/run.js';

export interface TaskRunnerOptions {
  pool: WorkerPool;
  tasksDir: string;
  registry?: Registry;
  /** Bytes of stdout (and of stderr) kept per task; the rest is dropped and flagged. */
  outputLimit: number;
  wtmVersion: string;
  keepTaskDirs?: 'always' | 'never';
  /** Where image layers are unpacked (once, shared by every task of an image). */
  layersDir: string;
  /** Serves the task calls of a task (tasks may start tasks), naming it as their parent. */
  guestTasks?: (parentId: string) => GuestTaskHandlers;
}

/**
 * Runs one task: a fresh, dedicated, empty directory as its `/`, only the mounts its spec
 * names, only its spec's environment, a module compiled once and shared by every task that
 * runs it, and (with a registry) a record of its own naming its parent.
 */
export class TaskRunner {
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>();
  private readonly files = new Map<string, { mtimeMs: number; size: number; bytes: Uint8Array }>();
  private readonly digests = new ModuleDigests();
  constructor(private readonly o: TaskRunnerOptions) {}

  async execute(id: string, spec: TaskSpec, signal: AbortSignal, release: () => void = () => {}): Promise<TaskResult> {
    const started = new Date().toISOString();
    const base = { id, stdout: new Uint8Array(), stderr: new Uint8Array(), stdoutTruncated: false, stderrTruncated: false, startTime: started };
    let root = '';
    let module: WebAssembly.Module;
    let bytes: Uint8Array;
    let config: ProcessConfig;
    let given: MountConfig | undefined;
    try {
      if (spec.image !== undefined) {
        // The image's tree, with this task's own fresh directory as its writable layer.
        if (!this.o.registry) throw new Error(`image ${spec.image}: no registry to take it from`);
        if (spec.module !== undefined && (typeof spec.module !== 'string' || !spec.module.startsWith('/'))) {
          throw new Error('with an image, module names a .wasm inside it by absolute path');
        }
        const run = await prepareImageRun(this.o.registry, spec.image, this.o.layersDir, this.o.tasksDir, id, spec.module as string | undefined);
        bytes = run.module;
        root = run.root.host;
        const imageSpec: TaskSpec = { ...spec, argv0: spec.argv0 ?? run.argv0, args: [...run.args, ...(spec.args ?? [])], env: [...run.env, ...envList(spec.env), `PWD=${run.workingDir}`] };
        config = taskConfig(imageSpec, root, false, run.root, run.preopens);
      } else {
        if (spec.module === undefined) throw new Error('a task spec needs a module or an image');
        bytes = await this.moduleBytes(spec.module);
        // The starter may name the task's `/` explicitly (a mount at `/`); otherwise the task
        // gets a fresh, dedicated, empty directory that nothing else uses.
        given = spec.mounts?.find((m) => path.posix.normalize(m.guest) === '/');
        root = given ? path.resolve(given.host) : createTaskRoot(this.o.tasksDir, id);
        config = taskConfig(spec, root, !!given?.readonly);
      }
      module = await this.compile(bytes, spec.memoryLimitBytes);
    } catch (e) {
      return { ...base, state: 'error', exitCode: 1, error: (e as Error).message, root, endTime: new Date().toISOString() };
    }
    const registry = this.o.registry;
    config.record = !!registry;
    // Module and config are stored while the task already runs; its process record is written
    // once, when it has ended (the queue knows running tasks; one write per task, not two).
    let saving: Promise<unknown> = Promise.resolve();
    let stored: Promise<{ moduleDigest: string; configDigest: string }> | null = null;
    let logBytes = 0;
    if (registry) {
      const cfg = config;
      stored = (async () => {
        const moduleDigest = await this.digests.put(registry, bytes);
        // A fresh task root is named `{task}` (it is TASKS_DIR/ID): tasks run with the same
        // spec then share one config entry.
        const mounts = given ? cfg.mounts : cfg.mounts.map((m, i) => (i === 0 ? { ...m, host: '{task}' } : m));
        const configDigest = await registry.putConfig(storedConfig({ ...cfg, mounts }, moduleDigest, this.o.wtmVersion, {
          timeoutMs: spec.timeoutMs ?? null, memoryLimitBytes: spec.memoryLimitBytes ?? null,
        }));
        return { moduleDigest, configDigest };
      })();
      saving = stored;
    }
    const out = new Bounded(this.o.outputLimit);
    const err = new Bounded(this.o.outputLimit);
    config.processId = id;
    const r = await this.o.pool.run({
      module, moduleKey: `${this.digests.of(bytes)}:${spec.memoryLimitBytes ?? ''}`, config, timeoutMs: spec.timeoutMs, signal, tasks: this.o.guestTasks?.(id),
      onOutput: (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk),
      onLog: registry ? (chunk) => {
        logBytes += chunk.byteLength;
        saving = saving.then(() => registry.appendLog(id, chunk));
      } : undefined,
    });
    release();
    if (this.o.keepTaskDirs === 'never' && !given) fs.rmSync(root, { recursive: true, force: true });
    const state: TaskState = r.ended === 'timeout' ? 'timeout' : r.ended === 'cancelled' ? 'cancelled'
      : r.exitCode === 0 && !r.trap && !r.error ? 'success' : 'error';
    const endTime = new Date().toISOString();
    if (registry && stored) {
      await saving;
      const { moduleDigest, configDigest } = await stored;
      await registry.createProcess({
        id, moduleDigest, configDigest, argv: config.args, startTime: started, wtmVersion: this.o.wtmVersion,
        ...(spec.parentId ? { parentId: spec.parentId } : {}),
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

  private async moduleBytes(ref: string | Uint8Array): Promise<Uint8Array> {
    if (ref instanceof Uint8Array) return ref;
    if (ref.startsWith('sha256:')) {
      const reg = this.o.registry;
      if (!reg) throw new Error(`module ${ref}: no registry to take it from`);
      const digest = await reg.resolveModuleDigest(ref);
      const bytes = await reg.getModule(digest);
      if (!bytes) throw new Error(`module ${ref} is not in the registry`);
      return bytes;
    }
    try {
      // Read again only when the file changed: many tasks run the same module.
      // A sync stat (~3 µs): an async one waits behind the registry's writes in libuv's pool.
      const st = fs.statSync(ref);
      const known = this.files.get(ref);
      if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) return known.bytes;
      const bytes = await fs.promises.readFile(ref);
      if (this.files.size > 256) this.files.clear();
      this.files.set(ref, { mtimeMs: st.mtimeMs, size: st.size, bytes });
      return bytes;
    } catch (e) {
      throw new Error(`cannot read module ${ref}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  /** Compiled once per (module, memory limit), shared by every task that runs it. */
  private compile(bytes: Uint8Array, limit: number | undefined): Promise<WebAssembly.Module> {
    const key = `${this.digests.of(bytes)}:${limit ?? ''}`;
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
function envList(env: TaskSpec['env']): string[] {
  return Array.isArray(env) ? [...env] : Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`);
}

function taskConfig(spec: TaskSpec, root: string, rootReadonly: boolean, rootMount?: MountConfig, imagePreopens?: PreopenConfig[]): ProcessConfig {
  const mounts: MountConfig[] = [rootMount ?? { host: root, guest: '/', readonly: rootReadonly }];
  const st = fs.statSync(root, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new Error(`cannot mount ${root}: not a directory`);
  for (const m of spec.mounts ?? []) {
    if (!path.isAbsolute(m.guest)) throw new Error(`mount guest path must be absolute: ${m.guest}`);
    const guest = path.posix.normalize(m.guest).replace(/\/+$/, '') || '/';
    if (guest === '/') continue; // the root, placed above
    if (guest.split('/').includes('..')) throw new Error(`mount guest path may not contain '..': ${m.guest}`);
    const st = fs.statSync(m.host, { throwIfNoEntry: false });
    if (m.kind === 'tar' ? !st?.isFile() : !st?.isDirectory()) throw new Error(`cannot mount ${m.host}: not a ${m.kind === 'tar' ? 'file' : 'directory'}`);
    mounts.push({ host: m.host, guest, readonly: !!m.readonly || m.kind === 'tar', ...(m.kind ? { kind: m.kind } : {}) });
  }
  const env = envList(spec.env);
  const stdin = spec.stdin === undefined ? 'null' : typeof spec.stdin === 'string' ? new TextEncoder().encode(spec.stdin) : spec.stdin;
  const argv0 = spec.argv0 ?? (typeof spec.module !== 'string' ? 'task.wasm'
    : spec.module.startsWith('sha256:') ? spec.module.slice(0, 19) : path.basename(spec.module));
  let preopens: PreopenConfig[] = mounts.map((m) => ({ name: m.guest, guestPath: m.guest }));
  if (imagePreopens) {
    // An image's root, its top-level dirs and its WorkingDir as `.` last (hostview.ts).
    const dot = imagePreopens.findIndex((p) => p.name === '.');
    const rest = preopens.filter((p) => p.guestPath !== '/');
    preopens = dot >= 0 ? [...imagePreopens.slice(0, dot), ...rest, imagePreopens[dot]!] : [...imagePreopens, ...rest];
  }
  return {
    args: [argv0, ...(spec.args ?? [])], env, mounts, preopens,
    stdin, stdout: 'pipe', stderr: 'pipe', record: false,
  };
}

/** sha256 of module bytes, computed once per bytes object; modules stored once per registry. */
class ModuleDigests {
  private readonly known = new WeakMap<Uint8Array, string>();
  private readonly stored = new WeakMap<Registry, Set<string>>();
  of(bytes: Uint8Array): string {
    let d = this.known.get(bytes);
    if (d === undefined) {
      d = sha256Hex(bytes);
      this.known.set(bytes, d);
    }
    return d;
  }
  async put(registry: Registry, bytes: Uint8Array): Promise<string> {
    const digest = this.of(bytes);
    let set = this.stored.get(registry);
    if (set === undefined) this.stored.set(registry, (set = new Set()));
    if (!set.has(digest)) {
      await registry.putModule(bytes);
      set.add(digest);
    }
    return digest;
  }
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
