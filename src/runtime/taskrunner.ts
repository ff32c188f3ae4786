import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from '../registry/registry.js';
import { closeDirHandle, createDirHandle, openDirHandle, type DirHandle } from '../fs/hostfs.js';
import { limitMemory } from './memlimit.js';
import type { JobPool, JobResult } from './pool.js';
import { Recording } from './recording.js';
import { anySignal } from './signals.js';
import { checkImports } from './imports.js';
import { storedConfig, type MountConfig, type ProcessConfig, type TraceOptions } from './config.js';
import { closeMountHandles, openMountHandles } from './handles.js';
import { envList, specMounts, taskArgv0, taskConfig } from './taskconfig.js';
import type { TaskServer } from './tree.js';
import type { TaskResult, TaskSpec, TaskState } from './tasks.js';
import { prepareImageRun } from '../oci/run.js';
import { Bounded } from './bounded.js';
import { resolveSnapshots, storeChanges, type ResolvedSnapshots } from './snapshot-mounts.js';
import { ModuleDigests } from './digests.js';
import { mkdirsSync } from '../fs/mkdirs.js';

export interface TaskRunnerOptions {
  pool: JobPool;
  tasksDir: string;
  registry?: Registry;
  /** Bytes of stdout (and of stderr) kept per task; the rest is dropped and flagged. */
  outputLimit: number;
  wtmVersion: string;
  keepTaskDirs?: 'always' | 'never';
  /** Where image layers are unpacked (once, shared by every task of an image). */
  layersDir: string;
  /** Serves the task calls of a task (tasks may start tasks), naming it as their parent. */
  guestTasks?: (id: string) => TaskServer | undefined;
  /** The live trace of a task's tree, if it is traced (Runtime: the tree's `trace`). */
  traceOf?: (id: string) => TraceOptions | undefined;
  /** Open fds each task may hold (its fd table's limit). */
  maxOpenFiles?: number;
  /** Aborted when the host process is interrupted (Runtime.interrupt): every task stops, recorded as interrupted. */
  interrupt?: AbortSignal;
}

/**
 * Runs one task: a fresh, dedicated, empty directory as its `/`, only the mounts its spec
 * names, only its spec's environment, a module compiled once and shared by every task that
 * runs it, and (with a registry) a record of its own naming its parent. Every directory the
 * task mounts reaches its worker as a handle: its fresh root is made and opened under the
 * handle on the tasks directory, never re-opened by path.
 */
export class TaskRunner {
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>();
  private readonly files = new Map<string, { mtimeMs: number; size: number; bytes: Uint8Array }>();
  private readonly digests = new ModuleDigests();
  private tasksHandle: DirHandle | null = null;
  constructor(private readonly o: TaskRunnerOptions) {}

  /** The tasks directory, made and opened on first use. */
  private tasksRoot(): DirHandle {
    if (this.tasksHandle === null) {
      mkdirsSync(this.o.tasksDir, 0o700);
      this.tasksHandle = openDirHandle(this.o.tasksDir);
    }
    return this.tasksHandle;
  }

  /**
   * A task with snapshot mounts (snapshot-mounts.ts): they are unpacked on this machine and
   * mounted, and what the task changed in the writable ones is stored as snapshots, named in
   * its result (`changes`).
   */
  private async executeWithSnapshots(id: string, spec: TaskSpec, signal: AbortSignal, release: () => void): Promise<TaskResult> {
    const registry = this.o.registry;
    const fail = (error: string): TaskResult => ({
      id, state: 'error', exitCode: 1, stdout: new Uint8Array(), stderr: new Uint8Array(), stdoutTruncated: false, stderrTruncated: false,
      error, root: '', endTime: new Date().toISOString(),
    });
    if (!registry) {
      release();
      return fail('a task with snapshots needs a registry to take them from');
    }
    let resolved: ResolvedSnapshots;
    try {
      resolved = await resolveSnapshots(spec, registry, path.dirname(this.o.layersDir), id);
    } catch (e) {
      release();
      return fail((e as Error).message);
    }
    try {
      const result = await this.execute(id, resolved.spec, signal, release);
      if (resolved.uppers.length > 0) {
        try {
          result.changes = await storeChanges(registry, resolved.uppers);
        } catch (e) {
          result.error = `${result.error ? `${result.error}; ` : ''}its changes could not be stored: ${(e as Error).message}`;
        }
      }
      return result;
    } finally {
      resolved.cleanup();
    }
  }

  /** Closes the handle on the tasks directory (when no task runs any more). */
  close(): void {
    if (this.tasksHandle) closeDirHandle(this.tasksHandle);
    this.tasksHandle = null;
  }

  async execute(id: string, spec: TaskSpec, signal: AbortSignal, release: () => void = () => {}): Promise<TaskResult> {
    if (spec.snapshots?.length) return this.executeWithSnapshots(id, spec, signal, release);
    const started = new Date().toISOString();
    const base = { id, stdout: new Uint8Array(), stderr: new Uint8Array(), stdoutTruncated: false, stderrTruncated: false, startTime: started };
    let root = '';
    let module: WebAssembly.Module;
    let bytes: Uint8Array;
    let config: ProcessConfig;
    let given: MountConfig | undefined;
    // Handles this run opened; closed once the task's worker is done with them.
    const owned: (() => void)[] = [];
    const closeOwned = () => owned.splice(0).forEach((close) => { close(); });
    try {
      if (spec.image !== undefined) {
        // The image's tree, with this task's own fresh directory as its writable layer.
        if (!this.o.registry) throw new Error(`image ${spec.image}: no registry to take it from`);
        if (spec.module !== undefined && (typeof spec.module !== 'string' || !spec.module.startsWith('/'))) {
          throw new Error('with an image, module names a .wasm inside it by absolute path');
        }
        const run = await prepareImageRun(this.o.registry, spec.image, this.o.layersDir, this.tasksRoot(), id, spec.module as string | undefined);
        owned.push(() => closeMountHandles(run.root));
        bytes = run.module;
        root = run.root.host;
        const imageSpec: TaskSpec = { ...spec, argv0: spec.argv0 ?? run.argv0, args: [...run.args, ...(spec.args ?? [])], env: [...run.env, ...envList(spec.env), `PWD=${run.workingDir}`] };
        const others = openMountHandles(specMounts(imageSpec).others);
        owned.push(others.close);
        config = taskConfig(imageSpec, run.root, others.mounts, run.preopens);
      } else {
        if (spec.module === undefined) throw new Error('a task spec needs a module or an image');
        bytes = await this.moduleBytes(spec.module);
        const mounts = specMounts(spec);
        // The starter may name the task's `/` explicitly (a mount at `/`); otherwise the task
        // gets a fresh, dedicated, empty directory that nothing else uses.
        given = mounts.root;
        let rootMount: MountConfig;
        if (given) {
          const opened = openMountHandles([given]);
          owned.push(opened.close);
          rootMount = opened.mounts[0]!;
          root = given.handle ? given.host : path.resolve(given.host);
        } else {
          const h = createDirHandle(this.tasksRoot(), id);
          owned.push(() => closeDirHandle(h));
          rootMount = { host: h.path, handle: h, guest: '/', readonly: false };
          root = h.path;
        }
        const others = openMountHandles(mounts.others);
        owned.push(others.close);
        config = taskConfig(spec, rootMount, others.mounts);
      }
      module = await this.compile(bytes, spec.memoryLimitBytes);
    } catch (e) {
      closeOwned();
      return { ...base, state: 'error', exitCode: 1, error: (e as Error).message, root, endTime: new Date().toISOString() };
    }
    const registry = this.o.registry;
    config.record = !!registry;
    if (this.o.maxOpenFiles !== undefined) config.maxOpenFiles = this.o.maxOpenFiles;
    config.processId = id;
    // A task's stderr is captured in its result: its trace lines go to the host's stderr, named by its id.
    const trace = this.o.traceOf?.(id);
    if (trace) config.trace = { ...trace, process: id.slice(0, 8), to: 'host' };
    // The record is written as `running` while the task already starts (module and config
    // first: content-addressed, mostly already stored), and ended once it has (recording.ts).
    let recording: Recording | null = null;
    if (registry) {
      const cfg = config;
      recording = new Recording(registry, id, (async () => {
        const moduleDigest = await this.digests.put(registry, bytes);
        // A fresh task root is named `{task}` (it is TASKS_DIR/ID): tasks run with the same
        // spec then share one config entry.
        const mounts = given ? cfg.mounts : cfg.mounts.map((m, i) => (i === 0 ? { ...m, host: '{task}' } : m));
        const configDigest = await registry.putConfig(storedConfig({ ...cfg, mounts }, moduleDigest, this.o.wtmVersion, {
          timeoutMs: spec.timeoutMs ?? null, memoryLimitBytes: spec.memoryLimitBytes ?? null,
        }));
        return { moduleDigest, configDigest };
      })(), {
        argv: config.args, startTime: started, wtmVersion: this.o.wtmVersion,
        ...(spec.parentId ? { parentId: spec.parentId } : {}),
      }, this.o.interrupt, true);
    }
    const out = new Bounded(this.o.outputLimit);
    const err = new Bounded(this.o.outputLimit);
    // A module that imports no `wtm` call cannot start tasks: no task server, and no channel
    // (a MessageChannel and a port transferred to the worker) for it.
    const server = importsTasks(module) ? this.o.guestTasks?.(id) : undefined;
    const stop = anySignal([signal, recording?.signal ?? this.o.interrupt]);
    let r: JobResult;
    try {
      r = await this.o.pool.run({
        module, moduleKey: `${this.digests.of(bytes)}:${spec.memoryLimitBytes ?? ''}`, config, timeoutMs: spec.timeoutMs,
        signal: stop.signal, tasks: server,
        onOutput: (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk),
        ...(recording ? { onLog: recording.onLog, onTail: recording.onTail, onTailSnapshot: recording.onTailSnapshot } : {}),
        ...(this.o.pool.wantsCode ? { code: spec.memoryLimitBytes === undefined ? bytes : limitMemory(bytes, spec.memoryLimitBytes) } : {}),
      });
    } finally {
      // The worker is done (it reported its exit, or its thread has stopped).
      stop.dispose();
      closeOwned();
    }
    release();
    // Structured concurrency: the tasks this task left queued or running are cancelled, and
    // this task settles only once they have.
    await server?.finish();
    if (this.o.keepTaskDirs === 'never' && !given) fs.rmSync(root, { recursive: true, force: true });
    const ended = recording ? await recording.end(r) : null;
    if (ended?.error && !r.trap) r = { ...r, error: ended.error };
    const state: TaskState = r.ended === 'timeout' ? 'timeout' : r.ended === 'cancelled' ? 'cancelled' : r.ended === 'crashed' && r.signal ? 'crashed'
      : r.exitCode === 0 && !r.trap && !r.error ? 'success' : 'error';
    const endTime = new Date().toISOString();
    const error = r.trap ?? r.error;
    return {
      ...base, state, exitCode: r.exitCode, root, endTime,
      stdout: out.bytes(), stderr: err.bytes(), stdoutTruncated: out.truncated, stderrTruncated: err.truncated,
      ...(error ? { error } : {}), ...(state === 'crashed' ? { signal: r.signal! } : {}),
    };
  }

  /**
   * Records a task that settled without running (cancelled while queued) as `cancelled`, naming
   * its parent. Its module is the one it would have run; a task of an image that never started
   * has no module yet and is not recorded.
   */
  async recordUnstarted(id: string, spec: TaskSpec, r: TaskResult): Promise<void> {
    const registry = this.o.registry;
    if (!registry || spec.module === undefined || spec.image !== undefined) return;
    let bytes: Uint8Array;
    try {
      bytes = await this.moduleBytes(spec.module);
    } catch {
      return; // a module that cannot be read: the task could not have started either
    }
    const moduleDigest = await this.digests.put(registry, bytes);
    const config: ProcessConfig = {
      args: [taskArgv0(spec), ...(spec.args ?? [])], env: envList(spec.env), mounts: spec.mounts ?? [], preopens: [],
      stdin: spec.stdin === undefined ? 'null' : new Uint8Array(0), stdout: 'pipe', stderr: 'pipe', record: false,
    };
    const configDigest = await registry.putConfig(storedConfig(config, moduleDigest, this.o.wtmVersion, {
      timeoutMs: spec.timeoutMs ?? null, memoryLimitBytes: spec.memoryLimitBytes ?? null,
    }));
    const now = new Date().toISOString();
    await registry.createProcess({
      id, moduleDigest, configDigest, argv: config.args, startTime: now, endTime: now, wtmVersion: this.o.wtmVersion,
      ...(spec.parentId ? { parentId: spec.parentId } : {}), exitCode: r.exitCode, state: 'cancelled', logBytes: 0, calls: 0,
    });
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
        const missing = checkImports(bytes);
        if (missing) throw new Error(missing);
        return mod;
      })();
      this.modules.set(key, m);
      m.catch(() => this.modules.delete(key));
    }
    return m;
  }
}

/** Whether a module imports the `wtm` task calls (read once per compiled module). */
const taskImports = new WeakMap<WebAssembly.Module, boolean>();
function importsTasks(module: WebAssembly.Module): boolean {
  let v = taskImports.get(module);
  if (v === undefined) {
    v = WebAssembly.Module.imports(module).some((i) => i.module === 'wtm');
    taskImports.set(module, v);
  }
  return v;
}
