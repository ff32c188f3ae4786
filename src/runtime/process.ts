import { GuestMemory, wasiImports } from '../abi/index.js';
import { HostFs } from '../fs/hostfs.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { BytesStdin, HostStdio, SinkStdio, type StdioFile } from '../sandbox/stdio.js';
import { ProcExit, type System } from '../system/index.js';
import type { ExitReport, OutputConfig, ProcessConfig } from './config.js';

/** Exit code of a process that trapped (as a SIGABRT would give, like wasmtime). */
export const TRAP_EXIT_CODE = 134;

type Sink = (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;

function output(cfg: OutputConfig, fd: 1 | 2, sink: Sink): StdioFile {
  if (cfg === 'inherit') return new HostStdio(fd);
  if (cfg === 'pipe') return new SinkStdio((chunk) => sink(fd === 1 ? 'stdout' : 'stderr', chunk));
  return new SinkStdio(() => {});
}

/** Builds the sandbox for a config. Throws with a readable message for a bad mount. */
export function createSandbox(config: ProcessConfig, sink: Sink): Sandbox {
  const stdin = config.stdin === 'inherit' ? new HostStdio(0)
    : new BytesStdin(config.stdin === 'null' ? new Uint8Array(0) : config.stdin);
  return new Sandbox({
    args: config.args,
    env: config.env,
    mounts: config.mounts.map((m) => ({ guestPath: m.guest, fs: new HostFs(m.host), readonly: m.readonly })),
    preopens: config.preopens,
    stdin,
    stdout: output(config.stdout, 1, sink),
    stderr: output(config.stderr, 2, sink),
  });
}

/** Instantiates `module` against `sys` and runs `_start`; the exit code, or how it failed. */
export function runGuest(module: WebAssembly.Module, sys: System): ExitReport {
  const mem = new GuestMemory();
  const imports: WebAssembly.Imports = { wasi_snapshot_preview1: wasiImports(sys, mem) as WebAssembly.ModuleImports };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (!(imp.module in imports) || !(imp.name in imports[imp.module]!)) {
      return { exitCode: 1, error: `the module imports ${imp.module}.${imp.name}, which wtm does not provide` };
    }
  }
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, imports);
  } catch (e) {
    return { exitCode: 1, error: `cannot instantiate the module: ${(e as Error).message}` };
  }
  const exports = instance.exports;
  if (exports.memory instanceof WebAssembly.Memory) mem.bind(exports.memory);
  const start = exports._start;
  if (typeof start !== 'function') return { exitCode: 1, error: 'the module has no _start export: it is not a WASI command' };
  try {
    if (typeof exports._initialize === 'function') (exports._initialize as () => void)();
    (start as () => void)();
    return { exitCode: 0 };
  } catch (e) {
    if (e instanceof ProcExit) return { exitCode: e.code };
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

/** Runs one process to its end in the current thread. */
export function runProcess(module: WebAssembly.Module, config: ProcessConfig, sink: Sink): ExitReport {
  let sys: Sandbox;
  try {
    sys = createSandbox(config, sink);
  } catch (e) {
    return { exitCode: 1, error: (e as Error).message };
  }
  try {
    return runGuest(module, sys);
  } finally {
    sys.close();
  }
}
