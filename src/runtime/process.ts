import { GuestMemory, wasiImports, wasiModuleImports } from '../abi/index.js';
import { hostDirFs, imageRoot } from '../fs/imageroot.js';
import { loadTarFs } from '../fs/tarfs.js';
import type { FileSystem } from '../fs/types.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { BytesStdin, HostStdio, SinkStdio, type StdioFile } from '../sandbox/stdio.js';
import { ProcExit, type System, type TaskHost } from '../system/index.js';
import { wtmImports } from '../abi/wtm.js';
import { GuestTasks, type TaskChannel, type TaskMessage } from './guest-tasks.js';
import { LogFormatError } from '../timemachine/codec.js';
import { Codec, LogWriter, type RawBatch } from '../timemachine/format.js';
import { decodeRecord } from '../timemachine/describe.js';
import { formatTraceLine } from '../timemachine/trace-format.js';
import { LogFileReader } from '../timemachine/stream.js';
import { GATE_IN_CALL, Recorder, type RecordListener } from '../timemachine/recorder.js';
import { ChaosRecorder } from '../timemachine/chaos-recorder.js';
import { ChaosSystem } from '../system/chaos.js';
import { TailPublisher, type TailMessage } from '../timemachine/tail.js';
import { Replayer, ReplayDivergence } from '../timemachine/replayer.js';
import type { ExitReport, InvokeConfig, OutputConfig, ProcessConfig, TraceConfig } from './config.js';
import { startProfiler } from './profiler.js';
import { ReplayStop, stopAfter } from './timetravel.js';

/** Exit code of a process that trapped (as a SIGABRT would give, like wasmtime). */
export const TRAP_EXIT_CODE = 134;

/** What a running process sends to its starter: output chunks and log batches. */
export type Post = (msg: { stream: 'stdout' | 'stderr'; chunk: Uint8Array } | { batch: RawBatch } | { tail: TailMessage } | TaskMessage) => void;

function output(cfg: OutputConfig, fd: 1 | 2, post: Post): StdioFile {
  if (cfg === 'inherit') return new HostStdio(fd);
  if (cfg === 'pipe') return new SinkStdio((chunk) => post({ stream: fd === 1 ? 'stdout' : 'stderr', chunk }));
  return new SinkStdio(() => {});
}

/**
 * The live trace of a process (config.trace): each record decoded and formatted at once (the
 * payload is a view), and written synchronously, so that the lines and the guest's own output
 * keep the order of the calls. Undefined when tracing is off: the recorder then does nothing
 * more per call.
 */
export function traceListener(trace: TraceConfig | undefined, stderr: OutputConfig, post: Post): RecordListener | undefined {
  if (trace === undefined) return undefined;
  // A sink of its own, but the same stream as the guest's stderr: the host's fd 2, or the
  // starter's stderr messages, in order with the guest's own writes.
  const sink = output(trace.to === 'host' ? 'inherit' : stderr, 2, post);
  const o = { ...(trace.width !== undefined ? { width: trace.width } : {}), ...(trace.process !== undefined ? { process: trace.process } : {}) };
  return (payload, index) => {
    sink.pwrite(Buffer.from(formatTraceLine(decodeRecord(payload), index, o) + '\n'), 0, false);
  };
}

/** Archives a config mounts, loaded (in memory) before the sandbox is made: guest path -> file system. */
export type Archives = Map<string, FileSystem>;

/** Loads the tar mounts of a config (an ArchiveError names a refused entry). */
export async function loadArchives(config: ProcessConfig): Promise<Archives> {
  const out: Archives = new Map();
  for (const m of config.mounts) if (m.kind === 'tar') out.set(m.guest, await loadTarFs(m.host));
  return out;
}

/**
 * Builds the sandbox for a config. Throws with a readable message for a bad mount. A mount
 * with a handle is that handle (borrowed: its owner closes it after this process is done).
 */
export function createSandbox(config: ProcessConfig, post: Post, archives: Archives = new Map()): Sandbox {
  const stdin = config.stdin === 'inherit' ? new HostStdio(0)
    : new BytesStdin(config.stdin === 'null' ? new Uint8Array(0) : config.stdin);
  return new Sandbox({
    args: config.args,
    env: config.env,
    mounts: config.mounts.map((m) => {
      if (m.kind === 'image') return { guestPath: m.guest, fs: imageRoot(m.layerHandles ?? m.layers ?? [], m.handle ?? m.host), readonly: m.readonly };
      if (m.kind !== 'tar') return { guestPath: m.guest, fs: hostDirFs(m.handle ?? m.host), readonly: m.readonly };
      const fs = archives.get(m.guest);
      if (!fs) throw new Error(`archive ${m.host} was not loaded`);
      return { guestPath: m.guest, fs, readonly: true };
    }),
    preopens: config.preopens,
    stdin,
    stdout: output(config.stdout, 1, post),
    stderr: output(config.stderr, 2, post),
    ...(config.maxOpenFiles !== undefined ? { maxOpenFiles: config.maxOpenFiles } : {}),
  });
}

const PROVIDED: Record<string, Set<string>> = {
  wasi_snapshot_preview1: new Set(Object.keys(wasiImports({} as System, new GuestMemory()))),
  wtm: new Set(Object.keys(wtmImports({} as TaskHost, new GuestMemory()))),
};

/** The first import (`module.name`) that wtm does not provide, if any. */
export function missingImport(module: WebAssembly.Module): string | null {
  for (const imp of WebAssembly.Module.imports(module)) {
    if (!PROVIDED[imp.module]?.has(imp.name) || imp.kind !== 'function') return `${imp.module}.${imp.name}`;
  }
  return null;
}

/** Instantiates `module` against `sys` and runs `_start`; the exit code, or how it failed. */
export function runGuest(module: WebAssembly.Module, sys: System & TaskHost, onInstance?: (i: WebAssembly.Instance) => void, invoke?: InvokeConfig): ExitReport {
  const mem = new GuestMemory();
  const imports: WebAssembly.Imports = {
    wasi_snapshot_preview1: wasiModuleImports(sys, mem),
    wtm: wtmImports(sys, mem) as WebAssembly.ModuleImports,
  };
  const missing = missingImport(module);
  if (missing) return { exitCode: 1, error: `the module imports ${missing}, which wtm does not provide` };
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, imports);
  } catch (e) {
    return { exitCode: 1, error: `cannot instantiate the module: ${(e as Error).message}` };
  }
  onInstance?.(instance);
  const exports = instance.exports;
  if (exports.memory instanceof WebAssembly.Memory) mem.bind(exports.memory);
  const start = invoke ? exports[invoke.name] : exports._start;
  if (typeof start !== 'function') {
    return { exitCode: 1, error: invoke ? `the module exports no function ${invoke.name}` : 'the module has no _start export: it is not a WASI command (a reactor? call one of its functions with --invoke)' };
  }
  try {
    if (typeof exports._initialize === 'function') (exports._initialize as () => void)();
    if (invoke) {
      // As wasmtime --invoke: the arguments by the parameter types; the results as text.
      const args = invoke.params.map((t, i) => (t === 'i64' ? BigInt(invoke.args[i]!) : Number(invoke.args[i]!)));
      const out = (start as (...a: unknown[]) => unknown)(...args);
      const results = out === undefined ? [] : Array.isArray(out) ? out : [out];
      return { exitCode: 0, results: results.map((v) => String(v)) };
    }
    (start as () => void)();
    return { exitCode: 0 };
  } catch (e) {
    if (e instanceof ProcExit) return { exitCode: e.code };
    if (e instanceof ReplayStop) return { exitCode: 0, stoppedAt: e.record };
    if (e instanceof ReplayDivergence) return { exitCode: 1, error: e.message };
    // A corrupt batch met during replay: reported by its checksum, never replayed as data.
    if (e instanceof LogFormatError) return { exitCode: 1, error: `replay stopped: ${e.message}` };
    return { exitCode: TRAP_EXIT_CODE, trap: describeTrap(e) };
  }
}

/** The trap message and the wasm frames of its stack. */
export function describeTrap(e: unknown): string {
  if (!(e instanceof Error)) return `wasm trap: ${String(e)}`;
  const frames = (e.stack ?? '').split('\n').filter((l) => l.includes('wasm://') || l.includes('wasm-function'));
  const kind = e instanceof WebAssembly.RuntimeError ? 'wasm trap' : 'error';
  return [`${kind}: ${e.message}`, ...frames.map((f) => '  ' + f.trim())].join('\n');
}

/** Runs one process to its end in the current thread: live (maybe recorded), or replayed. */
export function runProcess(module: WebAssembly.Module, config: ProcessConfig, post: Post, tasks?: TaskChannel, archives?: Archives, gate?: Int32Array): ExitReport {
  if (config.replayLog) return replayProcess(module, config, post);
  let sys: Sandbox;
  try {
    sys = createSandbox(config, post, archives);
  } catch (e) {
    return { exitCode: 1, error: (e as Error).message };
  }
  if (tasks) {
    sys.setTaskHost(new GuestTasks(sys, tasks, post, config.processId, config.chaos));
  }
  try {
    const onRecord = traceListener(config.trace, config.stderr, post);
    if (!config.record) {
      if (onRecord === undefined) return runGuest(module, config.chaos ? new ChaosSystem(sys, config.chaos) : sys, undefined, config.invoke);
      // Traced but not recorded: records are made for the trace, and their batches dropped.
      const dropped = new LogWriter(() => {}, { codec: Codec.None });
      return runGuest(module, recorderFor(sys, dropped, onRecord, config.chaos), undefined, config.invoke);
    }
    // The unsealed records stay readable by the starter (tail.ts): nothing logged is lost
    // when this worker is stopped, or wtm killed, between two batches.
    // Batches go to the starter unsealed: it compresses and frames them (BatchSealer) while
    // the guest runs on, instead of the guest's thread stopping for it every 64 KiB.
    const log = new LogWriter(() => {}, { handOff: (batch) => post({ batch }), tail: new TailPublisher((tail) => post({ tail })) });
    if (TEST_HOOKS) slowWritesForTests(sys);
    const recorder = recorderFor(sys, log, onRecord, config.chaos);
    if (gate !== undefined) {
      Atomics.store(gate, GATE_IN_CALL, 0); // a call that threw in an earlier process of this worker left it set
      recorder.gate = gate;
    }
    const report = runGuest(module, recorder, undefined, config.invoke);
    recorder.flush();
    return { ...report, calls: recorder.calls };
  } finally {
    sys.close();
  }
}

const TEST_HOOKS = process.env.WTM_TEST_HOOKS === '1';

/**
 * Tests only (WTM_TEST_HOOKS=1 and WTM_TEST_SLOW_WRITE=PREFIX): a write whose bytes start with
 * PREFIX takes 600 ms more after it is done, before it returns to the recorder, so that a test
 * can stop wtm between a call's effect and its record (callgate.ts).
 */
function slowWritesForTests(sys: Sandbox): void {
  const prefix = process.env.WTM_TEST_SLOW_WRITE;
  if (!prefix) return;
  const want = Buffer.from(prefix);
  const write = sys.fdWrite.bind(sys);
  sys.fdWrite = (fd, iovs) => {
    const n = write(fd, iovs);
    if (iovs[0] !== undefined && Buffer.from(iovs[0].buffer, iovs[0].byteOffset, iovs[0].byteLength).subarray(0, want.length).equals(want)) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);
    }
    return n;
  };
}

/** The recorder of a run: with `--chaos`, over the fault injector, marking what it injected. */
function recorderFor(sys: Sandbox, log: LogWriter, onRecord: RecordListener | undefined, chaos: ProcessConfig['chaos']): Recorder {
  return chaos ? new ChaosRecorder(new ChaosSystem(sys, chaos), log, onRecord) : new Recorder(sys, log, onRecord);
}

/** Replays a log, read one batch at a time (from the fd the starter opened, or from bytes). */
function replayProcess(module: WebAssembly.Module, config: ProcessConfig, post: Post): ExitReport {
  const source = config.replayLog!;
  let reader: LogFileReader;
  try {
    // The replayer is done with a record before it asks for the next: one read buffer will do.
    reader = new LogFileReader(source instanceof Uint8Array ? source : source.fd, { reuse: true });
  } catch (e) {
    return { exitCode: 1, error: `cannot read the log: ${(e as Error).message}` };
  }
  const stdout = output(config.stdout, 1, post);
  const stderr = output(config.stderr, 2, post);
  const records = reader.records();
  const replayer = new Replayer(records, { args: config.args, env: config.env, withheldEnv: config.withheldEnv }, {
    stdout: (c) => void stdout.pwrite(c, 0, false),
    stderr: (c) => void stderr.pwrite(c, 0, false),
  }, () => config.replayCut ?? (reader.truncated ? 'the run was interrupted' : undefined), traceListener(config.trace, config.stderr, post));
  let report: ExitReport;
  let memory: WebAssembly.Memory | undefined;
  const until = config.replayUntil;
  const sys = until === undefined ? replayer : stopAfter(replayer, until);
  // The profiler runs from before the module is instantiated until the guest has ended.
  const stopProfiler = config.profile ? startProfiler(config.profile.intervalUs) : null;
  let profile: unknown;
  try {
    try {
      report = runGuest(module, sys, (i) => {
        if (i.exports.memory instanceof WebAssembly.Memory) memory = i.exports.memory;
      }, config.invoke);
    } finally {
      if (stopProfiler) profile = stopProfiler();
    }
    if (profile !== undefined) report.profile = profile;
    if (memory && (until !== undefined || config.replayMemory || config.profile)) report.memoryBytes = memory.buffer.byteLength;
    // Copied only when asked for: it may be up to 4 GiB.
    if (memory && config.replayMemory) report.memory = new Uint8Array(memory.buffer.byteLength);
    if (memory && report.memory) report.memory.set(new Uint8Array(memory.buffer));
    if (report.stoppedAt === undefined && !report.error && !replayer.atEnd()) {
      report = { ...report, exitCode: 1, error: `replay diverged: the guest ended after ${replayer.position} records, but the log has more` };
    }
  } catch (e) {
    // A corrupt batch (or a log that is not one) is reported as such, never replayed as data.
    return { exitCode: 1, error: `replay stopped: ${(e as Error).message}` };
  } finally {
    records.return(undefined);
  }
  return { ...report, calls: replayer.position };
}
